package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
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

// registerAgentAPI adds the agent routes of design.md §7.
func (a *App) registerAgentAPI(e *echo.Echo) {
	g := e.Group("/api/v1", a.authenticateAgent)
	g.GET("/queue", a.listQueue)
	g.POST("/queue/claim", a.claim)
	g.GET("/conversations", a.listConversations)
	g.GET("/conversations/:id", a.getConversation)
	g.POST("/conversations/:id/messages", a.reply)
	g.POST("/conversations/:id/notes", a.note)
	g.POST("/conversations/:id/close", a.agentAction(routing.InAgentClose))
	g.POST("/conversations/:id/release", a.agentAction(routing.InAgentRelease))
	g.POST("/conversations/:id/handback", a.agentAction(routing.InAgentHandback))
	g.POST("/conversations/:id/reopen", a.agentAction(routing.InAgentReopen))
	g.PUT("/agents/me/presence", a.presence)
	g.GET("/events", a.events)
	g.GET("/media/:id/:media", a.media)
}

// authenticateAgent resolves "Authorization: Bearer <token>" to an agent.
func (a *App) authenticateAgent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok {
			return errUnauthorized
		}
		ag, ok := a.engine.setup.Load().agentByToken(strings.TrimSpace(token))
		if !ok {
			return errUnauthorized
		}
		c.Set("agent", ag)
		return next(c)
	}
}

func agentOf(c echo.Context) *agent { return c.Get("agent").(*agent) }

// conversationJSON is a conversation as the agent API shows it.
type conversationJSON struct {
	ID           string             `json:"id"`
	Channel      string             `json:"channel"`
	Platform     channels.Platform  `json:"platform"`
	User         channels.User      `json:"user"`
	State        routing.State      `json:"state"`
	Position     int64              `json:"position,omitempty"`
	WaitingSince *time.Time         `json:"waiting_since"`
	WaitSeconds  float64            `json:"wait_seconds,omitempty"`
	AssignedTo   *string            `json:"assigned_to"`
	LastMessage  *queue.LastMessage `json:"last_message,omitempty"`
	Variables    map[string]string  `json:"variables,omitempty"`
	Transcript   []queue.Entry      `json:"transcript,omitempty"`
	Notes        []queue.Entry      `json:"notes,omitempty"`
}

func (a *App) toJSON(rec *queue.Record, position int64) conversationJSON {
	j := conversationJSON{ID: rec.ID, Channel: rec.Channel, Platform: rec.Platform, User: rec.User,
		State: rec.State, Position: position, LastMessage: rec.LastMessage, Variables: rec.Variables}
	if rec.State == routing.StateWaiting && !rec.WaitingSince.IsZero() {
		since := rec.WaitingSince
		j.WaitingSince = &since
		j.WaitSeconds = a.now().Sub(since).Seconds()
	}
	if rec.AssignedTo != "" {
		agent := rec.AssignedTo
		j.AssignedTo = &agent
	}
	ch, _ := a.engine.channel(rec.Channel)
	j.User.Name = displayName(ch, rec)
	return j
}

// authorize loads a conversation and checks it is on one of the agent's channels.
func (a *App) authorize(c echo.Context) (*queue.Record, error) {
	id := c.Param("id")
	ch := queue.ChannelOf(id)
	if ch == "" {
		return nil, queue.ErrNotFound
	}
	if !agentOf(c).serves(ch) {
		return nil, ErrForbidden
	}
	rec, err := a.engine.store.Load(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	if rec.Version == 0 {
		return nil, queue.ErrNotFound
	}
	return rec, nil
}

func (a *App) listQueue(c echo.Context) error {
	ctx := c.Request().Context()
	ag := agentOf(c)
	out := []conversationJSON{}
	for _, ch := range ag.channels {
		line, err := a.engine.store.Line(ctx, ch, 0)
		if err != nil {
			return err
		}
		for i, w := range line {
			rec, err := a.engine.store.Load(ctx, w.Conversation)
			if err != nil {
				return err
			}
			if rec.State != routing.StateWaiting || rec.WaitingSince.IsZero() {
				continue // a stale line entry: claiming it drops it
			}
			out = append(out, a.toJSON(rec, int64(i+1)))
		}
	}
	slices.SortStableFunc(out, func(x, y conversationJSON) int { return x.WaitingSince.Compare(*y.WaitingSince) })
	return c.JSON(http.StatusOK, map[string]any{"conversations": out})
}

// claim takes the oldest waiting conversation; with ?wait= it long-polls,
// woken by line notices rather than by polling Redis.
func (a *App) claim(c echo.Context) error {
	ag := agentOf(c)
	only := c.QueryParam("channel")
	var wait time.Duration
	if w := c.QueryParam("wait"); w != "" {
		d, err := time.ParseDuration(w)
		if err != nil || d < 0 {
			return errBadRequest("wait must be a duration such as 20s")
		}
		wait = min(d, maxClaimWait)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), wait)
	defer cancel()
	chans := ag.channels
	if only != "" {
		chans = []string{only}
	}
	for {
		rec, err := a.engine.Claim(c.Request().Context(), ag, only)
		if err != nil {
			return err
		}
		if rec != nil {
			a.log.Info("conversation claimed", logAttrs(ag.id, rec.ID)...)
			return c.JSON(http.StatusOK, a.toJSON(rec, 0))
		}
		if wait == 0 || !a.waiters.wait(ctx, chans) {
			return c.NoContent(http.StatusNoContent)
		}
	}
}

