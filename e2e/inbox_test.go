package e2e

import (
	"net/http"
	"testing"

	"switchboard/internal/testkit"
)

// page is one page of GET /api/v1/conversations.
type page struct {
	Conversations []struct {
		ID     string   `json:"id"`
		Unread int      `json:"unread"`
		Labels []string `json:"labels"`
	} `json:"conversations"`
	NextCursor string `json:"next_cursor"`
}

// TestInboxUnreadReadAndLabels: the agent's unread conversations, reading
// one (a read receipt for the user's last message reaches the platform),
// a typing indicator, and a label filter, on the binary.
func TestInboxUnreadReadAndLabels(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{})
	u := g.newUser(chOpen)
	u.Says(t, "I want a human agent please")
	u.Receives(t, txtTransferred)
	claim(t, g, "ana", u)
	u.Says(t, "hello?")
	last := u.Says(t, "anyone there?")

	var p page
	eventually(t, "ana has 2 unread", func() bool {
		g.mustAPI(t, http.StatusOK, "ana", http.MethodGet, "/api/v1/conversations?assigned_to=me&unread=true", nil, &p)
		return len(p.Conversations) == 1 && p.Conversations[0].Unread == 2
	})
	if p.Conversations[0].ID != u.ConversationID() {
		t.Errorf("unread listing %+v, want the user's conversation", p)
	}
	g.mustAPI(t, http.StatusNoContent, "ana", http.MethodPost, conv(u, "/read"), nil, nil)
	g.mustAPI(t, http.StatusOK, "ana", http.MethodGet, "/api/v1/conversations?assigned_to=me&unread=true", nil, &p)
	if len(p.Conversations) != 0 {
		t.Errorf("unread listing after read %+v, want empty", p)
	}
	g.mustAPI(t, http.StatusNoContent, "ana", http.MethodPost, conv(u, "/typing"), nil, nil)
	var receipts, typing int
	for _, s := range g.Graph.Requests() {
		if s.Kind == testkit.KindRead && s.ReplyTo == last {
			receipts++
			if s.Typing {
				typing++
			}
		}
	}
	if receipts != 2 || typing != 1 {
		t.Errorf("mark-read requests for the last message: %d (%d with typing), want 2 (1)", receipts, typing)
	}

	g.mustAPI(t, http.StatusOK, "ana", http.MethodPut, conv(u, "/labels"), map[string][]string{"labels": {"vip"}}, nil)
	g.mustAPI(t, http.StatusOK, "bruno", http.MethodGet, "/api/v1/conversations?label=vip", nil, &p)
	if len(p.Conversations) != 1 || p.Conversations[0].ID != u.ConversationID() {
		t.Errorf("?label=vip = %+v, want the user's conversation", p)
	}
	g.mustAPI(t, http.StatusBadRequest, "bruno", http.MethodGet, "/api/v1/conversations?label=gold", nil, nil)
	g.Stop(t)
}
