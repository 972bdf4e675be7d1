package engine

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/queue"
	"switchboard/routing"
)

// The messaging window (design.md §10): who counts as online for the
// presence-aware derivation, the missed list of users who expired while
// waiting, re-engaging them, and an agent taking over a bot conversation.
// Templates and starting a conversation are in templates.go.

// FollowUps is each channel's missed list (*queue.Store satisfies it).
type FollowUps interface {
	AddMissed(ctx context.Context, channel, convID string, at time.Time) error
	RemoveMissed(ctx context.Context, channel, convID string) error
	PruneMissed(ctx context.Context, channel string, cutoff time.Time) (int64, error)
	ListMissed(ctx context.Context, channel string, cutoff time.Time, cursor string, n int) ([]queue.Missed, string, error)
}

var _ FollowUps = (*queue.Store)(nil)

// agentSeenWithin is how recently an agent whose presence says online must
// have been seen (presence set, a claim or a message) to count as online:
// a console left online for days does not make the line look staffed.
const agentSeenWithin = 24 * time.Hour

// agentsOnline reports whether an agent of the channel is online at now.
func (e *Engine) agentsOnline(ctx context.Context, s *setup, channelID string, now time.Time) (bool, error) {
	var ids []string
	for id, a := range s.agents {
		if a.Serves(channelID) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return false, nil
	}
	presence, since, err := e.presence.Presences(ctx, ids)
	if err != nil {
		return false, err
	}
	activity, err := e.presence.AgentActivity(ctx, ids)
	if err != nil {
		return false, err
	}
	for _, id := range ids {
		seen := since[id]
		if activity[id].After(seen) {
			seen = activity[id]
		}
		if presence[id] == queue.Online && now.Sub(seen) < agentSeenWithin {
			return true, nil
		}
	}
	return false, nil
}

// withPresence sets in.AgentsOnline where the decision may depend on it:
// the announcement that an agent is available, and a user message on a
// channel whose no_agent_online is not wait.
func (e *Engine) withPresence(ctx context.Context, s *setup, ch *channel, in routing.Input) (routing.Input, error) {
	switch {
	case in.Kind == routing.InAgentAvailable:
	case in.Kind == routing.InUserMessage && ch.rules.NoAgentOnline != "" && ch.rules.NoAgentOnline != routing.NoAgentWait:
	default:
		return in, nil
	}
	online, err := e.agentsOnline(ctx, s, ch.id, e.now())
	in.AgentsOnline = online
	return in, err
}

// fillPosition replaces "{position}" in a message with the user's place in
// line: the current one, or the one a conversation joining the line takes.
func (e *Engine) fillPosition(ctx context.Context, channelID string, conv routing.Conversation, text string) string {
	if !strings.Contains(text, "{position}") {
		return text
	}
	pos, err := e.line.Position(ctx, conv.ID)
	if err == nil && pos == 0 {
		pos, err = e.line.LineLength(ctx, channelID)
		pos++
	}
	if err != nil {
		e.log.Warn("place in line unknown; {position} left out", "channel", channelID, "conversation", conv.ID, "err", err)
		return strings.ReplaceAll(text, "{position}", "")
	}
	return strings.ReplaceAll(text, "{position}", strconv.FormatInt(pos, 10))
}

// carryOutFollowUps puts a committed decision's conversation in its
// channel's missed list, or takes it out. A failure is logged: the list is
// an index, and the listing skips what the conversations contradict.
func (e *Engine) carryOutFollowUps(ctx context.Context, d *decision) {
	if e.followUps == nil {
		return
	}
	id := d.commit.Record.ID
	for _, ef := range d.followUps {
		var err error
		if ef.Kind == routing.EffectMissed {
			err = e.followUps.AddMissed(ctx, d.ch.id, id, ef.At)
		} else {
			err = e.followUps.RemoveMissed(ctx, d.ch.id, id)
		}
		if err != nil {
			e.log.WarnContext(ctx, "missed list not updated", "channel", d.ch.id, "conversation", id, "effect", ef.Kind, "err", err)
		}
	}
}

// pruneMissed drops what the channel's missed list keeps past follow_up_keep.
func (e *Engine) pruneMissed(ctx context.Context, ch *channel, now time.Time) error {
	if e.followUps == nil {
		return nil
	}
	_, err := e.followUps.PruneMissed(ctx, ch.id, now.Add(-ch.cfg.Derivation.FollowUpKeep))
	return err
}

// isMissed: the conversation expired while waiting less than the channel's
// follow_up_keep ago and nothing happened since.
func isMissed(ch *channel, rec *queue.Record, now time.Time) bool {
	if rec.State != routing.StateEnded || rec.MissedAt.IsZero() || ch == nil {
		return false
	}
	return now.Before(rec.MissedAt.Add(ch.cfg.Derivation.FollowUpKeep))
}

// Missed limit bounds.
const (
	DefaultMissedLimit = 50
	MaxMissedLimit     = 200
)

