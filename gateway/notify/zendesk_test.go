package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"switchboard/config"
	"switchboard/gateway/engine"
	"switchboard/internal/outbound"
	"switchboard/queue"
)

func zendeskConfig(url string) *config.NotifyZendesk {
	return &config.NotifyZendesk{URL: url, Email: "bot@acme.example", APIToken: "token-0123456789", Timeout: 5 * time.Second}
}

var ticket = engine.Ticket{ExternalID: "c_wa_1:1700000000000", Channel: "wa", Subject: "Ana is waiting for an agent on wa", Body: "User: Ana\n[...] user: hello\n"}

func TestZendeskCreatesOneTicket(t *testing.T) {
	var created []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "bot@acme.example/token" || pass != "token-0123456789" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodGet {
			found := []map[string]any{}
			for _, tk := range created {
				if tk["external_id"] == r.URL.Query().Get("external_id") {
					found = append(found, tk)
				}
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"tickets": found})
			return
		}
		var body struct{ Ticket map[string]any }
		_ = json.NewDecoder(r.Body).Decode(&body)
		created = append(created, body.Ticket)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	n := New(Options{})
	for range 2 {
		if err := n.Zendesk(context.Background(), zendeskConfig(srv.URL+"/"), ticket); err != nil {
			t.Fatal(err)
		}
	}
	if len(created) != 1 {
		t.Fatalf("%d tickets, want 1", len(created))
	}
	comment, _ := created[0]["comment"].(map[string]any)
	if created[0]["external_id"] != ticket.ExternalID || created[0]["subject"] != ticket.Subject || comment["body"] != ticket.Body {
		t.Errorf("ticket = %v", created[0])
	}
}

func TestZendeskFailures(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		permanent bool
	}{
		{"rate limited is retried", http.StatusTooManyRequests, false},
		{"a server error is retried", http.StatusBadGateway, false},
		{"a refused request is not", http.StatusUnprocessableEntity, true},
		{"a redirect is not followed", http.StatusFound, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			followed := false
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/elsewhere" {
					followed = true
				}
				if tc.status == http.StatusFound {
					http.Redirect(w, r, "/elsewhere", http.StatusFound)
					return
				}
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			err := New(Options{}).Zendesk(context.Background(), zendeskConfig(srv.URL), ticket)
			if err == nil || queue.IsPermanent(err) != tc.permanent {
				t.Fatalf("err = %v, want an error, permanent %v", err, tc.permanent)
			}
			var redirect *outbound.RedirectError
			if tc.status == http.StatusFound && (!errors.As(err, &redirect) || followed) {
				t.Errorf("redirect: err %v, followed %v", err, followed)
			}
			if strings.Contains(err.Error(), "token-0123456789") {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}
