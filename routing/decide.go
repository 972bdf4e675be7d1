package routing

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"switchboard/channels"
)

// Why an input cannot apply to a conversation (CanApply). The agent API
// answers 409 Conflict to ErrNotWaiting, ErrNotAssigned, ErrNotYours and
// ErrNotEnded; a reopen after the messaging window is channels.ErrWindowClosed.
var (
	ErrInvalidInput = errors.New("input lacks what its kind needs")
	ErrNoBotSession = errors.New("the bot does not hold the conversation")
	ErrNotWaiting   = errors.New("conversation is not waiting")
	ErrNotAssigned  = errors.New("conversation is not assigned")
	ErrNotYours     = errors.New("conversation is held by another agent")
	ErrNotEnded     = errors.New("conversation is not ended")
)

const (
	// DefaultInactivityTimeout applies when Rules.InactivityTimeout is 0.
	DefaultInactivityTimeout = 24 * time.Hour
	// ReopenWindow is how long after the user's last message an agent may
	// reopen an ended conversation: the platforms' messaging window.
	ReopenWindow = 24 * time.Hour
)

// CanApply reports whether in can change c at now, or why not: ErrInvalidInput
// (a field the kind needs is missing, or the event is not a user message),
// ErrNoBotSession (a late bot reply), ErrNotWaiting (a claim),
// ErrNotAssigned or ErrNotYours (another agent command), ErrNotEnded,
// ErrNotYours or channels.ErrWindowClosed (a reopen), and for a transfer
// or an assignment ErrNotSupervisor, ErrAlreadyHolds, ErrNotServing or
// ErrAtCapacity (transfer.go). Inputs that are
// broadcast or swept (InAgentAvailable, InExpire) always apply, possibly
// as no-ops.
func (r *Rules) CanApply(c Conversation, in Input, now time.Time) error {
	switch in.Kind {
	case InUserMessage:
		if in.Event == nil || !in.Event.Kind.IsUserMessage() {
			return ErrInvalidInput
		}
	case InBotReply:
		if in.Bot == nil {
			return ErrInvalidInput
		}
		if c.Session == nil || c.Session.Kind != SessionBot {
			return ErrNoBotSession
		}
	case InAgentClaim:
		if in.Agent == "" {
			return ErrInvalidInput
		}
		if c.State != StateWaiting {
			return ErrNotWaiting
		}
	case InAgentClose, InAgentRelease:
		if in.Supervisor && in.Agent != "" && c.State == StateAssigned {
			return nil // a supervisor acts on any conversation of its channels
		}
		return heldBy(c, in.Agent)
	case InAgentMessage, InAgentHandback:
		return heldBy(c, in.Agent)
	case InAgentTransfer, InAgentAssign:
		return canTransfer(c, in, in.Kind == InAgentAssign)
	case InAgentReopen:
		return canReopen(c, in.Agent, now)
	case InCallResult:
		return r.canApplyCall(c, in.Call)
	case InAgentTemplate, InAgentReengage:
		return canTemplate(c, in.Agent)
	case InAgentTakeover:
		return canTakeover(c, in.Agent)
	case InAgentAvailable, InExpire:
	default:
		return ErrInvalidInput
	}
	return nil
}

func heldBy(c Conversation, agent string) error {
	switch {
	case agent == "":
		return ErrInvalidInput
	case c.State != StateAssigned:
		return ErrNotAssigned
	case c.AssignedTo != agent:
		return ErrNotYours
	}
	return nil
}

func canReopen(c Conversation, agent string, now time.Time) error {
	switch {
	case agent == "":
		return ErrInvalidInput
	case c.State != StateEnded && (c.State != StateBot || c.Loop.ClosedAt.IsZero()):
		// After an agent closed it, the user may have written first.
		return ErrNotEnded
	case c.LastAgent != agent:
		return ErrNotYours
	case c.LastUserMessage.IsZero() || now.Sub(c.LastUserMessage) >= ReopenWindow:
		return channels.ErrWindowClosed
	}
	return nil
}

