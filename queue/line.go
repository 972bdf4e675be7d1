package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/routing"
)

// Waiting is one conversation in a waiting line.
type Waiting struct {
	Conversation string
	Channel      string
	Since        time.Time // the place in line
	// Record is the conversation as Claim read it, in the same step as
	// the claim (nil from other reads); a commit's version check still
	// tells whether it changed since.
	Record *Record
}

// Line lists a channel's waiting line, oldest first (at most n; n <= 0: all).
func (s *Store) Line(ctx context.Context, channel string, n int) ([]Waiting, error) {
	zs, err := s.rdb.ZRangeWithScores(ctx, s.keys.line(channel), 0, int64(n-1)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]Waiting, len(zs))
	for i, z := range zs {
		out[i] = Waiting{Conversation: z.Member.(string), Channel: channel, Since: time.UnixMilli(int64(z.Score))}
	}
	return out, nil
}

// heads returns the oldest waiting conversation of each channel that has
// one and, in the same round trip, how many conversations the agent holds
// on the held channels (0 when held is empty).
func (s *Store) heads(ctx context.Context, channels, held []string, agent string) ([]Waiting, int, error) {
	cmds := make([]*redis.ZSliceCmd, len(channels))
	counts := make([]*redis.StringCmd, len(held))
	err := s.pipelined(ctx, func(p redis.Pipeliner) []redis.Cmder {
		var all []redis.Cmder
		for i, ch := range channels {
			cmds[i] = p.ZRangeWithScores(ctx, s.keys.line(ch), 0, 0)
			all = append(all, cmds[i])
		}
		for i, ch := range held {
			counts[i] = p.HGet(ctx, s.keys.held(ch), agent)
			all = append(all, counts[i])
		}
		return all
	})
	if err != nil {
		return nil, 0, err
	}
	n := 0
	for _, c := range counts {
		v, _ := strconv.Atoi(c.Val())
		n += v
	}
	var out []Waiting
	for i, c := range cmds {
		if zs := c.Val(); len(zs) == 1 {
			out = append(out, Waiting{Conversation: zs[0].Member.(string), Channel: channels[i], Since: time.UnixMilli(int64(zs[0].Score))})
		}
	}
	return out, n, nil
}

// LineLength is the number of conversations waiting on a channel.
func (s *Store) LineLength(ctx context.Context, channel string) (int64, error) {
	n, err := s.rdb.ZCard(ctx, s.keys.line(channel)).Result()
	return n, unavailable(err)
}

// Position is a conversation's 1-based place in its line, 0 when not in it.
func (s *Store) Position(ctx context.Context, convID string) (int64, error) {
	r, err := s.rdb.ZRank(ctx, s.keys.line(ChannelOf(convID)), convID).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable(err)
	}
	return r + 1, nil
}

// Claimer is who claims with ClaimOldest, and from which lines.
type Claimer struct {
	Agent string
	// Channels are the lines to take from.
	Channels []string
	// Max, when above 0, is how many conversations the agent may hold,
	// counted on the Held channels (all of the agent's).
	Max  int
	Held []string
}

// Claim takes the oldest conversation of a channel's line in one atomic
// step, so two callers never get the same one. The conversation is held in
// the channel's claiming set until the claim is committed (Commit with
// LineLeave) or, if the claimer dies, put back by ReturnStaleClaims.
// ok is false when the line is empty.
func (s *Store) Claim(ctx context.Context, channel string, now time.Time) (w Waiting, ok bool, err error) {
	return s.claimOldest(ctx, Claimer{Channels: []string{channel}}, now)
}

