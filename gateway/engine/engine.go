package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/channels"
	"switchboard/config"
	"switchboard/queue"
	"switchboard/routing"
)

// lockTTL bounds how long a dead worker can block its conversation's inbox.
const lockTTL = 2 * time.Minute

// maxConflicts bounds the retries of a decision that keeps losing the
// optimistic-lock race (an agent acting at the same instant as the user).
const maxConflicts = 20

// Engine runs routing decisions: it loads a conversation, asks routing what
// to do with one input, calls the bot when routing says so, commits the new
// state with every effect in one atomic step, and carries the effects out.
// It also runs the in-process workers, sends messages, runs the periodic
// sweep and automatic assignment, and answers the agent and admin APIs'
// questions. Build it with New; Start starts its workers.
type Engine struct {
	inbox    Inbox
	convs    Conversations
	line     Line
	outbox   Outbox
	presence Presence
	events   Events
	stats    Stats
	calls    Calls
	tasks    Tasks
	now      func() time.Time
	log      *slog.Logger
	metrics  *metrics
	// setup is swapped whole on reload; readers load it once per operation.
	setup atomic.Pointer[setup]
	// notifier delivers escalation notifications.
	notifier Notifier
	// eraseTasks removes a conversation's queued tasks (contact erasure).
	eraseTasks func(ctx context.Context, convID string) (int, error)
	// processor drains inboxes in-process, off the webhook path.
	processor *processor
	// waiters wakes long-polling claims.
	waiters *waiters
	// assigner runs automatic assignment when decisions call for it.
	assigner *assigner
}

// Options are what New needs besides the configuration.
type Options struct {
	// What the engine keeps in Redis (*queue.Store satisfies them all) and
	// its task queue (*queue.Tasks).
	Inbox         Inbox
	Conversations Conversations
	Line          Line
	Outbox        Outbox
	Presence      Presence
	Events        Events
	Stats         Stats
	Calls         Calls
	Tasks         Tasks
	// EraseTasks removes the queued tasks of a conversation (its erasure).
	EraseTasks func(ctx context.Context, convID string) (int, error)
	// Notifier delivers notifications; nil drops them (logged).
	Notifier Notifier
	// Now is the clock.
	Now func() time.Time
	Log *slog.Logger
	// Registry receives the engine's metrics.
	Registry prometheus.Registerer
}

// New builds the engine for a configuration. It returns an error naming
// the channel or bot setting at fault.
func New(cfg *config.Config, o Options) (*Engine, error) {
	s, err := newSetup(cfg, o.Now)
	if err != nil {
		return nil, err
	}
	e := &Engine{inbox: o.Inbox, convs: o.Conversations, line: o.Line, outbox: o.Outbox, presence: o.Presence,
		events: o.Events, stats: o.Stats, calls: o.Calls, tasks: o.Tasks, now: o.Now, log: o.Log, notifier: o.Notifier,
		eraseTasks: o.EraseTasks, metrics: newMetrics(o.Registry), waiters: newWaiters()}
	e.assigner = newAssigner(e.autoAssign, e.log)
	e.setup.Store(s)
	o.Registry.MustRegister(newLineCollector(e))
	return e, nil
}

// Start starts the in-process workers (workers of them) and automatic
// assignment, and wakes long-polling claims on each channel id lineJoins
// delivers, until it closes.
func (e *Engine) Start(workers int, lineJoins <-chan string) {
	e.assigner.start()
	e.processor = newProcessor(e.Process, e.pending, e.tasks, e.log, workers, processorBuffer)
	// Inboxes a crashed gateway left are drained now rather than at the
	// sweep's grace period: draining twice is harmless (the conversation
	// lock), unlike sending twice, so the outbox keeps its grace period.
	e.processor.recover()
	go e.waiters.run(lineJoins)
}

// Stop finishes the conversations being processed and hands the buffered
// ones to the task queue, then finishes the assignment under way;
// long-polling claims end with their requests.
func (e *Engine) Stop() {
	if e.processor != nil {
		e.processor.stop()
	}
	e.assigner.stop()
	e.waiters.close()
}

