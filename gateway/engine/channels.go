package engine

import (
	"fmt"
	"net/http"
	"time"

	"switchboard/channels"
	"switchboard/channels/instagram"
	"switchboard/channels/messenger"
	"switchboard/channels/whatsapp"
	"switchboard/config"
	"switchboard/gateway/callprovider"
	"switchboard/routing"
)

// channel is one configured channel, ready to use: its derivation rules,
// its sender and what identifies it in webhooks.
type channel struct {
	id       string
	platform channels.Platform
	account  string // phone_number_id, page id or Instagram account id
	cfg      *config.Channel
	rules    *routing.Rules
	sender   channels.Sender
	// call requests phone calls (derivation.call); nil when not offered.
	call *callprovider.Client
	// retired: a reload removed the channel while conversations were still
	// waiting or open on it. Webhooks no longer reach it; the sweep, the
	// agents who served it and the admin API still do, until its line and
	// open conversations are gone (reload.go).
	retired bool
}

// newChannel builds a channel's runtime from its configuration.
func newChannel(cfg *config.Config, ch *config.Channel, client *http.Client, handoffKeywords []string) (*channel, error) {
	rules := newRules(ch, handoffKeywords)
	loopRules(rules, cfg, ch)
	sc := whatsapp.SenderConfig{
		GraphURL:    ch.GraphURL,
		AccessToken: ch.AccessToken.Reveal(),
		AccountID:   ch.PlatformID(),
		HTTPClient:  client,
		RateLimit:   float64(ch.RateLimit),
	}
	if sc.GraphURL == "" {
		sc.GraphURL = cfg.Meta.GraphURL
	}
	c := &channel{id: ch.ID, platform: channels.Platform(ch.Type), account: ch.PlatformID(), cfg: ch, rules: rules, call: callprovider.New(ch.Derivation.Call)}
	switch c.platform {
	case channels.WhatsApp:
		c.sender = whatsapp.NewSender(sc)
	case channels.Messenger:
		c.sender = messenger.NewSender(sc)
	case channels.Instagram:
		c.sender = instagram.NewSender(sc)
	default:
		return nil, fmt.Errorf("channel %s: unknown type %q", ch.ID, ch.Type)
	}
	return c, nil
}

// newRules turns a channel's configuration into routing rules. config
// built the calendar and decoded the messages into routing's types.
func newRules(ch *config.Channel, handoffKeywords []string) *routing.Rules {
	d := ch.Derivation
	r := &routing.Rules{
		AfterHours:        d.AfterHours,
		Direct:            d.Direct,
		InactivityTimeout: d.InactivityTimeout,
		AckInterval:       d.AckInterval,
		HandoffKeywords:   handoffKeywords,
		YesWords:          d.YesWords,
		NoWords:           d.NoWords,
		Messages:          d.Messages,
		Call:              callOffer(d.Call),
	}
	r.Consent = ch.Consent
	r.NoAgentOnline, r.Language, r.Window = d.NoAgentOnline, ch.Language, messagingWindow
	if ch.HumanAgentTag {
		r.Window = humanAgentWindow
	}
	if ch.Hours != nil {
		r.Calendar = ch.Hours.Calendar
	}
	return r
}

// callOffer is the routing side of a channel's call option; nil for none.
func callOffer(c *config.Call) *routing.CallOffer {
	if c == nil {
		return nil
	}
	return &routing.CallOffer{
		AfterHours: c.AfterHours,
		MaxTries:   c.MaxTries,
		ThisNumber: c.ThisNumber == nil || *c.ThisNumber,
		ChatWords:  c.ChatWords,
		PhoneWords: c.PhoneWords,
		Messages:   c.Messages,
	}
}

// day is the date of t in the channel's zone (UTC without hours).
func (c *channel) day(t time.Time) string {
	if c.cfg.Hours != nil {
		t = t.In(c.cfg.Hours.Calendar.Location())
	} else {
		t = t.UTC()
	}
	return t.Format(time.DateOnly)
}
