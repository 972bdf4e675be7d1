package queue

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/channels"
	"switchboard/routing"
)

// ErrConflict means the conversation changed since it was loaded: reload
// and decide again.
var ErrConflict = errors.New("conversation changed concurrently")

// ErrNotFound means no such conversation.
var ErrNotFound = errors.New("conversation not found")

// ConversationID is the stable id of a user's conversation on a channel:
// "c_<channel>_<hash of the user id>". The channel is readable from it, so
// every key of the conversation can be built from the id alone.
func ConversationID(channel, userID string) string {
	sum := sha256.Sum256([]byte(channel + "\x00" + userID))
	return "c_" + channel + "_" + hex.EncodeToString(sum[:10])
}

// ChannelOf returns the channel of a conversation id, or "" if the id is
// not one of ours.
func ChannelOf(convID string) string {
	rest, ok := strings.CutPrefix(convID, "c_")
	i := strings.LastIndexByte(rest, '_')
	if !ok || i <= 0 || len(rest)-i-1 != 20 {
		return ""
	}
	return rest[:i]
}

// Record is a stored conversation: the routing state plus what the agent
// API shows.
type Record struct {
	routing.Conversation
	// LastMessage is the user's last message, for the queue listing.
	LastMessage *LastMessage `json:"last_message,omitempty"`
	// Variables are what the bot collected (name, email, order...).
	Variables map[string]string `json:"variables,omitempty"`
	// Labels are the agents' labels, out of the configured ones.
	Labels []string `json:"labels,omitempty"`
	// LastUserMessageID is the platform id of the user's last message, for
	// read receipts and typing indicators.
	LastUserMessageID string `json:"last_user_message_id,omitempty"`
	// Version is the optimistic-lock counter; 0 for a conversation that
	// does not exist yet.
	Version int64 `json:"-"`
}

