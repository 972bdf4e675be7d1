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
	// deadlines are empty (reload.go).
	retired bool
}

// newChannel builds a channel's runtime from its configuration.
func newChannel(cfg *config.Config, ch *config.Channel, client *http.Client, handoffKeywords []string) (*channel, error) {
	rules, err := newRules(ch, handoffKeywords)
	if err != nil {
		return nil, fmt.Errorf("channel %s: %w", ch.ID, err)
	}
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

// newRules turns a channel's configuration into routing rules.
func newRules(ch *config.Channel, handoffKeywords []string) (*routing.Rules, error) {
	d := ch.Derivation
	m := d.Messages
	r := &routing.Rules{
		AfterHours:        routing.AfterHours(d.AfterHours),
		Direct:            d.Direct,
		InactivityTimeout: d.InactivityTimeout,
		AckInterval:       d.AckInterval,
		HandoffKeywords:   handoffKeywords,
		YesWords:          d.YesWords,
		NoWords:           d.NoWords,
		Messages: routing.Messages{
			Offer: m.Offer, Yes: m.Yes, No: m.No, Attention: m.Attention, Declined: m.Declined,
			Transferred: m.Transferred, AlreadyWaiting: m.AlreadyWaiting, AgentAvailable: m.AgentAvailable,
			OffHours: m.OffHours, KeptForAgent: m.KeptForAgent, Assigned: m.Assigned, Closed: m.Closed,
			HandedBack: m.HandedBack,
		},
	}
	r.Call = callOffer(ch.Derivation.Call)
	r.Consent = ch.Consent
	if ch.Hours != nil {
		cal, err := Calendar(ch.Hours)
		if err != nil {
			return nil, err
		}
		r.Calendar = cal
	}
	return r, nil
}

// Calendar builds the routing calendar of a channel's business hours: the
// one the engine routes with.
func Calendar(h *config.Hours) (*routing.Calendar, error) {
	return routing.NewCalendar(hoursSpec(h))
}

func hoursSpec(h *config.Hours) routing.HoursSpec {
	spec := routing.HoursSpec{Timezone: h.Timezone, Weekly: map[time.Weekday][]string{}, Special: map[string][]string{}}
	for d := time.Sunday; d <= time.Saturday; d++ {
		for _, r := range h.Weekly.On(d) {
			spec.Weekly[d] = append(spec.Weekly[d], r.String())
		}
	}
	for _, d := range h.Closed {
		spec.Closed = append(spec.Closed, d.String())
	}
	for d, ranges := range h.Special {
		list := []string{}
		for _, r := range ranges {
			list = append(list, r.String())
		}
		spec.Special[d.String()] = list
	}
	return spec
}

// callOffer is the routing side of a channel's call option; nil for none.
func callOffer(c *config.Call) *routing.CallOffer {
	if c == nil {
		return nil
	}
	m := c.Messages
	return &routing.CallOffer{
		AfterHours: c.AfterHours,
		MaxTries:   c.MaxTries,
		ThisNumber: c.ThisNumber == nil || *c.ThisNumber,
		ChatWords:  c.ChatWords,
		PhoneWords: c.PhoneWords,
		Messages: routing.CallMessages{
			Choose: m.Choose, Chat: m.Chat, Phone: m.Phone, AskNumber: m.AskNumber, UseThisNumber: m.UseThisNumber,
			Confirmed: m.Confirmed, Apology: m.Apology, OfferChat: m.OfferChat,
		},
	}
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
