package engine

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"switchboard/channels"
	"switchboard/queue"
)

// Defences against hostile or broken input that a valid request can still
// carry: a replay older than the dedupe window, and a poison event, one
// whose processing panics or fails for a reason other than an outage. A
// poison event must not stop its conversation, its worker or the process:
// it is taken out of the inbox, recorded on its channel's dead-letter list
// (queue.DeadLetter, shown by the admin stats) and the worker goes on.

// DeadLetters keeps each channel's bounded list of events set aside.
type DeadLetters interface {
	AddDeadLetter(ctx context.Context, channel string, d queue.DeadLetter) error
	DeadLetters(ctx context.Context, channel string, n int) (int64, []queue.DeadLetter, error)
	EraseDeadLetters(ctx context.Context, convID string) (int, error)
}

var _ DeadLetters = (*queue.Store)(nil)

// maxReasonLen bounds the reason kept with a dead letter.
const maxReasonLen = 300

// late reports whether a user message is older than the dedupe window: its
// id may have been forgotten, so it may be a replay of a captured delivery,
// and a reply days later would make no sense anyway. A message without a
// platform timestamp is never late.
func (e *Engine) late(s *setup, ev *channels.Event) bool {
	return !ev.Timestamp.IsZero() && e.now().Sub(ev.Timestamp) > s.dedupeTTL
}

// recordLate stores a late message in the transcript, for the agents, and
// takes it out of the inbox without routing it. A replay of a message the
// transcript already holds is not recorded twice (late messages are rare,
// so reading the transcript is affordable).
func (e *Engine) recordLate(ctx context.Context, convID string, ev *channels.Event) error {
	e.metrics.lateEvents.WithLabelValues(ev.Channel).Inc()
	e.log.WarnContext(ctx, "message older than the dedupe window; recorded, not routed",
		"channel", ev.Channel, "conversation", convID, "event_hash", LogID(ev.ID), "age", e.now().Sub(ev.Timestamp).Round(time.Second))
	entries, err := e.convs.Transcript(ctx, convID)
	if err != nil {
		return err
	}
	entry := userEntry(ev)
	if slices.ContainsFunc(entries, func(x queue.Entry) bool { return x.ID == entry.ID }) {
		return e.inbox.Ack(ctx, convID, ev.ID)
	}
	return e.inbox.Record(ctx, convID, ev.ID, entry)
}

// LogID is what warning and error lines show of a platform event id: a
// short hash, since ids can hold a phone number or a page-scoped user id
// (a Messenger read is "read:<PSID>:<watermark>"). The same id always
// gives the same hash, so lines about one event can be matched.
func LogID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// panicError is a panic recovered while handling one event.
type panicError struct{ value any }

func (p panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// handleRecovering is handle with a panic turned into a panicError, logged
// with its stack.
func (e *Engine) handleRecovering(ctx context.Context, convID, token string, ev *channels.Event, rec *queue.Record) (next *queue.Record, err error) {
	defer func() {
		if r := recover(); r != nil {
			e.log.ErrorContext(ctx, "panic while processing an event", "channel", ev.Channel, "conversation", convID,
				"event_hash", LogID(ev.ID), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			next, err = nil, panicError{r}
		}
	}()
	return e.handle(ctx, convID, token, ev, rec)
}

// deadLetter sets aside an event whose processing failed with cause: it is
// recorded on the channel's dead-letter list, counted and taken out of the
// inbox. It returns an error only when Redis fails, leaving the event in
// the inbox for a retry.
func (e *Engine) deadLetter(ctx context.Context, convID string, ev *channels.Event, cause error) error {
	ch := queue.ChannelOf(convID)
	e.log.ErrorContext(ctx, "event could not be processed; moved to the dead-letter list",
		"channel", ch, "conversation", convID, "event_hash", LogID(ev.ID), "err", cause)
	reason := cause.Error()
	if len(reason) > maxReasonLen {
		reason = strings.ToValidUTF8(reason[:maxReasonLen], "") + "…"
	}
	d := queue.DeadLetter{Conversation: convID, EventHash: LogID(ev.ID), Reason: reason, At: e.now()}
	if err := e.deadLetters.AddDeadLetter(ctx, ch, d); err != nil {
		return err
	}
	e.metrics.eventsDropped.Inc()
	e.metrics.deadLetters.WithLabelValues(ch).Inc()
	return e.inbox.Ack(ctx, convID, ev.ID)
}

// processRecovering runs process for the in-process workers, turning a
// panic outside the handling of one event (reading the inbox, say) into an
// error: the conversation then goes to the task queue, whose workers
// recover panics too, and this worker goes on.
func processRecovering(process func(context.Context, string, *takenBatch) error) func(context.Context, string, *takenBatch) error {
	return func(ctx context.Context, convID string, taken *takenBatch) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("conversation %s: panic: %v\n%s", convID, r, debug.Stack())
			}
		}()
		return process(ctx, convID, taken)
	}
}
