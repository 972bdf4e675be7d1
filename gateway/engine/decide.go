package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"switchboard/bots"
	"switchboard/channels"
	"switchboard/queue"
	"switchboard/routing"
)

// Apply runs an input that does not come from the inbox (an agent's
// action, the sweep) and returns the committed conversation. It returns a
// routing error (routing.ErrNotWaiting, ...) when the input does not apply,
// and ErrNotFound for an unknown conversation.
func (e *Engine) Apply(ctx context.Context, convID string, in routing.Input) (*queue.Record, error) {
	return e.decide(ctx, convID, in, "", nil, nil)
}

// decide loads the conversation, decides, calls the bot as often as routing
// asks, and commits everything at once; on a concurrent change it starts
// over with the fresh state. extra adds entries and sends of the caller's
// own (an agent's reply) to the same commit. preloaded, when not nil, is the
// conversation as the caller last read it, used for the first attempt.
func (e *Engine) decide(ctx context.Context, convID string, in routing.Input, ack string, extra *queue.Commit, preloaded *queue.Record) (*queue.Record, error) {
	ch, ok := e.setup.Load().channels[queue.ChannelOf(convID)]
	if !ok {
		return nil, e.orphan(ctx, convID, ack)
	}
	botReplies := map[string]routing.BotReply{} // kept across retries: the bot is asked once per message
	for attempt := 0; ; attempt++ {
		rec, err := preloaded, error(nil)
		if rec == nil || attempt > 0 {
			rec, err = e.store.Load(ctx, convID)
		}
		if err != nil {
			return nil, err
		}
		if rec.Version == 0 && in.Kind != routing.InUserMessage {
			return nil, queue.ErrNotFound
		}
		now := e.now()
		if err := ch.rules.CanApply(rec.Conversation, in, now); err != nil {
			if ack != "" {
				return rec, e.store.Ack(ctx, convID, ack)
			}
			return rec, err
		}
		c := e.newCommit(rec, ch, in, ack, extra)
		conv, effects := ch.rules.Decide(rec.Conversation, in, now)
		effects = withConsent(ch, rec, in, effects)
		if err := e.carryOut(ctx, ch, c, &conv, effects, botReplies, now); err != nil {
			return nil, err
		}
		before := rec.Conversation
		rec.Conversation = conv
		c.Deadline = ch.rules.Deadline(conv)
		err = e.store.Commit(ctx, c)
		if errors.Is(err, queue.ErrConflict) && attempt < maxConflicts {
			continue
		}
		if err != nil {
			return nil, err
		}
		// Count and announce what was committed before sending it, so that
		// whoever sees the reply also sees the metrics and notices.
		e.afterCommit(ctx, ch, in, before, c)
		e.dispatch(ctx, c, ack != "")
		e.afterReach(ctx, ch, in, c)
		return rec, nil
	}
}

// newCommit starts the commit of one decision: the user's message goes into
// the transcript, and the caller's extra entries and sends ride along.
func (e *Engine) newCommit(rec *queue.Record, ch *channel, in routing.Input, ack string, extra *queue.Commit) *queue.Commit {
	c := &queue.Commit{Record: rec, Ack: ack}
	if rec.Version == 0 {
		rec.Channel, rec.Platform = ch.id, ch.platform
	}
	if ev := in.Event; ev != nil {
		if ev.User.Name != "" || rec.User.ID == "" {
			rec.User = ev.User
		}
		c.Entries = append(c.Entries, userEntry(ev))
		if text := summary(ev); text != "" {
			rec.LastMessage = &queue.LastMessage{Text: text, At: ev.Timestamp}
		}
	}
	if extra != nil {
		c.Entries = append(c.Entries, extra.Entries...)
		c.Sends = append(c.Sends, extra.Sends...)
		c.Notices = append(c.Notices, extra.Notices...)
	}
	return c
}

// carryOut turns routing's effects into the commit, asking the bot when
// told to and deciding again on its reply.
func (e *Engine) carryOut(ctx context.Context, ch *channel, c *queue.Commit, conv *routing.Conversation, effects []routing.Effect, botReplies map[string]routing.BotReply, now time.Time) error {
	var send *queue.SendJob
	for len(effects) > 0 {
		ef := effects[0]
		effects = effects[1:]
		switch ef.Kind {
		case routing.EffectSend:
			if send == nil {
				send = &queue.SendJob{ID: queue.NewEntryID(), Channel: ch.id, Conversation: conv.ID, At: now}
			}
			entry := queue.Entry{ID: queue.NewEntryID(), At: now, Author: ef.From, Kind: "message", Text: ef.Message.Text, Choices: ef.Message.Choices}
			c.Entries = append(c.Entries, entry)
			send.Parts = append(send.Parts, queue.SendPart{Entry: entry.ID, Message: channels.Outbound{To: conv.User.ID, Text: entry.Text, Choices: entry.Choices, Ref: entry.ID}})
		case routing.EffectAskBot:
			reply := e.askBot(ctx, ch, c.Record, *conv, ef, botReplies)
			if reply.Note != "" {
				c.Entries = append(c.Entries, queue.Entry{ID: queue.NewEntryID(), At: now, Author: routing.AuthorBot, Kind: "note", Text: reply.Note})
			}
			next, more := ch.rules.Decide(*conv, routing.Input{Kind: routing.InBotReply, Bot: &reply}, now)
			*conv = next
			effects = append(more, effects...)
		case routing.EffectRequestCall:
			if err := e.requestCall(ctx, ch, c, conv, ef, now); err != nil {
				return err
			}
		case routing.EffectJoinLine:
			c.Line, c.Since = queue.LineJoin, ef.Since
		case routing.EffectLeaveLine:
			c.Line = queue.LineLeave
		case routing.EffectEndSession:
			c.Sessions = append(c.Sessions, queue.SessionRecord{
				ID: ef.Session.ID, Conversation: conv.ID, Channel: ch.id, User: conv.User.ID,
				Kind: ef.Session.Kind, Agent: ef.Session.Agent, Start: ef.Session.Start, End: ef.At, Resolution: ef.Resolution,
				Bot: e.botName(ef.Session.Kind),
			})
		case routing.EffectNotify:
			c.Notices = append(c.Notices, queue.Notice{Type: ef.Notice, Channel: ch.id, Conversation: conv.ID, At: now, Agent: conv.AssignedTo})
		}
	}
	if send != nil {
		c.Sends = append(c.Sends, *send)
	}
	return nil
}

