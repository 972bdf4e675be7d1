package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/channels"
	"switchboard/config"
	"switchboard/queue"
	"switchboard/routing"
)

// Closing the loop, the engine's side: the rules it hands routing, whether
// the agent who closed a conversation can take it back, and what a
// decision leaves to do once committed (a satisfaction answer to record,
// an erasure to queue, a Zendesk ticket, the loop's metrics).

// Zendesk notification events.
const (
	targetZendesk         = "zendesk"
	noticeMissed          = "conversation.missed"
	maxZendeskTranscript  = 500 // entries in a ticket's first comment
	zendeskSubjectWaiting = "%s is waiting for an agent on %s"
	zendeskSubjectMissed  = "%s left the line of %s without an answer"
)

// Ticket is what a Zendesk ticket says.
type Ticket struct {
	// ExternalID names the transfer: the conversation and the time it
	// joined the line. One ticket is made per external id.
	ExternalID string
	Channel    string
	Subject    string
	// Body is the first comment: who, where, and the transcript.
	Body string
}

// loopMetrics count what closing the loop does.
type loopMetrics struct {
	leftLine      *prometheus.CounterVec
	firstResponse *prometheus.HistogramVec
	handling      *prometheus.HistogramVec
	csat          *prometheus.CounterVec
}

func newLoopMetrics(r prometheus.Registerer) *loopMetrics {
	buckets := []float64{5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600}
	m := &loopMetrics{
		leftLine: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_left_line_total",
			Help: "Users who left the waiting line to talk to the bot again, by channel."}, []string{"channel"}),
		firstResponse: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchboard_first_response_seconds",
			Help: "Time from an agent's assignment to its first reply, by channel.", Buckets: buckets}, []string{"channel"}),
		handling: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchboard_handling_seconds",
			Help: "Time from an agent's assignment to its close, by channel.", Buckets: buckets}, []string{"channel"}),
		csat: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_csat_answers_total",
			Help: "Satisfaction answers recorded, by channel and answer (the choice's 1-based position)."}, []string{"channel", "answer"}),
	}
	r.MustRegister(m.leftLine, m.firstResponse, m.handling, m.csat)
	return m
}

// loopRules adds the loop's settings to a channel's routing rules.
func loopRules(r *routing.Rules, cfg *config.Config, ch *config.Channel) {
	d := ch.Derivation
	r.CancelKeywords = d.CancelKeywords
	r.ReopenAfterClose = d.ReopenAfterClose
	if q := d.CSAT; q != nil {
		r.CSAT = &routing.CSAT{Question: q.Question, Choices: q.Choices, Button: q.Button}
	}
	r.EraseKeywords = cfg.Privacy.EraseKeywords
}

// withAgentFree tells routing, for a user message that may return the
// conversation to the agent who closed it, whether that agent is online
// and under capacity.
func (e *Engine) withAgentFree(ctx context.Context, s *setup, ch *channel, c routing.Conversation, in routing.Input) routing.Input {
	if in.Kind != routing.InUserMessage || ch.rules.ReopenAfterClose == 0 || c.State != routing.StateEnded ||
		c.Loop.ClosedAt.IsZero() || c.LastAgent == "" {
		return in
	}
	cands, err := e.candidates(ctx, s, ch.id)
	if err != nil {
		e.log.WarnContext(ctx, "agents' presence unknown; the conversation goes to the line", "channel", ch.id, "err", err)
		return in
	}
	for _, cand := range cands {
		if cand.agent.ID == c.LastAgent {
			in.AgentFree = true
		}
	}
	return in
}

// carryOutLoop does what a committed decision leaves to the loop.
func (e *Engine) carryOutLoop(ctx context.Context, d *decision) {
	ch, conv, m := d.ch, d.commit.Record.Conversation, e.metrics.loop
	for _, ef := range d.outcomes {
		switch {
		case ef.Kind == routing.EffectCSAT:
			ok, err := e.stats.RecordCSAT(ctx, ch.id, conv.ID, ef.Session.ID, ef.Score)
			switch {
			case err != nil:
				e.log.WarnContext(ctx, "satisfaction answer not recorded", "channel", ch.id, "conversation", conv.ID, "err", err)
			case !ok:
				e.log.WarnContext(ctx, "satisfaction answer for a session no longer kept", "channel", ch.id, "conversation", conv.ID)
			default:
				m.csat.WithLabelValues(ch.id, fmt.Sprint(ef.Score)).Inc()
			}
		case ef.Kind == routing.EffectErase:
			if err := e.tasks.EnqueueErase(ctx, conv.ID); err != nil {
				e.log.ErrorContext(ctx, "erasure asked by the user not queued", "channel", ch.id, "conversation", conv.ID, "err", err)
			}
		case ef.Outcome == routing.OutcomeLeftLine:
			m.leftLine.WithLabelValues(ch.id).Inc()
		case ef.Outcome == routing.OutcomeFirstResponse:
			m.firstResponse.WithLabelValues(ch.id).Observe(d.now.Sub(ef.Since).Seconds())
		}
	}
	for _, s := range d.commit.Sessions {
		if s.Kind == routing.SessionAgent && s.Resolution == routing.ResolutionClosed {
			m.handling.WithLabelValues(ch.id).Observe(s.End.Sub(s.Start).Seconds())
		}
	}
	e.queueZendesk(ctx, d)
}

