package queue

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// batcher sends the hot path's commands (a webhook's accept, a worker's
// take, commit and release) of many goroutines to Redis together, a few
// pipelines at a time. Each round trip of its own costs a goroutine a
// connection from the pool (with its health check), a write and a read
// system call, and Redis a read, a write and a turn of its event loop; at
// full rate those are most of the gateway's Redis cost. A call that finds a
// pipeline free goes out at once, alone; calls that come while every
// pipeline is out wait for the next one, which carries all of them: batches
// grow with the load, and an idle gateway waits for nothing.
type batcher struct {
	rdb redis.UniversalClient
	// inFlight is how many pipelines may be out at once.
	inFlight int

	mu      sync.Mutex
	running int        // pipelines out
	queued  []*batched // calls waiting for a pipeline (only while running == inFlight)
}

// batched is one caller's part of a pipeline.
type batched struct {
	ctx context.Context
	// add queues the call's commands on the pipeline; the caller reads
	// their results (or errors) from the commands once done is closed.
	add  func(redis.Pipeliner)
	done chan struct{}
	// err is ctx's error when the call was left out of its pipeline.
	err error
}

// pipelinesInFlight is a batcher's inFlight on the shared pool. Fewer
// pipelines make bigger batches: at full rate, with 1, 2, 4 and 16 the
// gateway and Redis spent about 350, 360, 380 and 390 µs per message
// (BENCHMARKS.md); 2 keeps one pipeline filling while the other is out.
const pipelinesInFlight = 2

func newBatcher(rdb redis.UniversalClient, inFlight int) *batcher {
	return &batcher{rdb: rdb, inFlight: inFlight}
}

// do runs add's commands in the next pipeline and returns once they were
// answered, or with ctx's error when ctx ends first (the commands may
// still run, as a command whose answer is lost may: every hot-path script
// can be tried again). A connection's failure is each command's error.
func (b *batcher) do(ctx context.Context, add func(redis.Pipeliner)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &batched{ctx: ctx, add: add}
	b.mu.Lock()
	if b.running < b.inFlight {
		b.running++
		b.mu.Unlock()
		b.exec([]*batched{c})
		b.next()
		return c.err
	}
	c.done = make(chan struct{})
	b.queued = append(b.queued, c)
	b.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// next is called by a pipeline that came back: it sends what queued
// meanwhile, from a goroutine of its own so that its own callers go on.
func (b *batcher) next() {
	b.mu.Lock()
	if len(b.queued) == 0 {
		b.running--
		b.mu.Unlock()
		return
	}
	calls := b.queued
	b.queued = nil
	b.mu.Unlock()
	go func() {
		b.exec(calls)
		for _, c := range calls {
			close(c.done)
		}
		b.next()
	}()
}

// exec sends calls in one pipeline. A caller whose context ended
// meanwhile is left out.
func (b *batcher) exec(calls []*batched) {
	p := b.rdb.Pipeline()
	for _, c := range calls {
		if c.err = c.ctx.Err(); c.err == nil {
			c.add(p)
		}
	}
	if p.Len() == 0 {
		return
	}
	// Each command carries its own answer or error; the callers read them.
	_, _ = p.Exec(context.Background())
}

// evalBatched runs script in the next pipeline: EVALSHA, and EVAL (which
// loads it) when the server does not know it yet. The command's error is
// the caller's to read.
func (s *Store) evalBatched(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	var cmd *redis.Cmd
	if err := s.batch.do(ctx, func(p redis.Pipeliner) { cmd = script.EvalSha(ctx, p, keys, args...) }); err != nil {
		cmd = redis.NewCmd(ctx)
		cmd.SetErr(err)
		return cmd
	}
	if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		return script.Run(ctx, s.rdb, keys, args...)
	}
	return cmd
}

// firstErr is the first error among cmds, as unavailable returns it.
func firstErr(cmds []redis.Cmder) error {
	for _, c := range cmds {
		if err := unavailable(c.Err()); err != nil {
			return err
		}
	}
	return nil
}
