package httpapi

import (
	"encoding/json"
	"fmt"
	"maps"
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
	g.POST("/conversations/:id/messages", s.reply)
	g.POST("/conversations/:id/notes", s.note)
	g.POST("/conversations/:id/close", s.agentAction(routing.InAgentClose))
	g.POST("/conversations/:id/release", s.agentAction(routing.InAgentRelease))
	g.POST("/conversations/:id/handback", s.agentAction(routing.InAgentHandback))
	g.POST("/conversations/:id/reopen", s.agentAction(routing.InAgentReopen))
	g.PUT("/agents/me/presence", s.presence)
	g.GET("/events", s.events)
	g.GET("/media/:id/:media", s.media)
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

func (s *Server) listConversations(c echo.Context) error {
	status := c.QueryParam("status")
	if status != "" && status != string(routing.StateAssigned) {
		return errBadRequest("status must be assigned")
	}
	out, err := s.engine.Assigned(c.Request().Context(), agentOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"conversations": out})
}

func (s *Server) getConversation(c echo.Context) error {
	conv, err := s.engine.Conversation(c.Request().Context(), agentOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

type textBody struct {
	Text string `json:"text"`
}

func bindText(c echo.Context) (string, error) {
	var b textBody
	if err := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10)).Decode(&b); err != nil {
		return "", errBadRequest("body must be JSON {\"text\": \"...\"}")
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
	if err := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 4<<10)).Decode(&b); err != nil {
		return errBadRequest("body must be JSON {\"status\": \"online|away|offline\"}")
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

// events streams the agent's channels' notices as server-sent events. The
// event id is a cursor over the channels' streams, so a client that
// reconnects with Last-Event-ID misses nothing.
func (s *Server) events(c echo.Context) error {
	ag := agentOf(c)
	ctx := c.Request().Context()
	// Pin the channels the client has no position in before saying
	// "connected": from then on nothing is missed, and every event id
	// names a position in every channel, so a resume misses nothing either.
	cur := queue.ParseCursor(c.Request().Header.Get("Last-Event-ID"))
	if err := s.engine.PinEvents(ctx, ag, cur); err != nil {
		return err
	}
	sent := maps.Clone(cur)
	w := c.Response()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": connected\n\n")
	w.Flush()
	lastWrite := time.Now()
	for ctx.Err() == nil {
		notices, err := s.engine.ReadEvents(ctx, ag, cur, time.Second)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			fmt.Fprintf(w, "event: error\ndata: %s\n\n", `{"code":"unavailable"}`)
			w.Flush()
			return nil
		}
		for _, n := range notices {
			sent[n.Channel] = n.ID // each event's id resumes right after it
			data, _ := json.Marshal(n)
			fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", sent.String(ag.Channels), n.Type, data)
		}
		if len(notices) > 0 || time.Since(lastWrite) >= sseHeartbeat {
			if len(notices) == 0 {
				fmt.Fprint(w, ": heartbeat\n\n")
			}
			w.Flush()
			lastWrite = time.Now()
		}
	}
	return nil
}
