package engine

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/routing"
)

// What agents do through the agent API: list the line and their
// conversations, claim, reply, take notes, close/release/hand back/reopen,
// and say whether they are online. Every method takes the agent as the
// authentication found it and checks that the conversation is on one of
// the agent's channels (ErrForbidden).

// claimRecheck is how often a long-polling claim looks at the lines again
// without a wake-up (waiters.wait).
const claimRecheck = time.Second

// Claim takes the oldest waiting conversation of the agent's channels (or
// of only, one of them) and assigns it to the agent. With nothing waiting
// it waits up to wait for a conversation to join one of those lines (woken
// by line notices, and looking again every claimRecheck in case a wake-up
// was missed) and returns nil when none did.
// Two agents never get the same conversation: the line gives each
// conversation to one claimer, and the claim is committed with a version
// check. It returns ErrForbidden for a channel the agent does not serve
// and routing.ErrAtCapacity for an agent at max_conversations.
func (e *Engine) Claim(ctx context.Context, a Agent, only string, wait time.Duration) (*ConversationView, error) {
	chans := a.Channels
	if only != "" {
		if !a.Serves(only) {
			return nil, &Error{Code: CodeForbidden, Message: "channel " + strconv.Quote(only) + " is not one of the agent's channels"}
		}
		chans = []string{only}
	}
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		s := e.setup.Load()
		rec, err := e.claim(ctx, s, a, chans)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			e.log.InfoContext(ctx, "conversation claimed", "agent", a.ID, "conversation", rec.ID)
			v := view(s.channels[rec.Channel], rec, 0, e.now())
			return &v, nil
		}
		if wait == 0 || !e.waiters.wait(waitCtx, chans, claimRecheck) {
			return nil, nil
		}
	}
}

// claim assigns the head that has waited longest among chans' lines to
// the agent; nil when no conversation waits. The line checks the agent's
// capacity in the step that takes the head (queue.Store.ClaimOldest).
func (e *Engine) claim(ctx context.Context, s *setup, a Agent, chans []string) (*queue.Record, error) {
	c := queue.Claimer{Agent: a.ID, Channels: chans, Max: a.MaxConversations, Held: a.Channels}
	for {
		w, ok, err := e.line.ClaimOldest(ctx, c, e.now())
		if err != nil || !ok { // routing.ErrAtCapacity among the errors
			return nil, err
		}
		c.Max = 0 // checked once per claim: a stale entry dropped does not count
		rec, ok, err := e.assignClaimed(ctx, s, w.Channel, w, a)
		if err != nil || ok {
			return rec, err
		}
	}
}

// assignClaimed commits the assignment of a conversation the line gave
// (queue.Store.Claim) to an agent. A stale line entry (the conversation
// ended meanwhile) is dropped and reported as not ok; on any other
// failure the conversation goes back to its place in line.
func (e *Engine) assignClaimed(ctx context.Context, s *setup, channelID string, w queue.Waiting, a Agent) (*queue.Record, bool, error) {
	rec, err := e.apply(ctx, s, w.Conversation, routing.Input{Kind: routing.InAgentClaim, Agent: a.ID, AgentName: a.Name}, "", nil, w.Record)
	switch {
	case err == nil:
		return rec, true, nil
	case errors.Is(err, routing.ErrNotWaiting), errors.Is(err, queue.ErrNotFound):
		return nil, false, e.line.DropClaim(ctx, channelID, w.Conversation)
	default:
		_ = e.line.Unclaim(ctx, w)
		return nil, false, err
	}
}

// WaitingClaims is the number of long-polling claims now waiting.
func (e *Engine) WaitingClaims() int { return e.waiters.count() }

// ListQueue lists the waiting conversations of the agent's channels, the
// longest waiting first, each with its place in its channel's line.
func (e *Engine) ListQueue(ctx context.Context, a Agent) ([]ConversationView, error) {
	s := e.setup.Load()
	now := e.now()
	out := []ConversationView{}
	for _, chID := range a.Channels {
		line, err := e.line.Line(ctx, chID, 0)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(line))
		for i, w := range line {
			ids[i] = w.Conversation
		}
		listed, err := e.inboxes.LoadMany(ctx, a.ID, ids)
		if err != nil {
			return nil, err
		}
		for i, l := range listed {
			if l.Record.State != routing.StateWaiting || l.Record.WaitingSince.IsZero() {
				continue // a stale line entry: claiming it drops it
			}
			v := view(s.channels[l.Record.Channel], l.Record, int64(i+1), now)
			v.Unread = l.Unread
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, func(x, y ConversationView) int { return x.WaitingSince.Compare(*y.WaitingSince) })
	return out, nil
}

