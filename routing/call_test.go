package routing

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"switchboard/channels"
)

var testCallMessages = CallMessages{
	Choose: "choose", Chat: "Chat", Phone: "Phone call", AskNumber: "number?", UseThisNumber: "This number",
	Confirmed: "we will call you", Apology: "sorry", OfferChat: "chat instead?",
}

func withCall(afterHours bool) func(*Rules) {
	return func(r *Rules) {
		r.Call = &CallOffer{AfterHours: afterHours, ThisNumber: true, Messages: testCallMessages}
	}
}

func chooseMsg(chatOnly bool, text string) Effect {
	choices := []channels.Choice{{ID: ChoiceChat, Title: "Chat"}, {ID: ChoicePhone, Title: "Phone call"}}
	if chatOnly {
		choices = choices[:1]
	}
	return Effect{Kind: EffectSend, From: AuthorSystem, Message: &BotMessage{Text: text, Choices: choices}}
}

func askNumberMsg(thisNumber bool) Effect {
	m := &BotMessage{Text: "number?"}
	if thisNumber {
		m.Choices = []channels.Choice{{ID: ChoiceThisNumber, Title: "This number"}}
	}
	return Effect{Kind: EffectSend, From: AuthorSystem, Message: m}
}

func requestCall(key, number string) Effect {
	return Effect{Kind: EffectRequestCall, Call: &CallRequest{Key: key, Number: number}}
}

func callResult(key string, ok bool, msg string, failed bool) Input {
	return Input{Kind: InCallResult, Call: &CallResult{Key: key, OK: ok, Error: msg, Failed: failed}}
}

func inState(s State, call CallState) func(*Conversation) {
	return func(c *Conversation) { c.State, c.Call = s, call }
}

func choosingConv() Conversation { return change(botConv(), inState(StateChoosing, CallState{})) }
func phoneConv() Conversation    { return change(botConv(), inState(StatePhone, CallState{})) }
func callingConv(tries int) Conversation {
	return change(botConv(), inState(StateCalling, CallState{Tries: tries, Seq: 1, Key: "c1-call-1", Number: "+54 11 5555-0000"}))
}

func imageEvent() *channels.Event {
	return &channels.Event{ID: "wamid.img", Platform: channels.WhatsApp, User: testUser, Timestamp: inHours, Kind: channels.KindMedia,
		Attachments: []channels.Attachment{{Type: "image", MediaID: "m1"}}}
}

