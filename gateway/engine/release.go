package engine

import (
	"context"
	"errors"
	"slices"

	"switchboard/queue"
	"switchboard/routing"
)

// A conversation held by an agent the configuration no longer has (or who
// no longer serves its channel) would answer not_yours to everyone: a
// reload returns such conversations to their line, at their place, and an
// admin can release any conversation.

// maxReleaseTries bounds an admin release racing with agents' actions.
const maxReleaseTries = 5

// ReleaseOrphaned releases every conversation held by an agent the current
// configuration does not have, or who does not serve the conversation's
// channel, and returns their ids, sorted (a reload calls it once the new
// configuration is in). It goes on past conversations that changed
// meanwhile; it stops at a Redis failure, returning what it released.
func (e *Engine) ReleaseOrphaned(ctx context.Context) ([]string, error) {
	s := e.setup.Load()
	released := []string{}
	for _, channelID := range s.sortedChannels() {
		byAgent, err := e.line.AssignedTo(ctx, channelID)
		if err != nil {
			return released, err
		}
		for agentID, convs := range byAgent {
			if ag, ok := s.agents[agentID]; ok && ag.Serves(channelID) {
				continue
			}
			for _, convID := range convs {
				_, err := e.apply(ctx, s, convID, routing.Input{Kind: routing.InAgentRelease, Agent: agentID}, "", nil, nil)
				switch {
				case err == nil:
					released = append(released, convID)
					e.log.InfoContext(ctx, "conversation of a removed agent returned to the line", "channel", channelID, "conversation", convID, "agent", agentID)
				case errors.Is(err, routing.ErrNotAssigned), errors.Is(err, routing.ErrNotYours), errors.Is(err, queue.ErrNotFound):
					// Closed or released meanwhile.
				default:
					return released, err
				}
			}
		}
	}
	slices.Sort(released)
	return released, nil
}

// AdminRelease puts a conversation back in its line at its place, whoever
// holds it. It returns queue.ErrNotFound for an unknown conversation and
// routing.ErrNotAssigned when no agent holds it.
func (e *Engine) AdminRelease(ctx context.Context, convID string) (ConversationView, error) {
	if queue.ChannelOf(convID) == "" {
		return ConversationView{}, queue.ErrNotFound
	}
	s := e.setup.Load()
	for try := 1; ; try++ {
		rec, err := e.convs.Load(ctx, convID)
		if err != nil {
			return ConversationView{}, err
		}
		if rec.Version == 0 {
			return ConversationView{}, queue.ErrNotFound
		}
		if rec.State != routing.StateAssigned {
			return ConversationView{}, routing.ErrNotAssigned
		}
		holder := rec.AssignedTo
		rec, err = e.apply(ctx, s, convID, routing.Input{Kind: routing.InAgentRelease, Agent: holder}, "", nil, nil)
		if errors.Is(err, routing.ErrNotYours) && try < maxReleaseTries {
			continue // another agent took it meanwhile: release it from them
		}
		if err != nil {
			return ConversationView{}, err
		}
		pos, err := e.line.Position(ctx, convID)
		if err != nil {
			return ConversationView{}, err
		}
		e.log.InfoContext(ctx, "conversation released by the admin", "audit", "release", "conversation", convID, "agent", holder)
		return view(s.channels[rec.Channel], rec, pos, e.now()), nil
	}
}
