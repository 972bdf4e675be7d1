package layers

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "switchboard/"

// rule forbids some imports: forbids says whether pkg may not import imp
// (both full import paths).
type rule struct {
	why     string
	forbids func(pkg, imp string) bool
}

func under(path, prefix string) bool { return path == prefix || strings.HasPrefix(path, prefix+"/") }

func inModule(path string) bool { return strings.HasPrefix(path, module) }

// onlyModule forbids pkg any import of the module but those allowed (and
// their sub-packages when the allowed path ends in "/...").
func onlyModule(pkg string, allowed ...string) func(string, string) bool {
	return func(p, imp string) bool {
		if p != module+pkg || !inModule(imp) {
			return false
		}
		for _, a := range allowed {
			if base, ok := strings.CutSuffix(a, "/..."); ok && under(imp, module+base) || imp == module+a {
				return false
			}
		}
		return true
	}
}

// The rules of docs/architecture.md, over production imports (test files
// may import what they need to observe).
var rules = []rule{
	{"echo is the HTTP layer's alone", func(pkg, imp string) bool {
		return under(imp, "github.com/labstack/echo/v4") && pkg != module+"gateway/httpapi"
	}},
	{"Redis and the task queue are queue's alone (loadtest, a measuring tool, reads INFO and writes its floor key directly)", func(pkg, imp string) bool {
		redis := under(imp, "github.com/redis/go-redis/v9") || under(imp, "github.com/hibiken/asynq") || under(imp, "github.com/alicebob/miniredis/v2")
		return redis && !under(pkg, module+"queue") && pkg != module+"loadtest"
	}},
	{"routing is pure: of the module it imports only channels", onlyModule("routing", "channels")},
	{"config imports only routing (for the calendar's types)", onlyModule("config", "routing")},
	{"internal/outbound imports only the standard library", onlyModule("internal/outbound")},
	{"testkit is a test double beside channels", onlyModule("internal/testkit", "channels", "channels/meta")},
	{"adapters know nothing of the gateway, queue, config or routing", func(pkg, imp string) bool {
		return under(pkg, module+"channels") && inModule(imp) &&
			!under(imp, module+"channels") && imp != module+"internal/outbound" && imp != module+"internal/testkit"
	}},
	{"the engine depends on interfaces, not on the layers that use it", func(pkg, imp string) bool {
		return pkg == module+"gateway/engine" && (imp == module+"gateway" || under(imp, module+"gateway/httpapi") || under(imp, module+"gateway/notify"))
	}},
	{"no package imports a command", func(pkg, imp string) bool {
		return under(imp, module+"cmd") && !under(pkg, module+"cmd")
	}},
	{"the fakes are for tests, try and the load tool", func(pkg, imp string) bool {
		fake := imp == module+"internal/testkit" || imp == module+"channels/channeltest"
		return fake && pkg != module+"channels/channeltest" && pkg != module+"cmd/gateway/try" && pkg != module+"loadtest"
	}},
}

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Error", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	n := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
			Error      *struct{ Err string }
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Errorf("%s: %s", p.ImportPath, p.Error.Err)
		}
		n++
		for _, imp := range p.Imports {
			for _, r := range rules {
				if r.forbids(p.ImportPath, imp) {
					t.Errorf("%s imports %s: %s", p.ImportPath, imp, r.why)
				}
			}
		}
	}
	if n < 20 {
		t.Fatalf("go list found %d packages, want the whole module", n)
	}
}

// Each rule catches the edge it is about.
func TestRulesForbid(t *testing.T) {
	for _, edge := range [][2]string{
		{module + "gateway/engine", "github.com/labstack/echo/v4"},
		{module + "gateway", "github.com/redis/go-redis/v9"},
		{module + "gateway/engine", "github.com/hibiken/asynq"},
		{module + "routing", module + "queue"},
		{module + "config", module + "channels"},
		{module + "internal/outbound", module + "config"},
		{module + "internal/testkit", module + "gateway"},
		{module + "channels/whatsapp", module + "queue"},
		{module + "gateway/engine", module + "gateway/httpapi"},
		{module + "gateway", module + "cmd/gateway/try"},
		{module + "gateway/engine", module + "internal/testkit"},
	} {
		forbidden := false
		for _, r := range rules {
			forbidden = forbidden || r.forbids(edge[0], edge[1])
		}
		if !forbidden {
			t.Errorf("%s -> %s is allowed, want forbidden", edge[0], edge[1])
		}
	}
	for _, edge := range [][2]string{
		{module + "gateway/httpapi", "github.com/labstack/echo/v4"},
		{module + "queue/redistest", "github.com/alicebob/miniredis/v2"},
		{module + "routing", module + "channels"},
		{module + "cmd/gateway", module + "cmd/gateway/try"},
		{module + "channels/meta", module + "internal/outbound"},
	} {
		for _, r := range rules {
			if r.forbids(edge[0], edge[1]) {
				t.Errorf("%s -> %s is forbidden (%s), want allowed", edge[0], edge[1], r.why)
			}
		}
	}
}
