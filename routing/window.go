package routing

import (
	"errors"
	"regexp"
	"strings"
	"time"
)

// The messaging window and what keeps a user from being lost to it: the
// honest offer (offer_beyond_window with "{opens}"), the missed list of
// users who expired while waiting, re-engagement by template, an agent
// taking over a bot conversation, and the presence-aware derivation
// (no_agent_online).

// NoAgentOnline is what a referral inside business hours does when no agent
// of the channel is online.
type NoAgentOnline string

// No-agent-online modes.
const (
	NoAgentWait   NoAgentOnline = "wait"   // join the line as if an agent were online
	NoAgentAsk    NoAgentOnline = "ask"    // make the offer to wait
	NoAgentReject NoAgentOnline = "reject" // the off-hours message; the bot continues
)

// ErrNotTakeable: a takeover of a conversation the bot does not hold.
var ErrNotTakeable = errors.New("conversation is not held by the bot")

// Placeholders are the names messages may use between braces.
var Placeholders = []string{"user.name", "agent", "position", "opens"}

var placeholderPattern = regexp.MustCompile(`\{([A-Za-z0-9_.]+)\}`)

// UnknownPlaceholder returns the first "{name}" in text that is not one of
// Placeholders, and whether there is one.
func UnknownPlaceholder(text string) (string, bool) {
	for _, m := range placeholderPattern.FindAllStringSubmatch(text, -1) {
		known := false
		for _, p := range Placeholders {
			known = known || m[1] == p
		}
		if !known {
			return m[0], true
		}
	}
	return "", false
}

