package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"switchboard/bots"
	"switchboard/channels"
	"switchboard/config"
	"switchboard/queue"
	"switchboard/routing"
)

// lockTTL bounds how long a dead worker can block its conversation's inbox.
const lockTTL = 2 * time.Minute

// maxConflicts bounds the retries of a decision that keeps losing the
// optimistic-lock race (an agent acting at the same instant as the user).
const maxConflicts = 20

// Engine runs routing decisions: it loads a conversation, asks routing what
// to do with one input, calls the bot when routing says so, and commits the
// new state with every effect in one atomic step. It also sends messages and
// runs the periodic sweep.
type Engine struct {
	store   *queue.Store
	tasks   *queue.Tasks
	bot     bots.Bot
	now     func() time.Time
	log     *slog.Logger
	metrics *metrics
	// setup is swapped whole on reload; readers load it once per operation.
	setup atomic.Pointer[setup]
	// notifier delivers escalation notifications (notify.go).
	notifier *notifier
	// processor drains inboxes in-process, off the webhook path.
	processor *processor
}

// setup is what the configuration decides: channels, agents, bot texts.
type setup struct {
	channels  map[string]*channel
	byAccount map[channels.Platform]map[string]*channel
	agents    map[string]*agent
	secrets   map[channels.Platform][]string // app secrets per platform, for signatures
	fallback  string
	dedupeTTL time.Duration
	// cfg is the configuration this setup was built from; bot is its bot
	// (nil: Engine.bot) and botName what session records call it.
	cfg     *config.Config
	bot     bots.Bot
	botName string
}

// agent is a configured agent.
type agent struct {
	id, name         string
	token            string
	channels         []string
	maxConversations int
}

func (a *agent) serves(channelID string) bool {
	for _, c := range a.channels {
		if c == channelID {
			return true
		}
	}
	return false
}

func (e *Engine) channel(id string) (*channel, bool) {
	c, ok := e.setup.Load().channels[id]
	return c, ok
}

// Ingest makes an inbound event durable in its conversation's inbox and
// queues its processing. It returns queue.ErrUnavailable (wrapped) when
// Redis cannot be reached: the webhook must then answer 503.
func (e *Engine) Ingest(ctx context.Context, ev *channels.Event) (queue.Accepted, error) {
	convID := queue.ConversationID(ev.Channel, ev.User.ID)
	res, err := e.store.Accept(ctx, ev, convID, e.setup.Load().dedupeTTL, e.now())
	if err != nil {
		return res, err
	}
	if res == queue.AcceptedDuplicate {
		return res, nil
	}
	return res, e.processor.add(ctx, convID)
}

// Process drains one conversation's inbox in order. A task that finds the
// conversation locked returns at once: the lock holder sees its event
// before it lets go (see queue.Store.Unlock).
func (e *Engine) Process(ctx context.Context, convID string) error {
	token := queue.NewEntryID()
	batch, ok, err := e.store.Take(ctx, convID, token, lockTTL, inboxBatch, true)
	if err != nil || !ok {
		return err
	}
	for {
		// Each decision commits the conversation it returns, so the next
		// event starts from it without reading it again.
		rec := batch.Record
		for i := range batch.Events {
			ev := &batch.Events[i]
			next, err := e.handleRecovering(ctx, convID, ev, rec)
			if errors.Is(err, queue.ErrUnavailable) || ctx.Err() != nil {
				// Redis is down (or we are shutting down): the event stays in the
				// inbox and the task is retried once the lock expires.
				return fmt.Errorf("conversation %s, event %s: %w", convID, logID(ev.ID), err)
			}
			if err != nil {
				// Not an outage (a panic included): retrying would fail the same
				// way and block the conversation. Set it aside and move on.
				if err := e.deadLetter(ctx, convID, ev, err); err != nil {
					return err
				}
				next = nil
			}
			rec = next
		}
		released, err := e.store.Unlock(ctx, convID, token, lockTTL)
		if err != nil || released {
			return err
		}
		if batch, ok, err = e.store.Take(ctx, convID, token, lockTTL, inboxBatch, false); err != nil || !ok {
			return err
		}
	}
}

// pending lists up to n conversations with events waiting, across the
// configured channels, for the processor's refill after an overflow.
func (e *Engine) pending(ctx context.Context, n int) ([]string, error) {
	var out []string
	for id := range e.setup.Load().channels {
		ids, err := e.store.Pending(ctx, id, n-len(out))
		if err != nil {
			return out, err
		}
		out = append(out, ids...)
		if len(out) >= n {
			break
		}
	}
	return out, nil
}

// inboxBatch is how many inbox events one read takes.
const inboxBatch = 20

// handle processes one inbound event of a conversation. rec, when not nil,
// is the conversation as last read or committed; handle returns it as it
// stands after the event (nil when unknown).
func (e *Engine) handle(ctx context.Context, convID string, ev *channels.Event, rec *queue.Record) (*queue.Record, error) {
	start := time.Now()
	defer func() { e.metrics.observeEvent(ev, time.Since(start)) }()
	switch {
	case ev.Kind.IsUserMessage() && e.late(ev):
		return rec, e.recordLate(ctx, convID, ev)
	case ev.Kind == channels.KindStatus:
		return rec, e.applyStatus(ctx, convID, ev)
	case ev.Kind.IsUserMessage() && !ev.Standby:
		return e.decide(ctx, convID, routing.Input{Kind: routing.InUserMessage, Event: ev}, ev.ID, nil, rec)
	case ev.Kind == channels.KindEcho:
		// An echo of our own send is already in the transcript. Its metadata
		// (Payload) is our entry id; the platform id covers echoes that lost it.
		if strings.HasPrefix(ev.Payload, queue.EntryIDPrefix) {
			return rec, e.store.Ack(ctx, convID, ev.ID)
		}
		if known, err := e.store.KnownMessage(ctx, ev.Channel, ev.ID); err != nil || known {
			if err == nil {
				err = e.store.Ack(ctx, convID, ev.ID)
			}
			return rec, err
		}
	}
	// Everything else is recorded for the agent, never routed.
	return rec, e.store.Record(ctx, convID, ev.ID, userEntry(ev))
}

// applyStatus moves the delivery status of the messages a status names.
func (e *Engine) applyStatus(ctx context.Context, convID string, ev *channels.Event) error {
	st := ev.Status
	if st != nil {
		detail := ""
		if len(st.Errors) > 0 {
			detail = fmt.Sprintf("%d: %s", st.Errors[0].Code, firstNonEmpty(st.Errors[0].Details, st.Errors[0].Message, st.Errors[0].Title))
		}
		for _, mid := range st.MessageIDs {
			_, entryID, changed, err := e.store.UpdateDelivery(ctx, ev.Channel, mid, st.Status, detail)
			if err != nil {
				return err
			}
			if changed && st.Status == channels.StatusFailed {
				e.publish(ctx, queue.Notice{Type: noticeSendFailed, Channel: ev.Channel, Conversation: convID, At: e.now(), Text: entryID + ": " + detail})
			}
		}
		if !st.Watermark.IsZero() {
			if err := e.store.DeliveredUpTo(ctx, convID, st.Watermark, st.Status); err != nil {
				return err
			}
		}
	}
	return e.store.Ack(ctx, convID, ev.ID)
}

// noticeSendFailed tells agents a message will not reach the user.
const noticeSendFailed routing.Notice = "message.failed"

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
	ch, ok := e.channel(queue.ChannelOf(convID))
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
