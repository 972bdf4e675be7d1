package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
	"unicode/utf16"

	"switchboard/channels/meta"
	"switchboard/internal/testkit"
)

// offer refers the user on a closed channel and returns the offer sent.
func offer(t *testing.T, u *User) testkit.Send {
	t.Helper()
	u.Says(t, "agent")
	return u.Receives(t, txtOffer)
}

// waitInLine takes the user through the offer to the waiting line.
func waitInLine(t *testing.T, u *User) {
	t.Helper()
	offer(t, u)
	u.Taps(t, choiceWait, txtYes)
	u.Receives(t, txtAttention)
	u.g.waitState(t, u.ConversationID(), "waiting")
}

// (a) A referral inside business hours goes straight to the line.
func TestReferralInsideHours(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{})
	u := g.newUser(chOpen)
	u.Says(t, "I want a human agent please")
	s := u.Receives(t, txtTransferred)
	if s.Path != "/v24.0/"+channelInfos[chOpen].account+"/messages" || s.Kind != "text" {
		t.Errorf("transferred sent as %s %s, want a text to /v24.0/<phone_number_id>/messages", s.Kind, s.Path)
	}
	if s.Authorization != "Bearer "+g.Secrets[chOpen+".access"] {
		t.Errorf("send Authorization %q, want the channel's access token", s.Authorization)
	}
	if n := u.Count(txtOffer); n != 0 {
		t.Errorf("an open channel sent the offer")
	}
	line := g.line(t)
	if len(line) != 1 {
		t.Fatalf("GET /api/v1/queue: %d conversations, want 1: %+v", len(line), line)
	}
	c := line[0]
	if c.ID != u.ConversationID() || c.Channel != chOpen || c.Platform != "whatsapp" || c.State != "waiting" ||
		c.Position != 1 || c.WaitingSince == nil || c.AssignedTo != nil || c.User.ID != u.ID || c.User.Name != u.Name {
		t.Errorf("queue entry %+v, want %s waiting at position 1 for %s", c, u.ConversationID(), u.ID)
	}
	if c.LastMessage == nil || c.LastMessage.Text != "I want a human agent please" {
		t.Errorf("queue entry's last message %+v", c.LastMessage)
	}
}

// (b) After hours on WhatsApp: the offer as reply buttons, yes, the
// attention message, then agent_available once when an agent comes online.
func TestAfterHoursWaitThenAgentOnline(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{})
	u := g.newUser(chClosed)
	u.Says(t, "hello")
	u.Receives(t, txtGreeting)
	s := offer(t, u)
	if s.Kind != "interactive" || s.Interactive != "button" {
		t.Errorf("offer sent as type %q, want interactive reply buttons: %s", s.Kind, s.Body)
	}
	if !slices.Equal(s.Choices, waitChoices) {
		t.Errorf("offer buttons %v, want %v", s.Choices, waitChoices)
	}
	if c := g.conversation(t, u.ConversationID()); c.State != "asking" {
		t.Errorf("state after the offer %q, want asking", c.State)
	}
	if n := g.inLine(t, u.ConversationID()); n != 0 {
		t.Errorf("in line before answering the offer")
	}

	u.Taps(t, choiceWait, txtYes)
	u.Receives(t, txtAttention)
	c := g.waitState(t, u.ConversationID(), "waiting")
	if c.Position != 1 || g.inLine(t, u.ConversationID()) != 1 {
		t.Errorf("waiting conversation not first in line: position %d", c.Position)
	}

	g.mustAPI(t, http.StatusOK, "ana", http.MethodPut, "/api/v1/agents/me/presence", map[string]string{"status": "online"}, nil)
	u.Receives(t, txtAgentAvailable)
	// Ana again, away and back, and Bruno: none is a first agent coming
	// online for a user already told.
	g.mustAPI(t, http.StatusOK, "ana", http.MethodPut, "/api/v1/agents/me/presence", map[string]string{"status": "online"}, nil)
	g.mustAPI(t, http.StatusOK, "bruno", http.MethodPut, "/api/v1/agents/me/presence", map[string]string{"status": "online"}, nil)
	g.mustAPI(t, http.StatusOK, "ana", http.MethodPut, "/api/v1/agents/me/presence", map[string]string{"status": "away"}, nil)
	g.mustAPI(t, http.StatusOK, "bruno", http.MethodPut, "/api/v1/agents/me/presence", map[string]string{"status": "offline"}, nil)
	g.mustAPI(t, http.StatusOK, "ana", http.MethodPut, "/api/v1/agents/me/presence", map[string]string{"status": "online"}, nil)
	u.sync(t)
	if n := u.Count(txtAgentAvailable); n != 1 {
		t.Errorf("agent_available sent %d times, want once", n)
	}
	if c := g.conversation(t, u.ConversationID()); c.State != "waiting" {
		t.Errorf("state %q after chatting while waiting, want waiting", c.State)
	}
}

