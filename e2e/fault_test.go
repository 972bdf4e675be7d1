package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// Fault tests: duplicate deliveries, and a Graph API that fails. The slow
// faults (a killed gateway, a Redis outage, two gateways) are in
// scripts/faults.sh.

// faultyGraph sits in front of the harness' FakeGraph: while fail returns
// a status, a send is answered with it and counted; otherwise it goes to
// the FakeGraph, which records it.
type faultyGraph struct {
	g     *FakeGraph
	calls atomic.Int64
	fail  func(n int64) (status int, body string) // n counts every call from 1; status 0: pass through
}

func (f *faultyGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.calls.Add(1)
	if status, body := f.fail(n); status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
		return
	}
	f.g.serve(w, r)
}

// startFaultGateway is startGateway with the Graph API behind fail.
func startFaultGateway(t *testing.T, fail func(n int64) (int, string)) (*Gateway, *faultyGraph) {
	t.Helper()
	g := &Gateway{Graph: newFakeGraph(t), Secrets: newSecrets(), http: &http.Client{Timeout: waitFor}}
	fg := &faultyGraph{g: g.Graph, fail: fail}
	srv := httptest.NewServer(fg)
	t.Cleanup(srv.Close)
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		g.URL = "http://" + net.JoinHostPort("127.0.0.1", port)
		g.Config = writeConfig(t, map[string]any{
			"Listen": net.JoinHostPort("127.0.0.1", port), "GraphURL": srv.URL + "/v24.0",
			"RedisURL": "", "Inactivity": "24h0m0s", "LogLevel": "info", "Secrets": g.Secrets,
		})
		err := g.start(t)
		if err == nil {
			break
		}
		if attempt >= 3 {
			t.Fatalf("gateway did not start: %v\nstderr:\n%s", err, g.Stderr())
		}
	}
	t.Cleanup(func() {
		g.kill()
		if t.Failed() {
			t.Logf("gateway stderr:\n%s", g.Stderr())
		}
	})
	return g, fg
}

// A thousand deliveries of one event, most of them at once: one reply.
func TestFaultThousandDuplicatesProcessedOnce(t *testing.T) {
	g := startGateway(t, options{LogLevel: "warn"})
	u := g.newUser(chOpen)
	body, _ := u.body("hello there", "", "")
	var wg sync.WaitGroup
	var notOK atomic.Int64
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if status, _ := g.postWebhook(t, chOpen, body); status != http.StatusOK {
					notOK.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := notOK.Load(); n > 0 {
		t.Fatalf("%d of 1000 deliveries not answered 200", n)
	}
	eventually(t, "a reply", func() bool { return len(g.Graph.To(u.ID)) >= 1 })
	// A later message of the same user is processed after anything left of
	// the first one: once it is answered, a duplicate would have shown.
	u.Says(t, "one more")
	eventually(t, "the second reply", func() bool { return len(g.Graph.To(u.ID)) >= 2 })
	if sends := g.Graph.To(u.ID); len(sends) != 2 {
		t.Fatalf("1000 deliveries of one event and one other message: %d replies, want 2", len(sends))
	}
}

const (
	graph500    = `{"error":{"message":"(#2) Service temporarily unavailable","type":"OAuthException","code":2}}`
	graph429    = `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429}}`
	graph131047 = `{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047}}`
)

// A Graph API failing for a while (500 twice, then 130429 twice): the send
// is retried and reaches the user exactly once. (The backoff itself is
// unit-tested in queue; asynq schedules retries with one-second resolution.)
func TestFaultGraphErrorsRetriedDeliveredOnce(t *testing.T) {
	g, fg := startFaultGateway(t, func(n int64) (int, string) {
		switch {
		case n <= 2:
			return http.StatusInternalServerError, graph500
		case n <= 4:
			return http.StatusBadRequest, graph429
		}
		return 0, ""
	})
	u := g.newUser(chOpen)
	u.Says(t, "hello")
	eventually(t, "the reply after four failures", func() bool { return len(g.Graph.To(u.ID)) >= 1 })
	u.Says(t, "and again")
	eventually(t, "the second reply", func() bool { return len(g.Graph.To(u.ID)) >= 2 })
	if sends := g.Graph.To(u.ID); len(sends) != 2 {
		t.Fatalf("replies delivered: %d, want exactly 2 (Graph calls: %d)", len(sends), fg.calls.Load())
	}
	if calls := fg.calls.Load(); calls != 6 {
		t.Errorf("Graph calls: %d, want 6 (4 failures, then one success per message)", calls)
	}
}

// A Graph API answering 131047 (the 24 h window is closed): the send is not
// retried and the transcript says the delivery failed.
func TestFaultWindowClosedNotRetried(t *testing.T) {
	g, fg := startFaultGateway(t, func(int64) (int, string) { return http.StatusBadRequest, graph131047 })
	u := g.newUser(chOpen)
	u.Says(t, "hello")
	var conv struct {
		Transcript []struct {
			Author, Text, Delivery string
			DeliveryError          string `json:"delivery_error"`
		} `json:"transcript"`
	}
	failed := func() bool {
		g.api(t, "ana", http.MethodGet, "/api/v1/conversations/"+u.ConversationID(), nil, &conv)
		for _, e := range conv.Transcript {
			if e.Delivery == "failed" {
				return true
			}
		}
		return false
	}
	eventually(t, "the transcript to show a failed delivery", failed)
	// A second message's send is queued after the first; by the time it has
	// failed too, a retry of the first (base 100ms) would have been made.
	u.Says(t, "hello again")
	eventually(t, "the second send to fail too", func() bool { return fg.calls.Load() >= 2 })
	eventually(t, "the retry window of the first send to pass", func() bool {
		g.api(t, "ana", http.MethodGet, "/api/v1/conversations/"+u.ConversationID(), nil, &conv)
		n := 0
		for _, e := range conv.Transcript {
			if e.Delivery == "failed" {
				n++
			}
		}
		return n == 2
	})
	if calls := fg.calls.Load(); calls != 2 {
		t.Fatalf("Graph calls: %d, want 2, one per message (131047 must not be retried)", calls)
	}
	if len(g.Graph.To(u.ID)) != 0 {
		t.Fatal("a send went through")
	}
}