// Deadline returns when c expires for inactivity, the zero time when it
// cannot (ended, or never started).
func (r *Rules) Deadline(c Conversation) time.Time {
	if c.State == "" || c.State == StateEnded {
		return time.Time{}
	}
	return c.LastActivity.Add(r.inactivityTimeout())
}

// IdleCutoff is the last activity at or before which an open conversation
// has expired at now.
func (r *Rules) IdleCutoff(now time.Time) time.Time {
	return now.Add(-r.inactivityTimeout())
}

func (r *Rules) inactivityTimeout() time.Duration {
	if r.InactivityTimeout == 0 {
		return DefaultInactivityTimeout
	}
	return r.InactivityTimeout
}

// Decide applies one input to c at now and returns the new conversation and
// the effects the engine must carry out, in a fixed order: what is said to
// the user or the bot (Send, AskBot, in the order said), then ended
// sessions, then waiting-line changes, then notices, then outcomes. An
// input CanApply refuses leaves c unchanged with no effects.
//
// Decide is pure: it reads no clock and never writes through c's pointers.
func (r *Rules) Decide(c Conversation, in Input, now time.Time) (Conversation, []Effect) {
	if r.CanApply(c, in, now) != nil {
		return c, nil
	}
	d := &decision{rules: r, c: c, now: now, online: in.AgentsOnline}
	if c.Session != nil {
		s := *c.Session
		d.c.Session = &s
	}
	switch in.Kind {
	case InUserMessage:
		d.agentFree = in.AgentFree
		d.userMessage(in.Event)
	case InBotReply:
		d.botReply(in.Bot)
	case InAgentClaim:
		d.claim(in.Agent, in.AgentName)
	case InAgentMessage:
		d.agentMessage()
	case InAgentClose:
		d.close()
	case InAgentRelease:
		d.release()
	case InAgentHandback:
		d.handback()
	case InAgentReopen:
		d.reopen(in.Agent)
	case InAgentAvailable:
		d.agentAvailable()
	case InExpire:
		d.expire()
	case InCallResult:
		d.callResult(in.Call)
	case InAgentTemplate:
		d.template(in.Agent, true)
	case InAgentReengage:
		d.template(in.Agent, false)
	case InAgentTakeover:
		d.takeover(in.Agent, in.AgentName)
	case InAgentTransfer, InAgentAssign:
		d.handOver(in.Target)
	}
	return d.c, slices.Concat(d.said, d.ends, d.line, d.notices, d.outcomes)
}

// decision accumulates one Decide call's new state and effects.
type decision struct {
	rules *Rules
	c     Conversation
	now   time.Time
	// botSessionOpened: this decision opened the bot session.
	botSessionOpened bool
	// agentFree: Input.AgentFree.
	agentFree bool
	// online: an agent of the channel is online (Input.AgentsOnline).
	online bool
	// agentName fills "{agent}" in what this decision says.
	agentName string

	said, ends, line, notices, outcomes []Effect
}

func (d *decision) userMessage(ev *channels.Event) {
	d.touchUser(ev.Timestamp)
	d.unmiss()
	if d.loopMessage(ev) {
		return
	}
	switch d.c.State {
	case "", StateEnded:
		if d.c.State == "" && d.rules.Consent != "" {
			d.say(d.rules.Consent) // before anything else a new conversation gets
			d.c.Loop.ConsentShown = d.now
			d.outcome(OutcomeConsentShown, time.Time{})
		}
		d.openSession(SessionBot, "")
		d.c.State = StateBot
		d.toBot(ev)
	case StateBot:
		d.toBot(ev)
	case StateAsking:
		d.answerOffer(ev)
	case StateChoosing:
		d.answerReach(ev)
	case StatePhone:
		d.answerNumber(ev)
	case StateCalling:
		// The bot keeps the user company; a referral waits for the call's answer.
		d.said = append(d.said, Effect{Kind: EffectAskBot, Event: ev})
	case StateWaiting:
		d.notify(NoticeMessage)
		if d.rules.Direct {
			d.keepForAgent()
			return
		}
		// The user chats with the bot while waiting: a second bot session.
		if d.c.Session == nil {
			d.openSession(SessionBot, "")
		}
		d.toBot(ev)
	case StateAssigned:
		d.notify(NoticeMessage)
	}
}

