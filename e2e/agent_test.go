package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"switchboard/channels"
)

// claim takes the oldest waiting conversation as agent and checks it is
// the user's.
func claim(t *testing.T, g *Gateway, agent string, u *User) Conversation {
	t.Helper()
	var c Conversation
	g.mustAPI(t, http.StatusOK, agent, http.MethodPost, "/api/v1/queue/claim?channel="+u.Channel, nil, &c)
	if c.ID != u.ConversationID() || c.State != "assigned" || c.AssignedTo == nil || *c.AssignedTo != agent {
		t.Fatalf("claim as %s: %+v, want %s assigned to %s", agent, c, u.ConversationID(), agent)
	}
	return c
}

// conv is the agent API path of the user's conversation plus suffix.
func conv(u *User, suffix string) string {
	return "/api/v1/conversations/" + u.ConversationID() + suffix
}

// TestAfterHoursStory is the whole after-hours story through the agent API:
// first message, offer, yes, waiting, claim, reply, a note, close.
func TestAfterHoursStory(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{})
	u := g.newUser(chClosed)

	u.Says(t, "Olá, o pedido 4471 já saiu?")
	u.Receives(t, txtGreeting)
	if c := g.conversation(t, u.ConversationID()); c.State != "bot" {
		t.Fatalf("state after the first message %q, want bot", c.State)
	}
	offer(t, u)
	u.Taps(t, choiceWait, txtYes)
	u.Receives(t, txtAttention)
	g.waitState(t, u.ConversationID(), "waiting")
	if line := g.line(t); len(line) != 1 || line[0].ID != u.ConversationID() {
		t.Fatalf("line %+v, want the user's conversation", line)
	}

	// Nothing else waits on another channel: 204.
	g.mustAPI(t, http.StatusNoContent, "ana", http.MethodPost, "/api/v1/queue/claim?channel="+chOpen, nil, nil)
	c := claim(t, g, "ana", u)
	if c.User.ID != u.ID || c.Channel != chClosed {
		t.Errorf("claimed conversation %+v", c)
	}
	u.Receives(t, txtAssignedAna)
	if line := g.line(t); len(line) != 0 {
		t.Errorf("line after the claim %+v, want empty", line)
	}
	// Nobody else may take it or speak in it.
	g.mustAPI(t, http.StatusNoContent, "bruno", http.MethodPost, "/api/v1/queue/claim", nil, nil)
	g.mustAPI(t, http.StatusConflict, "bruno", http.MethodPost, conv(u, "/messages"), map[string]string{"text": "Bruno here"}, nil)
	// No token: 401.
	if status, _ := g.do(t, http.MethodGet, conv(u, ""), "", nil, nil); status != http.StatusUnauthorized {
		t.Errorf("GET conversation without a token: %d, want 401", status)
	}

	const reply1, note, reply2 = "Hi, I am Ana. Order 4471 left this morning.", "customer asked twice; check the carrier", "Anything else?"
	var queued struct{ ID, Status string }
	g.mustAPI(t, http.StatusAccepted, "ana", http.MethodPost, conv(u, "/messages"), map[string]string{"text": reply1}, &queued)
	if queued.ID == "" || queued.Status != "queued" {
		t.Errorf("reply answer %+v", queued)
	}
	s := u.Receives(t, reply1)
	if s.Kind != "text" || s.Authorization != "Bearer "+g.Secrets[chClosed+".access"] {
		t.Errorf("agent reply sent as %q with %q", s.Kind, s.Authorization)
	}
	g.mustAPI(t, http.StatusCreated, "ana", http.MethodPost, conv(u, "/notes"), map[string]string{"text": note}, nil)
	g.mustAPI(t, http.StatusAccepted, "ana", http.MethodPost, conv(u, "/messages"), map[string]string{"text": reply2}, nil)
	u.Receives(t, reply2)

	c = g.conversation(t, u.ConversationID())
	if !slices.ContainsFunc(c.Notes, func(e Entry) bool { return e.Text == note }) {
		t.Errorf("the note is not among the notes: %+v", c.Notes)
	}
	for _, e := range c.Transcript {
		if e.Text == note {
			t.Errorf("the note is in the transcript: %+v", e)
		}
	}
	for _, want := range []struct{ author, text string }{
		{"user", "Olá, o pedido 4471 já saiu?"}, {"system", txtOffer}, {"system", txtAttention},
		{"agent", reply1}, {"agent", reply2},
	} {
		if !slices.ContainsFunc(c.Transcript, func(e Entry) bool { return e.Author == want.author && e.Text == want.text }) {
			t.Errorf("transcript lacks %s: %q", want.author, want.text)
		}
	}

	g.mustAPI(t, http.StatusOK, "ana", http.MethodPost, conv(u, "/close"), nil, &c)
	if c.State != "ended" {
		t.Errorf("state after close %q, want ended", c.State)
	}
	u.Receives(t, txtClosed)
	if c := g.conversation(t, u.ConversationID()); c.State != "ended" || c.AssignedTo != nil {
		t.Errorf("after close: state %q, assigned to %v", c.State, c.AssignedTo)
	}
	g.mustAPI(t, http.StatusConflict, "ana", http.MethodPost, conv(u, "/messages"), map[string]string{"text": "too late"}, nil)
	for _, s := range g.Graph.Requests() {
		if s.Text == note || slices.ContainsFunc(s.Choices, func(c channels.Choice) bool { return c.Title == note }) {
			t.Errorf("the note was sent to %s", s.To)
		}
	}
	g.Stop(t)
}

