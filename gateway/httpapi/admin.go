package httpapi

import (
	"encoding/csv"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/config"
	"switchboard/gateway/engine"
)

// registerAdminAPI adds the admin routes: reload, stats, the sessions
// report, releasing any conversation and contact erasure.
func (s *Server) registerAdminAPI(e *echo.Echo) {
	g := e.Group("/api/v1/admin", s.limitFailures("admin"), bearer(s.adminToken))
	g.POST("/reload", s.reload)
	g.GET("/stats", s.stats)
	g.GET("/reports/sessions", s.sessionsReport)
	g.POST("/conversations/:id/release", s.adminRelease)
	g.DELETE("/contacts/:channel/:user", s.eraseContact)
}

// adminRelease is POST /api/v1/admin/conversations/{id}/release: the
// conversation goes back to its line at its place, whoever holds it (an
// agent removed from the configuration, say).
func (s *Server) adminRelease(c echo.Context) error {
	v, err := s.engine.AdminRelease(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// reload is POST /api/v1/admin/reload.
func (s *Server) reload(c echo.Context) error {
	res, err := s.reloadFn(c.Request().Context())
	if err != nil {
		var cfgErr *config.Error
		if errors.As(err, &cfgErr) {
			s.log.WarnContext(c.Request().Context(), "reload rejected; the running configuration is kept", "problems", len(cfgErr.Problems))
		}
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// stats is GET /api/v1/admin/stats: per channel, the line now and today's
// counts and wait times ("today" in the channel's time zone), and the
// agents' figures of the sessions that ended between ?from= and ?to= (as
// in the sessions report; default: today in the channel's zone).
func (s *Server) stats(c echo.Context) error {
	now := s.now()
	qp := c.QueryParams()
	from, err := parseReportTime(qp.Get("from"), false)
	if err != nil {
		return errBadRequest("from: " + err.Error())
	}
	to, err := parseReportTime(qp.Get("to"), true)
	if err != nil {
		return errBadRequest("to: " + err.Error())
	}
	out, err := s.engine.Stats(c.Request().Context(), now, from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"at": now.UTC(), "channels": out})
}

// Report paging: a page holds at most maxReportLimit sessions.
const (
	defaultReportLimit = 100
	maxReportLimit     = 1000
)

// sessionsReport is GET /api/v1/admin/reports/sessions: every ended bot and
// agent session with its resolution, filtered by ?from= and ?to= (RFC 3339
// or YYYY-MM-DD, on the session's end), ?channel=, ?resolution=, ?kind=,
// ?bot=, ?label= (sessions of conversations carrying the label) and ?q=
// (a substring of the user, agent, conversation or bot),
// paged with ?limit= and ?cursor= (the next_cursor of the previous page).
// JSON by default; CSV with Accept: text/csv, the next cursor then in the
// X-Next-Cursor header.
func (s *Server) sessionsReport(c echo.Context) error {
	qp := c.QueryParams()
	q := engine.ReportQuery{Channel: qp.Get("channel"), Resolution: qp.Get("resolution"), Kind: qp.Get("kind"),
		Bot: qp.Get("bot"), Q: qp.Get("q"), Limit: defaultReportLimit, Cursor: qp.Get("cursor"), Label: qp.Get("label")}
	var err error
	if q.From, err = parseReportTime(qp.Get("from"), false); err != nil {
		return errBadRequest("from: " + err.Error())
	}
	if q.To, err = parseReportTime(qp.Get("to"), true); err != nil {
		return errBadRequest("to: " + err.Error())
	}
	if l := qp.Get("limit"); l != "" {
		if q.Limit, err = strconv.Atoi(l); err != nil || q.Limit <= 0 || q.Limit > maxReportLimit {
			return errBadRequest("limit: want 1 to " + strconv.Itoa(maxReportLimit))
		}
	}
	rows, next, err := s.engine.SessionsReport(c.Request().Context(), q)
	if err != nil {
		return err
	}
	if strings.Contains(c.Request().Header.Get("Accept"), "text/csv") {
		return writeSessionsCSV(c, rows, next)
	}
	return c.JSON(http.StatusOK, map[string]any{"sessions": rows, "next_cursor": next})
}

func writeSessionsCSV(c echo.Context, rows []engine.SessionRow, next string) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	if next != "" {
		h.Set("X-Next-Cursor", next)
	}
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{"id", "conversation", "channel", "user", "kind", "bot", "agent", "start", "end", "duration_seconds", "resolution",
		"first_response_seconds", "csat"})
	for _, r := range rows {
		first, csat := "", ""
		if r.FirstResponseSeconds != nil {
			first = strconv.FormatFloat(*r.FirstResponseSeconds, 'f', -1, 64)
		}
		if r.CSAT > 0 {
			csat = strconv.Itoa(r.CSAT)
		}
		_ = w.Write([]string{r.ID, r.Conversation, r.Channel, r.User, string(r.Kind), r.Bot, r.Agent,
			r.Start.UTC().Format(time.RFC3339), r.End.UTC().Format(time.RFC3339),
			strconv.FormatFloat(r.DurationSeconds, 'f', -1, 64), string(r.Resolution), first, csat})
	}
	w.Flush()
	return w.Error()
}

// parseReportTime reads RFC 3339 or a date (UTC midnight; for the end of a
// range, the next midnight, so to=2026-11-20 includes that day).
func parseReportTime(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, errDate
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

var errDate = errors.New("want RFC 3339 (2026-11-20T22:00:00Z) or a date (2026-11-20)")

// eraseContact is DELETE /api/v1/admin/contacts/{channel}/{user}: it
// removes everything stored about that user on that channel.
func (s *Server) eraseContact(c echo.Context) error {
	user, err := url.PathUnescape(c.Param("user"))
	if err != nil || user == "" {
		return errBadRequest("want /api/v1/admin/contacts/{channel}/{user id}")
	}
	res, err := s.engine.EraseContact(c.Request().Context(), c.Param("channel"), user)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
