package queue_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/queue/redistest"
)

// With WaitReplicas, Accept returns once the event reached that many
// replicas; when fewer acknowledge in time it fails as unavailable (the
// webhook answers 503), and the event stays accepted for the redelivery,
// which waits again.
func TestAcceptWaitsForReplicas(t *testing.T) {
	srv := redistest.Start(t)
	replicas := 0 // what each kind of test Redis has
	if srv.Kind == "cluster" || srv.Kind == "sentinel" {
		replicas = 1
	}
	ctx := context.Background()
	conv := queue.ConversationID("wa", "u1")
	ev := func(id string) *channels.Event {
		return &channels.Event{ID: id, Channel: "wa", User: channels.User{ID: "u1"}, Kind: channels.KindText, Timestamp: t0}
	}
	open := func(want int, timeout time.Duration) (*queue.Store, *[]time.Duration) {
		var mu sync.Mutex
		waits := &[]time.Duration{}
		r, err := queue.Open(ctx, optionsFor(srv, queue.Options{Prefix: "t:", WaitReplicas: want, WaitTimeout: timeout,
			ObserveWait: func(d time.Duration) { mu.Lock(); *waits = append(*waits, d); mu.Unlock() }}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r.Store(), waits
	}

	if replicas > 0 {
		// A replica acknowledges within milliseconds; the timeout leaves
		// room for a busy machine.
		st, waits := open(replicas, 5*time.Second)
		if res, err := st.Accept(ctx, ev("wamid.W1"), conv, time.Hour, t0); err != nil || res != queue.AcceptedNew {
			t.Fatalf("accept with %d replicas = %v, %v", replicas, res, err)
		}
		if res, err := st.Accept(ctx, ev("wamid.W1"), conv, time.Hour, t0); err != nil || res != queue.AcceptedPending {
			t.Fatalf("redelivery = %v, %v, want pending", res, err)
		}
		if len(*waits) != 2 {
			t.Errorf("%d waits observed, want 2", len(*waits))
		}
	}

	st, waits := open(replicas+1, 100*time.Millisecond)
	_, err := st.Accept(ctx, ev("wamid.W2"), conv, time.Hour, t0)
	if !errors.Is(err, queue.ErrNotReplicated) || !queue.IsUnavailable(err) {
		t.Fatalf("accept wanting %d replicas of %d = %v, want ErrNotReplicated and unavailable", replicas+1, replicas, err)
	}
	if len(*waits) != 1 || (srv.Kind != "embedded" && (*waits)[0] < 100*time.Millisecond) {
		t.Errorf("waits observed = %v, want one of at least the 100ms timeout", *waits)
	}
	// The event was accepted nonetheless: the redelivery finds it pending
	// and fails the same way until the replicas catch up.
	if _, err := st.Accept(ctx, ev("wamid.W2"), conv, time.Hour, t0); !errors.Is(err, queue.ErrNotReplicated) {
		t.Fatalf("redelivery = %v, want ErrNotReplicated", err)
	}
	plain, _ := open(0, 0)
	if res, err := plain.Accept(ctx, ev("wamid.W2"), conv, time.Hour, t0); err != nil || res != queue.AcceptedPending {
		t.Fatalf("accept without waiting = %v, %v, want pending", res, err)
	}
}
