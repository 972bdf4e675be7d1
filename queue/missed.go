package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Each channel's missed list: the conversations that expired while waiting,
// kept for the channel's follow_up_keep so that agents can re-engage them.
// A sorted set scored by the time of expiry (milliseconds); what is older
// than the keep is dropped by every read and by the sweep (PruneMissed), so
// the list never grows past one keep's worth of expiries.

// ErrMissedCursor is a missed-list cursor this store did not give.
var ErrMissedCursor = errors.New("queue: not a cursor of the missed list")

// Missed is one conversation of a missed list.
type Missed struct {
	Conversation string
	At           time.Time // when it expired while waiting
}

// AddMissed puts a conversation in its channel's missed list, expired at.
func (s *Store) AddMissed(ctx context.Context, channel, convID string, at time.Time) error {
	return unavailable(s.rdb.ZAdd(ctx, s.keys.missed(channel), redis.Z{Score: float64(at.UnixMilli()), Member: convID}).Err())
}

// RemoveMissed takes a conversation out of its channel's missed list.
func (s *Store) RemoveMissed(ctx context.Context, channel, convID string) error {
	return unavailable(s.rdb.ZRem(ctx, s.keys.missed(channel), convID).Err())
}

// PruneMissed drops the entries of a channel's missed list that expired
// before cutoff and returns how many it dropped.
func (s *Store) PruneMissed(ctx context.Context, channel string, cutoff time.Time) (int64, error) {
	n, err := s.rdb.ZRemRangeByScore(ctx, s.keys.missed(channel), "-inf", "("+strconv.FormatInt(cutoff.UnixMilli(), 10)).Result()
	return n, unavailable(err)
}

// ListMissed lists a channel's missed list, the latest expiry first, from
// after the cursor a previous page returned ("" for the first page), at most
// n (1 or more); entries that expired before cutoff are dropped first. The
// next cursor is "" on the last page.
func (s *Store) ListMissed(ctx context.Context, channel string, cutoff time.Time, cursor string, n int) ([]Missed, string, error) {
	if n < 1 {
		return nil, "", fmt.Errorf("queue: missed page size %d is below 1", n)
	}
	if _, err := s.PruneMissed(ctx, channel, cutoff); err != nil {
		return nil, "", err
	}
	key, max, after := s.keys.missed(channel), "+inf", ""
	skip := int64(0)
	if cursor != "" {
		score, member, ok := strings.Cut(cursor, ":")
		ms, err := strconv.ParseInt(score, 10, 64)
		if !ok || err != nil {
			return nil, "", ErrMissedCursor
		}
		max, after = score, member
		// Members of equal score come in reverse lexical order: skip those
		// the previous page showed.
		ties, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: key, Start: ms, Stop: ms, ByScore: true, Rev: true}).Result()
		if err != nil {
			return nil, "", unavailable(err)
		}
		for _, m := range ties {
			if m >= after {
				skip++
			}
		}
	}
	zs, err := s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: key, Start: max, Stop: "-inf", ByScore: true, Rev: true, Offset: skip, Count: int64(n + 1)}).Result()
	if err != nil {
		return nil, "", unavailable(err)
	}
	next := ""
	if len(zs) > n {
		zs = zs[:n]
		last := zs[n-1]
		next = strconv.FormatInt(int64(last.Score), 10) + ":" + last.Member.(string)
	}
	out := make([]Missed, len(zs))
	for i, z := range zs {
		out[i] = Missed{Conversation: z.Member.(string), At: time.UnixMilli(int64(z.Score))}
	}
	return out, next, nil
}

// missed is a channel's missed list.
func (k keys) missed(ch string) string { return k.tag(ch) + "missed" }
