package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/gateway/engine"
	"switchboard/internal/testkit"
	"switchboard/routing"
)

// The messaging window (README: the messaging window): a user who waits past the window
// is offered honestly, kept in the missed list when they expire, and
// re-engaged by template (WhatsApp) or a HUMAN_AGENT reply (Messenger).

const igSecret = "ig-secret-test-0123456789"

var (
	// Saturday 21 November 2026, 22:00 in the channels' zone: the line
	// opens on Monday 23 at 09:00, 35 hours later.
	saturdayNight = local(time.Saturday, 22, 0)
	mondayOpening = local(time.Monday, 9, 0).AddDate(0, 0, 7)
	sundayMorning = local(time.Saturday, 10, 0).AddDate(0, 0, 1)
)

// windowConfig gives wa-main Spanish day names, a template and its own
// beyond-window offer, fb-page the HUMAN_AGENT tag, and ig-shop hours.
func windowConfig(extra string) func(string, map[string]string) string {
	return func(yaml string, _ map[string]string) string {
		yaml = strings.Replace(yaml, `    access_token: wa-access-test-0123456789
`, `    access_token: wa-access-test-0123456789
    language: es
    templates:
      - {name: follow_up, language: es_AR, body: ["{user.name}", "{agent}"]}
`, 1)
		yaml = strings.Replace(yaml, `        offer: "MSG offer"
`, `        offer: "MSG offer"
        offer_beyond_window: "MSG beyond {opens}"
`, 1)
		yaml = strings.Replace(yaml, `      direct: false
`, `      direct: false
`+extra, 1)
		yaml = strings.Replace(yaml, `    access_token: fb-access-test-0123456789
`, `    access_token: fb-access-test-0123456789
    human_agent_tag: true
`, 1)
		return yaml + `    hours:
      timezone: America/Argentina/Buenos_Aires
      weekly: {mon: ["09:00-18:00"], tue: ["09:00-18:00"], wed: ["09:00-18:00"], thu: ["09:00-18:00"], fri: ["09:00-18:00"]}
`
	}
}

func (h *harness) missed(query string) []engine.ConversationView {
	h.t.Helper()
	var out struct{ Conversations []engine.ConversationView }
	h.apiJSON(http.MethodGet, "/api/v1/conversations?state=missed"+query, anaToken, nil, http.StatusOK, &out)
	return out.Conversations
}

func listed(list []engine.ConversationView, convID string) bool {
	return slices.ContainsFunc(list, func(v engine.ConversationView) bool { return v.ID == convID && v.Missed })
}

// waitAccepted joins the line through the offer, after hours.
func waitAccepted(h *harness, u waUser, id string, at time.Time, offer string) {
	h.t.Helper()
	h.setClock(at)
	before := len(h.requestsWith(offer))
	h.postOK("whatsapp", u.text(id+"a", "agent", at))
	h.eventually("the offer "+offer, func() bool { return len(h.requestsWith(offer)) > before })
	h.waitState(u.conv(), routing.StateAsking)
	h.setClock(at.Add(time.Minute))
	h.postOK("whatsapp", u.tap(id+"b", routing.ChoiceWait, "Wait", at.Add(time.Minute)))
	h.waitState(u.conv(), routing.StateWaiting)
}

