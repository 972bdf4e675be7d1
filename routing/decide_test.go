package routing

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/channels"
)

// The fixed clock: Monday 16 November 2026, hours 09:00-18:00 UTC on weekdays.
var (
	tStart     = time.Date(2026, 11, 16, 8, 0, 0, 0, time.UTC) // the fixtures' last activity
	inHours    = time.Date(2026, 11, 16, 10, 0, 0, 0, time.UTC)
	afterHours = time.Date(2026, 11, 16, 22, 0, 0, 0, time.UTC)
)

var testUser = channels.User{ID: "5511987654321", Name: "Ana Souza"}

var testMessages = Messages{
	Offer: "offer", Yes: "Wait", No: "No, thanks", Attention: "attention", Declined: "declined",
	Transferred: "transferred", AlreadyWaiting: "already waiting", AgentAvailable: "agent available",
	OffHours: "off hours", KeptForAgent: "kept", Assigned: "{agent} is here", Closed: "closed",
	HandedBack: "handed back",
}

func testRules(t *testing.T, change func(*Rules)) *Rules {
	t.Helper()
	cal, err := NewCalendar(Hours{Weekly: everyWeekday("09:00-18:00")})
	if err != nil {
		t.Fatal(err)
	}
	r := &Rules{
		Calendar:        cal,
		AfterHours:      AfterHoursAsk,
		Messages:        testMessages,
		HandoffKeywords: []string{"humano", "agente", "atendente", "real person"},
	}
	if change != nil {
		change(r)
	}
	return r
}

func session(n int, kind SessionKind, agent string, start time.Time) *Session {
	return &Session{ID: fmt.Sprintf("c1-%d", n), Kind: kind, Agent: agent, Start: start}
}

// Conversation fixtures; each call returns fresh pointers.

func newConv() Conversation {
	return Conversation{ID: "c1", Channel: "wa-main", Platform: channels.WhatsApp, User: testUser}
}

func botConv() Conversation {
	c := newConv()
	c.State = StateBot
	c.Session = session(1, SessionBot, "", tStart)
	c.Sessions = 1
	c.LastUserMessage, c.LastActivity = tStart, tStart
	return c
}

func askingConv() Conversation {
	return change(botConv(), func(c *Conversation) { c.State = StateAsking })
}

// waitingConv waits since tStart, its bot session ended (direct mode).
func waitingConv() Conversation {
	return change(botConv(), func(c *Conversation) {
		c.State = StateWaiting
		c.Session = nil
		c.Transferred, c.WaitingSince = true, tStart
	})
}

// waitingChatConv waits since tStart and chats with the bot (second session).
func waitingChatConv() Conversation {
	return change(waitingConv(), func(c *Conversation) {
		c.Session = session(2, SessionBot, "", tStart)
		c.Sessions = 2
	})
}

func assignedConv() Conversation {
	return change(waitingConv(), func(c *Conversation) {
		c.State = StateAssigned
		c.Session = session(2, SessionAgent, "ana", tStart)
		c.Sessions = 2
		c.AssignedTo, c.LastAgent = "ana", "ana"
	})
}

func endedConv() Conversation {
	return change(assignedConv(), func(c *Conversation) {
		c.State = StateEnded
		c.Session = nil
		c.AssignedTo = ""
		c.Transferred, c.WaitingSince = false, time.Time{}
	})
}

func change(c Conversation, f func(*Conversation)) Conversation {
	f(&c)
	return c
}

// userAt sets the times a user message at "at" leaves.
func userAt(at time.Time) func(*Conversation) {
	return func(c *Conversation) { c.LastUserMessage, c.LastActivity = at, at }
}

// transferredAt is botConv after joining the line at "at" by a user message.
func transferredAt(at time.Time) Conversation {
	return change(botConv(), func(c *Conversation) {
		userAt(at)(c)
		c.State = StateWaiting
		c.Session = nil
		c.Transferred, c.WaitingSince = true, at
	})
}

// Inputs.

func textEvent(text string, at time.Time) *channels.Event {
	return &channels.Event{ID: "wamid." + text, Platform: channels.WhatsApp, User: testUser, Timestamp: at, Kind: channels.KindText, Text: text}
}

func text(s string, at time.Time) Input { return Input{Kind: InUserMessage, Event: textEvent(s, at)} }

