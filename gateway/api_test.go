package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/gateway/engine"
	"switchboard/queue"
	"switchboard/routing"
)

// join refers a WhatsApp user inside hours and waits until they wait in line.
func join(t *testing.T, h *harness, u waUser, id string, at time.Time) {
	t.Helper()
	h.setClock(at)
	h.postOK("whatsapp", u.text(id, "agent", at))
	h.waitState(u.conv(), routing.StateWaiting)
}

func TestAPIAuthentication(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.postOK("messenger", carla.message("m_AU1", "agent", "", insideHours))
	h.waitState(carla.conv(), routing.StateWaiting)

	cases := []struct {
		name, method, path, header string
		status                     int
		code                       string
	}{
		{"no token", http.MethodGet, "/api/v1/queue", "", http.StatusUnauthorized, "unauthorized"},
		{"wrong token", http.MethodGet, "/api/v1/queue", "Bearer nope", http.StatusUnauthorized, "unauthorized"},
		{"not bearer", http.MethodGet, "/api/v1/queue", "Basic " + anaToken, http.StatusUnauthorized, "unauthorized"},
		{"claim without token", http.MethodPost, "/api/v1/queue/claim", "", http.StatusUnauthorized, "unauthorized"},
		{"other channel's conversation", http.MethodGet, "/api/v1/conversations/" + carla.conv(), "Bearer " + brunoTok, http.StatusForbidden, "forbidden"},
		{"reply on other channel", http.MethodPost, "/api/v1/conversations/" + carla.conv() + "/messages", "Bearer " + brunoTok, http.StatusForbidden, "forbidden"},
		{"claim on other channel", http.MethodPost, "/api/v1/queue/claim?channel=fb-page", "Bearer " + brunoTok, http.StatusForbidden, "forbidden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, h.base+tc.path, strings.NewReader(`{"text":"hi"}`))
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := h.apiClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != tc.status || e.Error.Code != tc.code {
				t.Errorf("%s %s = %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, e.Error.Code, tc.status, tc.code)
			}
		})
	}
	// bruno does not see fb-page's line; ana does.
	if list := h.queueView(brunoTok); len(list) != 0 {
		t.Errorf("bruno's queue = %+v, want empty (fb-page is not his)", list)
	}
	if pos := h.positionIn(h.queueView(anaToken), carla.conv()); pos != 1 {
		t.Errorf("ana's queue position of carla = %d, want 1", pos)
	}
}

func TestAPIClaim(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	join(t, h, ana, "wamid.CL1", insideHours)
	join(t, h, beto, "wamid.CL2", insideHours.Add(time.Minute))

	var got engine.ConversationView
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", brunoTok, nil, http.StatusOK, &got)
	if got.ID != ana.conv() || got.State != routing.StateAssigned || got.AssignedTo == nil || *got.AssignedTo != "bruno" {
		t.Fatalf("claim = %+v, want ana's conversation assigned to bruno", got)
	}
	// The claim sends "an agent joined" before it answers (not through the
	// task queue), so it goes out before anything the agent writes next.
	if n := h.countSent("MSG assigned Bruno"); n != 1 {
		t.Fatalf("when the claim answered, %q was sent %d times, want 1; sent: %q", "MSG assigned Bruno", n, h.sentTexts())
	}
	// The claim noted bruno's activity (with the day's counts, one round trip).
	if act, err := h.app.redis.Store().AgentActivity(context.Background(), []string{"bruno"}); err != nil || act["bruno"].IsZero() {
		t.Errorf("bruno's activity after the claim = %v, %v; want it noted", act, err)
	}
	// bruno holds max_conversations (1): beto waits but bruno may not take him.
	h.wantError(http.MethodPost, "/api/v1/queue/claim", brunoTok, nil, http.StatusConflict, "at_capacity")
	if pos := h.position(beto.conv()); pos != 1 {
		t.Errorf("after the refused claim beto is at %d, want 1", pos)
	}
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", anaToken, nil, http.StatusOK, &got)
	if got.ID != beto.conv() {
		t.Errorf("ana claimed %s, want beto's %s", got.ID, beto.conv())
	}
	if status, body := h.api(http.MethodPost, "/api/v1/queue/claim", anaToken, nil); status != http.StatusNoContent {
		t.Errorf("claim on an empty line = %d %s, want 204", status, body)
	}
	// Sessions: each bot session ended transferred; the agent sessions are open.
	if r := h.resolutions(ana.conv()); !slices.Equal(r, []string{"bot:transferred"}) {
		t.Errorf("ana's sessions = %v", r)
	}
}

