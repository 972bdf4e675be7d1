package gateway

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/gateway/engine"
	"switchboard/internal/testkit"
	"switchboard/queue"
	"switchboard/routing"
)

// The agents' inbox through the HTTP API (every exchange checked against
// openapi.yaml by the harness's client).

// list is one page of GET /api/v1/conversations?query.
func (h *harness) list(token, query string) engine.ConversationPage {
	h.t.Helper()
	var page engine.ConversationPage
	h.apiJSON(http.MethodGet, "/api/v1/conversations?"+query, token, nil, http.StatusOK, &page)
	return page
}

func convIDs(page engine.ConversationPage) []string {
	out := []string{}
	for _, c := range page.Conversations {
		out = append(out, c.ID)
	}
	return out
}

// inboxScene: beto chats with the bot on wa-main, ana waits on wa-main,
// carla waits on fb-page, a minute apart, in that order.
func inboxScene(t *testing.T, h *harness) {
	t.Helper()
	h.setClock(insideHours)
	h.postOK("whatsapp", beto.text("wamid.IN1", "hours", insideHours))
	h.waitState(beto.conv(), routing.StateBot)
	join(t, h, ana, "wamid.IN2", insideHours.Add(time.Minute))
	h.setClock(insideHours.Add(2 * time.Minute))
	h.postOK("messenger", carla.message("m_IN3", "agent", "", insideHours.Add(2*time.Minute)))
	h.waitState(carla.conv(), routing.StateWaiting)
	h.settle()
}

func TestInboxList(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	inboxScene(t, h)

	all := h.list(anaToken, "")
	if got, want := convIDs(all), []string{carla.conv(), ana.conv(), beto.conv()}; !slices.Equal(got, want) {
		t.Fatalf("ana's listing = %v, want %v (newest activity first)", got, want)
	}
	first := all.Conversations[1]
	if first.State != routing.StateWaiting || first.Position != 1 || first.LastActivity == nil || first.LastMessage == nil ||
		first.LastMessage.Text != "agent" || first.Labels == nil || first.Missed || first.User.Name != ana.name {
		t.Errorf("ana's conversation = %+v", first)
	}
	if all.NextCursor != "" {
		t.Errorf("a single page has next_cursor %q", all.NextCursor)
	}
	// bruno serves wa-main only.
	if got, want := convIDs(h.list(brunoTok, "")), []string{ana.conv(), beto.conv()}; !slices.Equal(got, want) {
		t.Errorf("bruno's listing = %v, want %v", got, want)
	}
	for query, want := range map[string][]string{
		"state=waiting":                  {carla.conv(), ana.conv()},
		"state=bot":                      {beto.conv()},
		"channel=fb-page":                {carla.conv()},
		"state=waiting&channel=wa-main":  {ana.conv()},
		"q=beto":                         {beto.conv()},
		"q=" + url.QueryEscape("HOURS"):  {beto.conv()},
		"q=5511987654321":                {ana.conv()},
		"assigned_to=me":                 {},
		"state=ended":                    {},
		"unread=true":                    {},
		"unread=false&channel=wa-main":   {ana.conv(), beto.conv()},
		"state=assigned&assigned_to=ana": {},
	} {
		if got := convIDs(h.list(anaToken, query)); !slices.Equal(got, want) {
			t.Errorf("?%s = %v, want %v", query, got, want)
		}
	}

	// Pages of one, while a new conversation arrives between pages: the
	// cursor goes on where it was.
	p1 := h.list(anaToken, "limit=1")
	dora := waUser{"5511900000009", "Dora"}
	h.setClock(insideHours.Add(3 * time.Minute))
	h.postOK("whatsapp", dora.text("wamid.IN4", "hello", insideHours.Add(3*time.Minute)))
	h.waitState(dora.conv(), routing.StateBot)
	p2 := h.list(anaToken, "limit=1&cursor="+p1.NextCursor)
	p3 := h.list(anaToken, "limit=1&cursor="+p2.NextCursor)
	if got := [][]string{convIDs(p1), convIDs(p2), convIDs(p3)}; fmt.Sprint(got) != fmt.Sprint([][]string{{carla.conv()}, {ana.conv()}, {beto.conv()}}) || p3.NextCursor != "" {
		t.Errorf("pages = %v (last cursor %q), want carla, ana, beto and no cursor", got, p3.NextCursor)
	}
	if got := convIDs(h.list(anaToken, "limit=1")); !slices.Equal(got, []string{dora.conv()}) {
		t.Errorf("first page after dora wrote = %v, want dora", got)
	}

	// The former listing of one's assigned conversations.
	var claimed engine.ConversationView
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim?channel=wa-main", brunoTok, nil, http.StatusOK, &claimed)
	if got := convIDs(h.list(brunoTok, "status=assigned")); !slices.Equal(got, []string{ana.conv()}) {
		t.Errorf("bruno's ?status=assigned = %v, want ana", got)
	}
	if got := convIDs(h.list(anaToken, "assigned_to=bruno")); !slices.Equal(got, []string{ana.conv()}) {
		t.Errorf("?assigned_to=bruno = %v, want ana", got)
	}

	h.wantError(http.MethodGet, "/api/v1/conversations?state=nope", anaToken, nil, http.StatusBadRequest, "bad_request", "bot, asking, waiting, assigned, ended")
	h.wantError(http.MethodGet, "/api/v1/conversations?cursor=nope", anaToken, nil, http.StatusBadRequest, "bad_request", "cursor")
	h.wantError(http.MethodGet, "/api/v1/conversations?label=gold", anaToken, nil, http.StatusBadRequest, "bad_request", "billing, sales, vip")
	h.wantError(http.MethodGet, "/api/v1/conversations?assigned_to=zed", anaToken, nil, http.StatusBadRequest, "bad_request", "assigned_to")
	h.wantError(http.MethodGet, "/api/v1/conversations?channel=fb-page", brunoTok, nil, http.StatusForbidden, "forbidden")
	for _, q := range []string{"limit=0", "limit=201", "limit=x"} {
		h.wantError(http.MethodGet, "/api/v1/conversations?"+q, anaToken, nil, http.StatusBadRequest, "bad_request", "limit")
	}
	h.wantError(http.MethodGet, "/api/v1/conversations?unread=maybe", anaToken, nil, http.StatusBadRequest, "bad_request")
	h.wantError(http.MethodGet, "/api/v1/conversations?status=waiting", anaToken, nil, http.StatusBadRequest, "bad_request")
}

