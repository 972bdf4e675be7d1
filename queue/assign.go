package queue

import (
	"context"
	"strconv"
	"time"
)

// agentActivity is a hash of agent id -> the last time (ms) the agent was
// given a conversation or wrote in one (written beside a commit,
// Commit.Touch); automatic assignment breaks ties with it (the agent idle
// longest first).
func (k keys) agentActivity() string { return k.prefix + "agent-activity" }

// AgentActivity returns the last activity of each given agent; an agent
// never active is missing from the map.
func (s *Store) AgentActivity(ctx context.Context, agents []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if len(agents) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, s.keys.agentActivity(), agents...).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	for i, v := range vals {
		if str, ok := v.(string); ok {
			if ms, err := strconv.ParseInt(str, 10, 64); err == nil {
				out[agents[i]] = time.UnixMilli(ms)
			}
		}
	}
	return out, nil
}
