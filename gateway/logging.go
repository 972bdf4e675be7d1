package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"

	"github.com/labstack/echo/v4"
)

// headerRequestID carries a request's id in and out.
const headerRequestID = "X-Request-ID"

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyConversation
)

// withConversation returns ctx carrying a conversation id for the logs.
func withConversation(ctx context.Context, convID string) context.Context {
	return context.WithValue(ctx, keyConversation, convID)
}

// contextHandler adds the request id and the conversation id a context
// carries to every record logged with it (slog's *Context methods).
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(keyRequestID).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	if id, ok := ctx.Value(keyConversation).(string); ok {
		r.AddAttrs(slog.String("conversation", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// withContextAttrs wraps a logger's handler in a contextHandler once.
func withContextAttrs(l *slog.Logger) *slog.Logger {
	if _, ok := l.Handler().(contextHandler); ok {
		return l
	}
	return slog.New(contextHandler{l.Handler()})
}

// requestID takes the caller's X-Request-ID when it is a sane token (at most
// 128 characters of letters, digits and -_.:), or makes one; it answers with
// it and puts it in the request's context for the logs.
func (a *App) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(headerRequestID)
		if !validRequestID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Response().Header().Set(headerRequestID, id)
		req := c.Request()
		c.SetRequest(req.WithContext(context.WithValue(req.Context(), keyRequestID, id)))
		return next(c)
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':'
		if !ok {
			return false
		}
	}
	return true
}
