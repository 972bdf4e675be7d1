package engine

import (
	"context"
	"errors"
	"time"

	"switchboard/queue"
	"switchboard/routing"
)

// sweepBatch bounds the conversations expired per channel in one tick; the
// next tick takes the rest.
const sweepBatch = 500

// lostAfter is how long a committed send or a non-empty inbox may wait
// before the sweep assumes the gateway handling it died and queues it again.
// It is longer than any send (meta.send_timeout) or bot call can take.
const lostAfter = 2 * time.Minute

// staleClaimAge is how long a claim may stay uncommitted before the sweep
// assumes its gateway died and puts the conversation back in line.
const staleClaimAge = time.Minute

// Tick does the periodic work due at now: it ends conversations idle past
// their channel's inactivity timeout, tells waiting users when a channel's
// business hours open, puts back claims that were never committed, and
// re-queues sends and inbox processing whose tasks were lost. It is run by
// a cron schedule every engine.sweep_interval, and by tests with their own
// clock. prev is the time of the previous tick.
func (e *Engine) Tick(ctx context.Context, prev, now time.Time) error {
	var errs []error
	s := e.setup.Load()
	for _, ch := range s.channels {
		errs = append(errs,
			e.expireDue(ctx, s, ch, now),
			e.announceOpening(ctx, s, ch, prev, now),
			e.returnStaleClaims(ctx, ch, now),
			e.requeueLost(ctx, ch),
			e.requeueCalls(ctx, ch, now),
			e.autoAssign(ctx, s, ch.id),
			e.pruneMissed(ctx, ch, now),
		)
	}
	errs = append(errs, e.pruneRetired(ctx))
	return errors.Join(errs...)
}

// expireDue ends the conversations idle past the channel's inactivity
// timeout. Its cost grows with what expired, not with what exists.
func (e *Engine) expireDue(ctx context.Context, s *setup, ch *channel, now time.Time) error {
	due, err := e.line.Due(ctx, ch.id, ch.rules.IdleCutoff(now), sweepBatch)
	if err != nil {
		return err
	}
	for _, id := range due {
		if _, err := e.apply(ctx, s, id, routing.Input{Kind: routing.InExpire}, "", nil, nil); err != nil && !errors.Is(err, queue.ErrNotFound) {
			return err
		}
	}
	return nil
}

// announceOpening tells the channel's waiting users that an agent is
// available when its business hours opened between prev and now. Several
// gateway processes announce one opening once.
func (e *Engine) announceOpening(ctx context.Context, s *setup, ch *channel, prev, now time.Time) error {
	cal := ch.rules.Calendar
	if cal == nil || !cal.Open(now) || cal.Open(prev) {
		return nil
	}
	opening := cal.NextOpen(prev)
	if opening.IsZero() || opening.After(now) {
		return nil
	}
	first, err := e.line.MarkOpened(ctx, ch.id, opening)
	if err != nil || !first {
		return err
	}
	return e.announceAvailable(ctx, s, ch.id)
}

// announceAvailable tells every waiting user of a channel, once per waiting
// period, that an agent is available.
func (e *Engine) announceAvailable(ctx context.Context, s *setup, channelID string) error {
	line, err := e.line.Line(ctx, channelID, 0)
	if err != nil {
		return err
	}
	for _, w := range line {
		if _, err := e.apply(ctx, s, w.Conversation, routing.Input{Kind: routing.InAgentAvailable}, "", nil, nil); err != nil && !errors.Is(err, queue.ErrNotFound) {
			return err
		}
	}
	return nil
}

// returnStaleClaims puts conversations claimed by a gateway that died
// before committing the claim back at their place in line.
func (e *Engine) returnStaleClaims(ctx context.Context, ch *channel, now time.Time) error {
	stale, err := e.line.StaleClaims(ctx, ch.id, now.Add(-staleClaimAge))
	if err != nil {
		return err
	}
	for _, id := range stale {
		rec, err := e.convs.Load(ctx, id)
		if err != nil {
			return err
		}
		if rec.State == routing.StateWaiting {
			err = e.line.Unclaim(ctx, queue.Waiting{Conversation: id, Channel: ch.id, Since: rec.WaitingSince})
		} else {
			err = e.line.DropClaim(ctx, ch.id, id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// requeueLost queues again the sends and inbox processing whose tasks could
// not be queued (Redis failed between the commit and the enqueue). Task ids
// make a send queued twice run once; a second processing task finds an
// empty inbox.
func (e *Engine) requeueLost(ctx context.Context, ch *channel) error {
	cutoff := e.now().Add(-lostAfter)
	jobs, err := e.outbox.Outbox(ctx, ch.id)
	if err != nil {
		return err
	}
	for _, job := range jobs {
		if job.At.After(cutoff) {
			continue // a worker may still be sending it
		}
		if err := e.tasks.EnqueueSend(ctx, job); err != nil {
			return err
		}
	}
	pending, err := e.inbox.PendingConversations(ctx, ch.id, cutoff)
	if err != nil {
		return err
	}
	for _, id := range pending {
		if err := e.tasks.EnqueueProcess(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