// ClaimOldest takes, as Claim does, the conversation that has waited
// longest among the lines of c.Channels; it returns routing.ErrAtCapacity,
// having taken nothing, when the agent holds c.Max conversations already.
// Where one script may touch every key involved (one Redis, or a Cluster
// and a single channel) the capacity check, the heads and the claim are
// one step. On a Cluster, whose channels' keys are in different slots,
// it reads the heads with the held count in one round trip, then claims
// the oldest head's line, and looks again when another claimer took that
// line's last conversation meanwhile.
func (s *Store) ClaimOldest(ctx context.Context, c Claimer, now time.Time) (w Waiting, ok bool, err error) {
	if c.Max <= 0 {
		c.Held = nil
	}
	if s.inOneSlot(append(slices.Clip(c.Channels), c.Held...)) {
		return s.claimOldest(ctx, c, now)
	}
	heads, n, err := s.heads(ctx, c.Channels, c.Held, c.Agent)
	for ; err == nil; heads, _, err = s.heads(ctx, c.Channels, nil, "") {
		if c.Max > 0 && n >= c.Max {
			return Waiting{}, false, routing.ErrAtCapacity
		}
		if len(heads) == 0 {
			return Waiting{}, false, nil
		}
		oldest := slices.MinFunc(heads, func(x, y Waiting) int { return x.Since.Compare(y.Since) })
		if w, ok, err = s.Claim(ctx, oldest.Channel, now); err != nil || ok {
			return w, ok, err
		}
		c.Max = 0 // checked once
	}
	return Waiting{}, false, err
}

// inOneSlot reports whether one script may touch the keys of all those
// channels: always on one Redis; on a Cluster, when they are one channel.
func (s *Store) inOneSlot(channels []string) bool {
	if _, ok := s.rdb.(*redis.ClusterClient); !ok {
		return true
	}
	for _, ch := range channels {
		if ch != channels[0] {
			return false
		}
	}
	return true
}

// claimOldest runs claimScript on c's lines, whose keys inOneSlot allows.
func (s *Store) claimOldest(ctx context.Context, c Claimer, now time.Time) (Waiting, bool, error) {
	keys := make([]string, 0, 2*len(c.Channels)+len(c.Held))
	args := make([]any, 0, 4+len(c.Channels))
	args = append(args, now.UnixMilli(), len(c.Channels), c.Agent, c.Max)
	for _, ch := range c.Channels {
		keys = append(keys, s.keys.line(ch), s.keys.claiming(ch))
		args = append(args, s.keys.tag(ch))
	}
	for _, ch := range c.Held {
		keys = append(keys, s.keys.held(ch))
	}
	res, err := s.evalBatched(ctx, claimScript, keys, args...).Result()
	if errors.Is(err, redis.Nil) {
		return Waiting{}, false, nil
	}
	if err != nil {
		return Waiting{}, false, unavailable(err)
	}
	r, ok := res.([]any)
	if !ok {
		return Waiting{}, false, routing.ErrAtCapacity // the script's -1
	}
	str := func(i int) string { v, _ := r[i].(string); return v }
	line := 0
	if len(r) == 5 {
		line, _ = strconv.Atoi(str(4))
	}
	if line < 1 || line > len(c.Channels) {
		return Waiting{}, false, fmt.Errorf("queue: claim script answered %v", r)
	}
	score, _ := strconv.ParseFloat(str(1), 64)
	w := Waiting{Conversation: str(0), Channel: c.Channels[line-1], Since: time.UnixMilli(int64(score))}
	// A state that does not decode is left for Load to report.
	w.Record, _ = decodeRecord(w.Conversation, str(2), str(3))
	return w, true, nil
}

// Unclaim puts a claimed conversation back at its place (the claim could
// not be committed).
func (s *Store) Unclaim(ctx context.Context, w Waiting) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, s.keys.claiming(w.Channel), w.Conversation)
		p.ZAdd(ctx, s.keys.line(w.Channel), redis.Z{Score: float64(w.Since.UnixMilli()), Member: w.Conversation})
		return nil
	})
	return unavailable(err)
}

// StaleClaims lists conversations claimed before cutoff and never committed.
func (s *Store) StaleClaims(ctx context.Context, channel string, cutoff time.Time) ([]string, error) {
	return s.upTo(ctx, s.keys.claiming(channel), cutoff, 0)
}

// DropClaim forgets a claim (the conversation is no longer waiting).
func (s *Store) DropClaim(ctx context.Context, channel, convID string) error {
	return unavailable(s.rdb.ZRem(ctx, s.keys.claiming(channel), convID).Err())
}

