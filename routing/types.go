// Package routing is the gateway's decision logic, with no I/O: the
// conversation state machine (README.md, How a conversation is routed), the
// business-hours calendar and the derivation rules that join them.
//
// Rules.Decide takes a conversation, one input and the time, and returns the
// new conversation and the effects the engine must carry out (send a message,
// ask the bot, join or leave the waiting line, record a session, notify,
// request a call) and every outcome the stats count (transferred, declined,
// expired...): the engine carries the effects out and never infers an
// outcome itself. It never reads a clock: "now" is always passed in.
//
// routing imports only the channels package of this module.
package routing

import (
	"time"

	"switchboard/channels"
)

// State is where a conversation stands.
type State string

// Conversation states.
const (
	StateBot      State = "bot"      // the virtual assistant has it
	StateAsking   State = "asking"   // after hours: asked whether the user wants to wait
	StateWaiting  State = "waiting"  // transferred, in the waiting line
	StateAssigned State = "assigned" // an agent has it; the bot is silent
	StateEnded    State = "ended"    // closed; a new user message starts a new bot session

	// States of the messaging-to-call option (call.go).
	StateChoosing State = "choosing" // a referral offered chat or phone
	StatePhone    State = "phone"    // phone chosen: asked for the number to call
	StateCalling  State = "calling"  // the call is being requested from the provider
)

// OpenStates are the states a conversation can expire from: all but ended.
var OpenStates = []State{StateBot, StateAsking, StateWaiting, StateAssigned, StateChoosing, StatePhone, StateCalling}

// SessionKind says who held a session.
type SessionKind string

// Session kinds.
const (
	SessionBot   SessionKind = "bot"
	SessionAgent SessionKind = "agent"
	// SessionWaiting is recorded only for a user who waited in line with no
	// bot or agent session open and expired there, so that abandonment in
	// the line shows in the chat report.
	SessionWaiting SessionKind = "waiting"
)

// Resolution is how a session ended (the chat report's column).
type Resolution string

// Resolutions.
const (
	ResolutionTransferred Resolution = "transferred" // the bot referred the user to the line
	ResolutionDeclined    Resolution = "declined"    // offered to wait and said no; recorded on the session's end
	ResolutionClosed      Resolution = "closed"      // an agent closed it
	ResolutionHandedBack  Resolution = "handed_back" // an agent gave it back to the bot
	ResolutionReleased    Resolution = "released"    // an agent put it back in the line
	ResolutionClaimed     Resolution = "claimed"     // a bot session (while waiting) ended because an agent took over
	ResolutionExpired     Resolution = "expired"     // 24 h (inactivity_timeout) without activity
	// ResolutionCallRequested: the user chose a phone call and the provider accepted the request.
	ResolutionCallRequested Resolution = "call_requested"
	// ResolutionLeft: the user left the waiting line (cancel_keywords, or
	// the "back to the assistant" choice); recorded on the waiting period.
	ResolutionLeft Resolution = "left"
	// ResolutionTakenOver: an agent took the conversation from the bot.
	ResolutionTakenOver Resolution = "taken_over"
)

// Session is one bot or agent session of a conversation.
type Session struct {
	ID    string      `json:"id"`
	Kind  SessionKind `json:"kind"`
	Agent string      `json:"agent,omitempty"`
	Start time.Time   `json:"start"`
	// Declined is set when the user was offered to wait during this session
	// and said no; the session goes on and records it when it ends.
	Declined bool `json:"declined,omitempty"`
	// FirstReply is when the agent of an agent session first wrote to the
	// user (zero until then).
	FirstReply time.Time `json:"first_reply,omitzero"`
}

