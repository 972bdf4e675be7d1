package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/gateway/engine"
	"switchboard/internal/testkit"
	"switchboard/queue"
	"switchboard/routing"
)

// Closing the loop through signed webhooks and the API: leaving the line,
// the return to the closing agent, satisfaction, Zendesk tickets, the
// agents' figures and erasure on request.

const (
	msgLeftLine   = "MSG left_line"
	msgBackToBot  = "MSG back"
	msgThanksCSAT = "MSG thanks_csat"
	msgConfirm    = "MSG erase_confirm"
	msgErased     = "MSG erased"
	msgConsent    = "MSG consent"
	msgCSAT       = "How did we do?"
)

// loopOptions configure the loop on wa-main and fb-page: cancel keywords,
// reopen_after_close 10m, a satisfaction question (three choices on
// WhatsApp, five on Messenger), erasure keywords and, when zendesk is
// set, Zendesk tickets there (wa-main on waiting, fb-page on missed).
func loopOptions(zendesk string) harnessOptions {
	return harnessOptions{yaml: func(y string, env map[string]string) string {
		loop := "      cancel_keywords: [cancel, salir]\n      reopen_after_close: 10m\n      csat: {question: \"How did we do?\", choices: %s}\n"
		y = strings.Replace(y, "      direct: false\n", "      direct: false\n"+fmt.Sprintf(loop, `["Bad", "OK", "Great"]`), 1)
		y = strings.Replace(y, "      direct: true\n", "      direct: true\n"+fmt.Sprintf(loop, `["1", "2", "3", "4", "5"]`), 1)
		y = strings.ReplaceAll(y, "      messages:\n", `      messages:
        left_line: "MSG left_line"
        back_to_bot: "MSG back"
        thanks_csat: "MSG thanks_csat"
        erase_confirm: "MSG erase_confirm"
        erased: "MSG erased"
`)
		y = strings.Replace(y, "    access_token: wa-access-test-0123456789\n",
			"    access_token: wa-access-test-0123456789\n    consent: \"MSG consent\"\n", 1)
		if zendesk != "" {
			env["ZENDESK_URL"] = zendesk
			z := "    notify:\n      zendesk: {url: \"${ZENDESK_URL}\", email: bot@acme.example, api_token: zendesk-token-0123456789, on: [%s]}\n"
			y = strings.Replace(y, "    access_token: wa-access-test-0123456789\n", "    access_token: wa-access-test-0123456789\n"+fmt.Sprintf(z, "waiting"), 1)
			y = strings.Replace(y, "    access_token: fb-access-test-0123456789\n", "    access_token: fb-access-test-0123456789\n"+fmt.Sprintf(z, "missed"), 1)
		}
		return "privacy:\n  erase_keywords: [\"delete my data\", \"borrar mis datos\"]\n" + y
	}}
}

// loopStats is GET /api/v1/admin/stats, checked against the document.
func (h *harness) loopStats(query string) map[string]engine.ChannelStats {
	h.t.Helper()
	var out struct{ Channels []engine.ChannelStats }
	h.apiJSON(http.MethodGet, "/api/v1/admin/stats"+query, adminToken, nil, http.StatusOK, &out)
	m := map[string]engine.ChannelStats{}
	for _, c := range out.Channels {
		m[c.Channel] = c
	}
	return m
}

// joinLine makes a WhatsApp user ask for an agent at "at" and waits until
// they wait.
func joinLine(h *harness, u waUser, id string, at time.Time) {
	h.t.Helper()
	h.setClock(at)
	h.postOK("whatsapp", u.text(id, "agent", at))
	h.waitState(u.conv(), routing.StateWaiting)
}

