package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"switchboard/channels"
)

// Task types and the queues they run on (named per deployment by
// keys.taskQueue). asynq's CLI and web UI show them under these names.
const (
	taskProcess = "conversation:process" // drain one conversation's inbox
	taskSend    = "message:send"         // send one message to a user

	queueInbound  = "inbound"
	queueOutbound = "outbound"
)

// taskQueue names one of asynq's queues for this deployment: the prefix
// and the name ("acme:outbound"), so that two deployments with their own
// prefixes on one Redis never run each other's tasks (asynq's keys are
// its own, under "asynq:", whatever the prefix). Under the default prefix
// it is the bare name, as before queues were named per deployment, so
// tasks queued before an upgrade still run.
func (k keys) taskQueue(name string) string {
	if k.prefix == defaultPrefix {
		return name
	}
	return k.prefix + name
}

// TaskConfig tunes the durable task workers. Zero values mean the defaults.
type TaskConfig struct {
	// Concurrency is the number of tasks run at once (default 20).
	Concurrency int
	// ShutdownTimeout bounds how long Shutdown waits for running tasks (default 8s).
	ShutdownTimeout time.Duration
	// RetryBase is the first retry delay of a failed send; it doubles each
	// time up to RetryMax (defaults 1s and 5m).
	RetryBase, RetryMax time.Duration
	// MaxSendAttempts bounds the tries of one send (default 10).
	MaxSendAttempts int
	// Logger receives asynq's warnings and errors, each distinct line at
	// most once per 10 s with the number of copies dropped ("suppressed");
	// default slog.Default().
	Logger *slog.Logger
}

// Handlers are the gateway's task handlers.
type Handlers struct {
	// Process drains a conversation's inbox.
	Process func(ctx context.Context, convID string) error
	// Send delivers one message. Return Permanent(err) for a failure that
	// must not be retried. last is true on the final attempt.
	Send func(ctx context.Context, job SendJob, last bool) error
	// Notify delivers an escalation notification; nil drops them.
	Notify func(ctx context.Context, job NotifyJob) error
	// Call requests a phone call from a provider; last is true on the
	// final attempt. nil drops call tasks.
	Call func(ctx context.Context, job CallJob, last bool) error
	// Erase erases the user of a conversation on request; nil drops
	// erase tasks.
	Erase func(ctx context.Context, convID string) error
}

// Tasks enqueues and runs the gateway's durable tasks on asynq.
type Tasks struct {
	cfg       TaskConfig
	client    *asynq.Client
	server    *asynq.Server
	inspector *asynq.Inspector
	rdb       redis.UniversalClient
	keys      keys
	log       *limitedLog // asynq's
}

// Tasks returns the task client and server on this Redis. Nothing runs until Start.
func (r *Redis) Tasks(cfg TaskConfig) *Tasks {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 20
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 8 * time.Second
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 5 * time.Minute
	}
	if cfg.MaxSendAttempts <= 0 {
		cfg.MaxSendAttempts = 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	t := &Tasks{cfg: cfg, client: asynq.NewClientFromRedisClient(r.rdb), inspector: asynq.NewInspectorFromRedisClient(r.rdb),
		rdb: r.rdb, keys: r.keys, log: newLimitedLog(cfg.Logger, "asynq", r.now)}
	t.server = asynq.NewServerFromRedisClient(r.rdb, asynq.Config{
		Concurrency:     cfg.Concurrency,
		Queues:          map[string]int{r.keys.taskQueue(queueInbound): 6, r.keys.taskQueue(queueOutbound): 4},
		ShutdownTimeout: cfg.ShutdownTimeout,
		// asynq polls when idle; a short interval keeps a quiet gateway's
		// answers prompt at the cost of a few cheap Redis calls a second.
		TaskCheckInterval:        20 * time.Millisecond,
		DelayedTaskCheckInterval: 500 * time.Millisecond,
		RetryDelayFunc:           t.retryDelay,
		Logger:                   asynqLog{t.log},
		LogLevel:                 asynq.WarnLevel,
	})
	return t
}

// retryDelay doubles from RetryBase (n is the number of retries so far) up
// to RetryMax; the platform's advice (SendError.RetryAfter, e.g. WhatsApp's
// pair rate limit) is a floor, never a shortcut. asynq schedules retries
// with one-second resolution, so sub-second delays round down.
func (t *Tasks) retryDelay(n int, err error, _ *asynq.Task) time.Duration {
	d := time.Duration(float64(t.cfg.RetryBase) * math.Pow(2, float64(n)))
	if d > t.cfg.RetryMax || d <= 0 {
		d = t.cfg.RetryMax
	}
	var se *channels.SendError
	if errors.As(err, &se) && se.RetryAfter > d {
		d = se.RetryAfter
	}
	return d
}

// EnqueueProcess asks for a conversation's inbox to be drained.
func (t *Tasks) EnqueueProcess(ctx context.Context, convID string) error {
	_, err := t.client.EnqueueContext(ctx, asynq.NewTask(taskProcess, []byte(convID)),
		asynq.Queue(t.keys.taskQueue(queueInbound)), asynq.MaxRetry(25), asynq.Timeout(2*time.Minute))
	return unavailable(err)
}

// EnqueueSend queues a message for sending. The job id is the task id, so
// queuing a job that is still queued or being retried does nothing; a job
// queued again after it ran skips the parts already delivered.
func (t *Tasks) EnqueueSend(ctx context.Context, job SendJob) error {
	payload, err := json.Marshal(job)
	if err != nil {
		return err
	}
	_, err = t.client.EnqueueContext(ctx, asynq.NewTask(taskSend, payload),
		asynq.Queue(t.keys.taskQueue(queueOutbound)), asynq.TaskID(job.ID), asynq.MaxRetry(t.cfg.MaxSendAttempts-1),
		asynq.Timeout(time.Minute))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return unavailable(err)
}

// Permanent marks a task failure that must not be retried.
func Permanent(err error) error { return fmt.Errorf("%w: %w", err, asynq.SkipRetry) }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool { return errors.Is(err, asynq.SkipRetry) }

// Start runs the workers in the background.
func (t *Tasks) Start(h Handlers) error {
	mux := asynq.NewServeMux()
	mux.HandleFunc(taskProcess, func(ctx context.Context, task *asynq.Task) error {
		return h.Process(ctx, string(task.Payload()))
	})
	mux.HandleFunc(taskSend, func(ctx context.Context, task *asynq.Task) error {
		var job SendJob
		if err := json.Unmarshal(task.Payload(), &job); err != nil {
			return Permanent(fmt.Errorf("send task: %w", err))
		}
		retried, _ := asynq.GetRetryCount(ctx)
		maxRetry, _ := asynq.GetMaxRetry(ctx)
		return h.Send(ctx, job, retried >= maxRetry)
	})
	if h.Notify != nil {
		mux.Handle(taskNotify, notifyHandler(h.Notify))
	}
	if h.Call != nil {
		mux.Handle(taskCall, callHandler(h.Call))
	}
	if h.Erase != nil {
		mux.Handle(taskErase, eraseHandler(h.Erase))
	}
	return t.server.Start(mux)
}

// Shutdown stops taking tasks, waits up to ShutdownTimeout for running ones
// (the rest go back to the queue) and closes the client.
func (t *Tasks) Shutdown() {
	t.server.Shutdown()
	t.client.Close()
}