// LastMessage is the last user message in short.
type LastMessage struct {
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Entry is one line of a transcript.
type Entry struct {
	ID          string                `json:"id"`
	At          time.Time             `json:"at"`
	Author      routing.Author        `json:"author"`
	Agent       string                `json:"agent,omitempty"`
	Kind        string                `json:"kind"` // a channels.Kind for user events; "message" or "note" otherwise
	Text        string                `json:"text,omitempty"`
	Payload     string                `json:"payload,omitempty"`
	Choices     []channels.Choice     `json:"choices,omitempty"`
	Attachments []channels.Attachment `json:"attachments,omitempty"`
	Location    *channels.Location    `json:"location,omitempty"`
	// EventID is the platform id of the inbound event an entry records;
	// not stored, since the entry's id says it (InboundEntryID).
	EventID string `json:"event_id,omitempty"`
	// Delivery is filled when reading: sent, delivered, read or failed.
	Delivery string `json:"delivery,omitempty"`
	// DeliveryError explains a failed delivery.
	DeliveryError string `json:"delivery_error,omitempty"`
}

// inboundPrefix starts the entry id of an inbound event.
const inboundPrefix = "u_"

// InboundEntryID is the transcript entry id of an inbound event: derived
// from the event's id, so recording the event twice (a retry) cannot make
// two different entries.
func InboundEntryID(eventID string) string { return inboundPrefix + eventID }

// EntryIDPrefix starts every id NewEntryID makes; the gateway passes entry
// ids to Meta as message metadata, which comes back in echoes.
const EntryIDPrefix = "gw_"

// NewEntryID returns a fresh, unique transcript entry id: 96 random bits
// in 16 URL-safe characters (ids are stored several times per message).
func NewEntryID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return EntryIDPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// SendJob is what one decision says to a user: one or more messages, sent
// in order by one task. A retried job skips the parts already sent.
type SendJob struct {
	ID           string     `json:"id"`
	Channel      string     `json:"channel"`
	Conversation string     `json:"conversation"`
	Parts        []SendPart `json:"parts"`
	// At is when the job was committed; the sweep recovers only jobs old
	// enough that no worker can still be sending them.
	At time.Time `json:"at"`
}

// SendPart is one message of a SendJob and its transcript entry.
type SendPart struct {
	Entry   string            `json:"entry"`
	Message channels.Outbound `json:"message"`
}

// SessionRecord is one ended session, as the chat report lists it.
type SessionRecord struct {
	ID string `json:"id"`
	// Conversation and Channel are not stored (the session id and the
	// stream's key say them); Sessions fills them in.
	Conversation string              `json:"conversation,omitempty"`
	Channel      string              `json:"channel,omitempty"`
	User         string              `json:"user"`
	Kind         routing.SessionKind `json:"kind"`
	Agent        string              `json:"agent,omitempty"`
	// Bot names the virtual assistant of a bot session ("keywords", or
	// "http" and its host), so escalations can be told apart per bot.
	Bot        string             `json:"bot,omitempty"`
	Start      time.Time          `json:"start"`
	End        time.Time          `json:"end"`
	Resolution routing.Resolution `json:"resolution"`
	// FirstReply is when the agent of an agent session first wrote.
	FirstReply time.Time `json:"first_reply,omitzero"`
	// CSAT is the satisfaction answer given about an agent session: the
	// chosen choice's 1-based position (0: none).
	CSAT int `json:"csat,omitempty"`
}

// Notice is an event on a channel's stream for agents.
type Notice struct {
	ID           string             `json:"id,omitempty"` // the stream id, set when read
	Type         routing.NoticeKind `json:"type"`
	Channel      string             `json:"channel"`
	Conversation string             `json:"conversation"`
	At           time.Time          `json:"at"`
	Agent        string             `json:"agent,omitempty"`
	Text         string             `json:"text,omitempty"`
	// From is the agent who held the conversation before a transfer.
	From string `json:"from,omitempty"`
}

// LineOp changes a conversation's place in the waiting line.
type LineOp int

// Line operations.
const (
	LineKeep  LineOp = iota
	LineJoin         // enter (or re-enter) at Commit.Since
	LineLeave        // leave the line (and any pending claim)
)

// Commit is everything one decision changes.
type Commit struct {
	Record *Record // the new state; Record.Version is the version it was loaded at
	// Ack is the inbox event this decision consumed ("" for none); the
	// commit is refused when it is no longer in the inbox.
	Ack string
	// Token, when not empty, is the processing lock token of the caller
	// (Take): the commit is refused unless the caller still holds the lock.
	Token    string
	Line     LineOp
	Since    time.Time // LineJoin: the place in line
	Entries  []Entry
	Sends    []SendJob
	Sessions []SessionRecord
	Notices  []Notice
	// Day and Daily are the decision's additions to its channel's counts
	// of Day (DailyStats), written by the commit itself: each counts once,
	// and only when what it counts was committed.
	Day   string
	Daily Daily
	// Touch notes agents' activity (AgentActivity) in the commit's round
	// trip. It is noted even when the commit is refused: the agent acted.
	Touch []Activity
	// Retention, when the conversation ends, is how long it is kept: its
	// keys expire then (0 keeps them); a commit that is not an end keeps
	// them for good.
	Retention time.Duration
	// Replayed is set by Store.Commit when this very commit (same Token,
	// Ack and Record.Version) had already been applied by an earlier
	// attempt whose answer was lost (an outage, or a WAIT that timed out):
	// nothing was written again, and Record.Version was not moved (the
	// caller reloads).
	Replayed bool
}

// Store keeps conversations, transcripts, lines and inboxes.
type Store struct {
	rdb   redis.UniversalClient
	batch *batcher
	keys  keys
	wait  replicaWait
}

// Store returns the conversation store on this Redis.
func (r *Redis) Store() *Store { return &Store{rdb: r.rdb, batch: r.batch, keys: r.keys, wait: r.wait} }

// Accepted says what Accept did with an event.
type Accepted int

// Accept results.
const (
	AcceptedNew       Accepted = iota // stored; a processing task must be enqueued
	AcceptedDuplicate                 // seen and already processed: drop
	AcceptedPending                   // seen, still waiting: enqueue a task again to be safe
)

// AcceptAndTake makes an inbound event durable in its conversation's
// inbox, unless its id was seen within dedupeTTL. Errors wrap
// ErrUnavailable when Redis cannot be reached. With Options.WaitReplicas it
// returns only once the event (new, or still pending from an earlier
// delivery) reached that many replicas, else an error wrapping
// ErrNotReplicated. A worker's commit, its lock and a send's record wait
// too (Commit, Take, Sent); other writes do not.
//
// When token is not empty and the event is new, it also takes the
// conversation's processing lock under token for ttl if no worker holds
// it, and reads up to n events with the conversation as Take does, in the
// same round trip. taken says it did: the caller then drains the
// conversation as Take's caller does, or hands the lock back (HandBack).
// On an error no lock is left taken, as far as Redis can be reached.
func (s *Store) AcceptAndTake(ctx context.Context, ev *channels.Event, convID string, dedupeTTL time.Duration, now time.Time,
	token string, ttl time.Duration, n int) (res Accepted, b Batch, taken bool, err error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return 0, Batch{}, false, err
	}
	ch := ev.Channel
	keys := []string{s.keys.seen(ch, ev.ID), s.keys.inbox(ch, convID), s.keys.inboxData(ch, convID), s.keys.inboxSeq(ch), s.keys.pending(ch),
		s.keys.lock(ch, convID), s.keys.conv(ch, convID), s.keys.state(ch, convID)}
	waiting := "0"
	if s.wait.replicas > 0 {
		waiting = "1"
	}
	cmd, err := s.eval(ctx, acceptScript, keys,
		ev.ID, ev.Timestamp.UnixMilli(), payload, dedupeTTL.Milliseconds(), convID, now.UnixMilli(), waiting, token, ttl.Milliseconds(), n)
	if err != nil {
		if token != "" {
			// The script may have run (a WAIT not answered in time, a lost
			// answer): the lock must not outlive this failed webhook.
			_ = s.HandBack(context.WithoutCancel(ctx), convID, token)
		}
		return 0, Batch{}, false, err
	}
	if fields, ok := cmd.Val().([]any); ok {
		if b, err = s.decodeBatch(ctx, convID, fields, ev); err != nil {
			_ = s.HandBack(context.WithoutCancel(ctx), convID, token)
			return 0, Batch{}, false, err
		}
		return AcceptedNew, b, true, nil
	}
	code, err := cmd.Int()
	if err != nil {
		return 0, Batch{}, false, unavailable(err)
	}
	switch code {
	case 1:
		return AcceptedNew, Batch{}, false, nil
	case 2:
		return AcceptedPending, Batch{}, false, nil
	}
	return AcceptedDuplicate, Batch{}, false, nil
}

