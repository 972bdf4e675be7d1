package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"switchboard/queue"
	"switchboard/routing"
)

// persistently tries a write again through an outage (replicas late
// included) for at most Options.Persist, and not at all with 0; any other
// failure, and a context that ends, stop it at once.
func TestPersistentlyTriesAgainThroughAnOutage(t *testing.T) {
	outage := fmt.Errorf("%w: %w: 0 of 1 replicas", queue.ErrUnavailable, queue.ErrNotReplicated)
	other := errors.New("not an outage")
	cases := []struct {
		name      string
		persist   time.Duration
		failures  []error // what the attempts return before succeeding
		cancelled bool
		calls     int
		want      error
	}{
		{"no persistence", 0, []error{outage}, false, 1, outage},
		{"outage then success", time.Minute, []error{outage, outage}, false, 3, nil},
		{"not an outage", time.Minute, []error{other}, false, 1, other},
		{"outage then not an outage", time.Minute, []error{outage, routing.ErrNotWaiting}, false, 2, routing.ErrNotWaiting},
		{"work called off", time.Minute, []error{outage, outage}, true, 1, outage},
		{"first try succeeds", time.Minute, nil, false, 1, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &Engine{persist: c.persist, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if c.cancelled {
				cancel()
			}
			calls := 0
			err := e.persistently(ctx, "decision", "wa:u1", func() error {
				calls++
				if calls <= len(c.failures) {
					return c.failures[calls-1]
				}
				return nil
			})
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) || calls != c.calls {
				t.Errorf("persistently = %v after %d calls, want %v after %d", err, calls, c.want, c.calls)
			}
		})
	}
}
