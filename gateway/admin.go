package gateway

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/queue"
)

// registerAdminAPI adds the admin routes: reload, stats, the sessions
// report and contact erasure.
func (a *App) registerAdminAPI(e *echo.Echo) {
	g := e.Group("/api/v1/admin", a.authenticateAdmin)
	g.POST("/reload", a.reload)
	g.GET("/stats", a.stats)
	g.GET("/reports/sessions", a.sessionsReport)
	g.DELETE("/contacts/:channel/:user", a.eraseContact)
	g.POST("/conversations/:id/release", a.adminRelease)
}

// authenticateAdmin checks "Authorization: Bearer <admin_token>" in
// constant time, against the token of the current configuration.
func (a *App) authenticateAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		want := a.engine.setup.Load().cfg.AdminToken.Reveal()
		if !ok || want == "" || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(want)) != 1 {
			return errUnauthorized
		}
		return next(c)
	}
}

// channelStats is one channel's line of GET /api/v1/admin/stats.
type channelStats struct {
	Channel            string     `json:"channel"`
	Retired            bool       `json:"retired,omitempty"`
	Waiting            int64      `json:"waiting"`
	OldestWaitingSince *time.Time `json:"oldest_waiting_since"`
	OldestWaitSeconds  float64    `json:"oldest_wait_seconds"`
	AgentsOnline       int        `json:"agents_online"`
	Today              dayStats   `json:"today"`
	// DeadLetters counts the events set aside on the channel's dead-letter
	// list (deadletter.go); RecentDeadLetters are the newest few.
	DeadLetters       int64              `json:"dead_letters"`
	RecentDeadLetters []queue.DeadLetter `json:"recent_dead_letters"`
}

// recentDeadLetters is how many dead letters the stats list per channel.
const recentDeadLetters = 5

// dayStats is what happened on a channel today, in the channel's zone.
type dayStats struct {
	Date              string  `json:"date"`
	Transfers         int64   `json:"transfers"`
	Declines          int64   `json:"declines"`
	AlreadyWaiting    int64   `json:"already_waiting"`
	Expiries          int64   `json:"expiries"`
	Taken             int     `json:"taken"`
	WaitMedianSeconds float64 `json:"wait_median_seconds"`
	WaitP90Seconds    float64 `json:"wait_p90_seconds"`
}

// stats is GET /api/v1/admin/stats: per channel, the line now and today's
// counts and wait times ("today" in the channel's time zone).
func (a *App) stats(c echo.Context) error {
	ctx := c.Request().Context()
	s := a.engine.setup.Load()
	now := a.now()
	online, err := a.engine.onlineByChannel(ctx)
	if err != nil {
		return err
	}
	out := []channelStats{}
	for _, id := range sortedChannels(s) {
		ch := s.channels[id]
		st := channelStats{Channel: id, Retired: ch.retired, AgentsOnline: len(online[id])}
		if st.Waiting, err = a.engine.store.LineLength(ctx, id); err != nil {
			return err
		}
		head, err := a.engine.store.Line(ctx, id, 1)
		if err != nil {
			return err
		}
		if len(head) == 1 {
			since := head[0].Since.UTC()
			st.OldestWaitingSince, st.OldestWaitSeconds = &since, now.Sub(since).Seconds()
		}
		if st.DeadLetters, st.RecentDeadLetters, err = a.engine.store.DeadLetters(ctx, id, recentDeadLetters); err != nil {
			return err
		}
		day := ch.day(now)
		d, err := a.engine.store.DailyStats(ctx, id, day)
		if err != nil {
			return err
		}
		st.Today = dayStats{Date: day, Transfers: d.Counts["transfers"], Declines: d.Counts["declines"],
			AlreadyWaiting: d.Counts["already_waiting"], Expiries: d.Counts["expiries"], Taken: len(d.Waits),
			WaitMedianSeconds: percentile(d.Waits, 0.5), WaitP90Seconds: percentile(d.Waits, 0.9)}
		out = append(out, st)
	}
	return c.JSON(http.StatusOK, map[string]any{"at": now.UTC(), "channels": out})
}

// percentile is the nearest-rank percentile of waits in seconds (0 for none).
func percentile(waits []time.Duration, p float64) float64 {
	if len(waits) == 0 {
		return 0
	}
	w := slices.Clone(waits)
	slices.Sort(w)
	rank := int(p*float64(len(w))+0.999999) - 1
	rank = min(max(rank, 0), len(w)-1)
	return w[rank].Seconds()
}