func TestAPILongPollClaim(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The test's own subscription to line joins: it receives the commit's
	// PUBLISH at the same time as the gateway's.
	joined := h.app.redis.LineNotices(ctx)

	type result struct {
		status int
		conv   engine.ConversationView
		at     time.Time
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, h.base+"/api/v1/queue/claim?wait=5s", nil)
		req.Header.Set("Authorization", "Bearer "+anaToken)
		resp, err := h.apiClient.Do(req)
		if err != nil {
			t.Error(err)
			done <- result{}
			return
		}
		defer resp.Body.Close()
		var r result
		r.at = time.Now()
		r.status = resp.StatusCode
		_ = json.NewDecoder(resp.Body).Decode(&r.conv)
		done <- r
	}()
	h.eventually("the long poll waits", func() bool {
		return h.app.engine.WaitingClaims() == 1
	})

	h.postOK("whatsapp", ana.text("wamid.LP1", "agent", insideHours))
	var visible time.Time
	select {
	case ch := <-joined:
		visible = time.Now()
		if ch != "wa-main" {
			t.Fatalf("line join on %q, want wa-main", ch)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the referral never joined the line")
	}
	r := <-done
	if r.status != http.StatusOK || r.conv.ID != ana.conv() {
		t.Fatalf("long poll = %d %+v, want 200 with %s", r.status, r.conv, ana.conv())
	}
	if lag := r.at.Sub(visible); lag > 100*time.Millisecond {
		t.Errorf("long poll returned %s after the line join was committed, want < 100ms", lag)
	}
	if got := h.state(ana.conv()); got != routing.StateAssigned {
		t.Errorf("state = %s, want assigned", got)
	}
}

func TestAPIReplyAndWindow(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	join(t, h, ana, "wamid.R1", insideHours)
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", anaToken, nil, http.StatusOK, nil)
	path := "/api/v1/conversations/" + ana.conv()

	var accepted struct{ ID, Status string }
	h.apiJSON(http.MethodPost, path+"/messages", anaToken, map[string]string{"text": "Hello, I am Ana."}, http.StatusAccepted, &accepted)
	h.waitSent("Hello, I am Ana.", 1)
	reqs := h.requestsWith("Hello, I am Ana.")
	if !strings.Contains(string(reqs[0].Body), `"to":"+`+ana.id+`"`) || reqs[0].Path != "/"+waPhoneID+"/messages" {
		t.Errorf("reply sent as %s %s, want to +%s through /%s/messages", reqs[0].Path, reqs[0].Body, ana.id, waPhoneID)
	}
	// Another agent may not reply on it.
	h.wantError(http.MethodPost, path+"/messages", brunoTok, map[string]string{"text": "me too"}, http.StatusConflict, "not_yours")

	// A private note is never sent; it shows under notes only.
	var note queue.Entry
	h.apiJSON(http.MethodPost, path+"/notes", anaToken, map[string]string{"text": "VIP customer, be nice"}, http.StatusCreated, &note)
	h.settle()
	if n := len(h.requestsWith("VIP customer")); n != 0 {
		t.Errorf("the note reached the Graph API %d times", n)
	}
	var conv engine.ConversationView
	h.apiJSON(http.MethodGet, path, anaToken, nil, http.StatusOK, &conv)
	if len(conv.Notes) != 1 || conv.Notes[0].Text != "VIP customer, be nice" {
		t.Errorf("notes = %+v, want the note", conv.Notes)
	}
	for _, e := range conv.Transcript {
		if e.Text == "VIP customer, be nice" {
			t.Errorf("the note is in the transcript: %+v", e)
		}
		if e.ID == accepted.ID && (e.Author != routing.AuthorAgent || e.Delivery != "sent") {
			t.Errorf("reply entry = %+v, want an agent message with delivery sent", e)
		}
	}

	// 24 h after the user's last message the window is closed.
	h.setClock(insideHours.Add(24*time.Hour + time.Minute))
	h.wantError(http.MethodPost, path+"/messages", anaToken, map[string]string{"text": "Too late"}, http.StatusUnprocessableEntity, "window_closed")
	h.settle()
	if n := len(h.requestsWith("Too late")); n != 0 {
		t.Errorf("a reply outside the window reached the Graph API")
	}
}