func TestLeaveTheLineAndLoseThePlace(t *testing.T) {
	h := newHarness(t, loopOptions(""))
	first, second := waUser{id: "5511900000101", name: "First"}, waUser{id: "5511900000102", name: "Second"}
	joinLine(h, first, "wamid.L1", insideHours)
	joinLine(h, second, "wamid.L2", insideHours.Add(time.Minute))
	h.settle()
	if got := h.requestsWith(routing.ChoiceLeaveLine); len(got) != 2 {
		t.Errorf("the way back was offered %d times, want with each transfer", len(got))
	}

	h.setClock(insideHours.Add(2 * time.Minute))
	h.postOK("whatsapp", first.tap("wamid.L3", routing.ChoiceLeaveLine, msgBackToBot, insideHours.Add(2*time.Minute)))
	h.waitSent(msgLeftLine, 1)
	h.waitState(first.conv(), routing.StateBot)
	if pos := h.position(first.conv()); pos != 0 {
		t.Errorf("position after leaving = %d, want out of the line", pos)
	}
	h.postOK("whatsapp", first.text("wamid.L4", "hours", insideHours.Add(3*time.Minute)))
	h.waitSent(msgHours, 1) // the bot talks to the user again

	joinLine(h, first, "wamid.L5", insideHours.Add(4*time.Minute))
	if pos := h.position(first.conv()); pos != 2 {
		t.Errorf("position after joining again = %d, want 2 (the place was lost)", pos)
	}
	var left []queue.SessionRecord
	for _, s := range h.sessions("wa-main") {
		if s.Resolution == routing.ResolutionLeft {
			left = append(left, s)
		}
	}
	if len(left) != 1 || left[0].Kind != routing.SessionWaiting || !left[0].Start.Equal(insideHours) || left[0].Conversation != first.conv() {
		t.Errorf("left sessions = %+v, want the first user's wait since %s", left, insideHours)
	}

	// Messenger (direct mode): a cancel keyword typed.
	dario := fbUser{psid: "psid-leave"}
	h.setClock(insideHours.Add(5 * time.Minute))
	h.postOK("messenger", dario.message("m_L1", "agent", "", insideHours.Add(5*time.Minute)))
	h.waitState(dario.conv(), routing.StateWaiting)
	h.postOK("messenger", dario.message("m_L2", "salir", "", insideHours.Add(6*time.Minute)))
	h.waitSent(msgLeftLine, 2)
	h.waitState(dario.conv(), routing.StateBot)
	h.settle()

	stats := h.loopStats("")
	if stats["wa-main"].Today.LeftLine != 1 || stats["fb-page"].Today.LeftLine != 1 {
		t.Errorf("left_line today = %d, %d; want 1 and 1", stats["wa-main"].Today.LeftLine, stats["fb-page"].Today.LeftLine)
	}
	fams := scrape(t, h.base+"/metrics")
	got := map[string]float64{}
	for _, m := range fams["switchboard_left_line_total"].GetMetric() {
		got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	if got["wa-main"] != 1 || got["fb-page"] != 1 {
		t.Errorf("switchboard_left_line_total = %v, want 1 per channel", got)
	}
}

// closeBy has the agent claim the conversation waiting in channel, reply
// and close it, each at its time.
func closeBy(h *harness, token, channel, convID string, claim, reply, close time.Time) {
	h.t.Helper()
	h.setClock(claim)
	var got engine.ConversationView
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim?channel="+channel, token, nil, http.StatusOK, &got)
	if got.ID != convID {
		h.t.Fatalf("claimed %s, want %s", got.ID, convID)
	}
	h.setClock(reply)
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+convID+"/messages", token, map[string]string{"text": "Hello from the agent"}, http.StatusAccepted, nil)
	h.setClock(close)
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+convID+"/close", token, nil, http.StatusOK, nil)
	h.settle()
}

