package queue

import (
	"context"
	"time"

	"switchboard/channels"
)

// Accept is AcceptAndTake without the lock: the event stored, nothing read.
func (s *Store) Accept(ctx context.Context, ev *channels.Event, convID string, dedupeTTL time.Duration, now time.Time) (Accepted, error) {
	res, _, _, err := s.AcceptAndTake(ctx, ev, convID, dedupeTTL, now, "", 0, 0)
	return res, err
}

// DroppedLogs returns, by message, how many copies of asynq's lines were
// dropped since each was last logged.
func (t *Tasks) DroppedLogs() map[string]int {
	t.log.mu.Lock()
	defer t.log.mu.Unlock()
	out := map[string]int{}
	for msg, l := range t.log.seen {
		out[msg] = l.suppressed
	}
	return out
}
