package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/config"
	"switchboard/queue"
	"switchboard/routing"
)

// Messaging-to-call: routing decides (states choosing, phone, calling); the
// engine records each request (a transcript entry of kind call_request
// and a mark the sweep uses to queue it again if its task was lost),
// queues it as a call:request task whose id is the request's key, and the
// task calls the provider and feeds the answer back with Apply.

// entryCallRequest is the transcript kind of a call request: Text is the
// number, Payload the idempotency key.
const entryCallRequest = "call_request"

// staleCallMark is how old a call mark must be before the sweep forgets
// one whose conversation no longer waits for it (younger ones may belong
// to a decision being committed).
const staleCallMark = time.Minute

// maxProviderAnswer bounds what is read of a provider's answer.
const maxProviderAnswer = 64 << 10

// caller sends one channel's call requests to its provider.
type caller struct {
	cfg    *config.Call
	client *http.Client
}

func newCaller(c *config.Call) *caller {
	if c == nil {
		return nil
	}
	return &caller{cfg: c, client: &http.Client{Timeout: c.Timeout}}
}

// callOffer is the routing side of a channel's call option; nil for none.
func callOffer(c *config.Call) *routing.CallOffer {
	if c == nil {
		return nil
	}
	return &routing.CallOffer{
		AfterHours: c.AfterHours,
		MaxTries:   c.MaxTries,
		ThisNumber: c.ThisNumber == nil || *c.ThisNumber,
		ChatWords:  c.ChatWords,
		PhoneWords: c.PhoneWords,
		Messages:   c.Messages,
	}
}

// errProviderRetry is a provider failure worth trying again (5xx, 408,
// 429, a timeout or a network error).
type errProviderRetry struct{ reason string }

func (e *errProviderRetry) Error() string { return "call provider: " + e.reason }

// request asks the provider for the call of job. It returns the result to
// apply, or an *errProviderRetry.
func (cl *caller) request(ctx context.Context, job queue.CallJob) (routing.CallResult, error) {
	res := routing.CallResult{Key: job.Key}
	body := config.RenderCallBody(cl.cfg.Body, cl.cfg.ContentType, map[string]string{
		"phone": job.Number, "name": job.Name, "conversation_id": job.Conversation, "channel": job.Channel,
	})
	req, err := http.NewRequestWithContext(ctx, cl.cfg.Method, cl.cfg.URL, strings.NewReader(body))
	if err != nil {
		return res, fmt.Errorf("call provider: %w", err)
	}
	for name, value := range cl.cfg.Headers {
		req.Header.Set(name, value.Reveal())
	}
	req.Header.Set("Content-Type", cl.cfg.ContentType)
	req.Header.Set("Idempotency-Key", job.Key)
	resp, err := cl.client.Do(req)
	if err != nil {
		return res, &errProviderRetry{reason: "no answer: " + redactURLError(err)}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxProviderAnswer))
	switch s := resp.StatusCode; {
	case s >= 200 && s <= 299:
		res.OK = true
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return res, &errProviderRetry{reason: fmt.Sprintf("HTTP %d", s)}
	default:
		res.Error = errorAt(raw, cl.cfg.ErrorPath)
		res.Failed = res.Error == "" // a refusal the user cannot act on
	}
	return res, nil
}

// errorAt follows a dotted path into a JSON answer to a string.
func errorAt(raw []byte, path string) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

// redactURLError keeps a client error's cause without its URL, which may
// carry credentials.
func redactURLError(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return ue.Unwrap().Error()
	}
	return err.Error()
}

// requestCall records a call request in the decision's commit: a
// transcript entry, and a mark made before the commit so that the sweep
// can queue the request again if the process dies before queuing it.
func (e *Engine) requestCall(ctx context.Context, ch *channel, c *queue.Commit, conv *routing.Conversation, ef routing.Effect, now time.Time) error {
	if err := e.store.MarkCall(ctx, ch.id, conv.ID, ef.Call.Key, now); err != nil {
		return err
	}
	c.Entries = append(c.Entries, queue.Entry{ID: queue.NewEntryID(), At: now, Author: routing.AuthorSystem, Kind: entryCallRequest, Text: ef.Call.Number, Payload: ef.Call.Key})
	return nil
}

