package engine

import (
	"context"
	"errors"
	"time"

	"switchboard/channels"
	"switchboard/queue"
)

// Send delivers a job's messages in order; it is the task handler of sends.
// Parts already sent (a retry) are skipped. A retryable failure is returned
// for the task queue to retry with backoff; a permanent one, or the last
// attempt's, marks the part failed, tells the agents and stops the job.
func (e *Engine) Send(ctx context.Context, job queue.SendJob, last bool) error {
	return e.send(ctx, e.setup.Load(), job, last, true)
}

// send is Send under setup s; retried=false says the job was just
// committed and nothing of it can have been sent yet, which saves a read
// per part.
func (e *Engine) send(ctx context.Context, s *setup, job queue.SendJob, last, retried bool) error {
	ch, ok := s.channels[job.Channel]
	if !ok {
		e.log.Warn("send for a channel that is not configured; dropped", "channel", job.Channel, "conversation", job.Conversation)
		return e.outbox.Done(ctx, job)
	}
	for i, part := range job.Parts {
		if retried {
			done, err := e.outbox.Delivered(ctx, job, part)
			if err != nil {
				return err
			}
			if done {
				continue
			}
		}
		start := time.Now()
		res, err := ch.sender.Send(ctx, part.Message)
		e.metrics.graphLatency.WithLabelValues(string(ch.platform)).Observe(time.Since(start).Seconds())
		if err == nil {
			e.metrics.sends.WithLabelValues(string(ch.platform), "ok").Inc()
			finished := i == len(job.Parts)-1
			// The platform has the message: its record is kept through an
			// outage even when the work is called off (a lost lock, a
			// shutdown), or a retry would send it again.
			record := context.WithoutCancel(ctx)
			if err := e.persistently(record, "send record", job.Conversation, func() error {
				return e.outbox.Sent(record, job, part, res.MessageIDs, finished)
			}); err != nil {
				return err
			}
			if finished {
				return nil
			}
			continue
		}
		if channels.IsRetryable(err) && !last {
			e.metrics.sends.WithLabelValues(string(ch.platform), "retry").Inc()
			e.log.Info("send failed; will retry", "channel", job.Channel, "conversation", job.Conversation, "err", err)
			return err
		}
		e.metrics.sends.WithLabelValues(string(ch.platform), "failed").Inc()
		e.log.Warn("send failed for good", "channel", job.Channel, "conversation", job.Conversation, "err", err)
		reason := sendFailureReason(err)
		if err := e.outbox.SendFailed(ctx, job, part, reason); err != nil {
			return err
		}
		e.publish(ctx, queue.Notice{Type: NoticeSendFailed, Channel: job.Channel, Conversation: job.Conversation, At: e.now(), Text: part.Entry + ": " + reason})
		// Later parts would read out of context without this one.
		for _, rest := range job.Parts {
			if delivered, _ := e.outbox.Delivered(ctx, job, rest); !delivered {
				_ = e.outbox.SendFailed(ctx, job, rest, "not sent: an earlier message failed")
			}
		}
		if err := e.outbox.Done(ctx, job); err != nil {
			return err
		}
		return queue.Permanent(err)
	}
	return e.outbox.Done(ctx, job)
}

// sendFailureReason is the short text shown in the transcript.
func sendFailureReason(err error) string {
	var se *channels.SendError
	if errors.As(err, &se) {
		if se.Message != "" {
			return se.Reason + ": " + se.Message
		}
		return se.Reason
	}
	return err.Error()
}
