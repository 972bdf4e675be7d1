package queue

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// batcher sends the hot path's commands (a webhook's accept, a worker's
// take, commit, release and send records, a claim's script and commit)
// of many goroutines to Redis together, a few pipelines at a time. Each
// round trip of its own costs a goroutine a connection from the pool (with
// its health check), a write and a read system call, and Redis a read, a
// write and a turn of its event loop; at full rate those are most of the
// gateway's Redis cost. A call that finds a pipeline free goes out at
// once, alone; calls that come while every pipeline is out wait for the
// next one, which carries all of them: batches grow with the load, and an
// idle gateway waits for nothing.
type batcher struct {
	rdb redis.UniversalClient
	// inFlight is how many pipelines may be out at once.
	inFlight int
	// timeout bounds each pipeline (pipelineTimeout).
	timeout time.Duration

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

// pipelineTimeout bounds one pipeline's wait for a connection (dialling
// one if need be, with go-redis' retries): far above a batch's few
// milliseconds, well within the time Meta waits for a webhook's answer.
// The answers' reads are bounded by the client's ReadTimeout instead:
// go-redis applies a context's deadline to socket reads only with
// ContextTimeoutEnabled, which the gateway does not set.
const pipelineTimeout = 5 * time.Second

func newBatcher(rdb redis.UniversalClient, inFlight int) *batcher {
	return &batcher{rdb: rdb, inFlight: inFlight, timeout: pipelineTimeout}
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
		b.next(b.exec([]*batched{c}))
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
// When that pipeline found Redis unreachable (down), the calls that waited
// for it fail with its error instead: each would otherwise wait for a
// failing pipeline of its own in turn, and a webhook must get its 503
// while Meta still waits for the answer.
func (b *batcher) next(down error) {
	b.mu.Lock()
	calls := b.queued
	b.queued = nil
	if len(calls) == 0 || down != nil {
		b.running--
		b.mu.Unlock()
		for _, c := range calls {
			c.err = down
			close(c.done)
		}
		return
	}
	b.mu.Unlock()
	go func() {
		down := b.exec(calls)
		for _, c := range calls {
			close(c.done)
		}
		b.next(down)
	}()
}

// exec sends calls in one pipeline, and returns the pipeline's error when
// it did not reach Redis (no command was answered). A caller whose
// context ended meanwhile is left out.
func (b *batcher) exec(calls []*batched) (down error) {
	p := b.rdb.Pipeline()
	for _, c := range calls {
		if c.err = c.ctx.Err(); c.err == nil {
			c.add(p)
		}
	}
	if p.Len() == 0 {
		return nil
	}
	// A batch serves many callers: the first to give up must not cut the
	// others off, so it runs under a deadline of its own. Without one, a
	// pipeline dialling a Redis that is down tries each Sentinel in turn
	// on each of go-redis' retries (over 10 s), and the calls queued
	// behind it wait as long.
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	// Each command carries its own answer or error; the callers read them.
	_, err := p.Exec(ctx)
	var reply redis.Error // an answer of Redis (redis.Nil too): it is up
	if err == nil || errors.As(err, &reply) || !IsUnavailable(err) {
		return nil
	}
	return unavailable(err)
}

// evalBatched runs script in the next pipeline: EVALSHA, and EVAL (which
// loads it) when the server does not know it yet. The command's error is
// the caller's to read.
func (s *Store) evalBatched(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	cmd, _ := s.evalBatchedWith(ctx, nil, script, keys, args...)
	return cmd
}

// evalBatchedWith is evalBatched with the commands also queues (when not
// nil) in the same pipeline, before the script; they are not sent again
// when the script is. alsoErr is the first of their errors, as unavailable
// returns it, or the pipeline's when it could not be sent.
func (s *Store) evalBatchedWith(ctx context.Context, also func(redis.Pipeliner) []redis.Cmder, script *redis.Script, keys []string, args ...any) (cmd *redis.Cmd, alsoErr error) {
	var alsoCmds []redis.Cmder
	err := s.batch.do(ctx, func(p redis.Pipeliner) {
		if also != nil {
			alsoCmds = also(p)
		}
		cmd = script.EvalSha(ctx, p, keys, args...)
	})
	if err != nil {
		// Not cmd nor alsoCmds: a pipeline may still be setting them.
		failed := redis.NewCmd(ctx)
		failed.SetErr(err)
		return failed, unavailable(err)
	}
	if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		cmd = script.Run(ctx, s.rdb, keys, args...)
	}
	return cmd, firstErr(alsoCmds)
}

// pipelined runs the commands add queues in the next pipeline and returns
// the first of their errors, as unavailable returns it (redis.Nil is none).
func (s *Store) pipelined(ctx context.Context, add func(redis.Pipeliner) []redis.Cmder) error {
	var cmds []redis.Cmder
	if err := s.batch.do(ctx, func(p redis.Pipeliner) { cmds = add(p) }); err != nil {
		return unavailable(err)
	}
	return firstErr(cmds)
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
