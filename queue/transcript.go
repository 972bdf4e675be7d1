package queue

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/channels"
)

// Transcript returns a conversation's entries, oldest first, each with its
// current delivery status.
func (s *Store) Transcript(ctx context.Context, convID string) ([]Entry, error) {
	ch := ChannelOf(convID)
	p := s.rdb.Pipeline()
	lr := p.LRange(ctx, s.keys.transcript(ch, convID), 0, -1)
	hg := p.HGetAll(ctx, s.keys.conv(ch, convID))
	if _, err := p.Exec(ctx); err != nil {
		return nil, unavailable(err)
	}
	raws, dlv := lr.Val(), hg.Val()
	out := make([]Entry, 0, len(raws))
	for _, raw := range raws {
		e, err := decodeEntry(raw)
		if err != nil {
			continue
		}
		finishEntry(&e, dlv[deliveryField(e.ID)])
		out = append(out, e)
	}
	return out, nil
}

// finishEntry fills in what a stored entry does not hold: the event id of
// an inbound entry and the delivery status d ("" for none).
func finishEntry(e *Entry, d string) {
	e.EventID, _ = strings.CutPrefix(e.ID, inboundPrefix)
	if e.EventID == e.ID {
		e.EventID = ""
	}
	// "<rank>|<status>|<detail>"
	if parts := strings.SplitN(d, "|", 3); len(parts) == 3 {
		e.Delivery, e.DeliveryError = parts[1], parts[2]
	}
}

// Append adds entries to a transcript outside of a routing decision (a
// private note, an echo, a status notice).
func (s *Store) Append(ctx context.Context, convID string, entries ...Entry) error {
	ch := ChannelOf(convID)
	vals := make([]any, len(entries))
	for i, e := range entries {
		vals[i] = encodeEntry(e)
	}
	return unavailable(s.rdb.RPush(ctx, s.keys.transcript(ch, convID), vals...).Err())
}

// SentRecord is what Sent records: one part of a job reached the
// platform under these platform ids; Finished says it was the job's last.
type SentRecord struct {
	Job         SendJob
	Part        SendPart
	PlatformIDs []string
	Finished    bool
}

// Sent records that one part of a job reached the platform: its platform
// ids map back to the entry, in the conversation's hash, for status
// webhooks and echoes. finished also removes the job from the outbox (its
// last part was sent). It may be called again
// with the same arguments after an error (it writes the same). With
// Options.WaitReplicas it returns only once the record reached that many
// replicas, else an error wrapping ErrNotReplicated: a failover could
// still undo it, and with it the knowledge that the part was sent.
// A worker that holds the conversation may instead hand the record to
// Unlock, which writes it in the lock's round trip.
func (s *Store) Sent(ctx context.Context, job SendJob, part SendPart, platformIDs []string, finished bool) error {
	r := SentRecord{Job: job, Part: part, PlatformIDs: platformIDs, Finished: finished}
	if s.wait.replicas == 0 {
		return s.pipelined(ctx, func(p redis.Pipeliner) []redis.Cmder { return s.recordSent(ctx, p, r) })
	}
	p, err := s.writePipeline(ctx, s.keys.conv(job.Channel, job.Conversation))
	if err != nil {
		return err
	}
	s.recordSent(ctx, p, r)
	return s.execWrites(ctx, p)
}

// recordSent queues r's writes on p and returns their commands.
func (s *Store) recordSent(ctx context.Context, p redis.Pipeliner, r SentRecord) []redis.Cmder {
	conv := s.keys.conv(r.Job.Channel, r.Job.Conversation)
	cmds := make([]redis.Cmder, 0, 3)
	if r.Finished {
		cmds = append(cmds, p.HDel(ctx, s.keys.outbox(r.Job.Channel), r.Job.ID))
	}
	if len(r.PlatformIDs) > 0 {
		fields := make([]any, 0, 2*len(r.PlatformIDs))
		for _, mid := range r.PlatformIDs {
			fields = append(fields, sentField(mid), r.Part.Entry)
		}
		cmds = append(cmds, p.HSet(ctx, conv, fields...))
	}
	// The first status of a part: set only if a status webhook did not
	// come first (statuses never move back).
	return append(cmds, p.HSetNX(ctx, conv, deliveryField(r.Part.Entry), rank(channels.StatusSent)+"|"+string(channels.StatusSent)+"|"))
}

// SendFailed records that a part will never be delivered.
func (s *Store) SendFailed(ctx context.Context, job SendJob, part SendPart, reason string) error {
	_, err := deliveryScript.Run(ctx, s.rdb, []string{s.keys.conv(job.Channel, job.Conversation)},
		deliveryField(part.Entry), string(channels.StatusFailed), rank(channels.StatusFailed), reason).Result()
	return unavailable(err)
}

// Delivered reports whether a part already has a delivery status (it was
// sent, or failed for good): a retried job skips it.
func (s *Store) Delivered(ctx context.Context, job SendJob, part SendPart) (bool, error) {
	ok, err := s.rdb.HExists(ctx, s.keys.conv(job.Channel, job.Conversation), deliveryField(part.Entry)).Result()
	return ok, unavailable(err)
}

// Done removes a finished job from the outbox.
func (s *Store) Done(ctx context.Context, job SendJob) error {
	return unavailable(s.rdb.HDel(ctx, s.keys.outbox(job.Channel), job.ID).Err())
}

