package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"switchboard/bots"
	"switchboard/channels"
	"switchboard/gateway/engine"
	"switchboard/internal/testkit"
	"switchboard/queue"
	"switchboard/queue/redistest"
	"switchboard/routing"
)

// metricValue is the value of the counter or gauge name with exactly the
// given labels in a scrape, 0 when absent.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	for _, m := range f.Metric {
		match := len(m.Label) == len(labels)
		for _, lp := range m.Label {
			match = match && labels[lp.GetName()] == lp.GetValue()
		}
		if match && m.Counter != nil {
			return m.GetCounter().GetValue()
		}
		if match {
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// A second WhatsApp channel of another Meta app, added by a reload.
const (
	twoPhoneID = "106540352249999"
	twoSecret  = "two-secret-test-0123456789"
	twoChannel = `  - id: wa-two
    type: whatsapp
    phone_number_id: "106540352249999"
    app_secret: two-secret-test-0123456789
    verify_token: two-verify-test-0123456789
    access_token: two-access-test-0123456789
`
)

// forTwo readdresses a wa-main webhook body to wa-two.
func forTwo(body []byte) []byte {
	return bytes.ReplaceAll(body, []byte(waPhoneID), []byte(twoPhoneID))
}

func TestWebhookEntryAcceptedOnlyUnderItsChannelSecret(t *testing.T) {
	o := newOpsHarness(t, "", nil, nil)
	o.write(testConfig+twoChannel, "")
	if status, res := o.reload(); status != http.StatusOK {
		t.Fatalf("reload = %d %v", status, res)
	}
	victim := waUser{id: "5511911110001", name: "Victim"}
	twoConv := queue.ConversationID("wa-two", victim.id)

	// wa-two's event signed with wa-main's secret: the signature is valid
	// for the platform, so the request is answered 200, but the entry is
	// dropped.
	if got := o.post("whatsapp", forTwo(victim.text("wamid.forged1", "hours", insideHours)), waSecret); got != http.StatusOK {
		t.Fatalf("forged delivery = %d, want 200 (dropped, not retried)", got)
	}
	// And the other way round.
	if got := o.post("whatsapp", victim.text("wamid.forged2", "hours", insideHours), twoSecret); got != http.StatusOK {
		t.Fatalf("forged delivery = %d, want 200", got)
	}
	// One body, one entry per channel, signed by wa-main: only wa-main's is taken.
	mixed := victim.text("wamid.mixed-main", "agent", insideHours)
	mixed = bytes.Replace(mixed, []byte(`"entry":[`), append([]byte(`"entry":[`), entryOf(t, forTwo(victim.text("wamid.mixed-two", "hours", insideHours)))...), 1)
	if got := o.post("whatsapp", mixed, waSecret); got != http.StatusOK {
		t.Fatalf("mixed delivery = %d, want 200", got)
	}
	o.settle()
	if rec := o.record(twoConv); rec.Version != 0 {
		t.Errorf("wa-two conversation exists (state %s) after deliveries signed with another channel's secret", rec.State)
	}
	if n := len(o.transcript(twoConv)); n != 0 {
		t.Errorf("wa-two transcript has %d entries, want none", n)
	}
	if o.countSent(msgHours) != 0 {
		t.Errorf("the bot answered a forged event: sent %q", o.sentTexts())
	}
	if s := o.state(victim.conv()); s != routing.StateWaiting {
		t.Errorf("wa-main's own entry: state %s, want waiting", s)
	}
	fams := scrape(t, o.base+"/metrics")
	if v := metricValue(fams, "switchboard_webhook_entries_dropped_total", map[string]string{"platform": "whatsapp", "reason": "channel_secret"}); v != 3 {
		t.Errorf("dropped entries = %v, want 3", v)
	}

	// Signed with its own secret, wa-two's event goes through.
	o.postOK("whatsapp", victim.text("wamid.ok-main", "hello", insideHours))
	if got := o.post("whatsapp", forTwo(victim.text("wamid.ok-two", "hours", insideHours)), twoSecret); got != http.StatusOK {
		t.Fatalf("genuine delivery = %d, want 200", got)
	}
	o.waitSent(msgHours, 1)
	if rec := o.record(twoConv); rec.Version == 0 {
		t.Errorf("wa-two's genuine event was not processed")
	}
}

// entryOf returns the first element of a webhook body's entry array,
// followed by a comma, to splice into another body.
func entryOf(t *testing.T, body []byte) []byte {
	t.Helper()
	var b struct {
		Entry []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil || len(b.Entry) != 1 {
		t.Fatalf("no single entry in %s (%v)", body, err)
	}
	return append(slices.Clone([]byte(b.Entry[0])), ',')
}

func TestQueueListingSkipsLineEntryNotWaiting(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	waiting := waUser{id: "5511922220001", name: "Waits"}
	chatting := waUser{id: "5511922220002", name: "Chats"}
	h.postOK("whatsapp", waiting.text("wamid.q1", "agent", insideHours))
	h.postOK("whatsapp", chatting.text("wamid.q2", "hello", insideHours))
	h.waitSent(msgTransferred, 1)
	h.waitSent(msgGreeting, 1)
	h.settle()

	// A line entry whose conversation is with the bot (a stale entry).
	rdb := h.rawRedis()
	defer rdb.Close()
	if err := rdb.ZAdd(context.Background(), "t:{wa-main}:line", redis.Z{Score: float64(insideHours.Add(-time.Hour).UnixMilli()), Member: chatting.conv()}).Err(); err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{anaToken, brunoTok} {
		list := h.queueView(token)
		if len(list) != 1 || list[0].ID != waiting.conv() || list[0].Position != 2 || list[0].WaitingSince == nil {
			t.Errorf("queue for %s = %+v, want only the waiting conversation, at position 2", token, list)
		}
	}
	// Claiming drops the stale entry and takes the waiting conversation.
	var got engine.ConversationView
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", anaToken, nil, http.StatusOK, &got)
	if got.ID != waiting.conv() {
		t.Errorf("claimed %s, want %s", got.ID, waiting.conv())
	}
}

// panickyBot panics on one text and answers every other message "ok".
type panickyBot struct{ on string }

func (b panickyBot) Reply(_ context.Context, req bots.Request) (routing.BotReply, error) {
	if req.Message.Text == b.on {
		panic("bot exploded on a poison message")
	}
	return routing.BotReply{Messages: []routing.BotMessage{{Text: "ok: " + req.Message.Text}}}, nil
}

func TestPoisonEventGoesToDeadLetters(t *testing.T) {
	h := newHarness(t, harnessOptions{bot: panickyBot{on: "poison"}})

	// More poison conversations than workers (8): were a worker to die with
	// its panic, the process would crash; were it to stop, the next
	// conversations would not be answered.
	var poisoned []string
	for i := range 10 {
		u := waUser{id: fmt.Sprintf("55119333300%02d", i), name: "Poison"}
		h.postOK("whatsapp", u.text(fmt.Sprintf("wamid.p%d", i), "poison", insideHours))
		poisoned = append(poisoned, u.conv())
	}
	fine := waUser{id: "5511933339999", name: "Fine"}
	h.postOK("whatsapp", fine.text("wamid.fine1", "first", insideHours))
	h.postOK("whatsapp", fine.text("wamid.fine2", "second", insideHours.Add(time.Second)))
	h.waitSent("ok: first", 1)
	h.waitSent("ok: second", 1)
	h.settle()

	// A poisoned conversation goes on with its next event.
	h.postOK("whatsapp", waUser{id: "5511933330000", name: "Poison"}.text("wamid.p0-next", "better now", insideHours.Add(time.Second)))
	h.waitSent("ok: better now", 1)

	var stats struct {
		Channels []engine.ChannelStats `json:"channels"`
	}
	h.apiJSON(http.MethodGet, "/api/v1/admin/stats", adminToken, nil, http.StatusOK, &stats)
	var wa engine.ChannelStats
	for _, c := range stats.Channels {
		if c.Channel == "wa-main" {
			wa = c
		}
	}
	if wa.DeadLetters != 10 || len(wa.RecentDeadLetters) != 5 {
		t.Fatalf("wa-main dead letters = %d, recent %d; want 10 and 5", wa.DeadLetters, len(wa.RecentDeadLetters))
	}
	for _, d := range wa.RecentDeadLetters {
		if !slices.Contains(poisoned, d.Conversation) || !strings.Contains(d.Reason, "poison message") || !d.At.Equal(insideHours) || d.EventHash == "" {
			t.Errorf("dead letter %+v: want a poisoned conversation, the panic as reason, the clock's time and the event's hash", d)
		}
		if strings.Contains(d.EventHash, "wamid") {
			t.Errorf("dead letter keeps the raw event id %q", d.EventHash)
		}
	}
	fams := scrape(t, h.base+"/metrics")
	if v := metricValue(fams, "switchboard_dead_letters_total", map[string]string{"channel": "wa-main"}); v != 10 {
		t.Errorf("switchboard_dead_letters_total = %v, want 10", v)
	}

	// Erasing a user removes their conversation's dead letters.
	h.apiJSON(http.MethodDelete, "/api/v1/admin/contacts/wa-main/5511933330003", adminToken, nil, http.StatusOK, nil)
	n, _, err := h.app.store.DeadLetters(context.Background(), "wa-main", 0)
	if err != nil || n != 9 {
		t.Errorf("dead letters after an erasure = %d, %v; want 9", n, err)
	}
}

func TestLateEventsRecordedNotRouted(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	u := waUser{id: "5511944440001", name: "Late"}

	// A message stamped ten days ago: recorded, never answered or routed.
	old := insideHours.Add(-10 * 24 * time.Hour)
	h.postOK("whatsapp", u.text("wamid.old", "agent", old))
	h.settle()
	if n := h.countEntries(u.conv(), routing.AuthorUser, "agent"); n != 1 {
		t.Errorf("the late message is in the transcript %d times, want 1", n)
	}
	if rec := h.record(u.conv()); rec.Version != 0 {
		t.Errorf("a late message changed the conversation: state %s", rec.State)
	}
	if sent := h.sentTexts(); len(sent) != 0 {
		t.Errorf("sent %q for a late message, want nothing", sent)
	}

	// A genuine delivery, then its capture replayed after the dedupe window
	// (the dedupe markers expired): the replay is recorded, not routed.
	body := u.text("wamid.fresh", "agent", insideHours)
	h.postOK("whatsapp", body)
	h.waitSent(msgTransferred, 1)
	var claimed engine.ConversationView
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", anaToken, nil, http.StatusOK, &claimed)
	h.apiJSON(http.MethodPost, "/api/v1/conversations/"+u.conv()+"/close", anaToken, nil, http.StatusOK, nil)
	h.settle()
	later := insideHours.Add(h.app.cfg.Engine.DedupeTTL + time.Hour)
	h.setClock(later)
	expireSeen(t, h)
	h.postOK("whatsapp", body)
	h.settle()
	if n := h.countSent(msgTransferred); n != 1 {
		t.Errorf("transferred sent %d times, want 1: the replay was routed", n)
	}
	if s := h.state(u.conv()); s != routing.StateEnded {
		t.Errorf("state after the replay = %s, want ended", s)
	}
	if n := h.countEntries(u.conv(), routing.AuthorUser, "agent"); n != 2 {
		t.Errorf("the user's \"agent\" is in the transcript %d times, want 2 (the old one, the genuine one; the replay not twice)", n)
	}
	fams := scrape(t, h.base+"/metrics")
	if v := metricValue(fams, "switchboard_late_events_total", map[string]string{"channel": "wa-main"}); v != 2 {
		t.Errorf("switchboard_late_events_total = %v, want 2", v)
	}

	// A message within the window is routed as usual.
	h.postOK("whatsapp", u.text("wamid.now", "hello", later.Add(-time.Minute)))
	h.waitSent(msgGreeting, 1)
}

// expireSeen deletes the dedupe markers, as their expiry would.
func expireSeen(t *testing.T, h *harness) {
	t.Helper()
	rdb := h.rawRedis()
	defer rdb.Close()
	ctx := context.Background()
	keys := redistest.Keys(t, rdb, "t:{wa-main}:seen:*")
	if len(keys) == 0 {
		t.Fatalf("dedupe markers: none")
	}
	if err := rdb.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestReloadReleasesRemovedAgentsConversations(t *testing.T) {
	o := newOpsHarness(t, "", nil, nil)
	first := waUser{id: "5511955550001", name: "First"}
	second := waUser{id: "5511955550002", name: "Second"}
	o.postOK("whatsapp", first.text("wamid.rel1", "agent", insideHours))
	o.waitSent(msgTransferred, 1)
	o.setClock(insideHours.Add(time.Minute))
	o.postOK("whatsapp", second.text("wamid.rel2", "agent", insideHours.Add(time.Minute)))
	o.waitSent(msgTransferred, 2)
	var got engine.ConversationView
	o.apiJSON(http.MethodPost, "/api/v1/queue/claim", brunoTok, nil, http.StatusOK, &got)
	if got.ID != first.conv() {
		t.Fatalf("bruno claimed %s, want %s", got.ID, first.conv())
	}

	// bruno is replaced by carla.
	replaced := strings.Replace(testConfig, "  - id: bruno\n    name: Bruno\n    token: "+brunoTok+"\n", "  - id: carla\n    name: Carla\n    token: carla-token-test-0123456789\n", 1)
	o.write(replaced, "")
	status, res := o.reload()
	if status != http.StatusOK || fmt.Sprint(res["released"]) != "["+first.conv()+"]" {
		t.Fatalf("reload = %d %v, want 200 with released [%s]", status, res, first.conv())
	}
	// Back at its place, ahead of the one that came after it.
	if p := o.position(first.conv()); p != 1 {
		t.Errorf("released conversation at position %d, want 1", p)
	}
	o.apiJSON(http.MethodPost, "/api/v1/queue/claim", "carla-token-test-0123456789", nil, http.StatusOK, &got)
	if got.ID != first.conv() || got.AssignedTo == nil || *got.AssignedTo != "carla" {
		t.Errorf("carla claimed %+v, want %s", got, first.conv())
	}
	if r := o.resolutions(first.conv()); !slices.Contains(r, "agent:released") {
		t.Errorf("sessions = %v, want bruno's agent session ended as released", r)
	}

	// A reload that changes no agent releases nothing.
	if status, res := o.reload(); status != http.StatusOK || fmt.Sprint(res["released"]) != "[]" {
		t.Errorf("second reload = %d %v, want released []", status, res)
	}
}

func TestAdminReleasesAnyConversation(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	u := waUser{id: "5511966660001", name: "Held"}
	h.postOK("whatsapp", u.text("wamid.adm1", "agent", insideHours))
	h.waitSent(msgTransferred, 1)
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", anaToken, nil, http.StatusOK, nil)
	path := "/api/v1/admin/conversations/" + u.conv() + "/release"

	h.wantError(http.MethodPost, path, "", nil, http.StatusUnauthorized, "unauthorized")
	h.wantError(http.MethodPost, path, brunoTok, nil, http.StatusUnauthorized, "unauthorized")
	// An agent cannot release another's conversation...
	h.wantError(http.MethodPost, "/api/v1/conversations/"+u.conv()+"/release", brunoTok, nil, http.StatusConflict, "not_yours")
	// ...the admin can.
	var got engine.ConversationView
	h.apiJSON(http.MethodPost, path, adminToken, nil, http.StatusOK, &got)
	if got.State != routing.StateWaiting || got.Position != 1 || got.WaitingSince == nil || !got.WaitingSince.Equal(insideHours) || got.AssignedTo != nil {
		t.Errorf("released = %+v, want waiting at position 1 since %s", got, insideHours)
	}
	h.wantError(http.MethodPost, path, adminToken, nil, http.StatusConflict, "not_assigned")
	h.wantError(http.MethodPost, "/api/v1/admin/conversations/"+queue.ConversationID("wa-main", "nobody")+"/release", adminToken, nil, http.StatusNotFound, "not_found")
	h.wantError(http.MethodPost, "/api/v1/admin/conversations/not-an-id/release", adminToken, nil, http.StatusNotFound, "not_found")
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", brunoTok, nil, http.StatusOK, &got)
	if got.ID != u.conv() {
		t.Errorf("bruno claimed %s, want the released conversation", got.ID)
	}
}

// A write Redis refuses (a script error, not an outage) is a 500: a 503
// would have Meta retry for days something that fails the same way each
// time.
func TestWebhookStorageErrorIs500(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	u := waUser{id: "5511966660001", name: "Broken"}
	rdb := h.rawRedis()
	defer rdb.Close()
	// The inbox key holds a string: the accept script fails with WRONGTYPE.
	if err := rdb.Set(context.Background(), "t:{wa-main}:inbox:"+u.conv(), "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := h.post("whatsapp", u.text("wamid.broken", "hello", insideHours), waSecret); got != http.StatusInternalServerError {
		t.Errorf("webhook whose write Redis refuses = %d, want 500", got)
	}
	fams := scrape(t, h.base+"/metrics")
	if v := metricValue(fams, "switchboard_webhooks_rejected_total", map[string]string{"platform": "whatsapp", "reason": "storage_error"}); v != 1 {
		t.Errorf("rejected storage_error = %v, want 1", v)
	}
}

// gatedBot answers once its gate is open.
type gatedBot struct{ gate chan struct{} }

func (b gatedBot) Reply(ctx context.Context, req bots.Request) (routing.BotReply, error) {
	select {
	case <-b.gate:
	case <-ctx.Done():
		return routing.BotReply{}, ctx.Err()
	}
	return routing.BotReply{Messages: []routing.BotMessage{{Text: "ok: " + req.Message.Text}}}, nil
}

// TestBacklogRefusesWebhooks: a gateway that cannot keep up (its bot
// stalls) answers webhooks 503 with Retry-After once more conversations
// than engine.max_backlog wait, naming the limit, rather than filling
// Redis; Meta delivers them again, and once the backlog drains they are
// accepted and every accepted message is answered once.
func TestBacklogRefusesWebhooks(t *testing.T) {
	bot := gatedBot{gate: make(chan struct{})}
	h := newHarness(t, harnessOptions{bot: bot, yaml: func(yaml string, _ map[string]string) string {
		return strings.Replace(yaml, "engine:\n", "engine:\n  max_backlog: 100\n", 1)
	}})
	const users = 110
	for i := range users {
		u := waUser{id: fmt.Sprintf("55119444400%03d", i), name: "Backlog"}
		h.postOK("whatsapp", u.text(fmt.Sprintf("wamid.BL%d", i), "hello", insideHours))
	}
	late := waUser{id: "5511944449999", name: "Late"}
	body := late.text("wamid.BLLATE", "hello", insideHours)
	req := func() (int, string, string) {
		r, err := testkit.Sign(channels.WhatsApp, body, waSecret).Request(context.Background(), h.base)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), string(data)
	}
	var status int
	var retry, answer string
	h.eventually("webhooks refused over the backlog", func() bool {
		status, retry, answer = req()
		return status == http.StatusServiceUnavailable
	})
	if retry == "" || !strings.Contains(answer, `"code":"backlog"`) || !strings.Contains(answer, "engine.max_backlog (100)") {
		t.Errorf("over the backlog: %d, Retry-After %q, %s; want 503 naming engine.max_backlog", status, retry, answer)
	}
	metrics := scrape(t, h.base+"/metrics")
	if n := metricValue(metrics, "switchboard_backlog_conversations", nil); n <= 100 {
		t.Errorf("switchboard_backlog_conversations = %v while webhooks are refused, want above 100", n)
	}
	if n := metricValue(metrics, "switchboard_webhooks_rejected_total", map[string]string{"platform": "whatsapp", "reason": "backlog"}); n < 1 {
		t.Errorf("webhooks rejected for the backlog counted %v times, want at least once", n)
	}
	close(bot.gate)
	h.eventually("the late webhook accepted once the backlog drains", func() bool {
		status, _, _ = req()
		return status == http.StatusOK
	})
	h.settle()
	if n := h.countSent("ok: hello"); n != users+1 {
		t.Errorf("%d answers sent, want %d: one per accepted message", n, users+1)
	}
}
