package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoopProblems(t *testing.T) {
	_, err := Load("testdata/loop.yaml", env(map[string]string{}))
	want := []string{
		`testdata/loop.yaml:3: privacy.erase_keywords: an empty keyword`,
		`testdata/loop.yaml:13: channels[0].derivation.reopen_after_close: 48h is above the maximum of 24h (an agent may reopen within the platforms' 24 h window)`,
		`testdata/loop.yaml:14: channels[0].derivation.csat.question: missing: the question asked after an agent closes`,
		`testdata/loop.yaml:15: channels[0].derivation.csat.choices: 1 is below the minimum of 2 (a WhatsApp list holds at most 10 rows)`,
		`testdata/loop.yaml:16: channels[0].derivation.csat.button: "A button title that is far too long" is longer than 20 characters (a WhatsApp list's button)`,
		`testdata/loop.yaml:19: channels[0].notify.zendesk.url: "acme.zendesk.com" is not an http:// or https:// URL`,
		`testdata/loop.yaml:20: channels[0].notify.zendesk.email: "bot" is not an email address`,
		`testdata/loop.yaml:21: channels[0].notify.zendesk.api_token: missing secret: ${ZENDESK_TOKEN} is unset or empty`,
		`testdata/loop.yaml:22: channels[0].notify.zendesk.on: "later" is not waiting or missed`,
		`testdata/loop.yaml:31: channels[1].derivation.csat.choices: "Twenty-one characters" is longer than 20 characters (a WhatsApp button's title)`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestLoopDefaults(t *testing.T) {
	cfg, err := Parse("loop.yaml", []byte(`admin_token: admin-secret
channels:
  - id: fb
    type: messenger
    page_id: "2"
    app_secret: app-secret
    verify_token: verify-secret
    access_token: access-secret
    derivation:
      reopen_after_close: 10m
      csat: {question: "How did we do?", choices: ["1", "2", "3", "4"]}
    notify:
      zendesk: {url: "https://acme.zendesk.com", email: bot@acme.com, api_token: zendesk-token}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	ch := cfg.Channels[0]
	z := ch.Notify.Zendesk
	if !z.Triggers(ZendeskOnWaiting) || z.Triggers(ZendeskOnMissed) || z.Timeout != 10*time.Second {
		t.Errorf("zendesk defaults: on %v, timeout %v; want [waiting], 10s", z.On, z.Timeout)
	}
	if q := ch.Derivation.CSAT; q == nil || q.Button != "Choose" {
		t.Errorf("csat = %+v, want the default list button", q)
	}
	if ch.Derivation.ReopenAfterClose != 10*time.Minute || ch.Derivation.Messages.LeftLine == "" || ch.Derivation.Messages.Erased == "" {
		t.Errorf("derivation: %+v", ch.Derivation)
	}
}
