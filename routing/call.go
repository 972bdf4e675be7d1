package routing

import (
	"errors"
	"fmt"

	"switchboard/channels"
)

// Messaging-to-call. A channel whose Rules.Call is set offers, on a
// referral, a choice between the chat (the waiting line, as without the
// option) and a phone call:
//
//	referral ──► choosing ──chat──► the chat path (transferred / asking / off hours)
//	                │
//	              phone
//	                ▼
//	              phone ──number──► calling ──ok──────► ended (session: call_requested)
//	                ▲                  │
//	                └─── error (< max) ┤
//	                                   └─ error (max) or failed ──► choosing (chat only)
//
// The number is whatever the user typed (or, on WhatsApp, the number they
// write from, offered as one tap): the provider validates it. Each number
// given is one request with its own key (Call.Key): the engine sends it as
// the provider's idempotency key and as the task id, so one answer never
// requests two calls, and a late result of an older request is refused.

// ErrNotCalling: a call result for a request the conversation is not
// waiting for (late, or of an older request).
var ErrNotCalling = errors.New("conversation is not waiting for this call request")

// DefaultCallTries bounds the numbers a user may give when CallOffer.MaxTries is 0.
const DefaultCallTries = 3

// Choice ids of the call option.
const (
	ChoiceChat       = "gw:reach:chat"
	ChoicePhone      = "gw:reach:phone"
	ChoiceThisNumber = "gw:call:this-number"
)

// Default words that pick chat or phone by text.
var (
	DefaultChatWords  = []string{"chat", "text", "escribir", "conversar"}
	DefaultPhoneWords = []string{"phone", "call", "llamada", "llamar", "telefono", "ligar", "ligacao"}
)

// CallOffer is a channel's call option.
type CallOffer struct {
	// AfterHours also offers the call outside business hours.
	AfterHours bool
	// MaxTries bounds the numbers the provider may refuse before the chat is
	// offered instead (0: DefaultCallTries).
	MaxTries int
	// ThisNumber offers the number the user writes from as one tap (WhatsApp).
	ThisNumber bool
	// ChatWords and PhoneWords pick by text (empty: the defaults).
	ChatWords, PhoneWords []string
	Messages              CallMessages
}

// CallMessages are the texts of the call option. The yaml tags are their
// keys in the configuration file, which decodes straight into this type.
type CallMessages struct {
	Choose        string `yaml:"choose"`          // chat or phone?
	Chat          string `yaml:"chat"`            // the chat choice's title
	Phone         string `yaml:"phone"`           // the phone choice's title
	AskNumber     string `yaml:"ask_number"`      // which number should we call?
	UseThisNumber string `yaml:"use_this_number"` // the title of the "this number" choice
	Confirmed     string `yaml:"confirmed"`       // the provider accepted: we will call you
	Apology       string `yaml:"apology"`         // the provider failed: sorry; the chat is offered
	OfferChat     string `yaml:"offer_chat"`      // the chat offered after the tries ran out (empty: Apology)
}

// CallState is a conversation's call exchange.
type CallState struct {
	// Tries counts the numbers the provider refused in this exchange.
	Tries int `json:"tries,omitempty"`
	// Seq counts the requests of the conversation (keys are "<conv>-call-<n>").
	Seq int `json:"seq,omitempty"`
	// Key and Number are the request in progress (state calling).
	Key    string `json:"key,omitempty"`
	Number string `json:"number,omitempty"`
	// ChatOnly: state choosing offers only the chat (after a failure).
	ChatOnly bool `json:"chat_only,omitempty"`
}

// CallRequest is a call to ask the provider for.
type CallRequest struct {
	Key    string // the idempotency key
	Number string // as the user typed it
}

// CallResult is the provider's answer to the request Key.
type CallResult struct {
	Key string
	OK  bool
	// Error is the provider's message refusing the request (a 4xx): it is
	// relayed to the user, who is asked for a number again.
	Error string
	// Failed: the provider could not be reached or kept failing (5xx,
	// timeout) and the retries are exhausted.
	Failed bool
}

// callOffered reports whether a referral at the decision's time offers the call.
func (d *decision) callOffered() bool {
	r := d.rules
	return r.Call != nil && (r.Call.AfterHours || r.Calendar == nil || r.Calendar.Open(d.now))
}

// offerCall asks the user to choose between chat and phone.
func (d *decision) offerCall(chatOnly bool, text string) {
	d.c.State = StateChoosing
	d.c.Call.ChatOnly = chatOnly
	d.c.Call.Key, d.c.Call.Number = "", ""
	d.send(BotMessage{Text: text, Choices: d.rules.reachChoices(chatOnly)}, AuthorSystem)
}

// answerReach handles the reply to the chat-or-phone choice. A reply that
// is neither lapses the choice and goes to the bot.
func (d *decision) answerReach(ev *channels.Event) {
	switch d.rules.reachAnswer(ev, d.c.Call.ChatOnly) {
	case ChoiceChat:
		d.c.State = StateBot
		d.c.Call = CallState{Seq: d.c.Call.Seq}
		d.referToChat()
	case ChoicePhone:
		d.c.State = StatePhone
		d.c.Call = CallState{Seq: d.c.Call.Seq}
		d.askNumber()
	default:
		d.c.State = StateBot
		d.c.Call = CallState{Seq: d.c.Call.Seq}
		d.toBot(ev)
	}
}