// authorize loads a conversation of one of the agent's channels. It
// returns queue.ErrNotFound for a conversation that does not exist and
// ErrForbidden for another channel's.
func (e *Engine) authorize(ctx context.Context, a Agent, convID string) (*queue.Record, error) {
	ch := queue.ChannelOf(convID)
	if ch == "" {
		return nil, queue.ErrNotFound
	}
	if !a.Serves(ch) {
		return nil, ErrForbidden
	}
	rec, err := e.convs.Load(ctx, convID)
	if err != nil {
		return nil, err
	}
	if rec.Version == 0 {
		return nil, queue.ErrNotFound
	}
	return rec, nil
}

// Conversation returns one conversation with its place in line, the
// agent's unread count and a page of its transcript and notes: the limit
// entries before the entry before (the newest when before is ""), with
// NextBefore set when older entries remain.
func (e *Engine) Conversation(ctx context.Context, a Agent, convID, before string, limit int) (ConversationView, error) {
	if limit == 0 {
		limit = DefaultTranscriptLimit
	}
	if limit < 1 || limit > MaxTranscriptLimit {
		return ConversationView{}, badRequest("limit must be between 1 and 500")
	}
	rec, err := e.authorize(ctx, a, convID)
	if err != nil {
		return ConversationView{}, err
	}
	entries, next, err := e.inboxes.TranscriptPage(ctx, rec.ID, before, limit)
	if errors.Is(err, queue.ErrUnknownEntry) {
		return ConversationView{}, badRequest("before: no entry " + before + " in this conversation")
	}
	if err != nil {
		return ConversationView{}, err
	}
	v, err := e.listedView(ctx, e.setup.Load(), a, rec.ID)
	if err != nil {
		return ConversationView{}, err
	}
	v.Transcript, v.Notes, v.NextBefore = []queue.Entry{}, []queue.Entry{}, next
	for _, en := range entries {
		if en.Kind == "note" {
			v.Notes = append(v.Notes, en)
		} else {
			v.Transcript = append(v.Transcript, en)
		}
	}
	return v, nil
}

// AddNote adds an agent's private note to a conversation's transcript.
func (e *Engine) AddNote(ctx context.Context, a Agent, convID, text string) (queue.Entry, error) {
	rec, err := e.authorize(ctx, a, convID)
	if err != nil {
		return queue.Entry{}, err
	}
	entry := queue.Entry{ID: queue.NewEntryID(), At: e.now(), Author: routing.AuthorAgent, Agent: a.ID, Kind: "note", Text: text}
	return entry, e.convs.Append(ctx, rec.ID, entry)
}

// Act runs an agent's action on a conversation the agent holds (close,
// release, handback) or held (reopen) and returns it as it stands after;
// a supervisor may close or release any conversation of its channels.
// It returns the routing error when the action does not apply
// (routing.ErrNotAssigned, ErrNotYours, ErrNotEnded) and
// channels.ErrWindowClosed for a reopen after the messaging window.
func (e *Engine) Act(ctx context.Context, a Agent, convID string, kind routing.InputKind) (ConversationView, error) {
	switch kind {
	case routing.InAgentClose, routing.InAgentRelease, routing.InAgentHandback, routing.InAgentReopen:
	default:
		return ConversationView{}, routing.ErrInvalidInput
	}
	if _, err := e.authorize(ctx, a, convID); err != nil {
		return ConversationView{}, err
	}
	s := e.setup.Load()
	rec, err := e.apply(ctx, s, convID, routing.Input{Kind: kind, Agent: a.ID, AgentName: a.Name, Supervisor: a.IsSupervisor()}, "", nil, nil)
	if err != nil {
		return ConversationView{}, err
	}
	e.log.InfoContext(ctx, "agent action", "agent", a.ID, "conversation", rec.ID, "action", kind)
	return view(s.channels[rec.Channel], rec, 0, e.now()), nil
}

