package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"switchboard/internal/testkit"
	"switchboard/queue/redistest"
)

// TestThreeGatewaysOnACluster runs three gateway processes on one Redis
// Cluster, each user's messages spread over the three in turn, as a load
// balancer does: every message is answered exactly once, by whichever
// gateway processed it.
func TestThreeGatewaysOnACluster(t *testing.T) {
	srv := redistest.StartKind(t, "cluster")
	gs := []*Gateway{
		startGateway(t, options{Redis: srv, LogLevel: "warn"}),
		startGateway(t, options{Redis: srv, LogLevel: "warn"}),
		startGateway(t, options{Redis: srv, LogLevel: "warn"}),
	}
	sends := func(user string) []testkit.Send {
		var all []testkit.Send
		for _, g := range gs {
			all = append(all, g.Graph.To(user)...)
		}
		return all
	}
	const users, each = 12, 10
	us := make([]*User, users)
	var wg sync.WaitGroup
	for i := range us {
		u := gs[0].newUser(chOpen)
		us[i] = u
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				body, _ := u.body(fmt.Sprintf("message %d", j), "", "")
				if status, resp := gs[(i+j)%len(gs)].postWebhook(t, chOpen, body); status != http.StatusOK {
					t.Errorf("webhook %d of %s: %d %s", j, u.ID, status, resp)
				}
			}
		}()
	}
	wg.Wait()
	// Then one more message each; events of a conversation are processed
	// in order, so once it is answered every earlier one was.
	for i, u := range us {
		body, _ := u.body("hours?", "", "")
		gs[i%len(gs)].mustPost(t, chOpen, body)
	}
	for _, u := range us {
		eventually(t, "the answer to the last message of "+u.ID, func() bool {
			for _, s := range sends(u.ID) {
				if s.Text == txtHours {
					return true
				}
			}
			return false
		})
	}
	for _, u := range us {
		if got := len(sends(u.ID)) - 1; got != each {
			t.Errorf("%s sent %d messages through three gateways and got %d answers, want %d", u.ID, each, got, each)
		}
	}
	var by []int
	for _, g := range gs {
		n := 0
		for _, u := range us {
			n += len(g.Graph.To(u.ID))
		}
		by = append(by, n)
	}
	t.Logf("answers sent by each gateway: %v", by)
}
