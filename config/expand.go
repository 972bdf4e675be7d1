package config

import (
	"errors"
	"strings"
)

var (
	errUnterminated = errors.New("unterminated ${: close it with }, or write $$ for a literal $")
	errBadVariable  = errors.New("bad ${...}: a variable name is letters, digits and _, not starting with a digit")
)

// expand replaces ${VAR} with getenv(VAR) and ${VAR:-default} with the
// default when VAR is unset or empty; $$ is a literal $, and a $ followed by
// anything else is kept. It returns the names of the variables s refers to.
// The errors never quote s, which may be a secret.
func expand(s string, getenv func(string) string) (string, []string, error) {
	if !strings.Contains(s, "$") {
		return s, nil, nil
	}
	var b strings.Builder
	var vars []string
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$$"):
			b.WriteByte('$')
			i += 2
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", nil, errUnterminated
			}
			name, fallback, hasFallback := strings.Cut(s[i+2:i+end], ":-")
			if !isVariableName(name) {
				return "", nil, errBadVariable
			}
			vars = append(vars, name)
			value := getenv(name)
			if value == "" && hasFallback {
				value = fallback
			}
			b.WriteString(value)
			i += end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), vars, nil
}

func isVariableName(name string) bool {
	if name == "" || ('0' <= name[0] && name[0] <= '9') {
		return false
	}
	for _, c := range []byte(name) {
		if !(c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