func TestInboxUnreadReadAndTyping(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	join(t, h, ana, "wamid.UR1", insideHours)
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", brunoTok, nil, http.StatusOK, nil)
	conv := func(token string) engine.ConversationView {
		var v engine.ConversationView
		h.apiJSON(http.MethodGet, "/api/v1/conversations/"+ana.conv(), token, nil, http.StatusOK, &v)
		return v
	}
	if u := conv(brunoTok).Unread; u != 0 {
		t.Errorf("unread right after the claim = %d, want 0 (counted from the assignment)", u)
	}
	for i, id := range []string{"wamid.UR2", "wamid.UR3"} {
		at := insideHours.Add(time.Duration(i+1) * time.Minute)
		h.setClock(at)
		h.postOK("whatsapp", ana.text(id, "are you there?", at))
	}
	h.eventually("bruno has 2 unread", func() bool { return conv(brunoTok).Unread == 2 })
	if got := convIDs(h.list(brunoTok, "unread=true")); !slices.Equal(got, []string{ana.conv()}) {
		t.Errorf("bruno's unread listing = %v, want ana", got)
	}
	if got := convIDs(h.list(anaToken, "unread=true")); len(got) != 0 {
		t.Errorf("ana (never held it, never read it) has unread %v", got)
	}

	h.settle()
	before := len(h.graph.Requests())
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+ana.conv()+"/read", brunoTok, nil, http.StatusNoContent, nil)
	if u := conv(brunoTok).Unread; u != 0 {
		t.Errorf("unread after read = %d, want 0", u)
	}
	if got := convIDs(h.list(brunoTok, "unread=true")); len(got) != 0 {
		t.Errorf("unread listing after read = %v, want empty", got)
	}
	receipts := h.requestsWith(`"status":"read"`)
	if len(h.graph.Requests()) != before+1 || len(receipts) != 1 || !bytes.Contains(receipts[0].Body, []byte(`"message_id":"wamid.UR3"`)) {
		t.Errorf("read receipts sent = %d (of %d new requests), want one for wamid.UR3", len(receipts), len(h.graph.Requests())-before)
	}

	// Typing: at most one per 5 s per conversation.
	typing := func() int { return len(h.requestsWith(`"typing_indicator"`)) }
	for range 3 {
		h.apiJSON(http.MethodPost, "/api/v1/conversations/"+ana.conv()+"/typing", brunoTok, nil, http.StatusNoContent, nil)
	}
	if n := typing(); n != 1 {
		t.Errorf("typing indicators after 3 calls within 5s = %d, want 1", n)
	}
	h.setClock(insideHours.Add(2*time.Minute + 5*time.Second))
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+ana.conv()+"/typing", brunoTok, nil, http.StatusNoContent, nil)
	if n := typing(); n != 2 {
		t.Errorf("typing indicators 5s later = %d, want 2", n)
	}
	// A failed receipt is the platform's business: still 204.
	h.graph.Respond(func(int, testkit.Send) (int, string) {
		return http.StatusInternalServerError, `{"error":{"message":"boom","code":2}}`
	})
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+ana.conv()+"/read", brunoTok, nil, http.StatusNoContent, nil)

	// A conversation without a user message (stored before the gateway
	// kept the message id) has nothing to mark.
	ctx := context.Background()
	rec := h.record(beto.conv())
	rec.Platform, rec.User, rec.State = channels.WhatsApp, channels.User{ID: beto.id}, routing.StateBot
	if err := h.app.store.Commit(ctx, &queue.Commit{Record: rec}); err != nil {
		t.Fatal(err)
	}
	h.wantError(http.MethodPost, "/api/v1/conversations/"+beto.conv()+"/read", brunoTok, nil, http.StatusUnprocessableEntity, "no_user_message")
	h.wantError(http.MethodPost, "/api/v1/conversations/"+beto.conv()+"/typing", brunoTok, nil, http.StatusUnprocessableEntity, "no_user_message")
	unknown := queue.ConversationID("wa-main", "nobody")
	h.wantError(http.MethodPost, "/api/v1/conversations/"+unknown+"/read", brunoTok, nil, http.StatusNotFound, "not_found")
	h.wantError(http.MethodPost, "/api/v1/conversations/"+carla.conv()+"/typing", brunoTok, nil, http.StatusForbidden, "forbidden")
}

