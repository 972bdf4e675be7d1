// Package callprovider is the messaging-to-call connector: it sends a
// call request (the user's number and name) to the provider a channel
// configures, as an HTTP request built from the configured template, and
// reads the answer. It does not retry: the engine's task queue does.
package callprovider

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"switchboard/config"
	"switchboard/queue"
	"switchboard/routing"
)

// maxProviderAnswer bounds what is read of a provider's answer.
const maxProviderAnswer = 64 << 10

// Client sends one channel's call requests to its provider.
type Client struct {
	cfg    *config.Call
	client *http.Client
}

// New returns the client of a channel's call option; nil when the channel
// offers no call.
func New(c *config.Call) *Client {
	if c == nil {
		return nil
	}
	return &Client{cfg: c, client: &http.Client{Timeout: c.Timeout}}
}

// Attempts is how many times a request is tried (derivation.call.attempts).
func (cl *Client) Attempts() int { return cl.cfg.Attempts }

// RetryError is a provider failure worth trying again (5xx, 408, 429, a
// timeout or a network error).
type RetryError struct{ reason string }

func (e *RetryError) Error() string { return "call provider: " + e.reason }

// Request asks the provider for the call of job. It returns the result to
// apply: accepted (OK), refused with a message for the user (Error), or
// refused with nothing to say (Failed); or a *RetryError.
func (cl *Client) Request(ctx context.Context, job queue.CallJob) (routing.CallResult, error) {
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
	// The task's id: one per number the user gave, new after an erasure
	// (a task queued before ids existed has only its key).
	req.Header.Set("Idempotency-Key", cmp.Or(job.ID, job.Key))
	resp, err := cl.client.Do(req)
	if err != nil {
		return res, &RetryError{reason: "no answer: " + redactURLError(err)}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxProviderAnswer))
	switch s := resp.StatusCode; {
	case s >= 200 && s <= 299:
		res.OK = true
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return res, &RetryError{reason: fmt.Sprintf("HTTP %d", s)}
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
