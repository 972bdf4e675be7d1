package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/routing"
)

// The inbound path: Ingest makes a webhook's event durable in its
// conversation's inbox; Process (on an in-process worker, or as a task)
// drains the inbox in order, handling each event: a user message is
// applied (decide.go), a status moves the delivery of what was sent, and
// anything else is recorded for the agent.

// defaultLockTTL bounds how long a dead worker can block its
// conversation's inbox (Options.LockTTL).
const defaultLockTTL = 2 * time.Minute

// Ingest makes an inbound event durable in its conversation's inbox and
// queues its processing. It returns queue.ErrUnavailable (wrapped) when
// Redis cannot be reached: the webhook must then answer 503.
//
// When a worker will soon be free, the same round trip takes the
// conversation's processing lock and reads what the worker would read
// first (queue.Store.AcceptAndTake), and the worker starts from that.
func (e *Engine) Ingest(ctx context.Context, ev *channels.Event) (queue.Accepted, error) {
	convID := queue.ConversationID(ev.Channel, ev.User.ID)
	token := ""
	if e.processor.hasRoom() {
		token = queue.NewEntryID()
	}
	res, batch, taken, err := e.inbox.AcceptAndTake(ctx, ev, convID, e.setup.Load().dedupeTTL, e.now(), token, e.lockTTL, inboxBatch)
	if err != nil {
		return res, err
	}
	if res == queue.AcceptedDuplicate {
		return res, nil
	}
	if taken {
		return res, e.processor.addTaken(ctx, convID, &takenBatch{token: token, batch: batch})
	}
	return res, e.processor.add(ctx, convID)
}

// takenBatch is a conversation's processing lock, taken under token, and
// the first batch read with it.
type takenBatch struct {
	token string
	batch queue.Batch
}

// Process drains one conversation's inbox in order; it is the task
// handler of processing.
func (e *Engine) Process(ctx context.Context, convID string) error {
	return e.drain(ctx, convID, nil)
}

// drain drains one conversation's inbox in order, starting from taken
// when a webhook took the lock with its event, else taking it. A task that
// finds the conversation locked returns at once: the lock holder sees its
// event before it lets go (see queue.Store.Unlock). The holder renews the
// lock while it works (a slow bot may outlast it); once the lock is lost
// to another worker it stops, and its commits, which carry the lock's
// token, are refused, so no event is handled twice. The records of its
// sends ride with the release (heldRecords).
func (e *Engine) drain(ctx context.Context, convID string, taken *takenBatch) error {
	if taken == nil {
		token := queue.NewEntryID()
		batch, ok, err := e.inbox.Take(ctx, convID, token, e.lockTTL, inboxBatch, true)
		if err != nil || !ok {
			return err
		}
		if len(batch.Events) > 0 { // not a conversation another worker just emptied
			e.metrics.takes.WithLabelValues("worker").Inc()
		}
		taken = &takenBatch{token: token, batch: batch}
	} else {
		e.metrics.takes.WithLabelValues("webhook").Inc()
	}
	token, batch := taken.token, taken.batch
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go e.keepLock(ctx, stop, convID, token)
	held := &heldRecords{conv: convID}
	ctx = withHeldRecords(ctx, held)
	defer e.writeHeld(ctx, held) // what Unlock did not write, however the drain ends
	for {
		// Each decision commits the conversation it returns, so the next
		// event starts from it without reading it again.
		rec := batch.Record
		for i := range batch.Events {
			// Only the batch's last record rides with the release: one held
			// while the next event is handled would widen the window in which
			// a crash leaves a sent reply unrecorded (and sent again).
			if len(held.list) > 0 {
				e.writeHeld(ctx, held)
			}
			ev := &batch.Events[i]
			next, err := e.handleRecovering(ctx, convID, token, ev, rec)
			if errors.Is(err, queue.ErrLockLost) || errors.Is(err, queue.ErrEventGone) {
				// Another worker has the conversation now and handles the rest.
				e.log.WarnContext(ctx, "conversation lock lost mid-batch; its holder goes on", "conversation", convID, "event_hash", LogID(ev.ID))
				return nil
			}
			if errors.Is(err, queue.ErrUnavailable) || ctx.Err() != nil {
				// Redis is down (or we are shutting down, or lost the lock): the
				// event stays in the inbox and the task is retried once the lock
				// expires.
				return fmt.Errorf("conversation %s, event %s: %w", convID, LogID(ev.ID), err)
			}
			if err != nil {
				// Not an outage (a panic included): retrying would fail the same
				// way and block the conversation. Set it aside and move on.
				if err := e.deadLetter(ctx, convID, ev, err); err != nil {
					return err
				}
				next = nil
			}
			rec = next
		}
		released, err := e.inbox.Unlock(ctx, convID, token, e.lockTTL, held.list...)
		if err != nil {
			return err
		}
		e.metrics.sendRecords.WithLabelValues("release").Add(float64(len(held.list)))
		held.list = held.list[:0]
		if released {
			return nil
		}
		var ok bool
		if batch, ok, err = e.inbox.Take(ctx, convID, token, e.lockTTL, inboxBatch, false); err != nil || !ok {
			return err
		}
	}
}

