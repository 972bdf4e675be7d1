package config

import "time"

// Notify is a channel's escalation notifications: sent when a conversation
// joins the waiting line and, with OnOfflineAgentMessage, when a user
// writes to a conversation whose agent is not online. Webhook, Email or
// both.
type Notify struct {
	// OnOfflineAgentMessage also notifies when a user writes to a
	// conversation held by an agent who is away or offline.
	OnOfflineAgentMessage bool `yaml:"on_offline_agent_message"`
	// TranscriptEntries is how many of the latest transcript entries a
	// notification carries. Default 20.
	TranscriptEntries int            `yaml:"transcript_entries"`
	Webhook           *NotifyWebhook `yaml:"webhook"`
	Email             *NotifyEmail   `yaml:"email"`
	// Zendesk creates a ticket per transfer (loop.go).
	Zendesk *NotifyZendesk `yaml:"zendesk"`
}

// NotifyWebhook POSTs the conversation summary and its recent transcript
// as JSON, signed like the requests to an http bot:
// X-Switchboard-Timestamp and X-Switchboard-Signature:
// sha256=hex(HMAC-SHA256(secret, timestamp + "." + body)).
type NotifyWebhook struct {
	// URL receives the POST. Required.
	URL string `yaml:"url"`
	// Secret signs the body. Required.
	Secret Secret `yaml:"secret"`
	// Timeout bounds one delivery attempt. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// NotifyEmail sends a plain-text mail with the transcript over SMTP with
// STARTTLS (required) and, when Username is set, AUTH PLAIN.
type NotifyEmail struct {
	// Addr is the SMTP server's host:port (submission, usually 587). Required.
	Addr string `yaml:"addr"`
	// Username and Password authenticate (AUTH PLAIN); both or neither.
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// From is the sender's address. Required.
	From string `yaml:"from"`
	// To are the recipients. At least one.
	To []string `yaml:"to"`
	// Subject may use {channel}, {event} and {user}. Default
	// "[switchboard] {channel}: {event}".
	Subject string `yaml:"subject"`
	// Timeout bounds one delivery attempt. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

const (
	defaultNotifyEntries = 20
	defaultNotifyTimeout = 10 * time.Second
	defaultNotifySubject = "[switchboard] {channel}: {event}"
)

func (n *Notify) applyDefaults() {
	orDefault(&n.TranscriptEntries, defaultNotifyEntries)
	if n.Webhook != nil {
		orDefault(&n.Webhook.Timeout, defaultNotifyTimeout)
	}
	if e := n.Email; e != nil {
		orDefault(&e.Timeout, defaultNotifyTimeout)
		orDefault(&e.Subject, defaultNotifySubject)
	}
}

func (v *validator) notify(n *Notify, path string) {
	if n.Webhook == nil && n.Email == nil && n.Zendesk == nil {
		v.report(path, "set webhook, email, zendesk or several")
	}
	within(v, path+".transcript_entries", n.TranscriptEntries, transcriptBounds)
	if w := n.Webhook; w != nil {
		p := path + ".webhook"
		if w.URL == "" {
			v.report(p+".url", "missing: the URL that receives the notifications")
		} else {
			v.httpURL(p+".url", w.URL)
		}
		v.secret(p+".secret", w.Secret)
		within(v, p+".timeout", w.Timeout, timeoutBounds)
	}
	if e := n.Email; e != nil {
		p := path + ".email"
		if e.Addr == "" {
			v.report(p+".addr", "missing: the SMTP server's host:port (such as smtp.example.com:587)")
		} else if host, port, err := splitHostPort(e.Addr); err != nil || host == "" || port == "" {
			v.report(p+".addr", "%q is not host:port (such as smtp.example.com:587)", e.Addr)
		}
		if (e.Username == "") != (e.Password == "") {
			v.report(p+".password", "username and password go together")
		}
		v.address(p+".from", e.From)
		if len(e.To) == 0 {
			v.report(p+".to", "missing: list at least one recipient")
		}
		for i, to := range e.To {
			if !validAddress(to) {
				v.reportItem(p+".to", i, "%q is not an email address", to)
			}
		}
		within(v, p+".timeout", e.Timeout, timeoutBounds)
	}
}

func (v *validator) address(path, addr string) {
	switch {
	case addr == "":
		v.report(path, "missing: an email address")
	case !validAddress(addr):
		v.report(path, "%q is not an email address", addr)
	}
}