func (d *decision) askNumber() {
	m := d.rules.Call.Messages
	msg := BotMessage{Text: m.AskNumber}
	if d.rules.Call.ThisNumber && d.c.Platform == channels.WhatsApp && m.UseThisNumber != "" {
		msg.Choices = []channels.Choice{{ID: ChoiceThisNumber, Title: m.UseThisNumber}}
	}
	d.send(msg, AuthorSystem)
}

// answerNumber takes the user's reply to the number question: the number
// they write from (a tap), the chat choice (a tap on an older message), or
// any text, sent raw. Anything else (media, a location) lapses to the bot.
func (d *decision) answerNumber(ev *channels.Event) {
	var number string
	switch {
	case ev.Payload == ChoiceThisNumber || (d.rules.Call.ThisNumber && ev.Kind == channels.KindText &&
		Normalize(ev.Text) != "" && Normalize(ev.Text) == Normalize(d.rules.Call.Messages.UseThisNumber)):
		number = "+" + d.c.User.ID
	case ev.Payload == ChoiceChat:
		d.c.State = StateBot
		d.c.Call = CallState{Seq: d.c.Call.Seq}
		d.referToChat()
		return
	case ev.Kind == channels.KindText && Normalize(ev.Text) != "":
		number = ev.Text
	default:
		d.c.State = StateBot
		d.c.Call = CallState{Seq: d.c.Call.Seq}
		d.toBot(ev)
		return
	}
	d.c.Call.Seq++
	d.c.Call.Key = fmt.Sprintf("%s-call-%d", d.c.ID, d.c.Call.Seq)
	d.c.Call.Number = number
	d.c.State = StateCalling
	d.said = append(d.said, Effect{Kind: EffectRequestCall, Call: &CallRequest{Key: d.c.Call.Key, Number: number}})
}

// callResult applies the provider's answer.
func (d *decision) callResult(res *CallResult) {
	m := d.rules.Call.Messages
	switch {
	case res.OK:
		d.say(m.Confirmed)
		d.endSession(ResolutionCallRequested)
		d.c.State = StateEnded
		d.c.Call = CallState{Seq: d.c.Call.Seq}
	case res.Failed:
		d.offerCall(true, m.Apology)
	default:
		d.c.Call.Tries++
		d.c.Call.Key, d.c.Call.Number = "", ""
		d.say(res.Error)
		if d.c.Call.Tries >= d.rules.Call.maxTries() {
			d.offerCall(true, firstText(m.OfferChat, m.Apology))
			return
		}
		d.c.State = StatePhone
		d.askNumber()
	}
}

// canApplyCall checks a call result against the request in progress.
func (r *Rules) canApplyCall(c Conversation, res *CallResult) error {
	switch {
	case res == nil || res.Key == "" || r.Call == nil:
		return ErrInvalidInput
	case c.State != StateCalling || c.Call.Key != res.Key:
		return ErrNotCalling
	}
	return nil
}

func (o *CallOffer) maxTries() int {
	if o.MaxTries <= 0 {
		return DefaultCallTries
	}
	return o.MaxTries
}

func (r *Rules) reachChoices(chatOnly bool) []channels.Choice {
	m := r.Call.Messages
	if chatOnly {
		return []channels.Choice{{ID: ChoiceChat, Title: m.Chat}}
	}
	return []channels.Choice{{ID: ChoiceChat, Title: m.Chat}, {ID: ChoicePhone, Title: m.Phone}}
}

// reachAnswer returns ChoiceChat, ChoicePhone or "" for a reply to the
// choice: a tapped choice, its number or title typed, or a text that
// starts with a chat or phone word.
func (r *Rules) reachAnswer(ev *channels.Event, chatOnly bool) string {
	pick := func(id string) string {
		if id == ChoicePhone && chatOnly {
			return ""
		}
		return id
	}
	if ev.Payload == ChoiceChat || ev.Payload == ChoicePhone {
		return pick(ev.Payload)
	}
	if ev.Kind != channels.KindText {
		return ""
	}
	if choice, ok := ParseNumberedChoice(ev.Text, r.reachChoices(chatOnly)); ok {
		return choice.ID
	}
	text := Normalize(ev.Text)
	switch {
	case text == "":
		return ""
	case text == Normalize(r.Call.Messages.Chat):
		return ChoiceChat
	case text == Normalize(r.Call.Messages.Phone):
		return pick(ChoicePhone)
	case startsWithKeyword(text, orDefault(r.Call.ChatWords, DefaultChatWords)):
		return ChoiceChat
	case startsWithKeyword(text, orDefault(r.Call.PhoneWords, DefaultPhoneWords)):
		return pick(ChoicePhone)
	}
	return ""
}

func firstText(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
