package gateway

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"switchboard/routing"
)

// Routing scenarios (the conversation states and derivation), each through
// the real webhook handler.

var (
	ana   = waUser{"5511987654321", "Ana Souza"}
	beto  = waUser{"5511900000002", "Beto Lima"}
	carla = fbUser{"7000000000000001"}
	dario = fbUser{"7000000000000002"}
)

// TestReferralInsideHours: "agent" inside business hours sends the
// transferred message and puts the conversation first in the line.
func TestReferralInsideHours(t *testing.T) {
	h := newHarness(t, harnessOptions{start: insideHours})
	h.postOK("whatsapp", ana.text("wamid.A1", "I want to talk to an agent", insideHours))
	h.waitSent(msgTransferred, 1)
	h.settle()

	if got := h.state(ana.conv()); got != routing.StateWaiting {
		t.Errorf("state = %s, want waiting", got)
	}
	list := h.queueView(anaToken)
	if len(list) != 1 || list[0].ID != ana.conv() || list[0].Position != 1 {
		t.Fatalf("GET /api/v1/queue = %+v, want only %s at position 1", list, ana.conv())
	}
	if list[0].User.Name != ana.name || list[0].LastMessage == nil || list[0].LastMessage.Text != "I want to talk to an agent" {
		t.Errorf("queue entry user/last message = %+v / %+v", list[0].User, list[0].LastMessage)
	}
	if got := h.resolutions(ana.conv()); !slices.Equal(got, []string{"bot:transferred"}) {
		t.Errorf("sessions = %v, want [bot:transferred]", got)
	}
	if n := h.countSent(msgTransferred); n != 1 {
		t.Errorf("transferred sent %d times, want 1", n)
	}
}

// waInteractive is the interactive part of a WhatsApp send body.
type waInteractive struct {
	Type        string `json:"type"`
	Interactive struct {
		Type string `json:"type"`
		Body struct {
			Text string `json:"text"`
		} `json:"body"`
		Action struct {
			Buttons []struct {
				Type  string `json:"type"`
				Reply struct {
					ID    string `json:"id"`
					Title string `json:"title"`
				} `json:"reply"`
			} `json:"buttons"`
		} `json:"action"`
	} `json:"interactive"`
}

// offerAfterHours posts "agent" for a WhatsApp user after hours and checks
// that the offer went out as two reply buttons.
func offerAfterHours(t *testing.T, h *harness, u waUser, id string, at time.Time) {
	t.Helper()
	before := len(h.requestsWith(msgOffer))
	h.postOK("whatsapp", u.text(id, "agent please", at))
	h.eventually("the offer is sent to "+u.id, func() bool { return len(h.requestsWith(msgOffer)) > before })
	reqs := h.requestsWith(msgOffer)
	var body waInteractive
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &body); err != nil {
		t.Fatal(err)
	}
	in := body.Interactive
	if body.Type != "interactive" || in.Type != "button" || in.Body.Text != msgOffer || len(in.Action.Buttons) != 2 {
		t.Fatalf("offer body = %s, want interactive reply buttons", reqs[len(reqs)-1].Body)
	}
	got := [][2]string{}
	for _, b := range in.Action.Buttons {
		if b.Type != "reply" {
			t.Errorf("button type %q, want reply", b.Type)
		}
		got = append(got, [2]string{b.Reply.ID, b.Reply.Title})
	}
	want := [][2]string{{routing.ChoiceWait, "Wait"}, {routing.ChoiceNoWait, "No, thanks"}}
	if !slices.Equal(got, want) {
		t.Errorf("buttons = %v, want %v", got, want)
	}
	h.waitState(u.conv(), routing.StateAsking)
}