func TestAPIConversationActions(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	join(t, h, ana, "wamid.X1", insideHours)
	join(t, h, beto, "wamid.X2", insideHours.Add(time.Minute))
	h.setClock(insideHours.Add(2 * time.Minute))
	path := "/api/v1/conversations/" + ana.conv()
	original := h.record(ana.conv()).WaitingSince

	// release: back in line at the original place, ahead of beto.
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", anaToken, nil, http.StatusOK, nil)
	var conv engine.ConversationView
	h.apiJSON(http.MethodPost, path+"/release", anaToken, nil, http.StatusOK, &conv)
	if conv.State != routing.StateWaiting {
		t.Errorf("release: state %s, want waiting", conv.State)
	}
	list := h.queueView(anaToken)
	if h.positionIn(list, ana.conv()) != 1 || h.positionIn(list, beto.conv()) != 2 {
		t.Errorf("after release: queue %+v, want ana 1st, beto 2nd", list)
	}
	if since := h.record(ana.conv()).WaitingSince; !since.Equal(original) {
		t.Errorf("after release waiting since %s, want the original %s", since, original)
	}
	h.wantError(http.MethodPost, path+"/close", anaToken, nil, http.StatusConflict, "not_assigned")

	// close, then reopen within the window.
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", anaToken, nil, http.StatusOK, &conv)
	if conv.ID != ana.conv() {
		t.Fatalf("claim took %s, want ana's conversation back first", conv.ID)
	}
	h.apiJSON(http.MethodPost, path+"/close", anaToken, nil, http.StatusOK, &conv)
	if conv.State != routing.StateEnded || h.position(ana.conv()) != 0 {
		t.Errorf("close: state %s, position %d; want ended, out of line", conv.State, h.position(ana.conv()))
	}
	h.waitSent("MSG closed", 1)
	h.wantError(http.MethodPost, path+"/reopen", brunoTok, nil, http.StatusConflict, "not_yours")
	h.apiJSON(http.MethodPost, path+"/reopen", anaToken, nil, http.StatusOK, &conv)
	if conv.State != routing.StateAssigned || conv.AssignedTo == nil || *conv.AssignedTo != "ana" {
		t.Errorf("reopen: %+v, want assigned to ana", conv)
	}

	// handback: the bot has the conversation again and answers.
	h.apiJSON(http.MethodPost, path+"/handback", anaToken, nil, http.StatusOK, &conv)
	if conv.State != routing.StateBot {
		t.Errorf("handback: state %s, want bot", conv.State)
	}
	h.waitSent("MSG handed_back", 1)
	h.postOK("whatsapp", ana.text("wamid.X3", "what are your hours?", insideHours.Add(3*time.Minute)))
	h.waitSent(msgHours, 1)
	h.settle()

	want := []string{"bot:transferred", "agent:released", "agent:closed", "agent:handed_back"}
	if got := h.resolutions(ana.conv()); !slices.Equal(got, want) {
		t.Errorf("sessions = %v, want %v", got, want)
	}
	// Reopening an ended conversation after the window is refused.
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim?channel=wa-main", anaToken, nil, http.StatusOK, &conv) // beto
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+beto.conv()+"/close", anaToken, nil, http.StatusOK, nil)
	h.setClock(insideHours.Add(25 * time.Hour))
	h.wantError(http.MethodPost, "/api/v1/conversations/"+beto.conv()+"/reopen", anaToken, nil, http.StatusUnprocessableEntity, "window_closed")
}

// sseEvent is one server-sent event.
type sseEvent struct{ id, event, data string }

// openSSE connects to GET /api/v1/events and returns its events; it
// returns once the stream said it is connected.
func openSSE(t *testing.T, h *harness, ctx context.Context, lastEventID string) <-chan sseEvent {
	t.Helper()
	return openSSEAs(t, h, ctx, lastEventID, anaToken)
}

// openSSEAs is openSSE with an agent's token.
func openSSEAs(t *testing.T, h *harness, ctx context.Context, lastEventID, token string) <-chan sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := h.apiClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /api/v1/events = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() || sc.Text() != ": connected" {
		t.Fatalf("stream starts with %q, want \": connected\"", sc.Text())
	}
	out := make(chan sseEvent, 16)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return out
}

// nextEvent returns the next event of a type, skipping others.
func nextEvent(t *testing.T, events <-chan sseEvent, typ string) sseEvent {
	t.Helper()
	return nextEventWithin(t, events, typ, 10*time.Second)
}

// nextEventWithin is nextEvent with a deadline of its own.
func nextEventWithin(t *testing.T, events <-chan sseEvent, typ string, within time.Duration) sseEvent {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended before a %s event", typ)
			}
			if ev.event == typ {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event within %v", typ, within)
		}
	}
}

func TestAPIEventsResume(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	events := openSSE(t, h, ctx, "")

	h.postOK("whatsapp", ana.text("wamid.S1", "agent", insideHours))
	first := nextEvent(t, events, string(routing.NoticeWaiting))
	var n queue.Notice
	if err := json.Unmarshal([]byte(first.data), &n); err != nil || n.Conversation != ana.conv() || n.Channel != "wa-main" {
		t.Fatalf("waiting event data %s (%v), want ana's conversation on wa-main", first.data, err)
	}
	if first.id == "" {
		t.Fatal("event without id")
	}
	cancel()

	// While disconnected: beto joins the line and ana is claimed.
	join(t, h, beto, "wamid.S2", insideHours.Add(time.Minute))
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", anaToken, nil, http.StatusOK, nil)

	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	resumed := openSSE(t, h, ctx2, first.id)
	var got []string
	for len(got) < 2 {
		select {
		case ev := <-resumed:
			var n queue.Notice
			_ = json.Unmarshal([]byte(ev.data), &n)
			got = append(got, ev.event+" "+n.Conversation)
		case <-time.After(10 * time.Second):
			t.Fatalf("resumed stream gave %v, want 2 events", got)
		}
	}
	want := []string{string(routing.NoticeWaiting) + " " + beto.conv(), string(routing.NoticeClaimed) + " " + ana.conv()}
	if !slices.Equal(got, want) {
		t.Errorf("after Last-Event-ID got %v, want %v (nothing missed, nothing repeated)", got, want)
	}
}
