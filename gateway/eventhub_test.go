package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/gateway/httpapi"
	"switchboard/queue"
	"switchboard/routing"
)

// openStreams opens n event streams as the agent with token, at most
// parallel at a time, each held until ctx ends; it returns how many opened.
func openStreams(t *testing.T, h *harness, ctx context.Context, token string, n, parallel int) int {
	t.Helper()
	var (
		mu     sync.Mutex
		opened int
		wg     sync.WaitGroup
	)
	turns := make(chan struct{}, parallel)
	openCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for range n {
		turns <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-turns }()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/api/v1/events", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			type answer struct {
				resp *http.Response
				err  error
			}
			got := make(chan answer, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err == nil && resp.StatusCode == http.StatusOK {
					line, _ := bufio.NewReader(resp.Body).ReadString('\n')
					if line != ": connected\n" {
						err = fmt.Errorf("stream starts with %q", line)
					}
				}
				got <- answer{resp, err}
			}()
			select {
			case a := <-got:
				if a.err != nil || a.resp.StatusCode != http.StatusOK {
					if a.resp != nil {
						a.resp.Body.Close()
					}
					return
				}
				go func() { <-ctx.Done(); a.resp.Body.Close() }()
				mu.Lock()
				opened++
				mu.Unlock()
			case <-openCtx.Done():
			}
		}()
	}
	wg.Wait()
	return opened
}

// postStatuses posts n webhooks, one after another, each of which must be
// answered 200.
func postStatuses(h *harness, n int, name string) {
	for i := range n {
		h.postOK("whatsapp", waStatus(fmt.Sprintf("wamid.%s.%d", name, i), "delivered", "5511900000000", insideHours))
	}
}

// redisClients is the number of connections the Redis at addr has.
func redisClients(t *testing.T, addr string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "*2\r\n$4\r\nINFO\r\n$7\r\nclients\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	head, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "$") {
		t.Fatalf("INFO clients: %q %v", head, err)
	}
	size, _ := strconv.Atoi(strings.TrimSpace(head[1:]))
	body := make([]byte, size)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "connected_clients:"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Fatalf("INFO clients has no connected_clients: %q", body)
	return 0
}

// Five hundred open event streams used to hold the connections of the pool
// webhooks use, so webhooks waited for one and /readyz went to 503. Now they
// wait on the hub, whose Redis connections do not grow with them: with 500
// open, every webhook is answered, readiness holds and Redis gains only a
// few connections. (What streams cost in latency is measured by the load
// tool's streams command, not here.)
func TestEventStreamsDoNotStarveWebhooks(t *testing.T) {
	h := newHarness(t, harnessOptions{limits: httpapi.Limits{MaxStreams: 1000, MaxStreamsPerAgent: 1000}})
	const streams, webhooks = 500, 200
	postStatuses(h, 10, "warm") // the pool's connections are open
	before := redisClients(t, h.redis.Addr)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if opened := openStreams(t, h, ctx, anaToken, streams, 2); opened != streams {
		t.Fatalf("%d of %d event streams opened", opened, streams)
	}
	postStatuses(h, webhooks, "busy")
	during := redisClients(t, h.redis.Addr)
	t.Logf("Redis connections %d, then %d with %d streams open", before, during, streams)
	// The hub reads ana's three channels, one connection each; a few more
	// may open for the streams' own catch-up reads (2 at a time) and the
	// task workers. Streams holding connections would take the whole pool.
	if during-before > 3+2+5 {
		t.Errorf("Redis connections went from %d to %d with %d streams open; want at most 10 more", before, during, streams)
	}
	if status, body := h.api(http.MethodGet, "/readyz", "", nil); status != http.StatusOK {
		t.Errorf("/readyz with %d streams open = %d %s, want 200", streams, status, body)
	}

	// The streams still deliver, and closing them stops the hub's readers.
	events := openSSE(t, h, ctx, "")
	h.postOK("whatsapp", ana.text("wamid.H1", "agent", insideHours))
	if ev := nextEvent(t, events, string(routing.NoticeWaiting)); !strings.Contains(ev.data, ana.conv()) {
		t.Errorf("waiting event %s, want ana's conversation", ev.data)
	}
	cancel()
	h.eventually("every stream is released", func() bool { return h.openStreams() == 0 })
}