func TestInboxLabels(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	inboxScene(t, h)
	path := "/api/v1/conversations/" + ana.conv() + "/labels"

	var v engine.ConversationView
	h.apiJSON(http.MethodPut, path, anaToken, map[string]any{"labels": []string{"vip", "billing", "vip"}}, http.StatusOK, &v)
	if !slices.Equal(v.Labels, []string{"vip", "billing"}) || v.ID != ana.conv() || v.Position != 1 {
		t.Errorf("after PUT labels: labels %v, position %d; want [vip billing] at 1", v.Labels, v.Position)
	}
	h.apiJSON(http.MethodPut, "/api/v1/conversations/"+carla.conv()+"/labels", anaToken, map[string]any{"labels": []string{"vip"}}, http.StatusOK, nil)
	for query, want := range map[string][]string{
		"label=vip":                 {carla.conv(), ana.conv()},
		"label=billing":             {ana.conv()},
		"label=sales":               {},
		"label=vip&channel=wa-main": {ana.conv()},
		"q=billing":                 {ana.conv()},
	} {
		if got := convIDs(h.list(anaToken, query)); !slices.Equal(got, want) {
			t.Errorf("?%s = %v, want %v", query, got, want)
		}
	}
	// Labels stay through routing decisions.
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim?channel=wa-main", brunoTok, nil, http.StatusOK, nil)
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+ana.conv()+"/close", brunoTok, nil, http.StatusOK, nil)
	if got := h.record(ana.conv()).Labels; !slices.Equal(got, []string{"vip", "billing"}) {
		t.Errorf("labels after claim and close = %v", got)
	}

	h.wantError(http.MethodPut, path, anaToken, map[string]any{"labels": []string{"gold"}}, http.StatusBadRequest, "bad_request", "gold", "billing, sales, vip")
	h.wantError(http.MethodPut, path, anaToken, map[string]any{"tags": []string{"vip"}}, http.StatusBadRequest, "bad_request")
	h.wantError(http.MethodPut, "/api/v1/conversations/"+carla.conv()+"/labels", brunoTok, map[string]any{"labels": []string{}}, http.StatusForbidden, "forbidden")
	h.wantError(http.MethodPut, "/api/v1/conversations/"+queue.ConversationID("wa-main", "nobody")+"/labels", anaToken, map[string]any{"labels": []string{}}, http.StatusNotFound, "not_found")

	// Per-label counts in the stats, and the sessions report by label.
	var stats struct {
		Channels []struct {
			Channel string
			Labels  map[string]int64
		}
	}
	h.apiJSON(http.MethodGet, "/api/v1/admin/stats", "test-admin-token-0123456789", nil, http.StatusOK, &stats)
	got := map[string]map[string]int64{}
	for _, c := range stats.Channels {
		got[c.Channel] = c.Labels
	}
	if fmt.Sprint(got["wa-main"]) != "map[billing:1 sales:0 vip:1]" || fmt.Sprint(got["fb-page"]) != "map[billing:0 sales:0 vip:1]" {
		t.Errorf("stats labels = %v", got)
	}
	var report struct{ Sessions []queue.SessionRecord }
	h.apiJSON(http.MethodGet, "/api/v1/admin/reports/sessions?label=billing", "test-admin-token-0123456789", nil, http.StatusOK, &report)
	if len(report.Sessions) == 0 {
		t.Fatal("no sessions of billing conversations")
	}
	for _, s := range report.Sessions {
		if s.Conversation != ana.conv() {
			t.Errorf("billing report lists a session of %s", s.Conversation)
		}
	}
	h.apiJSON(http.MethodGet, "/api/v1/admin/reports/sessions?label=sales", "test-admin-token-0123456789", nil, http.StatusOK, &report)
	if len(report.Sessions) != 0 {
		t.Errorf("sales report = %d sessions, want none", len(report.Sessions))
	}
	h.wantError(http.MethodGet, "/api/v1/admin/reports/sessions?label=gold", "test-admin-token-0123456789", nil, http.StatusBadRequest, "bad_request", "billing, sales, vip")
}

