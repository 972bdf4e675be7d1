package meta

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"switchboard/channels"
)

// Unit is how a platform measures the length of a text.
type Unit int

const (
	// UTF16 counts characters as UTF-16 code units: never fewer than runes,
	// so a limit in "characters" holds whichever way the platform counts.
	UTF16 Unit = iota
	// Bytes counts UTF-8 bytes (Instagram).
	Bytes
)

// TextLimit is the longest text a platform takes in one message.
type TextLimit struct {
	Max  int
	Unit Unit
}

// Len returns the length of s in l's unit.
func (l TextLimit) Len(s string) int {
	if l.Unit == Bytes {
		return len(s)
	}
	n := 0
	for _, r := range s {
		n += runeLen(r)
	}
	return n
}

func runeLen(r rune) int {
	if r > 0xFFFF {
		return 2
	}
	return 1
}

// Split splits text into parts that each fit l, cutting (in order of
// preference) after a paragraph break, a line break or a space in the second
// half of the allowed length, else after the last whitespace of the allowed
// length, else (one long word) between two runes: never inside a UTF-8 rune. Whitespace around a cut is dropped. A text that fits is returned as
// its only part.
func (l TextLimit) Split(text string) []string {
	if l.Max <= 0 || l.Len(text) <= l.Max {
		return []string{text}
	}
	var parts []string
	rest := text
	for l.Len(rest) > l.Max {
		cut := breakPoint(rest[:l.prefix(rest)])
		if part := strings.TrimRightFunc(rest[:cut], unicode.IsSpace); part != "" {
			parts = append(parts, part)
		}
		rest = strings.TrimLeftFunc(rest[cut:], unicode.IsSpace)
	}
	if rest != "" {
		parts = append(parts, rest)
	}
	return parts
}

// prefix returns the byte length of the longest prefix of s that fits l, at
// least one rune.
func (l TextLimit) prefix(s string) int {
	n := 0
	for i, r := range s {
		size := runeLen(r)
		if l.Unit == Bytes {
			size = utf8.RuneLen(r)
			if size < 0 { // invalid UTF-8 byte
				size = 1
			}
		}
		if n+size > l.Max {
			if i == 0 {
				_, first := utf8.DecodeRuneInString(s)
				return first
			}
			return i
		}
		n += size
	}
	return len(s)
}

// breakPoint returns where to cut window (a prefix of the text): just after
// the best break in its second half, else after its last space, else its end.
func breakPoint(window string) int {
	half := len(window) / 2
	for _, sep := range []string{"\n\n", "\n", " "} {
		if i := strings.LastIndex(window, sep); i > 0 && i >= half {
			return i + len(sep)
		}
	}
	if i := strings.LastIndexFunc(window, unicode.IsSpace); i > 0 {
		_, size := utf8.DecodeRuneInString(window[i:])
		return i + size
	}
	return len(window)
}

// NumberedChoices renders a question and its choices as plain text, for
// when a platform cannot show them as buttons:
//
//	question
//
//	1. First title
//	2. Second title
//
// ChoiceForAnswer maps the user's "1", "2"... answer back to a choice.
func NumberedChoices(question string, choices []channels.Choice) string {
	var b strings.Builder
	b.WriteString(question)
	for i, c := range choices {
		switch {
		case i > 0:
			b.WriteString("\n")
		case question != "":
			b.WriteString("\n\n")
		}
		b.WriteString(strconv.Itoa(i+1) + ". " + c.Title)
	}
	return b.String()
}

// ChoiceForAnswer returns the choice a text answer picks from a list sent by
// NumberedChoices: its number ("2", "2.", " 2) ") or its exact title, case
// and surrounding space ignored.
func ChoiceForAnswer(answer string, choices []channels.Choice) (channels.Choice, bool) {
	answer = strings.TrimSpace(answer)
	if n, err := strconv.Atoi(strings.TrimRight(answer, ".)")); err == nil && n >= 1 && n <= len(choices) {
		return choices[n-1], true
	}
	for _, c := range choices {
		if strings.EqualFold(answer, strings.TrimSpace(c.Title)) {
			return c, true
		}
	}
	return channels.Choice{}, false
}
