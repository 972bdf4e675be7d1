package gateway

import (
	"context"
	"time"

	"switchboard/gateway/engine"
)

// What tools that drive the gateway by hand (the try sub-command) need
// beyond the HTTP API.

// Sweep runs the periodic work due between prev and now (expiry, openings,
// lost tasks, automatic assignment) at once, as the schedule would. An
// embedded Redis' clock moves to now first, so its key expiries follow.
func (a *App) Sweep(ctx context.Context, prev, now time.Time) error {
	a.redis.SetTime(now)
	return a.engine.Tick(ctx, prev, now)
}

// Idle reports whether a channel has no inbound event left to process and
// no send in progress.
func (a *App) Idle(ctx context.Context, channelID string) (bool, error) {
	return a.engine.Idle(ctx, channelID)
}

// Inspect returns a conversation as stored: its record, place in line,
// transcript and ended sessions.
func (a *App) Inspect(ctx context.Context, convID string) (engine.Inspection, error) {
	return a.engine.Inspect(ctx, convID)
}
