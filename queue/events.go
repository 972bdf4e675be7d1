package queue

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Publish adds notices to their channels' event streams outside of a
// routing decision (a send that failed, a new message while assigned).
func (s *Store) Publish(ctx context.Context, notices ...Notice) error {
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, n := range notices {
			p.XAdd(ctx, &redis.XAddArgs{Stream: s.keys.events(n.Channel), MaxLen: 10000, Approx: true, Values: []any{"data", mustJSON(n)}})
		}
		return nil
	})
	return unavailable(err)
}

// Cursor is a position in several channels' event streams, written as
// "channel=id,channel=id" (the SSE Last-Event-ID).
type Cursor map[string]string

// ParseCursor reads a cursor; unknown or malformed parts are ignored.
func ParseCursor(s string) Cursor {
	c := Cursor{}
	for _, part := range strings.Split(s, ",") {
		if ch, id, ok := strings.Cut(part, "="); ok && ch != "" && id != "" {
			c[ch] = id
		}
	}
	return c
}

// String writes the cursor for the given channels, in their order.
func (c Cursor) String(channels []string) string {
	var b strings.Builder
	for _, ch := range channels {
		if id, ok := c[ch]; ok {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(ch + "=" + id)
		}
	}
	return b.String()
}

// PinCursor sets every channel missing from cur to its stream's last
// event, so that ReadEvents with cur misses nothing published after this
// call. Errors wrap ErrUnavailable.
func (s *Store) PinCursor(ctx context.Context, chans []string, cur Cursor) error {
	for _, ch := range chans {
		if _, ok := cur[ch]; ok {
			continue
		}
		last, err := s.lastEventID(ctx, ch)
		if err != nil {
			return unavailable(err)
		}
		cur[ch] = last
	}
	return nil
}

func (s *Store) lastEventID(ctx context.Context, channel string) (string, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, s.keys.events(channel), "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

// Presence is an agent's availability.
type Presence string

// Presences.
const (
	Online  Presence = "online"
	Away    Presence = "away"
	Offline Presence = "offline"
)

// SetPresence records an agent's presence and returns the previous one.
func (s *Store) SetPresence(ctx context.Context, agent string, p Presence, now time.Time) (Presence, error) {
	prev, err := s.rdb.SetArgs(ctx, s.keys.presence(agent), string(p)+"|"+now.UTC().Format(time.RFC3339Nano), redis.SetArgs{Get: true}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", unavailable(err)
	}
	state, _, _ := strings.Cut(prev, "|")
	if state == "" {
		state = string(Offline)
	}
	return Presence(state), nil
}

// Presences returns each given agent's presence and since when.
func (s *Store) Presences(ctx context.Context, agents []string) (map[string]Presence, map[string]time.Time, error) {
	ps, since := map[string]Presence{}, map[string]time.Time{}
	if len(agents) == 0 {
		return ps, since, nil
	}
	// One GET per agent, pipelined: the agents' keys live in different
	// cluster slots, where one MGET would be refused.
	p := s.rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(agents))
	for i, a := range agents {
		gets[i] = p.Get(ctx, s.keys.presence(a))
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, unavailable(err)
	}
	for i, get := range gets {
		str := get.Val()
		state, at, _ := strings.Cut(str, "|")
		if state == "" {
			state = string(Offline)
		}
		ps[agents[i]] = Presence(state)
		since[agents[i]], _ = time.Parse(time.RFC3339Nano, at)
	}
	return ps, since, nil
}