// queueZendesk queues the Zendesk ticket of a transfer the decision made
// (on: waiting) or of a wait it ended by expiry (on: missed). The task id
// and the ticket's external id name the conversation and the time it
// joined the line, so a transfer gets one ticket however often it is
// queued or retried.
func (e *Engine) queueZendesk(ctx context.Context, d *decision) {
	n := d.ch.cfg.Notify
	if n == nil || n.Zendesk == nil {
		return
	}
	conv := d.commit.Record.Conversation
	for _, o := range d.outcomes {
		var since time.Time
		event := ""
		switch {
		case o.Outcome == routing.OutcomeTransferred && n.Zendesk.Triggers(config.ZendeskOnWaiting):
			since, event = conv.WaitingSince, string(routing.NoticeWaiting)
		case o.Outcome == routing.OutcomeExpired && !o.Since.IsZero() && n.Zendesk.Triggers(config.ZendeskOnMissed):
			since, event = o.Since, noticeMissed
		default:
			continue
		}
		session := fmt.Sprintf("%s:%d", conv.ID, since.UnixMilli())
		job := queue.NotifyJob{ID: "notify:" + session + ":" + targetZendesk, Channel: d.ch.id, Conversation: conv.ID,
			Event: event, Target: targetZendesk, At: d.now, Session: session}
		if err := e.tasks.EnqueueNotify(ctx, job); err != nil {
			e.log.WarnContext(ctx, "zendesk ticket not queued", "channel", d.ch.id, "conversation", conv.ID, "err", err)
		}
	}
}

// notifyZendesk creates the ticket of job: the user's name, a subject, and
// the transcript as the first comment.
func (e *Engine) notifyZendesk(ctx context.Context, ch *channel, job queue.NotifyJob, rec *queue.Record) error {
	tx, err := e.convs.Transcript(ctx, job.Conversation)
	if err != nil {
		return err
	}
	if len(tx) > maxZendeskTranscript {
		tx = tx[len(tx)-maxZendeskTranscript:]
	}
	user := rec.User.Name
	if strings.TrimSpace(user) == "" {
		user = rec.User.ID
	}
	subject := zendeskSubjectWaiting
	if job.Event == noticeMissed {
		subject = zendeskSubjectMissed
	}
	var b strings.Builder
	fmt.Fprintf(&b, "User: %s (%s)\nChannel: %s (%s)\nConversation: %s\n\nTranscript:\n", user, rec.User.ID, ch.id, ch.platform, rec.ID)
	for _, en := range tx {
		who := string(en.Author)
		if en.Agent != "" {
			who += " " + en.Agent
		}
		fmt.Fprintf(&b, "[%s] %s: %s\n", en.At.UTC().Format(time.RFC3339), who, en.Text)
	}
	t := Ticket{ExternalID: job.Session, Channel: ch.id, Subject: fmt.Sprintf(subject, user, ch.id), Body: b.String()}
	return e.notifier.Zendesk(ctx, ch.cfg.Notify.Zendesk, t)
}

// EraseOnRequest erases what is held about the user of a conversation who
// asked for it and confirmed, then tells them so; it is the task handler
// of contact:erase. A conversation processed right now is retried
// (queue.ErrBusy); one already erased is done.
func (e *Engine) EraseOnRequest(ctx context.Context, convID string) error {
	ctx = WithConversation(ctx, convID)
	rec, err := e.convs.Load(ctx, convID)
	if err != nil {
		return err
	}
	if rec.Version == 0 {
		return nil
	}
	ch, ok := e.setup.Load().channels[queue.ChannelOf(convID)]
	if !ok {
		return queue.Permanent(fmt.Errorf("erasure of a conversation of a channel no longer configured"))
	}
	user := rec.User.ID
	if _, err := e.EraseContact(ctx, ch.id, user); err != nil {
		if !errors.Is(err, queue.ErrBusy) {
			e.log.ErrorContext(ctx, "erasure asked by the user failed; will retry", "channel", ch.id, "err", err)
		}
		return err
	}
	// Sent, not recorded: nothing of the user is kept from here on.
	if text := ch.rules.Messages.Erased; text != "" {
		if _, err := ch.sender.Send(ctx, channels.Outbound{To: user, Text: text}); err != nil {
			e.log.WarnContext(ctx, "erasure confirmation not sent", "channel", ch.id, "err", err)
		}
	}
	return nil
}
