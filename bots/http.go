package bots

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"switchboard/internal/outbound"
	"switchboard/routing"
)

// The headers of a signed request (see the package comment).
const (
	HeaderTimestamp = "X-Switchboard-Timestamp"
	HeaderSignature = "X-Switchboard-Signature"
)

const (
	// DefaultTimeout bounds a call when HTTPConfig.Timeout is 0.
	DefaultTimeout = 5 * time.Second
	// SignatureTolerance is how far a request's timestamp may be from the
	// verifier's clock.
	SignatureTolerance = 5 * time.Minute
	// maxReplyBytes bounds the reply body read.
	maxReplyBytes = 1 << 20
)

// Errors of an HTTP bot call and of VerifySignature.
var (
	ErrMalformedReply = errors.New("bot reply is malformed")
	ErrBadSignature   = errors.New("bot request signature is missing or wrong")
	ErrStaleTimestamp = errors.New("bot request timestamp is missing or too far from now")
)

// StatusError is a reply with a status other than 2xx.
type StatusError struct {
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("bot answered HTTP %d", e.StatusCode)
}

// HTTPConfig configures a connected bot. The zero value of each optional
// field means its default.
type HTTPConfig struct {
	// URL receives the POSTs; http or https.
	URL string
	// Secret keys the requests' HMAC signature; required.
	Secret string
	// Timeout bounds each call; 0 means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock of the timestamp header; nil means time.Now.
	Now func() time.Time
}

// HTTPBot is a connected bot: it forwards each message to a URL, signed, and
// reads the reply (the package comment is the contract).
type HTTPBot struct {
	url     string
	secret  []byte
	timeout time.Duration
	client  *http.Client
	now     func() time.Time
}

var _ Bot = (*HTTPBot)(nil)

// NewHTTP returns an HTTP bot; a URL that is not absolute http(s) or an
// empty secret is an error.
func NewHTTP(cfg HTTPConfig) (*HTTPBot, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL may hold a key: show only its scheme and host.
		return nil, fmt.Errorf("http bot: url %s is not an absolute http(s) URL", outbound.Redact(cfg.URL))
	}
	if cfg.Secret == "" {
		return nil, errors.New("http bot: a secret is required")
	}
	b := &HTTPBot{url: cfg.URL, secret: []byte(cfg.Secret), timeout: cfg.Timeout, now: cfg.Now}
	if b.timeout == 0 {
		b.timeout = DefaultTimeout
	}
	// The call's context carries the timeout; the client refuses
	// redirects, so the request and its signature reach only this URL.
	b.client = outbound.NewClient(outbound.Options{})
	if b.now == nil {
		b.now = time.Now
	}
	return b, nil
}

// wireRequest is the JSON body sent to the bot.
type wireRequest struct {
	ConversationID string            `json:"conversation_id"`
	Channel        string            `json:"channel"`
	User           wireUser          `json:"user"`
	Message        wireMessage       `json:"message"`
	Variables      map[string]string `json:"variables"`
	NewSession     bool              `json:"new_session"`
}

type wireUser struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type wireMessage struct {
	Kind    string `json:"kind"`
	Text    string `json:"text"`
	Payload string `json:"payload"`
}

// wireReply is the JSON body the bot answers.
type wireReply struct {
	Messages  []routing.BotMessage `json:"messages"`
	Handoff   bool                 `json:"handoff"`
	Variables map[string]string    `json:"variables"`
	Note      string               `json:"note"`
	Agent     string               `json:"agent"`
}

// Reply posts req to the bot and returns its answer. Errors: the context's
// (wrapped) on timeout or cancellation, a network error,
// *outbound.RedirectError (wrapped) for a redirect, which is not followed,
// *StatusError for another status other than 2xx, ErrMalformedReply
// (wrapped) for a body that breaks the contract. No error's text holds more
// of the URL than its scheme and host.
func (b *HTTPBot) Reply(ctx context.Context, req Request) (routing.BotReply, error) {
	body, err := json.Marshal(toWire(req))
	if err != nil {
		return routing.BotReply{}, fmt.Errorf("http bot: encode request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url, bytes.NewReader(body))
	if err != nil {
		return routing.BotReply{}, fmt.Errorf("http bot: %w", outbound.RedactError(err))
	}
	timestamp := b.now().Unix()
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set(HeaderTimestamp, strconv.FormatInt(timestamp, 10))
	httpReq.Header.Set(HeaderSignature, Signature(b.secret, timestamp, body))

	resp, err := b.client.Do(httpReq)
	if err != nil {
		return routing.BotReply{}, fmt.Errorf("http bot: %w", outbound.RedactError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return routing.BotReply{}, &StatusError{StatusCode: resp.StatusCode}
	}
	return readReply(resp.Body)
}

func toWire(req Request) wireRequest {
	vars := req.Variables
	if vars == nil {
		vars = map[string]string{} // bots get {} rather than null
	}
	return wireRequest{
		ConversationID: req.ConversationID,
		Channel:        req.Channel,
		User:           wireUser{ID: req.User.ID, Name: req.User.Name},
		Message:        wireMessage{Kind: string(req.Message.Kind), Text: req.Message.Text, Payload: req.Message.Payload},
		Variables:      vars,
		NewSession:     req.NewSession,
	}
}

// readReply decodes and checks a reply body.
func readReply(r io.Reader) (routing.BotReply, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxReplyBytes+1))
	if err != nil {
		return routing.BotReply{}, fmt.Errorf("http bot: read reply: %w", err)
	}
	if len(data) > maxReplyBytes {
		return routing.BotReply{}, fmt.Errorf("%w: larger than %d bytes", ErrMalformedReply, maxReplyBytes)
	}
	var w wireReply
	if err := json.Unmarshal(data, &w); err != nil {
		return routing.BotReply{}, fmt.Errorf("%w: %v", ErrMalformedReply, err)
	}
	for i, m := range w.Messages {
		if err := checkMessage(m); err != nil {
			return routing.BotReply{}, fmt.Errorf("%w: message %d: %v", ErrMalformedReply, i+1, err)
		}
	}
	return routing.BotReply{Messages: w.Messages, Handoff: w.Handoff, Variables: w.Variables, Note: w.Note, Agent: w.Agent}, nil
}

func checkMessage(m routing.BotMessage) error {
	if strings.TrimSpace(m.Text) == "" {
		return errors.New("no text")
	}
	for j, c := range m.Choices {
		if c.ID == "" || c.Title == "" {
			return fmt.Errorf("choice %d needs an id and a title", j+1)
		}
	}
	return nil
}

// Signature returns the X-Switchboard-Signature value for body sent at
// timestamp (Unix seconds): "sha256=" and the hex HMAC-SHA256 of
// "<timestamp>.<body>" keyed with secret.
func Signature(secret []byte, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "%d.", timestamp)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a request the gateway sent to a bot: its headers
// h and raw body, at the bot's time now. It returns ErrStaleTimestamp when
// the timestamp is missing, malformed or more than SignatureTolerance away
// from now, ErrBadSignature when the signature does not match.
func VerifySignature(secret []byte, h http.Header, body []byte, now time.Time) error {
	timestamp, err := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return ErrStaleTimestamp
	}
	if skew := now.Sub(time.Unix(timestamp, 0)).Abs(); skew > SignatureTolerance {
		return ErrStaleTimestamp
	}
	if !hmac.Equal([]byte(h.Get(HeaderSignature)), []byte(Signature(secret, timestamp, body))) {
		return ErrBadSignature
	}
	return nil
}
