package gateway

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"switchboard/channels"
	"switchboard/queue"
)

// A poison event, one whose processing panics or fails for a reason other
// than an outage, must not stop its conversation, its worker or the
// process: it is taken out of the inbox, recorded on its channel's
// dead-letter list (queue.DeadLetter, shown by the admin stats) and the
// worker goes on with the next event.

// maxReasonLen bounds the reason kept with a dead letter.
const maxReasonLen = 300

// panicError is a panic recovered while handling one event.
type panicError struct{ value any }

func (p panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// handleRecovering is handle with a panic turned into a panicError, logged
// with its stack.
func (e *Engine) handleRecovering(ctx context.Context, convID string, ev *channels.Event, rec *queue.Record) (next *queue.Record, err error) {
	defer func() {
		if r := recover(); r != nil {
			e.log.ErrorContext(ctx, "panic while processing an event", "channel", ev.Channel, "conversation", convID,
				"event_hash", logID(ev.ID), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			next, err = nil, panicError{r}
		}
	}()
	return e.handle(ctx, convID, ev, rec)
}

// deadLetter sets aside an event whose processing failed with cause: it is
// recorded on the channel's dead-letter list, counted and taken out of the
// inbox. It returns an error only when Redis fails, leaving the event in
// the inbox for a retry.
func (e *Engine) deadLetter(ctx context.Context, convID string, ev *channels.Event, cause error) error {
	ch := queue.ChannelOf(convID)
	e.log.ErrorContext(ctx, "event could not be processed; moved to the dead-letter list",
		"channel", ch, "conversation", convID, "event_hash", logID(ev.ID), "err", cause)
	reason := cause.Error()
	if len(reason) > maxReasonLen {
		reason = strings.ToValidUTF8(reason[:maxReasonLen], "") + "…"
	}
	d := queue.DeadLetter{Conversation: convID, EventHash: logID(ev.ID), Reason: reason, At: e.now()}
	if err := e.store.AddDeadLetter(ctx, ch, d); err != nil {
		return err
	}
	e.metrics.eventsDropped.Inc()
	e.metrics.guard.deadLetters.WithLabelValues(ch).Inc()
	return e.store.Ack(ctx, convID, ev.ID)
}

// processRecovering runs process for the in-process workers, turning a
// panic outside the handling of one event (reading the inbox, say) into an
// error: the conversation then goes to the task queue, whose workers
// recover panics too, and this worker goes on.
func processRecovering(process func(context.Context, string) error) func(context.Context, string) error {
	return func(ctx context.Context, convID string) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("conversation %s: panic: %v\n%s", convID, r, debug.Stack())
			}
		}()
		return process(ctx, convID)
	}
}
