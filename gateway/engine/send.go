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
			rec := queue.SentRecord{Job: job, Part: part, PlatformIDs: res.MessageIDs, Finished: finished}
			if finished && holdRecord(ctx, rec) {
				return nil
			}
			if err := e.writeRecord(ctx, rec); err != nil {
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

// writeRecord writes the record of a part the platform accepted. It is
// kept through an outage even when the work is called off (a lost lock, a
// shutdown), or a retry would send the part again.
func (e *Engine) writeRecord(ctx context.Context, rec queue.SentRecord) error {
	ctx = context.WithoutCancel(ctx)
	err := e.persistently(ctx, "send record", rec.Job.Conversation, func() error {
		return e.outbox.Sent(ctx, rec.Job, rec.Part, rec.PlatformIDs, rec.Finished)
	})
	if err == nil {
		e.metrics.sendRecords.WithLabelValues("alone").Inc()
	}
	return err
}

// heldRecords are the records of the jobs a worker finished sending for
// the conversation whose processing lock it holds, kept back to be written
// in the round trip that releases the lock (queue.Store.Unlock): one round
// trip less per batch of events. A record still held when the worker
// goes on to the batch's next event is written first, so a crash leaves
// unrecorded only the replies of the event in hand, as without holding.
// Only a job's last part is held: a job that fails midway is retried by
// a task that must see its earlier parts recorded.
type heldRecords struct {
	conv string
	list []queue.SentRecord
}

type heldRecordsKey struct{}

// withHeldRecords returns ctx in which send holds back the records of the
// jobs it finishes for h.conv.
func withHeldRecords(ctx context.Context, h *heldRecords) context.Context {
	return context.WithValue(ctx, heldRecordsKey{}, h)
}

// holdRecord holds rec back when ctx has held records for its
// conversation (withHeldRecords); it reports whether it did.
func holdRecord(ctx context.Context, rec queue.SentRecord) bool {
	h, ok := ctx.Value(heldRecordsKey{}).(*heldRecords)
	if !ok || h.conv != rec.Job.Conversation {
		return false
	}
	h.list = append(h.list, rec)
	return true
}

// writeHeld writes the records h holds, one by one (writeRecord), and
// empties it. A record that cannot be written leaves its job in the
// outbox and goes to the task queue, as a send whose record failed does.
func (e *Engine) writeHeld(ctx context.Context, h *heldRecords) {
	for _, rec := range h.list {
		if err := e.writeRecord(ctx, rec); err != nil {
			e.log.WarnContext(ctx, "send record not written; the send is queued again", "conversation", h.conv, "err", err)
			e.sendLater(context.WithoutCancel(ctx), rec.Job)
		}
	}
	h.list = h.list[:0]
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