func TestInboxCannedAndColleagues(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	var canned struct {
		CannedResponses []engine.CannedResponse `json:"canned_responses"`
	}
	h.apiJSON(http.MethodGet, "/api/v1/canned", anaToken, nil, http.StatusOK, &canned)
	if fmt.Sprint(canned.CannedResponses) != "[{hello Hi {user.name}, {agent} here.} {dm Write to us on Instagram.}]" {
		t.Errorf("ana's canned responses = %v", canned.CannedResponses)
	}
	h.apiJSON(http.MethodGet, "/api/v1/canned", brunoTok, nil, http.StatusOK, &canned)
	if len(canned.CannedResponses) != 1 || canned.CannedResponses[0].Shortcut != "hello" {
		t.Errorf("bruno's canned responses = %v, want hello only (dm is ig-shop's)", canned.CannedResponses)
	}

	join(t, h, ana, "wamid.CO1", insideHours)
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", brunoTok, nil, http.StatusOK, nil)
	h.apiJSON(http.MethodPut, "/api/v1/agents/me/presence", brunoTok, map[string]string{"status": "online"}, http.StatusOK, nil)
	var agents struct{ Agents []engine.Colleague }
	h.apiJSON(http.MethodGet, "/api/v1/agents", brunoTok, nil, http.StatusOK, &agents)
	want := `[{ana Ana agent offline 0 [wa-main fb-page ig-shop]} {bruno Bruno agent online 1 [wa-main]}]`
	if got := fmt.Sprint(agents.Agents); got != want {
		t.Errorf("bruno's colleagues = %s, want %s", got, want)
	}
}

