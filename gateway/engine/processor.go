package engine

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// processor drains conversations' inboxes in-process, off the webhook's
// response path. The webhook answers 200 once the event is in its
// conversation's inbox: that write is the durable step, and it also puts
// the conversation in its channel's pending set, a durable list of the
// conversations with work. A worker here then drains the inbox and sends
// the replies.
//
// The webhook hands the conversation to the workers through a buffer,
// with the processing lock and the first batch when it took them with the
// event (Engine.Ingest). When the buffer is full (a burst) it hands
// nothing (a lock it took is handed back): the refill loop feeds the
// workers from the pending sets as they catch up. When processing fails,
// the conversation goes to the durable task queue, which retries it; and if
// the process dies, the sweep finds the pending inbox and queues it
// (Engine.requeueLost). An event may be late; it is never lost.
//
// Doing the common case in-process, rather than through a task per event,
// saves the task queue's enqueue, dequeue and completion scripts: Redis
// was the bottleneck of the message path (BENCHMARKS.md).
type processor struct {
	// process drains a conversation, from taken when not nil; handBack
	// lets go of a taken lock no worker will drain under.
	process  func(ctx context.Context, convID string, taken *takenBatch) error
	handBack func(ctx context.Context, convID, token string) error
	// pending lists up to n conversations with work, from Redis; count
	// counts them.
	pending func(ctx context.Context, n int) ([]string, error)
	count   func(ctx context.Context) (int64, error)
	// backlog is count's last answer (measure).
	backlog atomic.Int64
	tasks   Tasks
	log     *slog.Logger
	queue   chan string
	wg      sync.WaitGroup

	// mu guards closing the queue: a request still running after the HTTP
	// server's shutdown timeout may call add after stop.
	mu       sync.RWMutex
	closed   bool
	stopping atomic.Bool
	// overflowed is set when add found the buffer full: the refill loop
	// then reads the pending sets until they are empty.
	overflowed atomic.Bool
	done       chan struct{}

	// queuedMu guards queued, the conversations in the buffer: one entry
	// each, however many of its events arrive before a worker takes it (the
	// worker drains them all), with the lock and batch a webhook took (nil
	// when none did).
	queuedMu sync.Mutex
	queued   map[string]*takenBatch
}

const (
	// processorBuffer bounds the conversations waiting for a worker.
	processorBuffer = 4096
	// refillEvery is how often the refill loop looks for room after an
	// overflow.
	refillEvery = 20 * time.Millisecond
	// refillBatch bounds the pending conversations one refill reads.
	refillBatch = 1024
	// measureEvery is how often the backlog is counted.
	measureEvery = time.Second
)

func newProcessor(process func(context.Context, string, *takenBatch) error, handBack func(context.Context, string, string) error,
	pending func(context.Context, int) ([]string, error), count func(context.Context) (int64, error),
	tasks Tasks, log *slog.Logger, workers, buffer int) *processor {
	p := &processor{process: process, handBack: handBack, pending: pending, count: count, tasks: tasks, log: log,
		queue: make(chan string, buffer), done: make(chan struct{}), queued: map[string]*takenBatch{}}
	for range max(workers, 1) {
		p.wg.Add(1)
		go p.run()
	}
	go p.every(refillEvery, p.refill)
	go p.every(measureEvery, p.measure)
	return p
}

// every runs fn every d until the processor stops.
func (p *processor) every(d time.Duration, fn func()) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
			fn()
		}
	}
}

// measure counts the backlog, the conversations with accepted events not
// yet processed (in the buffer, with a worker or only in Redis), every
// measureEvery: webhooks are refused above engine.max_backlog.
func (p *processor) measure() {
	ctx, cancel := context.WithTimeout(context.Background(), measureEvery)
	defer cancel()
	if n, err := p.count(ctx); err == nil {
		p.backlog.Store(n)
	}
}