// Handlers are the engine's task handlers, for queue.Tasks.Start.
func (e *Engine) Handlers() queue.Handlers {
	return queue.Handlers{Process: e.Process, Send: e.Send, Notify: e.Notify, Call: e.Call}
}

// Ingest makes an inbound event durable in its conversation's inbox and
// queues its processing. It returns queue.ErrUnavailable (wrapped) when
// Redis cannot be reached: the webhook must then answer 503.
func (e *Engine) Ingest(ctx context.Context, ev *channels.Event) (queue.Accepted, error) {
	convID := queue.ConversationID(ev.Channel, ev.User.ID)
	res, err := e.inbox.Accept(ctx, ev, convID, e.setup.Load().dedupeTTL, e.now())
	if err != nil {
		return res, err
	}
	if res == queue.AcceptedDuplicate {
		return res, nil
	}
	return res, e.processor.add(ctx, convID)
}

// Process drains one conversation's inbox in order. A task that finds the
// conversation locked returns at once: the lock holder sees its event
// before it lets go (see queue.Store.Unlock).
func (e *Engine) Process(ctx context.Context, convID string) error {
	token := queue.NewEntryID()
	batch, ok, err := e.inbox.Take(ctx, convID, token, lockTTL, inboxBatch, true)
	if err != nil || !ok {
		return err
	}
	for {
		// Each decision commits the conversation it returns, so the next
		// event starts from it without reading it again.
		rec := batch.Record
		for i := range batch.Events {
			ev := &batch.Events[i]
			next, err := e.handle(ctx, convID, ev, rec)
			if errors.Is(err, queue.ErrUnavailable) || ctx.Err() != nil {
				// Redis is down (or we are shutting down): the event stays in the
				// inbox and the task is retried once the lock expires.
				return fmt.Errorf("conversation %s, event %s: %w", convID, ev.ID, err)
			}
			if err != nil {
				// Not an outage: retrying would fail the same way and block the
				// conversation. Log it with its id and move on.
				e.log.Error("event could not be processed; dropped", "conversation", convID, "event_id", ev.ID, "err", err)
				e.metrics.eventsDropped.Inc()
				if err := e.inbox.Ack(ctx, convID, ev.ID); err != nil {
					return err
				}
				next = nil
			}
			rec = next
		}
		released, err := e.inbox.Unlock(ctx, convID, token, lockTTL)
		if err != nil || released {
			return err
		}
		if batch, ok, err = e.inbox.Take(ctx, convID, token, lockTTL, inboxBatch, false); err != nil || !ok {
			return err
		}
	}
}

// pending lists up to n conversations with events waiting, across the
// configured channels, for the processor's refill after an overflow.
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
func (e *Engine) handle(ctx context.Context, convID string, ev *channels.Event, rec *queue.Record) (*queue.Record, error) {
	start := time.Now()
	defer func() { e.metrics.observeEvent(ev, time.Since(start)) }()
	switch {
	case ev.Kind == channels.KindStatus:
		return rec, e.applyStatus(ctx, convID, ev)
	case ev.Kind.IsUserMessage() && !ev.Standby:
		return e.apply(ctx, convID, routing.Input{Kind: routing.InUserMessage, Event: ev}, ev.ID, nil, rec)
	case ev.Kind == channels.KindEcho:
		// An echo of our own send is already in the transcript. Its metadata
		// (Payload) is our entry id; the platform id covers echoes that lost it.
		if strings.HasPrefix(ev.Payload, queue.EntryIDPrefix) {
			return rec, e.inbox.Ack(ctx, convID, ev.ID)
		}
		if known, err := e.inbox.KnownMessage(ctx, ev.Channel, ev.ID); err != nil || known {
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
			_, entryID, changed, err := e.outbox.UpdateDelivery(ctx, ev.Channel, mid, st.Status, detail)
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
const NoticeSendFailed routing.Notice = "message.failed"
