package queue

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/routing"
)

// The agents' inbox: per-channel indexes of conversations, unread counts,
// transcript pages and retention.
//
// Each channel keeps sorted sets of its conversations scored by last
// activity (ms): every conversation (ix:all), per state (ix:st:<state>),
// per assigned agent (ix:ag:<agent>), per label (ix:lb:<label>) and, per
// agent, those with messages the agent has not read (ix:un:<agent>). The
// commit script keeps them in step with the conversation, in the same
// atomic step; the conversation's hash remembers what it was indexed under
// (ix_state; ix_agent and ix_labels only when not empty) so the next
// commit can move it.
//
// An ended conversation's keys expire after the retention the commit
// names; its index members are dropped lazily, by the listing that meets
// them (Members answers them as missing, Drop removes them).
//
// Unread counts live in a hash per conversation (agent -> count): an agent
// gets a field when it is assigned the conversation or reads it; every user
// message the commit records adds to every field.

func (k keys) index(ch string) string                 { return k.tag(ch) + "ix:" }
func (k keys) unread(ch, id string) string            { return k.tag(ch) + "unread:" + id }
func (k keys) txIndex(ch, id string) string           { return k.tag(ch) + "txi:" + id }
func (k keys) indexBackfilled(ch string) string       { return k.tag(ch) + "ix-backfilled" }
func (k keys) indexAll(ch string) string              { return k.index(ch) + "all" }
func (k keys) indexState(ch string, st string) string { return k.index(ch) + "st:" + st }
func (k keys) indexAgent(ch, agent string) string     { return k.index(ch) + "ag:" + agent }
func (k keys) indexLabel(ch, label string) string     { return k.index(ch) + "lb:" + label }
func (k keys) indexUnread(ch, agent string) string    { return k.index(ch) + "un:" + agent }

// IndexKind names one of a channel's conversation indexes.
type IndexKind int

// The indexes; Index.Value names the state, agent or label.
const (
	IndexAll IndexKind = iota
	IndexState
	IndexAgent
	IndexLabel
	IndexUnread
)

// Index is one channel's index of conversations.
type Index struct {
	Channel string
	Kind    IndexKind
	Value   string
}

func (s *Store) indexKey(ix Index) string {
	switch ix.Kind {
	case IndexState:
		return s.keys.indexState(ix.Channel, ix.Value)
	case IndexAgent:
		return s.keys.indexAgent(ix.Channel, ix.Value)
	case IndexLabel:
		return s.keys.indexLabel(ix.Channel, ix.Value)
	case IndexUnread:
		return s.keys.indexUnread(ix.Channel, ix.Value)
	}
	return s.keys.indexAll(ix.Channel)
}

// Position is a place in the newest-first order of an index: last
// activity, then conversation id, both descending.
type Position struct {
	Activity int64  `json:"a"` // ms
	ID       string `json:"i"`
}

// Before reports whether p comes before q in newest-first order.
func (p Position) Before(q Position) bool {
	if p.Activity != q.Activity {
		return p.Activity > q.Activity
	}
	return p.ID > q.ID
}

// ErrBadCursor means a listing cursor was not one this store made.
var ErrBadCursor = errors.New("cursor is not one a listing returned")

// EncodeCursor makes the opaque cursor that resumes a listing after p.
func EncodeCursor(p Position) string {
	return base64.RawURLEncoding.EncodeToString([]byte(mustJSON(p)))
}

// DecodeCursor reads a cursor EncodeCursor made.
func DecodeCursor(s string) (Position, error) {
	var p Position
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &p) != nil || p.ID == "" || ChannelOf(p.ID) == "" {
		return Position{}, ErrBadCursor
	}
	return p, nil
}

