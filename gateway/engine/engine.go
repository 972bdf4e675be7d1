package engine

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/bots"
	"switchboard/config"
	"switchboard/internal/outbound"
	"switchboard/queue"
)

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
	// deadLetters keeps the events set aside (guard.go).
	deadLetters DeadLetters
	inboxes     Inboxes
	now         func() time.Time
	log         *slog.Logger
	metrics     *metrics
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
	// bot replaces the configured bot when set (Options.Bot).
	bot bots.Bot
	// lockTTL is the lifetime of a conversation's processing lock.
	lockTTL time.Duration
	// persist bounds how long a worker tries again what it must not lose
	// (Options.Persist).
	persist time.Duration
	// typing throttles typing indicators; backfill indexes old
	// conversations in the background (inboxlist.go).
	typing   throttle
	backfill backgroundJob
	// followUps is each channel's missed list (window.go); nil keeps none.
	followUps FollowUps
	// sessions keeps the console's sign-in sessions and rate counters (people.go).
	sessions WebSessions
	// mediaClient fetches attachments from a platform CDN (media.go).
	mediaClient *http.Client
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
	DeadLetters   DeadLetters
	// Inboxes serves the agents' inbox (inboxlist.go).
	Inboxes Inboxes
	// FollowUps keeps each channel's missed list; nil keeps none.
	FollowUps FollowUps
	// Sessions keeps console sessions and rate counters (*queue.Store).
	Sessions WebSessions
	// EraseTasks removes the queued tasks of a conversation (its erasure).
	EraseTasks func(ctx context.Context, convID string) (int, error)
	// LockTTL bounds how long a worker that died can keep its
	// conversation's events waiting; a live one renews it. Default 2m.
	LockTTL time.Duration
	// Persist, when above 0, is how long a worker tries again, through a
	// Redis outage or failover, the commit of its decision on an inbox
	// event and the record of a message the platform accepted, instead of
	// leaving the event to be decided again or the message to be sent
	// again; 0 does not try again. The gateway sets it with
	// redis.wait_replicas, where the store waits for those writes to reach
	// the replicas.
	Persist time.Duration
	// Bot, when set, answers instead of the configured bot, across reloads
	// (a bot built into the embedding program).
	Bot bots.Bot
	// Notifier delivers notifications; nil drops them (logged).
	Notifier Notifier
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Log receives the engine's logs; nil: slog.Default().
	Log *slog.Logger
	// Registry receives the engine's metrics; nil: a registry of its own.
	Registry prometheus.Registerer
	// MediaRootCAs, when set, are the only certificate authorities the
	// engine trusts when it fetches Messenger and Instagram attachments
	// from the platform's CDN (media.go); tests set their CDN's.
	MediaRootCAs *x509.CertPool
}

// New builds the engine for a configuration. It returns an error naming
// the channel or bot setting at fault.
func New(cfg *config.Config, o Options) (*Engine, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.LockTTL <= 0 {
		o.LockTTL = defaultLockTTL
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	s, err := newSetup(cfg, o.Bot, o.Now)
	if err != nil {
		return nil, err
	}
	e := &Engine{inbox: o.Inbox, convs: o.Conversations, line: o.Line, outbox: o.Outbox, presence: o.Presence,
		events: o.Events, stats: o.Stats, calls: o.Calls, tasks: o.Tasks, deadLetters: o.DeadLetters, inboxes: o.Inboxes, now: o.Now, log: o.Log, notifier: o.Notifier,
		eraseTasks: o.EraseTasks, bot: o.Bot, lockTTL: o.LockTTL, persist: o.Persist, followUps: o.FollowUps, metrics: newMetrics(o.Registry), waiters: newWaiters(), sessions: o.Sessions,
		mediaClient: outbound.NewStreamingClient(outbound.StreamOptions{RootCAs: o.MediaRootCAs})}
	e.assigner = newAssigner(func(ctx context.Context, channelID string) error {
		return e.autoAssign(ctx, e.setup.Load(), channelID)
	}, e.log)
	e.setup.Store(s)
	o.Registry.MustRegister(newLineCollector(e), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "switchboard_backlog_conversations",
		Help: "Conversations with accepted events not yet processed, counted every second; webhooks get 503 above engine.max_backlog.",
	}, func() float64 { n, _ := e.Backlog(); return float64(n) }))
	return e, nil
}

// Start starts the in-process workers (workers of them) and automatic
// assignment, and wakes long-polling claims on each channel id lineJoins
// delivers, until it closes.
func (e *Engine) Start(workers int, lineJoins <-chan string) {
	e.assigner.start()
	e.processor = newProcessor(processRecovering(e.drain), e.inbox.HandBack, e.pending, e.pendingCount, e.tasks, e.log, workers, processorBuffer)
	// Inboxes a crashed gateway left are drained now rather than at the
	// sweep's grace period: draining twice is harmless (the conversation
	// lock), unlike sending twice, so the outbox keeps its grace period.
	e.processor.recover()
	go e.waiters.run(lineJoins)
	e.backfill.start(e.backfillIndexes)
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
	e.backfill.stop()
}

// Handlers are the engine's task handlers, for queue.Tasks.Start.
func (e *Engine) Handlers() queue.Handlers {
	return queue.Handlers{Process: e.Process, Send: e.Send, Notify: e.Notify, Call: e.Call, Erase: e.EraseOnRequest}
}
