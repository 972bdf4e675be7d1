package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"switchboard/config"
	"switchboard/gateway/engine"
	"switchboard/internal/outbound"
	"switchboard/queue"
)

// zendeskTicket is the body of Zendesk's "create ticket" request.
type zendeskTicket struct {
	Ticket struct {
		Subject    string `json:"subject"`
		ExternalID string `json:"external_id"`
		Comment    struct {
			Body   string `json:"body"`
			Public bool   `json:"public"`
		} `json:"comment"`
		Tags []string `json:"tags"`
	} `json:"ticket"`
}

// Zendesk creates the ticket of one transfer, unless one with its external
// id exists already: a retry after an answer that was lost does not make a
// second ticket. 429 and 5xx answers, and network errors, are retried
// (returned as they are); other answers, redirects included (never
// followed), are permanent failures.
func (n *Notifier) Zendesk(ctx context.Context, z *config.NotifyZendesk, t engine.Ticket) error {
	ctx, cancel := context.WithTimeout(ctx, z.Timeout)
	defer cancel()
	base := strings.TrimRight(z.URL, "/") + "/api/v2/tickets.json"
	var found struct {
		Tickets []json.RawMessage `json:"tickets"`
	}
	if err := n.zendeskDo(ctx, z, http.MethodGet, base+"?external_id="+url.QueryEscape(t.ExternalID), nil, &found); err != nil {
		return err
	}
	if len(found.Tickets) > 0 {
		return nil
	}
	var body zendeskTicket
	body.Ticket.Subject = t.Subject
	body.Ticket.ExternalID = t.ExternalID
	body.Ticket.Comment.Body = t.Body
	body.Ticket.Tags = []string{"switchboard", t.Channel}
	data, err := json.Marshal(body)
	if err != nil {
		return queue.Permanent(err)
	}
	return n.zendeskDo(ctx, z, http.MethodPost, base, data, nil)
}

// zendeskDo makes one request to Zendesk with its Basic authentication
// ({email}/token:{api_token}) and decodes a 2xx answer into out (nil:
// discarded).
func (n *Notifier) zendeskDo(ctx context.Context, z *config.NotifyZendesk, method, target string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return queue.Permanent(outbound.RedactError(err))
	}
	req.SetBasicAuth(z.Email+"/token", z.APIToken.Reveal())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := n.zendeskClient().Do(req)
	var redirect *outbound.RedirectError
	if errors.As(err, &redirect) {
		return queue.Permanent(outbound.RedactError(err)) // the url is wrong: no retry will help
	}
	if err != nil {
		return outbound.RedactError(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("zendesk %s %s answered %d", method, outbound.Redact(target), resp.StatusCode)
	case resp.StatusCode/100 != 2:
		return queue.Permanent(fmt.Errorf("zendesk %s %s answered %d", method, outbound.Redact(target), resp.StatusCode))
	case out != nil:
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("zendesk %s %s: unreadable answer: %w", method, outbound.Redact(target), err)
		}
	}
	return nil
}

// zendeskClient is one client that refuses redirects, built once (the
// request's context bounds each exchange by the channel's timeout).
func (n *Notifier) zendeskClient() *http.Client {
	n.zendeskOnce.Do(func() { n.zendesk = outbound.NewClient(outbound.Options{}) })
	return n.zendesk
}
