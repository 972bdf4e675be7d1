package meta

import (
	"net/url"
	"testing"
)

// The test vectors of docs/meta.md §2, secret test_app_secret.
const (
	vectorSecret = "test_app_secret"
	vectorBody   = `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.TEST1","timestamp":"1749416383","type":"text","text":{"body":"Hello"}}]},"field":"messages"}]}]}`
	vectorSig    = "sha256=6b9cf589745d2da2fde46bddf56905339f4a5dbd4df6b3265dbde9ed537e8079"
	unicodeBody  = `{"text":{"body":"café 👍"}}`
	unicodeRaw   = "sha256=6dc0256f579b632a9f794b68461f0560a4977c0dc1f9a31a86a7257ebcb3cee7"
	unicodeEsc   = "sha256=1c389c72ff4de9fbe120860b756af75386a61870d3c3826302ec017feb694453"
)

func TestVerifySignature(t *testing.T) {
	for _, c := range []struct {
		name    string
		body    string
		header  string
		secrets []string
		want    bool
	}{
		{"vector", vectorBody, vectorSig, []string{vectorSecret}, true},
		{"second secret", vectorBody, vectorSig, []string{"old", vectorSecret}, true},
		{"wrong secret", vectorBody, vectorSig, []string{"other"}, false},
		{"no secret", vectorBody, vectorSig, nil, false},
		{"empty secret", vectorBody, Sign([]byte(vectorBody), ""), []string{""}, false},
		{"tampered body", vectorBody + " ", vectorSig, []string{vectorSecret}, false},
		{"uppercase hex", vectorBody, "sha256=6B9CF589745D2DA2FDE46BDDF56905339F4A5DBD4DF6B3265DBDE9ED537E8079", []string{vectorSecret}, true},
		{"sha1 header", vectorBody, "sha1=5b213053a547dc4c1e0830b98c6492d965934f48", []string{vectorSecret}, false},
		{"no prefix", vectorBody, vectorSig[len("sha256="):], []string{vectorSecret}, false},
		{"short", vectorBody, vectorSig[:20], []string{vectorSecret}, false},
		{"not hex", vectorBody, "sha256=zz", []string{vectorSecret}, false},
		{"empty header", vectorBody, "", []string{vectorSecret}, false},
		{"unicode signed raw", unicodeBody, unicodeRaw, []string{vectorSecret}, true},
		{"unicode signed escaped", unicodeBody, unicodeEsc, []string{vectorSecret}, true},
		{"unicode escaped, wrong secret", unicodeBody, unicodeEsc, []string{"other"}, false},
		{"already escaped body", `{"text":{"body":"caf\u00e9 \ud83d\udc4d"}}`, unicodeEsc, []string{vectorSecret}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := VerifySignature([]byte(c.body), c.header, c.secrets...); got != c.want {
				t.Errorf("VerifySignature = %v, want %v", got, c.want)
			}
		})
	}
}

func TestSign(t *testing.T) {
	if got := Sign([]byte(vectorBody), vectorSecret); got != vectorSig {
		t.Errorf("Sign = %s, want %s", got, vectorSig)
	}
}

func TestEscapeUnicode(t *testing.T) {
	for in, want := range map[string]string{
		unicodeBody:         `{"text":{"body":"caf\u00e9 \ud83d\udc4d"}}`,
		"äöå":               `\u00e4\u00f6\u00e5`,
		"plain ascii \x7f":  "plain ascii \x7f",
		"bad \xff utf8":     `bad \ufffd utf8`,
		"€ and 𝄞 (U+1D11E)": `\u20ac and \ud834\udd1e (U+1D11E)`,
	} {
		if got := string(escapeUnicode([]byte(in))); got != want {
			t.Errorf("escapeUnicode(%q) = %s, want %s", in, got, want)
		}
	}
}

func FuzzVerifySignature(f *testing.F) {
	f.Add([]byte(vectorBody), vectorSig, vectorSecret)
	f.Add([]byte(unicodeBody), unicodeEsc, vectorSecret)
	f.Add([]byte("\xff\xfe"), "sha256=", "s")
	f.Fuzz(func(t *testing.T, body []byte, header, secret string) {
		VerifySignature(body, header, secret)
		if secret != "" && !VerifySignature(body, Sign(body, secret), secret) {
			t.Fatalf("a body signed with its own secret does not verify")
		}
		if secret != "" && !VerifySignature(body, Sign(escapeUnicode(body), secret), secret) {
			t.Fatalf("a body signed in escaped form does not verify")
		}
	})
}

func TestHandshake(t *testing.T) {
	q := func(mode, token, challenge string) url.Values {
		return url.Values{"hub.mode": {mode}, "hub.verify_token": {token}, "hub.challenge": {challenge}}
	}
	for _, c := range []struct {
		name   string
		query  url.Values
		tokens []string
		want   string
		ok     bool
	}{
		{"match", q("subscribe", "T", "1158201444"), []string{"T"}, "1158201444", true},
		{"second token", q("subscribe", "T2", "CHALLENGE_ACCEPTED"), []string{"T1", "T2"}, "CHALLENGE_ACCEPTED", true},
		{"wrong token", q("subscribe", "X", "1"), []string{"T"}, "", false},
		{"wrong mode", q("unsubscribe", "T", "1"), []string{"T"}, "", false},
		{"no challenge", q("subscribe", "T", ""), []string{"T"}, "", false},
		{"empty token never matches", q("subscribe", "", "1"), []string{""}, "", false},
		{"no tokens", q("subscribe", "T", "1"), nil, "", false},
		{"prefix of token", q("subscribe", "T", "1"), []string{"TT"}, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := Handshake(c.query, c.tokens...)
			if got != c.want || ok != c.ok {
				t.Errorf("Handshake = %q, %v; want %q, %v", got, ok, c.want, c.ok)
			}
		})
	}
}
