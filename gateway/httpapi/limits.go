package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/net/netutil"

	"switchboard/channels"
)

// Limits bound what clients can hold of the gateway: connections, the
// memory of bodies being read, event streams. A zero field takes its
// default.
type Limits struct {
	// MaxConnections caps the open client connections; further ones wait
	// in the listen backlog until one closes. Default 2048.
	MaxConnections int
	// IdleTimeout closes a keep-alive connection idle this long. Default 2m.
	IdleTimeout time.Duration
	// BodyTimeout is how long a webhook or a JSON API request has to send
	// its body, from when its handler starts; slower ones get 408 and the
	// connection is closed. Event streams have no such deadline. Default 10s.
	BodyTimeout time.Duration
	// MaxWebhookBodies caps the webhook requests handled at once, each of
	// which may hold a body of up to 4 MiB: the default 16 bounds that
	// memory to 64 MiB. A request over the cap waits up to WebhookWait
	// (default 1s) for a turn, then gets 503 with Retry-After, which Meta
	// retries.
	MaxWebhookBodies int
	WebhookWait      time.Duration
	// MaxStreams caps the open event streams (GET /api/v1/events) of the
	// process, below MaxConnections; MaxStreamsPerAgent those of one agent.
	// A stream over either gets 429. Defaults 1000 and 10.
	MaxStreams         int
	MaxStreamsPerAgent int
	// StreamBuffer is how many notices a stream may fall behind the hub
	// before it reads what it missed from Redis instead. Default 256.
	StreamBuffer int
}

// WithDefaults fills the zero fields; a negative one is an error naming it.
func (l Limits) WithDefaults() (Limits, error) {
	ints := []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxConnections", &l.MaxConnections, 2048},
		{"MaxWebhookBodies", &l.MaxWebhookBodies, 16},
		{"MaxStreams", &l.MaxStreams, 1000},
		{"MaxStreamsPerAgent", &l.MaxStreamsPerAgent, 10},
		{"StreamBuffer", &l.StreamBuffer, 256},
	}
	for _, f := range ints {
		if *f.v < 0 {
			return l, fmt.Errorf("gateway limits: %s is %d; it must be positive (0 takes the default %d)", f.name, *f.v, f.def)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	durations := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"IdleTimeout", &l.IdleTimeout, 2 * time.Minute},
		{"BodyTimeout", &l.BodyTimeout, 10 * time.Second},
		{"WebhookWait", &l.WebhookWait, time.Second},
	}
	for _, f := range durations {
		if *f.v < 0 {
			return l, fmt.Errorf("gateway limits: %s is %s; it must be positive (0 takes the default %s)", f.name, *f.v, f.def)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if l.MaxStreams >= l.MaxConnections {
		return l, fmt.Errorf("gateway limits: MaxStreams (%d) must be below MaxConnections (%d), or event streams could take every connection", l.MaxStreams, l.MaxConnections)
	}
	return l, nil
}

// Listen wraps a listener in the connection cap.
func (l Limits) Listen(inner net.Listener) net.Listener {
	return netutil.LimitListener(inner, l.MaxConnections)
}

// errWebhooksBusy answers a webhook over MaxWebhookBodies.
var errWebhooksBusy = &apiError{http.StatusServiceUnavailable, "busy", "too many webhooks are being read at once; retry later"}

func (s *Server) errBodyTimeout() error {
	return &apiError{http.StatusRequestTimeout, "body_timeout", fmt.Sprintf("the body did not arrive within %s", s.limits.BodyTimeout)}
}

// bodyDeadline gives a request BodyTimeout to send its body: a client that
// stalls mid-body would otherwise hold its connection, and what was read
// of the body, forever. The deadline is lifted once the body is read to
// its end, so a handler that then waits (a long-polling claim) is not cut
// off. Event streams read no body and get no deadline.
func (s *Server) bodyDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Body == nil || r.Body == http.NoBody || c.Path() == eventsRoute {
			return next(c)
		}
		rc := http.NewResponseController(c.Response())
		// A socket deadline is wall-clock time, not the application's clock.
		// A writer without deadlines (a test recorder) has no connection to guard.
		if rc.SetReadDeadline(time.Now().Add(s.limits.BodyTimeout)) == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		}
		return next(c)
	}
}

// deadlineBody lifts the read deadline when the body has been read.
type deadlineBody struct {
	io.ReadCloser
	rc *http.ResponseController
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// isBodyTimeout tells a body read cut by bodyDeadline.
func isBodyTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// webhookTurn lets at most MaxWebhookBodies webhooks be handled at once,
// bounding the memory their bodies take. One over the cap waits up to
// WebhookWait, then gets 503 with Retry-After.
func (s *Server) webhookTurn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := channels.Platform(c.Param("platform"))
		if !p.Valid() {
			return next(c) // answered 404 without reading the body
		}
		select {
		case s.webhookTurns <- struct{}{}:
		default:
			wait := time.NewTimer(s.limits.WebhookWait)
			defer wait.Stop()
			select {
			case s.webhookTurns <- struct{}{}:
			case <-wait.C:
				s.metrics.webhooksRejected.WithLabelValues(string(p), "busy").Inc()
				c.Response().Header().Set("Retry-After", "1")
				return errWebhooksBusy
			case <-c.Request().Context().Done():
				return errWebhooksBusy
			}
		}
		defer func() { <-s.webhookTurns }()
		return next(c)
	}
}

// metricMethod folds a request's method into a fixed set for the metrics'
// method label: any string is a valid method, and each would otherwise
// make series of its own, forever.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