// TestAfterHoursYesThenAgentOnline: after hours the user is offered to
// wait, taps yes, joins the line; the first agent to come online makes the
// gateway tell the user once that an agent is available.
func TestAfterHoursYesThenAgentOnline(t *testing.T) {
	h := newHarness(t, harnessOptions{start: afterHours})
	offerAfterHours(t, h, ana, "wamid.B1", afterHours)

	h.setClock(afterHours.Add(time.Minute))
	h.postOK("whatsapp", ana.tap("wamid.B2", routing.ChoiceWait, "Wait", afterHours.Add(time.Minute)))
	h.waitSent(msgAttention, 1)
	h.settle()

	rec := h.record(ana.conv())
	if rec.State != routing.StateWaiting || !rec.Transferred {
		t.Fatalf("after yes: state %s, transferred %v; want waiting, transferred", rec.State, rec.Transferred)
	}
	if pos := h.positionIn(h.queueView(anaToken), ana.conv()); pos != 1 {
		t.Errorf("queue position = %d, want 1", pos)
	}
	if got := h.resolutions(ana.conv()); !slices.Equal(got, []string{"bot:transferred"}) {
		t.Errorf("sessions = %v, want [bot:transferred]", got)
	}
	if n := h.countSent(msgAgentAvailable); n != 0 {
		t.Fatalf("agent_available sent before any agent is online")
	}

	h.apiJSON(http.MethodPut, "/api/v1/agents/me/presence", anaToken, map[string]string{"status": "online"}, http.StatusOK, nil)
	// Nobody new comes online for the channel: none of these announce again.
	h.apiJSON(http.MethodPut, "/api/v1/agents/me/presence", brunoTok, map[string]string{"status": "online"}, http.StatusOK, nil)
	h.apiJSON(http.MethodPut, "/api/v1/agents/me/presence", anaToken, map[string]string{"status": "online"}, http.StatusOK, nil)
	h.waitSent(msgAgentAvailable, 1)
	h.settle()
	if n := h.countSent(msgAgentAvailable); n != 1 {
		t.Errorf("agent_available sent %d times, want exactly 1", n)
	}
	if n := h.countEntries(ana.conv(), routing.AuthorSystem, msgAgentAvailable); n != 1 {
		t.Errorf("agent_available in the transcript %d times, want 1", n)
	}
	if got := h.state(ana.conv()); got != routing.StateWaiting {
		t.Errorf("state after the announcement = %s, want still waiting", got)
	}
}

// TestOpeningTimeAnnouncesAgentAvailable: a user waiting since the evening
// is told an agent is available once: not when a tick crosses the opening
// time with nobody online, but when the first agent then comes online.
func TestOpeningTimeAnnouncesAgentAvailable(t *testing.T) {
	h := newHarness(t, harnessOptions{start: afterHours})
	offerAfterHours(t, h, ana, "wamid.O1", afterHours)
	h.postOK("whatsapp", ana.text("wamid.O2", "sí", afterHours))
	h.waitSent(msgAttention, 1)
	h.settle()

	opening := local(time.Friday, 9, 0)
	h.tick(opening.Add(-2 * time.Minute)) // still closed
	h.settle()
	if n := h.countSent(msgAgentAvailable); n != 0 {
		t.Fatalf("agent_available sent before the opening time")
	}
	h.tick(opening.Add(time.Minute))
	h.settle()
	if n := h.countSent(msgAgentAvailable); n != 0 {
		t.Fatalf("agent_available sent at the opening with nobody online")
	}
	h.apiJSON(http.MethodPut, "/api/v1/agents/me/presence", brunoTok, map[string]string{"status": "online"}, http.StatusOK, nil)
	h.waitSent(msgAgentAvailable, 1)
	h.tick(opening.Add(2 * time.Minute))
	h.tick(opening.Add(3 * time.Minute))
	h.settle()
	if n := h.countSent(msgAgentAvailable); n != 1 {
		t.Errorf("agent_available sent %d times, want exactly 1", n)
	}
	if got := h.state(ana.conv()); got != routing.StateWaiting {
		t.Errorf("state = %s, want still waiting", got)
	}
}

