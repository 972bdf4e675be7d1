package engine

import (
	"context"
	"time"

	"switchboard/bots"
	"switchboard/queue"
	"switchboard/routing"
)

// afterCommit runs once a decision is committed: metrics, the channel's
// daily counters for the stats, and the escalation notifications. Nothing
// here can undo the commit; failures are logged.
func (e *Engine) afterCommit(ctx context.Context, ch *channel, in routing.Input, before routing.Conversation, c *queue.Commit) {
	e.metrics.observeEffects(ch.id, c)
	after := c.Record.Conversation
	counts := map[string]int64{}
	if !before.Transferred && after.Transferred {
		counts["transfers"]++
	}
	if before.Session != nil && after.Session != nil && before.Session.ID == after.Session.ID && !before.Session.Declined && after.Session.Declined {
		counts["declines"]++
	}
	if before.State == routing.StateWaiting && saidAlreadyWaiting(ch, c.Entries) {
		counts["already_waiting"]++
	}
	if in.Kind == routing.InExpire && before.State != routing.StateEnded && after.State == routing.StateEnded {
		counts["expiries"]++
	}
	var waits []time.Duration
	for _, n := range c.Notices {
		if n.Type == routing.NoticeClaimed && !before.WaitingSince.IsZero() {
			waits = append(waits, n.At.Sub(before.WaitingSince))
		}
	}
	m := e.metrics
	m.transfers.WithLabelValues(ch.id).Add(float64(counts["transfers"]))
	m.declines.WithLabelValues(ch.id).Add(float64(counts["declines"]))
	m.alreadyWaiting.WithLabelValues(ch.id).Add(float64(counts["already_waiting"]))
	m.expiries.WithLabelValues(ch.id).Add(float64(counts["expiries"]))
	for k, v := range counts {
		if v == 0 {
			delete(counts, k)
		}
	}
	if len(counts) > 0 || len(waits) > 0 {
		if err := e.store.CountDaily(ctx, ch.id, ch.day(e.now()), counts, waits); err != nil {
			e.log.WarnContext(ctx, "daily stats not counted", "channel", ch.id, "conversation", after.ID, "err", err)
		}
	}
	e.queueNotifications(ctx, ch, after, c)
}

// saidAlreadyWaiting reports whether the decision told a waiting user that
// their place is kept. routing says it with the channel's already_waiting
// text from the system; no other message of a waiting user is that text
// unless the configuration reuses it.
func saidAlreadyWaiting(ch *channel, entries []queue.Entry) bool {
	text := ch.rules.Messages.AlreadyWaiting
	for _, en := range entries {
		if en.Author == routing.AuthorSystem && en.Kind == "message" && text != "" && en.Text == text {
			return true
		}
	}
	return false
}

// day is the date of t in the channel's zone (UTC without hours).
func (c *channel) day(t time.Time) string {
	if c.cfg.Hours != nil && c.cfg.Hours.Location != nil {
		t = t.In(c.cfg.Hours.Location)
	} else {
		t = t.UTC()
	}
	return t.Format(time.DateOnly)
}

// withConsent puts the channel's consent notice before everything a new
// conversation's first user message gets.
func withConsent(ch *channel, rec *queue.Record, in routing.Input, effects []routing.Effect) []routing.Effect {
	if ch.cfg.Consent == "" || rec.Version != 0 || in.Kind != routing.InUserMessage {
		return effects
	}
	consent := routing.Effect{Kind: routing.EffectSend, Message: &routing.BotMessage{Text: ch.cfg.Consent}, From: routing.AuthorSystem}
	return append([]routing.Effect{consent}, effects...)
}

// currentBot is the bot of the current setup.
func (e *Engine) currentBot() bots.Bot { return e.setup.Load().bot }

// botName names the bot of a bot session in its session record.
func (e *Engine) botName(kind routing.SessionKind) string {
	if kind != routing.SessionBot {
		return ""
	}
	return e.setup.Load().botName
}
