package routing

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/channels"
)

// Saturday 21 November 2026, 22:00 UTC: the line (weekdays 09:00-18:00)
// opens on Monday 23 at 09:00, 35 hours later.
var saturdayNight = time.Date(2026, 11, 21, 22, 0, 0, 0, time.UTC)

func beyondRules(t *testing.T, change func(*Rules)) *Rules {
	return testRules(t, func(r *Rules) {
		r.Messages.OfferBeyondWindow = "back {opens}, {user.name}"
		if change != nil {
			change(r)
		}
	})
}

func offerText(t *testing.T, effects []Effect) string {
	t.Helper()
	for _, ef := range effects {
		if ef.Kind == EffectSend && len(ef.Message.Choices) == 2 {
			return ef.Message.Text
		}
	}
	t.Fatalf("no offer among %+v", effects)
	return ""
}

func TestOfferBeyondWindow(t *testing.T) {
	tests := []struct {
		name  string
		rules func(*Rules)
		at    time.Time
		want  string
	}{
		{"Saturday night: the opening is past the 24 h window", nil, saturdayNight, "back Monday 09:00, Ana Souza"},
		{"in the channel's language", func(r *Rules) { r.Language = "es" }, saturdayNight, "back lunes 09:00, Ana Souza"},
		{"Portuguese", func(r *Rules) { r.Language = "pt" }, saturdayNight, "back segunda-feira 09:00, Ana Souza"},
		{"a weeknight: the opening is within the window", nil, afterHours, "offer"},
		{"a 7-day window (human_agent_tag) covers the weekend", func(r *Rules) { r.Window = 7 * 24 * time.Hour }, saturdayNight, "offer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := beyondRules(t, tt.rules)
			got, effects := r.Decide(botConv(), text("agente", tt.at), tt.at)
			if got.State != StateAsking {
				t.Fatalf("state %s, want asking", got.State)
			}
			if txt := offerText(t, effects); txt != tt.want {
				t.Errorf("offer %q, want %q", txt, tt.want)
			}
		})
	}
}

func TestOfferBeyondWindowInTheChannelsZone(t *testing.T) {
	loc, err := time.LoadLocation("America/Argentina/Buenos_Aires")
	if err != nil {
		t.Fatal(err)
	}
	cal, err := NewCalendar(Hours{Location: loc, Weekly: everyWeekday("09:00-18:00")})
	if err != nil {
		t.Fatal(err)
	}
	r := beyondRules(t, func(r *Rules) { r.Calendar = cal })
	at := time.Date(2026, 11, 21, 22, 0, 0, 0, loc)
	_, effects := r.Decide(botConv(), text("agente", at), at)
	if txt := offerText(t, effects); txt != "back Monday 09:00, Ana Souza" {
		t.Errorf("offer %q", txt)
	}
}

func TestFormatOpeningFarAway(t *testing.T) {
	opening := saturdayNight.Add(10 * 24 * time.Hour)
	if got, want := FormatOpening(opening, saturdayNight, time.UTC, "fr"), "mardi 2026-12-01 22:00"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := FormatOpening(saturdayNight, saturdayNight, nil, "xx"), "Saturday 22:00"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNoAgentOnline(t *testing.T) {
	tests := []struct {
		mode   NoAgentOnline
		online bool
		state  State
		first  string
	}{
		{"", false, StateWaiting, "transferred"},
		{NoAgentWait, false, StateWaiting, "transferred"},
		{NoAgentAsk, false, StateAsking, "offer"},
		{NoAgentReject, false, StateBot, "off hours"},
		{NoAgentAsk, true, StateWaiting, "transferred"},
		{NoAgentReject, true, StateWaiting, "transferred"},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			r := testRules(t, func(r *Rules) { r.NoAgentOnline = tt.mode })
			in := text("agente", inHours)
			in.AgentsOnline = tt.online
			got, effects := r.Decide(botConv(), in, inHours)
			if got.State != tt.state {
				t.Errorf("state %s, want %s", got.State, tt.state)
			}
			if len(effects) == 0 || effects[0].Kind != EffectSend || effects[0].Message.Text != tt.first {
				t.Errorf("first effect %+v, want the %q message", effects, tt.first)
			}
		})
	}
}

func TestAgentAvailableNeedsSomeoneOnline(t *testing.T) {
	r := testRules(t, nil)
	got, effects := r.Decide(waitingConv(), Input{Kind: InAgentAvailable}, inHours)
	if len(effects) != 0 || got.AvailableNotified {
		t.Errorf("told with nobody online: %+v", effects)
	}
}

