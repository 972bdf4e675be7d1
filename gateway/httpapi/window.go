package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// The messaging window's routes: send a template, start a conversation by
// template, take over a bot conversation, and the missed list
// (GET /api/v1/conversations?state=missed).

// registerWindowAPI adds the window's routes to the agent group.
func (s *Server) registerWindowAPI(g *echo.Group) {
	g.POST("/conversations", s.startConversation)
	g.POST("/conversations/:id/template", s.sendTemplate)
	g.POST("/conversations/:id/takeover", s.takeover)
}

// windowBody is the body of the template and start routes.
type windowBody struct {
	Template string `json:"template"`
	Channel  string `json:"channel"`
	User     string `json:"user"`
}

func bindWindow(c echo.Context, fields ...string) (windowBody, error) {
	var b windowBody
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, errBadRequest("body must be JSON {\"" + strings.Join(fields, "\", \"") + "\"}")
	}
	for _, f := range fields {
		v := map[string]string{"template": b.Template, "channel": b.Channel, "user": b.User}[f]
		if strings.TrimSpace(v) == "" {
			return b, errBadRequest(f + " is missing")
		}
	}
	return b, nil
}

func (s *Server) sendTemplate(c echo.Context) error {
	b, err := bindWindow(c, "template")
	if err != nil {
		return err
	}
	conv, err := s.engine.SendTemplate(c.Request().Context(), agentOf(c), c.Param("id"), b.Template)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

func (s *Server) startConversation(c echo.Context) error {
	b, err := bindWindow(c, "channel", "user", "template")
	if err != nil {
		return err
	}
	conv, err := s.engine.StartConversation(c.Request().Context(), agentOf(c), b.Channel, b.User, b.Template)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, conv)
}

func (s *Server) takeover(c echo.Context) error {
	conv, err := s.engine.Takeover(c.Request().Context(), agentOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

// listMissed answers GET /api/v1/conversations?state=missed: the missed
// conversations of the caller's channels (or ?channel=), the latest expiry
// first, ?limit= (default 50, max 200) a page, ?cursor= the next page.
func (s *Server) listMissed(c echo.Context) error {
	limit := 0
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return errBadRequest("limit must be a number from 1 to 200")
		}
		limit = n
	}
	list, next, err := s.engine.ListMissed(c.Request().Context(), agentOf(c), c.QueryParam("channel"), c.QueryParam("cursor"), limit)
	if err != nil {
		return err
	}
	body := map[string]any{"conversations": list}
	if next != "" {
		body["next_cursor"] = next
	}
	return c.JSON(http.StatusOK, body)
}