// keepLock renews the processing lock of a conversation every third of
// its lifetime until ctx ends; when the lock is lost to another worker it
// cancels the work (stop). A renewal that fails for an outage is tried
// again at the next tick: the commits' token check covers the gap.
func (e *Engine) keepLock(ctx context.Context, stop context.CancelFunc, convID, token string) {
	// Redis counts the lock's lifetime in wall-clock time, not the
	// application's clock.
	t := time.NewTicker(e.lockTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := e.inbox.Renew(ctx, convID, token, e.lockTTL)
			if errors.Is(err, queue.ErrLockLost) {
				stop()
				return
			}
			if err != nil && ctx.Err() == nil {
				e.log.WarnContext(ctx, "conversation lock not renewed; trying again", "conversation", convID, "err", err)
			}
		}
	}
}

// pending lists up to n conversations with events waiting, across the
// configured channels, for the processor's refill after an overflow.
// pendingCount is how many conversations have events in their inbox,
// across channels.
func (e *Engine) pendingCount(ctx context.Context) (int64, error) {
	var total int64
	for id := range e.setup.Load().channels {
		n, err := e.inbox.PendingCount(ctx, id)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// Backlog is the last count of conversations with accepted events not yet
// processed (at most a second old) and engine.max_backlog; webhooks are
// refused while it is above.
func (e *Engine) Backlog() (n int64, limit int) {
	limit = e.setup.Load().cfg.Engine.MaxBacklog
	if e.processor == nil {
		return 0, limit
	}
	return e.processor.backlog.Load(), limit
}

func (e *Engine) pending(ctx context.Context, n int) ([]string, error) {
	var out []string
	for id := range e.setup.Load().channels {
		ids, err := e.inbox.Pending(ctx, id, n-len(out))
		if err != nil {
			return out, err
		}
		out = append(out, ids...)
		if len(out) >= n {
			break
		}
	}
	return out, nil
}

// inboxBatch is how many inbox events one read takes.
const inboxBatch = 20

// handle processes one inbound event of a conversation. rec, when not nil,
// is the conversation as last read or committed; handle returns it as it
// stands after the event (nil when unknown).
func (e *Engine) handle(ctx context.Context, convID, token string, ev *channels.Event, rec *queue.Record) (*queue.Record, error) {
	start := time.Now()
	defer func() { e.metrics.observeEvent(ev, time.Since(start)) }()
	s := e.setup.Load()
	switch {
	case ev.Kind == channels.KindStatus:
		return rec, e.applyStatus(ctx, convID, ev)
	case ev.Kind.IsUserMessage() && e.late(s, ev):
		return rec, e.recordLate(ctx, convID, ev)
	case ev.Kind.IsUserMessage() && !ev.Standby:
		return e.apply(ctx, s, convID, routing.Input{Kind: routing.InUserMessage, Event: ev}, ev.ID, &queue.Commit{Token: token}, rec)
	case ev.Kind == channels.KindEcho:
		// An echo of our own send is already in the transcript. Its metadata
		// (Payload) is our entry id; the platform id covers echoes that lost it.
		if strings.HasPrefix(ev.Payload, queue.EntryIDPrefix) {
			return rec, e.inbox.Ack(ctx, convID, ev.ID)
		}
		if known, err := e.inbox.KnownMessage(ctx, convID, ev.ID); err != nil || known {
			if err == nil {
				err = e.inbox.Ack(ctx, convID, ev.ID)
			}
			return rec, err
		}
	}
	// Everything else is recorded for the agent, never routed.
	return rec, e.inbox.Record(ctx, convID, ev.ID, userEntry(ev))
}

// applyStatus moves the delivery status of the messages a status names.
func (e *Engine) applyStatus(ctx context.Context, convID string, ev *channels.Event) error {
	st := ev.Status
	if st != nil {
		detail := ""
		if len(st.Errors) > 0 {
			detail = fmt.Sprintf("%d: %s", st.Errors[0].Code, firstNonEmpty(st.Errors[0].Details, st.Errors[0].Message, st.Errors[0].Title))
		}
		for _, mid := range st.MessageIDs {
			entryID, changed, err := e.outbox.UpdateDelivery(ctx, convID, mid, st.Status, detail)
			if err != nil {
				return err
			}
			if changed && st.Status == channels.StatusFailed {
				e.publish(ctx, queue.Notice{Type: NoticeSendFailed, Channel: ev.Channel, Conversation: convID, At: e.now(), Text: entryID + ": " + detail})
			}
		}
		if !st.Watermark.IsZero() {
			if err := e.outbox.DeliveredUpTo(ctx, convID, st.Watermark, st.Status); err != nil {
				return err
			}
		}
	}
	return e.inbox.Ack(ctx, convID, ev.ID)
}

// NoticeSendFailed tells agents a message will not reach the user.
const NoticeSendFailed routing.NoticeKind = "message.failed"
