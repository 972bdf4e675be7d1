package gateway

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"switchboard/queue"
	"switchboard/routing"
)

// A conversation held by an agent the configuration no longer has (or who
// no longer serves its channel) would answer not_yours to everyone: a
// reload returns such conversations to their line, at their place, and an
// admin can release any conversation.

// maxReleaseTries bounds an admin release racing with agents' actions.
const maxReleaseTries = 5

// releaseOrphaned releases, in setup s, every conversation held by an agent
// s does not have or who does not serve the conversation's channel, and
// returns their ids, sorted. It goes on past conversations that changed
// meanwhile; it stops at a Redis failure, returning what it released.
func (e *Engine) releaseOrphaned(ctx context.Context, s *setup) ([]string, error) {
	released := []string{}
	for _, channelID := range sortedChannels(s) {
		byAgent, err := e.store.AssignedTo(ctx, channelID)
		if err != nil {
			return released, err
		}
		for agentID, convs := range byAgent {
			if ag, ok := s.agents[agentID]; ok && ag.serves(channelID) {
				continue
			}
			for _, convID := range convs {
				_, err := e.Apply(ctx, convID, routing.Input{Kind: routing.InAgentRelease, Agent: agentID})
				switch {
				case err == nil:
					released = append(released, convID)
					e.log.InfoContext(ctx, "conversation of a removed agent returned to the line", "channel", channelID, "conversation", convID, "agent", agentID)
				case errors.Is(err, routing.ErrNotAssigned), errors.Is(err, routing.ErrNotYours), errors.Is(err, queue.ErrNotFound):
					// Closed or released meanwhile.
				default:
					return released, err
				}
			}
		}
	}
	slices.Sort(released)
	return released, nil
}

// adminRelease is POST /api/v1/admin/conversations/{id}/release: the
// conversation goes back to its line at its place, whoever holds it.
func (a *App) adminRelease(c echo.Context) error {
	ctx := c.Request().Context()
	convID := c.Param("id")
	if queue.ChannelOf(convID) == "" {
		return queue.ErrNotFound
	}
	for try := 1; ; try++ {
		rec, err := a.engine.store.Load(ctx, convID)
		if err != nil {
			return err
		}
		if rec.Version == 0 {
			return queue.ErrNotFound
		}
		if rec.State != routing.StateAssigned {
			return routing.ErrNotAssigned
		}
		holder := rec.AssignedTo
		rec, err = a.engine.Apply(ctx, convID, routing.Input{Kind: routing.InAgentRelease, Agent: holder})
		if errors.Is(err, routing.ErrNotYours) && try < maxReleaseTries {
			continue // another agent took it meanwhile: release it from them
		}
		if err != nil {
			return err
		}
		pos, err := a.engine.store.Position(ctx, convID)
		if err != nil {
			return err
		}
		a.log.InfoContext(ctx, "conversation released by the admin", "audit", "release", "conversation", convID, "agent", holder)
		return c.JSON(http.StatusOK, a.toJSON(rec, pos))
	}
}