// ListMissed lists the missed conversations of the agent's channels (or
// of only, one of them), the latest expiry first, limit of them (0:
// DefaultMissedLimit) after cursor (a previous page's next cursor, "" for
// the first). next is "" on the last page.
func (e *Engine) ListMissed(ctx context.Context, a Agent, only, cursor string, limit int) (list []ConversationView, next string, err error) {
	if e.followUps == nil {
		return nil, "", &Error{Code: CodeUnavailable, Message: "the missed list is not kept by this gateway"}
	}
	switch {
	case limit == 0:
		limit = DefaultMissedLimit
	case limit < 1 || limit > MaxMissedLimit:
		return nil, "", &Error{Code: CodeBadRequest, Message: "limit must be 1 to " + strconv.Itoa(MaxMissedLimit)}
	}
	chans := a.Channels
	if only != "" {
		if !a.Serves(only) {
			return nil, "", ErrForbidden
		}
		chans = []string{only}
	}
	s, now := e.setup.Load(), e.now()
	// One order for every channel (expiry, then id, both descending), so a
	// cursor is a place in the merged list.
	var merged []queue.Missed
	more := false
	for _, id := range chans {
		ch, ok := s.channels[id]
		if !ok {
			continue
		}
		page, nextOfChannel, err := e.followUps.ListMissed(ctx, id, now.Add(-ch.cfg.Derivation.FollowUpKeep), cursor, limit)
		if errors.Is(err, queue.ErrMissedCursor) {
			return nil, "", &Error{Code: CodeBadRequest, Message: "cursor is not one this listing gave"}
		}
		if err != nil {
			return nil, "", err
		}
		merged = append(merged, page...)
		more = more || nextOfChannel != ""
	}
	slices.SortFunc(merged, func(x, y queue.Missed) int {
		if c := y.At.Compare(x.At); c != 0 {
			return c
		}
		return strings.Compare(y.Conversation, x.Conversation)
	})
	if len(merged) > limit {
		merged, more = merged[:limit], true
	}
	if more && len(merged) > 0 {
		last := merged[len(merged)-1]
		next = strconv.FormatInt(last.At.UnixMilli(), 10) + ":" + last.Conversation
	}
	list = []ConversationView{}
	for _, m := range merged {
		rec, err := e.convs.Load(ctx, m.Conversation)
		if err != nil {
			return nil, "", err
		}
		ch := s.channels[rec.Channel]
		if rec.Version == 0 || !isMissed(ch, rec, now) {
			// Stale: the conversation was removed or re-engaged.
			_ = e.followUps.RemoveMissed(ctx, queue.ChannelOf(m.Conversation), m.Conversation)
			continue
		}
		list = append(list, view(ch, rec, 0, now))
	}
	return list, next, nil
}

// Takeover gives a conversation the bot holds to the agent: the bot
// session ends taken_over and the user is told the agent's name. It
// returns routing.ErrNotTakeable when the bot does not hold it and
// ErrAtCapacity for an agent at max_conversations.
func (e *Engine) Takeover(ctx context.Context, a Agent, convID string) (ConversationView, error) {
	if _, err := e.authorize(ctx, a, convID); err != nil {
		return ConversationView{}, err
	}
	if err := e.underCapacity(ctx, a); err != nil {
		return ConversationView{}, err
	}
	s := e.setup.Load()
	rec, err := e.apply(ctx, s, convID, routing.Input{Kind: routing.InAgentTakeover, Agent: a.ID, AgentName: a.Name}, "", nil, nil)
	if err != nil {
		return ConversationView{}, err
	}
	e.log.InfoContext(ctx, "conversation taken over", "agent", a.ID, "conversation", rec.ID)
	return view(s.channels[rec.Channel], rec, 0, e.now()), nil
}

// underCapacity returns ErrAtCapacity when the agent holds
// max_conversations already.
func (e *Engine) underCapacity(ctx context.Context, a Agent) error {
	if a.MaxConversations <= 0 {
		return nil
	}
	held, err := e.line.HeldBy(ctx, a.Channels, a.ID)
	if err != nil {
		return err
	}
	if held >= a.MaxConversations {
		return ErrAtCapacity
	}
	return nil
}

// reengageInput is the input an agent's reply applies: a missed
// conversation becomes the agent's (on Messenger and Instagram within the
// HUMAN_AGENT window), any other is a plain message.
func reengageInput(rec *queue.Record, a Agent) routing.Input {
	if rec.State == routing.StateEnded && !rec.MissedAt.IsZero() {
		return routing.Input{Kind: routing.InAgentReengage, Agent: a.ID, AgentName: a.Name}
	}
	return routing.Input{Kind: routing.InAgentMessage, Agent: a.ID}
}

// windowView adds what the view says of the messaging window: when it
// ends, whether a template waits for the user's answer, whether the
// conversation is in the missed list.
func windowView(v *ConversationView, ch *channel, rec *queue.Record, now time.Time) {
	v.Missed = isMissed(ch, rec, now)
	v.WindowPending = routing.WindowPending(rec.Conversation)
	if ch != nil {
		if end := ch.rules.WindowEnd(rec.Conversation); !end.IsZero() {
			v.WindowEndsAt = &end
		}
	}
}

// userIsPhoneNumber checks a WhatsApp user id given by an agent: the
// digits of a phone number in international form, country code first.
func userIsPhoneNumber(user string) error {
	if len(user) < 8 || len(user) > 15 || strings.Trim(user, "0123456789") != "" || user[0] == '0' {
		return &Error{Code: CodeBadRequest, Message: "user must be a WhatsApp number: 8 to 15 digits, country code first, no + or spaces"}
	}
	return nil
}