func TestReturnToTheSameAgent(t *testing.T) {
	h := newHarness(t, loopOptions(""))
	h.apiJSON(http.MethodPut, "/api/v1/agents/me/presence", anaToken, map[string]string{"status": "online"}, http.StatusOK, nil)
	u := waUser{id: "5511900000201", name: "Returns"}
	joinLine(h, u, "wamid.R1", insideHours)
	closeBy(h, anaToken, "wa-main", u.conv(), insideHours.Add(time.Minute), insideHours.Add(2*time.Minute), insideHours.Add(3*time.Minute))

	// Within reopen_after_close: back to Ana, the bot silent.
	at := insideHours.Add(8 * time.Minute)
	h.setClock(at)
	h.postOK("whatsapp", u.text("wamid.R2", "one more thing", at))
	h.waitState(u.conv(), routing.StateAssigned)
	if rec := h.record(u.conv()); rec.AssignedTo != "ana" {
		t.Errorf("assigned to %q, want ana", rec.AssignedTo)
	}
	h.settle()
	if n := h.countSent(msgGreeting) + h.countSent(msgFallback); n != 0 {
		t.Errorf("the bot answered %d times while the agent had it back", n)
	}

	// Closed again; a message after the time goes to the bot, and Ana may
	// still reopen (the user wrote first).
	h.setClock(at.Add(time.Minute))
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+u.conv()+"/close", anaToken, nil, http.StatusOK, nil)
	late := at.Add(12 * time.Minute)
	h.setClock(late)
	h.postOK("whatsapp", u.text("wamid.R3", "hello", late))
	h.waitState(u.conv(), routing.StateBot)
	h.settle()
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+u.conv()+"/reopen", anaToken, nil, http.StatusOK, nil)
	h.waitState(u.conv(), routing.StateAssigned)
	if res := h.resolutions(u.conv()); !strings.Contains(strings.Join(res, " "), "bot:claimed") {
		t.Errorf("resolutions %v: the bot session the reopen ended is missing", res)
	}

	// Messenger, with the agent away: within the time it joins the line.
	h.apiJSON(http.MethodPut, "/api/v1/agents/me/presence", anaToken, map[string]string{"status": "away"}, http.StatusOK, nil)
	dario := fbUser{psid: "psid-return"}
	h.setClock(late)
	h.postOK("messenger", dario.message("m_R1", "agent", "", late))
	h.waitState(dario.conv(), routing.StateWaiting)
	closeBy(h, anaToken, "fb-page", dario.conv(), late, late.Add(time.Minute), late.Add(2*time.Minute))
	h.setClock(late.Add(5 * time.Minute))
	h.postOK("messenger", dario.message("m_R2", "are you there?", "", late.Add(5*time.Minute)))
	h.waitState(dario.conv(), routing.StateWaiting)
	if rec := h.record(dario.conv()); rec.PreferredAgent != "ana" {
		t.Errorf("preferred agent %q, want ana (the agent who closed)", rec.PreferredAgent)
	}
}