// (c) No: the declined message, and the bot goes on.
func TestAfterHoursDecline(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{})
	for _, answer := range []string{"tap", "text"} {
		u := g.newUser(chClosed)
		offer(t, u)
		if answer == "tap" {
			u.Taps(t, choiceNoWait, txtNo)
		} else {
			u.Says(t, "no gracias")
		}
		u.Receives(t, txtDeclined)
		if c := g.conversation(t, u.ConversationID()); c.State != "bot" {
			t.Errorf("%s: state %q after declining, want bot", answer, c.State)
		}
		u.Says(t, "what are your hours?")
		u.Receives(t, txtHours)
		if n := g.inLine(t, u.ConversationID()); n != 0 {
			t.Errorf("%s: a user who declined is in line", answer)
		}
		if n := u.Count(txtAttention); n != 0 {
			t.Errorf("%s: attention sent to a user who declined", answer)
		}
	}
	// Another reply lapses the offer: it goes to the bot.
	u := g.newUser(chClosed)
	offer(t, u)
	u.Says(t, "hours")
	u.Receives(t, txtHours)
	if c := g.conversation(t, u.ConversationID()); c.State != "bot" {
		t.Errorf("state %q after a reply that is neither yes nor no, want bot", c.State)
	}
}

// (d) Not direct: the user chats with the bot while waiting; a second
// referral says already_waiting and keeps the one place in line.
func TestSecondReferralKeepsPlace(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{})
	first := g.newUser(chClosed)
	waitInLine(t, first)
	u := g.newUser(chClosed)
	waitInLine(t, u)
	before := g.conversation(t, u.ConversationID())

	u.Says(t, "hours")
	u.Receives(t, txtHours) // the bot answers while waiting
	u.Says(t, "agent")
	u.Receives(t, txtAlreadyWaiting)
	u.sync(t)
	if n := u.Count(txtOffer); n != 1 {
		t.Errorf("offer sent %d times, want once", n)
	}
	if n := u.Count(txtAttention); n != 1 {
		t.Errorf("attention sent %d times, want once", n)
	}
	if n := g.inLine(t, u.ConversationID()); n != 1 {
		t.Errorf("the conversation is %d times in line, want once", n)
	}
	after := g.conversation(t, u.ConversationID())
	if after.State != "waiting" || after.Position != 2 || !after.WaitingSince.Equal(*before.WaitingSince) {
		t.Errorf("after a second referral: state %s, position %d, waiting since %v; want waiting, 2, %v",
			after.State, after.Position, after.WaitingSince, before.WaitingSince)
	}
	if line := g.line(t); len(line) != 2 || line[0].ID != first.ConversationID() || line[1].ID != u.ConversationID() {
		t.Errorf("line %+v, want the first user then this one", line)
	}
}

// (e) Direct: while waiting the bot is silent; the user is told once that
// the message was kept.
func TestDirectWaitingBotSilent(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{})
	u := g.newUser(chDirect)
	waitInLine(t, u)
	id1 := u.Says(t, "hours")
	u.Receives(t, txtKeptForAgent)
	id2 := u.Says(t, "hours, please")
	// Both are in the transcript; the bot said nothing after them.
	var c Conversation
	eventually(t, "both messages in the transcript", func() bool {
		c = g.conversation(t, u.ConversationID())
		return slices.ContainsFunc(c.Transcript, func(e Entry) bool { return e.EventID == id2 })
	})
	seen := false
	for _, e := range c.Transcript {
		seen = seen || e.EventID == id1
		if seen && e.Author == "bot" {
			t.Errorf("the bot spoke while the user waited in direct mode: %+v", e)
		}
	}
	// A claim's message is sent after the kept messages; by the time it
	// arrives, a bot answer would have too.
	g.mustAPI(t, http.StatusOK, "ana", http.MethodPost, "/api/v1/queue/claim", nil, nil)
	u.Receives(t, txtAssignedAna)
	if n := u.Count(txtHours); n != 0 {
		t.Errorf("the bot answered %d times while the user waited in direct mode", n)
	}
	if n := u.Count(txtKeptForAgent); n != 1 {
		t.Errorf("kept_for_agent sent %d times, want once per waiting period", n)
	}
	if c.State != "waiting" {
		t.Errorf("state %q, want waiting", c.State)
	}
}

