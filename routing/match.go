package routing

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"switchboard/channels"
)

// Default words that answer the offer to wait by text, used when Rules
// leave YesWords or NoWords empty. Matching ignores case and accents.
var (
	DefaultYesWords = []string{"yes", "si", "sí", "sim", "oui", "ok", "okay"}
	DefaultNoWords  = []string{"no", "não", "nao", "non", "nope"}
)

// Normalize folds text for keyword matching: lower case, diacritics
// removed ("Atendénte" -> "atendente"), every run of characters that are
// neither letters nor digits turned into one space, trimmed.
func Normalize(text string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFD.String(strings.ToLower(text)) {
		switch {
		case unicode.Is(unicode.Mn, r): // a combining accent, split off by NFD
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		default:
			space = true
		}
	}
	return norm.NFC.String(b.String())
}

// MatchKeyword reports the first keyword found in text as whole words,
// ignoring case and accents: "humano" matches "¡Humano!" but not
// "humanoide"; a keyword of several words matches them in a row.
func MatchKeyword(text string, keywords []string) (string, bool) {
	padded := " " + Normalize(text) + " "
	for _, k := range keywords {
		if n := Normalize(k); n != "" && strings.Contains(padded, " "+n+" ") {
			return k, true
		}
	}
	return "", false
}

// startsWithKeyword reports whether text begins with one of the keywords as
// whole words ("sí, por favor" starts with "si").
func startsWithKeyword(text string, keywords []string) bool {
	padded := Normalize(text) + " "
	for _, k := range keywords {
		if n := Normalize(k); n != "" && strings.HasPrefix(padded, n+" ") {
			return true
		}
	}
	return false
}

// ParseNumberedChoice answers a numbered text fallback: when choices were
// shown as "1. ...", "2. ...", a reply "2" (or "2.", "2)") picks choices[1].
func ParseNumberedChoice(text string, choices []channels.Choice) (channels.Choice, bool) {
	s := strings.TrimRight(strings.TrimSpace(text), ".)")
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > len(choices) {
		return channels.Choice{}, false
	}
	return choices[n-1], true
}
