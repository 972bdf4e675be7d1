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
	process := func(_ context.Context, conv string) error {
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
	p := newProcessor(process, listPending, countPending, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), 1, 2)
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