// askBot asks the bot about one user message; a bot that fails or times out
// yields the configured fallback, so the user always gets an answer.
func (e *Engine) askBot(ctx context.Context, ch *channel, rec *queue.Record, conv routing.Conversation, ask routing.Effect, cache map[string]routing.BotReply) routing.BotReply {
	key := ""
	if ask.Event != nil {
		key = ask.Event.ID
	}
	if r, ok := cache[key]; ok {
		return r
	}
	req := bots.NewRequest(conv, ask)
	req.Variables = rec.Variables
	start := time.Now()
	reply, err := e.currentBot().Reply(ctx, req)
	e.metrics.botLatency.Observe(time.Since(start).Seconds())
	if err != nil {
		e.log.Warn("bot failed; sending the fallback", "channel", ch.id, "conversation", conv.ID, "err", err)
		e.metrics.botFailures.Inc()
		reply = routing.BotReply{Failed: true}
		if fb := e.setup.Load().fallback; fb != "" {
			reply.Messages = []routing.BotMessage{{Text: fb}}
		}
	}
	if reply.Variables != nil {
		rec.Variables = reply.Variables
	}
	cache[key] = reply
	return reply
}

// dispatch sends a committed decision's messages. A decision on an inbox
// event runs on a processing worker that holds the conversation, so it
// sends at once and the replies go out in order; other decisions (agent
// actions, the sweep) hand their sends to the task queue. A send that fails
// and may be retried goes to the task queue too; one that cannot even be
// queued stays in the outbox, where the sweep finds it.
func (e *Engine) dispatch(ctx context.Context, c *queue.Commit, inline bool) {
	for _, job := range c.Sends {
		if inline {
			err := e.send(ctx, job, false, false)
			if err == nil || queue.IsPermanent(err) {
				continue
			}
		}
		if err := e.tasks.EnqueueSend(ctx, job); err != nil {
			e.log.Warn("send queued later by the sweep", "channel", job.Channel, "conversation", job.Conversation, "err", err)
		}
	}
}

// orphan handles an event of a channel that is no longer configured (a
// reload removed it): it is dropped from the inbox and logged.
func (e *Engine) orphan(ctx context.Context, convID, ack string) error {
	e.log.Warn("event for a channel that is not configured; dropped", "conversation", convID)
	if ack == "" {
		return queue.ErrNotFound
	}
	return e.store.Ack(ctx, convID, ack)
}

func (e *Engine) publish(ctx context.Context, n queue.Notice) {
	if err := e.store.Publish(ctx, n); err != nil {
		e.log.Warn("notice not published", "channel", n.Channel, "conversation", n.Conversation, "err", err)
	}
}

// userEntry is the transcript line of an inbound event.
func userEntry(ev *channels.Event) queue.Entry {
	author := routing.AuthorUser
	if ev.Kind == channels.KindEcho {
		author = routing.AuthorBusiness
	}
	return queue.Entry{
		ID: queue.InboundEntryID(ev.ID), At: ev.Timestamp, Author: author, Kind: string(ev.Kind), Text: summary(ev),
		Payload: ev.Payload, Attachments: ev.Attachments, Location: ev.Location,
	}
}

// summary is a one-line text of an event for transcripts and listings.
func summary(ev *channels.Event) string {
	switch {
	case ev.Text != "":
		return ev.Text
	case ev.Reaction != nil && ev.Reaction.Removed:
		return "(reaction removed)"
	case ev.Reaction != nil:
		return ev.Reaction.Emoji
	case len(ev.Attachments) > 0:
		a := ev.Attachments[0]
		return "[" + a.Type + "] " + firstNonEmpty(a.Caption, a.FileName)
	case ev.Location != nil:
		return "[location] " + firstNonEmpty(ev.Location.Name, ev.Location.Address, fmt.Sprintf("%.5f,%.5f", ev.Location.Latitude, ev.Location.Longitude))
	case len(ev.Contacts) > 0:
		return "[contact] " + ev.Contacts[0].Name
	case ev.Kind == channels.KindDeleted:
		return "(message deleted)"
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
