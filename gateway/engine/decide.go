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

// The pipeline of one input: load the conversation, decide (routing, and
// the bot as often as routing asks), commit the new state with every entry,
// send, session, notice and line change in one atomic step, then carry out
// what the commit leaves to do (carryout.go). Every outcome comes from
// routing as an effect; the engine infers none.

// maxConflicts bounds the retries of a decision that keeps losing the
// optimistic-lock race (an agent acting at the same instant as the user).
const maxConflicts = 20

// decision is one input on its way through the pipeline.
type decision struct {
	s   *setup // the configuration it is decided under, loaded once
	ch  *channel
	in  routing.Input
	now time.Time
	// commit is what is committed; commit.Record is the conversation as
	// loaded, then as decided.
	commit *queue.Commit
	// outcomes are routing's EffectOutcome effects, counted once committed,
	// and its EffectCSAT and EffectErase effects (loop.go).
	outcomes []routing.Effect
	// calls are the call requests to queue once committed.
	calls []queue.CallJob
	// followUps are routing's EffectMissed and EffectUnmissed effects,
	// carried out once committed (window.go).
	followUps []routing.Effect
}

// apply runs one input through the pipeline under setup s and returns the
// committed conversation; on a concurrent change of the conversation it starts over
// with the fresh state. It returns a routing error (routing.ErrNotWaiting,
// ...) when the input does not apply, and queue.ErrNotFound for an unknown
// conversation. ack is the inbox event the input consumes ("" for none: an
// agent's action, the sweep, a call's result). extra adds entries and sends of the
// caller's own (an agent's reply) to the same commit, and the processing
// lock's token that the commit must still hold. preloaded, when not
// nil, is the conversation as the caller last read it, used for the first
// attempt.
func (e *Engine) apply(ctx context.Context, s *setup, convID string, in routing.Input, ack string, extra *queue.Commit, preloaded *queue.Record) (*queue.Record, error) {
	ch, ok := s.channels[queue.ChannelOf(convID)]
	if !ok {
		return nil, e.orphan(ctx, convID, ack)
	}
	in, err := e.withPresence(ctx, s, ch, in)
	if err != nil {
		return nil, err
	}
	botReplies := map[string]routing.BotReply{} // kept across retries: the bot is asked once per message
	for attempt := 0; ; attempt++ {
		rec, err := preloaded, error(nil)
		if rec == nil || attempt > 0 {
			rec, err = e.convs.Load(ctx, convID)
		}
		if err != nil {
			return nil, err
		}
		if rec.Version == 0 && in.Kind != routing.InUserMessage && in.Kind != routing.InAgentTemplate {
			return nil, queue.ErrNotFound
		}
		now := e.now()
		in := e.withAgentFree(ctx, s, ch, rec.Conversation, in)
		if err := ch.rules.CanApply(rec.Conversation, in, now); err != nil {
			if ack != "" {
				return rec, e.inbox.Ack(ctx, convID, ack)
			}
			return rec, err
		}
		d := &decision{s: s, ch: ch, in: in, now: now, commit: newCommit(rec, ch, in, ack, extra)}
		d.commit.Retention = s.retention()
		if err := e.decide(ctx, d, botReplies); err != nil {
			return nil, err
		}
		d.commit.Day, d.commit.Daily, d.commit.Touch = ch.day(now), daily(d), agentActivity(d)
		commit := func() error { return e.convs.Commit(ctx, d.commit) }
		if d.commit.Token != "" && d.commit.Ack != "" {
			// A worker's decision on an inbox event: deciding it again after
			// an outage would ask the bot again, and could send twice what
			// a commit that survived a failover already queued.
			err = e.persistently(ctx, "decision", convID, commit)
		} else {
			err = commit()
		}
		if errors.Is(err, queue.ErrConflict) && attempt < maxConflicts {
			continue
		}
		if err != nil {
			return nil, err
		}
		e.carryOut(ctx, d)
		if d.commit.Replayed {
			return nil, nil // applied by an attempt whose answer was lost: read it again
		}
		return rec, nil
	}
}

// newCommit starts the commit of one decision: the user's message goes into
// the transcript, and the caller's extra entries and sends ride along.
func newCommit(rec *queue.Record, ch *channel, in routing.Input, ack string, extra *queue.Commit) *queue.Commit {
	c := &queue.Commit{Record: rec, Ack: ack}
	if rec.Version == 0 {
		rec.Channel, rec.Platform = ch.id, ch.platform
	}
	if ev := in.Event; ev != nil {
		if ev.User.Name != "" || rec.User.ID == "" {
			rec.User = ev.User
		}
		c.Entries = append(c.Entries, userEntry(ev))
		if ev.Kind != channels.KindEcho {
			rec.LastUserMessageID = ev.ID
		}
		if text := summary(ev); text != "" {
			rec.LastMessage = &queue.LastMessage{Text: text, At: ev.Timestamp}
		}
	}
	if extra != nil {
		c.Token = extra.Token
		c.Entries = append(c.Entries, extra.Entries...)
		c.Sends = append(c.Sends, extra.Sends...)
		c.Notices = append(c.Notices, extra.Notices...)
	}
	return c
}

