package queue

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"switchboard/channels"
)

// ErrBusy means the conversation is being processed right now; try again.
var ErrBusy = errors.New("conversation is being processed; retry shortly")

// statusEventSuffixes are the delivery statuses whose webhook events'
// dedupe markers Erase removes ("<message id>:<status>"). Markers of other
// statuses (WhatsApp's "played") are left to expire with dedupe_ttl: they
// are named by a hash and hold no personal data.
var statusEventSuffixes = []channels.DeliveryStatus{
	channels.StatusSent, channels.StatusDelivered, channels.StatusRead, channels.StatusFailed,
}

// Erased counts what an erasure removed.
type Erased struct {
	Keys     int64 `json:"keys"`     // whole keys: conversation, transcript, inbox, id markers...
	Entries  int64 `json:"entries"`  // entries of shared keys: line, deadlines, sessions, notices...
	Tasks    int   `json:"tasks"`    // queued, retried or retained tasks
	Sessions int   `json:"sessions"` // session records among Entries
}

// eraseLockTTL bounds how long an erasure holds the conversation's lock.
const eraseLockTTL = 30 * time.Second

// Erase removes everything stored about one user of a channel: the
// conversation, its transcript, delivery statuses, inbox, processing lock,
// its sessions in the channel's sessions stream (listed in the
// conversation's hash), its notices in the events stream, its place in the
// line, the claiming set, the deadlines and the assignments, its call
// request mark, its outbox jobs, and the dedupe markers and message-id
// mappings of its platform ids (the transcript's event ids, and the sent
// message ids listed in the conversation's hash). Dedupe markers are named
// by a hash of the event id, so one that is not found (a Messenger read,
// named after its watermark) holds no personal data and expires with
// dedupe_ttl. The conversation's generation goes with its hash, so a call
// request after the erasure gets a new task id (see CallJob.ID). It takes
// the conversation's processing lock for the duration and returns ErrBusy
// when a worker holds it. Tasks are not touched: see Redis.EraseTasks, to
// be called first.
func (s *Store) Erase(ctx context.Context, channel, userID string) (string, Erased, error) {
	convID := ConversationID(channel, userID)
	var out Erased
	lock := s.keys.lock(channel, convID)
	ok, err := s.rdb.SetNX(ctx, lock, "erasing", eraseLockTTL).Result()
	if err != nil {
		return convID, out, unavailable(err)
	}
	if !ok {
		return convID, out, ErrBusy
	}
	p := s.rdb.Pipeline()
	fields := p.HGetAll(ctx, s.keys.conv(channel, convID))
	tx := p.LRange(ctx, s.keys.transcript(channel, convID), 0, -1)
	outbox := p.HGetAll(ctx, s.keys.outbox(channel))
	holder := p.HGet(ctx, s.keys.assigned(channel), convID)
	readers := p.HKeys(ctx, s.keys.unread(channel, convID))
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		s.rdb.Del(ctx, lock)
		return convID, out, unavailable(err)
	}
	// The platform ids: inbound event ids from the transcript, and the ids
	// of sent messages (with their statuses' event ids, "<id>:<status>").
	var platformIDs []string
	for field, value := range fields.Val() {
		var sent []string
		if mid, ok := strings.CutPrefix(field, sentFieldPrefix); ok {
			sent = []string{mid}
		} else if strings.HasPrefix(field, legacySentFieldPrefix) {
			sent = strings.Fields(value)
		}
		for _, mid := range sent {
			platformIDs = append(platformIDs, mid)
			for _, st := range statusEventSuffixes {
				platformIDs = append(platformIDs, mid+":"+string(st))
			}
		}
	}
	for _, raw := range tx.Val() {
		if e, err := decodeEntry(raw); err == nil {
			if id, ok := strings.CutPrefix(e.ID, inboundPrefix); ok {
				platformIDs = append(platformIDs, id)
			}
		}
	}
	var jobs []string
	for id, raw := range outbox.Val() {
		var j SendJob
		if json.Unmarshal([]byte(raw), &j) == nil && j.Conversation == convID {
			jobs = append(jobs, id)
		}
	}
	notices, err := s.noticesOf(ctx, channel, convID)
	if err != nil {
		s.rdb.Del(ctx, lock)
		return convID, out, err
	}

	var keyCmds, entryCmds []*redis.IntCmd
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		k := s.keys
		keyCmds = append(keyCmds, p.Del(ctx, k.conv(channel, convID), k.state(channel, convID), k.transcript(channel, convID),
			k.inbox(channel, convID), k.inboxData(channel, convID)))
		for _, id := range platformIDs {
			keyCmds = append(keyCmds, p.Del(ctx, k.seen(channel, id), k.legacyMessageID(channel, id)))
		}
		if sids := sessionIDs(fields.Val()[sessionsField]); len(sids) > 0 {
			entryCmds = append(entryCmds, p.XDel(ctx, k.sessions(channel), sids...))
		}
		if len(notices) > 0 {
			entryCmds = append(entryCmds, p.XDel(ctx, k.events(channel), notices...))
		}
		if len(jobs) > 0 {
			entryCmds = append(entryCmds, p.HDel(ctx, k.outbox(channel), jobs...))
		}
		// deadlines: the set of earlier releases, which may still hold it.
		entryCmds = append(entryCmds,
			p.ZRem(ctx, k.line(channel), convID), p.ZRem(ctx, k.claiming(channel), convID),
			p.ZRem(ctx, k.deadlines(channel), convID), p.ZRem(ctx, k.pending(channel), convID),
			p.HDel(ctx, k.assigned(channel), convID), p.HDel(ctx, k.calls(channel), convID),
			p.ZRem(ctx, k.missed(channel), convID))
		s.unindex(ctx, p, channel, convID, fields.Val(), readers.Val())
		if agent := holder.Val(); agent != "" {
			p.HIncrBy(ctx, k.held(channel), agent, -1)
		}
		p.Del(ctx, lock)
		return nil
	})
	if err != nil {
		s.rdb.Del(ctx, lock)
		return convID, out, unavailable(err)
	}
	for _, c := range keyCmds {
		out.Keys += c.Val()
	}
	for _, c := range entryCmds {
		out.Entries += c.Val()
	}
	out.Sessions = len(sessionIDs(fields.Val()[sessionsField]))
	return convID, out, nil
}