func tapEvent(payload, title string, at time.Time) *channels.Event {
	return &channels.Event{ID: "wamid.tap", Platform: channels.WhatsApp, User: testUser, Timestamp: at, Kind: channels.KindChoice, Text: title, Payload: payload}
}

func tap(payload, title string, at time.Time) Input {
	return Input{Kind: InUserMessage, Event: tapEvent(payload, title, at)}
}

func botReply(handoff bool, texts ...string) Input {
	reply := &BotReply{Handoff: handoff}
	for _, t := range texts {
		reply.Messages = append(reply.Messages, BotMessage{Text: t})
	}
	return Input{Kind: InBotReply, Bot: reply}
}

func agentInput(kind InputKind, agent string) Input { return Input{Kind: kind, Agent: agent} }

// Effects.

func sys(text string) Effect {
	return Effect{Kind: EffectSend, Message: &BotMessage{Text: text}, From: AuthorSystem}
}

func botSays(text string) Effect {
	return Effect{Kind: EffectSend, Message: &BotMessage{Text: text}, From: AuthorBot}
}

func offer() Effect {
	return Effect{Kind: EffectSend, From: AuthorSystem, Message: &BotMessage{Text: "offer", Choices: []channels.Choice{
		{ID: ChoiceWait, Title: "Wait"}, {ID: ChoiceNoWait, Title: "No, thanks"},
	}}}
}

func askBot(ev *channels.Event, newSession bool) Effect {
	return Effect{Kind: EffectAskBot, Event: ev, NewSession: newSession}
}

func endSession(s *Session, r Resolution, at time.Time) Effect {
	return Effect{Kind: EffectEndSession, Session: s, Resolution: r, At: at}
}

func join(since time.Time) Effect { return Effect{Kind: EffectJoinLine, Since: since} }
func leave() Effect               { return Effect{Kind: EffectLeaveLine} }
func notify(n NoticeKind) Effect  { return Effect{Kind: EffectNotify, Notice: n} }
func outcome(o Outcome) Effect    { return Effect{Kind: EffectOutcome, Outcome: o} }

// claimed is the outcome of a claim of a conversation waiting since since.
func claimed(since time.Time) Effect {
	return Effect{Kind: EffectOutcome, Outcome: OutcomeClaimed, Since: since}
}

// transferEffects are the effects of botConv's user joining the line.
func transferEffects(message string, at time.Time) []Effect {
	return []Effect{sys(message), endSession(session(1, SessionBot, "", tStart), ResolutionTransferred, at), join(at), notify(NoticeWaiting),
		outcome(OutcomeTransferred)}
}