func (a *App) listConversations(c echo.Context) error {
	status := c.QueryParam("status")
	if status != "" && status != string(routing.StateAssigned) {
		return errBadRequest("status must be assigned")
	}
	ctx := c.Request().Context()
	held, err := a.engine.assigned(ctx, agentOf(c))
	if err != nil {
		return err
	}
	out := []conversationJSON{}
	for _, id := range held {
		rec, err := a.engine.store.Load(ctx, id)
		if err != nil {
			return err
		}
		out = append(out, a.toJSON(rec, 0))
	}
	return c.JSON(http.StatusOK, map[string]any{"conversations": out})
}

func (a *App) getConversation(c echo.Context) error {
	rec, err := a.authorize(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	pos, err := a.engine.store.Position(ctx, rec.ID)
	if err != nil {
		return err
	}
	entries, err := a.engine.store.Transcript(ctx, rec.ID)
	if err != nil {
		return err
	}
	j := a.toJSON(rec, pos)
	j.Transcript, j.Notes = []queue.Entry{}, []queue.Entry{}
	for _, e := range entries {
		if e.Kind == "note" {
			j.Notes = append(j.Notes, e)
		} else {
			j.Transcript = append(j.Transcript, e)
		}
	}
	return c.JSON(http.StatusOK, j)
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

func (a *App) reply(c echo.Context) error {
	rec, err := a.authorize(c)
	if err != nil {
		return err
	}
	body, err := bindMessage(c)
	if err != nil {
		return err
	}
	var att *channels.Attachment
	if b := body.Attachment; b != nil {
		att = &channels.Attachment{Type: b.Type, URL: b.URL, Caption: b.Caption, FileName: b.FileName}
	}
	entry, err := a.engine.ReplyMessage(c.Request().Context(), agentOf(c), rec.ID, body.Text, att)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{"id": entry.ID, "status": "queued"})
}

func (a *App) note(c echo.Context) error {
	rec, err := a.authorize(c)
	if err != nil {
		return err
	}
	text, err := bindText(c)
	if err != nil {
		return err
	}
	ag := agentOf(c)
	entry := queue.Entry{ID: queue.NewEntryID(), At: a.now(), Author: routing.AuthorAgent, Agent: ag.id, Kind: "note", Text: text}
	if err := a.engine.store.Append(c.Request().Context(), rec.ID, entry); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, entry)
}

// agentAction runs close, release, handback or reopen.
func (a *App) agentAction(kind routing.InputKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		rec, err := a.authorize(c)
		if err != nil {
			return err
		}
		ag := agentOf(c)
		rec, err = a.engine.Apply(c.Request().Context(), rec.ID, routing.Input{Kind: kind, Agent: ag.id, AgentName: ag.name})
		if err != nil {
			return err
		}
		a.log.Info("agent action", append(logAttrs(ag.id, rec.ID), "action", kind)...)
		return c.JSON(http.StatusOK, a.toJSON(rec, 0))
	}
}

func (a *App) presence(c echo.Context) error {
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
	if err := a.engine.SetPresence(c.Request().Context(), agentOf(c), b.Status); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"status": string(b.Status)})
}
