package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// FakeGraph is a Graph API that records every request and answers like
// Meta: a WhatsApp send (/<phone_number_id>/messages) with
// {"messaging_product":"whatsapp","contacts":[...],"messages":[{"id":"wamid.OUT<n>"}]},
// a Messenger send (/me/messages) with {"recipient_id":...,"message_id":"m_OUT<n>"}.
type FakeGraph struct {
	URL string

	mu    sync.Mutex
	sends []Send
}

// Send is one request the fake Graph API received.
type Send struct {
	Method, Path, Authorization string
	Body                        map[string]any
	Raw                         []byte

	To        string   // the recipient: WhatsApp "to" without "+", Messenger recipient.id
	Text      string   // text.body, interactive.body.text or message.text
	Type      string   // WhatsApp type (text, interactive...); "" for Messenger
	Choices   []string // reply-button ids or quick-reply payloads
	Titles    []string // their titles
	MessageID string   // the id the fake answered with
}

func newFakeGraph(t *testing.T) *FakeGraph {
	g := &FakeGraph{}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

func (g *FakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	s := Send{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Raw: raw}
	if err := json.Unmarshal(raw, &s.Body); err != nil {
		http.Error(w, `{"error":{"message":"(#100) Invalid JSON","type":"OAuthException","code":100}}`, http.StatusBadRequest)
		return
	}
	messenger := strings.HasSuffix(r.URL.Path, "/me/messages")
	if messenger {
		s.To = str(s.Body, "recipient", "id")
		s.Text = str(s.Body, "message", "text")
		for _, q := range list(s.Body, "message", "quick_replies") {
			s.Choices = append(s.Choices, str(q, "payload"))
			s.Titles = append(s.Titles, str(q, "title"))
		}
	} else {
		s.To = strings.TrimPrefix(str(s.Body, "to"), "+")
		s.Type = str(s.Body, "type")
		s.Text = str(s.Body, "text", "body")
		if s.Type == "interactive" {
			s.Text = str(s.Body, "interactive", "body", "text")
			for _, b := range list(s.Body, "interactive", "action", "buttons") {
				s.Choices = append(s.Choices, str(b, "reply", "id"))
				s.Titles = append(s.Titles, str(b, "reply", "title"))
			}
		}
	}
	g.mu.Lock()
	n := len(g.sends) + 1
	var answer string
	if messenger {
		s.MessageID = fmt.Sprintf("m_OUT%d", n)
		answer = fmt.Sprintf(`{"recipient_id":%q,"message_id":%q}`, s.To, s.MessageID)
	} else {
		s.MessageID = fmt.Sprintf("wamid.OUT%d", n)
		answer = fmt.Sprintf(`{"messaging_product":"whatsapp","contacts":[{"input":"+%s","wa_id":%q}],"messages":[{"id":%q}]}`, s.To, s.To, s.MessageID)
	}
	g.sends = append(g.sends, s)
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, answer)
}

// All returns every request so far.
func (g *FakeGraph) All() []Send {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Send(nil), g.sends...)
}

// To returns the sends to one recipient, in arrival order.
func (g *FakeGraph) To(recipient string) []Send {
	var out []Send
	for _, s := range g.All() {
		if s.To == recipient {
			out = append(out, s)
		}
	}
	return out
}

// Last returns the last send to a recipient.
func (g *FakeGraph) Last(recipient string) (Send, bool) {
	sends := g.To(recipient)
	if len(sends) == 0 {
		return Send{}, false
	}
	return sends[len(sends)-1], true
}

// str follows keys through nested JSON objects to a string.
func str(v any, keys ...string) string {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

// list follows keys to a JSON array.
func list(v any, keys ...string) []any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	l, _ := v.([]any)
	return l
}
