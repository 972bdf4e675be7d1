package routing

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"switchboard/channels"
)

// Closing the loop: a waiting user leaves the line, a user who writes soon
// after an agent closed goes back to that agent, the satisfaction question
// after an agent closes, and the erasure a user asks for.

// Choice ids of the loop's buttons; a tap comes back as the event's Payload.
const (
	ChoiceLeaveLine = "gw:line:leave"
	ChoiceEraseYes  = "gw:erase:yes"
	ChoiceEraseNo   = "gw:erase:no"
	// choiceCSAT starts a satisfaction choice's id; its 1-based position follows.
	choiceCSAT = "gw:csat:"
)

// CSAT is a channel's satisfaction question, asked after an agent closes.
type CSAT struct {
	Question string
	// Choices are the answers' titles, worst to best; an answer is recorded
	// as its 1-based position.
	Choices []string
	// Button opens the choices where a platform lists them (WhatsApp,
	// beyond 3 choices).
	Button string
}

// LoopState is what closing the loop keeps on a conversation.
type LoopState struct {
	// ConsentShown is when the consent notice was shown.
	ConsentShown time.Time `json:"consent_shown,omitzero"`
	// ClosedAt is when an agent (LastAgent) closed the conversation; zero
	// after any other end, and once another agent session begins.
	ClosedAt time.Time `json:"closed_at,omitzero"`
	// CSATSession is the agent session the satisfaction question is about,
	// while it waits for an answer; CSATAgent its agent.
	CSATSession string `json:"csat_session,omitempty"`
	CSATAgent   string `json:"csat_agent,omitempty"`
	// EraseAsked: the user asked for erasure and was asked to confirm.
	EraseAsked bool `json:"erase_asked,omitempty"`
}

// loopMessage handles a user message the loop's rules take: an erasure
// request or its confirmation, a satisfaction answer, leaving the line,
// and a return to the agent who closed the conversation. It reports
// whether it handled the message; when not, the message goes on as usual
// (a lapsed question included).
func (d *decision) loopMessage(ev *channels.Event) bool {
	r, l := d.rules, &d.c.Loop
	if l.EraseAsked {
		l.EraseAsked = false
		switch r.answer(ev, r.eraseChoices()) {
		case ChoiceEraseYes:
			d.outcomes = append(d.outcomes, Effect{Kind: EffectErase})
			return true
		case ChoiceEraseNo:
			return true
		}
	}
	if len(r.EraseKeywords) > 0 && ev.Kind == channels.KindText {
		if _, ok := MatchKeyword(ev.Text, r.EraseKeywords); ok {
			l.EraseAsked = true
			d.send(BotMessage{Text: r.Messages.EraseConfirm, Choices: r.eraseChoices()}, AuthorSystem)
			return true
		}
	}
	if l.CSATSession != "" {
		session, agent := l.CSATSession, l.CSATAgent
		l.CSATSession, l.CSATAgent = "", ""
		if score := r.csatAnswer(ev); score > 0 {
			d.say(r.Messages.ThanksCSAT)
			d.outcomes = append(d.outcomes, Effect{Kind: EffectCSAT, Session: &Session{ID: session, Kind: SessionAgent, Agent: agent}, Score: score})
			return true
		}
	}
	switch {
	case d.c.State == StateWaiting && r.leavesLine(ev):
		d.leaveLine()
		return true
	case d.c.State == StateEnded && d.withinReopen():
		if d.agentFree {
			d.reopen(d.c.LastAgent)
			d.notify(NoticeMessage)
		} else {
			d.c.PreferredAgent = d.c.LastAgent
			d.transfer(r.Messages.Transferred)
		}
		return true
	}
	return false
}

// withinReopen: an agent closed the conversation less than
// ReopenAfterClose ago.
func (d *decision) withinReopen() bool {
	l := d.c.Loop
	return d.rules.ReopenAfterClose > 0 && !l.ClosedAt.IsZero() && d.c.LastAgent != "" &&
		d.now.Sub(l.ClosedAt) < d.rules.ReopenAfterClose
}