// TestWindowWhatsApp: the README's Saturday-night user. The offer names
// Monday 09:00 in the channel's language; the user waits, expires on
// Sunday night and lands in the missed list; nobody is told an agent is
// available at the opening while nobody is online; the agent re-engages
// with a template (its parameters filled), free text is refused until the
// user answers, then accepted.
func TestWindowWhatsApp(t *testing.T) {
	h := newHarness(t, harnessOptions{start: saturdayNight, yaml: windowConfig("")})
	waitAccepted(h, ana, "wamid.S1", saturdayNight, "MSG beyond lunes 09:00")
	// Beto writes on Sunday morning: Monday 09:00 is inside his window.
	waitAccepted(h, beto, "wamid.S2", sundayMorning, msgOffer)
	h.settle()

	h.tick(saturdayNight.Add(24*time.Hour + 2*time.Minute))
	h.waitState(ana.conv(), routing.StateEnded)
	if got := h.resolutions(ana.conv()); !slices.Equal(got, []string{"bot:transferred", "waiting:expired"}) {
		t.Errorf("sessions = %v", got)
	}
	missed := h.missed("")
	if len(missed) != 1 || !listed(missed, ana.conv()) || missed[0].State != routing.StateEnded {
		t.Fatalf("missed list = %+v, want ana's ended conversation", missed)
	}
	daily, err := h.app.store.DailyStats(context.Background(), "wa-main", "2026-11-22")
	if err != nil || daily.Counts["missed"] != 1 || daily.Counts["expiries"] != 1 {
		t.Errorf("Sunday's counts = %v, %v; want one expiry, missed", daily.Counts, err)
	}

	// The opening with nobody online: Beto is not told; the first agent
	// online makes it true.
	h.tick(mondayOpening.Add(time.Minute))
	h.settle()
	if n := h.countSent(msgAgentAvailable); n != 0 {
		t.Fatalf("agent_available sent %d times with nobody online", n)
	}
	h.apiJSON(http.MethodPut, "/api/v1/agents/me/presence", anaToken, map[string]string{"status": "online"}, http.StatusOK, nil)
	h.waitSent(msgAgentAvailable, 1)

	at := mondayOpening.Add(5 * time.Minute)
	h.setClock(at)
	path := "/api/v1/conversations/" + ana.conv()
	h.wantError(http.MethodPost, path+"/messages", anaToken, map[string]string{"text": "hola"}, http.StatusUnprocessableEntity, "window_closed")
	var conv engine.ConversationView
	h.apiJSON(http.MethodPost, path+"/template", anaToken, map[string]string{"template": "follow_up"}, http.StatusOK, &conv)
	if conv.State != routing.StateAssigned || conv.AssignedTo == nil || *conv.AssignedTo != "ana" || !conv.WindowPending || conv.Missed {
		t.Fatalf("after the template: %+v", conv)
	}
	reqs := h.requestsWith(`"template"`)
	if len(reqs) != 1 {
		t.Fatalf("template sends = %d, want 1", len(reqs))
	}
	var sent struct {
		Type     string `json:"type"`
		Template struct {
			Name       string                `json:"name"`
			Language   struct{ Code string } `json:"language"`
			Components []struct {
				Type       string                  `json:"type"`
				Parameters []struct{ Text string } `json:"parameters"`
			} `json:"components"`
		} `json:"template"`
	}
	if err := json.Unmarshal(reqs[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Type != "template" || sent.Template.Name != "follow_up" || sent.Template.Language.Code != "es_AR" ||
		len(sent.Template.Components) != 1 || len(sent.Template.Components[0].Parameters) != 2 ||
		sent.Template.Components[0].Parameters[0].Text != ana.name || sent.Template.Components[0].Parameters[1].Text != "Ana" {
		t.Errorf("template sent = %s", reqs[0].Body)
	}
	if len(h.missed("")) != 0 {
		t.Error("re-engaged conversation still in the missed list")
	}
	h.wantError(http.MethodPost, path+"/messages", anaToken, map[string]string{"text": "hola"}, http.StatusUnprocessableEntity, "window_closed")

	h.setClock(at.Add(time.Minute))
	h.postOK("whatsapp", ana.text("wamid.S3", "hola, sigo acá", at.Add(time.Minute)))
	h.eventually("the user's answer opens the window", func() bool {
		status, raw := h.api(http.MethodGet, path, anaToken, nil)
		return status == http.StatusOK && !bytes.Contains(raw, []byte(`"window_pending":true`))
	})
	h.apiJSON(http.MethodPost, path+"/messages", anaToken, map[string]string{"text": "¡Hola Ana!"}, http.StatusAccepted, nil)
	h.waitSent("¡Hola Ana!", 1)
}

// TestWindowMessenger: with human_agent_tag the window is 7 days, so the
// Saturday-night offer is the plain one; a missed user is re-engaged by a
// HUMAN_AGENT reply within 7 days, and refused after.
func TestWindowMessenger(t *testing.T) {
	h := newHarness(t, harnessOptions{start: saturdayNight, yaml: windowConfig("")})
	for i, u := range []fbUser{carla, dario} {
		mid := "mid.W" + string(rune('1'+i))
		h.postOK("messenger", u.message(mid+"a", "agent", "", saturdayNight))
		h.waitState(u.conv(), routing.StateAsking)
		h.postOK("messenger", u.message(mid+"b", "Wait", routing.ChoiceWait, saturdayNight.Add(time.Minute)))
		h.waitState(u.conv(), routing.StateWaiting)
	}
	h.settle()
	if n := len(h.requestsWith("MSG beyond")); n != 0 {
		t.Errorf("beyond-window offer sent %d times inside a 7-day window", n)
	}
	h.tick(saturdayNight.Add(24*time.Hour + 2*time.Minute))
	missed := h.missed("&channel=fb-page&limit=1")
	if len(missed) != 1 {
		t.Fatalf("first page of the missed list = %+v", missed)
	}
	var page struct {
		Conversations []engine.ConversationView
		NextCursor    string `json:"next_cursor"`
	}
	h.apiJSON(http.MethodGet, "/api/v1/conversations?state=missed&limit=1", anaToken, nil, http.StatusOK, &page)
	if page.NextCursor == "" {
		t.Fatal("no next_cursor with two missed conversations and a page of one")
	}
	cursor := page.NextCursor
	page.NextCursor = ""
	h.apiJSON(http.MethodGet, "/api/v1/conversations?state=missed&limit=1&cursor="+cursor, anaToken, nil, http.StatusOK, &page)
	if len(page.Conversations) != 1 || page.NextCursor != "" || page.Conversations[0].ID == missed[0].ID {
		t.Errorf("second page = %+v", page)
	}

	at := mondayOpening.Add(time.Hour)
	h.setClock(at)
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+carla.conv()+"/messages", anaToken, map[string]string{"text": "Hi Carla, we are back"}, http.StatusAccepted, nil)
	h.waitSent("Hi Carla, we are back", 1)
	if reqs := h.requestsWith("Hi Carla, we are back"); !bytes.Contains(reqs[0].Body, []byte("HUMAN_AGENT")) {
		t.Errorf("reply after 24 h sent without the HUMAN_AGENT tag: %s", reqs[0].Body)
	}
	rec := h.record(carla.conv())
	if rec.State != routing.StateAssigned || rec.AssignedTo != "ana" || !rec.MissedAt.IsZero() {
		t.Errorf("after the reply: state %s to %q, missed at %v", rec.State, rec.AssignedTo, rec.MissedAt)
	}

	h.setClock(saturdayNight.Add(8*24*time.Hour + time.Hour))
	h.wantError(http.MethodPost, "/api/v1/conversations/"+dario.conv()+"/messages", anaToken, map[string]string{"text": "too late"}, http.StatusUnprocessableEntity, "window_closed")
	if len(h.missed("")) != 0 {
		t.Error("the missed list keeps a conversation past follow_up_keep")
	}
	h.wantError(http.MethodPost, "/api/v1/conversations/"+dario.conv()+"/template", anaToken, map[string]string{"template": "follow_up"}, http.StatusBadRequest, "bad_request")
}

// TestWindowInstagram: without human_agent_tag the Saturday-night offer on
// Instagram names Monday 09:00 (the default text, in English).
func TestWindowInstagram(t *testing.T) {
	h := newHarness(t, harnessOptions{start: saturdayNight, yaml: windowConfig("")})
	body, _ := json.Marshal(map[string]any{
		"object": "instagram",
		"entry": []any{map[string]any{
			"id": "17841400000000001", "time": saturdayNight.UnixMilli(),
			"messaging": []any{map[string]any{
				"sender":    map[string]any{"id": "8000000000000001"},
				"recipient": map[string]any{"id": "17841400000000001"},
				"timestamp": saturdayNight.UnixMilli(),
				"message":   map[string]any{"mid": "mid.IG1", "text": "agent"},
			}},
		}},
	})
	if got := h.post("instagram", body, igSecret); got != http.StatusOK {
		t.Fatalf("POST /webhooks/instagram = %d", got)
	}
	h.eventually("the beyond-window offer", func() bool {
		return len(h.requestsWith("Our team is back Monday 09:00. If you wait, we will write to you then.")) == 1
	})
}

// TestStartByTemplate: an agent starts a WhatsApp conversation by
// template; the number is checked; a refused template comes back as 422
// naming the problem, and changes nothing.
func TestStartByTemplate(t *testing.T) {
	h := newHarness(t, harnessOptions{yaml: windowConfig("")})
	start := func(user, channel string) map[string]string {
		return map[string]string{"channel": channel, "user": user, "template": "follow_up"}
	}
	h.wantError(http.MethodPost, "/api/v1/conversations", anaToken, start("+54 9 11", "wa-main"), http.StatusBadRequest, "bad_request")
	h.wantError(http.MethodPost, "/api/v1/conversations", anaToken, start("5491100000000", "fb-page"), http.StatusBadRequest, "bad_request")
	h.wantError(http.MethodPost, "/api/v1/conversations", brunoTok, start("5491100000000", "fb-page"), http.StatusForbidden, "forbidden")

	h.graph.FailNext(1, testkit.ErrTemplateMissing)
	msg := h.wantError(http.MethodPost, "/api/v1/conversations", anaToken, start("5491100000000", "wa-main"), http.StatusUnprocessableEntity, "template_refused")
	if !strings.Contains(msg, `"follow_up" does not exist in language es_AR`) {
		t.Errorf("template error message %q does not name the problem", msg)
	}
	if rec := h.record(waUser{id: "5491100000000"}.conv()); rec.Version != 0 {
		t.Errorf("a refused template created the conversation: %+v", rec)
	}

	var conv engine.ConversationView
	h.apiJSON(http.MethodPost, "/api/v1/conversations", anaToken, start("5491100000000", "wa-main"), http.StatusCreated, &conv)
	if conv.State != routing.StateAssigned || *conv.AssignedTo != "ana" || conv.User.ID != "5491100000000" || !conv.WindowPending {
		t.Errorf("started conversation = %+v", conv)
	}
	if tx := h.transcript(conv.ID); len(tx) != 1 || tx[0].Kind != "template" {
		t.Errorf("transcript = %+v, want the template", tx)
	}
	h.wantError(http.MethodPost, "/api/v1/conversations/"+conv.ID+"/template", brunoTok, map[string]string{"template": "follow_up"}, http.StatusConflict, "not_yours")
	h.wantError(http.MethodPost, "/api/v1/conversations/"+conv.ID+"/template", anaToken, map[string]string{"template": "nope"}, http.StatusBadRequest, "bad_request")
}

// TestTakeover: an agent takes a bot conversation; the bot session ends
// taken_over and the user is told the agent's name.
func TestTakeover(t *testing.T) {
	h := newHarness(t, harnessOptions{yaml: windowConfig("")})
	h.postOK("whatsapp", ana.text("wamid.T1", "hours", insideHours))
	h.waitSent(msgHours, 1)
	h.settle()
	var conv engine.ConversationView
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+ana.conv()+"/takeover", brunoTok, nil, http.StatusOK, &conv)
	if conv.State != routing.StateAssigned || *conv.AssignedTo != "bruno" {
		t.Fatalf("after takeover: %+v", conv)
	}
	h.waitSent("MSG assigned Bruno", 1)
	if got := h.resolutions(ana.conv()); !slices.Equal(got, []string{"bot:taken_over"}) {
		t.Errorf("sessions = %v, want [bot:taken_over]", got)
	}
	h.wantError(http.MethodPost, "/api/v1/conversations/"+ana.conv()+"/takeover", anaToken, nil, http.StatusConflict, "not_bot")
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+ana.conv()+"/messages", brunoTok, map[string]string{"text": "Bruno here"}, http.StatusAccepted, nil)
	h.waitSent("Bruno here", 1)
}