func TestInboxTranscriptPages(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	join(t, h, ana, "wamid.TP1", insideHours)
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", brunoTok, nil, http.StatusOK, nil)
	for i := range 4 {
		at := insideHours.Add(time.Duration(i+1) * time.Minute)
		h.setClock(at)
		h.postOK("whatsapp", ana.text(fmt.Sprintf("wamid.TP%d", i+2), fmt.Sprintf("line %d", i), at))
	}
	h.settle()
	h.eventually("all lines recorded", func() bool { return h.countEntries(ana.conv(), routing.AuthorUser, "line 3") == 1 })
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+ana.conv()+"/notes", brunoTok, map[string]string{"text": "a note"}, http.StatusCreated, nil)
	full := h.transcript(ana.conv())

	var seen []string
	before, pages := "", 0
	for {
		var v engine.ConversationView
		h.apiJSON(http.MethodGet, "/api/v1/conversations/"+ana.conv()+"?limit=3"+before, brunoTok, nil, http.StatusOK, &v)
		pages++
		var page []queue.Entry
		page = append(page, v.Transcript...)
		page = append(page, v.Notes...)
		if len(page) > 3 {
			t.Fatalf("page of %d entries, limit 3", len(page))
		}
		slices.SortStableFunc(page, func(a, b queue.Entry) int { return a.At.Compare(b.At) })
		var p []string
		for _, e := range page {
			p = append(p, e.ID)
		}
		seen = append(p, seen...)
		if v.NextBefore == "" {
			break
		}
		before = "&before=" + url.QueryEscape(v.NextBefore)
	}
	var want []string
	for _, e := range full {
		want = append(want, e.ID)
	}
	if want := (len(full) + 2) / 3; pages != want {
		t.Errorf("%d pages of 3 for %d entries, want %d", pages, len(full), want)
	}
	slices.Sort(seen)
	slices.Sort(want)
	if !slices.Equal(seen, want) {
		t.Errorf("the pages hold %v, the transcript %v", seen, want)
	}
	h.wantError(http.MethodGet, "/api/v1/conversations/"+ana.conv()+"?before=gw_nope", brunoTok, nil, http.StatusBadRequest, "bad_request", "before")
	h.wantError(http.MethodGet, "/api/v1/conversations/"+ana.conv()+"?limit=501", brunoTok, nil, http.StatusBadRequest, "bad_request", "limit")
}

func TestInboxRetention(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	join(t, h, ana, "wamid.RT1", insideHours)
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", brunoTok, nil, http.StatusOK, nil)
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+ana.conv()+"/close", brunoTok, nil, http.StatusOK, nil)
	h.settle()
	if got := convIDs(h.list(brunoTok, "state=ended")); !slices.Equal(got, []string{ana.conv()}) {
		t.Fatalf("ended listing = %v, want ana", got)
	}
	// The default retention is 30 days.
	h.redis.FastForward(29 * 24 * time.Hour)
	h.apiJSON(http.MethodGet, "/api/v1/conversations/"+ana.conv(), brunoTok, nil, http.StatusOK, nil)
	h.redis.FastForward(2 * 24 * time.Hour)
	h.wantError(http.MethodGet, "/api/v1/conversations/"+ana.conv(), brunoTok, nil, http.StatusNotFound, "not_found")
	if got := convIDs(h.list(brunoTok, "state=ended")); len(got) != 0 {
		t.Errorf("ended listing after the retention = %v, want empty", got)
	}
	if got := convIDs(h.list(brunoTok, "")); len(got) != 0 {
		t.Errorf("listing after the retention = %v, want empty (the expired member dropped)", got)
	}
	n, err := h.app.store.IndexSize(context.Background(), queue.Index{Channel: "wa-main"})
	if err != nil || n != 0 {
		t.Errorf("index of all after listing = %d members, %v; want 0", n, err)
	}
}