func sortedChannels(s *setup) []string {
	ids := make([]string, 0, len(s.channels))
	for id := range s.channels {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Report paging: a page holds at most maxReportLimit sessions, and one
// request reads at most reportScanBudget stream entries (a narrow filter
// over a long history then answers a short page with a cursor to go on).
const (
	defaultReportLimit = 100
	maxReportLimit     = 1000
	reportScanBudget   = 20000
)

// sessionJSON is one row of the sessions report.
type sessionJSON struct {
	queue.SessionRecord
	DurationSeconds float64 `json:"duration_seconds"`
}

// sessionsReport is GET /api/v1/admin/reports/sessions: every ended bot and
// agent session with its resolution, from the channels' sessions streams,
// filtered by ?from= and ?to= (RFC 3339 or YYYY-MM-DD, on the session's
// end), ?channel=, ?resolution=, ?kind=, ?bot= and ?q= (a substring of the
// user, agent, conversation or bot), paged with ?limit= and ?cursor= (the
// next_cursor of the previous page). JSON by default; CSV with Accept:
// text/csv, the next cursor then in the X-Next-Cursor header.
func (a *App) sessionsReport(c echo.Context) error {
	ctx := c.Request().Context()
	qp := c.QueryParams()
	from, err := parseReportTime(qp.Get("from"), false)
	if err != nil {
		return errBadRequest("from: " + err.Error())
	}
	to, err := parseReportTime(qp.Get("to"), true)
	if err != nil {
		return errBadRequest("to: " + err.Error())
	}
	limit := defaultReportLimit
	if l := qp.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit <= 0 || limit > maxReportLimit {
			return errBadRequest("limit: want 1 to " + strconv.Itoa(maxReportLimit))
		}
	}
	chans := sortedChannels(a.engine.setup.Load())
	if only := qp.Get("channel"); only != "" {
		if !channelIDPattern.MatchString(only) {
			return errBadRequest("channel: not a channel id")
		}
		chans = []string{only} // a removed channel's history stays readable
	}
	curCh, curID, err := parseReportCursor(qp.Get("cursor"))
	if err != nil {
		return errBadRequest("cursor: " + err.Error())
	}
	match := func(r *queue.SessionRecord) bool {
		if !from.IsZero() && r.End.Before(from) || !to.IsZero() && !r.End.Before(to) {
			return false
		}
		if v := qp.Get("resolution"); v != "" && string(r.Resolution) != v {
			return false
		}
		if v := qp.Get("kind"); v != "" && string(r.Kind) != v {
			return false
		}
		if v := qp.Get("bot"); v != "" && r.Bot != v {
			return false
		}
		q := strings.ToLower(qp.Get("q"))
		return q == "" || strings.Contains(strings.ToLower(r.User+" "+r.Agent+" "+r.Conversation+" "+r.Bot), q)
	}

	rows := []sessionJSON{}
	next, scanned := "", 0
scan:
	for _, ch := range chans {
		after := ""
		if curCh != "" {
			if ch < curCh {
				continue
			}
			if ch == curCh {
				after = curID
			}
		}
		for {
			if len(rows) >= limit || scanned >= reportScanBudget {
				next = encodeReportCursor(ch, after)
				break scan
			}
			n := int64(min(limit-len(rows), reportScanBudget-scanned))
			recs, last, err := a.engine.store.Sessions(ctx, ch, time.UnixMilli(0), time.Time{}, after, n)
			if err != nil {
				return err
			}
			if last == "" {
				break // this channel is done
			}
			scanned += int(n)
			after = last
			for i := range recs {
				if match(&recs[i]) {
					rows = append(rows, sessionJSON{SessionRecord: recs[i], DurationSeconds: recs[i].End.Sub(recs[i].Start).Seconds()})
				}
			}
		}
	}
	if strings.Contains(c.Request().Header.Get("Accept"), "text/csv") {
		return writeSessionsCSV(c, rows, next)
	}
	return c.JSON(http.StatusOK, map[string]any{"sessions": rows, "next_cursor": next})
}

func writeSessionsCSV(c echo.Context, rows []sessionJSON, next string) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	if next != "" {
		h.Set("X-Next-Cursor", next)
	}
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{"id", "conversation", "channel", "user", "kind", "bot", "agent", "start", "end", "duration_seconds", "resolution"})
	for _, r := range rows {
		_ = w.Write([]string{r.ID, r.Conversation, r.Channel, r.User, string(r.Kind), r.Bot, r.Agent,
			r.Start.UTC().Format(time.RFC3339), r.End.UTC().Format(time.RFC3339),
			strconv.FormatFloat(r.DurationSeconds, 'f', -1, 64), string(r.Resolution)})
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

var errDate = &apiError{http.StatusBadRequest, "bad_request", "want RFC 3339 (2026-11-20T22:00:00Z) or a date (2026-11-20)"}

func encodeReportCursor(channel, after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(channel + " " + after))
}

func parseReportCursor(s string) (string, string, error) {
	if s == "" {
		return "", "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	ch, id, ok := strings.Cut(string(b), " ")
	if err != nil || !ok || !channelIDPattern.MatchString(ch) {
		return "", "", errBadRequest("not a cursor of this report")
	}
	return ch, id, nil
}

// channelIDPattern is what channel ids match (config validates them).
var channelIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// eraseContact is DELETE /api/v1/admin/contacts/{channel}/{user}: it
// removes everything stored about that user on that channel (see
// queue.Store.Erase and queue.Redis.EraseTasks). The audit log line names
// the conversation id (a hash), never the user id.
func (a *App) eraseContact(c echo.Context) error {
	ctx := c.Request().Context()
	channel := c.Param("channel")
	user, err := url.PathUnescape(c.Param("user"))
	if err != nil || user == "" || !channelIDPattern.MatchString(channel) {
		return errBadRequest("want /api/v1/admin/contacts/{channel}/{user id}")
	}
	convID := queue.ConversationID(channel, user)
	tasks, err := a.redis.EraseTasks(ctx, convID)
	if err != nil {
		return err
	}
	convID, erased, err := a.engine.store.Erase(ctx, channel, user)
	if err != nil {
		return err
	}
	erased.Tasks = tasks
	if _, err := a.engine.store.EraseDeadLetters(ctx, convID); err != nil {
		return err
	}
	a.log.InfoContext(ctx, "contact data erased", "audit", "erasure", "channel", channel, "conversation", convID,
		"keys", erased.Keys, "entries", erased.Entries, "sessions", erased.Sessions, "tasks", erased.Tasks)
	return c.JSON(http.StatusOK, map[string]any{"conversation": convID, "erased": erased})
}
