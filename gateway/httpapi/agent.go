package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/routing"
)

// maxClaimWait bounds a long-polling claim.
const maxClaimWait = 30 * time.Second

// sseHeartbeat is how often an idle event stream sends a comment line.
const sseHeartbeat = 15 * time.Second

// registerAgentAPI adds the agent routes.
func (s *Server) registerAgentAPI(e *echo.Echo) {
	g := e.Group("/api/v1", s.agentAuth)
	g.GET("/queue", s.listQueue)
	g.POST("/queue/claim", s.claim)
	g.GET("/conversations", s.listConversations)
	g.GET("/conversations/:id", s.getConversation)
	s.registerInbox(g)
	g.POST("/conversations/:id/messages", s.reply)
	g.POST("/conversations/:id/notes", s.note)
	g.POST("/conversations/:id/close", s.agentAction(routing.InAgentClose))
	g.POST("/conversations/:id/release", s.agentAction(routing.InAgentRelease))
	g.POST("/conversations/:id/handback", s.agentAction(routing.InAgentHandback))
	g.POST("/conversations/:id/reopen", s.agentAction(routing.InAgentReopen))
	g.PUT("/agents/me/presence", s.presence)
	g.GET("/events", s.events)
	g.GET("/media/:id/:media", s.media)
	s.registerWindowAPI(g)
	s.registerPeople(e, g)
}

func (s *Server) listQueue(c echo.Context) error {
	out, err := s.engine.ListQueue(c.Request().Context(), agentOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"conversations": out})
}

// claim takes the oldest waiting conversation; with ?wait= it long-polls.
func (s *Server) claim(c echo.Context) error {
	var wait time.Duration
	if w := c.QueryParam("wait"); w != "" {
		d, err := time.ParseDuration(w)
		if err != nil || d < 0 {
			return errBadRequest("wait must be a duration such as 20s")
		}
		wait = min(d, maxClaimWait)
	}
	conv, err := s.engine.Claim(c.Request().Context(), agentOf(c), c.QueryParam("channel"), wait)
	if err != nil {
		return err
	}
	if conv == nil {
		return c.NoContent(http.StatusNoContent)
	}
	return c.JSON(http.StatusOK, conv)
}

type textBody struct {
	Text string `json:"text"`
}

func bindText(c echo.Context) (string, error) {
	var b textBody
	if err := decodeJSON(c, 64<<10, &b, `{"text": "..."}`); err != nil {
		return "", err
	}
	if strings.TrimSpace(b.Text) == "" {
		return "", errBadRequest("text is empty")
	}
	return b.Text, nil
}

func (s *Server) reply(c echo.Context) error {
	body, err := bindMessage(c)
	if err != nil {
		return err
	}
	var att *channels.Attachment
	if b := body.Attachment; b != nil {
		att = &channels.Attachment{Type: b.Type, URL: b.URL, Caption: b.Caption, FileName: b.FileName}
	}
	entry, err := s.engine.Reply(c.Request().Context(), agentOf(c), c.Param("id"), body.Text, att)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{"id": entry.ID, "status": "queued"})
}

func (s *Server) note(c echo.Context) error {
	text, err := bindText(c)
	if err != nil {
		return err
	}
	entry, err := s.engine.AddNote(c.Request().Context(), agentOf(c), c.Param("id"), text)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, entry)
}

// agentAction runs close, release, handback or reopen.
func (s *Server) agentAction(kind routing.InputKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		conv, err := s.engine.Act(c.Request().Context(), agentOf(c), c.Param("id"), kind)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, conv)
	}
}

func (s *Server) presence(c echo.Context) error {
	var b struct {
		Status queue.Presence `json:"status"`
	}
	if err := decodeJSON(c, 4<<10, &b, `{"status": "online|away|offline"}`); err != nil {
		return err
	}
	switch b.Status {
	case queue.Online, queue.Away, queue.Offline:
	default:
		return errBadRequest("status must be online, away or offline")
	}
	if err := s.engine.SetPresence(c.Request().Context(), agentOf(c), b.Status); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"status": string(b.Status)})
}