// touchUser records a user message at its event time (now when the
// platform gave none); the times never move back.
func (d *decision) touchUser(at time.Time) {
	if at.IsZero() {
		at = d.now
	}
	if at.After(d.c.LastUserMessage) {
		d.c.LastUserMessage = at
	}
	if at.After(d.c.LastActivity) {
		d.c.LastActivity = at
	}
}

// toBot refers the user when the message asks for a human, else hands it
// to the bot.
func (d *decision) toBot(ev *channels.Event) {
	if d.rules.isReferral(ev) {
		d.refer()
		return
	}
	d.said = append(d.said, Effect{Kind: EffectAskBot, Event: ev, NewSession: d.botSessionOpened})
}

func (d *decision) botReply(reply *BotReply) {
	for _, m := range reply.Messages {
		d.send(m, AuthorBot)
	}
	if reply.Handoff {
		if reply.Agent != "" {
			d.c.PreferredAgent = reply.Agent
		}
		d.refer()
	}
}

// refer applies the derivation rules to a referral (keyword, handoff
// button or the bot's handoff): where the channel offers a call, the user
// first chooses between chat and phone.
func (d *decision) refer() {
	switch {
	case d.c.State == StateWaiting:
		d.say(d.rules.Messages.AlreadyWaiting) // the place in line is kept
		d.outcome(OutcomeAlreadyWaiting, time.Time{})
	case d.c.State == StateCalling:
		// A call is being requested: its answer decides what comes next.
	case d.callOffered():
		d.offerCall(false, d.rules.Call.Messages.Choose)
	default:
		d.referToChat()
	}
}

// referToChat refers the user to the chat line: transferred inside
// business hours, else offered to wait or told the team is offline.
func (d *decision) referToChat() {
	m := d.rules.Messages
	open := d.rules.Calendar == nil || d.rules.Calendar.Open(d.now)
	switch {
	case open && (d.online || d.rules.NoAgentOnline == "" || d.rules.NoAgentOnline == NoAgentWait):
		d.transfer(m.Transferred)
	case open && d.rules.NoAgentOnline == NoAgentReject:
		d.say(m.OffHours)
	case !open && d.rules.AfterHours == AfterHoursReject:
		d.say(m.OffHours)
	default:
		d.offer()
	}
}

// answerOffer handles the reply to the offer to wait. A reply that is
// neither yes nor no lapses the offer and is handled as in the bot state
// (so a handoff keyword makes a new offer).
func (d *decision) answerOffer(ev *channels.Event) {
	switch d.rules.offerAnswer(ev) {
	case ChoiceWait:
		d.transfer(d.rules.Messages.Attention)
	case ChoiceNoWait:
		d.say(d.rules.Messages.Declined)
		d.c.State = StateBot
		if d.c.Session != nil && !d.c.Session.Declined {
			d.c.Session.Declined = true
			d.outcome(OutcomeDeclined, time.Time{})
		}
	default:
		d.c.State = StateBot
		d.toBot(ev)
	}
}

// transfer puts the user in the waiting line, closing the bot session.
func (d *decision) transfer(message string) {
	d.sayInLine(message)
	d.endSession(ResolutionTransferred)
	d.c.Transferred = true
	d.c.WaitingSince = d.now
	d.enterLine(d.now)
	d.outcome(OutcomeTransferred, time.Time{})
}

// enterLine starts a waiting period at the given place in line.
func (d *decision) enterLine(since time.Time) {
	d.c.State = StateWaiting
	d.c.AvailableNotified = false
	d.c.LastAck = time.Time{}
	d.line = append(d.line, Effect{Kind: EffectJoinLine, Since: since})
	d.notify(NoticeWaiting)
}