// queueCalls queues the call requests of a committed decision.
func (e *Engine) queueCalls(ctx context.Context, ch *channel, c *queue.Commit) {
	for _, en := range c.Entries {
		if en.Kind != entryCallRequest {
			continue
		}
		job := queue.CallJob{Key: en.Payload, Channel: ch.id, Conversation: c.Record.ID, Number: en.Text, Name: c.Record.User.Name}
		if err := e.enqueueCall(ctx, ch, job); err != nil {
			e.log.Warn("call request queued later by the sweep", "channel", ch.id, "conversation", job.Conversation, "err", err)
		}
	}
}

func (e *Engine) enqueueCall(ctx context.Context, ch *channel, job queue.CallJob) error {
	attempts := 1
	if ch.call != nil {
		attempts = ch.call.cfg.Attempts
	}
	return e.tasks.EnqueueCall(ctx, job, attempts)
}

// Call is the task handler of call requests: it asks the provider and
// applies the answer. A retryable failure is returned for the task queue
// to retry with backoff (the Idempotency-Key makes a repeated request one
// call); on the last attempt the user gets the apology and the chat.
func (e *Engine) Call(ctx context.Context, job queue.CallJob, last bool) error {
	ch, ok := e.channel(job.Channel)
	if !ok || ch.call == nil {
		e.log.Warn("call request for a channel without calls; dropped", "channel", job.Channel, "conversation", job.Conversation)
		return nil
	}
	res, err := ch.call.request(ctx, job)
	var retry *errProviderRetry
	switch {
	case errors.As(err, &retry) && !last:
		e.metrics.reach.calls.WithLabelValues(ch.id, "retry").Inc()
		e.log.Info("call request failed; will retry", "channel", ch.id, "conversation", job.Conversation, "err", err)
		return err
	case err != nil:
		e.log.Warn("call request failed for good", "channel", ch.id, "conversation", job.Conversation, "err", err)
		res = routing.CallResult{Key: job.Key, Failed: true}
	}
	_, err = e.Apply(ctx, job.Conversation, routing.Input{Kind: routing.InCallResult, Call: &res})
	switch {
	case errors.Is(err, routing.ErrNotCalling), errors.Is(err, queue.ErrNotFound):
		e.log.Info("call result for a request no longer waited for; dropped", "channel", ch.id, "conversation", job.Conversation)
	case err != nil:
		return err
	default:
		e.metrics.reach.calls.WithLabelValues(ch.id, callOutcome(res)).Inc()
	}
	return e.store.UnmarkCall(ctx, ch.id, job.Conversation, job.Key)
}

func callOutcome(r routing.CallResult) string {
	switch {
	case r.OK:
		return "requested"
	case r.Failed:
		return "failed"
	}
	return "refused"
}

// requeueCalls queues again the call requests whose tasks were lost, and
// forgets marks no conversation waits for. Task ids make a request queued
// twice run once.
func (e *Engine) requeueCalls(ctx context.Context, ch *channel, now time.Time) error {
	pending, err := e.store.PendingCalls(ctx, ch.id)
	if err != nil || len(pending) == 0 {
		return err
	}
	for _, p := range pending {
		rec, err := e.store.Load(ctx, p.Conversation)
		if err != nil {
			return err
		}
		if rec.State == routing.StateCalling && rec.Call.Key == p.Key {
			job := queue.CallJob{Key: p.Key, Channel: ch.id, Conversation: rec.ID, Number: rec.Call.Number, Name: rec.User.Name}
			if err := e.enqueueCall(ctx, ch, job); err != nil {
				return err
			}
			continue
		}
		if now.Sub(p.At) >= staleCallMark {
			if err := e.store.UnmarkCall(ctx, ch.id, p.Conversation, p.Key); err != nil {
				return err
			}
		}
	}
	return nil
}

// reachMetrics count call requests and automatic assignments.
type reachMetrics struct {
	calls    *prometheus.CounterVec
	assigned *prometheus.CounterVec
}

func newReachMetrics(r *prometheus.Registry) *reachMetrics {
	m := &reachMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_call_requests_total",
			Help: "Call requests to the call provider by channel and outcome (requested, refused, failed, retry).",
		}, []string{"channel", "outcome"}),
		assigned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_auto_assignments_total",
			Help: "Conversations assigned automatically, by channel and how (preferred: the agent the bot named; balanced).",
		}, []string{"channel", "how"}),
	}
	r.MustRegister(m.calls, m.assigned)
	return m
}
