package queue

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Side returns a client of the same Redis with a connection pool of its
// own, of at most conns connections opened as they are needed: for work
// that must neither wait for the shared pool nor hold one of its
// connections (blocking stream reads, readiness checks). Closing it leaves
// r open; close it before r.
func (r *Redis) Side(conns int) *Redis {
	rdb := r.client(max(conns, 1))
	return &Redis{rdb: rdb, batch: newBatcher(rdb, pipelinesInFlight), client: r.client, keys: r.keys, now: r.now, wait: r.wait}
}

// ReadStream reads up to count notices of one channel published after the
// event id after. With block >= 0 it waits up to block for the first one
// (0: forever); with block < 0 it returns at once. It returns no notices
// and no error when nothing came. It touches one key per command, so it
// works on a Redis Cluster too. Errors wrap ErrUnavailable.
func (s *Store) ReadStream(ctx context.Context, channel, after string, block time.Duration, count int64) ([]Notice, error) {
	res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{s.keys.events(channel), after}, Block: block, Count: count}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	var out []Notice
	for _, st := range res {
		for _, m := range st.Messages {
			var n Notice
			if data, ok := m.Values["data"].(string); ok && json.Unmarshal([]byte(data), &n) == nil {
				n.ID = m.ID
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// EventAfter reports whether the stream id a ("millis-seq") comes after b.
// A malformed id comes before every well-formed one.
func EventAfter(a, b string) bool {
	am, as, aok := parseStreamID(a)
	bm, bs, bok := parseStreamID(b)
	switch {
	case !aok:
		return false
	case !bok:
		return true
	case am != bm:
		return am > bm
	}
	return as > bs
}

func parseStreamID(id string) (ms, seq uint64, ok bool) {
	msPart, seqPart, found := strings.Cut(id, "-")
	if !found {
		return 0, 0, false
	}
	ms, err1 := strconv.ParseUint(msPart, 10, 64)
	seq, err2 := strconv.ParseUint(seqPart, 10, 64)
	return ms, seq, err1 == nil && err2 == nil
}
