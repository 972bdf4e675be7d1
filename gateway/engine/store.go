package engine

import (
	"context"
	"time"

	"switchboard/channels"
	"switchboard/queue"
)

// What the engine needs of Redis, one small interface per concern;
// *queue.Store satisfies all but Tasks, which *queue.Tasks satisfies.

// Inbox holds each conversation's inbound events until they are processed.
type Inbox interface {
	AcceptAndTake(ctx context.Context, ev *channels.Event, convID string, dedupeTTL time.Duration, now time.Time,
		token string, ttl time.Duration, n int) (res queue.Accepted, b queue.Batch, taken bool, err error)
	HandBack(ctx context.Context, convID, token string) error
	Take(ctx context.Context, convID, token string, ttl time.Duration, n int, acquire bool) (b queue.Batch, ok bool, err error)
	Unlock(ctx context.Context, convID, token string, ttl time.Duration, sent ...queue.SentRecord) (bool, error)
	Renew(ctx context.Context, convID, token string, ttl time.Duration) error
	Ack(ctx context.Context, convID, eventID string) error
	Record(ctx context.Context, convID, eventID string, entries ...queue.Entry) error
	KnownMessage(ctx context.Context, convID, platformID string) (bool, error)
	Pending(ctx context.Context, channel string, n int) ([]string, error)
	PendingConversations(ctx context.Context, channel string, before time.Time) ([]string, error)
	PendingCount(ctx context.Context, channel string) (int64, error)
}

// Conversations loads and commits conversations, with their transcripts.
type Conversations interface {
	Load(ctx context.Context, convID string) (*queue.Record, error)
	Commit(ctx context.Context, c *queue.Commit) error
	Transcript(ctx context.Context, convID string) ([]queue.Entry, error)
	Append(ctx context.Context, convID string, entries ...queue.Entry) error
	Erase(ctx context.Context, channel, userID string) (string, queue.Erased, error)
}

// Line is each channel's waiting line, with its claims, idle conversations and assignments.
type Line interface {
	Line(ctx context.Context, channel string, n int) ([]queue.Waiting, error)
	LineLength(ctx context.Context, channel string) (int64, error)
	Position(ctx context.Context, convID string) (int64, error)
	Claim(ctx context.Context, channel string, now time.Time) (w queue.Waiting, ok bool, err error)
	ClaimOldest(ctx context.Context, c queue.Claimer, now time.Time) (w queue.Waiting, ok bool, err error)
	Unclaim(ctx context.Context, w queue.Waiting) error
	StaleClaims(ctx context.Context, channel string, cutoff time.Time) ([]string, error)
	DropClaim(ctx context.Context, channel, convID string) error
	Due(ctx context.Context, channel string, cutoff time.Time, n int) ([]string, error)
	AssignedTo(ctx context.Context, channel string) (map[string][]string, error)
	Held(ctx context.Context, channels []string) (map[string]int, error)
	HeldBy(ctx context.Context, channels []string, agent string) (int, error)
	MarkOpened(ctx context.Context, channel string, opening time.Time) (bool, error)
	ChannelActive(ctx context.Context, channel string) (bool, error)
}

// Outbox follows committed sends until they are delivered or failed.
type Outbox interface {
	Outbox(ctx context.Context, channel string) ([]queue.SendJob, error)
	Sent(ctx context.Context, job queue.SendJob, part queue.SendPart, platformIDs []string, finished bool) error
	SendFailed(ctx context.Context, job queue.SendJob, part queue.SendPart, reason string) error
	Delivered(ctx context.Context, job queue.SendJob, part queue.SendPart) (bool, error)
	Done(ctx context.Context, job queue.SendJob) error
	UpdateDelivery(ctx context.Context, convID, platformID string, st channels.DeliveryStatus, detail string) (entryID string, ok bool, err error)
	DeliveredUpTo(ctx context.Context, convID string, watermark time.Time, st channels.DeliveryStatus) error
}

// Presence keeps agents' presence and activity.
type Presence interface {
	SetPresence(ctx context.Context, agent string, p queue.Presence, now time.Time) (queue.Presence, error)
	Presences(ctx context.Context, agents []string) (map[string]queue.Presence, map[string]time.Time, error)
	AgentActivity(ctx context.Context, agents []string) (map[string]time.Time, error)
}

// Events are the notices agents' event streams read.
type Events interface {
	Publish(ctx context.Context, notices ...queue.Notice) error
	PinCursor(ctx context.Context, chans []string, cur queue.Cursor) error
}

// Stats reads the daily counts (commits write them) and keeps the sessions report.
type Stats interface {
	DailyStats(ctx context.Context, channel, day string) (queue.Daily, error)
	Sessions(ctx context.Context, channel string, from, to time.Time, after string, n int64) ([]queue.SessionRecord, string, error)
	RecordCSAT(ctx context.Context, channel, convID, sessionID string, score int) (bool, error)
}

// Calls marks call requests until their task is queued and answered.
type Calls interface {
	MarkCall(ctx context.Context, channel, convID, key string, at time.Time) error
	UnmarkCall(ctx context.Context, channel, convID, key string) error
	PendingCalls(ctx context.Context, channel string) ([]queue.PendingCall, error)
}

// Tasks queues durable work with retries.
type Tasks interface {
	EnqueueProcess(ctx context.Context, convID string) error
	EnqueueSend(ctx context.Context, job queue.SendJob) error
	EnqueueNotify(ctx context.Context, job queue.NotifyJob) error
	EnqueueCall(ctx context.Context, job queue.CallJob, attempts int) error
	EnqueueErase(ctx context.Context, convID string) error
}

var (
	_ Inbox         = (*queue.Store)(nil)
	_ Conversations = (*queue.Store)(nil)
	_ Line          = (*queue.Store)(nil)
	_ Outbox        = (*queue.Store)(nil)
	_ Presence      = (*queue.Store)(nil)
	_ Events        = (*queue.Store)(nil)
	_ Stats         = (*queue.Store)(nil)
	_ Calls         = (*queue.Store)(nil)
	_ Tasks         = (*queue.Tasks)(nil)
)
