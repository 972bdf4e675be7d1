package outbound

import (
	"errors"
	"net/url"
	"strings"
)

// redacted stands for a URL without a scheme and host to show.
const redacted = "[redacted URL]"

// Redact returns rawURL's scheme and host ("https://bot.example:8443"),
// dropping the userinfo, path, query and fragment, where secrets live. A
// string that does not parse as a URL with a scheme and a host gives
// "[redacted URL]": nothing of it is shown.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return redacted
	}
	return u.Scheme + "://" + u.Host
}

// RedactError returns err with the URLs of the *url.Error values in its
// chain shown as Redact shows them, for logging. http.Client and
// http.NewRequest errors are *url.Error values whose text holds the whole
// URL. The result wraps err, so errors.Is and errors.As still see
// everything; a nil err or one without a *url.Error is returned as is.
func RedactError(err error) error {
	if err == nil {
		return nil
	}
	ues := urlErrors(err)
	if len(ues) == 0 {
		return err
	}
	msg := err.Error()
	for _, ue := range ues {
		safe := Redact(ue.URL)
		inner := ue.Err
		if ue.Op == "parse" {
			// The parser's message quotes pieces of the URL.
			inner = errors.New("the URL does not parse")
		}
		msg = strings.ReplaceAll(msg, ue.Error(), (&url.Error{Op: ue.Op, URL: safe, Err: inner}).Error())
		if ue.URL != "" {
			msg = strings.ReplaceAll(msg, ue.URL, safe)
		}
	}
	return &redactedError{msg: msg, err: err}
}

// urlErrors lists the *url.Error values in err's tree.
func urlErrors(err error) []*url.Error {
	var found []*url.Error
	var walk func(error)
	walk = func(e error) {
		for e != nil {
			if ue, ok := e.(*url.Error); ok {
				found = append(found, ue)
			}
			if multi, ok := e.(interface{ Unwrap() []error }); ok {
				for _, m := range multi.Unwrap() {
					walk(m)
				}
				return
			}
			e = errors.Unwrap(e)
		}
	}
	walk(err)
	return found
}

// redactedError is an error with a safer text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
