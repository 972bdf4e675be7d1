package gateway

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"switchboard/queue"
)

// processor drains conversations' inboxes in-process, off the webhook's
// response path. The webhook answers 200 once the event is in its
// conversation's inbox: that write is the durable step (the conversation is
// also in its channel's pending set). A worker here then drains the inbox
// and sends the replies. When the buffer is full, when processing fails,
// or when the gateway stops with conversations still buffered, the work
// goes to the durable task queue instead; and if the process dies first,
// the sweep finds the pending inbox and queues it (Engine.requeueLost). An
// event may be late; it is never lost.
//
// Doing the common case in-process, rather than through a task per event,
// saves the task queue's enqueue, dequeue and completion scripts: Redis
// was the bottleneck of the message path (BENCHMARKS.md).
type processor struct {
	process func(ctx context.Context, convID string) error
	tasks   *queue.Tasks
	log     *slog.Logger
	queue   chan string
	wg      sync.WaitGroup

	// mu guards closing the queue: a request still running after the HTTP
	// server's shutdown timeout may call add after stop.
	mu       sync.RWMutex
	closed   bool
	stopping atomic.Bool
}

// processorBuffer bounds the conversations waiting for a worker.
const processorBuffer = 4096

func newProcessor(process func(context.Context, string) error, tasks *queue.Tasks, log *slog.Logger, workers int) *processor {
	p := &processor{process: process, tasks: tasks, log: log, queue: make(chan string, processorBuffer)}
	for range max(workers, 1) {
		p.wg.Add(1)
		go p.run()
	}
	return p
}

func (p *processor) run() {
	defer p.wg.Done()
	ctx := context.Background()
	for convID := range p.queue {
		if !p.stopping.Load() {
			err := p.process(ctx, convID)
			if err == nil {
				continue
			}
			p.log.Warn("processing failed; handing it to the task queue", "conversation", convID, "err", err)
		}
		if err := p.tasks.EnqueueProcess(ctx, convID); err != nil {
			p.log.Warn("processing not queued; the sweep will queue it", "conversation", convID, "err", err)
		}
	}
}

// add asks for a conversation's inbox to be drained. It never blocks: when
// the buffer is full, or after stop, the work goes to the task queue.
func (p *processor) add(ctx context.Context, convID string) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if !p.closed {
		select {
		case p.queue <- convID:
			return nil
		default:
		}
	}
	return p.tasks.EnqueueProcess(ctx, convID)
}

// stop waits for the conversations being processed and hands the buffered
// ones to the task queue.
func (p *processor) stop() {
	p.stopping.Store(true)
	p.mu.Lock()
	p.closed = true
	close(p.queue)
	p.mu.Unlock()
	p.wg.Wait()
}
