package routing

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func toBob(held, max int) *Target {
	return &Target{ID: "bob", Name: "Bob", Serves: true, Held: held, Max: max}
}

func TestCanApplyTransfer(t *testing.T) {
	offChannel := &Target{ID: "bob", Serves: false}
	tests := []struct {
		name string
		conv Conversation
		in   Input
		want error
	}{
		{"holder transfers", assignedConv(), Input{Kind: InAgentTransfer, Agent: "ana", Target: toBob(0, 2)}, nil},
		{"another agent may not", assignedConv(), Input{Kind: InAgentTransfer, Agent: "carl", Target: toBob(0, 2)}, ErrNotYours},
		{"a supervisor may", assignedConv(), Input{Kind: InAgentTransfer, Agent: "sue", Supervisor: true, Target: toBob(0, 2)}, nil},
		{"no target", assignedConv(), Input{Kind: InAgentTransfer, Agent: "ana"}, ErrInvalidInput},
		{"not assigned", waitingConv(), Input{Kind: InAgentTransfer, Agent: "ana", Target: toBob(0, 2)}, ErrNotAssigned},
		{"to the holder", assignedConv(), Input{Kind: InAgentTransfer, Agent: "ana", Target: &Target{ID: "ana", Serves: true}}, ErrAlreadyHolds},
		{"off the channel", assignedConv(), Input{Kind: InAgentTransfer, Agent: "ana", Target: offChannel}, ErrNotServing},
		{"at capacity", assignedConv(), Input{Kind: InAgentTransfer, Agent: "ana", Target: toBob(2, 2)}, ErrAtCapacity},
		{"no capacity limit", assignedConv(), Input{Kind: InAgentTransfer, Agent: "ana", Target: toBob(40, 0)}, nil},
		{"assign a waiting one", waitingConv(), Input{Kind: InAgentAssign, Agent: "sue", Supervisor: true, Target: toBob(0, 2)}, nil},
		{"assign an assigned one", assignedConv(), Input{Kind: InAgentAssign, Agent: "sue", Supervisor: true, Target: toBob(0, 2)}, nil},
		{"assign by an agent", waitingConv(), Input{Kind: InAgentAssign, Agent: "ana", Target: toBob(0, 2)}, ErrNotSupervisor},
		{"assign an ended one", endedConv(), Input{Kind: InAgentAssign, Agent: "sue", Supervisor: true, Target: toBob(0, 2)}, ErrNotWaiting},
		{"assign a bot one", botConv(), Input{Kind: InAgentAssign, Agent: "sue", Supervisor: true, Target: toBob(0, 2)}, ErrNotWaiting},
		{"assign at capacity", waitingConv(), Input{Kind: InAgentAssign, Agent: "sue", Supervisor: true, Target: toBob(1, 1)}, ErrAtCapacity},
		{"supervisor closes another's", assignedConv(), Input{Kind: InAgentClose, Agent: "sue", Supervisor: true}, nil},
		{"supervisor releases another's", assignedConv(), Input{Kind: InAgentRelease, Agent: "sue", Supervisor: true}, nil},
		{"supervisor release of a waiting one", waitingConv(), Input{Kind: InAgentRelease, Agent: "sue", Supervisor: true}, ErrNotAssigned},
		{"supervisor may not hand back another's", assignedConv(), Input{Kind: InAgentHandback, Agent: "sue", Supervisor: true}, ErrNotYours},
	}
	r := testRules(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.CanApply(tt.conv, tt.in, inHours); !errors.Is(err, tt.want) {
				t.Errorf("CanApply() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecideTransfer(t *testing.T) {
	told := func(r *Rules) { r.Messages.TransferredTo = "{agent} takes over" }
	tests := []struct {
		name    string
		rules   func(*Rules)
		conv    Conversation
		in      Input
		want    Conversation
		effects []Effect
	}{
		{
			name: "transfer ends the holder's session and opens the new agent's",
			conv: assignedConv(), in: Input{Kind: InAgentTransfer, Agent: "ana", Target: toBob(0, 2)},
			want: change(assignedConv(), func(c *Conversation) {
				c.AssignedTo, c.LastAgent = "bob", "bob"
				c.Sessions, c.Session = 3, session(3, SessionAgent, "bob", inHours)
			}),
			effects: []Effect{
				endSession(session(2, SessionAgent, "ana", tStart), ResolutionTransferredToAgent, inHours),
				{Kind: EffectNotify, Notice: NoticeTransferred, PrevAgent: "ana"},
			},
		},
		{
			name: "the user is told the new agent's name when the channel says so", rules: told,
			conv: assignedConv(), in: Input{Kind: InAgentTransfer, Agent: "ana", Target: toBob(0, 2)},
			want: change(assignedConv(), func(c *Conversation) {
				c.AssignedTo, c.LastAgent = "bob", "bob"
				c.Sessions, c.Session = 3, session(3, SessionAgent, "bob", inHours)
			}),
			effects: []Effect{
				sys("Bob takes over"),
				endSession(session(2, SessionAgent, "ana", tStart), ResolutionTransferredToAgent, inHours),
				{Kind: EffectNotify, Notice: NoticeTransferred, PrevAgent: "ana"},
			},
		},
		{
			name: "a supervisor's assignment of a waiting conversation is a claim for the agent",
			conv: waitingConv(), in: Input{Kind: InAgentAssign, Agent: "sue", Supervisor: true, Target: toBob(0, 2)},
			want: change(waitingConv(), func(c *Conversation) {
				c.State = StateAssigned
				c.AssignedTo, c.LastAgent = "bob", "bob"
				c.Sessions, c.Session = 2, session(2, SessionAgent, "bob", inHours)
			}),
			effects: []Effect{sys("Bob is here"), leave(), notify(NoticeClaimed), claimed(tStart)},
		},
		{
			name: "a refused transfer changes nothing",
			conv: assignedConv(), in: Input{Kind: InAgentTransfer, Agent: "ana", Target: toBob(2, 2)},
			want: assignedConv(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRules(t, tt.rules)
			got, effects := r.Decide(tt.conv, tt.in, inHours)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("conversation (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.effects, effects); diff != "" {
				t.Errorf("effects (-want +got):\n%s", diff)
			}
		})
	}
}
