package engine

import (
	"context"
	"errors"
	"time"

	"switchboard/gateway/callprovider"
	"switchboard/queue"
	"switchboard/routing"
)

// Messaging-to-call: routing decides (states choosing, phone, calling); the
// engine records each request (a transcript entry of kind call_request
// and a mark the sweep uses to queue it again if its task was lost),
// queues it as a call:request task whose id is the request's key, and the
// task calls the provider and feeds the answer back as an input.

// entryCallRequest is the transcript kind of a call request: Text is the
// number, Payload the idempotency key.
const entryCallRequest = "call_request"

// staleCallMark is how old a call mark must be before the sweep forgets
// one whose conversation no longer waits for it (younger ones may belong
// to a decision being committed).
const staleCallMark = time.Minute

// enqueueCall queues a call request with the attempts its channel allows.
func (e *Engine) enqueueCall(ctx context.Context, ch *channel, job queue.CallJob) error {
	attempts := 1
	if ch.call != nil {
		attempts = ch.call.Attempts()
	}
	return e.tasks.EnqueueCall(ctx, job, attempts)
}

// Call is the task handler of call requests: it asks the provider and
// applies the answer. A retryable failure is returned for the task queue
// to retry with backoff (the Idempotency-Key makes a repeated request one
// call); on the last attempt the user gets the apology and the chat.
func (e *Engine) Call(ctx context.Context, job queue.CallJob, last bool) error {
	s := e.setup.Load()
	ch, ok := s.channels[job.Channel]
	if !ok || ch.call == nil {
		e.log.Warn("call request for a channel without calls; dropped", "channel", job.Channel, "conversation", job.Conversation)
		return nil
	}
	res, err := ch.call.Request(ctx, job)
	var retry *callprovider.RetryError
	switch {
	case errors.As(err, &retry) && !last:
		e.metrics.calls.WithLabelValues(ch.id, "retry").Inc()
		e.log.Info("call request failed; will retry", "channel", ch.id, "conversation", job.Conversation, "err", err)
		return err
	case err != nil:
		e.log.Warn("call request failed for good", "channel", ch.id, "conversation", job.Conversation, "err", err)
		res = routing.CallResult{Key: job.Key, Failed: true}
	}
	_, err = e.apply(ctx, s, job.Conversation, routing.Input{Kind: routing.InCallResult, Call: &res}, "", nil, nil)
	switch {
	case errors.Is(err, routing.ErrNotCalling), errors.Is(err, queue.ErrNotFound):
		e.log.Info("call result for a request no longer waited for; dropped", "channel", ch.id, "conversation", job.Conversation)
	case err != nil:
		return err
	default:
		e.metrics.calls.WithLabelValues(ch.id, callOutcome(res)).Inc()
	}
	return e.calls.UnmarkCall(ctx, ch.id, job.Conversation, job.Key)
}

func callOutcome(r routing.CallResult) string {
	switch {
	case r.OK:
		return "requested"
	case r.Failed:
		return "failed"
	}
	return "refused"
}

// requeueCalls queues again the call requests whose tasks were lost, and
// forgets marks no conversation waits for. Task ids make a request queued
// twice run once.
func (e *Engine) requeueCalls(ctx context.Context, ch *channel, now time.Time) error {
	pending, err := e.calls.PendingCalls(ctx, ch.id)
	if err != nil || len(pending) == 0 {
		return err
	}
	for _, p := range pending {
		rec, err := e.convs.Load(ctx, p.Conversation)
		if err != nil {
			return err
		}
		if rec.State == routing.StateCalling && rec.Call.Key == p.Key {
			job := queue.CallJob{Key: p.Key, Channel: ch.id, Conversation: rec.ID, Number: rec.Call.Number, Name: rec.User.Name}
			err := e.enqueueCall(ctx, ch, job)
			switch {
			case errors.Is(err, queue.ErrTaskFinished):
				// The request ran but its result was never applied (a crash in
				// between): asking again could place a second call, so the
				// user gets the apology and the chat instead.
				e.log.Warn("call request ran but its result was lost; offering the chat", "channel", ch.id, "conversation", rec.ID)
				res := routing.CallResult{Key: p.Key, Failed: true}
				if _, err := e.apply(ctx, e.setup.Load(), rec.ID, routing.Input{Kind: routing.InCallResult, Call: &res}, "", nil, nil); err != nil &&
					!errors.Is(err, routing.ErrNotCalling) && !errors.Is(err, queue.ErrNotFound) {
					return err
				}
			case errors.Is(err, queue.ErrNotFound):
				// Erased meanwhile: nothing to call.
			case err != nil:
				return err
			default:
				continue
			}
			if err := e.calls.UnmarkCall(ctx, ch.id, p.Conversation, p.Key); err != nil {
				return err
			}
			continue
		}
		if now.Sub(p.At) >= staleCallMark {
			if err := e.calls.UnmarkCall(ctx, ch.id, p.Conversation, p.Key); err != nil {
				return err
			}
		}
	}
	return nil
}
