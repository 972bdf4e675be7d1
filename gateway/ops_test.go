package gateway

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"

	"switchboard/bots"
	"switchboard/config"
	"switchboard/gateway/engine"
	"switchboard/internal/testkit"
	"switchboard/queue/redistest"
	"switchboard/routing"
)

const adminToken = "test-admin-token-0123456789"

// opsHarness is a harness whose App was started from a configuration file
// (so it can be reloaded) with extra YAML under the wa-main channel.
type opsHarness struct {
	*harness
	path string
	env  map[string]string
}

// newOpsHarness starts an App from testConfig with waExtra added to the
// wa-main channel (indented like its keys), written to a file.
func newOpsHarness(t *testing.T, waExtra string, env map[string]string, roots *x509.CertPool) *opsHarness {
	t.Helper()
	h := &harness{t: t, clock: testkit.NewClock(insideHours), lastTick: insideHours, apiClient: openAPIClient(t)}
	h.redis = redistest.Start(t)
	h.graph = testkit.NewGraph(t)
	if env == nil {
		env = map[string]string{}
	}
	env["REDIS_URL"], env["GRAPH_URL"] = h.redis.URL, h.graph.URL
	o := &opsHarness{harness: h, path: filepath.Join(t.TempDir(), "test.yaml"), env: env}
	o.write(testConfig, waExtra)
	cfg, err := config.Load(o.path, o.getenv)
	if err != nil {
		t.Fatalf("test config: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := New(context.Background(), cfg, Options{Now: h.clock.Now, Logger: logger,
		Ops: OpsOptions{ConfigPath: o.path, Getenv: o.getenv, LogLevel: new(slog.LevelVar), SMTPRootCAs: roots}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := app.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = app.Shutdown(context.Background()) })
	h.app, h.base = app, "http://"+app.Addr()
	return o
}

func (o *opsHarness) getenv(k string) string { return o.env[k] }

// write writes the config file: yaml with extra inserted after wa-main's
// access_token line.
func (o *opsHarness) write(yaml, extra string) {
	o.t.Helper()
	const anchor = "    access_token: wa-access-test-0123456789\n"
	yaml = withRedis(strings.Replace(yaml, anchor, anchor+extra, 1), o.redis)
	if err := os.WriteFile(o.path, []byte(yaml), 0o600); err != nil {
		o.t.Fatal(err)
	}
}

func (o *opsHarness) reload() (int, map[string]any) {
	o.t.Helper()
	status, body := o.api(http.MethodPost, "/api/v1/admin/reload", adminToken, nil)
	var out map[string]any
	_ = json.Unmarshal(body, &out)
	return status, out
}

func TestReloadAppliesValidConfigAndKeepsRunningOnInvalid(t *testing.T) {
	o := newOpsHarness(t, "", nil, nil)
	u1 := waUser{id: "5511900000001", name: "One"}
	o.postOK("whatsapp", u1.text("wamid.r1", "agent", insideHours))
	o.waitSent(msgTransferred, 1)

	// Unauthenticated and wrong tokens are refused.
	if status, _ := o.api(http.MethodPost, "/api/v1/admin/reload", "", nil); status != http.StatusUnauthorized {
		t.Errorf("reload without token = %d, want 401", status)
	}
	if status, _ := o.api(http.MethodPost, "/api/v1/admin/reload", anaToken, nil); status != http.StatusUnauthorized {
		t.Errorf("reload with an agent token = %d, want 401", status)
	}

	// A valid change is used at once; a restart-only change is reported.
	changed := strings.Replace(testConfig, `transferred: "MSG transferred"`, `transferred: "MSG transferred v2"`, 1)
	changed = strings.Replace(changed, "workers: 8", "workers: 4", 1)
	o.write(changed, "")
	status, res := o.reload()
	if status != http.StatusOK {
		t.Fatalf("reload = %d %v, want 200", status, res)
	}
	if fmt.Sprint(res["restart_required"]) != "[engine.workers]" {
		t.Errorf("restart_required = %v, want [engine.workers]", res["restart_required"])
	}
	u2 := waUser{id: "5511900000002", name: "Two"}
	o.postOK("whatsapp", u2.text("wamid.r2", "agent", insideHours))
	o.waitSent("MSG transferred v2", 1)
	if p := o.position(u1.conv()); p != 1 {
		t.Errorf("the conversation waiting before the reload is at position %d, want 1", p)
	}

	// An invalid file is rejected with every problem; the running config stays.
	broken := strings.Replace(changed, "log: {level: error}", "log: {level: loud}", 1)
	broken = strings.Replace(broken, "max_conversations: 1", "max_conversations: -1", 1)
	o.write(broken, "")
	status, res = o.reload()
	if status != http.StatusBadRequest {
		t.Fatalf("invalid reload = %d, want 400", status)
	}
	e, _ := res["error"].(map[string]any)
	problems, _ := e["problems"].([]any)
	if e["code"] != "invalid_config" || len(problems) != 2 {
		t.Fatalf("error = %v, want invalid_config with 2 problems", e)
	}
	for _, p := range problems {
		if !strings.HasPrefix(p.(string), o.path+":") {
			t.Errorf("problem %q does not start with file:line", p)
		}
	}
	u3 := waUser{id: "5511900000003", name: "Three"}
	o.postOK("whatsapp", u3.text("wamid.r3", "agent", insideHours))
	o.waitSent("MSG transferred v2", 2)
	if n := o.countSent(msgTransferred); n != 1 {
		t.Errorf("old transferred text sent %d times after the reload, want 1", n)
	}
}

