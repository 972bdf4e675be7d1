package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"switchboard/channels"
	"switchboard/channels/meta"
	"switchboard/queue"
)

// maxWebhookBody is the webhook body limit; WhatsApp sends at most 3 MB.
const maxWebhookBody = 4 << 20

// newServer builds the echo server with every route.
func (a *App) newServer() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = a.httpError
	e.Use(a.requestID, a.recoverPanics, a.observe, a.bodyDeadline)

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", a.ready)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(a.metrics.registry, promhttp.HandlerOpts{})))

	e.GET("/webhooks/:platform", a.handshake)
	e.POST("/webhooks/:platform", a.webhook, a.webhookTurn)

	e.GET("/api/v1/openapi.yaml", serveOpenAPI)
	a.registerAgentAPI(e)
	a.registerAdminAPI(e)
	return e
}

// observe counts every request by route and status and times it.
func (a *App) observe(next echo.HandlerFunc) echo.HandlerFunc {
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
		a.metrics.httpRequests.WithLabelValues(route, metricMethod(c.Request().Method), strconv.Itoa(c.Response().Status)).Inc()
		a.metrics.httpLatency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		return nil
	}
}

// recoverPanics turns a panic in a handler into a 500: no input may take
// the process down.
func (a *App) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				a.log.Error("panic in handler", "route", c.Path(), "panic", r)
				err = errInternal
			}
		}()
		return next(c)
	}
}

func (a *App) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	// On a connection of its own, so a busy pool is not an outage; failing
	// that, on the pool, which reconnects first after an outage (a pool of
	// one waits a second between dials once a dial failed).
	err := a.probe.Ping(ctx)
	if err != nil {
		err = a.redis.Ping(ctx)
	}
	if err != nil {
		return c.JSON(http.StatusServiceUnavailable, errorBody("redis_unavailable", "Redis does not answer: "+err.Error()))
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// handshake answers Meta's verification request (brief §1).
func (a *App) handshake(c echo.Context) error {
	p := channels.Platform(c.Param("platform"))
	if !p.Valid() {
		return errUnknownPlatform
	}
	var tokens []string
	for _, ch := range a.engine.setup.Load().channels {
		if ch.platform == p && !ch.retired {
			tokens = append(tokens, ch.cfg.VerifyToken.Reveal())
		}
	}
	challenge, ok := meta.Handshake(c.QueryParams(), tokens...)
	if !ok {
		return c.JSON(http.StatusForbidden, errorBody("forbidden", "verify token does not match"))
	}
	return c.String(http.StatusOK, challenge)
}

// webhook accepts Meta's signed events: read through the size limit, verify
// the signature over the raw bytes, parse, and make every event durable
// before answering 200. Redis unreachable: 503, so Meta retries.
func (a *App) webhook(c echo.Context) error {
	p := channels.Platform(c.Param("platform"))
	parser, ok := parsers[p]
	if !ok {
		return errUnknownPlatform
	}
	a.metrics.webhooksReceived.WithLabelValues(string(p)).Inc()
	reject := func(reason string, err error) error {
		a.metrics.webhooksRejected.WithLabelValues(string(p), reason).Inc()
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return reject("too_large", errTooLarge)
		}
		if isBodyTimeout(err) {
			return reject("body_timeout", a.errBodyTimeout())
		}
		return reject("read_error", errBadRequest("body could not be read"))
	}
	s := a.engine.setup.Load()
	secret, ok := meta.MatchSecret(body, c.Request().Header.Get(meta.SignatureHeader), s.secrets[p]...)
	if !ok {
		return reject("signature", errBadSignature)
	}
	events, err := parser.Parse(body)
	if err != nil {
		return reject("malformed", errBadRequest(err.Error()))
	}
	for i := range events {
		ev := &events[i]
		ch, ok := s.byAccount[p][ev.Account]
		if !ok {
			a.unknownAccount(p, ev.Account)
			continue
		}
		if !signedBy(ch, secret) {
			a.foreignEntry(c.Request().Context(), ch, ev)
			continue
		}
		ev.Channel = ch.id
		if ev.User.ID == "" {
			// Account-level notices (WhatsApp value.errors[]) have no conversation.
			a.log.Warn("platform error notice", "channel", ch.id, "event_hash", logID(ev.ID), "errors", ev.Errors)
			continue
		}
		res, err := a.engine.Ingest(c.Request().Context(), ev)
		if err != nil {
			a.log.Error("event not stored; answering 503 so Meta retries", "channel", ch.id, "event_hash", logID(ev.ID), "err", err)
			return reject("unavailable", errUnavailable)
		}
		if res != queue.AcceptedNew { // a redelivery, processed or still in the inbox
			a.metrics.duplicates.WithLabelValues(string(p)).Inc()
		}
	}
	return c.NoContent(http.StatusOK)
}

// unknownAccount counts events for an account no channel has, logging each
// account once: a non-200 would make Meta retry for days.
func (a *App) unknownAccount(p channels.Platform, account string) {
	a.metrics.unknownAccounts.WithLabelValues(string(p)).Inc()
	if _, seen := a.unknownSeen.LoadOrStore(string(p)+"/"+account, true); !seen {
		a.log.Warn("webhook for an account no channel has; answered 200 and dropped", "platform", p, "account", account)
	}
}

// httpError writes every error as {"error": {"code", "message"}} with the
// status its kind maps to: the one place errors become responses.
func (a *App) httpError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, code, msg := classify(err)
	if status >= 500 && !errors.Is(err, errUnavailable) && !errors.Is(err, errWebhooksBusy) {
		a.log.ErrorContext(c.Request().Context(), "request failed", "route", c.Path(), "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	body := errorBody(code, msg)
	if problems := errorProblems(err); problems != nil {
		body["error"].(map[string]any)["problems"] = problems
	}
	_ = c.JSON(status, body)
}

func errorBody(code, msg string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": msg}}
}

// logAttrs is a helper for handlers that log an agent action.
func logAttrs(agentID, convID string) []any {
	return []any{slog.String("agent", agentID), slog.String("conversation", convID)}
}
