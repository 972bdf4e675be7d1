package routing

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/channels"
)

func TestLoop(t *testing.T) {
	var (
		cancel = func(r *Rules) {
			r.CancelKeywords = []string{"cancel", "salir"}
			r.Messages.LeftLine, r.Messages.BackToBot = "left line", "Back to the assistant"
		}
		reopen = func(r *Rules) { r.ReopenAfterClose = 10 * time.Minute }
		csat   = func(r *Rules) {
			r.CSAT = &CSAT{Question: "How did we do?", Choices: []string{"1", "2", "3", "4", "5"}, Button: "Rate"}
			r.Messages.ThanksCSAT = "thanks"
		}
		erase = func(r *Rules) {
			r.EraseKeywords = []string{"delete my data"}
			r.Messages.EraseConfirm, r.Messages.EraseYes, r.Messages.EraseNo = "sure?", "Delete", "Keep"
		}
		closedAt  = inHours
		soon      = inHours.Add(5 * time.Minute)
		late      = inHours.Add(10 * time.Minute)
		closedBy  = func(c *Conversation) { c.Loop.ClosedAt = closedAt }
		csatAsked = func(c *Conversation) {
			c.Loop.ClosedAt = closedAt
			c.Loop.CSATSession, c.Loop.CSATAgent = "c1-2", "ana"
		}
		csatQuestion = BotMessage{Text: "How did we do?", Choices: []channels.Choice{
			{ID: "gw:csat:1", Title: "1"}, {ID: "gw:csat:2", Title: "2"}, {ID: "gw:csat:3", Title: "3"},
			{ID: "gw:csat:4", Title: "4"}, {ID: "gw:csat:5", Title: "5"}}, ListButton: "Rate"}
		eraseQuestion = BotMessage{Text: "sure?", Choices: []channels.Choice{{ID: ChoiceEraseYes, Title: "Delete"}, {ID: ChoiceEraseNo, Title: "Keep"}}}
		waitSession   = &Session{ID: "c1-w1", Kind: SessionWaiting, Start: tStart}
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
		// Leave the line.
		{
			name: "a cancel keyword takes a waiting user out of the line and back to the bot", rules: cancel,
			conv: waitingConv(), in: text("Cancel, please", inHours), now: inHours,
			want: change(waitingConv(), func(c *Conversation) {
				userAt(inHours)(c)
				c.State, c.Transferred, c.WaitingSince = StateBot, false, time.Time{}
				c.Sessions, c.Session = 2, session(2, SessionBot, "", inHours)
			}),
			effects: []Effect{sys("left line"), endSession(waitSession, ResolutionLeft, inHours), leave(), notify(NoticeEnded), outcome(OutcomeLeftLine)},
		},
		{
			name: "the back-to-the-assistant choice keeps the bot session of a user chatting while waiting", rules: cancel,
			conv: waitingChatConv(), in: tap(ChoiceLeaveLine, "Back to the assistant", inHours), now: inHours,
			want: change(waitingChatConv(), func(c *Conversation) {
				userAt(inHours)(c)
				c.State, c.Transferred, c.WaitingSince = StateBot, false, time.Time{}
			}),
			effects: []Effect{sys("left line"), endSession(&Session{ID: "c1-w2", Kind: SessionWaiting, Start: tStart}, ResolutionLeft, inHours), leave(), notify(NoticeEnded), outcome(OutcomeLeftLine)},
		},
		{
			name: "a cancel keyword outside the line goes to the bot", rules: cancel,
			conv: botConv(), in: text("cancel", inHours), now: inHours,
			want:    change(botConv(), userAt(inHours)),
			effects: []Effect{askBot(textEvent("cancel", inHours), false)},
		},
		{
			name: "joining the line offers the way back where users may leave it", rules: cancel,
			conv: botConv(), in: text("humano", inHours), now: inHours,
			want: transferredAt(inHours),
			effects: []Effect{
				{Kind: EffectSend, From: AuthorSystem, Message: &BotMessage{Text: "transferred", Choices: []channels.Choice{{ID: ChoiceLeaveLine, Title: "Back to the assistant"}}}},
				endSession(session(1, SessionBot, "", tStart), ResolutionTransferred, inHours), join(inHours), notify(NoticeWaiting), outcome(OutcomeTransferred),
			},
		},
		// Come back to the same agent.
		{
			name: "a message soon after the close returns to the agent when free", rules: reopen,
			conv: change(endedConv(), closedBy), in: Input{Kind: InUserMessage, Event: textEvent("one more thing", soon), AgentFree: true}, now: soon,
			want: change(endedConv(), func(c *Conversation) {
				userAt(soon)(c)
				c.State, c.AssignedTo, c.Transferred = StateAssigned, "ana", true
				c.Sessions, c.Session = 3, session(3, SessionAgent, "ana", soon)
			}),
			effects: []Effect{notify(NoticeClaimed), notify(NoticeMessage)},
		},
		{
			name: "a message soon after the close joins the line when the agent is busy or away", rules: reopen,
			conv: change(endedConv(), closedBy), in: text("one more thing", soon), now: soon,
			want: change(endedConv(), func(c *Conversation) {
				userAt(soon)(c)
				closedBy(c)
				c.State, c.Transferred, c.WaitingSince, c.PreferredAgent = StateWaiting, true, soon, "ana"
			}),
			effects: []Effect{sys("transferred"), join(soon), notify(NoticeWaiting), outcome(OutcomeTransferred)},
		},
		{
			name: "a message after reopen_after_close goes to the bot", rules: reopen,
			conv: change(endedConv(), closedBy), in: Input{Kind: InUserMessage, Event: textEvent("hello", late), AgentFree: true}, now: late,
			want: change(endedConv(), func(c *Conversation) {
				userAt(late)(c)
				closedBy(c)
				c.State, c.Sessions, c.Session = StateBot, 3, session(3, SessionBot, "", late)
			}),
			effects: []Effect{askBot(textEvent("hello", late), true)},
		},
		{
			name: "the agent reopens after the user wrote first: the bot session ends",
			conv: change(endedConv(), func(c *Conversation) {
				closedBy(c)
				c.State, c.Sessions, c.Session = StateBot, 3, session(3, SessionBot, "", late)
			}),
			in: agentInput(InAgentReopen, "ana"), now: late,
			want: change(endedConv(), func(c *Conversation) {
				c.State, c.AssignedTo, c.Transferred = StateAssigned, "ana", true
				c.Sessions, c.Session = 4, session(4, SessionAgent, "ana", late)
			}),
			effects: []Effect{endSession(session(3, SessionBot, "", late), ResolutionClaimed, late), notify(NoticeClaimed)},
		},
		// Satisfaction.
		{
			name: "an agent's close asks the satisfaction question", rules: csat,
			conv: assignedConv(), in: agentInput(InAgentClose, "ana"), now: closedAt,
			want: change(endedConv(), csatAsked),
			effects: []Effect{
				sys("closed"), {Kind: EffectSend, From: AuthorSystem, Message: &csatQuestion},
				endSession(session(2, SessionAgent, "ana", tStart), ResolutionClosed, closedAt), notify(NoticeEnded),
			},
		},
		{
			name: "a hand-back asks nothing", rules: csat,
			conv: assignedConv(), in: agentInput(InAgentHandback, "ana"), now: closedAt,
			want: change(endedConv(), func(c *Conversation) {
				c.State, c.Sessions, c.Session = StateBot, 3, session(3, SessionBot, "", closedAt)
			}),
			effects: []Effect{sys("handed back"), endSession(session(2, SessionAgent, "ana", tStart), ResolutionHandedBack, closedAt), notify(NoticeEnded)},
		},
		{
			name: "a tapped answer is recorded on the agent's session and thanked", rules: csat,
			conv: change(endedConv(), csatAsked), in: tap("gw:csat:4", "4", soon), now: soon,
			want:    change(endedConv(), func(c *Conversation) { userAt(soon)(c); closedBy(c) }),
			effects: []Effect{sys("thanks"), {Kind: EffectCSAT, Session: &Session{ID: "c1-2", Kind: SessionAgent, Agent: "ana"}, Score: 4}},
		},
		{
			name: "a typed answer counts too", rules: csat,
			conv: change(endedConv(), csatAsked), in: text("5", soon), now: soon,
			want:    change(endedConv(), func(c *Conversation) { userAt(soon)(c); closedBy(c) }),
			effects: []Effect{sys("thanks"), {Kind: EffectCSAT, Session: &Session{ID: "c1-2", Kind: SessionAgent, Agent: "ana"}, Score: 5}},
		},
		{
			name: "anything else lapses the question and goes to the bot", rules: csat,
			conv: change(endedConv(), csatAsked), in: text("hello", soon), now: soon,
			want: change(endedConv(), func(c *Conversation) {
				userAt(soon)(c)
				closedBy(c)
				c.State, c.Sessions, c.Session = StateBot, 3, session(3, SessionBot, "", soon)
			}),
			effects: []Effect{askBot(textEvent("hello", soon), true)},
		},
		// Erasure on request.
		{
			name: "an erasure keyword asks to confirm", rules: erase,
			conv: botConv(), in: text("please delete my data", inHours), now: inHours,
			want:    change(botConv(), func(c *Conversation) { userAt(inHours)(c); c.Loop.EraseAsked = true }),
			effects: []Effect{{Kind: EffectSend, From: AuthorSystem, Message: &eraseQuestion}},
		},
		{
			name: "confirmed, the user's data is erased", rules: erase,
			conv: change(botConv(), func(c *Conversation) { c.Loop.EraseAsked = true }), in: tap(ChoiceEraseYes, "Delete", inHours), now: inHours,
			want:    change(botConv(), userAt(inHours)),
			effects: []Effect{{Kind: EffectErase}},
		},
		{
			name: "declined, nothing happens", rules: erase,
			conv: change(botConv(), func(c *Conversation) { c.Loop.EraseAsked = true }), in: text("Keep", inHours), now: inHours,
			want: change(botConv(), userAt(inHours)),
		},
		{
			name: "anything else lapses the erasure question", rules: erase,
			conv: change(botConv(), func(c *Conversation) { c.Loop.EraseAsked = true }), in: text("hours?", inHours), now: inHours,
			want:    change(botConv(), userAt(inHours)),
			effects: []Effect{askBot(textEvent("hours?", inHours), false)},
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

func TestCanReopenAfterTheUserWroteFirst(t *testing.T) {
	r := testRules(t, nil)
	bot := change(endedConv(), func(c *Conversation) { c.State, c.Session = StateBot, session(3, SessionBot, "", inHours) })
	if err := r.CanApply(bot, agentInput(InAgentReopen, "ana"), inHours); !errors.Is(err, ErrNotEnded) {
		t.Errorf("reopen of a bot conversation no agent closed: %v, want ErrNotEnded", err)
	}
	bot.Loop.ClosedAt = tStart
	if err := r.CanApply(bot, agentInput(InAgentReopen, "ana"), inHours); err != nil {
		t.Errorf("reopen after the user wrote first: %v", err)
	}
	if err := r.CanApply(bot, agentInput(InAgentReopen, "bob"), inHours); !errors.Is(err, ErrNotYours) {
		t.Errorf("reopen by another agent: %v, want ErrNotYours", err)
	}
}