func TestSatisfaction(t *testing.T) {
	h := newHarness(t, loopOptions(""))
	u, lapse := waUser{id: "5511900000301", name: "Rates"}, waUser{id: "5511900000302", name: "Lapses"}
	joinLine(h, u, "wamid.S1", insideHours)
	closeBy(h, anaToken, "wa-main", u.conv(), insideHours.Add(time.Minute), insideHours.Add(2*time.Minute), insideHours.Add(3*time.Minute))
	h.waitSent(msgCSAT, 1)
	var q struct {
		Type        string
		Interactive struct {
			Type   string
			Action struct {
				Buttons []struct{ Reply struct{ ID, Title string } }
			}
		}
	}
	reqs := h.requestsWith("gw:csat:")
	if len(reqs) != 1 || json.Unmarshal(reqs[0].Body, &q) != nil || q.Interactive.Type != "button" || len(q.Interactive.Action.Buttons) != 3 ||
		q.Interactive.Action.Buttons[2].Reply.ID != "gw:csat:3" || q.Interactive.Action.Buttons[2].Reply.Title != "Great" {
		t.Fatalf("the question was not three reply buttons: %d requests, %+v", len(reqs), q)
	}
	h.setClock(insideHours.Add(4 * time.Minute))
	h.postOK("whatsapp", u.tap("wamid.S2", "gw:csat:3", "Great", insideHours.Add(4*time.Minute)))
	h.waitSent(msgThanksCSAT, 1)

	// Another user answers with something else: the question lapses and
	// the bot answers.
	joinLine(h, lapse, "wamid.S3", insideHours.Add(5*time.Minute))
	closeBy(h, brunoTok, "wa-main", lapse.conv(), insideHours.Add(5*time.Minute), insideHours.Add(6*time.Minute), insideHours.Add(7*time.Minute))
	h.setClock(insideHours.Add(20 * time.Minute))
	h.postOK("whatsapp", lapse.text("wamid.S4", "hours", insideHours.Add(20*time.Minute)))
	h.waitSent(msgHours, 1)
	h.settle()
	if n := h.countSent(msgThanksCSAT); n != 1 {
		t.Errorf("thanked %d times, want once", n)
	}

	// Messenger: five quick replies, the answer typed.
	dario := fbUser{psid: "psid-csat"}
	h.setClock(insideHours.Add(21 * time.Minute))
	h.postOK("messenger", dario.message("m_S1", "agent", "", insideHours.Add(21*time.Minute)))
	h.waitState(dario.conv(), routing.StateWaiting)
	closeBy(h, anaToken, "fb-page", dario.conv(), insideHours.Add(22*time.Minute), insideHours.Add(23*time.Minute), insideHours.Add(24*time.Minute))
	if reqs := h.requestsWith(`"payload":"gw:csat:5"`); len(reqs) != 1 {
		t.Errorf("messenger question: %d requests with the fifth quick reply, want 1", len(reqs))
	}
	h.setClock(insideHours.Add(25 * time.Minute))
	h.postOK("messenger", dario.message("m_S2", "4", "", insideHours.Add(25*time.Minute)))
	h.waitSent(msgThanksCSAT, 2)
	h.settle()

	var report struct{ Sessions []engine.SessionRow }
	h.apiJSON(http.MethodGet, "/api/v1/admin/reports/sessions?kind=agent", adminToken, nil, http.StatusOK, &report)
	scores := map[string]int{}
	for _, r := range report.Sessions {
		scores[r.Conversation] = r.CSAT
	}
	if scores[u.conv()] != 3 || scores[lapse.conv()] != 0 || scores[dario.conv()] != 4 {
		t.Errorf("csat in the report = %v, want 3 for %s, none for %s, 4 for %s", scores, u.conv(), lapse.conv(), dario.conv())
	}
	stats := h.loopStats("")
	if c := stats["wa-main"].CSAT; c != (engine.CSAT{Count: 1, Average: 3}) {
		t.Errorf("wa-main csat = %+v, want 1 answer averaging 3", c)
	}
	if c := stats["fb-page"].CSAT; c != (engine.CSAT{Count: 1, Average: 4}) {
		t.Errorf("fb-page csat = %+v, want 1 answer averaging 4", c)
	}
	agents := map[string]engine.CSAT{}
	for _, a := range stats["wa-main"].Agents {
		agents[a.Agent] = a.CSAT
	}
	if agents["ana"] != (engine.CSAT{Count: 1, Average: 3}) || agents["bruno"] != (engine.CSAT{}) {
		t.Errorf("wa-main agents' csat = %+v", agents)
	}
}

// fakeZendesk is Zendesk's tickets API: it searches by external id and
// creates tickets, answering 429 to the first creation and losing the
// answer (500 after creating) of the second.
type fakeZendesk struct {
	*httptest.Server
	mu       sync.Mutex
	tickets  []map[string]any
	posts    int
	auth     []string
	throttle int // creations answered 429 before creating
	lose     int // creations answered 500 after creating
}

func newFakeZendesk(t *testing.T) *fakeZendesk {
	z := &fakeZendesk{throttle: 1, lose: 1}
	z.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		z.mu.Lock()
		defer z.mu.Unlock()
		z.auth = append(z.auth, r.Header.Get("Authorization"))
		if r.URL.Path != "/api/v2/tickets.json" {
			http.NotFound(w, r)
			return
		}
		switch r.Method {
		case http.MethodGet:
			found := []map[string]any{}
			for _, tk := range z.tickets {
				if tk["external_id"] == r.URL.Query().Get("external_id") {
					found = append(found, tk)
				}
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"tickets": found})
		case http.MethodPost:
			z.posts++
			if z.throttle > 0 {
				z.throttle--
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			var body struct{ Ticket map[string]any }
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			z.tickets = append(z.tickets, body.Ticket)
			if z.lose > 0 {
				z.lose--
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]any{"ticket": body.Ticket})
		}
	}))
	t.Cleanup(z.Close)
	return z
}

