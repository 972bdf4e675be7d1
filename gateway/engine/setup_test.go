package engine

import (
	"path/filepath"
	"testing"
	"time"

	"switchboard/config"
)

// An agent is found by its whole token only: not by a prefix, an extension
// or an empty token.
func TestAgentByToken(t *testing.T) {
	cfg, err := config.Load(filepath.Join("..", "..", "config", "example.yaml"), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	s, err := newSetup(cfg, nil, time.Now)
	if err != nil {
		t.Fatalf("newSetup: %v", err)
	}
	ana, ok := s.agentByToken("dev-ana-token")
	if !ok || ana.ID != "ana" || !ana.Serves("ig-shop") {
		t.Errorf("agentByToken(dev-ana-token) = %+v, %v", ana, ok)
	}
	if bruno, ok := s.agentByToken("dev-bruno-token"); !ok || bruno.ID != "bruno" {
		t.Errorf("agentByToken(dev-bruno-token) = %+v, %v", bruno, ok)
	}
	for _, token := range []string{"dev-ana", "dev-ana-token ", "dev-ana-tokenx", "DEV-ANA-TOKEN", ""} {
		if a, ok := s.agentByToken(token); ok {
			t.Errorf("agentByToken(%q) accepted, as %q", token, a.ID)
		}
	}
}
