package engine

import (
	"context"
	"time"

	"switchboard/queue"
)

// Inspection is a conversation as stored, for tools that show the whole
// of it (the try sub-command).
type Inspection struct {
	Record     *queue.Record // Version 0: the conversation does not exist
	Position   int64         // place in line; 0 when not in it
	Transcript []queue.Entry // notes included
	// Sessions are the conversation's ended sessions, oldest first, among
	// the last inspectSessions of its channel.
	Sessions []queue.SessionRecord
}

// inspectSessions bounds the channel's sessions Inspect reads.
const inspectSessions = 1000

// Inspect returns a conversation with its place in line, transcript and
// ended sessions.
func (e *Engine) Inspect(ctx context.Context, convID string) (Inspection, error) {
	var in Inspection
	var err error
	if in.Record, err = e.convs.Load(ctx, convID); err != nil {
		return in, err
	}
	if in.Position, err = e.line.Position(ctx, convID); err != nil {
		return in, err
	}
	if in.Transcript, err = e.convs.Transcript(ctx, convID); err != nil {
		return in, err
	}
	records, _, err := e.stats.Sessions(ctx, queue.ChannelOf(convID), time.Unix(0, 0), time.Time{}, "", inspectSessions)
	if err != nil {
		return in, err
	}
	for _, r := range records {
		if r.Conversation == convID {
			in.Sessions = append(in.Sessions, r)
		}
	}
	return in, nil
}

// Idle reports whether a channel has no inbound event left to process and
// no send in progress. The inbox is checked first: a commit fills the
// outbox before it empties the inbox, so nothing slips between the reads.
func (e *Engine) Idle(ctx context.Context, channelID string) (bool, error) {
	pending, err := e.inbox.PendingCount(ctx, channelID)
	if err != nil || pending > 0 {
		return false, err
	}
	outbox, err := e.outbox.Outbox(ctx, channelID)
	return len(outbox) == 0, err
}
