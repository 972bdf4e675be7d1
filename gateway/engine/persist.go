package engine

import (
	"context"
	"errors"
	"time"

	"switchboard/queue"
)

// Pauses between the attempts of persistently: growing from the first to
// the last.
const (
	persistFirstPause = 50 * time.Millisecond
	persistLastPause  = time.Second
)

// persistently runs write until it succeeds or fails other than for an
// outage, for at most e.persist (Options.Persist) after the first
// failure, or until ctx ends. It is for writes whose loss would make a
// reply go out twice: the commit of a worker's decision (tried again as it
// is, queue.Store.Commit recognises one already applied) and the record of
// a message the platform accepted. A failure that wraps queue.ErrUnavailable
// (queue.ErrNotReplicated among them) is an outage: Redis unreachable, a
// master being replaced, replicas not acknowledging yet.
func (e *Engine) persistently(ctx context.Context, what, convID string, write func() error) error {
	err := write()
	if e.persist <= 0 || !errors.Is(err, queue.ErrUnavailable) {
		return err
	}
	e.log.WarnContext(ctx, what+" not confirmed by Redis; trying again", "conversation", convID, "err", err)
	deadline, pause := time.Now().Add(e.persist), persistFirstPause
	for errors.Is(err, queue.ErrUnavailable) && time.Now().Before(deadline) {
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause = min(2*pause, persistLastPause)
		err = write()
	}
	if err == nil {
		e.log.InfoContext(ctx, what+" confirmed by Redis after an outage", "conversation", convID)
	}
	return err
}
