package gateway

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/bots"
	"switchboard/channels"
	"switchboard/config"
	"switchboard/gateway/engine"
	"switchboard/gateway/httpapi"
	"switchboard/internal/testkit"
	"switchboard/queue"
	"switchboard/queue/redistest"
	"switchboard/routing"
)

// The test configuration: three channels, all with business hours in one
// fixed zone (UTC-3, no DST) except ig-shop, which is always open.
//
//	wa-main  whatsapp   mon-fri 09:00-18:00, after_hours ask, direct false
//	fb-page  messenger  mon-fri 09:00-18:00, after_hours ask, direct true
//	ig-shop  instagram  no hours
//
// ana serves every channel (max 2 conversations), bruno only wa-main (max 1).
const testConfig = `
listen: 127.0.0.1:0
shutdown_timeout: 5s
log: {level: error}
redis:
  url: ${REDIS_URL}
  prefix: "t:"
meta:
  graph_url: ${GRAPH_URL}
engine:
  workers: 8
  sweep_interval: 1h   # tests call Engine.Tick themselves
  retry_base: 10ms
admin_token: test-admin-token-0123456789
labels: [billing, sales, vip]
canned_responses:
  - shortcut: hello
    text: "Hi {user.name}, {agent} here."
  - shortcut: dm
    text: "Write to us on Instagram."
    channels: [ig-shop]
agents:
  - id: ana
    name: Ana
    token: ana-token-test-0123456789
    channels: [wa-main, fb-page, ig-shop]
    max_conversations: 2
  - id: bruno
    name: Bruno
    token: bruno-token-test-0123456789
    channels: [wa-main]
    max_conversations: 1
bot:
  type: keywords
  handoff_keywords: [agent, human, humano]
  greeting: "Hi! I am the virtual assistant."
  fallback: "Sorry, I did not understand that."
  answers:
    - keywords: [hours]
      text: "We are open Monday to Friday, 9:00 to 18:00."
channels:
  - id: wa-main
    type: whatsapp
    phone_number_id: "106540352242922"
    app_secret: wa-secret-test-0123456789
    verify_token: wa-verify-test-0123456789
    access_token: wa-access-test-0123456789
    hours:
      timezone: America/Argentina/Buenos_Aires
      weekly: {mon: ["09:00-18:00"], tue: ["09:00-18:00"], wed: ["09:00-18:00"], thu: ["09:00-18:00"], fri: ["09:00-18:00"]}
    derivation:
      after_hours: ask
      direct: false
      yes_words: [yes, sí, sim]
      no_words: ["no", não]
      messages:
        offer: "MSG offer"
        yes: "Wait"
        no: "No, thanks"
        attention: "MSG attention"
        declined: "MSG declined"
        transferred: "MSG transferred"
        already_waiting: "MSG already_waiting"
        agent_available: "MSG agent_available"
        kept_for_agent: "MSG kept_for_agent"
        assigned: "MSG assigned {agent}"
        closed: "MSG closed"
        handed_back: "MSG handed_back"
  - id: fb-page
    type: messenger
    page_id: "110000000000001"
    app_secret: fb-secret-test-0123456789
    verify_token: fb-verify-test-0123456789
    access_token: fb-access-test-0123456789
    hours:
      timezone: America/Argentina/Buenos_Aires
      weekly: {mon: ["09:00-18:00"], tue: ["09:00-18:00"], wed: ["09:00-18:00"], thu: ["09:00-18:00"], fri: ["09:00-18:00"]}
    derivation:
      after_hours: ask
      direct: true
      yes_words: [yes, sí, sim]
      no_words: ["no", não]
      messages:
        offer: "MSG offer"
        yes: "Wait"
        no: "No, thanks"
        attention: "MSG attention"
        declined: "MSG declined"
        transferred: "MSG transferred"
        already_waiting: "MSG already_waiting"
        agent_available: "MSG agent_available"
        kept_for_agent: "MSG kept_for_agent"
        assigned: "MSG assigned {agent}"
        closed: "MSG closed"
        handed_back: "MSG handed_back"
  - id: ig-shop
    type: instagram
    account_id: "17841400000000001"
    app_secret: ig-secret-test-0123456789
    verify_token: ig-verify-test-0123456789
    access_token: ig-access-test-0123456789
`