// Conversation is the routing state of one user on one channel.
type Conversation struct {
	// ID and Channel are not stored with the state: the store's key says them.
	ID       string            `json:"-"`
	Channel  string            `json:"-"`
	Platform channels.Platform `json:"platform"`
	User     channels.User     `json:"user"`
	State    State             `json:"state"`

	// Session is the open session, nil when none is (ended, or waiting with
	// direct referral).
	Session *Session `json:"session,omitempty"`

	// Transferred is true from the moment the user joins the line until the
	// conversation ends or goes back to the bot; WaitingSince is the place in
	// line (the enqueue time), kept while the user chats with the bot and
	// when an agent releases the conversation.
	Transferred  bool      `json:"transferred,omitempty"`
	WaitingSince time.Time `json:"waiting_since,omitzero"`
	// AvailableNotified: agent_available was sent in this waiting period.
	AvailableNotified bool `json:"available_notified,omitempty"`
	// LastAck is when a direct-mode waiting user was last told their message
	// is kept for the agent.
	LastAck time.Time `json:"last_ack,omitzero"`

	AssignedTo string `json:"assigned_to,omitempty"`
	// LastAgent is the agent who last held the conversation (for reopen).
	LastAgent string `json:"last_agent,omitempty"`

	// LastUserMessage opens the platform's messaging window.
	LastUserMessage time.Time `json:"last_user_message,omitzero"`
	// LastActivity (user or agent message) drives inactivity expiry.
	LastActivity time.Time `json:"last_activity,omitzero"`

	// Sessions counts the sessions opened so far (ids are "<conv>-<n>").
	Sessions int `json:"sessions,omitempty"`

	// Call is the messaging-to-call exchange in progress (call.go).
	Call CallState `json:"call,omitzero"`
	// PreferredAgent is the agent the bot's handoff named; automatic
	// assignment gives the conversation to that agent when online with room.
	PreferredAgent string `json:"preferred_agent,omitempty"`
	// ReleasedBy is the agent who last put the conversation back in line;
	// automatic assignment does not give it straight back to them.
	ReleasedBy string `json:"released_by,omitempty"`

	// What closing the loop keeps (loop.go).
	Loop LoopState `json:"loop,omitzero"`
	// MissedAt: the conversation expired while waiting (window.go).
	MissedAt time.Time `json:"missed_at,omitzero"`
	// TemplateAt: an agent sent a template after the user's last message;
	// the window opens again when the user answers (window.go).
	TemplateAt time.Time `json:"template_at,omitzero"`
}

// InputKind says what happened to a conversation.
type InputKind string

// Inputs.
const (
	InUserMessage    InputKind = "user_message"    // Event is a user message (Kind.IsUserMessage)
	InBotReply       InputKind = "bot_reply"       // the bot answered the last AskBot: Bot
	InAgentClaim     InputKind = "agent_claim"     // Agent took the conversation
	InAgentMessage   InputKind = "agent_message"   // Agent wrote to the user (activity)
	InAgentClose     InputKind = "agent_close"     // Agent ended it
	InAgentRelease   InputKind = "agent_release"   // back to the line at the original place
	InAgentHandback  InputKind = "agent_handback"  // back to the bot
	InAgentReopen    InputKind = "agent_reopen"    // Agent reopens an ended conversation
	InAgentAvailable InputKind = "agent_available" // hours opened, or the channel's first agent came online
	InExpire         InputKind = "expire"          // the inactivity sweep found it idle past its deadline
	InCallResult     InputKind = "call_result"     // the call provider answered the request Call.Key
	InAgentTemplate  InputKind = "agent_template"  // Agent sent a template: assigned to Agent (window.go)
	InAgentTakeover  InputKind = "agent_takeover"  // Agent takes a bot conversation (window.go)
	InAgentReengage  InputKind = "agent_reengage"  // Agent replies to a missed conversation: assigned to Agent (window.go)
	// InAgentTransfer: Agent (the holder, or a supervisor) hands an
	// assigned conversation to Target (transfer.go).
	InAgentTransfer InputKind = "agent_transfer"
	// InAgentAssign: Agent, a supervisor, gives a waiting or assigned
	// conversation to Target (transfer.go).
	InAgentAssign InputKind = "agent_assign"
)

// Input is one thing that happened; which fields are set depends on Kind.
type Input struct {
	Kind      InputKind
	Event     *channels.Event // InUserMessage
	Bot       *BotReply       // InBotReply
	Agent     string          // agent inputs: the agent's id
	AgentName string          // InAgentClaim: shown to the user when the channel says so
	Call      *CallResult     // InCallResult
	// AgentFree (InUserMessage): the conversation's last agent is online
	// and under capacity, for reopen_after_close. The engine finds it out.
	AgentFree bool
	// AgentsOnline: an agent of the channel is online (presence online and
	// seen recently), as the engine found it when the input arrived.
	AgentsOnline bool
	// Supervisor: Agent is a supervisor of the channel, who may close,
	// release and transfer a conversation another agent holds, and assign.
	Supervisor bool
	// Target: the agent of InAgentTransfer and InAgentAssign.
	Target *Target
}

// BotReply is what the bot answered to one user message.
type BotReply struct {
	Messages []BotMessage `json:"messages"`
	// Handoff asks to refer the user to a human.
	Handoff bool `json:"handoff,omitempty"`
	// Failed is set by the engine when the bot could not be reached or
	// answered nonsense; Messages then holds the configured fallback.
	Failed bool `json:"failed,omitempty"`
	// Variables are values the bot wants kept for the conversation and
	// sent back with its next requests; Decide ignores them.
	Variables map[string]string `json:"variables,omitempty"`
	// Note is a private note for agents, never sent to the user; Decide
	// ignores it.
	Note string `json:"note,omitempty"`
	// Agent names the agent the bot prefers for a handoff; kept as
	// Conversation.PreferredAgent.
	Agent string `json:"agent,omitempty"`
}