// TestNoAgentOnline: inside hours with nobody online, ask makes the offer
// and reject the off-hours message; with an agent online both join the
// line (wait, the default, is every other scenario).
func TestNoAgentOnline(t *testing.T) {
	for _, tt := range []struct{ mode, first, want string }{
		{"ask", msgOffer, string(routing.StateAsking)},
		{"reject", "Our team is offline right now; I will keep helping you here.", string(routing.StateBot)},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			h := newHarness(t, harnessOptions{yaml: windowConfig("      no_agent_online: " + tt.mode + "\n")})
			h.postOK("whatsapp", ana.text("wamid.N1", "agent", insideHours))
			h.waitSent(tt.first, 1)
			h.waitState(ana.conv(), routing.State(tt.want))

			h.apiJSON(http.MethodPut, "/api/v1/agents/me/presence", brunoTok, map[string]string{"status": "online"}, http.StatusOK, nil)
			h.postOK("whatsapp", beto.text("wamid.N2", "agent", insideHours))
			h.waitSent(msgTransferred, 1)
			h.waitState(beto.conv(), routing.StateWaiting)
		})
	}
}

// TestStaleAgentAndPosition: an agent whose presence says online but who
// has not been seen for a day does not count as online; {position} is the
// user's place in line.
func TestStaleAgentAndPosition(t *testing.T) {
	base := windowConfig("      no_agent_online: ask\n")
	h := newHarness(t, harnessOptions{start: insideHours.Add(-25 * time.Hour), yaml: func(yaml string, env map[string]string) string {
		return strings.Replace(base(yaml, env), `attention: "MSG attention"`, `attention: "MSG attention {position}, {user.name}"`, 1)
	}})
	h.apiJSON(http.MethodPut, "/api/v1/agents/me/presence", brunoTok, map[string]string{"status": "online"}, http.StatusOK, nil)
	h.setClock(insideHours)
	for i, u := range []waUser{ana, beto} {
		h.postOK("whatsapp", u.text("wamid.P"+u.id, "agent", insideHours))
		h.waitState(u.conv(), routing.StateAsking)
		h.postOK("whatsapp", u.tap("wamid.Q"+u.id, routing.ChoiceWait, "Wait", insideHours.Add(time.Minute)))
		h.waitSent("MSG attention "+string(rune('1'+i))+", "+u.name, 1)
	}
}