// keepForAgent acknowledges a direct-mode waiting message, at most once per
// AckInterval (once per waiting period when 0).
func (d *decision) keepForAgent() {
	text, interval := d.rules.Messages.KeptForAgent, d.rules.AckInterval
	due := d.c.LastAck.IsZero() || (interval > 0 && d.now.Sub(d.c.LastAck) >= interval)
	if text == "" || !due {
		return
	}
	d.say(text)
	d.c.LastAck = d.now
}

func (d *decision) agentAvailable() {
	if d.c.State != StateWaiting || d.c.AvailableNotified || !d.online {
		return
	}
	d.say(d.rules.Messages.AgentAvailable)
	d.c.AvailableNotified = true
}

// claim hands a waiting conversation to agent; name replaces "{agent}" in
// the Assigned message (the agent id when name is empty).
func (d *decision) claim(agent, name string) {
	if !d.c.WaitingSince.IsZero() {
		d.outcome(OutcomeClaimed, d.c.WaitingSince)
	}
	d.endSession(ResolutionClaimed)
	d.openSession(SessionAgent, agent)
	d.c.State = StateAssigned
	d.c.AssignedTo, d.c.LastAgent = agent, agent
	d.c.AvailableNotified = false
	d.c.LastAck = time.Time{}
	d.c.PreferredAgent, d.c.ReleasedBy = "", ""
	d.clearLoop()
	d.line = append(d.line, Effect{Kind: EffectLeaveLine})
	d.notify(NoticeClaimed)
	if name == "" {
		name = agent
	}
	d.agentName = name
	d.say(d.rules.Messages.Assigned)
}

func (d *decision) close() {
	d.say(d.rules.Messages.Closed)
	s := d.c.Session
	d.endSession(ResolutionClosed)
	d.end()
	d.afterClose(s)
}

// release puts the conversation back in line at its original place (now for
// a reopened conversation, which never waited).
func (d *decision) release() {
	d.endSession(ResolutionReleased)
	d.c.ReleasedBy = d.c.AssignedTo
	d.c.AssignedTo = ""
	if d.c.WaitingSince.IsZero() {
		d.c.WaitingSince = d.now
	}
	d.enterLine(d.c.WaitingSince)
}

// handback gives the conversation back to the bot; for agents it ends.
func (d *decision) handback() {
	d.say(d.rules.Messages.HandedBack)
	d.endSession(ResolutionHandedBack)
	d.c.State = StateBot
	d.c.AssignedTo = ""
	d.c.Transferred = false
	d.c.WaitingSince = time.Time{}
	d.c.PreferredAgent, d.c.ReleasedBy = "", ""
	d.clearLoop()
	d.openSession(SessionBot, "")
	d.notify(NoticeEnded)
}

func (d *decision) reopen(agent string) {
	d.endSession(ResolutionClaimed) // the bot's, when the user wrote first
	d.clearLoop()
	d.unmiss()
	d.openSession(SessionAgent, agent)
	d.c.State = StateAssigned
	d.c.AssignedTo, d.c.LastAgent = agent, agent
	d.c.Transferred = true
	d.notify(NoticeClaimed)
}

// expire ends a conversation idle past its deadline; earlier it does
// nothing (the sweep may race with new activity).
func (d *decision) expire() {
	deadline := d.rules.Deadline(d.c)
	if deadline.IsZero() || d.now.Before(deadline) {
		return
	}
	waiting := d.c.State == StateWaiting
	var waitingSince time.Time
	if waiting {
		waitingSince = d.c.WaitingSince
		d.line = append(d.line, Effect{Kind: EffectLeaveLine})
		if d.c.Session == nil {
			d.c.Session = &Session{ID: fmt.Sprintf("%s-w%d", d.c.ID, d.c.Sessions), Kind: SessionWaiting, Start: d.c.WaitingSince}
		}
	}
	d.endSession(ResolutionExpired)
	d.end()
	d.outcome(OutcomeExpired, waitingSince)
	if waiting {
		d.miss()
	}
}