// BotMessage is one message of the bot to the user.
type BotMessage struct {
	Text    string            `json:"text"`
	Choices []channels.Choice `json:"choices,omitempty"`
	// ListButton is channels.Outbound.ListButton, for the gateway's own
	// questions (loop.go).
	ListButton string `json:"-"`
}

// Effect is something the engine must do after a decision. The fields
// besides Kind that are meaningful are those the kind's comment names.
type Effect struct {
	Kind EffectKind
	// Send: the message and who speaks (bot or system).
	Message *BotMessage
	From    Author
	// AskBot: the user message to hand to the bot; NewSession is set when
	// this decision opened the bot session (the bot may greet).
	Event      *channels.Event
	NewSession bool
	// JoinLine: the place in line (score); LeaveLine has no field.
	Since time.Time
	// EndSession: the session that ended, its resolution and when.
	Session    *Session
	Resolution Resolution
	At         time.Time
	// Notify: what agents are told about (waiting, claimed, ended, message...);
	// PrevAgent is the agent who held the conversation before
	// (NoticeTransferred).
	Notice    NoticeKind
	PrevAgent string
	// RequestCall: the call to request from the provider.
	Call *CallRequest
	// Outcome: what the decision amounts to (OutcomeClaimed: the wait
	// began at Since).
	Outcome Outcome
	// CSAT: the answer's 1-based position among the choices, for Session.
	Score int
}

// EffectKind names an effect.
type EffectKind string

// Effects.
const (
	EffectSend       EffectKind = "send"        // Message to the user, From bot/system
	EffectAskBot     EffectKind = "ask_bot"     // Event to the bot; its answer comes back as InBotReply
	EffectJoinLine   EffectKind = "join_line"   // enter the channel's waiting line at Since
	EffectLeaveLine  EffectKind = "leave_line"  // leave the line
	EffectEndSession EffectKind = "end_session" // record Session as ended At with Resolution
	EffectNotify     EffectKind = "notify"      // tell agents: Notice
	// EffectRequestCall: ask the call provider for Call; the answer comes
	// back as InCallResult.
	EffectRequestCall EffectKind = "request_call"
	// EffectOutcome: what the decision amounts to, for the channel's
	// counts and metrics: Outcome.
	EffectOutcome EffectKind = "outcome"
	// EffectCSAT: record Score on the agent session Session.
	EffectCSAT EffectKind = "csat"
	// EffectErase: erase what is held about the user, then tell them so.
	EffectErase EffectKind = "erase"
	// EffectMissed: enter the channel's missed list, expired At.
	EffectMissed EffectKind = "missed"
	// EffectUnmissed: leave the channel's missed list.
	EffectUnmissed EffectKind = "unmissed"
)

// Outcome is what a decision amounts to, as the stats count it.
type Outcome string

// Outcomes.
const (
	OutcomeTransferred Outcome = "transferred" // the user joined the line (a referral, accepted)
	// OutcomeDeclined: offered to wait, the user said no (once per session:
	// the session records it).
	OutcomeDeclined       Outcome = "declined"
	OutcomeAlreadyWaiting Outcome = "already_waiting" // a referral of a user in line; the place is kept
	OutcomeExpired        Outcome = "expired"         // ended by the inactivity timeout; Since: the wait it ended, if it was waiting
	OutcomeClaimed        Outcome = "claimed"         // an agent took it; the wait began at Since
	OutcomeConsentShown   Outcome = "consent_shown"   // a new conversation was shown the consent notice
	OutcomeLeftLine       Outcome = "left_line"       // the user left the line and talks to the bot again
	// OutcomeFirstResponse: an agent's first reply in its session; the
	// session (the assignment) began at Since.
	OutcomeFirstResponse Outcome = "first_response"
	OutcomeMissed        Outcome = "missed" // expired while waiting: kept in the missed list
)

// Author is who a message in the transcript is from.
type Author string

// Authors.
const (
	AuthorUser   Author = "user"
	AuthorBot    Author = "bot"
	AuthorSystem Author = "system" // the gateway's own configured messages
	AuthorAgent  Author = "agent"
	// AuthorBusiness: a message the business sent from another tool (an
	// echo of a send the gateway did not make).
	AuthorBusiness Author = "business"
)

// NoticeKind is the kind of a notice on agents' event streams.
type NoticeKind string

