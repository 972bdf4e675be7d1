package engine

import (
	"time"

	"switchboard/channels"
	"switchboard/config"
	"switchboard/queue"
	"switchboard/routing"
)

// ConversationView is a conversation as the agent API and notifications
// show it.
type ConversationView struct {
	ID           string             `json:"id"`
	Channel      string             `json:"channel"`
	Platform     channels.Platform  `json:"platform"`
	User         channels.User      `json:"user"`
	State        routing.State      `json:"state"`
	Position     int64              `json:"position,omitempty"`
	WaitingSince *time.Time         `json:"waiting_since"`
	WaitSeconds  float64            `json:"wait_seconds,omitempty"`
	AssignedTo   *string            `json:"assigned_to"`
	LastMessage  *queue.LastMessage `json:"last_message,omitempty"`
	// LastActivity is the last message of the user or an agent; Labels the
	// agents' labels; Unread the user's messages the viewing agent has not
	// read.
	LastActivity *time.Time        `json:"last_activity"`
	Labels       []string          `json:"labels"`
	Unread       int64             `json:"unread"`
	Variables    map[string]string `json:"variables,omitempty"`
	Transcript   []queue.Entry     `json:"transcript,omitempty"`
	Notes        []queue.Entry     `json:"notes,omitempty"`
	// NextBefore, in a conversation read in pages, is the before of the
	// page of older entries; absent on the oldest page.
	NextBefore string `json:"next_before,omitempty"`
	// The messaging window (window.go): the conversation expired while
	// waiting and is in the missed list; a template waits for the user's
	// answer; when the business can no longer write freely.
	Missed        bool       `json:"missed"`
	WindowPending bool       `json:"window_pending,omitempty"`
	WindowEndsAt  *time.Time `json:"window_ends_at,omitempty"`
}

// view builds a conversation's view at now: its place in line (0 when not
// listed), the wait of a waiting conversation and the user's display name.
// ch may be nil (a channel no longer set up).
func view(ch *channel, rec *queue.Record, position int64, now time.Time) ConversationView {
	v := ConversationView{ID: rec.ID, Channel: rec.Channel, Platform: rec.Platform, User: rec.User,
		State: rec.State, Position: position, LastMessage: rec.LastMessage, Variables: rec.Variables, Labels: rec.Labels}
	if v.Labels == nil {
		v.Labels = []string{}
	}
	if !rec.LastActivity.IsZero() {
		at := rec.LastActivity
		v.LastActivity = &at
	}
	if rec.State == routing.StateWaiting && !rec.WaitingSince.IsZero() {
		since := rec.WaitingSince
		v.WaitingSince = &since
		v.WaitSeconds = now.Sub(since).Seconds()
	}
	if rec.AssignedTo != "" {
		agent := rec.AssignedTo
		v.AssignedTo = &agent
	}
	v.User.Name = displayName(ch, rec)
	windowView(&v, ch, rec, now)
	return v
}

// displayName is the user's name as agents see it: the channel's
// display_name over the conversation's variables, else the platform's.
func displayName(ch *channel, rec *queue.Record) string {
	if ch != nil && ch.cfg.DisplayName != "" {
		if name := config.RenderDisplayName(ch.cfg.DisplayName, rec.Variables); name != "" {
			return name
		}
	}
	return rec.User.Name
}