// Members returns up to n members of an index after the position after
// (nil: from the newest), newest activity first. Members sharing one
// activity are skipped in batches, so the cost is O(log N + n + ties).
func (s *Store) Members(ctx context.Context, ix Index, after *Position, n int) ([]Position, error) {
	key := s.indexKey(ix)
	top := "+inf"
	if after != nil {
		top = strconv.FormatInt(after.Activity, 10)
	}
	out := make([]Position, 0, n)
	for offset := int64(0); ; {
		batch := int64(n - len(out) + 1)
		zs, err := s.rdb.ZRevRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: "-inf", Max: top, Offset: offset, Count: batch}).Result()
		if err != nil {
			return nil, unavailable(err)
		}
		for _, z := range zs {
			p := Position{Activity: int64(z.Score), ID: z.Member.(string)}
			if after != nil && !after.Before(p) {
				continue // at the cursor's activity, not yet past its id
			}
			if len(out) < n {
				out = append(out, p)
			}
		}
		offset += int64(len(zs))
		if len(out) >= n || int64(len(zs)) < batch {
			return out, nil
		}
	}
}

// Drop removes conversations that no longer exist (expired) from an
// index and from the channel's index of every conversation.
func (s *Store) Drop(ctx context.Context, ix Index, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	p := s.rdb.Pipeline()
	for _, k := range []string{s.indexKey(ix), s.keys.indexAll(ix.Channel), s.keys.indexState(ix.Channel, string(routing.StateEnded))} {
		p.ZRem(ctx, k, anySlice(ids)...)
	}
	_, err := p.Exec(ctx)
	return unavailable(err)
}

// IndexSize is the number of members of an index (expired conversations
// not yet dropped included).
func (s *Store) IndexSize(ctx context.Context, ix Index) (int64, error) {
	n, err := s.rdb.ZCard(ctx, s.indexKey(ix)).Result()
	return n, unavailable(err)
}

// InIndex reports which of the conversations are members of an index.
func (s *Store) InIndex(ctx context.Context, ix Index, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	scores, err := s.rdb.ZMScore(ctx, s.indexKey(ix), ids...).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	for i, sc := range scores {
		if sc != 0 {
			out[ids[i]] = true
		}
	}
	return out, nil
}

// Listed is a conversation as a listing shows it: the record, the
// agent's unread count and its place in line (0 when not waiting).
type Listed struct {
	Record   *Record
	Unread   int64
	Position int64
}

// LoadMany loads conversations, each with the agent's unread count and
// its place in line, in one script per channel; a missing conversation
// comes back with Version 0.
func (s *Store) LoadMany(ctx context.Context, agent string, ids []string) ([]Listed, error) {
	byChannel := map[string][]int{}
	for i, id := range ids {
		ch := ChannelOf(id)
		byChannel[ch] = append(byChannel[ch], i)
	}
	out := make([]Listed, len(ids))
	for ch, idx := range byChannel {
		keys := make([]string, 0, 3*len(idx)+1)
		keys = append(keys, s.keys.line(ch))
		for _, i := range idx {
			keys = append(keys, s.keys.conv(ch, ids[i]), s.keys.state(ch, ids[i]), s.keys.unread(ch, ids[i]))
		}
		args := make([]any, 0, len(idx)+1)
		args = append(args, agent)
		for _, i := range idx {
			args = append(args, ids[i])
		}
		res, err := listedScript.Run(ctx, s.rdb, keys, args...).StringSlice()
		if err != nil {
			return nil, unavailable(err)
		}
		for j, i := range idx {
			r := res[4*j : 4*j+4]
			rec, err := decodeRecord(ids[i], r[0], r[1])
			if err != nil {
				return nil, err
			}
			out[i].Record = rec
			out[i].Unread, _ = strconv.ParseInt(r[2], 10, 64)
			// Only a waiting conversation shows its place: one in line
			// under another state keeps the place without showing it.
			if rec.State == routing.StateWaiting {
				out[i].Position, _ = strconv.ParseInt(r[3], 10, 64)
			}
		}
	}
	return out, nil
}

// MarkRead sets the agent's unread count of a conversation to 0.
func (s *Store) MarkRead(ctx context.Context, agent, convID string) error {
	ch := ChannelOf(convID)
	p := s.rdb.TxPipeline()
	p.HSet(ctx, s.keys.unread(ch, convID), agent, 0)
	p.ZRem(ctx, s.keys.indexUnread(ch, agent), convID)
	_, err := p.Exec(ctx)
	return unavailable(err)
}