// TestAgentReleaseHandbackReopen: release puts the conversation back in
// line, handback gives it to the bot, reopen brings an ended one back.
func TestAgentReleaseHandbackReopen(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{})

	t.Run("long_poll_claim", func(t *testing.T) {
		u := g.newUser(chOpen)
		claimed := make(chan Conversation, 1)
		start := time.Now()
		go func() {
			var c Conversation
			// t.Fatal may not be called here: a bad status shows as an empty id.
			if status := g.api(t, "ana", http.MethodPost, "/api/v1/queue/claim?wait=20s", nil, &c); status != http.StatusOK {
				c.ID = fmt.Sprintf("status %d", status)
			}
			claimed <- c
		}()
		u.Says(t, "agent")
		select {
		case c := <-claimed:
			if c.ID != u.ConversationID() || c.State != "assigned" {
				t.Errorf("long-polling claim got %q in state %q, want %s assigned", c.ID, c.State, u.ConversationID())
			}
			t.Logf("claimed %s after the long poll started", time.Since(start).Round(time.Millisecond))
		case <-time.After(waitFor):
			t.Fatalf("a long-polling claim did not return when a conversation joined the line")
		}
		u.Receives(t, txtAssignedAna)
		g.mustAPI(t, http.StatusOK, "ana", http.MethodPost, conv(u, "/close"), nil, nil)
		// With nothing waiting a short long poll ends in 204.
		g.mustAPI(t, http.StatusNoContent, "ana", http.MethodPost, "/api/v1/queue/claim?wait=100ms", nil, nil)
	})

	t.Run("release", func(t *testing.T) {
		u := g.newUser(chClosed)
		waitInLine(t, u)
		before := g.conversation(t, u.ConversationID())
		claim(t, g, "ana", u)
		var c Conversation
		g.mustAPI(t, http.StatusOK, "ana", http.MethodPost, conv(u, "/release"), nil, &c)
		if c.State != "waiting" {
			t.Errorf("state after release %q, want waiting", c.State)
		}
		if n := g.inLine(t, u.ConversationID()); n != 1 {
			t.Fatalf("released conversation %d times in line, want once", n)
		}
		if after := g.conversation(t, u.ConversationID()); !after.WaitingSince.Equal(*before.WaitingSince) {
			t.Errorf("released conversation waits since %v, want its old place %v", after.WaitingSince, before.WaitingSince)
		}
		claim(t, g, "bruno", u)
		u.Receives(t, txtAssignedBruno)
		g.mustAPI(t, http.StatusAccepted, "bruno", http.MethodPost, conv(u, "/messages"), map[string]string{"text": "Bruno here"}, nil)
		u.Receives(t, "Bruno here")
		g.mustAPI(t, http.StatusConflict, "ana", http.MethodPost, conv(u, "/close"), nil, nil)
	})

	t.Run("handback", func(t *testing.T) {
		u := g.newUser(chClosed)
		waitInLine(t, u)
		claim(t, g, "ana", u)
		var c Conversation
		g.mustAPI(t, http.StatusOK, "ana", http.MethodPost, conv(u, "/handback"), nil, &c)
		if c.State != "bot" || c.AssignedTo != nil {
			t.Errorf("after handback: state %q, assigned to %v; want bot, nobody", c.State, c.AssignedTo)
		}
		u.Receives(t, txtHandedBack)
		u.Says(t, "what are your hours?")
		u.Receives(t, txtHours)
		if n := g.inLine(t, u.ConversationID()); n != 0 {
			t.Errorf("a handed-back conversation is in line")
		}
		// Handed back, the user can be referred again.
		offer(t, u)
		if n := u.Count(txtOffer); n != 2 {
			t.Errorf("offer sent %d times, want twice", n)
		}
	})

	t.Run("reopen", func(t *testing.T) {
		u := g.newUser(chClosed)
		waitInLine(t, u)
		claim(t, g, "ana", u)
		g.mustAPI(t, http.StatusOK, "ana", http.MethodPost, conv(u, "/close"), nil, nil)
		u.Receives(t, txtClosed)
		// Only the agent who had it may reopen it.
		g.mustAPI(t, http.StatusConflict, "bruno", http.MethodPost, conv(u, "/reopen"), nil, nil)
		var c Conversation
		g.mustAPI(t, http.StatusOK, "ana", http.MethodPost, conv(u, "/reopen"), nil, &c)
		if c.State != "assigned" || c.AssignedTo == nil || *c.AssignedTo != "ana" {
			t.Errorf("after reopen: %+v, want assigned to ana", c)
		}
		g.mustAPI(t, http.StatusAccepted, "ana", http.MethodPost, conv(u, "/messages"), map[string]string{"text": "One more thing"}, nil)
		u.Receives(t, "One more thing")
		g.mustAPI(t, http.StatusConflict, "ana", http.MethodPost, conv(u, "/reopen"), nil, nil)
	})
}
