package engine

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
)

// Signals for a channel already pending coalesce, channels are assigned in
// the order signaled, and nothing runs after stop.
func TestAssignerCoalescesSignals(t *testing.T) {
	started, release := make(chan string, 10), make(chan struct{})
	var mu sync.Mutex
	var assigned []string
	a := newAssigner(func(_ context.Context, ch string) error {
		started <- ch
		<-release
		mu.Lock()
		defer mu.Unlock()
		assigned = append(assigned, ch)
		return nil
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	a.start()

	a.signal("wa-main")
	if got := <-started; got != "wa-main" {
		t.Fatalf("first assignment of %q, want wa-main", got)
	}
	// While wa-main is being assigned: fb-page twice and wa-main again.
	a.signal("fb-page", "wa-main")
	a.signal("fb-page")
	release <- struct{}{}
	for _, want := range []string{"fb-page", "wa-main"} {
		if got := <-started; got != want {
			t.Fatalf("next assignment of %q, want %q", got, want)
		}
		release <- struct{}{}
	}
	a.stop()
	a.signal("ig-shop") // dropped: the sweep makes it up
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"wa-main", "fb-page", "wa-main"}; !slices.Equal(assigned, want) {
		t.Errorf("assigned %v, want %v", assigned, want)
	}
	if len(started) > 0 { // stop waited for the goroutine: nothing can come later
		t.Errorf("%q assigned after stop", <-started)
	}
}