// decide asks routing what the input does and turns every effect into the
// commit, or into what carryOut does once it is committed (outcomes, call
// requests); it asks the bot when routing says so and decides again on its
// reply. It is the one place effects are read.
func (e *Engine) decide(ctx context.Context, d *decision, botReplies map[string]routing.BotReply) error {
	ch, c, now := d.ch, d.commit, d.now
	conv, effects := ch.rules.Decide(c.Record.Conversation, d.in, now)
	var send *queue.SendJob
	for len(effects) > 0 {
		ef := effects[0]
		effects = effects[1:]
		switch ef.Kind {
		case routing.EffectSend:
			if send == nil {
				send = &queue.SendJob{ID: queue.NewEntryID(), Channel: ch.id, Conversation: conv.ID, At: now}
			}
			text := e.fillPosition(ctx, ch.id, conv, ef.Message.Text)
			entry := queue.Entry{ID: queue.NewEntryID(), At: now, Author: ef.From, Kind: "message", Text: text, Choices: ef.Message.Choices}
			c.Entries = append(c.Entries, entry)
			send.Parts = append(send.Parts, queue.SendPart{Entry: entry.ID, Message: channels.Outbound{To: conv.User.ID, Text: entry.Text, Choices: entry.Choices, ListButton: ef.Message.ListButton, Ref: entry.ID}})
		case routing.EffectAskBot:
			reply := e.askBot(ctx, d, conv, ef, botReplies)
			if reply.Note != "" {
				c.Entries = append(c.Entries, queue.Entry{ID: queue.NewEntryID(), At: now, Author: routing.AuthorBot, Kind: "note", Text: reply.Note})
			}
			next, more := ch.rules.Decide(conv, routing.Input{Kind: routing.InBotReply, Bot: &reply, AgentsOnline: d.in.AgentsOnline}, now)
			conv = next
			effects = append(more, effects...)
		case routing.EffectRequestCall:
			// Marked before the commit, so that the sweep can queue the
			// request again if the process dies before queuing it.
			if err := e.calls.MarkCall(ctx, ch.id, conv.ID, ef.Call.Key, now); err != nil {
				return err
			}
			c.Entries = append(c.Entries, queue.Entry{ID: queue.NewEntryID(), At: now, Author: routing.AuthorSystem, Kind: entryCallRequest, Text: ef.Call.Number, Payload: ef.Call.Key})
			d.calls = append(d.calls, queue.CallJob{Key: ef.Call.Key, Channel: ch.id, Conversation: conv.ID, Number: ef.Call.Number, Name: c.Record.User.Name})
		case routing.EffectJoinLine:
			c.Line, c.Since = queue.LineJoin, ef.Since
		case routing.EffectLeaveLine:
			c.Line = queue.LineLeave
		case routing.EffectEndSession:
			bot := ""
			if ef.Session.Kind == routing.SessionBot {
				bot = d.s.botName
			}
			c.Sessions = append(c.Sessions, queue.SessionRecord{
				ID: ef.Session.ID, Conversation: conv.ID, Channel: ch.id, User: conv.User.ID,
				Kind: ef.Session.Kind, Agent: ef.Session.Agent, Start: ef.Session.Start, End: ef.At, Resolution: ef.Resolution,
				Bot: bot, FirstReply: ef.Session.FirstReply,
			})
		case routing.EffectNotify:
			c.Notices = append(c.Notices, queue.Notice{Type: ef.Notice, Channel: ch.id, Conversation: conv.ID, At: now, Agent: conv.AssignedTo, From: ef.PrevAgent})
		case routing.EffectOutcome, routing.EffectCSAT, routing.EffectErase:
			d.outcomes = append(d.outcomes, ef)
		case routing.EffectMissed, routing.EffectUnmissed:
			d.followUps = append(d.followUps, ef)
		}
	}
	if send != nil {
		c.Sends = append(c.Sends, *send)
	}
	c.Record.Conversation = conv
	return nil
}

// askBot asks the bot about one user message; a bot that fails or times out
// yields the configured fallback, so the user always gets an answer.
func (e *Engine) askBot(ctx context.Context, d *decision, conv routing.Conversation, ask routing.Effect, cache map[string]routing.BotReply) routing.BotReply {
	key := ""
	if ask.Event != nil {
		key = ask.Event.ID
	}
	if r, ok := cache[key]; ok {
		return r
	}
	rec := d.commit.Record
	req := bots.NewRequest(conv, ask)
	req.Variables = rec.Variables
	start := time.Now()
	reply, err := d.s.bot.Reply(ctx, req)
	e.metrics.botLatency.Observe(time.Since(start).Seconds())
	if err != nil {
		e.log.Warn("bot failed; sending the fallback", "channel", d.ch.id, "conversation", conv.ID, "err", err)
		e.metrics.botFailures.Inc()
		reply = routing.BotReply{Failed: true}
		if fb := d.s.fallback; fb != "" {
			reply.Messages = []routing.BotMessage{{Text: fb}}
		}
	}
	if reply.Variables != nil {
		rec.Variables = reply.Variables
	}
	cache[key] = reply
	return reply
}

// orphan handles an event of a channel that is no longer configured (a
// reload removed it): it is dropped from the inbox and logged.
func (e *Engine) orphan(ctx context.Context, convID, ack string) error {
	e.log.Warn("event for a channel that is not configured; dropped", "conversation", convID)
	if ack == "" {
		return queue.ErrNotFound
	}
	return e.inbox.Ack(ctx, convID, ack)
}

func (e *Engine) publish(ctx context.Context, n queue.Notice) {
	if err := e.events.Publish(ctx, n); err != nil {
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
