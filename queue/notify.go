package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// taskNotify delivers one escalation notification (webhook, email).
const taskNotify = "notify:send"

// NotifyJob is one escalation notification of one conversation.
type NotifyJob struct {
	// ID names the notification; it is the task id, so queuing the same
	// notification twice delivers it once.
	ID           string    `json:"id"`
	Channel      string    `json:"channel"`
	Conversation string    `json:"conversation"`
	Event        string    `json:"event"`  // what happened: conversation.waiting, conversation.message
	Target       string    `json:"target"` // webhook or email: each is retried on its own
	At           time.Time `json:"at"`
	// Session names the transfer a zendesk ticket is about (its external id).
	Session string `json:"session,omitempty"`
}

// EnqueueNotify queues a notification. It is retried with the send
// backoff up to MaxSendAttempts times; an id already queued (or delivered
// within the retention) is not queued again.
func (t *Tasks) EnqueueNotify(ctx context.Context, job NotifyJob) error {
	payload, err := json.Marshal(job)
	if err != nil {
		return err
	}
	_, err = t.client.EnqueueContext(ctx, asynq.NewTask(taskNotify, payload),
		asynq.Queue(t.keys.taskQueue(queueOutbound)), asynq.TaskID(job.ID), asynq.MaxRetry(t.cfg.MaxSendAttempts-1),
		asynq.Timeout(time.Minute), asynq.Retention(24*time.Hour))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return unavailable(err)
}

// notifyHandler decodes a notify task for h.
func notifyHandler(h func(context.Context, NotifyJob) error) asynq.HandlerFunc {
	return func(ctx context.Context, task *asynq.Task) error {
		var job NotifyJob
		if err := json.Unmarshal(task.Payload(), &job); err != nil {
			return Permanent(fmt.Errorf("notify task: %w", err))
		}
		return h(ctx, job)
	}
}
