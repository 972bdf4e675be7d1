package routing

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"
)

// OpenStates holds every state declared in types.go but ended, so that a
// state added later is swept for inactivity too.
func TestOpenStatesAreEveryStateButEnded(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "types.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []State
	ast.Inspect(f, func(n ast.Node) bool {
		if v, ok := n.(*ast.ValueSpec); ok {
			if id, ok := v.Type.(*ast.Ident); ok && id.Name == "State" {
				for _, value := range v.Values {
					if lit, ok := value.(*ast.BasicLit); ok {
						s, _ := strconv.Unquote(lit.Value)
						declared = append(declared, State(s))
					}
				}
			}
		}
		return true
	})
	if len(declared) < 2 {
		t.Fatalf("states declared in types.go: %v; the test no longer finds them", declared)
	}
	for _, st := range declared {
		if open := slices.Contains(OpenStates, st); open == (st == StateEnded) {
			t.Errorf("state %s: in OpenStates = %v", st, open)
		}
	}
	if len(OpenStates) != len(declared)-1 {
		t.Errorf("OpenStates %v, want the %d declared states but ended", OpenStates, len(declared)-1)
	}
}