// end moves to ended and clears what belongs to a transfer.
func (d *decision) end() {
	d.c.State = StateEnded
	d.c.AssignedTo = ""
	d.c.Transferred = false
	d.c.WaitingSince = time.Time{}
	d.c.AvailableNotified = false
	d.c.LastAck = time.Time{}
	d.c.PreferredAgent, d.c.ReleasedBy = "", ""
	d.c.Call = CallState{Seq: d.c.Call.Seq}
	d.clearLoop()
	d.notify(NoticeEnded)
}

func (d *decision) openSession(kind SessionKind, agent string) {
	d.c.Sessions++
	d.c.Session = &Session{
		ID:    fmt.Sprintf("%s-%d", d.c.ID, d.c.Sessions),
		Kind:  kind,
		Agent: agent,
		Start: d.now,
	}
	d.botSessionOpened = kind == SessionBot
}

// endSession records the open session's end, if one is open. A session in
// which the user declined to wait records "declined" when it expires.
func (d *decision) endSession(resolution Resolution) {
	s := d.c.Session
	if s == nil {
		return
	}
	if s.Declined && resolution == ResolutionExpired {
		resolution = ResolutionDeclined
	}
	d.ends = append(d.ends, Effect{Kind: EffectEndSession, Session: s, Resolution: resolution, At: d.now})
	d.c.Session = nil
}

// say sends a configured system message; an empty one is not sent.
func (d *decision) say(text string) {
	if text != "" {
		d.send(BotMessage{Text: d.render(text)}, AuthorSystem)
	}
}

func (d *decision) send(m BotMessage, from Author) {
	d.said = append(d.said, Effect{Kind: EffectSend, Message: &m, From: from})
}

func (d *decision) notify(n NoticeKind) {
	d.notices = append(d.notices, Effect{Kind: EffectNotify, Notice: n})
}

// outcome records what the decision amounts to; since is the start of the
// wait of OutcomeClaimed.
func (d *decision) outcome(o Outcome, since time.Time) {
	d.outcomes = append(d.outcomes, Effect{Kind: EffectOutcome, Outcome: o, Since: since})
}

// isReferral: a tapped handoff button, or a handoff keyword typed.
func (r *Rules) isReferral(ev *channels.Event) bool {
	if ev.Payload == ChoiceHandoff {
		return true
	}
	if ev.Kind != channels.KindText {
		return false
	}
	_, ok := MatchKeyword(ev.Text, r.HandoffKeywords)
	return ok
}

func (r *Rules) offerChoices() []channels.Choice {
	return []channels.Choice{{ID: ChoiceWait, Title: r.Messages.Yes}, {ID: ChoiceNoWait, Title: r.Messages.No}}
}

// offerAnswer returns ChoiceWait, ChoiceNoWait or "" (neither) for a reply
// to the offer: a tapped choice, its number or title typed, or a text that
// starts with a yes or no word.
func (r *Rules) offerAnswer(ev *channels.Event) string {
	if ev.Payload == ChoiceWait || ev.Payload == ChoiceNoWait {
		return ev.Payload
	}
	if ev.Kind != channels.KindText {
		return ""
	}
	if choice, ok := ParseNumberedChoice(ev.Text, r.offerChoices()); ok {
		return choice.ID
	}
	text := Normalize(ev.Text)
	switch {
	case text != "" && text == Normalize(r.Messages.Yes):
		return ChoiceWait
	case text != "" && text == Normalize(r.Messages.No):
		return ChoiceNoWait
	case startsWithKeyword(text, orDefault(r.YesWords, DefaultYesWords)):
		return ChoiceWait
	case startsWithKeyword(text, orDefault(r.NoWords, DefaultNoWords)):
		return ChoiceNoWait
	}
	return ""
}

func orDefault(words, defaults []string) []string {
	if len(words) == 0 {
		return defaults
	}
	return words
}