// Streams over the per-agent or the overall cap get 429 naming the limit;
// a stream closed frees its place.
func TestEventStreamCaps(t *testing.T) {
	h := newHarness(t, harnessOptions{limits: httpapi.Limits{MaxStreams: 3, MaxStreamsPerAgent: 2}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	anaCtx, closeAna := context.WithCancel(ctx)
	if n := openStreams(t, h, anaCtx, anaToken, 2, 1); n != 2 {
		t.Fatalf("ana opened %d streams, want 2", n)
	}
	wantRefused := func(token, limit string) {
		t.Helper()
		status, body := h.api(http.MethodGet, "/api/v1/events", token, nil)
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		if status != http.StatusTooManyRequests || e.Error.Code != "too_many_streams" || !strings.Contains(e.Error.Message, limit) {
			t.Errorf("stream over %s = %d %s, want 429 too_many_streams naming it", limit, status, body)
		}
	}
	wantRefused(anaToken, "MaxStreamsPerAgent")
	if n := openStreams(t, h, ctx, brunoTok, 1, 1); n != 1 {
		t.Fatalf("bruno opened %d streams, want 1", n)
	}
	wantRefused(brunoTok, "MaxStreams")

	closeAna()
	h.eventually("ana's streams are released", func() bool { return h.openStreams() == 1 })
	if n := openStreams(t, h, ctx, anaToken, 2, 1); n != 2 {
		t.Errorf("ana reopened %d streams after closing hers, want 2", n)
	}
}

// A stream that falls behind the hub reads what it missed from Redis:
// every notice arrives once, in order.
func TestEventStreamCatchesUp(t *testing.T) {
	h := newHarness(t, harnessOptions{limits: httpapi.Limits{StreamBuffer: 1}}) // behind after one notice
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := openSSE(t, h, ctx, "")
	const n = 60
	// Whether the hub outruns the stream depends on the scheduler: bursts
	// go out until one made the stream fall behind (a few at most).
	caughtUp := func() bool {
		return metricValue(scrape(t, h.base+"/metrics"), "switchboard_event_stream_catchups_total", nil) > 0
	}
	for burst := 0; burst < 20 && !caughtUp(); burst++ {
		notices := make([]queue.Notice, n)
		for i := range notices {
			notices[i] = queue.Notice{Type: routing.NoticeWaiting, Channel: "fb-page", Conversation: fmt.Sprintf("c%02d-%02d", burst, i), At: insideHours}
		}
		if err := h.app.store.Publish(ctx, notices...); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			ev := nextEvent(t, events, string(routing.NoticeWaiting))
			var got queue.Notice
			if err := json.Unmarshal([]byte(ev.data), &got); err != nil || got.Conversation != notices[i].Conversation {
				t.Fatalf("burst %d: event %d is %s, want %s", burst, i, ev.data, notices[i].Conversation)
			}
		}
	}
	if !caughtUp() {
		t.Error("the stream never fell behind in 20 bursts: the test shows nothing")
	}
}

// Shutdown ends open streams rather than waiting shutdown_timeout for them.
func TestShutdownEndsStreams(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := openSSE(t, h, ctx, "")
	done := make(chan error, 1)
	// The HTTP server's shutdown, which waits for open requests, and does
	// not stop the rest (the harness does).
	go func() { done <- h.app.http.Shutdown(context.Background()) }()
	for range events { // ends when the server ends the stream
	}
	if err := <-done; err != nil {
		t.Errorf("HTTP shutdown with a stream open: %v", err)
	}
}

// A failed read of the hub ends the channel's streams with an error event,
// so their clients reconnect and resume.
func TestEventStreamRedisDown(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := openSSE(t, h, ctx, "")
	h.redis.Stop()
	// The hub notices at its next read, or at the latest when its blocking
	// read's deadline passes (go-redis: the hub's 2 s block plus 10 s) and
	// the retries fail, should the connection outlive the server: on a
	// freshly made Cluster the read failed 12.5 s after the stop: its
	// connection was not closed with the server (why is not established).
	if ev := nextEventWithin(t, events, "error", 20*time.Second); !strings.Contains(ev.data, "unavailable") {
		t.Errorf("error event %q, want code unavailable", ev.data)
	}
	for range events { // the server ends the stream
	}
	h.redis.Restart() // for a quick shutdown
}

// openStreams is the gauge of open event streams.
func (h *harness) openStreams() float64 {
	return metricValue(scrape(h.t, h.base+"/metrics"), "switchboard_event_streams_open", nil)
}

// A stream outlives no revocation: once a reload removed its agent, the
// stream ends instead of delivering the next notice, and a new one is
// refused.
func TestEventStreamEndsWhenTheAgentIsRemoved(t *testing.T) {
	o := newOpsHarness(t, "", nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := openSSE(t, o.harness, ctx, "")

	o.write(strings.Replace(testConfig, "  - id: ana\n    name: Ana\n    token: "+anaToken+"\n",
		"  - id: dora\n    name: Dora\n    token: dora-token-test-0123456789\n", 1), "")
	if status, res := o.reload(); status != http.StatusOK {
		t.Fatalf("reload = %d %v", status, res)
	}
	o.postOK("whatsapp", ana.text("wamid.REVOKED", "agent", insideHours))
	o.waitSent(msgTransferred, 1)
	for ev := range events { // ends when the server ends the stream
		if ev.event == string(routing.NoticeWaiting) {
			t.Fatalf("a removed agent's stream got %s %s", ev.event, ev.data)
		}
	}
	if status, _ := o.api(http.MethodGet, "/api/v1/events", anaToken, nil); status != http.StatusUnauthorized {
		t.Errorf("a removed agent's new stream = %d, want 401", status)
	}
}

// Streams opening all at once read their catch-up on the shared pool, not
// on connections of the hub's own: the Redis connections they cost stay
// within the shared pool and one reader per channel, however many open
// together.
func TestEventStreamBurstKeepsConnectionsBounded(t *testing.T) {
	h := newHarness(t, harnessOptions{limits: httpapi.Limits{MaxStreams: 1000, MaxStreamsPerAgent: 1000}})
	const streams, parallel, sharedPool, channels, workers = 400, 200, 64, 3, 5
	postStatuses(h, 10, "warm")
	before := redisClients(t, h.redis.Addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if opened := openStreams(t, h, ctx, anaToken, streams, parallel); opened != streams {
		t.Fatalf("%d of %d event streams opened", opened, streams)
	}
	during := redisClients(t, h.redis.Addr)
	t.Logf("Redis connections %d before, %d with %d streams opened %d at a time", before, during, streams, parallel)
	if during-before > sharedPool+channels+workers {
		t.Errorf("Redis connections went from %d to %d with %d streams opened %d at a time; want at most %d more",
			before, during, streams, parallel, sharedPool+channels+workers)
	}
	cancel()
	h.eventually("every stream is released", func() bool { return h.openStreams() == 0 })
}
