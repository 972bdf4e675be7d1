// Package notify delivers the engine's escalation notifications: a signed
// webhook POST, an email over SMTP with STARTTLS, or a Zendesk ticket. It implements
// engine.Notifier and imports the engine only for the Notification type.
//
// A webhook delivery never follows a redirect (the body holds a transcript,
// personal data, and the redirect's target was not configured): it is a
// failure for good. Errors show the webhook's URL as scheme and host only.
package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/smtp"
	"strings"
	"sync"
	"time"

	"switchboard/bots"
	"switchboard/config"
	"switchboard/gateway/engine"
	"switchboard/internal/outbound"
	"switchboard/queue"
)

// Options configure the Notifier.
type Options struct {
	// SMTPRootCAs verifies SMTP servers' certificates after STARTTLS; nil
	// means the system's roots. Tests pass their own.
	SMTPRootCAs *x509.CertPool
	// WebhookClient delivers webhook notifications; nil: a client that
	// refuses redirects (each delivery is bounded by the webhook's timeout).
	WebhookClient *http.Client
}

// Notifier delivers notifications.
type Notifier struct {
	opts Options
	// zendesk creates Zendesk tickets (zendesk.go), built on first use.
	zendeskOnce sync.Once
	zendesk     *http.Client
}

var _ engine.Notifier = (*Notifier)(nil)

// New returns a Notifier.
func New(o Options) *Notifier {
	if o.WebhookClient == nil {
		o.WebhookClient = outbound.NewClient(outbound.Options{})
	}
	return &Notifier{opts: o}
}

// Webhook POSTs the notification, signed as the http bot signs its requests.
func (n *Notifier) Webhook(ctx context.Context, w *config.NotifyWebhook, body engine.Notification, now time.Time) error {
	data, err := json.Marshal(body)
	if err != nil {
		return queue.Permanent(err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(data))
	if err != nil {
		return queue.Permanent(outbound.RedactError(err))
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(bots.HeaderTimestamp, fmt.Sprint(ts))
	req.Header.Set(bots.HeaderSignature, bots.Signature([]byte(w.Secret.Reveal()), ts, data))
	req.Header.Set("X-Switchboard-Notification", body.ID)
	resp, err := n.opts.WebhookClient.Do(req)
	var redirect *outbound.RedirectError
	switch {
	case errors.As(err, &redirect):
		return queue.Permanent(fmt.Errorf("notification webhook %s: %w", outbound.Redact(w.URL), redirect))
	case err != nil:
		return outbound.RedactError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notification webhook %s answered %d", outbound.Redact(w.URL), resp.StatusCode)
	}
	return nil
}

// Email sends the notification over SMTP: STARTTLS is required (the
// transcript is personal data), then AUTH PLAIN when a username is set.
func (n *Notifier) Email(ctx context.Context, m *config.NotifyEmail, body engine.Notification) error {
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
func mailMessage(m *config.NotifyEmail, n engine.Notification) []byte {
	user := n.Conversation.User.Name
	if strings.TrimSpace(user) == "" {
		user = n.Conversation.User.ID
	}
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
