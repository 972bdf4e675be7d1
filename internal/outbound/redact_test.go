package outbound

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"scheme and host stay", "https://bot.example", "https://bot.example"},
		{"port stays", "http://127.0.0.1:8080/hook", "http://127.0.0.1:8080"},
		{"IPv6 host", "https://[::1]:8443/x", "https://[::1]:8443"},
		{"userinfo", "https://user:p4ss@bot.example/", "https://bot.example"},
		{"query", "https://bot.example/?api_key=s3cret", "https://bot.example"},
		{"secret path", "https://hooks.example/T000/B000/s3cret", "https://hooks.example"},
		{"fragment", "https://bot.example/x#token=s3cret", "https://bot.example"},
		{"scheme is lower-cased", "HTTPS://bot.example/x", "https://bot.example"},
		{"empty", "", redacted},
		{"relative", "/hook?api_key=s3cret", redacted},
		{"no scheme", "bot.example/hook?api_key=s3cret", redacted},
		{"opaque", "mailto:ops@example.com", redacted},
		{"bad escape", "https://bot.example/%zz?api_key=s3cret", redacted},
		{"bad port", "https://user:s3cret@bot.example:port/", redacted},
		{"control character", "https://bot.example/\x7f?api_key=s3cret", redacted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Redact(tt.in); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactError(t *testing.T) {
	const secretURL = "https://user:p4ss@bot.example/T000/s3cret?api_key=k3y#frag"
	clientErr := &url.Error{Op: "Post", URL: secretURL, Err: context.DeadlineExceeded}
	_, parseErr := http.NewRequest(http.MethodPost, "https://bot.example/%zz?api_key=k3y", nil)
	if parseErr == nil {
		t.Fatal("NewRequest accepted a bad escape")
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"client error", clientErr, `Post "https://bot.example": context deadline exceeded`},
		{"wrapped", fmt.Errorf("http bot: %w", clientErr), `http bot: Post "https://bot.example": context deadline exceeded`},
		{"joined", errors.Join(errors.New("first"), clientErr), "first\n" + `Post "https://bot.example": context deadline exceeded`},
		{"parse error", fmt.Errorf("http bot: %w", parseErr), `http bot: parse "[redacted URL]": the URL does not parse`},
		{"no URL inside", errors.New("plain"), "plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RedactError(tt.err)
			if got.Error() != tt.want {
				t.Errorf("RedactError().Error() = %q, want %q", got.Error(), tt.want)
			}
			for _, secret := range []string{"p4ss", "s3cret", "k3y", "frag", "T000", "%zz"} {
				if strings.Contains(got.Error(), secret) {
					t.Errorf("%q still holds %q", got.Error(), secret)
				}
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("RedactError() does not wrap %v", tt.err)
			}
		})
	}
	if RedactError(nil) != nil {
		t.Error("RedactError(nil) is not nil")
	}
	if !errors.Is(RedactError(clientErr), context.DeadlineExceeded) {
		t.Error("the cause is lost")
	}
}
