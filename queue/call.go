package queue

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// taskCall asks a call provider (CCaaS) for a phone call.
const taskCall = "call:request"

// CallJob is one call request: the number one answer of the user gave.
type CallJob struct {
	// Key is the request's key (routing's Call.Key): the conversation
	// matches the provider's answer with it.
	Key string `json:"key"`
	// ID is set by EnqueueCall: Key and the conversation's generation,
	// which changes when the conversation is erased. It is the task id and
	// the Idempotency-Key to send to the provider, so one answer never
	// requests two calls, and a request after an erasure (whose Key starts
	// over) is a new one.
	ID           string `json:"id,omitempty"`
	Channel      string `json:"channel"`
	Conversation string `json:"conversation"`
	Number       string `json:"number"`
	Name         string `json:"name"`
}

// ErrTaskFinished means a task with the same id already ran to its end
// (completed, or failed for good) and is kept for a while: queuing it again
// would do nothing, so the request it stands for will not be carried out.
var ErrTaskFinished = errors.New("a task with this id already finished")

// generationField holds a conversation's generation in its hash: random,
// made on the first call request, gone with the conversation's erasure.
const generationField = "g"

// generationScript returns a conversation's generation, making it if needed.
// KEYS[1] the conversation's hash. ARGV[1] a fresh generation, ARGV[2] the
// generation's field.
// Returns the generation, or false when the conversation does not exist.
var generationScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local g = redis.call('HGET', KEYS[1], ARGV[2])
if g then return g end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
return ARGV[1]
`)

// EnqueueCall queues a call request, tried up to attempts times with the
// send backoff, under the task id job.ID (which it sets, see CallJob.ID). A
// request still queued, running or waiting for a retry is not queued again
// (nil). It returns ErrNotFound when the conversation does not exist (it
// was erased: the request would store the number again), an error wrapping
// ErrTaskFinished when the same request already completed or failed for
// good, and errors wrapping ErrUnavailable.
func (t *Tasks) EnqueueCall(ctx context.Context, job CallJob, attempts int) error {
	ch := ChannelOf(job.Conversation)
	if ch == "" {
		return ErrNotFound
	}
	var fresh [8]byte
	_, _ = rand.Read(fresh[:])
	gen, err := generationScript.Run(ctx, t.rdb, []string{t.keys.conv(ch, job.Conversation)},
		base64.RawURLEncoding.EncodeToString(fresh[:]), generationField).Text()
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	if err != nil {
		return unavailable(err)
	}
	job.ID = job.Key + "." + gen
	payload, err := json.Marshal(job)
	if err != nil {
		return err
	}
	for try := 0; ; try++ {
		_, err = t.client.EnqueueContext(ctx, asynq.NewTask(taskCall, payload),
			asynq.Queue(t.keys.taskQueue(queueOutbound)), asynq.TaskID(job.ID), asynq.MaxRetry(max(attempts-1, 0)),
			asynq.Timeout(time.Minute), asynq.Retention(24*time.Hour))
		if !errors.Is(err, asynq.ErrTaskIDConflict) {
			return unavailable(err)
		}
		info, err := t.inspector.GetTaskInfo(t.keys.taskQueue(queueOutbound), job.ID)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound) && try == 0:
			continue // deleted since: queue it
		case err != nil:
			return unavailable(err)
		case info.State == asynq.TaskStateCompleted || info.State == asynq.TaskStateArchived:
			return fmt.Errorf("call %s: %w (%s)", job.ID, ErrTaskFinished, info.State)
		}
		return nil
	}
}

// callHandler decodes a call task for h; last is true on the final attempt.
func callHandler(h func(ctx context.Context, job CallJob, last bool) error) asynq.HandlerFunc {
	return func(ctx context.Context, task *asynq.Task) error {
		var job CallJob
		if err := json.Unmarshal(task.Payload(), &job); err != nil {
			return Permanent(fmt.Errorf("call task: %w", err))
		}
		retried, _ := asynq.GetRetryCount(ctx)
		maxRetry, _ := asynq.GetMaxRetry(ctx)
		return h(ctx, job, retried >= maxRetry)
	}
}

// calls is a channel's hash of call requests in progress: conversation ->
// "<key> <ms since the epoch>". It lets the sweep queue again a request
// whose task was lost between the commit and the enqueue.
func (k keys) calls(ch string) string { return k.tag(ch) + "calls" }

// MarkCall records a call request before its decision is committed.
func (s *Store) MarkCall(ctx context.Context, channel, convID, key string, at time.Time) error {
	return unavailable(s.rdb.HSet(ctx, s.keys.calls(channel), convID, key+" "+strconv.FormatInt(at.UnixMilli(), 10)).Err())
}

// unmarkScript forgets a call request if it is still the recorded one.
// KEYS[1] calls hash. ARGV[1] conversation, ARGV[2] key. Returns 1 if removed.
var unmarkScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and string.sub(v, 1, #ARGV[2] + 1) == ARGV[2] .. ' ' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
`)

// UnmarkCall forgets a call request once its result was applied (or it
// is known to be stale).
func (s *Store) UnmarkCall(ctx context.Context, channel, convID, key string) error {
	return unavailable(unmarkScript.Run(ctx, s.rdb, []string{s.keys.calls(channel)}, convID, key).Err())
}

// PendingCall is a recorded call request.
type PendingCall struct {
	Conversation, Key string
	At                time.Time
}

// PendingCalls lists a channel's recorded call requests.
func (s *Store) PendingCalls(ctx context.Context, channel string) ([]PendingCall, error) {
	m, err := s.rdb.HGetAll(ctx, s.keys.calls(channel)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]PendingCall, 0, len(m))
	for conv, v := range m {
		key, ms, _ := strings.Cut(v, " ")
		n, _ := strconv.ParseInt(ms, 10, 64)
		out = append(out, PendingCall{Conversation: conv, Key: key, At: time.UnixMilli(n)})
	}
	return out, nil
}