// dayNames are the week's days, Sunday first, in each supported language.
var dayNames = map[string][7]string{
	"en": {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
	"es": {"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
	"pt": {"domingo", "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado"},
	"fr": {"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
}

// Languages are the values Rules.Language may take.
var Languages = []string{"en", "es", "pt", "fr"}

// FormatOpening writes an opening as "{opens}" shows it, in loc and in
// language lang (en when unknown): the day's name and the time ("Monday
// 09:00"), with the date too when the opening is 6 days or more after now
// ("Monday 2026-12-28 09:00").
func FormatOpening(opening, now time.Time, loc *time.Location, lang string) string {
	if loc == nil {
		loc = time.UTC
	}
	names, ok := dayNames[lang]
	if !ok {
		names = dayNames["en"]
	}
	t := opening.In(loc)
	if opening.Sub(now) >= 6*24*time.Hour {
		return names[t.Weekday()] + " " + t.Format("2006-01-02 15:04")
	}
	return names[t.Weekday()] + " " + t.Format("15:04")
}

// WindowEnd is when the business can no longer write freely to the user of
// c: Window (24 h by default) after the user's last message; zero when the
// user never wrote.
func (r *Rules) WindowEnd(c Conversation) time.Time {
	if c.LastUserMessage.IsZero() {
		return time.Time{}
	}
	w := r.Window
	if w == 0 {
		w = ReopenWindow
	}
	return c.LastUserMessage.Add(w)
}

// WindowPending reports whether an agent's template waits for the user's
// answer, which opens the window again.
func WindowPending(c Conversation) bool {
	return !c.TemplateAt.IsZero() && c.TemplateAt.After(c.LastUserMessage)
}

// canTemplate: a template starts a conversation, re-engages an ended one,
// takes a waiting one, or goes out on one the agent holds.
func canTemplate(c Conversation, agent string) error {
	switch {
	case agent == "":
		return ErrInvalidInput
	case c.State == "", c.State == StateEnded, c.State == StateWaiting:
		return nil
	case c.State == StateAssigned && c.AssignedTo != agent:
		return ErrNotYours
	case c.State == StateAssigned:
		return nil
	}
	return ErrNotEnded
}

func canTakeover(c Conversation, agent string) error {
	switch {
	case agent == "":
		return ErrInvalidInput
	case c.State != StateBot && c.State != StateAsking:
		return ErrNotTakeable
	}
	return nil
}

// template records an agent's template (sent true: the window stays
// pending until the user answers) or the agent's reply to a missed
// conversation within the window (sent false): the conversation is the
// agent's.
func (d *decision) template(agent string, sent bool) {
	d.unmiss()
	if sent {
		d.c.TemplateAt = d.now
	}
	d.c.LastActivity = d.now
	if d.c.State == StateAssigned {
		return
	}
	if d.c.State == StateWaiting {
		d.outcome(OutcomeClaimed, d.c.WaitingSince)
		d.line = append(d.line, Effect{Kind: EffectLeaveLine})
	}
	d.endSession(ResolutionClaimed)
	d.assign(agent)
}

// takeover gives a bot conversation to an agent; the bot session ends
// taken_over and the user is told the agent's name.
func (d *decision) takeover(agent, name string) {
	d.c.LastActivity = d.now
	d.endSession(ResolutionTakenOver)
	d.assign(agent)
	if name == "" {
		name = agent
	}
	d.agentName = name
	d.say(d.rules.Messages.Assigned)
}

// assign opens the agent's session on a conversation that was not waiting.
func (d *decision) assign(agent string) {
	d.openSession(SessionAgent, agent)
	d.c.State = StateAssigned
	d.c.AssignedTo, d.c.LastAgent = agent, agent
	d.c.Transferred = true
	d.c.WaitingSince = time.Time{}
	d.c.AvailableNotified = false
	d.c.LastAck = time.Time{}
	d.c.PreferredAgent, d.c.ReleasedBy = "", ""
	d.notify(NoticeClaimed)
}

// miss puts a conversation that expired while waiting in the missed list.
func (d *decision) miss() {
	d.c.MissedAt = d.now
	d.line = append(d.line, Effect{Kind: EffectMissed, At: d.now})
	d.outcome(OutcomeMissed, time.Time{})
}

// unmiss takes a conversation out of the missed list: the user wrote again
// or an agent re-engaged it.
func (d *decision) unmiss() {
	if d.c.MissedAt.IsZero() {
		return
	}
	d.c.MissedAt = time.Time{}
	d.line = append(d.line, Effect{Kind: EffectUnmissed})
}

// offer asks the user whether to wait; when the line opens only after the
// user's window ends it says when (offer_beyond_window).
func (d *decision) offer() {
	m := d.rules.Messages
	text := m.Offer
	if cal := d.rules.Calendar; cal != nil && m.OfferBeyondWindow != "" && !cal.Open(d.now) {
		opens, end := cal.NextOpen(d.now), d.rules.WindowEnd(d.c)
		if !opens.IsZero() && !end.IsZero() && opens.After(end) {
			text = m.OfferBeyondWindow
		}
	}
	d.c.State = StateAsking
	d.send(BotMessage{Text: d.render(text), Choices: d.rules.offerChoices()}, AuthorSystem)
}

// render fills the placeholders routing knows: {user.name}, {agent} (the
// agent this decision assigned) and {opens} (the next opening; "now" while
// open). {position} is left for the engine, which knows the line, and so is
// any other brace. It scans the text once instead of building a
// strings.Replacer, whose set-up was 4 % of a claim's CPU (BENCHMARKS.md).
func (d *decision) render(text string) string {
	i := strings.IndexByte(text, '{')
	if i < 0 {
		return text
	}
	var b strings.Builder
	b.Grow(len(text) + len(d.c.User.Name) + len(d.agentName))
	for ; i >= 0; i = strings.IndexByte(text, '{') {
		b.WriteString(text[:i])
		text = text[i:]
		if value, n, ok := d.placeholder(text); ok {
			b.WriteString(value)
			text = text[n:]
			continue
		}
		b.WriteByte('{')
		text = text[1:]
	}
	b.WriteString(text)
	return b.String()
}

// placeholder reads the placeholder s starts with: its value and length,
// or false when s starts with none render fills.
func (d *decision) placeholder(s string) (value string, n int, ok bool) {
	switch {
	case strings.HasPrefix(s, "{user.name}"):
		return d.c.User.Name, len("{user.name}"), true
	case strings.HasPrefix(s, "{agent}"):
		return d.agentName, len("{agent}"), true
	case strings.HasPrefix(s, "{opens}") && d.rules.Calendar != nil:
		cal := d.rules.Calendar
		return FormatOpening(cal.NextOpen(d.now), d.now, cal.Location(), d.rules.Language), len("{opens}"), true
	}
	return "", 0, false
}