// noticesOf lists the ids of a conversation's notices in a channel's events
// stream (bounded to about 10,000 entries by Commit and Publish).
func (s *Store) noticesOf(ctx context.Context, channel, convID string) ([]string, error) {
	var ids []string
	start := "-"
	for {
		msgs, err := s.rdb.XRangeN(ctx, s.keys.events(channel), start, "+", 1000).Result()
		if err != nil {
			return nil, unavailable(err)
		}
		for _, m := range msgs {
			var n Notice
			if data, ok := m.Values["data"].(string); ok && json.Unmarshal([]byte(data), &n) == nil && n.Conversation == convID {
				ids = append(ids, m.ID)
			}
		}
		if len(msgs) < 1000 {
			return ids, nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// EraseTasks deletes the tasks of a conversation that are queued, waiting
// for a retry, archived or retained after completion: a send's payload
// holds the user's id and text, a call's the number and name. A task running right now is left alone (it
// finishes within its timeout). It returns how many it deleted.
func (r *Redis) EraseTasks(ctx context.Context, convID string) (int, error) {
	in := asynq.NewInspectorFromRedisClient(r.rdb)
	type lister func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)
	listers := []lister{in.ListPendingTasks, in.ListScheduledTasks, in.ListRetryTasks, in.ListArchivedTasks, in.ListCompletedTasks}
	n := 0
	for _, q := range []string{r.keys.taskQueue(queueInbound), r.keys.taskQueue(queueOutbound)} {
		var doomed []string
		for _, list := range listers {
			for page := 1; ; page++ {
				if err := ctx.Err(); err != nil {
					return n, err
				}
				tasks, err := list(q, asynq.Page(page), asynq.PageSize(500))
				if errors.Is(err, asynq.ErrQueueNotFound) {
					break
				}
				if err != nil {
					return n, unavailable(err)
				}
				for _, t := range tasks {
					if taskOf(t) == convID {
						doomed = append(doomed, t.ID)
					}
				}
				if len(tasks) < 500 {
					break
				}
			}
		}
		for _, id := range doomed {
			if err := in.DeleteTask(q, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
				return n, unavailable(err)
			}
			n++
		}
	}
	return n, nil
}

// taskOf returns the conversation a task is about.
func taskOf(t *asynq.TaskInfo) string {
	switch t.Type {
	case taskProcess:
		return string(t.Payload)
	case taskSend, taskNotify, taskCall:
		var j struct {
			Conversation string `json:"conversation"`
		}
		_ = json.Unmarshal(t.Payload, &j)
		return j.Conversation
	}
	return ""
}

// sessionIDs splits a conversation's session index ("id,id,...").
func sessionIDs(index string) []string {
	if index == "" {
		return nil
	}
	return strings.Split(index, ",")
}