func (z *fakeZendesk) snapshot() ([]map[string]any, int, []string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]map[string]any(nil), z.tickets...), z.posts, append([]string(nil), z.auth...)
}

// zendeskDelivered counts the Zendesk notifications delivered on channel.
func zendeskDelivered(t *testing.T, h *harness, channel string) float64 {
	for _, m := range scrape(t, h.base+"/metrics")["switchboard_notifications_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["channel"] == channel && labels["target"] == "zendesk" && labels["result"] == "ok" {
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestZendeskTicketOncePerTransfer(t *testing.T) {
	z := newFakeZendesk(t)
	h := newHarness(t, loopOptions(z.URL))
	u := waUser{id: "5511900000401", name: "Ticketed Person"}
	h.postOK("whatsapp", u.text("wamid.Z0", "I need help with my order", insideHours))
	joinLine(h, u, "wamid.Z1", insideHours.Add(time.Second))
	h.eventually("the ticket is delivered", func() bool { return zendeskDelivered(t, h, "wa-main") == 1 })

	tickets, posts, auth := z.snapshot()
	if len(tickets) != 1 || posts != 2 {
		t.Fatalf("%d tickets after %d creations, want 1 ticket (a 429, then a lost answer found by its external id)", len(tickets), posts)
	}
	tk := tickets[0]
	comment, _ := tk["comment"].(map[string]any)
	body, _ := comment["body"].(string)
	wantID := fmt.Sprintf("%s:%d", u.conv(), insideHours.Add(time.Second).UnixMilli())
	if tk["external_id"] != wantID || !strings.Contains(fmt.Sprint(tk["subject"]), "Ticketed Person") ||
		!strings.Contains(body, "I need help with my order") || !strings.Contains(body, msgTransferred) {
		t.Errorf("ticket = %v, want external id %s, the user's name in the subject and the transcript", tk, wantID)
	}
	for _, a := range auth {
		if a != "Basic "+basic("bot@acme.example/token:zendesk-token-0123456789") {
			t.Errorf("authorization %q is not the API token's", a)
		}
	}

	// A release and a new wait of the same transfer make no second ticket.
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim?channel=wa-main", anaToken, nil, http.StatusOK, nil)
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+u.conv()+"/release", anaToken, nil, http.StatusOK, nil)
	h.settle()

	// Messenger notifies when a waiting user expires (missed), not on waiting.
	dario := fbUser{psid: "psid-missed"}
	h.postOK("messenger", dario.message("m_Z1", "agent", "", insideHours))
	h.waitState(dario.conv(), routing.StateWaiting)
	h.tick(insideHours.Add(25 * time.Hour))
	h.waitState(dario.conv(), routing.StateEnded)
	h.eventually("the missed ticket is delivered", func() bool { return zendeskDelivered(t, h, "fb-page") == 1 })
	tickets, _, _ = z.snapshot()
	if len(tickets) != 2 || !strings.Contains(fmt.Sprint(tickets[1]["subject"]), "without an answer") {
		t.Errorf("tickets = %v, want the first and one for the missed user", tickets)
	}
	if n := zendeskDelivered(t, h, "wa-main"); n != 1 {
		t.Errorf("wa-main delivered %v zendesk notifications, want 1", n)
	}
}

func basic(s string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	user, pass, _ := strings.Cut(s, ":")
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func TestAgentFiguresOfAScriptedDay(t *testing.T) {
	h := newHarness(t, loopOptions(""))
	u1, u2, u3 := waUser{id: "5511900000501", name: "One"}, waUser{id: "5511900000502", name: "Two"}, waUser{id: "5511900000503", name: "Three"}
	day := local(time.Friday, 9, 0)
	joinLine(h, u1, "wamid.F1", day)
	closeBy(h, anaToken, "wa-main", u1.conv(), day.Add(time.Minute), day.Add(3*time.Minute), day.Add(11*time.Minute)) // 120 s, 600 s
	joinLine(h, u2, "wamid.F2", day.Add(time.Hour))
	closeBy(h, brunoTok, "wa-main", u2.conv(), day.Add(time.Hour), day.Add(time.Hour+time.Minute), day.Add(time.Hour+6*time.Minute)) // 60 s, 360 s
	joinLine(h, u3, "wamid.F3", day.Add(2*time.Hour))
	closeBy(h, anaToken, "wa-main", u3.conv(), day.Add(2*time.Hour), day.Add(2*time.Hour+5*time.Minute), day.Add(2*time.Hour+20*time.Minute)) // 300 s, 1200 s
	h.setClock(day.Add(2*time.Hour + 21*time.Minute))
	// u1's question is still open (nothing u1 wrote lapsed it): a title typed answers it.
	h.postOK("whatsapp", u1.text("wamid.F4", "Great", day.Add(2*time.Hour+21*time.Minute)))
	h.postOK("whatsapp", u3.tap("wamid.F5", "gw:csat:1", "Bad", day.Add(2*time.Hour+21*time.Minute)))
	h.waitSent(msgThanksCSAT, 2)
	h.settle()

	stats := h.loopStats("?from=2026-11-20&to=2026-11-20")
	wa := stats["wa-main"]
	want := engine.Figures{Handled: 3, FirstResponseSeconds: 160, HandlingSeconds: 720, CSAT: engine.CSAT{Count: 2, Average: 2}}
	if wa.Figures != want {
		t.Errorf("wa-main figures = %+v, want %+v", wa.Figures, want)
	}
	agents := map[string]engine.Figures{}
	for _, a := range wa.Agents {
		agents[a.Agent] = a.Figures
	}
	if a := agents["ana"]; a != (engine.Figures{Handled: 2, FirstResponseSeconds: 210, HandlingSeconds: 900, CSAT: engine.CSAT{Count: 2, Average: 2}}) {
		t.Errorf("ana = %+v", a)
	}
	if b := agents["bruno"]; b != (engine.Figures{Handled: 1, FirstResponseSeconds: 60, HandlingSeconds: 360}) {
		t.Errorf("bruno = %+v", b)
	}
	// Another day's range holds none of it.
	if other := h.loopStats("?from=2026-11-19&to=2026-11-19")["wa-main"]; other.Handled != 0 || len(other.Agents) != 0 {
		t.Errorf("the day before = %+v, want nothing", other.ChannelFigures)
	}
	var report struct{ Sessions []engine.SessionRow }
	h.apiJSON(http.MethodGet, "/api/v1/admin/reports/sessions?kind=agent", adminToken, nil, http.StatusOK, &report)
	for _, r := range report.Sessions {
		if r.Conversation == u1.conv() && (r.FirstResponseSeconds == nil || *r.FirstResponseSeconds != 120) {
			t.Errorf("u1's agent session first response = %v, want 120", r.FirstResponseSeconds)
		}
	}
	fams := scrape(t, h.base+"/metrics")
	for _, name := range []string{"switchboard_first_response_seconds", "switchboard_handling_seconds"} {
		f := fams[name]
		if f == nil || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetHistogram().GetSampleCount() != 3 {
			t.Errorf("%s = %v, want 3 observations on wa-main", name, f)
		}
	}
}

func TestEraseOnRequestLeavesNoKeyOfTheUser(t *testing.T) {
	h := newHarness(t, loopOptions(""))
	u := waUser{id: "5511900000601", name: "Forget Me"}
	h.postOK("whatsapp", u.text("wamid.E1", "hello", insideHours))
	h.waitSent(msgGreeting, 1)
	rec := h.record(u.conv())
	if !rec.Loop.ConsentShown.Equal(insideHours) || h.sentTexts()[0] != msgConsent {
		t.Errorf("consent shown at %v, first message %q; want %v and the consent first", rec.Loop.ConsentShown, h.sentTexts()[0], insideHours)
	}
	joinLine(h, u, "wamid.E2", insideHours.Add(time.Minute))
	h.postOK("whatsapp", u.text("wamid.E3", "Please delete my data", insideHours.Add(2*time.Minute)))
	h.waitSent(msgConfirm, 1)
	h.postOK("whatsapp", u.tap("wamid.E4", routing.ChoiceEraseYes, "Delete", insideHours.Add(3*time.Minute)))
	h.waitSent(msgErased, 1)

	dario := fbUser{psid: "psid-forget-me"}
	h.postOK("messenger", dario.message("m_E1", "borrar mis datos", "", insideHours))
	h.waitSent(msgConfirm, 2)
	h.postOK("messenger", dario.message("m_E2", "Keep", "", insideHours.Add(time.Minute)))
	h.postOK("messenger", dario.message("m_E3", "borrar mis datos", "", insideHours.Add(2*time.Minute)))
	h.waitSent(msgConfirm, 3)
	h.postOK("messenger", dario.message("m_E4", "Delete", routing.ChoiceEraseYes, insideHours.Add(3*time.Minute)))
	h.waitSent(msgErased, 2)

	rdb := h.rawRedis()
	defer rdb.Close()
	forbidden := []string{u.id, u.conv(), "wamid.E1", u.name, dario.psid, dario.conv(), "m_E1"}
	h.eventually("no key holds the users", func() bool {
		for _, k := range allKeys(t, rdb) {
			content := k + " " + dumpKey(t, rdb, k)
			for _, f := range forbidden {
				if strings.Contains(content, f) {
					return false
				}
			}
		}
		return true
	})
	if rec := h.record(u.conv()); rec.Version != 0 {
		t.Errorf("the conversation is still stored (version %d)", rec.Version)
	}
}

func TestSatisfactionAsAWhatsAppList(t *testing.T) {
	opts := loopOptions("")
	three := opts.yaml
	opts.yaml = func(y string, env map[string]string) string {
		return strings.Replace(three(y, env), `["Bad", "OK", "Great"]`, `["1", "2", "3", "4", "5"], button: "Rate us"`, 1)
	}
	h := newHarness(t, opts)
	u := waUser{id: "5511900000701", name: "Lists"}
	joinLine(h, u, "wamid.W1", insideHours)
	closeBy(h, anaToken, "wa-main", u.conv(), insideHours.Add(time.Minute), insideHours.Add(2*time.Minute), insideHours.Add(3*time.Minute))
	var q struct {
		Interactive struct {
			Type   string
			Action struct {
				Button   string
				Sections []struct{ Rows []struct{ ID, Title string } }
			}
		}
	}
	reqs := h.requestsWith("gw:csat:")
	if len(reqs) != 1 || json.Unmarshal(reqs[0].Body, &q) != nil || q.Interactive.Type != "list" || q.Interactive.Action.Button != "Rate us" ||
		len(q.Interactive.Action.Sections) != 1 || len(q.Interactive.Action.Sections[0].Rows) != 5 {
		t.Fatalf("the question was not a list of five: %d requests, %+v", len(reqs), q)
	}
	h.setClock(insideHours.Add(4 * time.Minute))
	h.postOK("whatsapp", testkit.WhatsAppMessage(waPhoneID, testkit.Inbound{ID: "wamid.W2", From: u.id, Name: u.name,
		At: insideHours.Add(4 * time.Minute), Choice: "gw:csat:5", Text: "5", FromList: true}))
	h.waitSent(msgThanksCSAT, 1)
	h.settle()
	if c := h.loopStats("")["wa-main"].CSAT; c != (engine.CSAT{Count: 1, Average: 5}) {
		t.Errorf("csat = %+v, want one 5", c)
	}
}
