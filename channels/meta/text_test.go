package meta

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"switchboard/channels"
)

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		name  string
		limit TextLimit
		text  string
		want  []string
	}{
		{"fits", TextLimit{Max: 10}, "short", []string{"short"}},
		{"empty", TextLimit{Max: 10}, "", []string{""}},
		{"words", TextLimit{Max: 10}, "one two three four", []string{"one two", "three four"}},
		{"paragraph first", TextLimit{Max: 20}, "first para\n\nsecond one here", []string{"first para", "second one here"}},
		{"line before space", TextLimit{Max: 16}, "line one\nline two three", []string{"line one", "line two three"}},
		{"early break ignored", TextLimit{Max: 12}, "a\n\nbcdefgh ijklmnop", []string{"a\n\nbcdefgh", "ijklmnop"}},
		{"long word", TextLimit{Max: 4}, "abcdefghij", []string{"abcd", "efgh", "ij"}},
		{"runes counted as characters", TextLimit{Max: 3}, "ãõéíú", []string{"ãõé", "íú"}},
		{"astral runes count two", TextLimit{Max: 3}, "👍👍👍", []string{"👍", "👍", "👍"}},
		{"bytes", TextLimit{Max: 5, Unit: Bytes}, "çççç", []string{"çç", "çç"}},
		{"one rune beyond the limit", TextLimit{Max: 1, Unit: Bytes}, "éa", []string{"é", "a"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.limit.Split(c.text); !slices.Equal(got, c.want) {
				t.Errorf("Split(%q) = %q, want %q", c.text, got, c.want)
			}
		})
	}
}

// TestSplitProperties checks every limit of the three platforms on mixed text.
func TestSplitProperties(t *testing.T) {
	text := strings.Repeat("Olá, tudo bem? 👍 Este é um parágrafo comprido.\nLinha nova. ", 300) +
		"\n\n" + strings.Repeat("x", 5000)
	for _, limit := range []TextLimit{{Max: 4096}, {Max: 1999}, {Max: 1000, Unit: Bytes}, {Max: 7, Unit: Bytes}} {
		parts := limit.Split(text)
		if len(parts) < 2 {
			t.Fatalf("%+v: %d parts", limit, len(parts))
		}
		for _, p := range parts {
			if limit.Len(p) > limit.Max || !utf8.ValidString(p) || p == "" {
				t.Fatalf("%+v: bad part of length %d: %q", limit, limit.Len(p), p)
			}
		}
		if got, want := strings.Join(parts, ""), strings.Join(strings.Fields(text), ""); strings.Join(strings.Fields(got), "") != want {
			t.Errorf("%+v: the parts lose or change text", limit)
		}
	}
}

func TestNumberedChoices(t *testing.T) {
	choices := []channels.Choice{{ID: "yes", Title: "Wait"}, {ID: "no", Title: "No, thanks"}}
	if got, want := NumberedChoices("Wait for an agent?", choices), "Wait for an agent?\n\n1. Wait\n2. No, thanks"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := NumberedChoices("", choices), "1. Wait\n2. No, thanks"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for answer, want := range map[string]string{"1": "yes", " 2 ": "no", "2.": "no", "2)": "no", "no, THANKS": "no", "3": "", "0": "", "maybe": ""} {
		got, ok := ChoiceForAnswer(answer, choices)
		if got.ID != want || ok != (want != "") {
			t.Errorf("ChoiceForAnswer(%q) = %v, %v; want %q", answer, got, ok, want)
		}
	}
}