// Due lists up to n open conversations of a channel (not ended) whose
// last activity is at or before cutoff, the longest idle first. It reads
// the inbox's state indexes, scored by last activity: the cost grows with
// what is due, not with what exists. n must be above 0.
func (s *Store) Due(ctx context.Context, channel string, cutoff time.Time, n int) ([]string, error) {
	p := s.rdb.Pipeline()
	cmds := make([]*redis.ZSliceCmd, len(routing.OpenStates))
	for i, st := range routing.OpenStates {
		cmds[i] = p.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: s.keys.indexState(channel, string(st)),
			Start: "-inf", Stop: strconv.FormatInt(cutoff.UnixMilli(), 10), ByScore: true, Count: int64(n)})
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, unavailable(err)
	}
	var due []redis.Z
	for _, c := range cmds {
		due = append(due, c.Val()...)
	}
	slices.SortStableFunc(due, func(a, b redis.Z) int { return cmp.Compare(a.Score, b.Score) })
	ids := make([]string, 0, min(len(due), n))
	for _, z := range due[:min(len(due), n)] {
		ids = append(ids, z.Member.(string))
	}
	return ids, nil
}

// upTo lists the members of a sorted set scored (in ms) at or before t,
// lowest first; at most n when n > 0.
func (s *Store) upTo(ctx context.Context, key string, t time.Time, n int) ([]string, error) {
	ids, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key: key, Start: "-inf", Stop: strconv.FormatInt(t.UnixMilli(), 10), ByScore: true, Count: int64(max(n, 0)),
	}).Result()
	return ids, unavailable(err)
}

// AssignedTo lists the conversations of a channel held by each agent.
func (s *Store) AssignedTo(ctx context.Context, channel string) (map[string][]string, error) {
	m, err := s.rdb.HGetAll(ctx, s.keys.assigned(channel)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := map[string][]string{}
	for conv, agent := range m {
		out[agent] = append(out[agent], conv)
	}
	return out, nil
}

// Held returns how many conversations each agent holds on the given
// channels, in one round trip.
func (s *Store) Held(ctx context.Context, channels []string) (map[string]int, error) {
	p := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(channels))
	for i, ch := range channels {
		cmds[i] = p.HGetAll(ctx, s.keys.held(ch))
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, unavailable(err)
	}
	out := map[string]int{}
	for _, c := range cmds {
		for agent, n := range c.Val() {
			v, _ := strconv.Atoi(n)
			out[agent] += v
		}
	}
	return out, nil
}

// HeldBy is the number of conversations assigned to one agent over the
// given channels, in one round trip: Held's figure for that agent, without
// reading every other agent's count.
func (s *Store) HeldBy(ctx context.Context, channels []string, agent string) (int, error) {
	p := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(channels))
	for i, ch := range channels {
		cmds[i] = p.HGet(ctx, s.keys.held(ch), agent)
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, unavailable(err)
	}
	n := 0
	for _, c := range cmds {
		v, _ := strconv.Atoi(c.Val())
		n += v
	}
	return n, nil
}

// MarkOpened records that a channel opened at the given time; it returns
// true only for the first caller, so several gateway processes announce an
// opening once.
func (s *Store) MarkOpened(ctx context.Context, channel string, opening time.Time) (bool, error) {
	prev, err := s.rdb.SetArgs(ctx, s.keys.opened(channel), opening.UnixMilli(), redis.SetArgs{Get: true}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, unavailable(err)
	}
	return prev != strconv.FormatInt(opening.UnixMilli(), 10), nil
}

// LineNotices delivers the channel id of every conversation that joins a
// waiting line, as published by Commit, until ctx ends. One subscription per
// process; the caller fans it out to long-polling agents.
func (r *Redis) LineNotices(ctx context.Context) <-chan string {
	out := make(chan string, 64)
	sub := r.rdb.Subscribe(ctx, r.keys.lineNotices())
	go func() {
		defer close(out)
		defer sub.Close()
		ch := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				select {
				case out <- m.Payload:
				default: // a slow reader misses a wake-up, never blocks the subscription
				}
			}
		}
	}()
	return out
}
