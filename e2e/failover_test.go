package e2e

import (
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/queue/redistest"
)

// TestFailoverLosesNothing replaces the Redis master that holds a channel
// while users write to it, with redis.wait_replicas: 1: every message
// delivered until it was answered 200, as Meta does, is answered exactly
// once. It runs on the cluster or Sentinel set SWITCHBOARD_TEST_REDIS asks
// for, and on a cluster otherwise.
func TestFailoverLosesNothing(t *testing.T) {
	kind := os.Getenv(redistest.EnvMode)
	if kind != "sentinel" {
		kind = "cluster"
	}
	srv := redistest.StartKind(t, kind)
	g := startGateway(t, options{Redis: srv, WaitReplicas: 1, LogLevel: "error"})
	// Each user writes until told to stop: before, during and after the
	// failover.
	const users = 16
	var accepted, refused atomic.Int64
	stop := make(chan struct{})
	sent := make([]int, users)
	var wg sync.WaitGroup
	us := make([]*User, users)
	for i := range us {
		u := g.newUser(chOpen)
		us[i] = u
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ; j++ {
				select {
				case <-stop:
					sent[i] = j
					return
				default:
				}
				body, _ := u.body(fmt.Sprintf("message %d", j), "", "")
				// Meta redelivers for hours; here a refused message is tried
				// for 4 × waitFor: a Sentinel failover took up to 20 s in CI,
				// and writes then wait for the new master's replica
				// (wait_replicas) until the old master is back as one.
				deadline := time.Now().Add(4 * waitFor)
				for {
					status, _ := g.postWebhook(t, chOpen, body)
					if status == http.StatusOK {
						break
					}
					refused.Add(1)
					if time.Now().After(deadline) {
						t.Errorf("message %d of %s never answered 200 (last %d)", j, u.ID, status)
						sent[i] = j
						return
					}
					time.Sleep(20 * time.Millisecond) // Meta's redelivery pace, not waiting for an effect
				}
				accepted.Add(1)
				// Like a person, wait (a while) for the answer before
				// writing again, so that no backlog builds up; a lost
				// message shows in the count below.
				for answered := time.Now().Add(waitFor); len(g.Graph.To(u.ID)) <= j && time.Now().Before(answered); {
					time.Sleep(5 * time.Millisecond) // polling the fake Graph API
				}
			}
		}()
	}
	eventually(t, "50 messages accepted", func() bool { return accepted.Load() >= 50 })
	start, before := time.Now(), accepted.Load()
	srv.Failover("{" + chOpen + "}")
	took, during := time.Since(start), accepted.Load()-before
	// Users whose conversation was being processed at the failover wait
	// for it until its lock expires (below); the others go on.
	for after := time.Now().Add(3 * time.Minute); accepted.Load() < before+during+50; {
		if time.Now().After(after) {
			t.Fatalf("%d messages answered 200 in 3 minutes after the failover, want 50", accepted.Load()-before-during)
		}
		time.Sleep(20 * time.Millisecond) // polling the load's progress
	}
	close(stop)
	wg.Wait()
	t.Logf("%s failover took %v; %d messages answered 200 while it ran", kind, took, during)
	if t.Failed() {
		return
	}
	// A conversation a worker held when its master died stays locked
	// until the lock expires, and an inbox whose processing was lost is
	// found by the sweep after two minutes: late, never lost. Wait for
	// that, then count.
	late := time.Now().Add(3 * time.Minute)
	for i, u := range us {
		for len(g.Graph.To(u.ID)) < sent[i] && time.Now().Before(late) {
			time.Sleep(50 * time.Millisecond) // polling the fake Graph API
		}
	}
	lost, twice := 0, 0
	for i, u := range us {
		each := sent[i]
		// Messages of one conversation are processed in order: once the
		// sync message is answered, every earlier one was.
		u.sync(t)
		got := len(g.Graph.To(u.ID)) - 1
		switch {
		case got < each:
			lost += each - got
		case got > each:
			twice += got - each
		}
	}
	t.Logf("%d messages answered 200 (%d deliveries refused with 503 and delivered again): %d lost, %d answered twice", accepted.Load(), refused.Load(), lost, twice)
	// A handed-over Cluster master has nothing in flight; a killed
	// Sentinel master can have writes its replica never got, but none of
	// those a reply depends on: a worker sends only what its replicated
	// commit decided, and keeps trying the record of what the Graph API
	// accepted until the new master has it on its replica.
	if lost != 0 || twice != 0 {
		t.Fatalf("after a %s failover with wait_replicas 1: %d messages lost, %d answered twice; want 0 and 0", kind, lost, twice)
	}
}