// SetLabels stores a conversation's labels (rec.Labels) if it did not
// change since it was loaded at rec.Version, and moves it between the
// label indexes. It returns ErrConflict when it changed.
func (s *Store) SetLabels(ctx context.Context, rec *Record) error {
	ch, id := rec.Channel, rec.ID
	labels := rec.Labels
	if labels == nil {
		labels = []string{}
	}
	rec.Labels = labels
	v, err := labelsScript.Run(ctx, s.rdb, []string{s.keys.conv(ch, id), s.keys.state(ch, id)},
		rec.Version, encodeState(rec), s.keys.index(ch), activityScore(rec), strings.Join(labels, ",")).Int64()
	if err != nil {
		return unavailable(err)
	}
	if v < 0 {
		return ErrConflict
	}
	rec.Version = v
	return nil
}

// activityScore is a conversation's score in the indexes: its last
// activity in ms, or when it started for one without any.
func activityScore(rec *Record) int64 {
	if !rec.LastActivity.IsZero() {
		return rec.LastActivity.UnixMilli()
	}
	if rec.Session != nil {
		return rec.Session.Start.UnixMilli()
	}
	return 0
}

// indexArg is the commit script's inbox block's argument.
type indexArg struct {
	Prefix string   `json:"prefix"`
	Score  int64    `json:"score"`
	State  string   `json:"state"`
	Agent  string   `json:"agent"`
	Labels []string `json:"labels"`
	Users  int      `json:"users"` // user messages this commit records
	TTL    int64    `json:"ttl"`   // ms; > 0 makes the conversation expire
}

// newIndexArg describes what the commit changes in the inbox indexes.
func (s *Store) newIndexArg(c *Commit) *indexArg {
	rec := c.Record
	a := &indexArg{Prefix: s.keys.index(rec.Channel), Score: activityScore(rec), State: string(rec.State),
		Agent: rec.AssignedTo, Labels: rec.Labels}
	if a.Labels == nil {
		a.Labels = []string{}
	}
	for _, e := range c.Entries {
		if e.Author == routing.AuthorUser {
			a.Users++
		}
	}
	if rec.State == routing.StateEnded && c.Retention > 0 {
		a.TTL = c.Retention.Milliseconds()
	}
	return a
}

