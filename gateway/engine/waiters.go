package engine

import (
	"context"
	"sync"
	"time"
)

// waiters wakes long-polling claims when a conversation joins the line of
// one of their channels. Every gateway process subscribes once to Redis'
// line notices (queue.Redis.LineNotices), so a conversation that joins the
// line through another process wakes this one's agents too.
type waiters struct {
	mu   sync.Mutex
	subs map[chan struct{}][]string // wake-up channel -> the channels it waits on
}

func newWaiters() *waiters { return &waiters{subs: map[chan struct{}][]string{}} }

// run wakes the waiters of each channel id received, until notices closes.
func (w *waiters) run(notices <-chan string) {
	for ch := range notices {
		w.wake(ch)
	}
}

func (w *waiters) wake(channel string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for c, chans := range w.subs {
		for _, want := range chans {
			if want == channel {
				select {
				case c <- struct{}{}:
				default:
				}
				break
			}
		}
	}
}

// wait blocks until a conversation joins one of chans, recheck passes or
// ctx ends; it reports whether to look at the lines again (false once ctx
// ended). The recheck is there because a wake-up can be missed: a join
// between the caller's look and this wait, or a notice lost with a Pub/Sub
// connection (a Redis failover, a subscription not yet confirmed).
func (w *waiters) wait(ctx context.Context, chans []string, recheck time.Duration) bool {
	c := make(chan struct{}, 1)
	w.mu.Lock()
	w.subs[c] = chans
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.subs, c)
		w.mu.Unlock()
	}()
	t := time.NewTimer(recheck)
	defer t.Stop()
	select {
	case <-c:
		return true
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// count is the number of waiters.
func (w *waiters) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.subs)
}

// close wakes nobody and forgets every waiter (their contexts end them).
func (w *waiters) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.subs)
}
