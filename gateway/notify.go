package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"switchboard/bots"
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

// afterCommit runs once a decision is committed: metrics, the channel's
// daily counters for the stats, and the escalation notifications. Nothing
// here can undo the commit; failures are logged.
func (e *Engine) afterCommit(ctx context.Context, ch *channel, in routing.Input, before routing.Conversation, c *queue.Commit) {
	e.metrics.observeEffects(ch.id, c)
	after := c.Record.Conversation
	counts := map[string]int64{}
	if !before.Transferred && after.Transferred {
		counts["transfers"]++
	}
	if before.Session != nil && after.Session != nil && before.Session.ID == after.Session.ID && !before.Session.Declined && after.Session.Declined {
		counts["declines"]++
	}
	if before.State == routing.StateWaiting && saidAlreadyWaiting(ch, c.Entries) {
		counts["already_waiting"]++
	}
	if in.Kind == routing.InExpire && before.State != routing.StateEnded && after.State == routing.StateEnded {
		counts["expiries"]++
	}
	var waits []time.Duration
	for _, n := range c.Notices {
		if n.Type == routing.NoticeClaimed && !before.WaitingSince.IsZero() {
			waits = append(waits, n.At.Sub(before.WaitingSince))
		}
	}
	m := e.metrics.ops
	m.transfers.WithLabelValues(ch.id).Add(float64(counts["transfers"]))
	m.declines.WithLabelValues(ch.id).Add(float64(counts["declines"]))
	m.alreadyWaiting.WithLabelValues(ch.id).Add(float64(counts["already_waiting"]))
	m.expiries.WithLabelValues(ch.id).Add(float64(counts["expiries"]))
	for k, v := range counts {
		if v == 0 {
			delete(counts, k)
		}
	}
	if len(counts) > 0 || len(waits) > 0 {
		if err := e.store.CountDaily(ctx, ch.id, ch.day(e.now()), counts, waits); err != nil {
			e.log.WarnContext(ctx, "daily stats not counted", "channel", ch.id, "conversation", after.ID, "err", err)
		}
	}
	e.queueNotifications(ctx, ch, after, c)
}

// saidAlreadyWaiting reports whether the decision told a waiting user that
// their place is kept. routing says it with the channel's already_waiting
// text from the system; no other message of a waiting user is that text
// unless the configuration reuses it.
func saidAlreadyWaiting(ch *channel, entries []queue.Entry) bool {
	text := ch.rules.Messages.AlreadyWaiting
	for _, en := range entries {
		if en.Author == routing.AuthorSystem && en.Kind == "message" && text != "" && en.Text == text {
			return true
		}
	}
	return false
}

// day is the date of t in the channel's zone (UTC without hours).
func (c *channel) day(t time.Time) string {
	if c.cfg.Hours != nil && c.cfg.Hours.Location != nil {
		t = t.In(c.cfg.Hours.Location)
	} else {
		t = t.UTC()
	}
	return t.Format(time.DateOnly)
}

