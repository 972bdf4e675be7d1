package engine

import (
	"context"
	"slices"

	"switchboard/config"
)

// Reload swaps in a validated configuration: its channels, agents, bot,
// hours, messages and modes take effect at once, in one atomic step, so an
// operation sees the old setup or the new one, never a mix; nothing in
// Redis changes (waiting conversations keep their place). Channels the new
// configuration removes while conversations still wait or are open on them
// are kept, retired; Reload returns their ids. It returns an error naming
// the channel or bot setting at fault (code CodeInvalidConfig), or Redis'
// error, and then the running setup stays.
func (e *Engine) Reload(ctx context.Context, cfg *config.Config) (retired []string, err error) {
	s, err := newSetup(cfg, e.bot, e.now)
	if err != nil {
		return nil, &Error{Code: CodeInvalidConfig, Message: err.Error(), Err: err}
	}
	if retired, err = e.carryRetired(ctx, e.setup.Load(), s); err != nil {
		return nil, err
	}
	e.setup.Store(s)
	return retired, nil
}

// carryRetired keeps in the new setup the channels the new configuration
// removed while conversations still wait or are open on them (their line,
// claiming set or inbox is not empty, or a conversation is not ended),
// marked retired: webhooks no longer reach them (they are not in
// byAccount), but the sweep expires their conversations and the agents
// who served them (in the old setup and still configured) can still list,
// take and answer them. It returns the retired channels' ids.
func (e *Engine) carryRetired(ctx context.Context, old, s *setup) ([]string, error) {
	var retired []string
	for id, ch := range old.channels {
		if _, kept := s.channels[id]; kept {
			continue
		}
		active, err := e.line.ChannelActive(ctx, id)
		if err != nil {
			return nil, err
		}
		if !active {
			continue
		}
		r := *ch
		r.retired = true
		s.channels[id] = &r
		retired = append(retired, id)
		for agentID, oa := range old.agents {
			if na, ok := s.agents[agentID]; ok && oa.Serves(id) && !na.Serves(id) {
				na.Channels = append(slices.Clip(na.Channels), id)
			}
		}
	}
	slices.Sort(retired)
	return retired, nil
}

// pruneRetired drops the retired channels that have nothing left (run by
// every Tick, after the sweep). It swaps the setup only if no reload did
// meanwhile; a reload carries the remaining ones over itself.
func (e *Engine) pruneRetired(ctx context.Context) error {
	s := e.setup.Load()
	var done []string
	for id, ch := range s.channels {
		if !ch.retired {
			continue
		}
		active, err := e.line.ChannelActive(ctx, id)
		if err != nil {
			return err
		}
		if !active {
			done = append(done, id)
		}
	}
	if len(done) == 0 {
		return nil
	}
	ns := *s
	ns.channels = make(map[string]*channel, len(s.channels))
	for id, ch := range s.channels {
		if !slices.Contains(done, id) {
			ns.channels[id] = ch
		}
	}
	ns.agents = make(map[string]*Agent, len(s.agents))
	for id, ag := range s.agents {
		na := *ag
		na.Channels = slices.DeleteFunc(slices.Clone(ag.Channels), func(c string) bool { return slices.Contains(done, c) })
		ns.agents[id] = &na
	}
	if e.setup.CompareAndSwap(s, &ns) {
		e.log.Info("retired channels dropped: no conversation left", "channels", done)
	}
	return nil
}
