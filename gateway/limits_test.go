package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"switchboard/channels/meta"
	"switchboard/gateway/httpapi"
)

// slack is what a loaded machine may add to a server-side deadline before
// the client sees its effect.
const slack = 3 * time.Second

// stallWebhook opens a connection that sends a webhook's headers, with a
// Content-Length of 4 MiB, and the bytes of body, then stops. It returns
// once the headers are written; the body is written in the background (the
// server may stop reading it).
func stallWebhook(t *testing.T, h *harness, body []byte) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", h.app.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	head := "POST /webhooks/whatsapp HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n" +
		meta.SignatureHeader + ": sha256=00\r\nContent-Length: 4194304\r\n\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = conn.Write(body) }()
	return conn
}

// closedWithin reads from conn until the server closes it (whatever it
// answers first) and reports how long that took, or fails after limit.
func closedWithin(conn net.Conn, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return 0, fmt.Errorf("still open after %s", limit)
	}
	return time.Since(start), nil
}

// liveHeap is the heap in use after a collection: what is retained.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Forty stalled uploads of nearly 4 MiB used to be held open, with what
// they had sent in memory, forever. Now each is cut at BodyTimeout (408) or,
// over MaxWebhookBodies, turned away (503) without its body being read.
func TestStalledBodiesAreCut(t *testing.T) {
	limits := httpapi.Limits{BodyTimeout: 500 * time.Millisecond, MaxWebhookBodies: 2, WebhookWait: 200 * time.Millisecond}
	h := newHarness(t, harnessOptions{limits: limits})
	const conns = 24
	body := bytes.Repeat([]byte("a"), 2<<20) // one buffer: the clients' memory is not the gateway's

	base := liveHeap()
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, liveHeap())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	var wg sync.WaitGroup
	for i := range conns {
		conn := stallWebhook(t, h, body)
		wg.Add(1)
		go func() {
			defer wg.Done()
			took, err := closedWithin(conn, limits.BodyTimeout+limits.WebhookWait+slack)
			if err != nil {
				t.Errorf("stalled webhook %d: %v", i, err)
			} else if i == 0 {
				t.Logf("a stalled webhook closed after %s", took)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	// Unbounded, the bodies alone take 24*2 = 48 MiB; capped, at most
	// MaxWebhookBodies of them are read at once.
	grew := int64(peak) - int64(base)
	t.Logf("live heap grew by %d KiB at most", grew>>10)
	if grew > 20<<20 {
		t.Errorf("live heap grew by %d MiB with %d stalled webhooks, want at most 20 MiB", grew>>20, conns)
	}
	// The gateway still answers.
	h.postOK("whatsapp", ana.text("wamid.AFTER", "hello", insideHours))
}

// A webhook over MaxWebhookBodies waits WebhookWait for a turn, then gets
// 503 with Retry-After; a turn freed is taken again.
func TestWebhookTurns(t *testing.T) {
	limits := httpapi.Limits{BodyTimeout: 30 * time.Second, MaxWebhookBodies: 1, WebhookWait: 50 * time.Millisecond}
	h := newHarness(t, harnessOptions{limits: limits})
	stalled := stallWebhook(t, h, []byte(`{"object":`))
	// A badly signed webhook answers 401 when it gets a turn, 503 when the
	// stalled one holds the only turn.
	h.eventually("the stalled webhook holds the only turn", func() bool {
		return h.post("whatsapp", []byte(`{}`), "not-the-secret") == http.StatusServiceUnavailable
	})

	body := ana.text("wamid.T1", "hello", insideHours)
	req, _ := http.NewRequest(http.MethodPost, h.base+"/webhooks/whatsapp", bytes.NewReader(body))
	req.Header.Set(meta.SignatureHeader, meta.Sign(body, waSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(raw), `"busy"`) {
		t.Errorf("webhook over the cap = %d Retry-After %q %s, want 503 busy with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), raw)
	}

	stalled.Close()
	h.eventually("the turn is freed", func() bool { return h.post("whatsapp", body, waSecret) == http.StatusOK })
}

// An idle keep-alive connection is closed after IdleTimeout.
func TestIdleConnectionsClose(t *testing.T) {
	limits := httpapi.Limits{IdleTimeout: 300 * time.Millisecond}
	h := newHarness(t, harnessOptions{limits: limits})
	conn, err := net.Dial("tcp", h.app.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("GET /healthz = %d (close %v), want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
	}
	_ = conn.SetReadDeadline(time.Now().Add(limits.IdleTimeout + slack))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection: read gave %v, want EOF within IdleTimeout", err)
	}
}

// A request body slower than BodyTimeout gets 408 on the JSON API too, while
// a long-polling claim, which sends no body, outlives BodyTimeout.
func TestBodyTimeoutOnTheAPI(t *testing.T) {
	limits := httpapi.Limits{BodyTimeout: 300 * time.Millisecond}
	h := newHarness(t, harnessOptions{limits: limits})
	conn, err := net.Dial("tcp", h.app.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "PUT /api/v1/agents/me/presence HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer "+anaToken+
		"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"status\":"); err != nil {
		t.Fatal(err)
	}
	if _, err := closedWithin(conn, limits.BodyTimeout+slack); err != nil {
		t.Errorf("stalled API body: %v", err)
	}

}

// MaxConnections caps the open connections: one over the cap is served
// only once another closes.
func TestConnectionCap(t *testing.T) {
	h := newHarness(t, harnessOptions{limits: httpapi.Limits{MaxConnections: 2, MaxStreams: 1}})
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", h.app.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		return c, bufio.NewReader(c)
	}
	answered := func(c net.Conn, br *bufio.Reader, within time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(within))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	first, br1 := dial()
	second, br2 := dial()
	if !answered(first, br1, slack) || !answered(second, br2, slack) {
		t.Fatal("the first two connections are not served")
	}
	third, br3 := dial()
	if answered(third, br3, 300*time.Millisecond) {
		t.Fatal("a third connection was served with MaxConnections 2")
	}
	first.Close()
	if !answered(third, br3, slack) {
		t.Error("the third connection is not served once the first closed")
	}
}

// Request methods are folded into a fixed set in the metrics: invented
// methods, however many or long, add no series.
func TestMetricMethodsFolded(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	size := func() int {
		status, body := h.api(http.MethodGet, "/metrics", "", nil)
		if status != http.StatusOK {
			t.Fatalf("GET /metrics = %d", status)
		}
		return len(body)
	}
	h.api(http.MethodTrace, "/healthz", "", nil) // the "other" series exist before
	before := size()
	for i := range 300 {
		h.api(fmt.Sprintf("INVENTED%d", i), "/healthz", "", nil)
	}
	for i := range 5 {
		h.api(strings.Repeat("X", 100<<10)+fmt.Sprint(i), "/healthz", "", nil)
	}
	if grew := size() - before; grew > 4<<10 {
		t.Errorf("/metrics grew by %d bytes after 305 invented methods, want at most 4 KiB", grew)
	}
	families := scrape(t, h.base+"/metrics")
	allowed := map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true, "other": true}
	seen := 0
	for _, f := range families {
		if f.GetName() != "switchboard_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if method := labelValue(m, "method"); !allowed[method] {
				t.Errorf("method label %.40q is not in the fixed set", method)
			} else if method == "other" {
				seen++
			}
		}
	}
	if seen == 0 {
		t.Error("no request counted under method \"other\"")
	}
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestNewRefusesNegativeLimits(t *testing.T) {
	if _, err := New(context.Background(), nil, Options{Limits: httpapi.Limits{MaxConnections: -5}}); err == nil || !strings.Contains(err.Error(), "MaxConnections") {
		t.Errorf("New with a negative MaxConnections gave %v, want an error naming it", err)
	}
}

// The budget is of bytes, not of requests: with room for one body of the
// largest size, many small webhooks are handled at once, none turned away,
// while a stalled body declaring the largest size holds all of it
// (TestWebhookTurns).
func TestSmallWebhooksShareTheBudget(t *testing.T) {
	limits := httpapi.Limits{MaxWebhookBodies: 1, WebhookWait: time.Millisecond}
	h := newHarness(t, harnessOptions{limits: limits})
	const n = 64
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := waUser{fmt.Sprintf("55118%08d", i), "Small"}
			codes <- h.post("whatsapp", u.text(fmt.Sprintf("wamid.SMALL%d", i), "hello", insideHours), waSecret)
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Errorf("a small webhook answered %d with room for 4 MiB of bodies, want 200", c)
		}
	}
}