func TestReloadDuringWebhooks(t *testing.T) {
	o := newOpsHarness(t, "", nil, nil)
	o.write(strings.Replace(testConfig, `greeting: "Hi! I am the virtual assistant."`, `greeting: "Hello again."`, 1), "")
	const users = 40
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := waUser{id: fmt.Sprintf("55119100%05d", i)}
			body := u.text(fmt.Sprintf("wamid.c%d", i), "hello", insideHours)
			if got := o.post("whatsapp", body, waSecret); got != http.StatusOK {
				t.Errorf("webhook %d = %d during reloads", i, got)
			}
		}()
	}
	for range 5 {
		if status, res := o.reload(); status != http.StatusOK {
			t.Errorf("reload = %d %v", status, res)
		}
	}
	wg.Wait()
	o.settle()
	for i := range users {
		u := waUser{id: fmt.Sprintf("55119100%05d", i)}
		if rec := o.record(u.conv()); rec.Version == 0 {
			t.Errorf("user %d: event lost during reload", i)
		}
	}
	if got := o.countSent(msgGreeting) + o.countSent("Hello again."); got != users {
		t.Errorf("greetings sent = %d, want %d", got, users)
	}
}

func TestReloadRetiresRemovedChannelUntilEmpty(t *testing.T) {
	o := newOpsHarness(t, "", nil, nil)
	u := fbUser{psid: "psid-retire"}
	o.postOK("messenger", u.message("mid.ret1", "agent", "", insideHours))
	o.waitState(u.conv(), "waiting")

	start, end := strings.Index(testConfig, "  - id: fb-page\n"), strings.Index(testConfig, "  - id: ig-shop\n")
	without := testConfig[:start] + testConfig[end:]
	without = strings.Replace(without, "[wa-main, fb-page, ig-shop]", "[wa-main, ig-shop]", 1)
	o.write(without, "")
	status, res := o.reload()
	if status != http.StatusOK || fmt.Sprint(res["retired"]) != "[fb-page]" {
		t.Fatalf("reload = %d %v, want 200 with retired [fb-page]", status, res)
	}
	// Webhooks no longer reach the retired channel; ana still takes its conversation.
	var got engine.ConversationView
	o.apiJSON(http.MethodPost, "/api/v1/queue/claim?channel=fb-page", anaToken, nil, http.StatusOK, &got)
	if got.ID != u.conv() {
		t.Fatalf("claimed %q, want %q", got.ID, u.conv())
	}
	// Once it expires, the sweep drops the retired channel.
	o.tick(insideHours.Add(25 * time.Hour))
	if slices.Contains(o.app.engine.Channels(), "fb-page") {
		t.Errorf("retired channel still set up after its last conversation expired")
	}
}

// receiver is an httptest notification webhook that fails its first
// `fail` requests.
type receiver struct {
	mu       sync.Mutex
	fail     int
	attempts int
	got      []map[string]any
	bad      []string
}

func (r *receiver) handler(secret string, now func() time.Time) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.attempts++
		if err := bots.VerifySignature([]byte(secret), req.Header, body, now()); err != nil {
			r.bad = append(r.bad, err.Error())
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.attempts <= r.fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		r.got = append(r.got, m)
	}
}

