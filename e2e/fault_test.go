package e2e

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"switchboard/internal/testkit"
)

// Fault tests: duplicate deliveries, and a Graph API that fails. The slow
// faults (a killed gateway, a Redis outage, two gateways) are in
// scripts/faults.sh.

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

// A Graph API failing for a while (503 twice, then 130429 twice): the send
// is retried and reaches the user exactly once. (The backoff itself is
// unit-tested in queue; asynq schedules retries with one-second resolution.)
func TestFaultGraphErrorsRetriedDeliveredOnce(t *testing.T) {
	g := startGateway(t, options{})
	g.Graph.Respond(func(n int, _ testkit.Send) (int, string) {
		switch {
		case n <= 2:
			return testkit.ErrUnavailable.Status, testkit.ErrUnavailable.JSON()
		case n <= 4:
			return testkit.ErrRateLimit.Status, testkit.ErrRateLimit.JSON()
		}
		return 0, ""
	})
	u := g.newUser(chOpen)
	u.Says(t, "hello")
	eventually(t, "the reply after four failures", func() bool { return len(g.Graph.To(u.ID)) >= 1 })
	u.Says(t, "and again")
	eventually(t, "the second reply", func() bool { return len(g.Graph.To(u.ID)) >= 2 })
	if sends := g.Graph.To(u.ID); len(sends) != 2 {
		t.Fatalf("replies delivered: %d, want exactly 2 (Graph calls: %d)", len(sends), g.Graph.Calls())
	}
	if calls := g.Graph.Calls(); calls != 6 {
		t.Errorf("Graph calls: %d, want 6 (4 failures, then one success per message)", calls)
	}
}

// A Graph API answering 131047 (the 24 h window is closed): the send is not
// retried and the transcript says the delivery failed.
func TestFaultWindowClosedNotRetried(t *testing.T) {
	g := startGateway(t, options{})
	g.Graph.Respond(testkit.Always(testkit.ErrWindowClosed.Status, testkit.ErrWindowClosed.JSON()))
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
	eventually(t, "the second send to fail too", func() bool { return g.Graph.Calls() >= 2 })
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
	if calls := g.Graph.Calls(); calls != 2 {
		t.Fatalf("Graph calls: %d, want 2, one per message (131047 must not be retried)", calls)
	}
	if len(g.Graph.To(u.ID)) != 0 {
		t.Fatal("a send went through")
	}
}