// SetPresence records an agent's presence. When the agent is the first of
// a channel to come online, the channel's waiting users are told an agent
// is available.
func (e *Engine) SetPresence(ctx context.Context, a Agent, p queue.Presence) error {
	s := e.setup.Load()
	before, err := e.onlineByChannel(ctx, s)
	if err != nil {
		return err
	}
	prev, err := e.presence.SetPresence(ctx, a.ID, p, e.now())
	if err != nil || p != queue.Online || prev == queue.Online {
		return err
	}
	for _, ch := range a.Channels {
		if len(before[ch]) == 0 {
			if err := e.announceAvailable(ctx, s, ch); err != nil {
				return err
			}
		}
	}
	e.assigner.signal(a.Channels...)
	return nil
}

// onlineByChannel lists the online agents of each channel.
func (e *Engine) onlineByChannel(ctx context.Context, s *setup) (map[string][]string, error) {
	ids := make([]string, 0, len(s.agents))
	for id := range s.agents {
		ids = append(ids, id)
	}
	presence, _, err := e.presence.Presences(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for id, p := range presence {
		if p != queue.Online {
			continue
		}
		for _, ch := range s.agents[id].Channels {
			out[ch] = append(out[ch], id)
		}
	}
	return out, nil
}

// PinEvents fixes, for each of the agent's channels the cursor has no
// position in, the position to read the agent's events from: from then on
// no event is missed, and every cursor names a position in every channel.
func (e *Engine) PinEvents(ctx context.Context, a Agent, cur queue.Cursor) error {
	return e.events.PinCursor(ctx, a.Channels, cur)
}

// Windows of the platforms: free-form messages within 24 h of the user's
// last message; Messenger and Instagram human agents up to 7 days with the
// HUMAN_AGENT tag when the channel enables it.
const (
	messagingWindow  = 24 * time.Hour
	humanAgentWindow = 7 * 24 * time.Hour
)

// agentOutbound builds an agent's message, refusing it outside the window.
func agentOutbound(ch *channel, rec *queue.Record, text string, now time.Time) (channels.Outbound, error) {
	out := channels.Outbound{To: rec.User.ID, Text: text}
	since := now.Sub(rec.LastUserMessage)
	switch {
	case rec.LastUserMessage.IsZero():
		return out, channels.ErrWindowClosed
	case since < messagingWindow:
		return out, nil
	case ch.cfg.HumanAgentTag && since < humanAgentWindow:
		out.HumanAgent = true
		return out, nil
	}
	return out, channels.ErrWindowClosed
}

// Reply sends an agent's text and/or attachment to the user of a
// conversation the agent holds. It returns routing.ErrNotAssigned /
// ErrNotYours when the agent does not hold it, and
// channels.ErrWindowClosed outside the platform's window.
func (e *Engine) Reply(ctx context.Context, a Agent, convID, text string, att *channels.Attachment) (queue.Entry, error) {
	rec, err := e.authorize(ctx, a, convID)
	if err != nil {
		return queue.Entry{}, err
	}
	s := e.setup.Load()
	ch, ok := s.channels[rec.Channel]
	if !ok {
		return queue.Entry{}, queue.ErrNotFound
	}
	now := e.now()
	entry := queue.Entry{ID: queue.NewEntryID(), At: now, Author: routing.AuthorAgent, Agent: a.ID, Kind: "message", Text: text}
	if att != nil {
		entry.Attachments = []channels.Attachment{*att}
		if entry.Text == "" {
			entry.Text = "[" + att.Type + "] " + firstNonEmpty(att.Caption, att.FileName)
		}
	}
	out, err := agentOutbound(ch, rec, text, now)
	if err != nil {
		return entry, err
	}
	out.Attachment, out.Ref = att, entry.ID
	job := queue.SendJob{ID: queue.NewEntryID(), Channel: ch.id, Conversation: convID, Parts: []queue.SendPart{{Entry: entry.ID, Message: out}}, At: now}
	extra := &queue.Commit{Entries: []queue.Entry{entry}, Sends: []queue.SendJob{job}}
	_, err = e.apply(ctx, s, convID, reengageInput(rec, a), "", extra, nil)
	return entry, err
}
