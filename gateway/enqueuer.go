package gateway

import (
	"context"
	"log/slog"
	"sync"

	"switchboard/queue"
)

// enqueuer queues conversation-processing tasks off the webhook's response
// path. The webhook answers 200 once the event is in its conversation's
// inbox (durable, and the conversation is in its channel's pending set);
// the task that drains the inbox is queued here a moment later. If the
// process dies in between, the sweep finds the pending inbox and queues the
// task (Engine.requeueLost): the event is late, never lost.
type enqueuer struct {
	tasks *queue.Tasks
	log   *slog.Logger
	queue chan string
	wg    sync.WaitGroup
	// mu guards closed: a request still running after the HTTP server's
	// shutdown timeout may call add after stop.
	mu     sync.RWMutex
	closed bool
}

// enqueuerBuffer bounds the conversations waiting for their task; when it
// is full the webhook queues the task itself.
const enqueuerBuffer = 4096

func newEnqueuer(tasks *queue.Tasks, log *slog.Logger, workers int) *enqueuer {
	q := &enqueuer{tasks: tasks, log: log, queue: make(chan string, enqueuerBuffer)}
	for range workers {
		q.wg.Add(1)
		go q.run()
	}
	return q
}

func (q *enqueuer) run() {
	defer q.wg.Done()
	for convID := range q.queue {
		if err := q.tasks.EnqueueProcess(context.Background(), convID); err != nil {
			q.log.Warn("processing task not queued; the sweep will queue it", "conversation", convID, "err", err)
		}
	}
}

// add asks for a conversation's inbox to be drained. It never blocks: when
// the buffer is full it queues the task synchronously.
func (q *enqueuer) add(ctx context.Context, convID string) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return q.tasks.EnqueueProcess(ctx, convID)
	}
	select {
	case q.queue <- convID:
		return nil
	default:
		return q.tasks.EnqueueProcess(ctx, convID)
	}
}

// stop queues what is buffered and returns; later adds queue synchronously.
func (q *enqueuer) stop() {
	q.mu.Lock()
	q.closed = true
	close(q.queue)
	q.mu.Unlock()
	q.wg.Wait()
}