// (f) A waiting conversation with no activity for inactivity_timeout ends
// at the next sweep and leaves the line.
func TestWaitingExpires(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{Inactivity: 2 * time.Second})
	u := g.newUser(chOpen)
	posted := time.Now()
	u.Says(t, "agent")
	u.Receives(t, txtTransferred)
	// With a 2 s timeout the conversation may be gone from the line by
	// now on a slow machine; the counter shows it joined.
	if v, _ := metricValue(g.metrics(t), "switchboard_waiting_line_joins_total", map[string]string{"channel": chOpen}); v != 1 {
		t.Fatalf("the referral did not join the line (joins counted: %v)", v)
	}
	g.waitState(t, u.ConversationID(), "ended")
	// The deadline is the event's second plus 2 s: never sooner than 1 s
	// after posting.
	if elapsed := time.Since(posted); elapsed < time.Second {
		t.Errorf("ended %s after the referral, before the inactivity timeout", elapsed)
	} else {
		t.Logf("ended %s after the referral", elapsed.Round(10*time.Millisecond))
	}
	if n := g.inLine(t, u.ConversationID()); n != 0 {
		t.Errorf("an expired conversation is still in line")
	}
	m := g.metrics(t)
	if v, _ := metricValue(m, "switchboard_sessions_ended_total", map[string]string{"channel": chOpen, "resolution": "transferred"}); v != 1 {
		t.Errorf("/metrics does not count the transferred bot session")
	}
	if v, _ := metricValue(m, "switchboard_waiting_line_length", map[string]string{"channel": chOpen}); v != 0 {
		t.Errorf("/metrics: line length %v after expiry, want 0", v)
	}
	// A new message starts over with the bot.
	u.Says(t, "hello")
	u.Receives(t, txtGreeting)
	g.waitState(t, u.ConversationID(), "bot")
}

// (g) Messenger: the offer as quick replies; a tap or a typed "sí" says yes.
func TestMessengerOffer(t *testing.T) {
	t.Parallel()
	g := startGateway(t, options{})
	tapper := g.newUser(chFB)
	s := offer(t, tapper)
	if s.Path != "/v24.0/me/messages" || s.Authorization != "Bearer "+g.Secrets[chFB+".access"] {
		t.Errorf("offer sent to %s with %q, want /v24.0/me/messages with the page token", s.Path, s.Authorization)
	}
	if s.MessagingType != "RESPONSE" {
		t.Errorf("messaging_type %q, want RESPONSE", s.MessagingType)
	}
	if !slices.Equal(s.Choices, waitChoices) {
		t.Errorf("quick replies %v, want %v: %s", s.Choices, waitChoices, s.Body)
	}
	tapper.Taps(t, choiceWait, txtYes)
	tapper.Receives(t, txtAttention)
	g.waitState(t, tapper.ConversationID(), "waiting")

	// "sí" signed the way Meta documents it, over the body with non-ASCII
	// characters escaped (\u00ed).
	typer := g.newUser(chFB)
	offer(t, typer)
	body, _ := typer.body("sí", "", "")
	sig := meta.Sign(escapeNonASCII(body), g.Secrets[chFB+".app"])
	if status, resp := g.do(t, http.MethodPost, "/webhooks/messenger", "", http.Header{meta.SignatureHeader: {sig}}, body); status != http.StatusOK {
		t.Fatalf("webhook signed over the escaped body: %d %s", status, resp)
	}
	typer.Receives(t, txtAttention)
	g.waitState(t, typer.ConversationID(), "waiting")
	if line := g.line(t); len(line) != 2 || line[0].Platform != "messenger" {
		t.Errorf("line %+v, want both Messenger users", line)
	}
}

// escapeNonASCII writes every non-ASCII character of b as \uXXXX (lowercase
// hex, UTF-16 surrogate pairs), the form Meta signs.
func escapeNonASCII(b []byte) []byte {
	var out []byte
	for _, r := range string(b) {
		if r < 0x80 {
			out = append(out, byte(r))
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			out = fmt.Appendf(out, "\\u%04x", u)
		}
	}
	return out
}
