package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWindowProblems(t *testing.T) {
	_, err := Load("testdata/window.yaml", env(map[string]string{}))
	want := []string{
		`testdata/window.yaml:9: channels[0].language: "de" is not one of en, es, pt, fr`,
		`testdata/window.yaml:11: channels[0].templates[0].body: unknown placeholder {user.nickname} (known: {user.name}, {agent}, {position}, {opens})`,
		`testdata/window.yaml:12: channels[0].templates[1].name: duplicate template "follow_up" (first at line 11)`,
		`testdata/window.yaml:12: channels[0].templates[1].language: missing: the template's language code, such as en_US`,
		`testdata/window.yaml:14: channels[0].derivation.no_agent_online: "maybe" is not wait, ask or reject`,
		`testdata/window.yaml:15: channels[0].derivation.follow_up_keep: 4800h is above the maximum of 2160h`,
		`testdata/window.yaml:18: channels[0].derivation.messages.offer_beyond_window: unknown placeholder {open} (known: {user.name}, {agent}, {position}, {opens})`,
		`testdata/window.yaml:26: channels[1].templates: only whatsapp channels have templates`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * day, "0d": 0, "36h": 36 * time.Hour} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("%s: %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"d", "1.5d", "-1d", "xd"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
