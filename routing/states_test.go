package routing

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
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
				for _, name := range v.Names {
					declared = append(declared, State(name.Name))
				}
			}
		}
		return true
	})
	byName := map[State]State{"StateBot": StateBot, "StateAsking": StateAsking, "StateWaiting": StateWaiting,
		"StateAssigned": StateAssigned, "StateEnded": StateEnded, "StateChoosing": StateChoosing,
		"StatePhone": StatePhone, "StateCalling": StateCalling}
	for _, name := range declared {
		st, ok := byName[name]
		if !ok {
			t.Errorf("state %s: not known to this test; add it here and, unless it is an end, to OpenStates", name)
			continue
		}
		if open := slices.Contains(OpenStates, st); open == (st == StateEnded) {
			t.Errorf("state %s: in OpenStates = %v", st, open)
		}
	}
	if len(declared) != len(byName) {
		t.Errorf("declared states %v, want the %d this test knows", declared, len(byName))
	}
}