// HandBack lets go of a processing lock its holder will not drain under
// (one AcceptAndTake took): the events stay in the inbox and the
// conversation in its channel's pending set, for a worker to take.
func (s *Store) HandBack(ctx context.Context, convID, token string) error {
	ch := ChannelOf(convID)
	err := releaseScript.Run(ctx, s.rdb,
		[]string{s.keys.lock(ch, convID), s.keys.inbox(ch, convID), s.keys.pending(ch)},
		token, 0, convID, "1").Err()
	return unavailable(err)
}

// Batch is what one Take read: the conversation and its oldest events.
type Batch struct {
	Record *Record
	Events []channels.Event
}

// Take reads up to n of a conversation's oldest inbox events together with
// the conversation, in one round trip. With acquire it first takes the
// processing lock for ttl under token; without, the caller must hold it.
// ok is false when another worker holds the lock (or, without acquire, when
// the caller lost it). A payload that cannot be read is dropped from the
// inbox, so it cannot block the conversation. With Options.WaitReplicas a
// lock taken is waited for on the replicas, so that a failover while the
// caller works leaves the conversation to it (its commits, tried again on
// the new master, still hold the lock); a lock that did not reach them in
// time is still taken (the commit's own wait is what keeps a reply from
// being sent twice).
func (s *Store) Take(ctx context.Context, convID, token string, ttl time.Duration, n int, acquire bool) (b Batch, ok bool, err error) {
	ch := ChannelOf(convID)
	if ch == "" {
		return Batch{}, false, ErrNotFound
	}
	flag := "0"
	if acquire {
		flag = "1"
	}
	keys := []string{s.keys.lock(ch, convID), s.keys.inbox(ch, convID), s.keys.inboxData(ch, convID), s.keys.conv(ch, convID), s.keys.state(ch, convID)}
	var cmd *redis.Cmd
	if acquire && s.wait.replicas > 0 {
		cmd, err = s.wait.evalReplicated(ctx, s.rdb, takeScript, keys, token, ttl.Milliseconds(), n, flag)
		if errors.Is(err, ErrNotReplicated) {
			err = nil
		}
		if err != nil {
			return Batch{}, false, err
		}
	} else {
		cmd = s.evalBatched(ctx, takeScript, keys, token, ttl.Milliseconds(), n, flag)
	}
	res, err := cmd.Slice()
	if errors.Is(err, redis.Nil) {
		return Batch{}, false, nil
	}
	if err != nil {
		return Batch{}, false, unavailable(err)
	}
	b, err = s.decodeBatch(ctx, convID, res, nil)
	return b, err == nil, err
}