// TestAfterHoursNo: declining the offer keeps the user with the bot, out of
// the line.
func TestAfterHoursNo(t *testing.T) {
	h := newHarness(t, harnessOptions{start: afterHours})
	offerAfterHours(t, h, ana, "wamid.C1", afterHours)
	h.postOK("whatsapp", ana.tap("wamid.C2", routing.ChoiceNoWait, "No, thanks", afterHours.Add(time.Minute)))
	h.waitSent(msgDeclined, 1)
	h.waitState(ana.conv(), routing.StateBot)

	h.postOK("whatsapp", ana.text("wamid.C3", "what are your hours?", afterHours.Add(2*time.Minute)))
	h.waitSent(msgHours, 1)
	h.settle()

	rec := h.record(ana.conv())
	if rec.State != routing.StateBot || rec.Transferred {
		t.Errorf("state %s, transferred %v; want bot, not transferred", rec.State, rec.Transferred)
	}
	if list := h.queueView(anaToken); len(list) != 0 {
		t.Errorf("queue = %+v, want empty", list)
	}
	if got := h.resolutions(ana.conv()); len(got) != 0 {
		t.Errorf("sessions ended = %v, want none (the bot session goes on)", got)
	}
	if n := h.countSent(msgAttention); n != 0 {
		t.Errorf("attention sent after a no")
	}
}

// TestNonDirectSecondReferral: while waiting the user may chat with the
// bot; a second referral says already_waiting and keeps the place in line.
func TestNonDirectSecondReferral(t *testing.T) {
	h := newHarness(t, harnessOptions{start: insideHours})
	h.postOK("whatsapp", ana.text("wamid.D1", "agent", insideHours))
	h.waitSent(msgTransferred, 1)
	h.settle()
	since := h.record(ana.conv()).WaitingSince

	h.setClock(insideHours.Add(time.Minute))
	h.postOK("whatsapp", beto.text("wamid.D2", "human", insideHours.Add(time.Minute)))
	h.waitSent(msgTransferred, 2)

	h.setClock(insideHours.Add(2 * time.Minute))
	h.postOK("whatsapp", ana.text("wamid.D3", "what are your hours?", insideHours.Add(2*time.Minute)))
	h.waitSent(msgHours, 1)
	h.setClock(insideHours.Add(3 * time.Minute))
	h.postOK("whatsapp", ana.text("wamid.D4", "agent!!", insideHours.Add(3*time.Minute)))
	h.waitSent(msgAlreadyWaiting, 1)
	h.settle()

	rec := h.record(ana.conv())
	if rec.State != routing.StateWaiting || !rec.WaitingSince.Equal(since) {
		t.Errorf("state %s waiting since %s; want waiting since %s", rec.State, rec.WaitingSince, since)
	}
	list := h.queueView(anaToken)
	if len(list) != 2 {
		t.Fatalf("queue has %d entries, want 2: %+v", len(list), list)
	}
	if h.positionIn(list, ana.conv()) != 1 || h.positionIn(list, beto.conv()) != 2 {
		t.Errorf("queue = %+v, want ana 1st and beto 2nd", list)
	}
	if n := h.countEntries(ana.conv(), routing.AuthorSystem, msgTransferred); n != 1 {
		t.Errorf("ana was transferred %d times, want 1", n)
	}
	if n := h.countSent(msgAlreadyWaiting); n != 1 {
		t.Errorf("already_waiting sent %d times, want 1", n)
	}
}

