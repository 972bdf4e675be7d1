package queue

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// logWindow is how often one message of go-redis or asynq is logged at
// most: while Redis is down both repeat the same lines many times a second.
const logWindow = 10 * time.Second

// logPrune is the number of distinct messages remembered above which the
// ones whose window has passed are forgotten.
const logPrune = 256

// limitedLog passes each distinct message of a library to a slog.Logger at
// most once per logWindow. The next copy logged after a window in which
// copies were dropped carries their number as "suppressed".
type limitedLog struct {
	l         *slog.Logger
	component string // "go-redis" or "asynq", logged as "component"
	now       func() time.Time

	mu   sync.Mutex
	seen map[string]*seenLine // by message
}

type seenLine struct {
	level      slog.Level
	until      time.Time // copies before this are dropped
	suppressed int
}

func newLimitedLog(l *slog.Logger, component string, now func() time.Time) *limitedLog {
	return &limitedLog{l: l, component: component, now: now, seen: map[string]*seenLine{}}
}

func (g *limitedLog) log(level slog.Level, msg string) {
	now := g.now()
	g.mu.Lock()
	line := g.seen[msg]
	if line != nil && now.Before(line.until) {
		line.suppressed++
		g.mu.Unlock()
		return
	}
	suppressed := 0
	if line != nil {
		suppressed = line.suppressed
	}
	var forgotten map[string]*seenLine
	if len(g.seen) >= logPrune {
		forgotten = map[string]*seenLine{}
		for m, l := range g.seen {
			if !now.Before(l.until) {
				delete(g.seen, m)
				if l.suppressed > 0 && m != msg {
					forgotten[m] = l
				}
			}
		}
	}
	g.seen[msg] = &seenLine{level: level, until: now.Add(logWindow)}
	g.mu.Unlock()
	// Copies dropped for a message about to be forgotten are counted now.
	for m, l := range forgotten {
		g.emit(l.level, m, l.suppressed)
	}
	g.emit(level, msg, suppressed)
}

func (g *limitedLog) emit(level slog.Level, msg string, suppressed int) {
	if suppressed > 0 {
		g.l.Log(context.Background(), level, msg, "component", g.component, "suppressed", suppressed)
		return
	}
	g.l.Log(context.Background(), level, msg, "component", g.component)
}

// redisLog is go-redis' logger: its lines report failures, logged as warnings.
type redisLog struct{ *limitedLog }

func (r redisLog) Printf(_ context.Context, format string, v ...any) {
	r.log(slog.LevelWarn, fmt.Sprintf(format, v...))
}

// asynqLog is asynq's logger.
type asynqLog struct{ *limitedLog }

func (a asynqLog) Debug(args ...any) { a.log(slog.LevelDebug, fmt.Sprint(args...)) }
func (a asynqLog) Info(args ...any)  { a.log(slog.LevelInfo, fmt.Sprint(args...)) }
func (a asynqLog) Warn(args ...any)  { a.log(slog.LevelWarn, fmt.Sprint(args...)) }
func (a asynqLog) Error(args ...any) { a.log(slog.LevelError, fmt.Sprint(args...)) }

// Fatal is logged as an error: asynq calls it where it would exit, and
// the gateway decides itself when to stop.
func (a asynqLog) Fatal(args ...any) { a.log(slog.LevelError, fmt.Sprint(args...)) }