// decodeBatch reads what readBatch (acceptScript, takeScript) returned;
// accepted, when not nil, is the event acceptScript stored, whose payload
// it does not return.
func (s *Store) decodeBatch(ctx context.Context, convID string, res []any, accepted *channels.Event) (Batch, error) {
	str := func(v any) string { t, _ := v.(string); return t }
	if len(res) < 2 {
		return Batch{}, fmt.Errorf("queue: a batch of %d fields", len(res))
	}
	var b Batch
	var err error
	if b.Record, err = decodeRecord(convID, str(res[0]), str(res[1])); err != nil {
		return Batch{}, err
	}
	for i := 2; i+1 < len(res); i += 2 {
		if accepted != nil && str(res[i]) == accepted.ID {
			b.Events = append(b.Events, *accepted)
			continue
		}
		var ev channels.Event
		if json.Unmarshal([]byte(str(res[i+1])), &ev) != nil {
			s.rdb.ZRem(ctx, s.keys.inbox(ChannelOf(convID), convID), str(res[i]))
			continue
		}
		b.Events = append(b.Events, ev)
	}
	return b, nil
}

// Renew extends the processing lock to ttl from now if token still holds
// it. It returns a *StaleError wrapping ErrLockLost when the lock expired or
// another worker holds it; the caller must then stop working on the
// conversation. A holder calls it well within ttl (every ttl/3, say).
func (s *Store) Renew(ctx context.Context, convID, token string, ttl time.Duration) error {
	ch := ChannelOf(convID)
	if ch == "" {
		return ErrNotFound
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("lock TTL %v: must be at least 1ms", ttl)
	}
	res, err := renewScript.Run(ctx, s.rdb, []string{s.keys.lock(ch, convID)}, token, ttl.Milliseconds()).Int()
	if err != nil {
		return unavailable(err)
	}
	if res == 0 {
		return &StaleError{Conversation: convID, Err: ErrLockLost}
	}
	return nil
}

// Unlock releases the processing lock unless the inbox filled up again;
// then it extends the lock and returns false: the caller drains again.
// sent are send records the caller held back instead of calling Sent:
// they are written in the same round trip, before the lock goes (and, with
// Options.WaitReplicas, Unlock returns once they reached the replicas).
func (s *Store) Unlock(ctx context.Context, convID, token string, ttl time.Duration, sent ...SentRecord) (bool, error) {
	ch := ChannelOf(convID)
	keys := []string{s.keys.lock(ch, convID), s.keys.inbox(ch, convID), s.keys.pending(ch)}
	args := []any{token, ttl.Milliseconds(), convID, "0"}
	if len(sent) == 0 {
		res, err := s.evalBatched(ctx, releaseScript, keys, args...).Int()
		return res != 0, unavailable(err)
	}
	if s.wait.replicas == 0 {
		release, err := s.evalBatchedWith(ctx, func(p redis.Pipeliner) []redis.Cmder {
			var records []redis.Cmder
			for _, r := range sent {
				records = append(records, s.recordSent(ctx, p, r)...)
			}
			return records
		}, releaseScript, keys, args...)
		if err != nil {
			return false, err
		}
		res, err := release.Int()
		return res != 0, unavailable(err)
	}
	p, err := s.writePipeline(ctx, keys[0])
	if err != nil {
		return false, err
	}
	for _, r := range sent {
		s.recordSent(ctx, p, r)
	}
	// EVAL, not EVALSHA: a pipeline cannot load a script the server lost.
	release := releaseScript.Eval(ctx, p, keys, args...)
	if err := s.execWrites(ctx, p); err != nil {
		return false, err
	}
	res, err := release.Int()
	return res != 0, unavailable(err)
}