// Notices.
const (
	NoticeWaiting NoticeKind = "conversation.waiting"
	NoticeClaimed NoticeKind = "conversation.claimed"
	NoticeEnded   NoticeKind = "conversation.ended"
	NoticeMessage NoticeKind = "conversation.message"
)

// AfterHours is what a referral outside business hours does.
type AfterHours string

// After-hours modes.
const (
	AfterHoursAsk    AfterHours = "ask"    // offer to wait (the asynchronous mode)
	AfterHoursReject AfterHours = "reject" // the off-hours message; the bot continues
)

// Messages are a channel's configured texts. The yaml tags are their keys
// in the configuration file, which decodes straight into this type.
type Messages struct {
	Offer          string `yaml:"offer"`           // after hours: no agent online, do you want to wait?
	Yes            string `yaml:"yes"`             // the "wait" choice's title
	No             string `yaml:"no"`              // the "no thanks" choice's title
	Attention      string `yaml:"attention"`       // after yes: you are in line
	Declined       string `yaml:"declined"`        // after no
	Transferred    string `yaml:"transferred"`     // referral inside hours
	AlreadyWaiting string `yaml:"already_waiting"` // a second referral while waiting
	AgentAvailable string `yaml:"agent_available"` // an agent is available now
	OffHours       string `yaml:"off_hours"`       // after_hours: reject
	KeptForAgent   string `yaml:"kept_for_agent"`  // direct mode: a message while waiting (at most once per AckInterval)
	Assigned       string `yaml:"assigned"`        // an agent took it; "{agent}" is replaced by the agent's name
	Closed         string `yaml:"closed"`          // an agent closed it
	HandedBack     string `yaml:"handed_back"`     // an agent handed it back to the bot
	LeftLine       string `yaml:"left_line"`       // the user left the line
	BackToBot      string `yaml:"back_to_bot"`     // the title of the choice to leave the line
	ThanksCSAT     string `yaml:"thanks_csat"`     // after a satisfaction answer
	EraseConfirm   string `yaml:"erase_confirm"`   // asks to confirm an erasure
	EraseYes       string `yaml:"erase_yes"`       // the "erase" choice's title
	EraseNo        string `yaml:"erase_no"`        // the "keep" choice's title
	Erased         string `yaml:"erased"`          // after the erasure
	// OfferBeyondWindow replaces Offer when the next opening is after the
	// end of the user's messaging window; "{opens}" names the opening.
	OfferBeyondWindow string `yaml:"offer_beyond_window"`
	// TransferredTo: another agent took the conversation over; "{agent}"
	// is replaced by that agent's name. Empty (the default) says nothing.
	TransferredTo string `yaml:"transferred_to"`
}

// Choice ids the gateway itself puts on buttons; a tap comes back as the
// event's Payload.
const (
	ChoiceWait    = "gw:wait:yes"
	ChoiceNoWait  = "gw:wait:no"
	ChoiceHandoff = "gw:handoff"
)

// Rules are one channel's derivation rules.
type Rules struct {
	// Calendar gives the business hours; nil means always open.
	Calendar *Calendar
	// AfterHours: empty means AfterHoursAsk.
	AfterHours AfterHours
	// Direct: while waiting the user cannot talk to the bot.
	Direct bool
	// InactivityTimeout: 0 means DefaultInactivityTimeout.
	InactivityTimeout time.Duration
	// AckInterval bounds how often a direct-mode waiting user is told their
	// message is kept (0: once per waiting period).
	AckInterval time.Duration
	Messages    Messages
	// HandoffKeywords are whole words that refer the user to a human.
	HandoffKeywords []string
	// YesWords and NoWords answer the offer by text (empty: DefaultYesWords,
	// DefaultNoWords).
	YesWords []string
	NoWords  []string
	// Call offers a phone call besides the chat on a referral; nil offers
	// none.
	Call *CallOffer
	// Consent is the notice a new conversation is shown before anything
	// else (data protection); empty shows none.
	Consent string
	// CancelKeywords let a waiting user leave the line (empty: none).
	CancelKeywords []string
	// ReopenAfterClose: a user message this soon after an agent closed the
	// conversation returns it to that agent (0: never).
	ReopenAfterClose time.Duration
	// CSAT asks for satisfaction after an agent closes; nil asks nothing.
	CSAT *CSAT
	// EraseKeywords ask for the erasure of the user's data (empty: none).
	EraseKeywords []string
	// Window is how long after the user's last message the business may
	// write freely (0: ReopenWindow, 24 h).
	Window time.Duration
	// NoAgentOnline: what a referral inside hours does with no agent of the
	// channel online (empty: NoAgentWait).
	NoAgentOnline NoAgentOnline
	// Language names the days in "{opens}": en (default), es, pt or fr.
	Language string
}
