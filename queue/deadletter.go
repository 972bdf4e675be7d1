package queue

import (
	"context"
	"encoding/json"
	"time"

	"github.com/redis/go-redis/v9"
)

// MaxDeadLetters bounds each channel's dead-letter list; the oldest
// entries fall off.
const MaxDeadLetters = 1000

// DeadLetter is an inbound event that could not be processed (its handling
// panicked or failed for a reason other than an outage) and was taken out
// of its conversation's inbox so the conversation could go on.
type DeadLetter struct {
	Conversation string `json:"conversation"`
	// EventHash is a short hash of the platform's event id, the one the
	// gateway's logs show: event ids can hold a phone number or a
	// page-scoped user id, which this list must not keep.
	EventHash string    `json:"event_hash"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

func (k keys) deadLetters(ch string) string { return k.tag(ch) + "deadletter" }

// AddDeadLetter records a dead letter on a channel's list, newest first,
// keeping the MaxDeadLetters newest.
func (s *Store) AddDeadLetter(ctx context.Context, channel string, d DeadLetter) error {
	k := s.keys.deadLetters(channel)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, k, mustJSON(d))
		p.LTrim(ctx, k, 0, MaxDeadLetters-1)
		return nil
	})
	return unavailable(err)
}

// DeadLetters returns how many dead letters a channel's list holds and the
// n newest of them (n <= 0: none), in one round trip.
func (s *Store) DeadLetters(ctx context.Context, channel string, n int) (int64, []DeadLetter, error) {
	k := s.keys.deadLetters(channel)
	p := s.rdb.Pipeline()
	count := p.LLen(ctx, k)
	var latest *redis.StringSliceCmd
	if n > 0 {
		latest = p.LRange(ctx, k, 0, int64(n-1))
	}
	if _, err := p.Exec(ctx); err != nil {
		return 0, nil, unavailable(err)
	}
	out := []DeadLetter{}
	if latest != nil {
		for _, raw := range latest.Val() {
			var d DeadLetter
			if json.Unmarshal([]byte(raw), &d) == nil {
				out = append(out, d)
			}
		}
	}
	return count.Val(), out, nil
}

// EraseDeadLetters removes a conversation's entries from its channel's
// dead-letter list (contact erasure) and returns how many it removed.
func (s *Store) EraseDeadLetters(ctx context.Context, convID string) (int, error) {
	k := s.keys.deadLetters(ChannelOf(convID))
	raws, err := s.rdb.LRange(ctx, k, 0, -1).Result()
	if err != nil {
		return 0, unavailable(err)
	}
	n := 0
	for _, raw := range raws {
		var d DeadLetter
		if json.Unmarshal([]byte(raw), &d) == nil && d.Conversation == convID {
			removed, err := s.rdb.LRem(ctx, k, 0, raw).Result()
			if err != nil {
				return n, unavailable(err)
			}
			n += int(removed)
		}
	}
	return n, nil
}