// PendingConversations lists conversations of a channel whose inbox has
// not been empty since before the given time (for the sweep that recovers
// processing lost with a crashed gateway).
func (s *Store) PendingConversations(ctx context.Context, channel string, before time.Time) ([]string, error) {
	return s.upTo(ctx, s.keys.pending(channel), before, 0)
}

// Pending lists up to n conversations of a channel with events in their
// inbox, those waiting longest first.
func (s *Store) Pending(ctx context.Context, channel string, n int) ([]string, error) {
	ids, err := s.rdb.ZRange(ctx, s.keys.pending(channel), 0, int64(n-1)).Result()
	return ids, unavailable(err)
}

// PendingCount is how many conversations of a channel have events waiting
// in their inbox.
func (s *Store) PendingCount(ctx context.Context, channel string) (int64, error) {
	n, err := s.rdb.ZCard(ctx, s.keys.pending(channel)).Result()
	return n, unavailable(err)
}

// Load returns a conversation; a missing one comes back as a Record with
// Version 0 and only its id and channel set.
func (s *Store) Load(ctx context.Context, convID string) (*Record, error) {
	ch := ChannelOf(convID)
	if ch == "" {
		return nil, ErrNotFound
	}
	p := s.rdb.Pipeline()
	version := p.HGet(ctx, s.keys.conv(ch, convID), "v")
	data := p.Get(ctx, s.keys.state(ch, convID))
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable(err)
	}
	return decodeRecord(convID, version.Val(), data.Val())
}