func TestMissedThenTemplate(t *testing.T) {
	r := testRules(t, nil)
	expireAt := tStart.Add(24 * time.Hour)
	missed, _ := r.Decide(waitingConv(), Input{Kind: InExpire}, expireAt)
	if missed.State != StateEnded || !missed.MissedAt.Equal(expireAt) {
		t.Fatalf("after expiry: state %s, missed at %v", missed.State, missed.MissedAt)
	}
	at := expireAt.Add(30 * time.Hour)
	if err := r.CanApply(missed, agentInput(InAgentTemplate, "ana"), at); err != nil {
		t.Fatalf("template refused: %v", err)
	}
	got, effects := r.Decide(missed, agentInput(InAgentTemplate, "ana"), at)
	want := change(missed, func(c *Conversation) {
		c.State, c.AssignedTo, c.LastAgent, c.Transferred = StateAssigned, "ana", "ana", true
		c.Session, c.Sessions = &Session{ID: "c1-2", Kind: SessionAgent, Agent: "ana", Start: at}, 2
		c.MissedAt, c.TemplateAt, c.LastActivity = time.Time{}, at, at
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("conversation (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Effect{{Kind: EffectUnmissed}, notify(NoticeClaimed)}, effects); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
	if !WindowPending(got) {
		t.Error("window not pending after the template")
	}
	answered, effects := r.Decide(got, text("hi", at.Add(time.Hour)), at.Add(time.Hour))
	if WindowPending(answered) || answered.State != StateAssigned {
		t.Errorf("after the answer: pending %v, state %s", WindowPending(answered), answered.State)
	}
	if diff := cmp.Diff([]Effect{notify(NoticeMessage)}, effects); diff != "" {
		t.Errorf("effects of the answer (-want +got):\n%s", diff)
	}
}

func TestTemplateTakesAWaitingConversation(t *testing.T) {
	r := testRules(t, nil)
	got, effects := r.Decide(waitingConv(), agentInput(InAgentTemplate, "ana"), inHours)
	if got.State != StateAssigned || got.AssignedTo != "ana" {
		t.Fatalf("state %s to %q", got.State, got.AssignedTo)
	}
	want := []Effect{leave(), notify(NoticeClaimed), claimed(tStart)}
	if diff := cmp.Diff(want, effects); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
}

func TestTakeover(t *testing.T) {
	r := testRules(t, nil)
	in := Input{Kind: InAgentTakeover, Agent: "ana", AgentName: "Ana"}
	got, effects := r.Decide(botConv(), in, inHours)
	want := []Effect{
		sys("Ana is here"),
		endSession(session(1, SessionBot, "", tStart), ResolutionTakenOver, inHours),
		notify(NoticeClaimed),
	}
	if diff := cmp.Diff(want, effects); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
	if got.State != StateAssigned || got.AssignedTo != "ana" || got.Session.Kind != SessionAgent {
		t.Errorf("after takeover: %+v", got)
	}
}

func TestCanApplyWindowInputs(t *testing.T) {
	r := testRules(t, nil)
	tests := []struct {
		name string
		conv Conversation
		in   Input
		want error
	}{
		{"template starts a new conversation", newConv(), agentInput(InAgentTemplate, "ana"), nil},
		{"template on another agent's", assignedConv(), agentInput(InAgentTemplate, "bob"), ErrNotYours},
		{"template on one the agent holds", assignedConv(), agentInput(InAgentTemplate, "ana"), nil},
		{"template on a bot conversation", botConv(), agentInput(InAgentTemplate, "ana"), ErrNotEnded},
		{"template without agent", endedConv(), agentInput(InAgentTemplate, ""), ErrInvalidInput},
		{"takeover of a waiting conversation", waitingConv(), agentInput(InAgentTakeover, "ana"), ErrNotTakeable},
		{"takeover of an asking conversation", askingConv(), agentInput(InAgentTakeover, "ana"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.CanApply(tt.conv, tt.in, inHours); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUserMessageLeavesTheMissedList(t *testing.T) {
	r := testRules(t, nil)
	missed := change(endedConv(), func(c *Conversation) { c.MissedAt = inHours })
	ev := &channels.Event{ID: "wamid.x", User: testUser, Timestamp: inHours, Kind: channels.KindText, Text: "hello"}
	got, effects := r.Decide(missed, Input{Kind: InUserMessage, Event: ev}, inHours)
	if !got.MissedAt.IsZero() || len(effects) == 0 {
		t.Fatalf("still missed: %+v", got)
	}
	found := false
	for _, ef := range effects {
		found = found || ef.Kind == EffectUnmissed
	}
	if !found {
		t.Errorf("no unmissed effect in %+v", effects)
	}
}

func TestUnknownPlaceholder(t *testing.T) {
	if p, bad := UnknownPlaceholder("Hi {user.name}, {agent} at {position}, back {opens}"); bad {
		t.Errorf("known placeholders reported: %s", p)
	}
	if p, bad := UnknownPlaceholder("Hi {user.nmae}"); !bad || p != "{user.nmae}" {
		t.Errorf("got %q %v", p, bad)
	}
}

func TestRender(t *testing.T) {
	r := beyondRules(t, nil)
	d := &decision{rules: r, c: botConv(), now: saturdayNight, agentName: "Bea"}
	tests := []struct{ text, want string }{
		{"no placeholder", "no placeholder"},
		{"{agent} here", "Bea here"},
		{"Hi {user.name}, {agent} and {agent}", "Hi Ana Souza, Bea and Bea"},
		{"back {opens}", "back Monday 09:00"},
		{"{position} and {unknown} stay", "{position} and {unknown} stay"},
		{"{{agent}} {", "{Bea} {"},
		{"{user.name", "{user.name"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := d.render(tt.text); got != tt.want {
			t.Errorf("render(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
	d.rules = testRules(t, func(r *Rules) { r.Calendar = nil }) // {opens} is not known
	if got := d.render("back {opens}"); got != "back {opens}" {
		t.Errorf("without a calendar: %q", got)
	}
}