func TestDecide(t *testing.T) {
	var (
		direct      = func(r *Rules) { r.Direct = true }
		reject      = func(r *Rules) { r.AfterHours = AfterHoursReject }
		day         = 24 * time.Hour
		expireAt    = tStart.Add(day)
		justExpired = func(c *Conversation) {
			c.State = StateEnded
			c.Session = nil
			c.AssignedTo = ""
			c.Transferred, c.WaitingSince = false, time.Time{}
		}
		justMissed = func(c *Conversation) { justExpired(c); c.MissedAt = expireAt }
	)
	tests := []struct {
		name    string
		rules   func(*Rules)
		conv    Conversation
		in      Input
		now     time.Time
		want    Conversation
		effects []Effect
	}{
		// Bot sessions and messages to the bot.
		{
			name: "first message of a new conversation opens a bot session",
			conv: newConv(), in: text("hello", inHours), now: inHours,
			want: change(newConv(), func(c *Conversation) {
				userAt(inHours)(c)
				c.State, c.Sessions, c.Session = StateBot, 1, session(1, SessionBot, "", inHours)
			}),
			effects: []Effect{askBot(textEvent("hello", inHours), true)},
		},
		{
			name: "message after ended starts a new bot session",
			conv: endedConv(), in: text("hello again", afterHours), now: afterHours,
			want: change(endedConv(), func(c *Conversation) {
				userAt(afterHours)(c)
				c.State, c.Sessions, c.Session = StateBot, 3, session(3, SessionBot, "", afterHours)
			}),
			effects: []Effect{askBot(textEvent("hello again", afterHours), true)},
		},
		{
			name:  "a new conversation is shown the consent notice before anything else",
			rules: func(r *Rules) { r.Consent = "consent" },
			conv:  newConv(), in: text("humano", inHours), now: inHours,
			want: change(newConv(), func(c *Conversation) {
				userAt(inHours)(c)
				c.State, c.Sessions = StateWaiting, 1
				c.Transferred, c.WaitingSince = true, inHours
				c.Loop.ConsentShown = inHours
			}),
			effects: []Effect{
				sys("consent"), sys("transferred"), endSession(session(1, SessionBot, "", inHours), ResolutionTransferred, inHours),
				join(inHours), notify(NoticeWaiting), outcome(OutcomeConsentShown), outcome(OutcomeTransferred),
			},
		},
		{
			name:  "an ended conversation is not shown the consent notice again",
			rules: func(r *Rules) { r.Consent = "consent" },
			conv:  endedConv(), in: text("hello again", afterHours), now: afterHours,
			want: change(endedConv(), func(c *Conversation) {
				userAt(afterHours)(c)
				c.State, c.Sessions, c.Session = StateBot, 3, session(3, SessionBot, "", afterHours)
			}),
			effects: []Effect{askBot(textEvent("hello again", afterHours), true)},
		},
		{
			name: "message in bot goes to the bot",
			conv: botConv(), in: text("what are your hours?", inHours), now: inHours,
			want:    change(botConv(), userAt(inHours)),
			effects: []Effect{askBot(textEvent("what are your hours?", inHours), false)},
		},
		{
			name: "message without a timestamp is dated now",
			conv: botConv(), in: text("hi", time.Time{}), now: inHours,
			want:    change(botConv(), userAt(inHours)),
			effects: []Effect{askBot(textEvent("hi", time.Time{}), false)},
		},
		{
			name: "bot reply is sent from the bot",
			conv: botConv(), in: botReply(false, "Hi!", "How can I help?"), now: inHours,
			want:    botConv(),
			effects: []Effect{botSays("Hi!"), botSays("How can I help?")},
		},
		{
			name: "a tapped choice that is not ours goes to the bot",
			conv: botConv(), in: tap("menu:prices", "Prices", inHours), now: inHours,
			want:    change(botConv(), userAt(inHours)),
			effects: []Effect{askBot(tapEvent("menu:prices", "Prices", inHours), false)},
		},

		// Keyword matching.
		{
			name: "keyword upper case refers", conv: botConv(), in: text("AGENTE por favor", inHours), now: inHours,
			want: transferredAt(inHours), effects: transferEffects("transferred", inHours),
		},
		{
			name: "keyword with an accent refers", conv: botConv(), in: text("quero um atendénte!", inHours), now: inHours,
			want: transferredAt(inHours), effects: transferEffects("transferred", inHours),
		},
		{
			name: "keyword capitalized with punctuation refers", conv: botConv(), in: text("¿Humano?", inHours), now: inHours,
			want: transferredAt(inHours), effects: transferEffects("transferred", inHours),
		},
		{
			name: "multi-word keyword refers", conv: botConv(), in: text("can I talk to a Real  Person?", inHours), now: inHours,
			want: transferredAt(inHours), effects: transferEffects("transferred", inHours),
		},
		{
			name: "keyword inside a longer word does not refer", conv: botConv(), in: text("robots humanoides", inHours), now: inHours,
			want:    change(botConv(), userAt(inHours)),
			effects: []Effect{askBot(textEvent("robots humanoides", inHours), false)},
		},

		// Referral inside hours.
		{
			name: "handoff button inside hours transfers", conv: botConv(), in: tap(ChoiceHandoff, "Talk to a person", inHours), now: inHours,
			want: transferredAt(inHours), effects: transferEffects("transferred", inHours),
		},
		{
			name: "first message is a keyword: the new session ends transferred",
			conv: newConv(), in: text("humano", inHours), now: inHours,
			want: change(newConv(), func(c *Conversation) {
				userAt(inHours)(c)
				c.State, c.Sessions = StateWaiting, 1
				c.Transferred, c.WaitingSince = true, inHours
			}),
			effects: []Effect{
				sys("transferred"), endSession(session(1, SessionBot, "", inHours), ResolutionTransferred, inHours),
				join(inHours), notify(NoticeWaiting), outcome(OutcomeTransferred),
			},
		},
		{
			name: "bot handoff inside hours: its messages, then the transfer",
			conv: botConv(), in: botReply(true, "Let me find someone"), now: inHours,
			want:    change(transferredAt(inHours), userAt(tStart)),
			effects: append([]Effect{botSays("Let me find someone")}, transferEffects("transferred", inHours)...),
		},
		{
			name:  "no calendar is always open",
			rules: func(r *Rules) { r.Calendar = nil },
			conv:  botConv(), in: text("humano", afterHours), now: afterHours,
			want: transferredAt(afterHours), effects: transferEffects("transferred", afterHours),
		},

		// Outside hours, ask mode.
		{
			name: "keyword outside hours offers to wait",
			conv: botConv(), in: text("humano", afterHours), now: afterHours,
			want: change(botConv(), func(c *Conversation) {
				userAt(afterHours)(c)
				c.State = StateAsking
			}),
			effects: []Effect{offer()},
		},
		{
			name:  "empty after_hours means ask",
			rules: func(r *Rules) { r.AfterHours = "" },
			conv:  botConv(), in: text("humano", afterHours), now: afterHours,
			want: change(botConv(), func(c *Conversation) {
				userAt(afterHours)(c)
				c.State = StateAsking
			}),
			effects: []Effect{offer()},
		},
		{
			name: "bot handoff outside hours: its messages, then the offer",
			conv: botConv(), in: botReply(true, "Let me find someone"), now: afterHours,
			want:    change(botConv(), func(c *Conversation) { c.State = StateAsking }),
			effects: []Effect{botSays("Let me find someone"), offer()},
		},
		{
			name: "yes by button waits",
			conv: askingConv(), in: tap(ChoiceWait, "Wait", afterHours), now: afterHours,
			want: transferredAt(afterHours), effects: transferEffects("attention", afterHours),
		},
		{
			name: "yes by text sí waits",
			conv: askingConv(), in: text("Sí", afterHours), now: afterHours,
			want: transferredAt(afterHours), effects: transferEffects("attention", afterHours),
		},
		{
			name: "yes by the number 1 waits",
			conv: askingConv(), in: text(" 1 ", afterHours), now: afterHours,
			want: transferredAt(afterHours), effects: transferEffects("attention", afterHours),
		},
		{
			name: "yes by typing the choice's title waits",
			conv: askingConv(), in: text("wait", afterHours), now: afterHours,
			want: transferredAt(afterHours), effects: transferEffects("attention", afterHours),
		},
		{
			name:  "configured yes words replace the defaults",
			rules: func(r *Rules) { r.YesWords = []string{"claro"} },
			conv:  askingConv(), in: text("claro que sim", afterHours), now: afterHours,
			want: transferredAt(afterHours), effects: transferEffects("attention", afterHours),
		},
		{
			name: "no by text não: the bot continues, the session is marked declined",
			conv: askingConv(), in: text("não", afterHours), now: afterHours,
			want: change(botConv(), func(c *Conversation) {
				userAt(afterHours)(c)
				c.Session.Declined = true
			}),
			effects: []Effect{sys("declined"), outcome(OutcomeDeclined)},
		},
		{
			name: "no by button",
			conv: askingConv(), in: tap(ChoiceNoWait, "No, thanks", afterHours), now: afterHours,
			want: change(botConv(), func(c *Conversation) {
				userAt(afterHours)(c)
				c.Session.Declined = true
			}),
			effects: []Effect{sys("declined"), outcome(OutcomeDeclined)},
		},
		{
			name: "a second no in one session is not counted again",
			conv: change(askingConv(), func(c *Conversation) { c.Session.Declined = true }),
			in:   text("no", afterHours), now: afterHours,
			want: change(botConv(), func(c *Conversation) {
				userAt(afterHours)(c)
				c.Session.Declined = true
			}),
			effects: []Effect{sys("declined")},
		},
		{
			name: "no by the number 2",
			conv: askingConv(), in: text("2.", afterHours), now: afterHours,
			want: change(botConv(), func(c *Conversation) {
				userAt(afterHours)(c)
				c.Session.Declined = true
			}),
			effects: []Effect{sys("declined"), outcome(OutcomeDeclined)},
		},
		{
			name: "any other reply lapses the offer and goes to the bot",
			conv: askingConv(), in: text("what are your hours?", afterHours), now: afterHours,
			want:    change(botConv(), userAt(afterHours)),
			effects: []Effect{askBot(textEvent("what are your hours?", afterHours), false)},
		},
		{
			name: "a keyword instead of an answer offers again",
			conv: askingConv(), in: text("humano", afterHours), now: afterHours,
			want:    change(askingConv(), userAt(afterHours)),
			effects: []Effect{offer()},
		},

		// Outside hours, reject mode.
		{
			name:  "reject mode: off-hours message, the bot continues",
			rules: reject,
			conv:  botConv(), in: text("humano", afterHours), now: afterHours,
			want:    change(botConv(), userAt(afterHours)),
			effects: []Effect{sys("off hours")},
		},

		// Waiting, direct referral.
		{
			name:  "direct: a message is kept for the agent and acknowledged",
			rules: direct,
			conv:  waitingConv(), in: text("hello?", afterHours), now: afterHours,
			want: change(waitingConv(), func(c *Conversation) {
				userAt(afterHours)(c)
				c.LastAck = afterHours
			}),
			effects: []Effect{sys("kept"), notify(NoticeMessage)},
		},
		{
			name:  "direct: acknowledged once per waiting period",
			rules: direct,
			conv:  change(waitingConv(), func(c *Conversation) { c.LastAck = tStart }),
			in:    text("anyone?", afterHours), now: afterHours,
			want: change(waitingConv(), func(c *Conversation) {
				userAt(afterHours)(c)
				c.LastAck = tStart
			}),
			effects: []Effect{notify(NoticeMessage)},
		},
		{
			name:  "direct: a keyword is just kept",
			rules: direct,
			conv:  change(waitingConv(), func(c *Conversation) { c.LastAck = tStart }),
			in:    text("humano", afterHours), now: afterHours,
			want: change(waitingConv(), func(c *Conversation) {
				userAt(afterHours)(c)
				c.LastAck = tStart
			}),
			effects: []Effect{notify(NoticeMessage)},
		},
		{
			name:  "direct: acknowledged again after the interval",
			rules: func(r *Rules) { r.Direct, r.AckInterval = true, time.Hour },
			conv:  change(waitingConv(), func(c *Conversation) { c.LastAck = afterHours.Add(-time.Hour) }),
			in:    text("still there?", afterHours), now: afterHours,
			want: change(waitingConv(), func(c *Conversation) {
				userAt(afterHours)(c)
				c.LastAck = afterHours
			}),
			effects: []Effect{sys("kept"), notify(NoticeMessage)},
		},
		{
			name:  "direct: not acknowledged within the interval",
			rules: func(r *Rules) { r.Direct, r.AckInterval = true, time.Hour },
			conv:  change(waitingConv(), func(c *Conversation) { c.LastAck = afterHours.Add(-30 * time.Minute) }),
			in:    text("still there?", afterHours), now: afterHours,
			want: change(waitingConv(), func(c *Conversation) {
				userAt(afterHours)(c)
				c.LastAck = afterHours.Add(-30 * time.Minute)
			}),
			effects: []Effect{notify(NoticeMessage)},
		},
		{
			name:  "direct: a late bot reply is refused",
			rules: direct,
			conv:  waitingConv(), in: botReply(false, "late"), now: afterHours,
			want: waitingConv(),
		},

		// Waiting, not direct.
		{
			name: "not direct: a message opens a second bot session",
			conv: waitingConv(), in: text("what are your hours?", afterHours), now: afterHours,
			want: change(waitingConv(), func(c *Conversation) {
				userAt(afterHours)(c)
				c.Session, c.Sessions = session(2, SessionBot, "", afterHours), 2
			}),
			effects: []Effect{askBot(textEvent("what are your hours?", afterHours), true), notify(NoticeMessage)},
		},
		{
			name: "not direct: a second referral keeps the place in line",
			conv: waitingChatConv(), in: text("agente", afterHours), now: afterHours,
			want:    change(waitingChatConv(), userAt(afterHours)),
			effects: []Effect{sys("already waiting"), notify(NoticeMessage), outcome(OutcomeAlreadyWaiting)},
		},
		{
			name: "not direct: a bot handoff keeps the place in line",
			conv: waitingChatConv(), in: botReply(true, "Let me find someone"), now: afterHours,
			want:    waitingChatConv(),
			effects: []Effect{botSays("Let me find someone"), sys("already waiting"), outcome(OutcomeAlreadyWaiting)},
		},

		// Agent available.
		{
			name: "agent available is told once",
			conv: waitingConv(), in: Input{Kind: InAgentAvailable, AgentsOnline: true}, now: inHours,
			want:    change(waitingConv(), func(c *Conversation) { c.AvailableNotified = true }),
			effects: []Effect{sys("agent available")},
		},
		{
			name: "agent available is not told twice",
			conv: change(waitingConv(), func(c *Conversation) { c.AvailableNotified = true }),
			in:   Input{Kind: InAgentAvailable}, now: inHours,
			want: change(waitingConv(), func(c *Conversation) { c.AvailableNotified = true }),
		},
		{
			name: "agent available outside waiting does nothing",
			conv: botConv(), in: Input{Kind: InAgentAvailable}, now: inHours,
			want: botConv(),
		},

		// Claim.
		{
			name: "claim: assigned, out of the line, the user told the agent's name",
			conv: change(waitingConv(), func(c *Conversation) { c.AvailableNotified = true }),
			in:   Input{Kind: InAgentClaim, Agent: "ana", AgentName: "Ana"}, now: inHours,
			want: change(waitingConv(), func(c *Conversation) {
				c.State = StateAssigned
				c.Session, c.Sessions = session(2, SessionAgent, "ana", inHours), 2
				c.AssignedTo, c.LastAgent = "ana", "ana"
			}),
			effects: []Effect{sys("Ana is here"), leave(), notify(NoticeClaimed), claimed(tStart)},
		},
		{
			name: "claim ends the bot session of a user chatting while waiting",
			conv: waitingChatConv(), in: agentInput(InAgentClaim, "ana"), now: inHours,
			want: change(waitingChatConv(), func(c *Conversation) {
				c.State = StateAssigned
				c.Session, c.Sessions = session(3, SessionAgent, "ana", inHours), 3
				c.AssignedTo, c.LastAgent = "ana", "ana"
			}),
			effects: []Effect{
				sys("ana is here"), endSession(session(2, SessionBot, "", tStart), ResolutionClaimed, inHours),
				leave(), notify(NoticeClaimed), claimed(tStart),
			},
		},
		{
			name: "reopen takes an ended conversation back without a wait",
			conv: change(endedConv(), userAt(inHours)), in: agentInput(InAgentReopen, "ana"), now: inHours.Add(time.Hour),
			want: change(endedConv(), func(c *Conversation) {
				userAt(inHours)(c)
				c.State = StateAssigned
				c.Session, c.Sessions = session(3, SessionAgent, "ana", inHours.Add(time.Hour)), 3
				c.AssignedTo, c.LastAgent, c.Transferred = "ana", "ana", true
			}),
			effects: []Effect{notify(NoticeClaimed)},
		},
		{
			name: "claim outside waiting is refused",
			conv: botConv(), in: agentInput(InAgentClaim, "ana"), now: inHours,
			want: botConv(),
		},

		// Assigned.
		{
			name: "a user message while assigned is for the agent",
			conv: assignedConv(), in: text("thanks", inHours), now: inHours,
			want:    change(assignedConv(), userAt(inHours)),
			effects: []Effect{notify(NoticeMessage)},
		},
		{
			name: "a late bot reply while assigned is refused",
			conv: assignedConv(), in: botReply(false, "late"), now: inHours,
			want: assignedConv(),
		},
		{
			name: "agent message is activity",
			conv: assignedConv(), in: agentInput(InAgentMessage, "ana"), now: inHours,
			want: change(assignedConv(), func(c *Conversation) {
				c.LastActivity = inHours
				c.Session.FirstReply = inHours
			}),
			effects: []Effect{{Kind: EffectOutcome, Outcome: OutcomeFirstResponse, Since: tStart}},
		},
		{
			name: "another agent's message is refused",
			conv: assignedConv(), in: agentInput(InAgentMessage, "bob"), now: inHours,
			want: assignedConv(),
		},
		{
			name: "close ends it",
			conv: assignedConv(), in: agentInput(InAgentClose, "ana"), now: inHours,
			want: change(endedConv(), func(c *Conversation) { c.Loop.ClosedAt = inHours }),
			effects: []Effect{
				sys("closed"), endSession(session(2, SessionAgent, "ana", tStart), ResolutionClosed, inHours),
				notify(NoticeEnded),
			},
		},
		{
			name: "release goes back to the line at the original place",
			conv: assignedConv(), in: agentInput(InAgentRelease, "ana"), now: inHours,
			want: change(waitingConv(), func(c *Conversation) { c.Sessions, c.LastAgent, c.ReleasedBy = 2, "ana", "ana" }),
			effects: []Effect{
				endSession(session(2, SessionAgent, "ana", tStart), ResolutionReleased, inHours),
				join(tStart), notify(NoticeWaiting),
			},
		},
		{
			name: "handback gives it to the bot in a new session",
			conv: assignedConv(), in: agentInput(InAgentHandback, "ana"), now: inHours,
			want: change(botConv(), func(c *Conversation) {
				c.Session, c.Sessions = session(3, SessionBot, "", inHours), 3
				c.LastAgent = "ana"
			}),
			effects: []Effect{
				sys("handed back"), endSession(session(2, SessionAgent, "ana", tStart), ResolutionHandedBack, inHours),
				notify(NoticeEnded),
			},
		},

		// Reopen.
		{
			name: "reopen within the window",
			conv: endedConv(), in: agentInput(InAgentReopen, "ana"), now: inHours,
			want: change(endedConv(), func(c *Conversation) {
				c.State = StateAssigned
				c.Session, c.Sessions = session(3, SessionAgent, "ana", inHours), 3
				c.AssignedTo, c.Transferred = "ana", true
			}),
			effects: []Effect{notify(NoticeClaimed)},
		},
		{
			name: "reopen after the window is refused",
			conv: endedConv(), in: agentInput(InAgentReopen, "ana"), now: tStart.Add(ReopenWindow),
			want: endedConv(),
		},
		{
			name: "release of a reopened conversation joins the line now",
			conv: change(assignedConv(), func(c *Conversation) { c.WaitingSince = time.Time{} }),
			in:   agentInput(InAgentRelease, "ana"), now: inHours,
			want: change(waitingConv(), func(c *Conversation) {
				c.Sessions, c.LastAgent, c.ReleasedBy = 2, "ana", "ana"
				c.WaitingSince = inHours
			}),
			effects: []Effect{
				endSession(session(2, SessionAgent, "ana", tStart), ResolutionReleased, inHours),
				join(inHours), notify(NoticeWaiting),
			},
		},

		// Expiry.
		{
			name: "expire a bot conversation after 24 h",
			conv: botConv(), in: Input{Kind: InExpire}, now: expireAt,
			want:    change(botConv(), justExpired),
			effects: []Effect{endSession(session(1, SessionBot, "", tStart), ResolutionExpired, expireAt), notify(NoticeEnded), outcome(OutcomeExpired)},
		},
		{
			name: "never expire early",
			conv: botConv(), in: Input{Kind: InExpire}, now: expireAt.Add(-time.Second),
			want: botConv(),
		},
		{
			name:  "expire after the configured timeout",
			rules: func(r *Rules) { r.InactivityTimeout = time.Hour },
			conv:  botConv(), in: Input{Kind: InExpire}, now: tStart.Add(time.Hour),
			want:    change(botConv(), justExpired),
			effects: []Effect{endSession(session(1, SessionBot, "", tStart), ResolutionExpired, tStart.Add(time.Hour)), notify(NoticeEnded), outcome(OutcomeExpired)},
		},
		{
			name: "expire a session the user declined records declined",
			conv: change(botConv(), func(c *Conversation) { c.Session.Declined = true }),
			in:   Input{Kind: InExpire}, now: expireAt,
			want: change(botConv(), justExpired),
			effects: []Effect{
				endSession(&Session{ID: "c1-1", Kind: SessionBot, Start: tStart, Declined: true}, ResolutionDeclined, expireAt),
				notify(NoticeEnded), outcome(OutcomeExpired),
			},
		},
		{
			name: "expire while only waiting leaves the line and records the wait",
			conv: waitingConv(), in: Input{Kind: InExpire}, now: expireAt,
			want: change(waitingConv(), justMissed),
			effects: []Effect{
				endSession(&Session{ID: waitingConv().ID + "-w1", Kind: SessionWaiting, Start: waitingConv().WaitingSince}, ResolutionExpired, expireAt),
				leave(), {Kind: EffectMissed, At: expireAt}, notify(NoticeEnded), {Kind: EffectOutcome, Outcome: OutcomeExpired, Since: tStart}, outcome(OutcomeMissed),
			},
		},
		{
			name: "expire while waiting and chatting ends the bot session too",
			conv: waitingChatConv(), in: Input{Kind: InExpire}, now: expireAt,
			want:    change(waitingChatConv(), justMissed),
			effects: []Effect{endSession(session(2, SessionBot, "", tStart), ResolutionExpired, expireAt), leave(), {Kind: EffectMissed, At: expireAt}, notify(NoticeEnded), {Kind: EffectOutcome, Outcome: OutcomeExpired, Since: tStart}, outcome(OutcomeMissed)},
		},
		{
			name: "expire while assigned ends the agent session",
			conv: assignedConv(), in: Input{Kind: InExpire}, now: expireAt,
			want:    change(assignedConv(), justExpired),
			effects: []Effect{endSession(session(2, SessionAgent, "ana", tStart), ResolutionExpired, expireAt), notify(NoticeEnded), outcome(OutcomeExpired)},
		},
		{
			name: "expire an ended conversation does nothing",
			conv: endedConv(), in: Input{Kind: InExpire}, now: expireAt.Add(day),
			want: endedConv(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRules(t, tt.rules)
			got, effects := r.Decide(tt.conv, tt.in, tt.now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("conversation (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.effects, effects); diff != "" {
				t.Errorf("effects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideDoesNotWriteThroughTheInput(t *testing.T) {
	r := testRules(t, nil)
	c := askingConv()
	got, _ := r.Decide(c, text("no", afterHours), afterHours)
	if !got.Session.Declined {
		t.Fatal("the decision did not mark the session declined")
	}
	if c.Session.Declined {
		t.Error("Decide changed the caller's session")
	}
}

func TestCanApply(t *testing.T) {
	tests := []struct {
		name string
		conv Conversation
		in   Input
		now  time.Time
		want error
	}{
		{"user message", botConv(), text("hi", inHours), inHours, nil},
		{"user message without an event", botConv(), Input{Kind: InUserMessage}, inHours, ErrInvalidInput},
		{"a status is not a user message", botConv(), Input{Kind: InUserMessage, Event: &channels.Event{Kind: channels.KindStatus}}, inHours, ErrInvalidInput},
		{"unknown input", botConv(), Input{Kind: "teleport"}, inHours, ErrInvalidInput},
		{"bot reply without a reply", botConv(), Input{Kind: InBotReply}, inHours, ErrInvalidInput},
		{"bot reply in a bot session", botConv(), botReply(false, "hi"), inHours, nil},
		{"bot reply without a bot session", assignedConv(), botReply(false, "hi"), inHours, ErrNoBotSession},
		{"claim while waiting", waitingConv(), agentInput(InAgentClaim, "ana"), inHours, nil},
		{"claim without an agent", waitingConv(), agentInput(InAgentClaim, ""), inHours, ErrInvalidInput},
		{"claim while assigned", assignedConv(), agentInput(InAgentClaim, "bob"), inHours, ErrNotWaiting},
		{"close by the agent", assignedConv(), agentInput(InAgentClose, "ana"), inHours, nil},
		{"close by another agent", assignedConv(), agentInput(InAgentClose, "bob"), inHours, ErrNotYours},
		{"release while waiting", waitingConv(), agentInput(InAgentRelease, "ana"), inHours, ErrNotAssigned},
		{"handback without an agent", assignedConv(), agentInput(InAgentHandback, ""), inHours, ErrInvalidInput},
		{"reopen by the last agent", endedConv(), agentInput(InAgentReopen, "ana"), inHours, nil},
		{"reopen by another agent", endedConv(), agentInput(InAgentReopen, "bob"), inHours, ErrNotYours},
		{"reopen while assigned", assignedConv(), agentInput(InAgentReopen, "ana"), inHours, ErrNotEnded},
		{"reopen after the window", endedConv(), agentInput(InAgentReopen, "ana"), tStart.Add(ReopenWindow), channels.ErrWindowClosed},
		{"expire applies in any state", endedConv(), Input{Kind: InExpire}, inHours, nil},
	}
	r := testRules(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.CanApply(tt.conv, tt.in, tt.now); !errors.Is(err, tt.want) {
				t.Errorf("CanApply() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		conv    Conversation
		want    time.Time
	}{
		{"default 24 h", 0, botConv(), tStart.Add(24 * time.Hour)},
		{"configured", 2 * time.Hour, waitingConv(), tStart.Add(2 * time.Hour)},
		{"ended never expires", 0, endedConv(), time.Time{}},
		{"new never expires", 0, newConv(), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Rules{InactivityTimeout: tt.timeout}
			if got := r.Deadline(tt.conv); !got.Equal(tt.want) {
				t.Errorf("Deadline() = %s, want %s", got, tt.want)
			}
		})
	}
}