// Commit applies a decision atomically. It returns ErrConflict when the
// conversation changed since c.Record was loaded, and a *StaleError when
// c.Token is set and no longer holds the processing lock (ErrLockLost) or
// c.Ack is no longer in the inbox (ErrEventGone); nothing is written then.
//
// A commit with both Token and Ack (a worker's decision on an inbox event)
// may be tried again as it is after an error that wraps ErrUnavailable:
// when the earlier attempt was applied, the retry writes nothing and sets
// c.Replayed. With Options.WaitReplicas such a commit returns only once it
// reached that many replicas, else an error wrapping ErrNotReplicated (it
// was applied on the master: try it again), so that a worker sends the
// replies it decided only once a failover can no longer undo the decision.
func (s *Store) Commit(ctx context.Context, c *Commit) error {
	rec := c.Record
	id, ch := rec.ID, rec.Channel
	arg := commitArg{ID: id, Channel: ch, Conv: encodeState(rec), Ack: c.Ack,
		TX: []string{}, Outbox: [][2]string{}, Sessions: []string{}, Events: []string{}, IX: s.newIndexArg(c)}
	replayable := c.Token != "" && c.Ack != ""
	if replayable {
		arg.Applied = shortHash(c.Token + " " + strconv.FormatInt(rec.Version, 10) + " " + c.Ack)
	}
	switch c.Line {
	case LineJoin:
		arg.Line, arg.Score, arg.Notify = "join", c.Since.UnixMilli(), s.keys.lineNotices()
	case LineLeave:
		arg.Line = "leave"
	}
	if rec.State == routing.StateAssigned {
		arg.Agent = rec.AssignedTo
	}
	for _, e := range c.Entries {
		arg.TX = append(arg.TX, encodeEntry(e))
	}
	for _, j := range c.Sends {
		arg.Outbox = append(arg.Outbox, [2]string{j.ID, mustJSON(j)})
	}
	for _, r := range c.Sessions {
		arg.Sessions = append(arg.Sessions, encodeSessionRecord(r))
	}
	for _, n := range c.Notices {
		arg.Events = append(arg.Events, mustJSON(n))
	}
	if len(c.Daily.Counts) > 0 || len(c.Daily.Waits) > 0 {
		arg.Daily = &dailyArg{Key: s.keys.daily(ch, c.Day), WaitsKey: s.keys.waits(ch, c.Day),
			Counts: c.Daily.Counts, TTL: int64(dailyTTL.Seconds())}
		for _, w := range c.Daily.Waits {
			arg.Daily.Waits = append(arg.Daily.Waits, w.Milliseconds())
		}
	}
	keys := []string{
		s.keys.conv(ch, id), s.keys.transcript(ch, id), s.keys.line(ch), s.keys.claiming(ch),
		s.keys.deadlines(ch), s.keys.inbox(ch, id), s.keys.inboxData(ch, id), s.keys.outbox(ch),
		s.keys.sessions(ch), s.keys.events(ch), s.keys.assigned(ch), s.keys.held(ch), s.keys.state(ch, id),
		s.keys.lock(ch, id), s.keys.unread(ch, id), s.keys.txIndex(ch, id),
	}
	var cmd *redis.Cmd
	if replayable && s.wait.replicas > 0 {
		var err error
		if cmd, err = s.wait.evalReplicated(ctx, s.rdb, commitScript, keys, rec.Version, mustJSON(arg), c.Token); err != nil {
			return err
		}
		if len(c.Touch) > 0 {
			if err := s.pipelined(ctx, func(p redis.Pipeliner) []redis.Cmder { return s.touch(ctx, p, c.Touch) }); err != nil {
				return err
			}
		}
	} else {
		// The activity's own failure is not the commit's (a lost connection
		// fails the script too): it is a hint for automatic assignment.
		cmd, _ = s.evalBatchedWith(ctx, func(p redis.Pipeliner) []redis.Cmder { return s.touch(ctx, p, c.Touch) },
			commitScript, keys, rec.Version, mustJSON(arg), c.Token)
	}
	v, err := cmd.Int64()
	if err != nil {
		return unavailable(err)
	}
	switch v {
	case -4:
		c.Replayed = true
		return nil
	case -1:
		return ErrConflict
	case -2:
		return &StaleError{Conversation: id, Event: c.Ack, Err: ErrLockLost}
	case -3:
		return &StaleError{Conversation: id, Event: c.Ack, Err: ErrEventGone}
	}
	rec.Version = v
	return nil
}

type commitArg struct {
	ID       string      `json:"id"`
	Channel  string      `json:"channel"`
	Conv     string      `json:"conv"`
	Line     string      `json:"line"`
	Score    int64       `json:"score"`
	Notify   string      `json:"notify"`
	Ack      string      `json:"ack"`
	TX       []string    `json:"tx"`
	Outbox   [][2]string `json:"outbox"`
	Sessions []string    `json:"sessions"`
	Events   []string    `json:"events"`
	Agent    string      `json:"agent"`
	IX       *indexArg   `json:"ix"`
	Daily    *dailyArg   `json:"daily,omitempty"`
	// Applied, for a replayable commit, marks it applied in the
	// conversation's hash: a hash of "<token> <version it was decided on>
	// <event>", 16 characters (the hash stays small).
	Applied string `json:"applied"`
}

// dailyArg is a commit's additions to its channel's daily counts: named
// counters of the day's hash and wait times (ms) of its list, each kept
// TTL seconds. Either may be absent.
type dailyArg struct {
	Key      string           `json:"key"`
	WaitsKey string           `json:"wkey"`
	Counts   map[string]int64 `json:"counts,omitempty"`
	Waits    []int64          `json:"waits,omitempty"`
	TTL      int64            `json:"ttl"`
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("queue: marshal %T: %v", v, err)) // only plain structs are marshalled here
	}
	return string(b)
}