func TestDecideCall(t *testing.T) {
	messenger := func(c *Conversation) { c.Platform = channels.Messenger }
	tests := []struct {
		name    string
		rules   func(*Rules)
		conv    Conversation
		in      Input
		at      bool // true: after hours
		want    Conversation
		effects []Effect
	}{
		// The offer.
		{
			name: "referral inside hours offers chat or phone", rules: withCall(false),
			conv: botConv(), in: text("agente", inHours),
			want:    change(botConv(), func(c *Conversation) { userAt(inHours)(c); c.State = StateChoosing }),
			effects: []Effect{chooseMsg(false, "choose")},
		},
		{
			name: "bot handoff offers chat or phone", rules: withCall(false),
			conv: botConv(), in: botReply(true, "let me find someone"),
			want:    change(botConv(), inState(StateChoosing, CallState{})),
			effects: []Effect{botSays("let me find someone"), chooseMsg(false, "choose")},
		},
		{
			name: "referral after hours without after_hours calls offers to wait", rules: withCall(false),
			conv: botConv(), in: text("agente", afterHours), at: true,
			want:    change(botConv(), func(c *Conversation) { userAt(afterHours)(c); c.State = StateAsking }),
			effects: []Effect{offer()},
		},
		{
			name: "referral after hours with after_hours calls offers chat or phone", rules: withCall(true),
			conv: botConv(), in: text("agente", afterHours), at: true,
			want:    change(botConv(), func(c *Conversation) { userAt(afterHours)(c); c.State = StateChoosing }),
			effects: []Effect{chooseMsg(false, "choose")},
		},
		{
			name: "referral while calling waits for the answer", rules: withCall(false),
			conv: callingConv(0), in: botReply(true, "ok"),
			want:    callingConv(0),
			effects: []Effect{botSays("ok")},
		},

		// The choice.
		{
			name: "chat tapped inside hours transfers", rules: withCall(false),
			conv: choosingConv(), in: tap(ChoiceChat, "Chat", inHours),
			want: transferredAt(inHours), effects: transferEffects("transferred", inHours),
		},
		{
			name: "chat by number after hours offers to wait", rules: withCall(true),
			conv: choosingConv(), in: text("1", afterHours), at: true,
			want:    change(askingConv(), userAt(afterHours)),
			effects: []Effect{offer()},
		},
		{
			name: "chat by word after hours with reject says off hours", rules: func(r *Rules) { withCall(true)(r); r.AfterHours = AfterHoursReject },
			conv: choosingConv(), in: text("chat please", afterHours), at: true,
			want:    change(botConv(), userAt(afterHours)),
			effects: []Effect{sys("off hours")},
		},
		{
			name: "phone by word asks the number with this number as a tap", rules: withCall(false),
			conv: choosingConv(), in: text("llamada", inHours),
			want:    change(phoneConv(), userAt(inHours)),
			effects: []Effect{askNumberMsg(true)},
		},
		{
			name: "phone by title asks the number", rules: withCall(false),
			conv: choosingConv(), in: text("phone CALL", inHours),
			want:    change(phoneConv(), userAt(inHours)),
			effects: []Effect{askNumberMsg(true)},
		},
		{
			name: "phone on messenger asks the number without this number", rules: withCall(false),
			conv: change(choosingConv(), messenger), in: tap(ChoicePhone, "Phone call", inHours),
			want:    change(phoneConv(), func(c *Conversation) { messenger(c); userAt(inHours)(c) }),
			effects: []Effect{askNumberMsg(false)},
		},
		{
			name: "another reply lapses the choice and goes to the bot", rules: withCall(false),
			conv: choosingConv(), in: text("what are your prices?", inHours),
			want:    change(botConv(), userAt(inHours)),
			effects: []Effect{askBot(textEvent("what are your prices?", inHours), false)},
		},
		{
			name: "phone is not a choice once only the chat is offered", rules: withCall(false),
			conv: change(botConv(), inState(StateChoosing, CallState{ChatOnly: true, Seq: 1})), in: text("2", inHours),
			want:    change(botConv(), func(c *Conversation) { userAt(inHours)(c); c.Call.Seq = 1 }),
			effects: []Effect{askBot(textEvent("2", inHours), false)},
		},

		// The number.
		{
			name: "typed number is requested raw", rules: withCall(false),
			conv: phoneConv(), in: text("+54 11 5555-0000", inHours),
			want:    change(callingConv(0), userAt(inHours)),
			effects: []Effect{requestCall("c1-call-1", "+54 11 5555-0000")},
		},
		{
			name: "this number tapped requests the number the user writes from", rules: withCall(false),
			conv: phoneConv(), in: tap(ChoiceThisNumber, "This number", inHours),
			want: change(botConv(), func(c *Conversation) {
				userAt(inHours)(c)
				c.State, c.Call = StateCalling, CallState{Seq: 1, Key: "c1-call-1", Number: "+5511987654321"}
			}),
			effects: []Effect{requestCall("c1-call-1", "+5511987654321")},
		},
		{
			name: "chat tapped instead of a number transfers", rules: withCall(false),
			conv: phoneConv(), in: tap(ChoiceChat, "Chat", inHours),
			want: transferredAt(inHours), effects: transferEffects("transferred", inHours),
		},
		{
			name: "an image instead of a number lapses to the bot", rules: withCall(false),
			conv: phoneConv(), in: Input{Kind: InUserMessage, Event: imageEvent()},
			want:    change(botConv(), userAt(inHours)),
			effects: []Effect{askBot(imageEvent(), false)},
		},
		{
			name: "a message while calling goes to the bot, even a keyword", rules: withCall(false),
			conv: callingConv(0), in: text("agente", inHours),
			want:    change(callingConv(0), userAt(inHours)),
			effects: []Effect{askBot(textEvent("agente", inHours), false)},
		},

		// The provider's answer.
		{
			name: "accepted: confirmed, session call_requested, ended", rules: withCall(false),
			conv: callingConv(1), in: callResult("c1-call-1", true, "", false),
			want: change(botConv(), func(c *Conversation) {
				c.State, c.Session, c.Call = StateEnded, nil, CallState{Seq: 1}
			}),
			effects: []Effect{sys("we will call you"), endSession(session(1, SessionBot, "", tStart), ResolutionCallRequested, inHours)},
		},
		{
			name: "refused: the provider's message is relayed and the number asked again", rules: withCall(false),
			conv: callingConv(0), in: callResult("c1-call-1", false, "The number is not valid", false),
			want:    change(botConv(), inState(StatePhone, CallState{Tries: 1, Seq: 1})),
			effects: []Effect{sys("The number is not valid"), askNumberMsg(true)},
		},
		{
			name: "refused the third time: the chat is offered", rules: withCall(false),
			conv: callingConv(2), in: callResult("c1-call-1", false, "The number is not valid", false),
			want:    change(botConv(), inState(StateChoosing, CallState{Tries: 3, Seq: 1, ChatOnly: true})),
			effects: []Effect{sys("The number is not valid"), chooseMsg(true, "chat instead?")},
		},
		{
			name: "failed after the retries: apology and the chat offered", rules: withCall(false),
			conv: callingConv(0), in: callResult("c1-call-1", false, "", true),
			want:    change(botConv(), inState(StateChoosing, CallState{Seq: 1, ChatOnly: true})),
			effects: []Effect{chooseMsg(true, "sorry")},
		},
		{
			name: "chat chosen after a failure transfers", rules: withCall(false),
			conv: change(botConv(), inState(StateChoosing, CallState{Seq: 1, ChatOnly: true})), in: text("1", inHours),
			want: change(transferredAt(inHours), func(c *Conversation) { c.Call.Seq = 1 }), effects: transferEffects("transferred", inHours),
		},
		{
			name: "a late result of an older request changes nothing", rules: withCall(false),
			conv: callingConv(0), in: callResult("c1-call-0", true, "", false),
			want: callingConv(0),
		},
		{
			name: "expire while calling ends and forgets the request", rules: withCall(false),
			conv: callingConv(0), in: Input{Kind: InExpire},
			want: change(botConv(), func(c *Conversation) {
				c.State, c.Session, c.Call = StateEnded, nil, CallState{Seq: 1}
			}),
			effects: []Effect{endSession(session(1, SessionBot, "", tStart), ResolutionExpired, tStart.Add(DefaultInactivityTimeout)), notify(NoticeEnded), outcome(OutcomeExpired)},
		},

		// The bot's preferred agent.
		{
			name: "handoff naming an agent keeps it", conv: botConv(),
			in: Input{Kind: InBotReply, Bot: &BotReply{Handoff: true, Agent: "bruno"}},
			want: change(transferredAt(tStart), func(c *Conversation) {
				c.PreferredAgent, c.WaitingSince = "bruno", inHours
			}),
			effects: []Effect{sys("transferred"), endSession(session(1, SessionBot, "", tStart), ResolutionTransferred, inHours), join(inHours), notify(NoticeWaiting), outcome(OutcomeTransferred)},
		},
		{
			name: "a claim forgets the preferred agent and who released it", conv: change(waitingConv(), func(c *Conversation) {
				c.PreferredAgent, c.ReleasedBy = "bruno", "ana"
			}),
			in: Input{Kind: InAgentClaim, Agent: "bruno", AgentName: "Bruno"},
			want: change(assignedConv(), func(c *Conversation) {
				c.AssignedTo, c.LastAgent, c.Session = "bruno", "bruno", session(2, SessionAgent, "bruno", inHours)
			}),
			effects: []Effect{sys("Bruno is here"), leave(), notify(NoticeClaimed), claimed(tStart)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := inHours
			if tt.at {
				now = afterHours
			}
			if tt.in.Kind == InExpire {
				now = tStart.Add(DefaultInactivityTimeout)
			}
			r := testRules(t, tt.rules)
			got, effects := r.Decide(tt.conv, tt.in, now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("conversation (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.effects, effects); diff != "" {
				t.Errorf("effects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCanApplyCall(t *testing.T) {
	r := testRules(t, withCall(false))
	tests := []struct {
		name string
		conv Conversation
		in   Input
		want error
	}{
		{"the request in progress", callingConv(0), callResult("c1-call-1", true, "", false), nil},
		{"an older request", callingConv(0), callResult("c1-call-0", true, "", false), ErrNotCalling},
		{"not calling", phoneConv(), callResult("c1-call-1", true, "", false), ErrNotCalling},
		{"no result", callingConv(0), Input{Kind: InCallResult}, ErrInvalidInput},
		{"no key", callingConv(0), callResult("", true, "", false), ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.CanApply(tt.conv, tt.in, inHours); !errors.Is(err, tt.want) {
				t.Errorf("CanApply() = %v, want %v", err, tt.want)
			}
		})
	}
	if err := testRules(t, nil).CanApply(callingConv(0), callResult("c1-call-1", true, "", false), inHours); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("a channel without calls: CanApply() = %v, want ErrInvalidInput", err)
	}
}
