package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"switchboard/channels"
	"switchboard/config"
	"switchboard/queue"
	"switchboard/routing"
)

// WhatsApp templates: the only messages a business may send outside the
// user's 24-hour window. An agent sends one to re-engage a user (missed, or
// whose window closed) or to start a conversation; the conversation becomes
// the agent's, and free text is refused until the user answers.

// ErrTemplatesWhatsApp: a template or a new conversation on a Messenger or
// Instagram channel.
var ErrTemplatesWhatsApp = &Error{Code: CodeBadRequest, Message: "templates and new conversations are WhatsApp's; on Messenger and Instagram reply within the window (7 days with human_agent_tag)"}

// SendTemplate sends the channel's template name to the user of a
// conversation and assigns the conversation to the agent. It returns the
// routing error when the conversation is another agent's or the bot's, and
// an Error with CodeTemplateRefused naming the problem when the platform
// refuses the template.
func (e *Engine) SendTemplate(ctx context.Context, a Agent, convID, name string) (ConversationView, error) {
	rec, err := e.authorize(ctx, a, convID)
	if err != nil {
		return ConversationView{}, err
	}
	return e.sendTemplate(ctx, a, rec, name)
}

// StartConversation starts a conversation with a WhatsApp user by sending
// the channel's template name; it is assigned to the agent. user is the
// user's number, digits only. An existing conversation with the user is
// re-engaged the same way, if it may be.
func (e *Engine) StartConversation(ctx context.Context, a Agent, channelID, user, name string) (ConversationView, error) {
	if !a.Serves(channelID) {
		return ConversationView{}, ErrForbidden
	}
	ch, ok := e.setup.Load().channels[channelID]
	if !ok {
		return ConversationView{}, &Error{Code: CodeNotFound, Message: "no such channel"}
	}
	if ch.platform != channels.WhatsApp {
		return ConversationView{}, ErrTemplatesWhatsApp
	}
	if err := userIsPhoneNumber(user); err != nil {
		return ConversationView{}, err
	}
	rec, err := e.convs.Load(ctx, queue.ConversationID(channelID, user))
	if err != nil {
		return ConversationView{}, err
	}
	if rec.Version == 0 {
		rec.Platform, rec.User = ch.platform, channels.User{ID: user}
	}
	return e.sendTemplate(ctx, a, rec, name)
}

// sendTemplate sends the template, then commits the assignment with the
// template in the transcript. The send comes first so that a refused
// template changes nothing and its error reaches the agent.
func (e *Engine) sendTemplate(ctx context.Context, a Agent, rec *queue.Record, name string) (ConversationView, error) {
	s := e.setup.Load()
	ch, ok := s.channels[rec.Channel]
	if !ok {
		return ConversationView{}, queue.ErrNotFound
	}
	if ch.platform != channels.WhatsApp {
		return ConversationView{}, ErrTemplatesWhatsApp
	}
	t, ok := ch.cfg.Template(name)
	if !ok {
		return ConversationView{}, &Error{Code: CodeBadRequest, Message: fmt.Sprintf("channel %s has no template %q", ch.id, name)}
	}
	in := routing.Input{Kind: routing.InAgentTemplate, Agent: a.ID, AgentName: a.Name}
	now := e.now()
	if err := ch.rules.CanApply(rec.Conversation, in, now); err != nil {
		return ConversationView{}, err
	}
	if rec.State != routing.StateAssigned {
		if err := e.underCapacity(ctx, a); err != nil {
			return ConversationView{}, err
		}
	}
	out := channels.Outbound{To: rec.User.ID, Template: templateOf(t, displayName(ch, rec), a.Name)}
	res, err := ch.sender.Send(ctx, out)
	if err != nil {
		return ConversationView{}, templateSendError(err)
	}
	entry := queue.Entry{ID: queue.NewEntryID(), At: now, Author: routing.AuthorAgent, Agent: a.ID, Kind: "template", Text: templateText(out.Template)}
	applied, err := e.apply(ctx, s, rec.ID, in, "", &queue.Commit{Entries: []queue.Entry{entry}}, rec)
	if err != nil {
		e.log.WarnContext(ctx, "template sent but not recorded", "agent", a.ID, "conversation", rec.ID, "message_ids", res.MessageIDs, "err", err)
		return ConversationView{}, err
	}
	e.log.InfoContext(ctx, "template sent", "agent", a.ID, "conversation", applied.ID, "template", t.Name)
	return view(ch, applied, 0, e.now()), nil
}

// templateOf fills a configured template's body parameters.
func templateOf(t *config.Template, userName, agentName string) *channels.Template {
	r := strings.NewReplacer("{user.name}", userName, "{agent}", agentName)
	out := &channels.Template{Name: t.Name, Language: t.Language}
	for _, b := range t.Body {
		out.Parameters = append(out.Parameters, channels.TemplateParam{Text: r.Replace(b)})
	}
	return out
}

// templateText is the template's line in the transcript.
func templateText(t *channels.Template) string {
	params := make([]string, len(t.Parameters))
	for i, p := range t.Parameters {
		params[i] = p.Text
	}
	return "[template " + t.Name + "] " + strings.Join(params, " | ")
}

// templateSendError is what the agent is told about a template that was
// not sent: the platform's refusal by name, 422.
func templateSendError(err error) error {
	var te *channels.TemplateError
	if errors.As(err, &te) {
		return &Error{Code: CodeTemplateRefused, Message: te.Error(), Err: err}
	}
	return &Error{Code: CodeSendFailed, Message: "the platform did not take the template: " + sendFailureReason(err), Err: err}
}
