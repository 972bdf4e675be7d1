package routing

import (
	"testing"

	"switchboard/channels"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Atendénte", "atendente"},
		{"  ¿Hablar con un HUMANO?  ", "hablar con un humano"},
		{"não, obrigado!!", "nao obrigado"},
		{"Ça va — très bien", "ca va tres bien"},
		{"order #123", "order 123"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMatchKeyword(t *testing.T) {
	keywords := []string{"humano", "Agente", "atendente", "real person"}
	tests := []struct {
		text, want string
		ok         bool
	}{
		{"Humano", "humano", true},
		{"quiero un AGENTE ya", "Agente", true},
		{"atendénte, por favor", "atendente", true},
		{"I want a real   person!", "real person", true},
		{"humanoide", "", false},
		{"agentes", "", false},
		{"a real personal trainer", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := MatchKeyword(tt.text, keywords)
		if got != tt.want || ok != tt.ok {
			t.Errorf("MatchKeyword(%q) = %q, %v; want %q, %v", tt.text, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseNumberedChoice(t *testing.T) {
	choices := []channels.Choice{{ID: "a", Title: "First"}, {ID: "b", Title: "Second"}}
	tests := []struct {
		text, want string
		ok         bool
	}{
		{"1", "a", true},
		{" 2 ", "b", true},
		{"2.", "b", true},
		{"1)", "a", true},
		{"0", "", false},
		{"3", "", false},
		{"-1", "", false},
		{"one", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseNumberedChoice(tt.text, choices)
		if got.ID != tt.want || ok != tt.ok {
			t.Errorf("ParseNumberedChoice(%q) = %q, %v; want %q, %v", tt.text, got.ID, ok, tt.want, tt.ok)
		}
	}
}
