package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotReplicated means a write reached its master but not, within the
// wait timeout, the number of replicas Options.WaitReplicas asks for: a
// failover now could lose it. Errors that wrap it wrap ErrUnavailable too,
// so the webhook is answered 503 and the platform delivers it again.
var ErrNotReplicated = errors.New("write not acknowledged by enough replicas")

// replicaWait is how long and for how many replicas a write waits.
type replicaWait struct {
	replicas int
	timeout  time.Duration
	observe  func(time.Duration)
}

// pipelineFor returns a pipeline on the connection that serves key: on a
// cluster, one to the master that holds key's slot, so that a WAIT queued
// after the write runs on the same connection (WAIT has no key, and a
// cluster client would send it to any node).
func pipelineFor(ctx context.Context, rdb redis.UniversalClient, key string) (redis.Pipeliner, error) {
	if c, ok := rdb.(*redis.ClusterClient); ok {
		m, err := c.MasterForKey(ctx, key)
		if err != nil {
			return nil, err
		}
		return m.Pipeline(), nil
	}
	return rdb.Pipeline(), nil
}

// evalReplicated runs script and then WAIT on the same connection, and
// returns the script's result once the write reached w.replicas replicas.
// When fewer acknowledge in time, the error wraps ErrNotReplicated and the
// result is the script's still.
func (w replicaWait) evalReplicated(ctx context.Context, rdb redis.UniversalClient, script *redis.Script, keys []string, args ...any) (*redis.Cmd, error) {
	pipe, err := pipelineFor(ctx, rdb, keys[0])
	if err != nil {
		return nil, unavailable(err)
	}
	res := script.Eval(ctx, pipe, keys, args...)
	if err := w.exec(ctx, pipe); err != nil {
		if errors.Is(err, ErrNotReplicated) {
			return res, err
		}
		return nil, err
	}
	return res, nil
}

// exec runs pipe followed by a WAIT for w.replicas.
func (w replicaWait) exec(ctx context.Context, pipe redis.Pipeliner) error {
	acked := pipe.Do(ctx, "WAIT", w.replicas, w.timeout.Milliseconds())
	start := time.Now()
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return unavailable(err)
	}
	if w.observe != nil {
		w.observe(time.Since(start))
	}
	if n, _ := acked.Int64(); n < int64(w.replicas) {
		return fmt.Errorf("%w: %w: %d of %d replicas within %v", ErrUnavailable, ErrNotReplicated, n, w.replicas, w.timeout)
	}
	return nil
}

// writePipeline returns a pipeline for writes around key that must reach
// the replicas (Options.WaitReplicas): run it with execWrites.
func (s *Store) writePipeline(ctx context.Context, key string) (redis.Pipeliner, error) {
	if s.wait.replicas == 0 {
		return s.rdb.Pipeline(), nil
	}
	p, err := pipelineFor(ctx, s.rdb, key)
	return p, unavailable(err)
}

// execWrites runs a writePipeline; with Options.WaitReplicas, it returns
// once its writes reached the replicas (replicaWait.exec).
func (s *Store) execWrites(ctx context.Context, p redis.Pipeliner) error {
	if s.wait.replicas > 0 {
		return s.wait.exec(ctx, p)
	}
	_, err := p.Exec(ctx)
	return unavailable(err)
}

// eval runs one of the store's scripts; with Options.WaitReplicas, it
// returns once the script's writes reached the replicas (evalReplicated).
// The error wraps ErrUnavailable when Redis cannot serve.
func (s *Store) eval(ctx context.Context, script *redis.Script, keys []string, args ...any) (*redis.Cmd, error) {
	if s.wait.replicas > 0 {
		return s.wait.evalReplicated(ctx, s.rdb, script, keys, args...)
	}
	cmd := s.evalBatched(ctx, script, keys, args...)
	if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable(err)
	}
	return cmd, nil
}