// KnownMessage reports whether a platform message id is one the gateway
// sent in the conversation (so its echo is not recorded twice).
func (s *Store) KnownMessage(ctx context.Context, convID, platformID string) (bool, error) {
	ch := ChannelOf(convID)
	var inHash *redis.BoolCmd
	var legacy *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		inHash = p.HExists(ctx, s.keys.conv(ch, convID), sentField(platformID))
		legacy = p.Exists(ctx, s.keys.legacyMessageID(ch, platformID))
		return nil
	})
	if err != nil {
		return false, unavailable(err)
	}
	return inHash.Val() || legacy.Val() == 1, nil
}

// DeliveredUpTo applies a watermark (Messenger deliveries and reads): every
// message of the conversation sent at or before it reaches status st.
func (s *Store) DeliveredUpTo(ctx context.Context, convID string, watermark time.Time, st channels.DeliveryStatus) error {
	entries, err := s.Transcript(ctx, convID)
	if err != nil {
		return err
	}
	ch := ChannelOf(convID)
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, e := range entries {
			if e.Delivery != "" && !e.At.After(watermark) {
				deliveryScript.Eval(ctx, p, []string{s.keys.conv(ch, convID)}, deliveryField(e.ID), string(st), rank(st), "")
			}
		}
		return nil
	})
	return unavailable(err)
}

// Ack removes a handled event from a conversation's inbox; an event
// already gone is not an error.
func (s *Store) Ack(ctx context.Context, convID, eventID string) error {
	ch := ChannelOf(convID)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, s.keys.inbox(ch, convID), eventID)
		p.HDel(ctx, s.keys.inboxData(ch, convID), eventID)
		return nil
	})
	return unavailable(err)
}

// Record appends entries to a transcript and removes the event they came
// from from the inbox, atomically. It returns a *StaleError wrapping
// ErrEventGone, and writes nothing, when the event is no longer in the
// inbox (another worker recorded it).
func (s *Store) Record(ctx context.Context, convID, eventID string, entries ...Entry) error {
	ch := ChannelOf(convID)
	args := make([]any, 0, 1+len(entries))
	args = append(args, eventID)
	for _, e := range entries {
		args = append(args, encodeEntry(e))
	}
	res, err := recordScript.Run(ctx, s.rdb,
		[]string{s.keys.transcript(ch, convID), s.keys.inbox(ch, convID), s.keys.inboxData(ch, convID)}, args...).Int()
	if err != nil {
		return unavailable(err)
	}
	if res == 0 {
		return &StaleError{Conversation: convID, Event: eventID, Err: ErrEventGone}
	}
	return nil
}

// Outbox lists the sends committed on a channel but not yet confirmed as
// handed to the task queue (see Dispatched).
func (s *Store) Outbox(ctx context.Context, channel string) ([]SendJob, error) {
	m, err := s.rdb.HGetAll(ctx, s.keys.outbox(channel)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]SendJob, 0, len(m))
	for _, raw := range m {
		var j SendJob
		if json.Unmarshal([]byte(raw), &j) == nil {
			out = append(out, j)
		}
	}
	return out, nil
}

// UpdateDelivery applies a status webhook to the entry of the conversation
// that a platform message id belongs to, in one round trip. Statuses only
// move forward. It returns the entry, or ok=false when the id is unknown
// in the conversation (or the status was a regression).
func (s *Store) UpdateDelivery(ctx context.Context, convID, platformID string, st channels.DeliveryStatus, detail string) (entryID string, ok bool, err error) {
	ch := ChannelOf(convID)
	res, err := statusScript.Run(ctx, s.rdb, []string{s.keys.conv(ch, convID), s.keys.legacyMessageID(ch, platformID)},
		sentField(platformID), string(st), rank(st), detail, convID, deliveryFieldPrefix).Slice()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, unavailable(err)
	}
	entryID, _ = res[0].(string)
	changed, _ := res[1].(int64)
	return entryID, changed == 1, nil
}

// rank orders delivery statuses for deliveryScript.
func rank(s channels.DeliveryStatus) string {
	switch s {
	case channels.StatusSent:
		return "1"
	case channels.StatusDelivered:
		return "2"
	case channels.StatusFailed:
		return "4"
	}
	return "3"
}

// Sessions returns the ended sessions of a channel between from and to,
// oldest first, at most n, starting after the stream id `after` ("" for the
// start). It also returns the id to pass as `after` for the next page.
func (s *Store) Sessions(ctx context.Context, channel string, from, to time.Time, after string, n int64) ([]SessionRecord, string, error) {
	start := strconv.FormatInt(from.UnixMilli(), 10)
	if after != "" {
		start = "(" + after
	}
	end := "+"
	if !to.IsZero() {
		end = strconv.FormatInt(to.UnixMilli(), 10)
	}
	msgs, err := s.rdb.XRangeN(ctx, s.keys.sessions(channel), start, end, n).Result()
	if err != nil {
		return nil, "", unavailable(err)
	}
	out := make([]SessionRecord, 0, len(msgs))
	last := ""
	for _, m := range msgs {
		last = m.ID
		data, _ := m.Values["data"].(string)
		if r, err := decodeSessionRecord(data); err == nil {
			r.Channel = channel
			if i := strings.LastIndexByte(r.ID, '-'); i > 0 {
				r.Conversation = r.ID[:i] // session ids are "<conversation>-<n>"
			}
			out = append(out, r)
		}
	}
	return out, last, nil
}
