package config

import (
	"fmt"
	"log/slog"
)

// redacted is what a Secret prints instead of its value.
const redacted = "[redacted]"

// Secret is a configuration value that must never be printed: an app secret,
// an access or verify token, an agent's or the admin's token, a Redis URL
// (which may carry a password). Every way of printing or encoding it (fmt
// with any verb, JSON, YAML, slog) yields "[redacted]"; Reveal returns the
// value for the code that must use it.
type Secret string

var (
	_ fmt.Formatter  = Secret("")
	_ fmt.Stringer   = Secret("")
	_ fmt.GoStringer = Secret("")
	_ slog.LogValuer = Secret("")
)

// Reveal returns the secret's value. Call it only where the value is used
// (signing, comparing, dialing), never to log or display it.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]", so %#v does not print the value either.
func (s Secret) GoString() string { return redacted }

// Format prints "[redacted]" for every verb: without it, verbs such as %d
// would print the underlying string.
func (s Secret) Format(f fmt.State, verb rune) {
	fmt.Fprint(f, redacted)
}

// MarshalJSON encodes the secret as the string "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalYAML encodes the secret as the string "[redacted]".
func (s Secret) MarshalYAML() (any, error) { return redacted, nil }

// LogValue makes slog print "[redacted]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