func (p *processor) run() {
	defer p.wg.Done()
	ctx := context.Background()
	for convID := range p.queue {
		// Forget it before draining: an event accepted from now on queues
		// the conversation again (or is seen by this drain, see Unlock).
		p.queuedMu.Lock()
		taken := p.queued[convID]
		delete(p.queued, convID)
		p.queuedMu.Unlock()
		if !p.stopping.Load() {
			err := p.process(ctx, convID, taken)
			if err == nil {
				continue
			}
			p.log.Warn("processing failed; handing it to the task queue", "conversation", convID, "err", err)
		} else if taken != nil {
			p.letGo(ctx, convID, taken)
		}
		if err := p.tasks.EnqueueProcess(ctx, convID); err != nil {
			p.log.Warn("processing not queued; the sweep will queue it", "conversation", convID, "err", err)
		}
	}
}

// add asks for a conversation's inbox to be drained. It never blocks: when
// the buffer is full the refill loop picks the conversation up from Redis;
// after stop the work goes to the task queue.
func (p *processor) add(ctx context.Context, convID string) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return p.tasks.EnqueueProcess(ctx, convID)
	}
	if !p.enqueue(convID, nil) {
		p.overflowed.Store(true)
	}
	return nil
}

// hasRoom says whether a conversation added now would soon have a worker:
// only then does a webhook take its lock with the event.
func (p *processor) hasRoom() bool {
	return !p.stopping.Load() && len(p.queue) < cap(p.queue)/2
}

// addTaken is add for a conversation whose lock and first batch a webhook
// took: the worker starts from them. When the buffer is full, or after
// stop, the lock is handed back and the conversation goes where add sends
// it.
func (p *processor) addTaken(ctx context.Context, convID string, taken *takenBatch) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if !p.closed && p.enqueue(convID, taken) {
		return nil
	}
	p.letGo(ctx, convID, taken)
	if p.closed {
		return p.tasks.EnqueueProcess(ctx, convID)
	}
	p.overflowed.Store(true)
	return nil
}

// letGo hands back a lock no worker of this processor will drain under. If
// Redis cannot be told, the lock expires (the sweep then queues the
// conversation).
func (p *processor) letGo(ctx context.Context, convID string, taken *takenBatch) {
	if err := p.handBack(ctx, convID, taken.token); err != nil {
		p.log.Warn("conversation lock not handed back; it will expire", "conversation", convID, "err", err)
	}
}

// enqueue puts a conversation in the buffer unless it is there already,
// with the lock and batch a webhook took (taken, nil for none); it reports
// false when the buffer is full. The caller holds p.mu (read).
func (p *processor) enqueue(convID string, taken *takenBatch) bool {
	p.queuedMu.Lock()
	defer p.queuedMu.Unlock()
	if held, ok := p.queued[convID]; ok {
		if taken == nil {
			return true
		}
		if held != nil {
			return false // two holders of one lock: cannot be; let this one go
		}
		p.queued[convID] = taken
		return true
	}
	select {
	case p.queue <- convID:
		p.queued[convID] = taken
		return true
	default:
		return false
	}
}

// recover makes the refill loop read the pending sets once, as after an
// overflow: at start, for what a gateway that died left behind.
func (p *processor) recover() { p.overflowed.Store(true) }

// refill feeds the workers from the pending sets after an overflow, as
// room frees up, until the sets are empty (every refillEvery).
func (p *processor) refill() {
	room := cap(p.queue) - len(p.queue)
	if !p.overflowed.Load() || room < cap(p.queue)/2 {
		return
	}
	ids, err := p.pending(context.Background(), min(room, refillBatch))
	if err != nil {
		p.log.Warn("pending conversations not read; retrying", "err", err)
		return
	}
	if len(ids) == 0 {
		p.overflowed.Store(false)
		return
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, id := range ids {
		if p.closed || !p.enqueue(id, nil) {
			return
		}
	}
}

// stop waits for the conversations being processed and hands the buffered
// ones to the task queue; what is only in the pending sets stays there for
// the sweep of whichever gateway runs next.
func (p *processor) stop() {
	close(p.done)
	p.stopping.Store(true)
	p.mu.Lock()
	p.closed = true
	close(p.queue)
	p.mu.Unlock()
	p.wg.Wait()
}