// TestDirectWaitingBotSilent: with direct referral the bot says nothing
// while the user waits; messages are kept for the agent.
func TestDirectWaitingBotSilent(t *testing.T) {
	h := newHarness(t, harnessOptions{start: insideHours})
	h.postOK("messenger", carla.message("m_E1", "I need a human", "", insideHours))
	h.waitSent(msgTransferred, 1)
	h.settle()
	sentBefore := len(h.graph.Requests())
	entriesBefore := len(h.transcript(carla.conv()))

	h.postOK("messenger", carla.message("m_E2", "what are your hours?", "", insideHours.Add(time.Minute)))
	h.postOK("messenger", carla.message("m_E3", "hello?", "", insideHours.Add(2*time.Minute)))
	h.eventually("both messages are in the transcript", func() bool {
		n := 0
		for _, e := range h.transcript(carla.conv()) {
			if e.Author == routing.AuthorUser && (e.Text == "what are your hours?" || e.Text == "hello?") {
				n++
			}
		}
		return n == 2
	})
	h.settle()

	for _, e := range h.transcript(carla.conv())[entriesBefore:] {
		if e.Author == routing.AuthorBot {
			t.Errorf("the bot spoke while the user waited (direct): %+v", e)
		}
	}
	for _, r := range h.graph.Requests()[sentBefore:] {
		if txt := r.Text; txt != msgKeptForAgent {
			t.Errorf("sent while waiting (direct): %q", txt)
		}
	}
	if n := h.countSent(msgKeptForAgent); n != 1 {
		t.Errorf("kept_for_agent sent %d times, want once per waiting period", n)
	}
	if got := h.state(carla.conv()); got != routing.StateWaiting {
		t.Errorf("state = %s, want waiting", got)
	}
}

// TestInactivityExpiry: a waiting conversation (the user chatted with the
// bot meanwhile) expires after 24 h without activity, not before.
func TestInactivityExpiry(t *testing.T) {
	h := newHarness(t, harnessOptions{start: insideHours})
	h.postOK("whatsapp", ana.text("wamid.F1", "agent", insideHours))
	h.waitSent(msgTransferred, 1)
	last := insideHours.Add(time.Minute)
	h.setClock(last)
	h.postOK("whatsapp", ana.text("wamid.F2", "what are your hours?", last))
	h.waitSent(msgHours, 1)
	h.settle()

	h.tick(last.Add(24*time.Hour - time.Minute))
	if got := h.state(ana.conv()); got != routing.StateWaiting {
		t.Fatalf("at +23h59m: state %s, want still waiting", got)
	}
	if pos := h.position(ana.conv()); pos != 1 {
		t.Fatalf("at +23h59m: position %d, want 1", pos)
	}

	h.tick(last.Add(24*time.Hour + time.Minute))
	if got := h.state(ana.conv()); got != routing.StateEnded {
		t.Fatalf("at +24h01m: state %s, want ended", got)
	}
	if pos := h.position(ana.conv()); pos != 0 {
		t.Errorf("at +24h01m: still in line at %d", pos)
	}
	if list := h.queueView(anaToken); len(list) != 0 {
		t.Errorf("queue after expiry = %+v, want empty", list)
	}
	if got := h.resolutions(ana.conv()); !slices.Equal(got, []string{"bot:transferred", "bot:expired"}) {
		t.Errorf("sessions = %v, want [bot:transferred bot:expired]", got)
	}
}

// TestInactivityAgentReplyPushesDeadline: an agent's reply is activity: the
// conversation expires 24 h after it, not after the user's last message.
func TestInactivityAgentReplyPushesDeadline(t *testing.T) {
	h := newHarness(t, harnessOptions{start: insideHours})
	h.postOK("whatsapp", ana.text("wamid.F10", "agent", insideHours))
	h.waitState(ana.conv(), routing.StateWaiting)
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", anaToken, nil, http.StatusOK, nil)

	replyAt := insideHours.Add(20 * time.Hour)
	h.tick(replyAt)
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+ana.conv()+"/messages", anaToken, map[string]string{"text": "Still there?"}, http.StatusAccepted, nil)

	h.tick(insideHours.Add(24*time.Hour + time.Minute))
	if got := h.state(ana.conv()); got != routing.StateAssigned {
		t.Fatalf("24h01m after the user's message, 4h after the agent's: state %s, want still assigned", got)
	}
	h.tick(replyAt.Add(24*time.Hour - time.Minute))
	if got := h.state(ana.conv()); got != routing.StateAssigned {
		t.Fatalf("23h59m after the agent's reply: state %s, want still assigned", got)
	}
	h.tick(replyAt.Add(24*time.Hour + time.Minute))
	if got := h.state(ana.conv()); got != routing.StateEnded {
		t.Fatalf("24h01m after the agent's reply: state %s, want ended", got)
	}
	if got := h.resolutions(ana.conv()); !slices.Equal(got, []string{"bot:transferred", "agent:expired"}) {
		t.Errorf("sessions = %v, want [bot:transferred agent:expired]", got)
	}
}

