package engine

import (
	"context"
	"log/slog"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyConversation
)

// WithRequestID returns ctx carrying a request id for the logs.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, keyRequestID, id)
}

// WithConversation returns ctx carrying a conversation id for the logs.
func WithConversation(ctx context.Context, convID string) context.Context {
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

// WithContextAttrs returns l logging the request id and conversation id
// that WithRequestID and WithConversation put in a context.
func WithContextAttrs(l *slog.Logger) *slog.Logger {
	if _, ok := l.Handler().(contextHandler); ok {
		return l
	}
	return slog.New(contextHandler{l.Handler()})
}