func (r *receiver) delivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func TestNotifyWebhookRetriedThenDeliveredOnce(t *testing.T) {
	rcv := &receiver{fail: 2}
	clock := testkit.NewClock(insideHours)
	srv := httptest.NewServer(rcv.handler("hook-secret-test-0123456789", clock.Now))
	defer srv.Close()
	o := newOpsHarness(t, "    notify:\n      webhook: {url: \"${HOOK_URL}\", secret: hook-secret-test-0123456789}\n", map[string]string{"HOOK_URL": srv.URL}, nil)
	u := waUser{id: "5511900000010", name: "Notified"}
	o.postOK("whatsapp", u.text("wamid.n1", "agent", insideHours))
	o.eventually("the notification is delivered", func() bool { return rcv.delivered() == 1 })
	o.settle()
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.bad) > 0 {
		t.Errorf("bad signatures: %v", rcv.bad)
	}
	if rcv.attempts != 3 || len(rcv.got) != 1 {
		t.Errorf("attempts = %d, deliveries = %d; want 3 and 1", rcv.attempts, len(rcv.got))
	}
	n := rcv.got[0]
	conv, _ := n["conversation"].(map[string]any)
	tx, _ := n["transcript"].([]any)
	if n["event"] != "conversation.waiting" || n["channel"] != "wa-main" || conv["id"] != u.conv() || len(tx) < 2 {
		t.Errorf("notification = %v", n)
	}
}

func TestNotifyEmailOverSTARTTLS(t *testing.T) {
	smtpSrv := testkit.StartSMTP(t, "gw", "smtp-pass")
	extra := "    notify:\n      email:\n        addr: \"${SMTP_ADDR}\"\n        username: gw\n        password: smtp-pass\n" +
		"        from: gw@example.com\n        to: [leads@example.com]\n"
	o := newOpsHarness(t, extra, map[string]string{"SMTP_ADDR": smtpSrv.Addr}, smtpSrv.Roots)
	u := waUser{id: "5511900000011", name: "Mailed"}
	o.postOK("whatsapp", u.text("wamid.e1", "agent", insideHours))
	o.eventually("the mail arrives", func() bool { return len(smtpSrv.Messages()) == 1 })
	m := smtpSrv.Messages()[0]
	for _, want := range []string{"MAIL FROM:<gw@example.com>", "RCPT TO:<leads@example.com>", "Subject: [switchboard] wa-main: conversation.waiting", u.conv(), "MSG transferred"} {
		if !strings.Contains(m, want) {
			t.Errorf("mail lacks %q:\n%s", want, m)
		}
	}
}

func TestEraseContactLeavesNoKeyOfTheUser(t *testing.T) {
	o := newOpsHarness(t, "", nil, nil)
	u := waUser{id: "5511987650001", name: "Erased Person"}
	keep := waUser{id: "5511987650002", name: "Kept"}
	o.postOK("whatsapp", u.text("wamid.x1", "hello", insideHours))
	o.postOK("whatsapp", u.text("wamid.x2", "agent", insideHours.Add(time.Second)))
	o.postOK("whatsapp", keep.text("wamid.k1", "hours", insideHours))
	o.waitSent(msgTransferred, 1)
	var claimed engine.ConversationView
	o.apiJSON(http.MethodPost, "/api/v1/queue/claim", anaToken, nil, http.StatusOK, &claimed)
	o.apiJSON(http.MethodPost, "/api/v1/conversations/"+u.conv()+"/messages", anaToken, map[string]string{"text": "hi from Ana"}, http.StatusAccepted, nil)
	o.settle()
	o.apiJSON(http.MethodPost, "/api/v1/conversations/"+u.conv()+"/close", anaToken, nil, http.StatusOK, nil)
	o.settle()

	status, body := o.api(http.MethodDelete, "/api/v1/admin/contacts/wa-main/"+u.id, adminToken, nil)
	if status != http.StatusOK {
		t.Fatalf("erase = %d %s", status, body)
	}
	rdb := o.rawRedis()
	defer rdb.Close()
	forbidden := []string{u.id, u.conv(), "wamid.x1", "wamid.x2", u.name}
	keptSeen := false
	for _, k := range allKeys(t, rdb) {
		content := k + " " + dumpKey(t, rdb, k)
		for _, f := range forbidden {
			if strings.Contains(content, f) {
				t.Errorf("key %q still holds %q after the erasure", k, f)
			}
		}
		keptSeen = keptSeen || strings.Contains(content, keep.conv())
	}
	if !keptSeen {
		t.Errorf("the other user's conversation was erased too")
	}
}

func allKeys(t *testing.T, rdb redis.UniversalClient) []string { return redistest.Keys(t, rdb, "*") }

