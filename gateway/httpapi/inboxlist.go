package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"switchboard/gateway/engine"
	"switchboard/routing"
)

// registerInbox adds the agents' inbox routes: read receipts, typing,
// labels, canned responses and colleagues (the listing and a
// conversation's page are registered with the agent API).
func (s *Server) registerInbox(g *echo.Group) {
	g.POST("/conversations/:id/read", s.markRead)
	g.POST("/conversations/:id/typing", s.typing)
	g.PUT("/conversations/:id/labels", s.setLabels)
	g.GET("/canned", s.canned)
	g.GET("/agents", s.colleagues)
}

// listConversations is GET /api/v1/conversations; state=missed reads the
// channels' missed lists (with the channel filter only). The former
// ?status=assigned (the caller's assigned conversations) is kept as an
// alias of ?state=assigned&assigned_to=me.
func (s *Server) listConversations(c echo.Context) error {
	if c.QueryParam("state") == "missed" {
		return s.listMissed(c) // its own list, by expiry time (window.go)
	}
	qp := c.QueryParams()
	q := engine.ListQuery{State: qp.Get("state"), Channel: qp.Get("channel"), AssignedTo: qp.Get("assigned_to"),
		Label: qp.Get("label"), Q: qp.Get("q"), Cursor: qp.Get("cursor")}
	switch status := qp.Get("status"); status {
	case "":
	case string(routing.StateAssigned):
		q.State, q.AssignedTo = status, "me"
	default:
		return errBadRequest("status must be assigned (or use state)")
	}
	switch qp.Get("unread") {
	case "", "false":
	case "true":
		q.Unread = true
	default:
		return errBadRequest("unread must be true or false")
	}
	var err error
	if q.Limit, err = intParam(qp.Get("limit"), "limit", engine.MaxListLimit); err != nil {
		return err
	}
	page, err := s.engine.List(c.Request().Context(), agentOf(c), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// intParam reads an optional positive integer query parameter (0 when
// absent).
func intParam(v, name string, limit int) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > limit {
		return 0, errBadRequest(name + " must be a whole number from 1 to " + strconv.Itoa(limit))
	}
	return n, nil
}

// getConversation is GET /api/v1/conversations/{id}: the conversation
// with a page of its transcript (?before=<entry id>&limit=<n>).
func (s *Server) getConversation(c echo.Context) error {
	limit, err := intParam(c.QueryParam("limit"), "limit", engine.MaxTranscriptLimit)
	if err != nil {
		return err
	}
	conv, err := s.engine.Conversation(c.Request().Context(), agentOf(c), c.Param("id"), c.QueryParam("before"), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

func (s *Server) markRead(c echo.Context) error {
	if err := s.engine.MarkRead(c.Request().Context(), agentOf(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) typing(c echo.Context) error {
	if err := s.engine.Typing(c.Request().Context(), agentOf(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) setLabels(c echo.Context) error {
	var b struct {
		Labels []string `json:"labels"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 16<<10)).Decode(&b); err != nil || b.Labels == nil {
		return errBadRequest("body must be JSON {\"labels\": [\"...\"]}")
	}
	conv, err := s.engine.SetLabels(c.Request().Context(), agentOf(c), c.Param("id"), b.Labels)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

func (s *Server) canned(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"canned_responses": s.engine.Canned(agentOf(c))})
}

func (s *Server) colleagues(c echo.Context) error {
	out, err := s.engine.Colleagues(c.Request().Context(), agentOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"agents": out})
}