// fbSend is the part of a Messenger send body the offer test reads.
type fbSend struct {
	Recipient struct {
		ID string `json:"id"`
	} `json:"recipient"`
	Message struct {
		Text         string `json:"text"`
		QuickReplies []struct {
			ContentType string `json:"content_type"`
			Title       string `json:"title"`
			Payload     string `json:"payload"`
		} `json:"quick_replies"`
	} `json:"message"`
}

// TestMessengerOfferQuickReplies: on Messenger the offer carries the two
// choices as quick replies; a tap on one answers it.
func TestMessengerOfferQuickReplies(t *testing.T) {
	h := newHarness(t, harnessOptions{start: afterHours})
	h.postOK("messenger", carla.message("m_G1", "agent", "", afterHours))
	h.eventually("the offer is sent", func() bool { return len(h.requestsWith(msgOffer)) == 1 })
	var body fbSend
	if err := json.Unmarshal(h.requestsWith(msgOffer)[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	var got [][3]string
	for _, q := range body.Message.QuickReplies {
		got = append(got, [3]string{q.ContentType, q.Title, q.Payload})
	}
	want := [][3]string{{"text", "Wait", routing.ChoiceWait}, {"text", "No, thanks", routing.ChoiceNoWait}}
	if body.Recipient.ID != carla.psid || body.Message.Text != msgOffer || !slices.Equal(got, want) {
		t.Errorf("offer = %+v, want text %q to %s with quick replies %v", body, msgOffer, carla.psid, want)
	}

	h.postOK("messenger", carla.message("m_G2", "Wait", routing.ChoiceWait, afterHours.Add(time.Minute)))
	h.waitSent(msgAttention, 1)
	h.waitState(carla.conv(), routing.StateWaiting)
}

// TestOfferTextFallback: the offer may be answered by typing a yes or no
// word of the configured language, accents and case aside.
func TestOfferTextFallback(t *testing.T) {
	cases := []struct {
		name, platform, answer string
		want                   string
		state                  routing.State
	}{
		{"whatsapp sí", "whatsapp", "sí", msgAttention, routing.StateWaiting},
		{"whatsapp Sim, por favor", "whatsapp", "Sim, por favor", msgAttention, routing.StateWaiting},
		{"whatsapp não", "whatsapp", "não", msgDeclined, routing.StateBot},
		{"messenger SI", "messenger", "SI", msgAttention, routing.StateWaiting},
		{"messenger Não, obrigado", "messenger", "Não, obrigado", msgDeclined, routing.StateBot},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{start: afterHours})
			var conv string
			if tc.platform == "whatsapp" {
				offerAfterHours(t, h, ana, "wamid.T1", afterHours)
				h.postOK("whatsapp", ana.text("wamid.T2", tc.answer, afterHours.Add(time.Minute)))
				conv = ana.conv()
			} else {
				h.postOK("messenger", dario.message("m_T1", "agent", "", afterHours))
				h.waitState(dario.conv(), routing.StateAsking)
				h.postOK("messenger", dario.message("m_T2", tc.answer, "", afterHours.Add(time.Minute)))
				conv = dario.conv()
			}
			h.waitSent(tc.want, 1)
			h.settle()
			if got := h.state(conv); got != tc.state {
				t.Errorf("state = %s, want %s", got, tc.state)
			}
			if pos := h.position(conv); (pos == 1) != (tc.state == routing.StateWaiting) {
				t.Errorf("position in line = %d with state %s", pos, tc.state)
			}
		})
	}
}
