// Package httpapi is the gateway's HTTP server: Meta's webhooks, the agent
// API with its event stream and media proxy, the admin API, and the
// operations routes (health, readiness, metrics, the OpenAPI document).
//
// Handlers are thin: they decode the request, call the engine and encode
// the answer; errors become responses in one place (errors.go). echo is
// imported here and nowhere else, and its types never leave this package.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"switchboard/gateway/console"
	"switchboard/gateway/engine"
)

// Options are what the server needs.
type Options struct {
	Engine *engine.Engine
	// Registry holds every metric of the process: /metrics serves it, and
	// the server adds its own.
	Registry *prometheus.Registry
	// Ready reports whether the gateway can take traffic (Redis answers).
	// Probe does the same on a connection of its own, tried first, so a
	// busy shared pool is not mistaken for an outage.
	Ready, Probe func(ctx context.Context) error
	// Limits bound connections, bodies and event streams (limits.go); the
	// caller fills the defaults (Limits.WithDefaults).
	Limits Limits
	// Streams reads the channels' event streams for the agents' streams,
	// on connections of its own (eventhub.go); the server closes it.
	Streams StreamReader
	// Reload reloads the configuration; its result is answered as JSON.
	Reload func(ctx context.Context) (any, error)
	Now    func() time.Time
	Log    *slog.Logger
}

// Server is the HTTP handler of the gateway.
type Server struct {
	engine *engine.Engine
	ready  func(ctx context.Context) error
	probe  func(ctx context.Context) error
	limits Limits
	// webhookBytes is the memory of the webhook bodies being handled
	// (limits.go).
	webhookBytes *byteBudget
	hub          *eventHub
	reloadFn     func(ctx context.Context) (any, error)
	now          func() time.Time
	log          *slog.Logger
	metrics      *metrics
	people       *people // sign-in and failed authentications (people.go)
	echo         *echo.Echo
	unknownSeen  sync.Map // platform/account pairs already logged
}

// New builds the server with every route.
func New(o Options) *Server {
	s := &Server{engine: o.Engine, ready: o.Ready, probe: o.Probe, limits: o.Limits, reloadFn: o.Reload, now: o.Now, log: o.Log,
		metrics: newMetrics(o.Registry), webhookBytes: newByteBudget(int64(o.Limits.MaxWebhookBodies) * maxWebhookBody), people: newPeople(o.Registry)}
	s.hub = newEventHub(o.Streams, o.Limits, o.Log, o.Registry)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.httpError
	e.Use(requestID, s.recoverPanics, s.observe, s.bodyDeadline)

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{})))

	e.GET("/webhooks/:platform", s.handshake)
	e.POST("/webhooks/:platform", s.webhook, s.webhookTurn)

	e.GET("/api/v1/openapi.yaml", serveOpenAPI)
	// The agents' console: static files, answered with their own strict
	// headers (gateway/console).
	ui := echo.WrapHandler(console.Handler())
	e.GET("/console", ui)
	e.HEAD("/console", ui)
	e.GET(console.Prefix+"*", ui)
	e.HEAD(console.Prefix+"*", ui)
	s.registerAgentAPI(e)
	s.registerAdminAPI(e)
	s.echo = e
	return s
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// EndStreams ends every event stream and refuses new ones, so that the
// HTTP server's shutdown need not wait for them (http.Server.RegisterOnShutdown).
func (s *Server) EndStreams() { s.hub.shutdown() }

// Close ends the event streams and stops their readers, closing the
// stream reader.
func (s *Server) Close() error { return s.hub.close() }

// observe counts every request by route and status and times it.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // write the response now, so its status is the one counted
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		s.metrics.httpRequests.WithLabelValues(route, metricMethod(c.Request().Method), strconv.Itoa(c.Response().Status)).Inc()
		s.metrics.httpLatency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		return nil
	}
}

// recoverPanics turns a panic in a handler into a 500: no input may take
// the process down.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("panic in handler", "route", c.Path(), "panic", r)
				err = errInternal
			}
		}()
		return next(c)
	}
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	// On a connection of its own, so a busy pool is not an outage; failing
	// that, on the pool, which reconnects first after an outage (a pool of
	// one waits a second between dials once a dial failed).
	err := s.probe(ctx)
	if err != nil {
		err = s.ready(ctx)
	}
	if err != nil {
		// The error may name internal hosts and ports: it goes to the log.
		s.log.WarnContext(c.Request().Context(), "not ready: Redis does not answer", "err", err)
		return c.JSON(http.StatusServiceUnavailable, errorBody("redis_unavailable", "Redis does not answer"))
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
