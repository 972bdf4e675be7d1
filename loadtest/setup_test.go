package loadtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteConfigLoads(t *testing.T) {
	var b strings.Builder
	if err := WriteConfig(&b, ConfigOptions{RedisURL: "redis://127.0.0.1:6379/0", Agents: 3}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lt.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	tg, err := LoadTarget(path)
	if err != nil {
		t.Fatalf("the written config does not load: %v\n%s", err, b.String())
	}
	if len(tg.Channels) != 3 || len(tg.Agents) != 3 || tg.Graph != "127.0.0.1:9911" || tg.Listen != "127.0.0.1:8080" {
		t.Errorf("target = %+v", tg)
	}
}

func TestOnlyLoopback(t *testing.T) {
	for _, a := range []string{"10.0.0.1:80", "example.com:443", "0.0.0.0:8080"} {
		if checkLoopback(a) == nil {
			t.Errorf("%s accepted", a)
		}
	}
	for _, a := range []string{"127.0.0.1:80", "localhost:1", "[::1]:8080"} {
		if err := checkLoopback(a); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
	if WriteConfig(&strings.Builder{}, ConfigOptions{RedisURL: "redis://10.1.1.1:6379/0"}) == nil {
		t.Error("a remote Redis was accepted")
	}
}
