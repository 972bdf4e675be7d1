package engine

import (
	"context"
	"encoding/base64"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/queue"
)

// What the admin API asks: the channels' stats, the sessions report and
// the erasure of a contact.

// ChannelStats is one channel's line now and its counts today.
type ChannelStats struct {
	Channel            string     `json:"channel"`
	Retired            bool       `json:"retired,omitempty"`
	Waiting            int64      `json:"waiting"`
	OldestWaitingSince *time.Time `json:"oldest_waiting_since"`
	OldestWaitSeconds  float64    `json:"oldest_wait_seconds"`
	AgentsOnline       int        `json:"agents_online"`
	// DeadLetters counts the events set aside on the channel's dead-letter
	// list (guard.go); RecentDeadLetters are the newest few.
	DeadLetters       int64              `json:"dead_letters"`
	RecentDeadLetters []queue.DeadLetter `json:"recent_dead_letters"`
	Today             DayStats           `json:"today"`
	// Labels counts the channel's conversations per configured label.
	Labels map[string]int64 `json:"labels"`
	// ChannelFigures are the agents' figures over the period asked
	// (figures.go).
	ChannelFigures
}

// recentDeadLetters is how many dead letters the stats list per channel.
const recentDeadLetters = 5

// DayStats is what happened on a channel today, in the channel's zone.
type DayStats struct {
	Date              string  `json:"date"`
	Transfers         int64   `json:"transfers"`
	Declines          int64   `json:"declines"`
	AlreadyWaiting    int64   `json:"already_waiting"`
	Expiries          int64   `json:"expiries"`
	LeftLine          int64   `json:"left_line"`
	Missed            int64   `json:"missed"` // expired while waiting (window.go)
	Taken             int     `json:"taken"`
	WaitMedianSeconds float64 `json:"wait_median_seconds"`
	WaitP90Seconds    float64 `json:"wait_p90_seconds"`
}

// Stats returns, per channel in order, the line at now, today's counts
// and wait times ("today" in the channel's time zone), and the agents'
// figures of the sessions that ended in [from, to): a zero from is the
// start of today in the channel's zone, a zero to is now.
func (e *Engine) Stats(ctx context.Context, now, from, to time.Time) ([]ChannelStats, error) {
	s := e.setup.Load()
	online, err := e.onlineByChannel(ctx, s)
	if err != nil {
		return nil, err
	}
	out := []ChannelStats{}
	for _, id := range s.sortedChannels() {
		ch := s.channels[id]
		st := ChannelStats{Channel: id, Retired: ch.retired, AgentsOnline: len(online[id])}
		if st.Waiting, err = e.line.LineLength(ctx, id); err != nil {
			return nil, err
		}
		head, err := e.line.Line(ctx, id, 1)
		if err != nil {
			return nil, err
		}
		if len(head) == 1 {
			since := head[0].Since.UTC()
			st.OldestWaitingSince, st.OldestWaitSeconds = &since, now.Sub(since).Seconds()
		}
		if st.DeadLetters, st.RecentDeadLetters, err = e.deadLetters.DeadLetters(ctx, id, recentDeadLetters); err != nil {
			return nil, err
		}
		day := ch.day(now)
		d, err := e.stats.DailyStats(ctx, id, day)
		if err != nil {
			return nil, err
		}
		st.Today = DayStats{Date: day, Transfers: d.Counts["transfers"], Declines: d.Counts["declines"],
			AlreadyWaiting: d.Counts["already_waiting"], Expiries: d.Counts["expiries"], LeftLine: d.Counts["left_line"], Missed: d.Counts["missed"], Taken: len(d.Waits),
			WaitMedianSeconds: percentile(d.Waits, 0.5), WaitP90Seconds: percentile(d.Waits, 0.9)}
		if st.Labels, err = e.labelCounts(ctx, s, id); err != nil {
			return nil, err
		}
		start, end := from, to
		if start.IsZero() {
			start = ch.startOfDay(now)
		}
		if end.IsZero() {
			end = now
		}
		if st.ChannelFigures, err = e.figures(ctx, id, start, end); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
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

// reportScanBudget bounds the stream entries one report page reads: a
// narrow filter over a long history then answers a short page with a
// cursor to go on.
const reportScanBudget = 20000

// ReportQuery selects the sessions of the report.
type ReportQuery struct {
	// From and To bound the session's end: [From, To); zero: unbounded.
	From, To time.Time
	// Channel is one channel id; empty: every channel set up. A removed
	// channel's history stays readable by naming it.
	Channel string
	// Resolution, Kind and Bot match exactly when not empty.
	Resolution, Kind, Bot string
	// Label, when set, keeps the sessions of conversations that carry it.
	Label string
	// Q is a case-insensitive substring of the user, agent, conversation or bot.
	Q string
	// Limit is the page size; Cursor the NextCursor of the previous page.
	Limit  int
	Cursor string
}

// SessionRow is one row of the sessions report.
type SessionRow struct {
	queue.SessionRecord
	DurationSeconds float64 `json:"duration_seconds"`
	// FirstResponseSeconds: an agent session's time from assignment to
	// the agent's first reply (absent without a reply).
	FirstResponseSeconds *float64 `json:"first_response_seconds,omitempty"`
}

// SessionsReport returns one page of ended bot and agent sessions with
// their resolution, read from the channels' sessions streams in channel
// order, and the cursor of the next page ("" after the last). It returns
// an error of code CodeBadRequest for a malformed channel or cursor.
func (e *Engine) SessionsReport(ctx context.Context, q ReportQuery) ([]SessionRow, string, error) {
	s := e.setup.Load()
	chans := s.sortedChannels()
	if q.Label != "" && !slices.Contains(s.cfg.Labels, q.Label) {
		return nil, "", unknownLabel(s, q.Label)
	}
	if q.Channel != "" {
		if !channelIDPattern.MatchString(q.Channel) {
			return nil, "", &Error{Code: CodeBadRequest, Message: "channel: not a channel id"}
		}
		chans = []string{q.Channel}
	}
	curCh, curID, err := parseReportCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	rows := []SessionRow{}
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
			if len(rows) >= q.Limit || scanned >= reportScanBudget {
				next = encodeReportCursor(ch, after)
				break scan
			}
			n := int64(min(q.Limit-len(rows), reportScanBudget-scanned))
			recs, last, err := e.stats.Sessions(ctx, ch, time.UnixMilli(0), time.Time{}, after, n)
			if err != nil {
				return nil, "", err
			}
			if last == "" {
				break // this channel is done
			}
			scanned += int(n)
			after = last
			labelled, err := e.labelled(ctx, ch, q.Label, recs)
			if err != nil {
				return nil, "", err
			}
			for i := range recs {
				if q.match(&recs[i]) && (labelled == nil || labelled[recs[i].Conversation]) {
					rows = append(rows, sessionRow(recs[i]))
				}
			}
		}
	}
	return rows, next, nil
}

