package engine

import (
	"cmp"
	"context"
	"slices"
	"time"

	"switchboard/queue"
	"switchboard/routing"
)

// Per-agent figures: what the agents of a channel did over a period, read
// from the channel's sessions (each agent session keeps its assignment,
// its first reply, its end and the satisfaction answer about it).

// figuresScanBudget bounds the session records one channel's figures
// read: the newest this many cover the period of any busy day.
const figuresScanBudget = 200_000

// Figures are a channel's or an agent's work over a period.
type Figures struct {
	// Handled counts the agent sessions (assignments) that ended in the
	// period, whatever their end.
	Handled int `json:"conversations_handled"`
	// FirstResponseSeconds is the average time from assignment to the
	// agent's first reply, over the sessions with a reply.
	FirstResponseSeconds float64 `json:"first_response_average_seconds"`
	// HandlingSeconds is the average time from assignment to the agent's
	// close, over the sessions the agent closed.
	HandlingSeconds float64 `json:"handling_average_seconds"`
	CSAT            CSAT    `json:"csat"`
}

// CSAT sums up satisfaction answers: how many, and their average position
// (1 = the first choice).
type CSAT struct {
	Count   int     `json:"count"`
	Average float64 `json:"average"`
}

// AgentFigures are one agent's figures on one channel.
type AgentFigures struct {
	Agent string `json:"agent"`
	Figures
}

// Period is the range figures cover: sessions that ended in [From, To).
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// ChannelFigures are a channel's figures over a period, with each agent's.
type ChannelFigures struct {
	Period Period `json:"period"`
	Figures
	Agents []AgentFigures `json:"agents"`
}

// figures reads a channel's agent sessions that ended in [from, to) and
// sums them up per channel and per agent (agents in id order).
func (e *Engine) figures(ctx context.Context, channel string, from, to time.Time) (ChannelFigures, error) {
	all := &tally{}
	agents := map[string]*tally{}
	after, scanned := "", 0
	for scanned < figuresScanBudget {
		recs, last, err := e.stats.Sessions(ctx, channel, time.UnixMilli(0), time.Time{}, after, 1000)
		if err != nil {
			return ChannelFigures{}, err
		}
		if last == "" {
			break
		}
		scanned += 1000
		after = last
		for i := range recs {
			r := &recs[i]
			if r.Kind != routing.SessionAgent || r.End.Before(from) || !r.End.Before(to) {
				continue
			}
			if agents[r.Agent] == nil {
				agents[r.Agent] = &tally{}
			}
			all.add(r)
			agents[r.Agent].add(r)
		}
	}
	out := ChannelFigures{Period: Period{From: from.UTC(), To: to.UTC()}, Figures: all.figures(), Agents: []AgentFigures{}}
	for id, t := range agents {
		out.Agents = append(out.Agents, AgentFigures{Agent: id, Figures: t.figures()})
	}
	slices.SortFunc(out.Agents, func(a, b AgentFigures) int { return cmp.Compare(a.Agent, b.Agent) })
	return out, nil
}

// tally accumulates agent sessions.
type tally struct {
	handled, replied, closed, answers int
	firstResponse, handling           time.Duration
	score                             int
}

func (t *tally) add(r *queue.SessionRecord) {
	t.handled++
	if !r.FirstReply.IsZero() {
		t.replied++
		t.firstResponse += r.FirstReply.Sub(r.Start)
	}
	if r.Resolution == routing.ResolutionClosed {
		t.closed++
		t.handling += r.End.Sub(r.Start)
	}
	if r.CSAT > 0 {
		t.answers++
		t.score += r.CSAT
	}
}

func (t *tally) figures() Figures {
	f := Figures{Handled: t.handled, CSAT: CSAT{Count: t.answers}}
	if t.replied > 0 {
		f.FirstResponseSeconds = t.firstResponse.Seconds() / float64(t.replied)
	}
	if t.closed > 0 {
		f.HandlingSeconds = t.handling.Seconds() / float64(t.closed)
	}
	if t.answers > 0 {
		f.CSAT.Average = float64(t.score) / float64(t.answers)
	}
	return f
}

// sessionRow is a session of the report, with its durations.
func sessionRow(r queue.SessionRecord) SessionRow {
	row := SessionRow{SessionRecord: r, DurationSeconds: r.End.Sub(r.Start).Seconds()}
	if !r.FirstReply.IsZero() {
		s := r.FirstReply.Sub(r.Start).Seconds()
		row.FirstResponseSeconds = &s
	}
	return row
}

// startOfDay is the midnight that starts t's day in the channel's zone.
func (c *channel) startOfDay(t time.Time) time.Time {
	loc := time.UTC
	if c.cfg.Hours != nil {
		loc = c.cfg.Hours.Calendar.Location()
	}
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}
