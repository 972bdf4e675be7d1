package engine

import (
	"context"
	"fmt"
	"time"

	"switchboard/channels"
	"switchboard/config"
	"switchboard/queue"
	"switchboard/routing"
)

// Notification targets.
const (
	targetWebhook = "webhook"
	targetEmail   = "email"
)

// noticeOfflineAgentMessage is the event of a notification about a user
// writing to a conversation whose agent is not online.
const noticeOfflineAgentMessage = "conversation.message_agent_offline"

// Notifier delivers notifications (package notify).
type Notifier interface {
	// Webhook POSTs n to the webhook, signed with its secret at now.
	Webhook(ctx context.Context, w *config.NotifyWebhook, n Notification, now time.Time) error
	// Email sends n by mail.
	Email(ctx context.Context, m *config.NotifyEmail, n Notification) error
	// Zendesk creates the ticket t unless one with its external id exists.
	Zendesk(ctx context.Context, z *config.NotifyZendesk, t Ticket) error
}

// Notification is what a notification says: the JSON a webhook receives.
type Notification struct {
	ID           string            `json:"id"`
	Event        string            `json:"event"`
	At           time.Time         `json:"at"`
	Channel      string            `json:"channel"`
	Platform     channels.Platform `json:"platform"`
	Conversation ConversationView  `json:"conversation"`
	Transcript   []queue.Entry     `json:"transcript"`
}

// queueNotifications enqueues the channel's notifications for a committed
// decision: one task per target, named after the conversation's new
// version, so a notification is delivered once even if queued twice.
func (e *Engine) queueNotifications(ctx context.Context, d *decision) {
	ch, c := d.ch, d.commit
	conv := c.Record.Conversation
	n := ch.cfg.Notify
	if n == nil {
		return
	}
	for _, notice := range c.Notices {
		event := ""
		switch {
		case notice.Type == routing.NoticeWaiting:
			event = string(routing.NoticeWaiting)
		case notice.Type == routing.NoticeMessage && n.OnOfflineAgentMessage && conv.State == routing.StateAssigned && conv.AssignedTo != "":
			ps, _, err := e.presence.Presences(ctx, []string{conv.AssignedTo})
			if err != nil {
				e.log.WarnContext(ctx, "agent presence unknown; notification not sent", "channel", ch.id, "conversation", conv.ID, "err", err)
				continue
			}
			if ps[conv.AssignedTo] != queue.Online {
				event = noticeOfflineAgentMessage
			}
		}
		if event == "" {
			continue
		}
		for _, target := range notifyTargets(n) {
			job := queue.NotifyJob{
				ID:      fmt.Sprintf("notify:%s:%d:%s", conv.ID, c.Record.Version, target),
				Channel: ch.id, Conversation: conv.ID, Event: event, Target: target, At: notice.At,
			}
			if err := e.tasks.EnqueueNotify(ctx, job); err != nil {
				e.log.WarnContext(ctx, "notification not queued", "channel", ch.id, "conversation", conv.ID, "target", target, "err", err)
			}
		}
	}
}

func notifyTargets(n *config.Notify) []string {
	var t []string
	if n.Webhook != nil {
		t = append(t, targetWebhook)
	}
	if n.Email != nil {
		t = append(t, targetEmail)
	}
	return t
}

// Notify delivers one notification; it is the task handler of notify:send.
// A conversation or channel that no longer exists (erased, or the channel
// was removed) drops it; a failing receiver returns the error so the task
// is retried with backoff.
func (e *Engine) Notify(ctx context.Context, job queue.NotifyJob) error {
	ctx = WithConversation(ctx, job.Conversation)
	ch, ok := e.setup.Load().channels[job.Channel]
	m := e.metrics.notifications
	if !ok || ch.cfg.Notify == nil || e.notifier == nil {
		m.WithLabelValues(job.Channel, job.Target, "dropped").Inc()
		e.log.WarnContext(ctx, "notification dropped: the channel no longer notifies, or no notifier is set", "channel", job.Channel, "target", job.Target)
		return nil
	}
	rec, err := e.convs.Load(ctx, job.Conversation)
	if err != nil {
		return err
	}
	if rec.Version == 0 {
		m.WithLabelValues(job.Channel, job.Target, "dropped").Inc()
		return nil
	}
	if job.Target == targetZendesk {
		err = e.notifyZendesk(ctx, ch, job, rec)
	} else {
		err = e.notifyOthers(ctx, ch, job, rec)
	}
	if err != nil {
		m.WithLabelValues(ch.id, job.Target, "retry").Inc()
		e.log.WarnContext(ctx, "notification not delivered; will retry", "channel", ch.id, "target", job.Target, "err", err)
		return err
	}
	m.WithLabelValues(ch.id, job.Target, "ok").Inc()
	e.log.InfoContext(ctx, "notification delivered", "channel", ch.id, "target", job.Target, "event", job.Event)
	return nil
}

// notifyOthers delivers a webhook or email notification.
func (e *Engine) notifyOthers(ctx context.Context, ch *channel, job queue.NotifyJob, rec *queue.Record) error {
	tx, err := e.convs.Transcript(ctx, job.Conversation)
	if err != nil {
		return err
	}
	if n := ch.cfg.Notify.TranscriptEntries; len(tx) > n {
		tx = tx[len(tx)-n:]
	}
	position, _ := e.line.Position(ctx, rec.ID)
	now := e.now()
	conv := view(ch, rec, position, now)
	if conv.WaitingSince == nil && !rec.WaitingSince.IsZero() {
		// Notifications say when the user joined the line even once taken.
		since := rec.WaitingSince
		conv.WaitingSince = &since
	}
	body := Notification{ID: job.ID, Event: job.Event, At: job.At, Channel: ch.id, Platform: ch.platform,
		Conversation: conv, Transcript: tx}
	switch job.Target {
	case targetWebhook:
		err = e.notifier.Webhook(ctx, ch.cfg.Notify.Webhook, body, now)
	case targetEmail:
		err = e.notifier.Email(ctx, ch.cfg.Notify.Email, body)
	default:
		err = queue.Permanent(fmt.Errorf("unknown notification target %q", job.Target))
	}
	return err
}
