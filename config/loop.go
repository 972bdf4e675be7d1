package config

import (
	"time"
	"unicode/utf8"
)

// Closing the loop: leaving the line, the return to the closing agent, the
// satisfaction question, the Zendesk notification and erasure on request.

// CSAT is a channel's satisfaction question (derivation.csat), asked after
// an agent closes a conversation (not after a hand-back or an expiry).
type CSAT struct {
	// Question is the text asked. Required.
	Question string `yaml:"question"`
	// Choices are the answers, worst to best; the position of the one
	// chosen (1-based) is recorded. 2 to 10 (WhatsApp shows up to 3 as
	// reply buttons, more as a list message), each at most 20 characters.
	Choices []string `yaml:"choices"`
	// Button is the title of the button that opens a WhatsApp list (more
	// than 3 choices). Default "Choose"; at most 20 characters.
	Button string `yaml:"button"`
}

// Privacy holds the data-protection settings.
type Privacy struct {
	// EraseKeywords let a user ask for the erasure of what the gateway
	// holds about them: asked to confirm (messages erase_confirm,
	// erase_yes, erase_no), the gateway erases and says so (erased).
	// Empty: users cannot ask by message (the admin API still erases).
	EraseKeywords []string `yaml:"erase_keywords"`
}

// NotifyZendesk creates a Zendesk ticket through the tickets API, one per
// transfer to the line, with the transcript as its first comment.
type NotifyZendesk struct {
	// URL is the Zendesk account's address, such as
	// https://acme.zendesk.com. Required.
	URL string `yaml:"url"`
	// Email and APIToken authenticate (Basic {email}/token:{api_token}). Required.
	Email    string `yaml:"email"`
	APIToken Secret `yaml:"api_token"`
	// On lists the events that create a ticket: waiting (the user joined
	// the line) and missed (the user expired while waiting). Default
	// [waiting].
	On []string `yaml:"on"`
	// Timeout bounds one request. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// Zendesk ticket events.
const (
	ZendeskOnWaiting = "waiting"
	ZendeskOnMissed  = "missed"
)

// Triggers reports whether event (ZendeskOnWaiting, ZendeskOnMissed)
// creates a ticket.
func (z *NotifyZendesk) Triggers(event string) bool {
	for _, on := range z.On {
		if on == event {
			return true
		}
	}
	return false
}

// maxChoiceTitle bounds a satisfaction choice and the list's button:
// WhatsApp's reply button title.
const maxChoiceTitle = 20

var (
	reopenBounds      = bounds[time.Duration]{min: time.Second, max: day, why: "an agent may reopen within the platforms' 24 h window"}
	csatChoicesBounds = bounds[int]{min: 2, max: 10, why: "a WhatsApp list holds at most 10 rows"}
)

func (ch *Channel) applyLoopDefaults() {
	if q := ch.Derivation.CSAT; q != nil {
		orDefault(&q.Button, "Choose")
	}
	if n := ch.Notify; n != nil && n.Zendesk != nil {
		orDefault(&n.Zendesk.Timeout, defaultNotifyTimeout)
		orDefaultList(&n.Zendesk.On, []string{ZendeskOnWaiting})
	}
}

func (v *validator) loop(ch *Channel, path string) {
	d := &ch.Derivation
	if d.ReopenAfterClose != 0 {
		within(v, path+".derivation.reopen_after_close", d.ReopenAfterClose, reopenBounds)
	}
	if q := d.CSAT; q != nil {
		p := path + ".derivation.csat"
		if q.Question == "" {
			v.report(p+".question", "missing: the question asked after an agent closes")
		}
		within(v, p+".choices", len(q.Choices), csatChoicesBounds)
		for i, c := range q.Choices {
			switch n := utf8.RuneCountInString(c); {
			case n == 0:
				v.reportItem(p+".choices", i, "an empty choice")
			case n > maxChoiceTitle:
				v.reportItem(p+".choices", i, "%q is longer than %d characters (a WhatsApp button's title)", c, maxChoiceTitle)
			}
		}
		if n := utf8.RuneCountInString(q.Button); n > maxChoiceTitle {
			v.report(p+".button", "%q is longer than %d characters (a WhatsApp list's button)", q.Button, maxChoiceTitle)
		}
	}
	if n := ch.Notify; n != nil && n.Zendesk != nil {
		v.zendesk(n.Zendesk, path+".notify.zendesk")
	}
}

func (v *validator) zendesk(z *NotifyZendesk, path string) {
	if z.URL == "" {
		v.report(path+".url", "missing: the Zendesk account's address (such as https://acme.zendesk.com)")
	} else {
		v.httpURL(path+".url", z.URL)
	}
	v.address(path+".email", z.Email)
	v.secret(path+".api_token", z.APIToken)
	for i, on := range z.On {
		if on != ZendeskOnWaiting && on != ZendeskOnMissed {
			v.reportItem(path+".on", i, "%q is not waiting or missed", on)
		}
	}
	within(v, path+".timeout", z.Timeout, timeoutBounds)
}

func (v *validator) privacy(p Privacy) {
	for i, k := range p.EraseKeywords {
		if k == "" {
			v.reportItem("privacy.erase_keywords", i, "an empty keyword")
		}
	}
}
