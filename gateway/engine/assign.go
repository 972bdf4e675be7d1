package engine

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"switchboard/config"
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
func (e *Engine) autoAssign(ctx context.Context, s *setup, channelID string) error {
	ch, ok := s.channels[channelID]
	if !ok || ch.cfg.Assignment != config.AssignAuto {
		return nil
	}
	for range maxAssignRounds {
		n, err := e.line.LineLength(ctx, channelID)
		if err != nil || n == 0 {
			return err
		}
		cands, err := e.candidates(ctx, s, channelID)
		if err != nil || len(cands) == 0 {
			return err
		}
		w, ok, err := e.line.Claim(ctx, channelID, e.now())
		if err != nil || !ok {
			return err
		}
		rec := w.Record
		if rec == nil {
			if rec, err = e.convs.Load(ctx, w.Conversation); err != nil {
				_ = e.line.Unclaim(ctx, w)
				return err
			}
		}
		if rec.Version == 0 || rec.State != routing.StateWaiting {
			if err := e.line.DropClaim(ctx, channelID, w.Conversation); err != nil {
				return err
			}
			continue
		}
		pick, how := choose(cands, rec.Conversation)
		_, ok, err = e.assignClaimed(ctx, s, channelID, w, *pick)
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
	loads, err := e.line.Held(ctx, chans)
	if err != nil {
		return nil, err
	}
	idle, err := e.presence.AgentActivity(ctx, ids)
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

// assigner runs automatic assignment off the path of the decisions that
// call for it: a decision that puts a conversation in line or frees an
// agent, and an agent coming online, signal their channels, and one
// goroutine assigns them in turn, so that an assignment (itself a
// decision) never runs nested inside another. Signals for a channel
// already pending coalesce; a signal lost to a shutdown is made up by the
// sweep, which assigns every channel.
type assigner struct {
	assign func(ctx context.Context, channelID string) error
	log    *slog.Logger

	mu      sync.Mutex
	pending []string // channels to assign, in the order signaled
	wake    chan struct{}
	done    chan struct{}
	stopped bool
	wg      sync.WaitGroup
}

func newAssigner(assign func(context.Context, string) error, log *slog.Logger) *assigner {
	return &assigner{assign: assign, log: log, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// signal asks for channels to be assigned. It never blocks.
func (a *assigner) signal(chans ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return
	}
	for _, ch := range chans {
		if !slices.Contains(a.pending, ch) {
			a.pending = append(a.pending, ch)
		}
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *assigner) start() {
	a.wg.Add(1)
	go a.run()
}

func (a *assigner) run() {
	defer a.wg.Done()
	for {
		select {
		case <-a.done:
			return
		case <-a.wake:
		}
		a.mu.Lock()
		chans := a.pending
		a.pending = nil
		a.mu.Unlock()
		for _, id := range chans {
			if err := a.assign(context.Background(), id); err != nil {
				a.log.Warn("automatic assignment incomplete; the sweep goes on", "channel", id, "err", err)
			}
		}
	}
}

// stop waits for the assignment under way; later signals are dropped.
func (a *assigner) stop() {
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return
	}
	a.stopped = true
	a.mu.Unlock()
	close(a.done)
	a.wg.Wait()
}
