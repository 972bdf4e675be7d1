package meta

import "testing"

func TestMatchSecretNamesTheSigner(t *testing.T) {
	for _, c := range []struct {
		name, body, header string
		secrets            []string
		want               string
		ok                 bool
	}{
		{"first of two", vectorBody, vectorSig, []string{vectorSecret, "other"}, vectorSecret, true},
		{"second of two", vectorBody, Sign([]byte(vectorBody), "other"), []string{vectorSecret, "other"}, "other", true},
		{"escaped form", unicodeBody, unicodeEsc, []string{"other", vectorSecret}, vectorSecret, true},
		{"none", vectorBody, Sign([]byte(vectorBody), "third"), []string{vectorSecret, "other"}, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := MatchSecret([]byte(c.body), c.header, c.secrets...)
			if got != c.want || ok != c.ok {
				t.Errorf("MatchSecret = %q, %v; want %q, %v", got, ok, c.want, c.ok)
			}
		})
	}
}