// leaveLine takes the user out of the line, back to the bot. The waiting
// period is recorded as a session that ended "left".
func (d *decision) leaveLine() {
	d.say(d.rules.Messages.LeftLine)
	wait := &Session{ID: fmt.Sprintf("%s-w%d", d.c.ID, d.c.Sessions), Kind: SessionWaiting, Start: d.c.WaitingSince}
	d.ends = append(d.ends, Effect{Kind: EffectEndSession, Session: wait, Resolution: ResolutionLeft, At: d.now})
	d.line = append(d.line, Effect{Kind: EffectLeaveLine})
	d.c.State = StateBot
	d.c.Transferred = false
	d.c.WaitingSince = time.Time{}
	d.c.AvailableNotified = false
	d.c.LastAck = time.Time{}
	d.c.PreferredAgent, d.c.ReleasedBy = "", ""
	if d.c.Session == nil {
		d.openSession(SessionBot, "")
	}
	d.notify(NoticeEnded)
	d.outcome(OutcomeLeftLine, time.Time{})
}

// agentMessage notes the agent's activity and the session's first reply.
func (d *decision) agentMessage() {
	d.c.LastActivity = d.now
	if s := d.c.Session; s != nil && s.Kind == SessionAgent && s.FirstReply.IsZero() {
		s.FirstReply = d.now
		d.outcome(OutcomeFirstResponse, s.Start)
	}
}

// afterClose remembers who closed and when, and asks the satisfaction
// question about the agent session s when the channel has one.
func (d *decision) afterClose(s *Session) {
	d.c.Loop.ClosedAt = d.now
	q := d.rules.CSAT
	if q == nil || s == nil || s.Kind != SessionAgent {
		return
	}
	d.c.Loop.CSATSession, d.c.Loop.CSATAgent = s.ID, s.Agent
	d.send(BotMessage{Text: q.Question, Choices: q.choices(), ListButton: q.Button}, AuthorSystem)
}

// clearLoop forgets a close and its question (another end, another agent
// session); the consent's showing is kept.
func (d *decision) clearLoop() {
	d.c.Loop = LoopState{ConsentShown: d.c.Loop.ConsentShown}
}

// sayInLine tells a user who joined the line so, with the choice to go
// back to the assistant where the channel lets users leave the line.
func (d *decision) sayInLine(text string) {
	m := d.rules.Messages
	if text == "" || len(d.rules.CancelKeywords) == 0 || m.BackToBot == "" {
		d.say(text)
		return
	}
	d.send(BotMessage{Text: text, Choices: []channels.Choice{{ID: ChoiceLeaveLine, Title: m.BackToBot}}}, AuthorSystem)
}

// leavesLine: the "back to the assistant" choice, or a cancel keyword.
func (r *Rules) leavesLine(ev *channels.Event) bool {
	if ev.Payload == ChoiceLeaveLine {
		return true
	}
	if ev.Kind != channels.KindText {
		return false
	}
	_, ok := MatchKeyword(ev.Text, r.CancelKeywords)
	return ok
}

func (q *CSAT) choices() []channels.Choice {
	out := make([]channels.Choice, len(q.Choices))
	for i, title := range q.Choices {
		out[i] = channels.Choice{ID: choiceCSAT + strconv.Itoa(i+1), Title: title}
	}
	return out
}

// csatAnswer returns the answer's 1-based position, 0 for anything else:
// a tapped choice, its number or its title typed.
func (r *Rules) csatAnswer(ev *channels.Event) int {
	if r.CSAT == nil {
		return 0
	}
	choices := r.CSAT.choices()
	id := r.answer(ev, choices)
	if n, err := strconv.Atoi(strings.TrimPrefix(id, choiceCSAT)); err == nil && strings.HasPrefix(id, choiceCSAT) && n >= 1 && n <= len(choices) {
		return n
	}
	return 0
}

func (r *Rules) eraseChoices() []channels.Choice {
	return []channels.Choice{{ID: ChoiceEraseYes, Title: r.Messages.EraseYes}, {ID: ChoiceEraseNo, Title: r.Messages.EraseNo}}
}

// answer returns the id of the choice a reply picks ("" for none): a
// tapped choice, its number or its title typed.
func (r *Rules) answer(ev *channels.Event, choices []channels.Choice) string {
	for _, c := range choices {
		if ev.Payload != "" && ev.Payload == c.ID {
			return c.ID
		}
	}
	if ev.Kind != channels.KindText {
		return ""
	}
	if c, ok := ParseNumberedChoice(ev.Text, choices); ok {
		return c.ID
	}
	text := Normalize(ev.Text)
	for _, c := range choices {
		if text != "" && text == Normalize(c.Title) {
			return c.ID
		}
	}
	return ""
}