// The configured texts the tests look for.
const (
	msgOffer          = "MSG offer"
	msgAttention      = "MSG attention"
	msgDeclined       = "MSG declined"
	msgTransferred    = "MSG transferred"
	msgAlreadyWaiting = "MSG already_waiting"
	msgAgentAvailable = "MSG agent_available"
	msgKeptForAgent   = "MSG kept_for_agent"
	msgGreeting       = "Hi! I am the virtual assistant."
	msgFallback       = "Sorry, I did not understand that."
	msgHours          = "We are open Monday to Friday, 9:00 to 18:00."
)

// Account ids and secrets of the test channels.
const (
	waPhoneID = "106540352242922"
	fbPageID  = "110000000000001"
	waSecret  = "wa-secret-test-0123456789"
	fbSecret  = "fb-secret-test-0123456789"
	anaToken  = "ana-token-test-0123456789"
	brunoTok  = "bruno-token-test-0123456789"
)

// zone is the channels' time zone: UTC-3 all year.
var zone = time.FixedZone("ART", -3*60*60)

// local is a wall-clock time in the channels' zone in the week of Monday
// 2026-11-16: local(time.Friday, 12, 0) is Friday 2026-11-20 12:00.
func local(day time.Weekday, hour, minute int) time.Time {
	return time.Date(2026, 11, 15+int(day), hour, minute, 0, 0, zone)
}

var (
	insideHours = local(time.Friday, 12, 0)   // open
	afterHours  = local(time.Thursday, 22, 0) // closed; opens Friday 09:00
)

// harness is a running App with a test Redis, a fake Graph API and a
// settable clock.
type harness struct {
	t     testing.TB
	app   *App
	clock *testkit.Clock
	graph *testkit.Graph
	redis *redistest.Server
	base  string // http://host:port of the App
	// apiClient carries the calls under /api/v1: every exchange is checked
	// against openapi.yaml.
	apiClient *http.Client
	lastTick  time.Time
}

// harnessOptions change what newHarness builds.
type harnessOptions struct {
	start time.Time // the clock's start; default insideHours
	// botURL, when set, replaces the keywords bot by an http bot there.
	botURL string
	// bot, when set, answers instead of the configured bot.
	bot bots.Bot
	// limits are the App's limits; zero fields take the defaults.
	limits httpapi.Limits
	// lockTTL is the conversations' processing lock lifetime (0: default).
	lockTTL time.Duration
	// yaml, when set, rewrites the configuration (env: its variables).
	yaml func(yaml string, env map[string]string) string
	// graphURL, when set, replaces the fake Graph API's URL (another fake).
	graphURL string
	// mediaRootCAs are a test CDN's.
	mediaRootCAs *x509.CertPool
}

