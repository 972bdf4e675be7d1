package meta

import (
	"crypto/subtle"
	"net/url"
)

// Handshake answers Meta's webhook verification request. Given the query of
// the GET request and the verify tokens accepted for the platform, it returns
// the hub.challenge to echo (as a plain-text 200) and true, or false when
// hub.mode is not "subscribe", the challenge is missing or hub.verify_token
// matches none of the tokens. Tokens are compared in constant time; empty
// tokens never match.
func Handshake(query url.Values, verifyTokens ...string) (challenge string, ok bool) {
	if query.Get("hub.mode") != "subscribe" {
		return "", false
	}
	challenge = query.Get("hub.challenge")
	if challenge == "" {
		return "", false
	}
	got := []byte(query.Get("hub.verify_token"))
	match := 0
	for _, token := range verifyTokens {
		if token != "" {
			match |= subtle.ConstantTimeCompare(got, []byte(token))
		}
	}
	if match != 1 {
		return "", false
	}
	return challenge, true
}
