package engine

import (
	"cmp"
	"context"
	"slices"
	"time"

	"switchboard/config"
	"switchboard/queue"
	"switchboard/routing"
)

// Automatic assignment (a channel's assignment: auto). The line's head goes
// to the online agent of the channel with the fewest open conversations
// under their max_conversations; ties go to the agent idle longest (last
// assignment or message, kept in Redis). The agent the bot's handoff named
// gets it when online with room; the agent who released it gets it back
// only when no one else can take it. It runs when a conversation joins the
// line, when an agent comes online or frees capacity, and on every sweep.
//
// Assignment takes the head through the same atomic step as a manual claim
// (queue.Store.Claim, then the claim committed with a version check), so a
// conversation is never assigned twice.

// maxAssignRounds bounds the assignments of one run; the next run goes on.
const maxAssignRounds = 200

// candidate is an agent who can take one more conversation.
type candidate struct {
	agent *Agent
	load  int
	idle  time.Time // last assignment or message; zero: never
}

// autoAssign assigns a channel's waiting conversations while agents have
// room. A channel with manual assignment is left alone.
func (e *Engine) autoAssign(ctx context.Context, channelID string) error {
	s := e.setup.Load()
	ch, ok := s.channels[channelID]
	if !ok || ch.cfg.Assignment != config.AssignAuto {
		return nil
	}
	for range maxAssignRounds {
		n, err := e.store.LineLength(ctx, channelID)
		if err != nil || n == 0 {
			return err
		}
		cands, err := e.candidates(ctx, s, channelID)
		if err != nil || len(cands) == 0 {
			return err
		}
		w, ok, err := e.store.Claim(ctx, channelID, e.now())
		if err != nil || !ok {
			return err
		}
		rec, err := e.store.Load(ctx, w.Conversation)
		if err != nil {
			_ = e.store.Unclaim(ctx, w)
			return err
		}
		if rec.Version == 0 || rec.State != routing.StateWaiting {
			if err := e.store.DropClaim(ctx, channelID, w.Conversation); err != nil {
				return err
			}
			continue
		}
		pick, how := choose(cands, rec.Conversation)
		_, ok, err = e.assignClaimed(ctx, channelID, w, *pick)
		if err != nil {
			return err
		}
		if ok {
			e.metrics.assigned.WithLabelValues(channelID, how).Inc()
			e.log.Info("conversation assigned automatically", "channel", channelID, "conversation", w.Conversation, "agent", pick.ID)
		}
	}
	return nil
}

// choose picks the agent for a conversation among candidates sorted best
// first, and says why: "preferred" or "balanced".
func choose(cands []candidate, c routing.Conversation) (*Agent, string) {
	for _, cd := range cands {
		if c.PreferredAgent != "" && cd.agent.ID == c.PreferredAgent {
			return cd.agent, "preferred"
		}
	}
	for _, cd := range cands {
		if cd.agent.ID != c.ReleasedBy {
			return cd.agent, "balanced"
		}
	}
	return cands[0].agent, "balanced"
}

// candidates lists the online agents of a channel with room for one more
// conversation, best first: fewest open conversations, then idle longest.
func (e *Engine) candidates(ctx context.Context, s *setup, channelID string) ([]candidate, error) {
	online, err := e.onlineByChannel(ctx, s)
	if err != nil {
		return nil, err
	}
	ids := online[channelID]
	if len(ids) == 0 {
		return nil, nil
	}
	var chans []string
	for _, id := range ids {
		for _, chID := range s.agents[id].Channels {
			if !slices.Contains(chans, chID) {
				chans = append(chans, chID)
			}
		}
	}
	loads, err := e.store.Held(ctx, chans)
	if err != nil {
		return nil, err
	}
	idle, err := e.store.AgentActivity(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []candidate
	for _, id := range ids {
		a := s.agents[id]
		if a.MaxConversations > 0 && loads[id] >= a.MaxConversations {
			continue
		}
		out = append(out, candidate{agent: a, load: loads[id], idle: idle[id]})
	}
	slices.SortFunc(out, func(x, y candidate) int {
		return cmp.Or(cmp.Compare(x.load, y.load), x.idle.Compare(y.idle), cmp.Compare(x.agent.ID, y.agent.ID))
	})
	return out, nil
}

// assignChannels runs automatic assignment on channels, logging failures:
// the sweep tries again.
func (e *Engine) assignChannels(ctx context.Context, chans []string) {
	for _, id := range chans {
		if err := e.autoAssign(ctx, id); err != nil {
			e.log.Warn("automatic assignment incomplete; the sweep goes on", "channel", id, "err", err)
		}
	}
}

// afterReach does, after a committed decision, what calls and automatic
// assignment need: queue the call requests, forget an answered one, note
// the agent's activity, and assign when a conversation joined the line
// or an agent freed capacity.
func (e *Engine) afterReach(ctx context.Context, ch *channel, in routing.Input, c *queue.Commit) {
	e.queueCalls(ctx, ch, c)
	switch in.Kind {
	case routing.InAgentClaim, routing.InAgentMessage:
		if err := e.store.TouchAgent(ctx, in.Agent, e.now()); err != nil {
			e.log.Warn("agent activity not recorded", "agent", in.Agent, "err", err)
		}
	case routing.InAgentClose, routing.InAgentRelease, routing.InAgentHandback:
		if a, ok := e.setup.Load().agents[in.Agent]; ok {
			e.assignChannels(ctx, a.Channels)
		}
	}
	if c.Line == queue.LineJoin {
		e.assignChannels(ctx, []string{ch.id})
	}
}