func newHarness(t testing.TB, opts harnessOptions) *harness {
	t.Helper()
	if opts.start.IsZero() {
		opts.start = insideHours
	}
	h := &harness{t: t, clock: testkit.NewClock(opts.start), lastTick: opts.start, apiClient: openAPIClient(t)}
	h.redis = redistest.Start(t)
	h.graph = testkit.NewGraph(t)
	env := map[string]string{"REDIS_URL": h.redis.URL, "GRAPH_URL": h.graph.URL}
	if opts.graphURL != "" {
		env["GRAPH_URL"] = opts.graphURL
	}
	yaml := withRedis(testConfig, h.redis)
	if opts.botURL != "" {
		start, end := strings.Index(yaml, "bot:\n"), strings.Index(yaml, "channels:\n")
		yaml = yaml[:start] + "bot:\n  type: http\n  url: ${BOT_URL}\n  secret: bot-secret-test-0123456789\n  handoff_keywords: [agent, human]\n" + yaml[end:]
		env["BOT_URL"] = opts.botURL
	}
	if opts.yaml != nil {
		yaml = opts.yaml(yaml, env)
	}
	cfg, err := config.Parse("test.yaml", []byte(yaml), func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("test config: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx := context.Background()
	app, err := New(ctx, cfg, Options{Now: h.clock.Now, Logger: logger, Bot: opts.bot, Limits: opts.limits, LockTTL: opts.lockTTL, MediaRootCAs: opts.mediaRootCAs})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	// Registered after redistest's cleanup, so it runs first: the App stops
	// before its Redis does.
	t.Cleanup(func() {
		if err := app.Shutdown(context.Background()); err != nil {
			t.Logf("shutdown: %v", err)
		}
	})
	h.app = app
	h.base = "http://" + app.Addr()
	return h
}

// openAPIClient is an HTTP client that fails t on any exchange the
// gateway's OpenAPI document does not describe.
func openAPIClient(t testing.TB) *http.Client {
	return &http.Client{Transport: testkit.OpenAPI(t, httpapi.OpenAPIDocument()).Transport(t, nil)}
}

// testWriter sends the App's log lines to the test log (with -v only).
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// setClock moves the gateway's clock without running the sweep.
func (h *harness) setClock(t time.Time) { h.clock.Set(t) }

// tick moves the clock to now and runs the sweep for the interval since
// the previous tick.
func (h *harness) tick(now time.Time) {
	h.t.Helper()
	h.clock.Set(now)
	if err := h.app.engine.Tick(context.Background(), h.lastTick, now); err != nil {
		h.t.Fatalf("Tick(%s, %s): %v", h.lastTick.Format(time.RFC3339), now.Format(time.RFC3339), err)
	}
	h.lastTick = now
}

// post sends a webhook body signed with secret and returns the status.
func (h *harness) post(platform string, body []byte, secret string) int {
	h.t.Helper()
	req, err := testkit.Sign(channels.Platform(platform), body, secret).Request(context.Background(), h.base)
	if err != nil {
		h.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Errorf("POST /webhooks/%s: %v", platform, err)
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// postOK posts a webhook and fails the test unless it is answered 200.
func (h *harness) postOK(platform string, body []byte) {
	h.t.Helper()
	secret := map[string]string{"whatsapp": waSecret, "messenger": fbSecret}[platform]
	if got := h.post(platform, body, secret); got != http.StatusOK {
		h.t.Fatalf("POST /webhooks/%s = %d, want 200", platform, got)
	}
}

// api calls the agent API with a bearer token ("" for none) and a JSON
// body (nil for none); it returns the status and the raw answer.
func (h *harness) api(method, path, token string, body any) (int, []byte) {
	h.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.base+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	client := http.DefaultClient
	if strings.HasPrefix(path, "/api/v1/") {
		client = h.apiClient
	}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// apiJSON calls the agent API, checks the status and decodes the answer
// into out (when not nil).
func (h *harness) apiJSON(method, path, token string, body any, want int, out any) {
	h.t.Helper()
	status, raw := h.api(method, path, token, body)
	if status != want {
		h.t.Fatalf("%s %s = %d %s, want %d", method, path, status, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			h.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// wantError calls the API and fails the test unless it answers status
// with the error code and a message that says each of says; it returns
// the message.
func (h *harness) wantError(method, path, token string, body any, status int, code string, says ...string) string {
	h.t.Helper()
	got, raw := h.api(method, path, token, body)
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(raw, &e)
	if got != status || e.Error.Code != code {
		h.t.Errorf("%s %s = %d %s, want %d with code %q", method, path, got, raw, status, code)
	}
	for _, s := range says {
		if !strings.Contains(e.Error.Message, s) {
			h.t.Errorf("%s %s: message %q does not say %q", method, path, e.Error.Message, s)
		}
	}
	return e.Error.Message
}

// queueView is GET /api/v1/queue as an agent sees it.
func (h *harness) queueView(token string) []engine.ConversationView {
	h.t.Helper()
	var out struct{ Conversations []engine.ConversationView }
	h.apiJSON(http.MethodGet, "/api/v1/queue", token, nil, http.StatusOK, &out)
	return out.Conversations
}

// positionIn returns a conversation's position in a queue listing, 0 when
// it is not listed, failing when it is listed more than once.
func (h *harness) positionIn(list []engine.ConversationView, convID string) int64 {
	h.t.Helper()
	var pos int64
	n := 0
	for _, c := range list {
		if c.ID == convID {
			pos, n = c.Position, n+1
		}
	}
	if n > 1 {
		h.t.Errorf("conversation %s listed %d times in the queue", convID, n)
	}
	return pos
}

// eventually polls cond until it holds or 15 s pass; what names the
// condition in the failure message. Polling an observable condition with
// a deadline is the only way these tests wait for the task workers.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settle waits until every accepted event is processed and every committed
// send is finished (sent or failed for good): the inboxes' pending sets and
// the outboxes are empty. After settle, the fake Graph API has received
// everything the gateway will send.
func (h *harness) settle() {
	h.t.Helper()
	ctx := context.Background()
	st := h.app.store
	h.eventually("inboxes and outboxes are empty", func() bool {
		for _, id := range h.app.engine.Channels() {
			pending, err := st.PendingCount(ctx, id)
			if err != nil || pending > 0 {
				return false
			}
			jobs, err := st.Outbox(ctx, id)
			if err != nil || len(jobs) > 0 {
				return false
			}
		}
		return true
	})
}

// sentTexts returns the text of every Graph API request, in order.
func (h *harness) sentTexts() []string {
	var out []string
	for _, r := range h.graph.Requests() {
		out = append(out, r.Text)
	}
	return out
}

// countSent counts the Graph API requests whose text is text.
func (h *harness) countSent(text string) int {
	n := 0
	for _, s := range h.sentTexts() {
		if s == text {
			n++
		}
	}
	return n
}

// waitSent waits until the fake Graph API has received text n times.
func (h *harness) waitSent(text string, n int) {
	h.t.Helper()
	h.eventually(fmt.Sprintf("%q is sent %d time(s); sent so far: %q", text, n, h.sentTexts()), func() bool {
		return h.countSent(text) >= n
	})
}

// requestsWith returns the Graph API requests whose body holds the string s
// (a recipient id, a text).
func (h *harness) requestsWith(s string) []testkit.Send {
	var out []testkit.Send
	for _, r := range h.graph.Requests() {
		if bytes.Contains(r.Body, []byte(s)) {
			out = append(out, r)
		}
	}
	return out
}

// record loads a conversation from the store.
func (h *harness) record(convID string) *queue.Record {
	h.t.Helper()
	rec, err := h.app.store.Load(context.Background(), convID)
	if err != nil {
		h.t.Fatalf("load %s: %v", convID, err)
	}
	return rec
}

// state returns a conversation's state.
func (h *harness) state(convID string) routing.State { return h.record(convID).State }

// waitState waits until a conversation reaches state.
func (h *harness) waitState(convID string, want routing.State) {
	h.t.Helper()
	h.eventually(fmt.Sprintf("%s is %s", convID, want), func() bool {
		rec, err := h.app.store.Load(context.Background(), convID)
		return err == nil && rec.State == want
	})
}

// transcript returns a conversation's transcript (notes included).
func (h *harness) transcript(convID string) []queue.Entry {
	h.t.Helper()
	entries, err := h.app.store.Transcript(context.Background(), convID)
	if err != nil {
		h.t.Fatalf("transcript %s: %v", convID, err)
	}
	return entries
}

// countEntries counts the transcript entries by author with text.
func (h *harness) countEntries(convID string, author routing.Author, text string) int {
	n := 0
	for _, e := range h.transcript(convID) {
		if e.Author == author && e.Text == text {
			n++
		}
	}
	return n
}

// sessions returns the ended sessions recorded on a channel.
func (h *harness) sessions(channel string) []queue.SessionRecord {
	h.t.Helper()
	list, _, err := h.app.store.Sessions(context.Background(), channel, time.UnixMilli(0), time.Time{}, "", 1000)
	if err != nil {
		h.t.Fatalf("sessions of %s: %v", channel, err)
	}
	return list
}

// resolutions lists the resolutions of a conversation's ended sessions,
// oldest first, as "kind:resolution".
func (h *harness) resolutions(convID string) []string {
	h.t.Helper()
	var out []string
	for _, s := range h.sessions(queue.ChannelOf(convID)) {
		if s.Conversation == convID {
			out = append(out, string(s.Kind)+":"+string(s.Resolution))
		}
	}
	return out
}

// notices reads every notice published on a channel so far.
func (h *harness) notices(channel string) []queue.Notice {
	h.t.Helper()
	got, err := h.app.store.ReadStream(context.Background(), channel, "0-0", -1, 1000)
	if err != nil {
		h.t.Fatalf("notices of %s: %v", channel, err)
	}
	return got
}

// position reports a conversation's place in its line (0: not in it).
func (h *harness) position(convID string) int64 {
	h.t.Helper()
	pos, err := h.app.store.Position(context.Background(), convID)
	if err != nil {
		h.t.Fatal(err)
	}
	return pos
}

// Webhook bodies, shaped as Meta sends them (WhatsApp and Messenger).

// waUser is a WhatsApp user: wa_id and profile name.
type waUser struct{ id, name string }

func (u waUser) conv() string { return queue.ConversationID("wa-main", u.id) }

// text is an inbound text message.
func (u waUser) text(id, text string, at time.Time) []byte {
	return testkit.WhatsAppMessage(waPhoneID, testkit.Inbound{ID: id, From: u.id, Name: u.name, At: at, Text: text})
}

// tap is a tap on an interactive reply button.
func (u waUser) tap(id, buttonID, title string, at time.Time) []byte {
	return testkit.WhatsAppMessage(waPhoneID, testkit.Inbound{ID: id, From: u.id, Name: u.name, At: at,
		Text: title, Choice: buttonID, Context: "wamid.BIZ_BUTTONS_MSG"})
}

// waStatus is a status webhook for a message the gateway sent.
func waStatus(wamid, status, recipient string, at time.Time) []byte {
	return testkit.WhatsAppStatus(waPhoneID, testkit.Status{MessageID: wamid, Status: status, Recipient: recipient, At: at})
}

// fbUser is a Messenger user (page-scoped id).
type fbUser struct{ psid string }

func (u fbUser) conv() string { return queue.ConversationID("fb-page", u.psid) }

// message is a Messenger message event; quickReply, when not empty, is
// the payload of a tapped quick reply.
func (u fbUser) message(mid, text, quickReply string, at time.Time) []byte {
	return testkit.Message(channels.Messenger, fbPageID, testkit.Inbound{ID: mid, From: u.psid, At: at, Text: text, Choice: quickReply})
}

// withRedis points a test configuration at srv: by its URL (in the
// REDIS_URL variable) for one server or the embedded one, else by its
// Cluster seeds or Sentinels (SWITCHBOARD_TEST_REDIS=cluster|sentinel).
func withRedis(yaml string, srv *redistest.Server) string {
	var section string
	switch srv.Kind {
	case "cluster":
		section = fmt.Sprintf("  cluster: [%s]\n", strings.Join(srv.Cluster, ", "))
	case "sentinel":
		section = fmt.Sprintf("  sentinel: {master: %s, addrs: [%s]}\n", redistest.SentinelMaster, strings.Join(srv.SentinelAddrs, ", "))
	default:
		return yaml
	}
	return strings.Replace(yaml, "  url: ${REDIS_URL}\n", section, 1)
}

// rawRedis is a plain go-redis client of the test Redis, of its kind, for
// tests that look at keys directly.
func (h *harness) rawRedis() redis.UniversalClient { return h.redis.Client() }
