package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestInboxProblems(t *testing.T) {
	_, err := Load("testdata/inbox.yaml", env(map[string]string{}))
	want := []string{
		`testdata/inbox.yaml:9: labels: "Sales" must match [a-z0-9][a-z0-9_-]*`,
		`testdata/inbox.yaml:9: labels: "billing" is listed twice`,
		`testdata/inbox.yaml:13: canned_responses[1].shortcut: "hello" is used by another canned response`,
		`testdata/inbox.yaml:14: canned_responses[1].text: unknown placeholder {user.phone} (known: {user.name}, {agent})`,
		`testdata/inbox.yaml:15: canned_responses[1].channels: no channel "fb"`,
		`testdata/inbox.yaml:16: canned_responses[2].shortcut: "Bad one" must match [a-z0-9][a-z0-9_-]*`,
		`testdata/inbox.yaml:17: canned_responses[2].text: is required`,
		`testdata/inbox.yaml:19: retention.ended: 30m is below the minimum of 1h`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestInboxDefaults(t *testing.T) {
	c, err := Load("testdata/minimal.yaml", env(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Retention.Ended != 30*24*time.Hour {
		t.Errorf("retention.ended = %v, want 720h", c.Retention.Ended)
	}
	if len(c.Labels) != 0 || len(c.CannedResponses) != 0 {
		t.Errorf("labels %v, canned %v: want none by default", c.Labels, c.CannedResponses)
	}
}