// BackfillIndexes indexes the channel's conversations stored before the
// indexes existed, once per channel (a marker records it is done): it
// scans the channel's conversations, and indexes each that no commit has
// indexed since. Safe to run while conversations change, and on several
// gateways at once.
func (s *Store) BackfillIndexes(ctx context.Context, channel string) (int, error) {
	done, err := s.rdb.Exists(ctx, s.keys.indexBackfilled(channel)).Result()
	if err != nil || done == 1 {
		return 0, unavailable(err)
	}
	statePrefix := s.keys.state(channel, "")
	n := 0
	err = s.scan(ctx, escapeGlob(statePrefix)+"*", func(key string) error {
		id := strings.TrimPrefix(key, statePrefix)
		rec, err := s.Load(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if rec.Version == 0 {
			return nil
		}
		added, err := backfillScript.Run(ctx, s.rdb, []string{s.keys.conv(channel, id)},
			s.keys.index(channel), activityScore(rec), string(rec.State), rec.AssignedTo, strings.Join(rec.Labels, ",")).Int()
		if err != nil {
			return unavailable(err)
		}
		n += added
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, unavailable(s.rdb.Set(ctx, s.keys.indexBackfilled(channel), time.Now().UTC().Format(time.RFC3339), 0).Err())
}

// scan calls fn with every key matching match; on a Redis Cluster it scans
// every master, since each holds its own slots' keys.
func (s *Store) scan(ctx context.Context, match string, fn func(key string) error) error {
	cc, ok := s.rdb.(*redis.ClusterClient)
	if !ok {
		iter := s.rdb.Scan(ctx, 0, match, 1000).Iterator()
		for iter.Next(ctx) {
			if err := fn(iter.Val()); err != nil {
				return err
			}
		}
		return unavailable(iter.Err())
	}
	var mu sync.Mutex
	var keys []string
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, match, 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			keys = append(keys, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	})
	if err != nil {
		return unavailable(err)
	}
	for _, k := range keys {
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}

// escapeGlob escapes the characters SCAN's MATCH treats specially.
func escapeGlob(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	return r.Replace(s)
}

// unindex queues, on p, the removal of a conversation from every index of
// its channel and of its unread counts and entry positions (for erasure).
// fields are the conversation hash's fields, readers the agents with an
// unread count.
func (s *Store) unindex(ctx context.Context, p redis.Pipeliner, channel, convID string, fields map[string]string, readers []string) {
	p.Del(ctx, s.keys.unread(channel, convID), s.keys.txIndex(channel, convID))
	keys := []string{s.keys.indexAll(channel)}
	// A conversation indexed before it had a state (asked to confirm an
	// erasure as its first message, say) is under the empty state's index.
	if st, ok := fields["ix_state"]; ok {
		keys = append(keys, s.keys.indexState(channel, st))
	}
	if a := fields["ix_agent"]; a != "" {
		keys = append(keys, s.keys.indexAgent(channel, a))
	}
	for _, l := range strings.Split(fields["ix_labels"], ",") {
		if l != "" {
			keys = append(keys, s.keys.indexLabel(channel, l))
		}
	}
	for _, a := range readers {
		keys = append(keys, s.keys.indexUnread(channel, a))
	}
	for _, k := range keys {
		p.ZRem(ctx, k, convID)
	}
}

// ErrUnknownEntry means a transcript has no entry with the given id.
var ErrUnknownEntry = errors.New("no such transcript entry")

// TranscriptPage returns up to n entries of a transcript, oldest first,
// that come before the entry before (the newest when before is ""), and
// the id to pass as before for the page older still ("" when none is).
// It reads only the page (LRANGE by position), never the whole transcript.
// The position of before is looked up in the conversation's entry-position
// hash, which records the entries each page shows (the transcript is
// append-only, so positions never change): an id a page returned is always
// found, and a conversation nobody pages through costs no memory for it.
func (s *Store) TranscriptPage(ctx context.Context, convID, before string, n int) ([]Entry, string, error) {
	ch := ChannelOf(convID)
	txKey, ixKey := s.keys.transcript(ch, convID), s.keys.txIndex(ch, convID)
	var end int64
	if before != "" {
		pos, err := s.rdb.HGet(ctx, ixKey, before).Int64()
		if errors.Is(err, redis.Nil) {
			return nil, "", fmt.Errorf("before %q: %w", before, ErrUnknownEntry)
		}
		if err != nil {
			return nil, "", unavailable(err)
		}
		end = pos - 1
	} else {
		l, err := s.rdb.LLen(ctx, txKey).Result()
		if err != nil {
			return nil, "", unavailable(err)
		}
		end = l - 1
	}
	if end < 0 {
		return []Entry{}, "", nil
	}
	start := max(end-int64(n)+1, 0)
	raws, err := s.rdb.LRange(ctx, txKey, start, end).Result()
	if err != nil {
		return nil, "", unavailable(err)
	}
	entries := make([]Entry, 0, len(raws))
	fields := make([]string, 0, len(raws))
	positions := make([]any, 0, 2*len(raws))
	for i, raw := range raws {
		e, err := decodeEntry(raw)
		if err != nil {
			continue
		}
		entries = append(entries, e)
		fields = append(fields, deliveryField(e.ID))
		positions = append(positions, e.ID, start+int64(i))
	}
	if len(fields) > 0 {
		convKey := s.keys.conv(ch, convID)
		if err := positionsScript.Run(ctx, s.rdb, []string{ixKey, convKey}, positions...).Err(); err != nil {
			return nil, "", unavailable(err)
		}
		dlv, err := s.rdb.HMGet(ctx, convKey, fields...).Result()
		if err != nil {
			return nil, "", unavailable(err)
		}
		for i := range entries {
			d, _ := dlv[i].(string)
			finishEntry(&entries[i], d)
		}
	}
	next := ""
	if start > 0 && len(raws) > 0 {
		if first, err := decodeEntry(raws[0]); err == nil {
			next = first.ID
		}
	}
	return entries, next, nil
}

func anySlice(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
