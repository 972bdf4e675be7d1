package engine

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// A burst larger than the buffer: the conversations that did not fit are
// picked up from the pending sets (here a fake) once the workers catch up.
func TestProcessorRefillsFromPendingAfterOverflow(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var processed []string
	pending := map[string]bool{} // what Redis' pending sets would hold
	process := func(_ context.Context, conv string, _ *takenBatch) error {
		<-release
		mu.Lock()
		defer mu.Unlock()
		if pending[conv] {
			processed = append(processed, conv)
			delete(pending, conv)
		}
		return nil
	}
	listPending := func(_ context.Context, n int) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for c := range pending {
			if len(out) < n {
				out = append(out, c)
			}
		}
		return out, nil
	}
	countPending := func(context.Context) (int64, error) {
		mu.Lock()
		defer mu.Unlock()
		return int64(len(pending)), nil
	}
	p := newProcessor(process, nil, listPending, countPending, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), 1, 2)
	defer p.stop()

	convs := []string{"c1", "c2", "c3", "c4", "c5", "c6"}
	for _, c := range convs {
		mu.Lock()
		pending[c] = true
		mu.Unlock()
		if err := p.add(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	if !p.overflowed.Load() {
		t.Fatal("six conversations into one busy worker and a buffer of two did not overflow")
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(processed)
		mu.Unlock()
		if n == len(convs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processed %v, want all of %v", processed, convs)
		}
		time.Sleep(5 * time.Millisecond) // polling an observable condition
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(processed)
	if !slices.Equal(processed, convs) {
		t.Fatalf("processed %v, want each of %v once", processed, convs)
	}
}

// A lock a webhook took with its event reaches the worker with the
// conversation, even when the conversation was already in the buffer
// without one; one that finds the buffer full is handed back, and the
// conversation is left to the refill, like add's.
func TestProcessorHandsTakenLocksToTheWorker(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	got := map[string]string{}     // conversation -> token the worker started from ("" none)
	var handedBack []string        // tokens handed back
	done := make(chan struct{}, 8) // one per drained conversation
	process := func(_ context.Context, conv string, taken *takenBatch) error {
		<-release
		mu.Lock()
		defer mu.Unlock()
		got[conv] = ""
		if taken != nil {
			got[conv] = taken.token
		}
		done <- struct{}{}
		return nil
	}
	handBack := func(_ context.Context, _, token string) error {
		mu.Lock()
		defer mu.Unlock()
		handedBack = append(handedBack, token)
		return nil
	}
	none := func(context.Context, int) ([]string, error) { return nil, nil }
	count := func(context.Context) (int64, error) { return 0, nil }
	p := newProcessor(process, handBack, none, count, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), 1, 2)
	defer p.stop()
	ctx := context.Background()

	// The worker blocks on c0; c1 waits in the buffer without a lock, then
	// gets one; c2 fills the buffer; c3's lock finds no room.
	if err := p.add(ctx, "c0"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); len(p.queue) > 0; {
		if time.Now().After(deadline) {
			t.Fatal("the worker did not take c0")
		}
		time.Sleep(time.Millisecond) // polling an observable condition
	}
	for _, step := range []func() error{
		func() error { return p.add(ctx, "c1") },
		func() error { return p.addTaken(ctx, "c1", &takenBatch{token: "t1"}) },
		func() error { return p.addTaken(ctx, "c2", &takenBatch{token: "t2"}) },
		func() error { return p.addTaken(ctx, "c3", &takenBatch{token: "t3"}) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if p.hasRoom() {
		t.Error("a full buffer has room for a webhook's lock")
	}
	close(release)
	for range 3 {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("drained %v, want c0, c1 and c2", got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]string{"c0": "", "c1": "t1", "c2": "t2"}
	for conv, token := range want {
		if tok, ok := got[conv]; !ok || tok != token {
			t.Errorf("%s drained from lock %q (drained: %v), want %q", conv, tok, ok, token)
		}
	}
	if _, ok := got["c3"]; ok || !slices.Equal(handedBack, []string{"t3"}) {
		t.Errorf("c3 drained: %v, locks handed back %v; want c3 left to the refill and t3 handed back", ok, handedBack)
	}
	if !p.overflowed.Load() {
		t.Error("a lock handed back for a full buffer did not mark the overflow (the refill would not look)")
	}
}
