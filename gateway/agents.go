package gateway

import (
	"context"
	"errors"
	"slices"
	"time"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/routing"
)

// Errors of agent operations, mapped to HTTP statuses in one place (api.go).
var (
	ErrAtCapacity = errors.New("agent holds max_conversations already")
	ErrForbidden  = errors.New("conversation is not on one of the agent's channels")
)

// Claim takes the oldest waiting conversation of the agent's channels (or
// of one of them) and assigns it to the agent. It returns nil, nil when no
// conversation waits. Two agents never get the same conversation: the
// line gives each conversation to one claimer, and the claim is committed
// with a version check.
func (e *Engine) Claim(ctx context.Context, a *agent, only string) (*queue.Record, error) {
	chans := a.channels
	if only != "" {
		if !a.serves(only) {
			return nil, ErrForbidden
		}
		chans = []string{only}
	}
	if a.maxConversations > 0 {
		held, err := e.store.Held(ctx, a.channels)
		if err != nil {
			return nil, err
		}
		if held[a.id] >= a.maxConversations {
			return nil, ErrAtCapacity
		}
	}
	for {
		ch, ok, err := e.oldestHead(ctx, chans)
		if err != nil || !ok {
			return nil, err
		}
		w, ok, err := e.store.Claim(ctx, ch, e.now())
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // taken meanwhile: look again
		}
		rec, err := e.Apply(ctx, w.Conversation, routing.Input{Kind: routing.InAgentClaim, Agent: a.id, AgentName: a.name})
		switch {
		case err == nil:
			return rec, nil
		case errors.Is(err, routing.ErrNotWaiting), errors.Is(err, queue.ErrNotFound):
			// A stale line entry (the conversation ended meanwhile).
			if err := e.store.DropClaim(ctx, ch, w.Conversation); err != nil {
				return nil, err
			}
		default:
			_ = e.store.Unclaim(ctx, w)
			return nil, err
		}
	}
}

// oldestHead returns the channel whose line head has waited longest.
func (e *Engine) oldestHead(ctx context.Context, chans []string) (string, bool, error) {
	heads, err := e.store.Heads(ctx, chans)
	if err != nil || len(heads) == 0 {
		return "", false, err
	}
	best := slices.MinFunc(heads, func(x, y queue.Waiting) int { return x.Since.Compare(y.Since) })
	return best.Channel, true, nil
}

// assigned lists the conversations an agent holds on its channels.
func (e *Engine) assigned(ctx context.Context, a *agent) ([]string, error) {
	var out []string
	for _, ch := range a.channels {
		byAgent, err := e.store.AssignedTo(ctx, ch)
		if err != nil {
			return nil, err
		}
		out = append(out, byAgent[a.id]...)
	}
	return out, nil
}

// SetPresence records an agent's presence. When the agent is the first of
// a channel to come online, the channel's waiting users are told an agent
// is available.
func (e *Engine) SetPresence(ctx context.Context, a *agent, p queue.Presence) error {
	before, err := e.onlineByChannel(ctx)
	if err != nil {
		return err
	}
	prev, err := e.store.SetPresence(ctx, a.id, p, e.now())
	if err != nil || p != queue.Online || prev == queue.Online {
		return err
	}
	for _, ch := range a.channels {
		if len(before[ch]) == 0 {
			if err := e.announceAvailable(ctx, ch); err != nil {
				return err
			}
		}
	}
	e.assignChannels(ctx, a.channels)
	return nil
}

// onlineByChannel lists the online agents of each channel.
func (e *Engine) onlineByChannel(ctx context.Context) (map[string][]string, error) {
	s := e.setup.Load()
	ids := make([]string, 0, len(s.agents))
	for id := range s.agents {
		ids = append(ids, id)
	}
	presence, _, err := e.store.Presences(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for id, p := range presence {
		if p != queue.Online {
			continue
		}
		for _, ch := range s.agents[id].channels {
			out[ch] = append(out[ch], id)
		}
	}
	return out, nil
}

// Reply sends an agent's text message (see ReplyMessage).
func (e *Engine) Reply(ctx context.Context, a *agent, convID, text string) (queue.Entry, error) {
	return e.ReplyMessage(ctx, a, convID, text, nil)
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
