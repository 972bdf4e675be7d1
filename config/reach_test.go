package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReachProblems(t *testing.T) {
	_, err := Load("testdata/reach.yaml", env(map[string]string{}))
	want := []string{
		`testdata/reach.yaml:9: channels[0].assignment: "round-robin" is not manual or auto`,
		`testdata/reach.yaml:10: channels[0].display_name: {{}} names no variable`,
		`testdata/reach.yaml:13: channels[0].derivation.call.url: "ftp://ccaas" is not an http:// or https:// URL`,
		`testdata/reach.yaml:14: channels[0].derivation.call.method: "GET" is not POST, PUT or PATCH`,
		`testdata/reach.yaml:15: channels[0].derivation.call.content_type: "text/plain" is not application/json or application/x-www-form-urlencoded`,
		`testdata/reach.yaml:16: channels[0].derivation.call.body: unknown field {{nickname}}: use {{phone}}, {{name}}, {{conversation_id}}, {{channel}}`,
		`testdata/reach.yaml:17: channels[0].derivation.call.error_path: "error..message" is not a dotted path such as message or error.message`,
		`testdata/reach.yaml:18: channels[0].derivation.call.max_tries: -1 is below the minimum of 1`,
		`testdata/reach.yaml:26: channels[1].derivation.call.url: missing: the provider's endpoint that requests a call`,
		`testdata/reach.yaml:28: channels[1].derivation.call.headers.Authorization: missing secret: ${CCAAS_AUTH} is unset or empty`,
		`testdata/reach.yaml:29: channels[1].derivation.call.body: not valid JSON once filled in (write string fields inside quotes: "{{phone}}")`,
		`testdata/reach.yaml:40: channels[2].derivation.call.body: the body never uses {{phone}}, the number to call`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestReachDefaults(t *testing.T) {
	data := []byte(`admin_token: a
channels:
  - id: wa
    type: whatsapp
    phone_number_id: "1"
    app_secret: s
    verify_token: v
    access_token: t
    assignment: auto
    display_name: "{{first_name}} ({{company}})"
    derivation:
      call:
        url: https://ccaas.example.com/calls
        headers: {Authorization: "Basic ${CCAAS_AUTH}"}
        body: '{"to": "{{phone}}", "name": "{{name}}"}'
`)
	cfg, err := Parse("inline.yaml", data, env(map[string]string{"CCAAS_AUTH": "dXNlcjpwYXNz"}))
	if err != nil {
		t.Fatal(err)
	}
	ch := cfg.Channels[0]
	c := ch.Derivation.Call
	if ch.Assignment != AssignAuto || c.Method != "POST" || c.ContentType != ContentJSON || c.ErrorPath != "message" ||
		c.Timeout != 10*time.Second || c.Attempts != 4 || c.MaxTries != 3 || !*c.ThisNumber || c.AfterHours {
		t.Errorf("call = %+v", c)
	}
	if c.Headers["Authorization"].Reveal() != "Basic dXNlcjpwYXNz" {
		t.Errorf("the header's variable was not expanded")
	}
	if diff := cmp.Diff(defaultCallMessages, c.Messages); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

func TestRenderCallBody(t *testing.T) {
	values := map[string]string{"phone": "+54 11 5555-0000", "name": `Ana "A" Souza`, "channel": "wa"}
	tests := []struct{ body, contentType, want string }{
		{`{"to": "{{phone}}", "name": "{{ name }}"}`, ContentJSON, `{"to": "+54 11 5555-0000", "name": "Ana \"A\" Souza"}`},
		{`To={{phone}}&From=%2B15550100&Name={{name}}&X={{missing}}`, ContentForm, `To=%2B54+11+5555-0000&From=%2B15550100&Name=Ana+%22A%22+Souza&X=`},
	}
	for _, tt := range tests {
		if got := RenderCallBody(tt.body, tt.contentType, values); got != tt.want {
			t.Errorf("RenderCallBody(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestRenderDisplayName(t *testing.T) {
	tmpl := "{{first_name}} ({{company}})"
	if got := RenderDisplayName(tmpl, map[string]string{"first_name": "Ana", "company": "Acme"}); got != "Ana (Acme)" {
		t.Errorf("all variables: %q", got)
	}
	if got := RenderDisplayName(tmpl, map[string]string{"first_name": "Ana"}); got != "" {
		t.Errorf("a variable missing: %q, want empty (the platform's name is shown)", got)
	}
}
