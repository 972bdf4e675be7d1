package routing

import (
	"errors"
	"strings"
)

// Transfers and supervisors' assignments: one agent hands a conversation to
// a colleague (InAgentTransfer), or a supervisor gives a waiting or
// assigned conversation to an agent (InAgentAssign). The engine looks the
// colleague up (Input.Target: whether they serve the channel, how many
// conversations they hold and may hold) and routing decides, so the
// reasons for a refusal are decided here, purely.

// Why a transfer or an assignment cannot apply.
var (
	ErrNotServing    = errors.New("the agent does not serve the conversation's channel")
	ErrAtCapacity    = errors.New("the agent holds max_conversations already")
	ErrAlreadyHolds  = errors.New("the agent holds the conversation already")
	ErrNotSupervisor = errors.New("only a supervisor may do this")
)

// ResolutionTransferredToAgent ends an agent session whose conversation
// went to another agent (a transfer, or a supervisor's reassignment); the
// new agent's session starts at the same instant.
const ResolutionTransferredToAgent Resolution = "transferred_to_agent"

// NoticeTransferred tells agents a conversation went from one agent
// (Effect.PrevAgent, the notice's "from") to another (the new holder).
const NoticeTransferred NoticeKind = "conversation.transferred"

// Target is the agent a conversation is transferred or assigned to, as the
// engine found it in the configuration and the line.
type Target struct {
	ID   string
	Name string // replaces "{agent}" in Messages.TransferredTo (the id when empty)
	// Serves: the agent serves the conversation's channel.
	Serves bool
	// Held is how many conversations the agent holds now; Max how many it
	// may hold (0: no limit).
	Held, Max int
}

// canTransfer checks an InAgentTransfer (assign false) or InAgentAssign.
// Capacity is checked last: it is the one reason that may change by
// itself.
func canTransfer(c Conversation, in Input, assign bool) error {
	t := in.Target
	switch {
	case in.Agent == "" || t == nil || t.ID == "":
		return ErrInvalidInput
	case assign && !in.Supervisor:
		return ErrNotSupervisor
	case assign && c.State != StateWaiting && c.State != StateAssigned:
		return ErrNotWaiting
	case !assign && c.State != StateAssigned:
		return ErrNotAssigned
	case !assign && c.AssignedTo != in.Agent && !in.Supervisor:
		return ErrNotYours
	case c.State == StateAssigned && c.AssignedTo == t.ID:
		return ErrAlreadyHolds
	case !t.Serves:
		return ErrNotServing
	case t.Max > 0 && t.Held >= t.Max:
		return ErrAtCapacity
	}
	return nil
}

// handOver hands an assigned conversation to t: the holder's agent
// session ends transferred_to_agent and t's begins; the user is told
// when the channel says so. A waiting conversation is claimed for t.
func (d *decision) handOver(t *Target) {
	if d.c.State == StateWaiting {
		d.claim(t.ID, t.Name)
		return
	}
	from := d.c.AssignedTo
	d.endSession(ResolutionTransferredToAgent)
	d.openSession(SessionAgent, t.ID)
	d.c.AssignedTo, d.c.LastAgent = t.ID, t.ID
	d.notices = append(d.notices, Effect{Kind: EffectNotify, Notice: NoticeTransferred, PrevAgent: from})
	name := t.Name
	if name == "" {
		name = t.ID
	}
	d.say(strings.ReplaceAll(d.rules.Messages.TransferredTo, "{agent}", name))
}