func (q *ReportQuery) match(r *queue.SessionRecord) bool {
	if !q.From.IsZero() && r.End.Before(q.From) || !q.To.IsZero() && !r.End.Before(q.To) {
		return false
	}
	if q.Resolution != "" && string(r.Resolution) != q.Resolution {
		return false
	}
	if q.Kind != "" && string(r.Kind) != q.Kind {
		return false
	}
	if q.Bot != "" && r.Bot != q.Bot {
		return false
	}
	sub := strings.ToLower(q.Q)
	return sub == "" || strings.Contains(strings.ToLower(r.User+" "+r.Agent+" "+r.Conversation+" "+r.Bot), sub)
}

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
		return "", "", &Error{Code: CodeBadRequest, Message: "cursor: not a cursor of this report"}
	}
	return ch, id, nil
}

// channelIDPattern is what channel ids match (config validates them).
var channelIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Erasure is what EraseContact removed.
type Erasure struct {
	Conversation string       `json:"conversation"`
	Erased       queue.Erased `json:"erased"`
}

// EraseContact removes everything stored about a user on a channel: the
// conversation, its transcript, sessions, notices and queued tasks (see
// queue.Store.Erase). The audit log line names the conversation id (a
// hash), never the user id. It returns an error of code CodeBadRequest for
// a malformed channel id or an empty user id.
func (e *Engine) EraseContact(ctx context.Context, channel, user string) (Erasure, error) {
	if user == "" || !channelIDPattern.MatchString(channel) {
		return Erasure{}, &Error{Code: CodeBadRequest, Message: "want a channel id and a user id"}
	}
	convID := queue.ConversationID(channel, user)
	tasks, err := e.eraseTasks(ctx, convID)
	if err != nil {
		return Erasure{}, err
	}
	convID, erased, err := e.convs.Erase(ctx, channel, user)
	if err != nil {
		return Erasure{}, err
	}
	erased.Tasks = tasks
	if _, err := e.deadLetters.EraseDeadLetters(ctx, convID); err != nil {
		return Erasure{}, err
	}
	// A channel no longer configured may still hold data to erase; one that
	// never held any is most likely a typo, which must not look like a
	// successful erasure.
	if _, known := e.setup.Load().channels[channel]; !known && erased == (queue.Erased{}) {
		return Erasure{}, &Error{Code: CodeNotFound, Message: "no channel " + strconv.Quote(channel) + " and nothing stored for it"}
	}
	e.log.InfoContext(ctx, "contact data erased", "audit", "erasure", "channel", channel, "conversation", convID,
		"keys", erased.Keys, "entries", erased.Entries, "sessions", erased.Sessions, "tasks", erased.Tasks)
	return Erasure{Conversation: convID, Erased: erased}, nil
}
