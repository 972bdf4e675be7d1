package queue

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/routing"
)

// dailyTTL keeps a day's counters for a week, for the stats of today and
// the days before.
const dailyTTL = 8 * 24 * time.Hour

// Daily is what happened on a channel during one day.
type Daily struct {
	// Counts by name: transfers, declines, already_waiting, expiries.
	Counts map[string]int64
	// Waits are the day's wait times (joining the line to being taken).
	Waits []time.Duration
}

// Activity is an agent's last activity, as a commit notes it (Commit.Touch).
type Activity struct {
	Agent string
	At    time.Time
}

// touch queues on p the writes that note agents' activity (Commit.Touch).
func (s *Store) touch(ctx context.Context, p redis.Pipeliner, touch []Activity) []redis.Cmder {
	var cmds []redis.Cmder
	for _, a := range touch {
		cmds = append(cmds, p.HSet(ctx, s.keys.agentActivity(), a.Agent, a.At.UnixMilli()))
	}
	return cmds
}

// DailyStats returns a channel's counters and wait times of day.
func (s *Store) DailyStats(ctx context.Context, channel, day string) (Daily, error) {
	p := s.rdb.Pipeline()
	hc := p.HGetAll(ctx, s.keys.daily(channel, day))
	lc := p.LRange(ctx, s.keys.waits(channel, day), 0, -1)
	if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
		return Daily{}, unavailable(err)
	}
	d := Daily{Counts: map[string]int64{}}
	for name, v := range hc.Val() {
		d.Counts[name], _ = strconv.ParseInt(v, 10, 64)
	}
	for _, v := range lc.Val() {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			d.Waits = append(d.Waits, time.Duration(ms)*time.Millisecond)
		}
	}
	return d, nil
}

// ChannelActive reports whether a channel still has conversations in its
// waiting line, being claimed, open (not ended) or with events to process.
func (s *Store) ChannelActive(ctx context.Context, channel string) (bool, error) {
	p := s.rdb.Pipeline()
	cmds := []*redis.IntCmd{
		p.ZCard(ctx, s.keys.line(channel)), p.ZCard(ctx, s.keys.claiming(channel)), p.ZCard(ctx, s.keys.pending(channel)),
	}
	for _, st := range routing.OpenStates {
		cmds = append(cmds, p.ZCard(ctx, s.keys.indexState(channel, string(st))))
	}
	if _, err := p.Exec(ctx); err != nil {
		return false, unavailable(err)
	}
	for _, c := range cmds {
		if c.Val() > 0 {
			return true, nil
		}
	}
	return false, nil
}
