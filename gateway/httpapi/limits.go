package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
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
	// MaxWebhookBodies bounds the memory of the webhook bodies handled at
	// once to MaxWebhookBodies × 4 MiB (the largest body): the default 16
	// to 64 MiB. Each request takes its declared Content-Length of it (4 MiB
	// when it declares none), so that many small webhooks run at once while
	// at most 16 bodies of the largest size do. A request that does not
	// fit waits up to WebhookWait (default 1s) for room, then gets 503 with
	// Retry-After, which Meta retries.
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

// errBacklog answers a webhook while the backlog is over engine.max_backlog.
func errBacklog(n int64, limit int) *apiError {
	return &apiError{http.StatusServiceUnavailable, "backlog", fmt.Sprintf("%d conversations wait to be processed, over engine.max_backlog (%d); retry later", n, limit)}
}

// overloaded tells the answers that say the gateway is behind, not broken:
// they are counted, not logged as errors.
func overloaded(err error) bool {
	var api *apiError
	return errors.As(err, &api) && (api.code == "busy" || api.code == "backlog")
}

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

// webhookTurn refuses webhooks while the backlog is over
// engine.max_backlog, and bounds the memory of the webhook bodies being
// handled: each
// takes its declared length of the budget (the largest body when it
// declares none) until it is answered. One that does not fit waits up to
// WebhookWait for room, then gets 503 with Retry-After.
func (s *Server) webhookTurn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := channels.Platform(c.Param("platform"))
		if !p.Valid() {
			return next(c) // answered 404 without reading the body
		}
		// A gateway that cannot keep up refuses more rather than filling
		// Redis: Meta delivers again later.
		if n, limit := s.engine.Backlog(); n > int64(limit) {
			s.metrics.webhooksRejected.WithLabelValues(string(p), "backlog").Inc()
			c.Response().Header().Set("Retry-After", "5")
			return errBacklog(n, limit)
		}
		size := c.Request().ContentLength
		if size < 0 || size > maxWebhookBody {
			size = maxWebhookBody // undeclared, or refused once read past the limit
		}
		size = max(size, 1)
		if !s.webhookBytes.acquire(c.Request().Context(), size, s.limits.WebhookWait) {
			s.metrics.webhooksRejected.WithLabelValues(string(p), "busy").Inc()
			c.Response().Header().Set("Retry-After", "1")
			return errWebhooksBusy
		}
		defer s.webhookBytes.release(size)
		return next(c)
	}
}

// byteBudget is a budget of bytes handed out first come, first served:
// a request waits while an earlier one that does not fit waits, so large
// bodies are not starved by small ones.
type byteBudget struct {
	mu      sync.Mutex
	free    int64
	waiting []*budgetWaiter
}

type budgetWaiter struct {
	n     int64
	ready chan struct{} // closed when its bytes are taken for it
}

func newByteBudget(n int64) *byteBudget { return &byteBudget{free: n} }

// acquire takes n bytes, waiting up to wait (or until ctx ends) for them;
// it reports whether it took them.
func (b *byteBudget) acquire(ctx context.Context, n int64, wait time.Duration) bool {
	b.mu.Lock()
	if len(b.waiting) == 0 && b.free >= n {
		b.free -= n
		b.mu.Unlock()
		return true
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	b.waiting = append(b.waiting, w)
	b.mu.Unlock()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-w.ready:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready: // taken for it meanwhile: give them back
		b.free += n
	default:
		b.waiting = slices.DeleteFunc(b.waiting, func(x *budgetWaiter) bool { return x == w })
	}
	b.wake()
	return false
}

// release gives back n bytes.
func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.free += n
	b.wake()
}

// wake hands the free bytes to the waiters in order while the first fits.
func (b *byteBudget) wake() {
	for len(b.waiting) > 0 && b.free >= b.waiting[0].n {
		w := b.waiting[0]
		b.waiting = b.waiting[1:]
		b.free -= w.n
		close(w.ready)
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