// queueNotifications enqueues the channel's notifications for a committed
// decision: one task per target, named after the conversation's new
// version, so a notification is delivered once even if queued twice.
func (e *Engine) queueNotifications(ctx context.Context, ch *channel, conv routing.Conversation, c *queue.Commit) {
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
			ps, _, err := e.store.Presences(ctx, []string{conv.AssignedTo})
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

// withConsent puts the channel's consent notice before everything a new
// conversation's first user message gets.
func withConsent(ch *channel, rec *queue.Record, in routing.Input, effects []routing.Effect) []routing.Effect {
	if ch.cfg.Consent == "" || rec.Version != 0 || in.Kind != routing.InUserMessage {
		return effects
	}
	consent := routing.Effect{Kind: routing.EffectSend, Message: &routing.BotMessage{Text: ch.cfg.Consent}, From: routing.AuthorSystem}
	return append([]routing.Effect{consent}, effects...)
}

// currentBot is the bot of the current setup.
func (e *Engine) currentBot() bots.Bot {
	if b := e.setup.Load().bot; b != nil {
		return b
	}
	return e.bot
}

// botName names the bot of a bot session in its session record.
func (e *Engine) botName(kind routing.SessionKind) string {
	if kind != routing.SessionBot {
		return ""
	}
	return e.setup.Load().botName
}

// botName is "keywords", or "http:" and the host of an http bot.
func botName(b config.Bot) string {
	if b.Type == config.BotHTTP {
		if u, err := url.Parse(b.URL); err == nil {
			return "http:" + u.Host
		}
	}
	return string(b.Type)
}

// notifier delivers notifications.
type notifier struct {
	opts OpsOptions
	log  *slog.Logger
}

func newNotifier(o OpsOptions, log *slog.Logger) *notifier { return &notifier{opts: o, log: log} }

// notification is the JSON a webhook receives.
type notification struct {
	ID           string            `json:"id"`
	Event        string            `json:"event"`
	At           time.Time         `json:"at"`
	Channel      string            `json:"channel"`
	Platform     channels.Platform `json:"platform"`
	Conversation conversationJSON  `json:"conversation"`
	Transcript   []queue.Entry     `json:"transcript"`
}

// Notify delivers one notification; it is the task handler of notify:send.
// A conversation or channel that no longer exists (erased, or the channel
// was removed) drops it; a failing receiver returns the error so the task
// is retried with backoff.
func (e *Engine) Notify(ctx context.Context, job queue.NotifyJob) error {
	ctx = withConversation(ctx, job.Conversation)
	ch, ok := e.channel(job.Channel)
	m := e.metrics.ops.notifications
	if !ok || ch.cfg.Notify == nil {
		m.WithLabelValues(job.Channel, job.Target, "dropped").Inc()
		e.log.WarnContext(ctx, "notification dropped: the channel no longer notifies", "channel", job.Channel, "target", job.Target)
		return nil
	}
	rec, err := e.store.Load(ctx, job.Conversation)
	if err != nil {
		return err
	}
	if rec.Version == 0 {
		m.WithLabelValues(job.Channel, job.Target, "dropped").Inc()
		return nil
	}
	tx, err := e.store.Transcript(ctx, job.Conversation)
	if err != nil {
		return err
	}
	if n := ch.cfg.Notify.TranscriptEntries; len(tx) > n {
		tx = tx[len(tx)-n:]
	}
	position, _ := e.store.Position(ctx, rec.ID)
	body := notification{ID: job.ID, Event: job.Event, At: job.At, Channel: ch.id, Platform: ch.platform,
		Conversation: conversationSummary(rec, position, e.now()), Transcript: tx}
	switch job.Target {
	case targetWebhook:
		err = e.notifier.webhook(ctx, ch.cfg.Notify.Webhook, body, e.now())
	case targetEmail:
		err = e.notifier.email(ctx, ch.cfg.Notify.Email, body)
	default:
		err = queue.Permanent(fmt.Errorf("unknown notification target %q", job.Target))
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

// conversationSummary is the conversation as notifications show it.
func conversationSummary(rec *queue.Record, position int64, now time.Time) conversationJSON {
	j := conversationJSON{ID: rec.ID, Channel: rec.Channel, Platform: rec.Platform, User: rec.User,
		State: rec.State, Position: position, LastMessage: rec.LastMessage, Variables: rec.Variables}
	if !rec.WaitingSince.IsZero() {
		since := rec.WaitingSince
		j.WaitingSince = &since
		if rec.State == routing.StateWaiting {
			j.WaitSeconds = now.Sub(since).Seconds()
		}
	}
	if rec.AssignedTo != "" {
		agent := rec.AssignedTo
		j.AssignedTo = &agent
	}
	return j
}

// webhook POSTs the notification signed as bots/http.go signs bot requests.
func (n *notifier) webhook(ctx context.Context, w *config.NotifyWebhook, body notification, now time.Time) error {
	data, err := json.Marshal(body)
	if err != nil {
		return queue.Permanent(err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(data))
	if err != nil {
		return queue.Permanent(err)
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(bots.HeaderTimestamp, fmt.Sprint(ts))
	req.Header.Set(bots.HeaderSignature, bots.Signature([]byte(w.Secret.Reveal()), ts, data))
	req.Header.Set("X-Switchboard-Notification", body.ID)
	client := n.opts.WebhookClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notification webhook answered %d", resp.StatusCode)
	}
	return nil
}

// email sends the notification over SMTP: STARTTLS is required (the
// transcript is personal data), then AUTH PLAIN when a username is set.
func (n *notifier) email(ctx context.Context, m *config.NotifyEmail, body notification) error {
	host, _, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return queue.Permanent(err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return errors.New("the SMTP server does not offer STARTTLS")
	}
	if err := c.StartTLS(&tls.Config{ServerName: host, RootCAs: n.opts.SMTPRootCAs, MinVersion: tls.VersionTLS12}); err != nil {
		return err
	}
	if m.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password.Reveal(), host)); err != nil {
			return err
		}
	}
	if err := c.Mail(m.From); err != nil {
		return err
	}
	for _, to := range m.To {
		if err := c.Rcpt(to); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(mailMessage(m, body)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// mailMessage writes the mail: headers, then the summary and transcript as
// quoted-printable UTF-8 text.
func mailMessage(m *config.NotifyEmail, n notification) []byte {
	user := firstNonEmpty(n.Conversation.User.Name, n.Conversation.User.ID)
	subject := strings.NewReplacer("{channel}", n.Channel, "{event}", n.Event, "{user}", user).Replace(m.Subject)
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", m.From)
	header("To", strings.Join(m.To, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", n.At.Format(time.RFC1123Z))
	header("Message-ID", "<"+strings.ReplaceAll(n.ID, ":", ".")+"@switchboard>")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	var t strings.Builder
	c := n.Conversation
	fmt.Fprintf(&t, "%s on channel %s (%s)\n\n", n.Event, n.Channel, n.Platform)
	fmt.Fprintf(&t, "Conversation: %s\nUser: %s\nState: %s\n", c.ID, user, c.State)
	if c.WaitingSince != nil {
		fmt.Fprintf(&t, "Waiting since: %s", c.WaitingSince.Format(time.RFC3339))
		if c.Position > 0 {
			fmt.Fprintf(&t, " (position %d)", c.Position)
		}
		t.WriteString("\n")
	}
	if c.AssignedTo != nil {
		fmt.Fprintf(&t, "Agent: %s\n", *c.AssignedTo)
	}
	t.WriteString("\nTranscript:\n")
	for _, en := range n.Transcript {
		who := string(en.Author)
		if en.Agent != "" {
			who += " " + en.Agent
		}
		fmt.Fprintf(&t, "[%s] %s: %s\n", en.At.Format(time.RFC3339), who, en.Text)
	}
	_, _ = qp.Write([]byte(strings.ReplaceAll(t.String(), "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}
