package meta

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// SignatureHeader is the HTTP header carrying a webhook's signature.
const SignatureHeader = "X-Hub-Signature-256"

// Sign returns the X-Hub-Signature-256 value of body under the app secret:
// "sha256=" and the lowercase hex HMAC-SHA256. Tests use it to sign webhooks.
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports whether header (the X-Hub-Signature-256 value,
// "sha256=<hex>") is the HMAC-SHA256 of body under one of the app secrets.
// body must be the raw request bytes, never re-marshalled JSON.
//
// Meta documents signing an escaped-Unicode form of the payload, while its
// sample code hashes the raw bytes, so when the raw bytes do not match and
// the body holds non-ASCII bytes, the check is retried once over the body
// with every non-ASCII rune written as \uXXXX (lowercase hex, UTF-16
// surrogate pairs above U+FFFF). Empty secrets never match.
func VerifySignature(body []byte, header string, secrets ...string) bool {
	_, ok := MatchSecret(body, header, secrets...)
	return ok
}

// MatchSecret is VerifySignature that also says which secret signed the
// body, so the caller can accept only the entries of that secret's
// channels: with several apps, a valid signature under one app's secret
// says nothing about another app's accounts.
func MatchSecret(body []byte, header string, secrets ...string) (string, bool) {
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return "", false
	}
	want, err := hex.DecodeString(hexSum)
	if err != nil || len(want) != sha256.Size {
		return "", false
	}
	var escaped []byte
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		if macEqual(body, secret, want) {
			return secret, true
		}
		if escaped == nil && !isASCII(body) {
			escaped = escapeUnicode(body)
		}
		if escaped != nil && macEqual(escaped, secret, want) {
			return secret, true
		}
	}
	return "", false
}

func macEqual(body []byte, secret string, want []byte) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), want)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// escapeUnicode writes every non-ASCII rune of b as \uXXXX in lowercase hex,
// one escape per UTF-16 code unit. Invalid UTF-8 bytes become \ufffd.
func escapeUnicode(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, len(b)+len(b)/2)
	for len(b) > 0 {
		if b[0] < utf8.RuneSelf {
			out = append(out, b[0])
			b = b[1:]
			continue
		}
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		for _, u := range utf16.AppendRune(nil, r) {
			out = append(out, '\\', 'u', digits[u>>12], digits[u>>8&0xf], digits[u>>4&0xf], digits[u&0xf])
		}
	}
	return out
}
