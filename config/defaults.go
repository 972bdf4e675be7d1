package config

import "time"

// Defaults of the configuration, applied where the file leaves a field zero.
const (
	defaultListen            = ":8080"
	defaultShutdownTimeout   = 10 * time.Second
	defaultLogLevel          = "info"
	defaultLogFormat         = "json"
	defaultRedisPrefix       = "gw:"
	defaultRedisWaitTimeout  = time.Second
	defaultGraphURL          = "https://graph.facebook.com/v24.0"
	defaultRateLimit         = 80
	defaultSendTimeout       = 10 * time.Second
	defaultWorkers           = 20
	defaultSweepInterval     = time.Minute
	defaultDedupeTTL         = 48 * time.Hour
	defaultRetryBase         = time.Second
	defaultSendAttempts      = 10
	defaultMaxBacklog        = 50_000
	defaultMaxConversations  = 5
	defaultBotTimeout        = 5 * time.Second
	defaultInactivityTimeout = 24 * time.Hour
)

var (
	defaultHandoffKeywords = []string{"agent", "human"}
	// Matched ignoring case and accents, so "si" also reads "Sí".
	defaultYesWords = []string{"yes", "y", "si", "sim", "oui", "ok", "okay", "wait"}
	defaultNoWords  = []string{"no", "n", "nao", "non", "nope"}
)

// defaultMessages are the default texts sent to users, in English.
var defaultMessages = Messages{
	Offer:          "Our team is offline right now. Do you want to wait for an agent?",
	Yes:            "Wait",
	No:             "No, thanks",
	Attention:      "You are in line. An agent will answer as soon as one is available.",
	Declined:       "All right, I will keep helping you here.",
	Transferred:    "Connecting you with an agent.",
	AlreadyWaiting: "You are already in line; your place is kept.",
	AgentAvailable: "An agent is available now and will answer shortly.",
	OffHours:       "Our team is offline right now; I will keep helping you here.",
	KeptForAgent:   "Your message was kept; the agent will see it.",
	Assigned:       "You are now talking with {agent}.",
	Closed:         "This conversation was closed. Write again any time.",
	HandedBack:     "You are back with the virtual assistant.",
	LeftLine:       "You left the line. I will keep helping you here.",
	BackToBot:      "Back to the assistant",
	ThanksCSAT:     "Thank you for your feedback!",
	EraseConfirm:   "Do you want us to delete everything we hold about you?",
	EraseYes:       "Delete",
	EraseNo:        "Keep",
	Erased:         "Done: we deleted what we held about you.",
	// Used only when the next opening is past the user's messaging window.
	OfferBeyondWindow: "Our team is back {opens}. If you wait, we will write to you then.",
}

const (
	defaultGreeting = "Hi! I am the virtual assistant. Type 'agent' to talk to a person."
	defaultFallback = "Sorry, I did not understand that. Type 'agent' to talk to a person."
)

// orDefault sets *v to def when *v is the zero value.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// orDefaultList sets *v to a copy of def when *v is empty.
func orDefaultList(v *[]string, def []string) {
	if len(*v) == 0 {
		*v = append([]string(nil), def...)
	}
}

// applyDefaults fills every zero field with its default. Channels inherit
// meta's Graph URL and rate limit.
func (c *Config) applyDefaults() {
	orDefault(&c.Listen, defaultListen)
	c.inboxDefaults()
	orDefault(&c.ShutdownTimeout, defaultShutdownTimeout)
	orDefault(&c.Log.Level, defaultLogLevel)
	orDefault(&c.Log.Format, defaultLogFormat)
	orDefault(&c.Redis.Prefix, defaultRedisPrefix)
	orDefault(&c.Redis.WaitTimeout, defaultRedisWaitTimeout)
	orDefault(&c.Meta.GraphURL, defaultGraphURL)
	orDefault(&c.Meta.RateLimit, defaultRateLimit)
	orDefault(&c.Meta.SendTimeout, defaultSendTimeout)
	orDefault(&c.Engine.Workers, defaultWorkers)
	orDefault(&c.Engine.SweepInterval, defaultSweepInterval)
	orDefault(&c.Engine.DedupeTTL, defaultDedupeTTL)
	orDefault(&c.Engine.RetryBase, defaultRetryBase)
	orDefault(&c.Engine.SendAttempts, defaultSendAttempts)
	orDefault(&c.Engine.MaxBacklog, defaultMaxBacklog)

	c.applyPeopleDefaults()
	for i := range c.Agents {
		a := &c.Agents[i]
		orDefault(&a.Name, a.ID)
		orDefault(&a.MaxConversations, defaultMaxConversations)
	}

	b := &c.Bot
	orDefault(&b.Type, BotKeywords)
	orDefault(&b.Timeout, defaultBotTimeout)
	orDefaultList(&b.HandoffKeywords, defaultHandoffKeywords)
	orDefault(&b.Greeting, defaultGreeting)
	orDefault(&b.Fallback, defaultFallback)

	for i := range c.Channels {
		ch := &c.Channels[i]
		orDefault(&ch.GraphURL, c.Meta.GraphURL)
		orDefault(&ch.RateLimit, c.Meta.RateLimit)
		d := &ch.Derivation
		orDefault(&d.Target, TargetLive)
		// ask is the design's central rule, but only where it is allowed:
		// elsewhere an explicit ask is reported, a default one is not.
		if d.Target == TargetLive && ch.Type.asynchronous() {
			orDefault(&d.AfterHours, AfterHoursAsk)
		}
		orDefault(&d.AfterHours, AfterHoursReject)
		orDefault(&d.InactivityTimeout, defaultInactivityTimeout)
		orDefaultList(&d.YesWords, defaultYesWords)
		orDefaultList(&d.NoWords, defaultNoWords)
		messagesDefaults(&d.Messages)
		if ch.Notify != nil {
			ch.Notify.applyDefaults()
		}
		ch.applyReachDefaults()
		ch.applyLoopDefaults()
		ch.applyWindowDefaults()
	}
}

func messagesDefaults(m *Messages) {
	orDefault(&m.Offer, defaultMessages.Offer)
	orDefault(&m.Yes, defaultMessages.Yes)
	orDefault(&m.No, defaultMessages.No)
	orDefault(&m.Attention, defaultMessages.Attention)
	orDefault(&m.Declined, defaultMessages.Declined)
	orDefault(&m.Transferred, defaultMessages.Transferred)
	orDefault(&m.AlreadyWaiting, defaultMessages.AlreadyWaiting)
	orDefault(&m.AgentAvailable, defaultMessages.AgentAvailable)
	orDefault(&m.OffHours, defaultMessages.OffHours)
	orDefault(&m.KeptForAgent, defaultMessages.KeptForAgent)
	orDefault(&m.Assigned, defaultMessages.Assigned)
	orDefault(&m.Closed, defaultMessages.Closed)
	orDefault(&m.HandedBack, defaultMessages.HandedBack)
	orDefault(&m.LeftLine, defaultMessages.LeftLine)
	orDefault(&m.BackToBot, defaultMessages.BackToBot)
	orDefault(&m.ThanksCSAT, defaultMessages.ThanksCSAT)
	orDefault(&m.EraseConfirm, defaultMessages.EraseConfirm)
	orDefault(&m.EraseYes, defaultMessages.EraseYes)
	orDefault(&m.EraseNo, defaultMessages.EraseNo)
	orDefault(&m.Erased, defaultMessages.Erased)
	orDefault(&m.OfferBeyondWindow, defaultMessages.OfferBeyondWindow)
}