func dumpKey(t *testing.T, rdb redis.UniversalClient, k string) string {
	ctx := context.Background()
	typ, _ := rdb.Type(ctx, k).Result()
	var v any
	switch typ {
	case "string":
		v, _ = rdb.Get(ctx, k).Result()
	case "hash":
		v, _ = rdb.HGetAll(ctx, k).Result()
	case "list":
		v, _ = rdb.LRange(ctx, k, 0, -1).Result()
	case "set":
		v, _ = rdb.SMembers(ctx, k).Result()
	case "zset":
		v, _ = rdb.ZRange(ctx, k, 0, -1).Result()
	case "stream":
		v, _ = rdb.XRange(ctx, k, "-", "+").Result()
	}
	return fmt.Sprint(v)
}

func TestMetricsStatsAndSessionsReport(t *testing.T) {
	o := newOpsHarness(t, "", nil, nil)
	u1 := waUser{id: "5511900000021", name: "Waits"}
	o.postOK("whatsapp", u1.text("wamid.m1", "agent", insideHours))
	o.waitSent(msgTransferred, 1)
	o.postOK("whatsapp", u1.text("wamid.m2", "agent", insideHours.Add(time.Second)))
	o.waitSent(msgAlreadyWaiting, 1)
	o.setClock(insideHours.Add(90 * time.Second))
	o.apiJSON(http.MethodPost, "/api/v1/queue/claim", anaToken, nil, http.StatusOK, nil)
	evening := local(time.Friday, 19, 0)
	o.setClock(evening)
	u2 := waUser{id: "5511900000022", name: "Declines"}
	o.postOK("whatsapp", u2.text("wamid.m3", "agent", evening))
	// Friday evening: the line opens on Monday, past the user's window.
	o.waitSent("Our team is back Monday 09:00. If you wait, we will write to you then.", 1)
	o.postOK("whatsapp", u2.text("wamid.m4", "no", evening.Add(time.Second)))
	o.waitSent(msgDeclined, 1)
	o.settle()

	// Stats: today (Friday in the channel's zone).
	var stats struct {
		Channels []engine.ChannelStats `json:"channels"`
	}
	o.apiJSON(http.MethodGet, "/api/v1/admin/stats", adminToken, nil, http.StatusOK, &stats)
	var wa engine.ChannelStats
	for _, c := range stats.Channels {
		if c.Channel == "wa-main" {
			wa = c
		}
	}
	want := engine.DayStats{Date: "2026-11-20", Transfers: 1, Declines: 1, AlreadyWaiting: 1, Taken: 1, WaitMedianSeconds: 90, WaitP90Seconds: 90}
	if wa.Today != want || wa.Waiting != 0 {
		t.Errorf("wa-main stats = %+v, want today %+v and nobody waiting", wa, want)
	}

	// Expiry the next day, then the metrics.
	o.tick(evening.Add(25 * time.Hour))
	o.settle()
	families := scrape(t, o.base+"/metrics")
	for name, labels := range map[string][]string{
		"switchboard_webhooks_received_total":         {"platform"},
		"switchboard_events_processed_total":          {"kind"},
		"switchboard_event_processing_seconds":        nil,
		"switchboard_waiting_line_length":             {"channel"},
		"switchboard_wait_seconds":                    {"channel"},
		"switchboard_transfers_total":                 {"channel"},
		"switchboard_declines_total":                  {"channel"},
		"switchboard_already_waiting_referrals_total": {"channel"},
		"switchboard_expiries_total":                  {"channel"},
		"switchboard_sends_total":                     {"platform", "result"},
		"switchboard_graph_api_seconds":               {"platform"},
		"switchboard_agents_online":                   {"channel"},
		"switchboard_config_reloads_total":            nil,
	} {
		f, ok := families[name]
		if !ok {
			if name != "switchboard_config_reloads_total" {
				t.Errorf("metric %s missing", name)
			}
			continue
		}
		for _, l := range labels {
			found := false
			for _, lp := range f.Metric[0].Label {
				found = found || lp.GetName() == l
			}
			if !found {
				t.Errorf("metric %s has no label %s", name, l)
			}
		}
	}
	for _, name := range []string{"switchboard_transfers_total", "switchboard_declines_total", "switchboard_already_waiting_referrals_total", "switchboard_expiries_total"} {
		if f := families[name]; f != nil && f.Metric[0].GetCounter().GetValue() < 1 {
			t.Errorf("%s = %v, want >= 1", name, f.Metric[0].GetCounter().GetValue())
		}
	}

	// The sessions report, JSON then CSV, paged.
	var page struct {
		Sessions   []engine.SessionRow `json:"sessions"`
		NextCursor string              `json:"next_cursor"`
	}
	o.apiJSON(http.MethodGet, "/api/v1/admin/reports/sessions?channel=wa-main&resolution=transferred", adminToken, nil, http.StatusOK, &page)
	if len(page.Sessions) != 1 || page.Sessions[0].Conversation != u1.conv() || page.Sessions[0].Bot != "keywords" {
		t.Errorf("transferred sessions = %+v", page.Sessions)
	}
	var all []engine.SessionRow
	cursor := ""
	for i := 0; i < 20; i++ {
		page.Sessions, page.NextCursor = nil, ""
		o.apiJSON(http.MethodGet, "/api/v1/admin/reports/sessions?limit=1&cursor="+cursor, adminToken, nil, http.StatusOK, &page)
		all = append(all, page.Sessions...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(all) < 4 {
		t.Errorf("all sessions, one per page = %d, want at least 4 (transferred, claimed agent, expired...)", len(all))
	}
	req, _ := http.NewRequest(http.MethodGet, o.base+"/api/v1/admin/reports/sessions?q="+u2.id, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Accept", "text/csv")
	resp, err := o.apiClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("CSV: %v, %s", err, resp.Header.Get("Content-Type"))
	}
	if len(rows) != 2 || rows[0][0] != "id" || rows[1][3] != u2.id || rows[1][10] != "declined" {
		t.Errorf("CSV rows = %v, want a header and u2's declined session", rows)
	}
	if id := resp.Header.Get("X-Request-ID"); id == "" {
		t.Errorf("no X-Request-ID in the answer")
	}
}

func scrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// While workers keep up, the webhook takes the conversation's processing
// lock in the round trip that accepts its event, the worker starts from
// that batch, and the reply's record rides with the release: no worker
// takes a lock of its own, and no record needs a round trip of its own
// (README, Process and Send).
func TestWebhookTakesTheLockWhileWorkersKeepUp(t *testing.T) {
	o := newOpsHarness(t, "", nil, nil)
	for i, id := range []string{"5511900000041", "5511900000042"} {
		u := waUser{id: id, name: "Taker"}
		o.postOK("whatsapp", u.text(fmt.Sprintf("wamid.take%d", i), "agent", insideHours))
		o.waitSent(msgTransferred, i+1)
	}
	o.settle()
	fams := scrape(t, o.base+"/metrics")
	count := func(metric, label, value string) float64 {
		return metricValue(fams, metric, map[string]string{label: value})
	}
	if byWebhook, byWorker := count("switchboard_conversation_takes_total", "by", "webhook"), count("switchboard_conversation_takes_total", "by", "worker"); byWebhook != 2 || byWorker != 0 {
		t.Errorf("takes by webhook %v, by worker %v; want 2 and 0", byWebhook, byWorker)
	}
	if release, alone := count("switchboard_send_records_total", "with", "release"), count("switchboard_send_records_total", "with", "alone"); release != 2 || alone != 0 {
		t.Errorf("send records with the release %v, alone %v; want 2 and 0", release, alone)
	}
}

// TestReloadedInactivityTimeoutApplies: the sweep reads the timeout in
// force, so a reload that shortens it ends, at the next sweep, a
// conversation already idle longer than the new timeout (README, How a
// conversation is routed).
func TestReloadedInactivityTimeoutApplies(t *testing.T) {
	o := newOpsHarness(t, "", nil, nil)
	u := waUser{id: "5511900000003", name: "Three"}
	o.postOK("whatsapp", u.text("wamid.r3", "agent", insideHours))
	o.waitSent(msgTransferred, 1)
	o.settle()
	o.tick(insideHours.Add(2 * time.Hour))
	if st := o.state(u.conv()); st != routing.StateWaiting {
		t.Fatalf("2h idle under the 24h default: state %s, want waiting", st)
	}
	o.write(strings.Replace(testConfig, "      after_hours: ask\n", "      after_hours: ask\n      inactivity_timeout: 1h\n", 1), "")
	if status, res := o.reload(); status != http.StatusOK {
		t.Fatalf("reload = %d %v, want 200", status, res)
	}
	o.tick(insideHours.Add(2*time.Hour + time.Minute))
	if st := o.state(u.conv()); st != routing.StateEnded {
		t.Errorf("2h idle after a reload to a 1h timeout: state %s, want ended", st)
	}
}
