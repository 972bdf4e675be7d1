package engine

import (
	"context"

	"switchboard/queue"
	"switchboard/routing"
)

// carryOut does, in one place, what a committed decision leaves to do:
// count its outcomes in the metrics, queue its notifications, send its
// messages, queue its call requests and signal automatic assignment. It
// counts and announces before it sends, so that whoever sees the reply
// also sees the metrics and notices (the daily counts were committed with
// the decision). Nothing here can undo
// the commit: failures are logged, and the sweep queues again the sends
// and calls that could not be queued.
func (e *Engine) carryOut(ctx context.Context, d *decision) {
	e.count(d)
	e.carryOutFollowUps(ctx, d)
	e.queueNotifications(ctx, d)
	e.carryOutLoop(ctx, d)
	e.dispatch(ctx, d.s, d.commit, d.commit.Ack != "" || d.in.Kind == routing.InAgentClaim, d.commit.Replayed)
	for _, job := range d.calls {
		if err := e.enqueueCall(ctx, d.ch, job); err != nil {
			e.log.Warn("call request queued later by the sweep", "channel", d.ch.id, "conversation", job.Conversation, "err", err)
		}
	}
	switch d.in.Kind {
	case routing.InAgentClose, routing.InAgentRelease, routing.InAgentHandback:
		if a, ok := d.s.agents[d.in.Agent]; ok {
			e.assigner.signal(a.Channels...) // the agent has room for one more
		}
	case routing.InAgentTransfer, routing.InAgentAssign:
		e.assigner.signal(d.ch.id) // the previous holder has room for one more
	}
	if d.commit.Line == queue.LineJoin {
		e.assigner.signal(d.ch.id)
	}
}

// dailyCounts names each outcome in the channel's daily counts (the admin
// stats); waits are counted apart.
var dailyCounts = map[routing.Outcome]string{
	routing.OutcomeTransferred:    "transfers",
	routing.OutcomeDeclined:       "declines",
	routing.OutcomeAlreadyWaiting: "already_waiting",
	routing.OutcomeExpired:        "expiries",
	routing.OutcomeLeftLine:       "left_line",
	routing.OutcomeMissed:         "missed",
}

// agentActivity is the activity a decision notes: the agent's, when an
// agent claims or writes.
func agentActivity(d *decision) []queue.Activity {
	switch d.in.Kind {
	case routing.InAgentClaim, routing.InAgentMessage, routing.InAgentTemplate, routing.InAgentTakeover, routing.InAgentReengage:
		return []queue.Activity{{Agent: d.in.Agent, At: d.now}}
	}
	return nil
}

// daily is what a decision adds to its channel's daily counts: its
// outcomes, and the wait of a conversation taken from the line. The
// commit writes them (queue.Commit.Daily), with the agent's activity.
func daily(d *decision) queue.Daily {
	var out queue.Daily
	for _, o := range d.outcomes {
		if name, ok := dailyCounts[o.Outcome]; ok {
			if out.Counts == nil {
				out.Counts = map[string]int64{}
			}
			out.Counts[name]++
		}
		if o.Outcome == routing.OutcomeClaimed {
			out.Waits = append(out.Waits, d.now.Sub(o.Since))
		}
	}
	return out
}

// count adds a committed decision's outcomes to the metrics (its daily
// counts were committed with it).
func (e *Engine) count(d *decision) {
	ch, c, m := d.ch, d.commit, e.metrics
	for _, s := range c.Sessions {
		m.sessionsEnded.WithLabelValues(ch.id, string(s.Resolution)).Inc()
	}
	if c.Line == queue.LineJoin {
		m.referrals.WithLabelValues(ch.id).Inc()
	}
	for _, wait := range c.Daily.Waits {
		m.waitTime.WithLabelValues(ch.id).Observe(wait.Seconds())
	}
	// Every counter of the channel is touched, so each shows from the
	// channel's first decision on, at zero until something happens.
	counts := c.Daily.Counts
	m.transfers.WithLabelValues(ch.id).Add(float64(counts["transfers"]))
	m.declines.WithLabelValues(ch.id).Add(float64(counts["declines"]))
	m.alreadyWaiting.WithLabelValues(ch.id).Add(float64(counts["already_waiting"]))
	m.expiries.WithLabelValues(ch.id).Add(float64(counts["expiries"]))
}

// dispatch sends a committed decision's messages. A decision on an inbox
// event runs on a processing worker that holds the conversation, so it
// sends at once and the replies go out in order. A claim sends its message
// ("an agent joined") at once too, before the claim answers, so it goes
// out before anything the agent then writes, and without the task queue's
// round trips. Other decisions (agent actions, the sweep) hand their sends
// to the task queue. A send that fails and may be retried goes to the task
// queue too; one that cannot even be queued stays in the outbox (written by
// the commit), where the sweep finds it. replayed says the commit was
// applied by an earlier attempt (queue.Commit.Replayed): its sends are
// checked against what was sent, as a retry's are.
func (e *Engine) dispatch(ctx context.Context, s *setup, c *queue.Commit, inline, replayed bool) {
	for _, job := range c.Sends {
		if inline {
			err := e.send(ctx, s, job, false, replayed)
			if err == nil || queue.IsPermanent(err) {
				continue
			}
		}
		e.sendLater(ctx, job)
	}
}

// sendLater hands a job to the task queue; one that cannot even be queued
// stays in the outbox, where the sweep finds it.
func (e *Engine) sendLater(ctx context.Context, job queue.SendJob) {
	if err := e.tasks.EnqueueSend(ctx, job); err != nil {
		e.log.Warn("send queued later by the sweep", "channel", job.Channel, "conversation", job.Conversation, "err", err)
	}
}
