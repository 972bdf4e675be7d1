// Package hours prints a configuration's business hours, channel by
// channel, as the gateway reads them: the hours sub-command.
package hours

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"switchboard/config"
	"switchboard/routing"
)

// Options configure Print. The zero value prints every channel's
// current week beside the machine's zone.
type Options struct {
	// Channel limits the output to one channel id; empty prints them all.
	Channel string
	// Week is any day of the week to print (Monday to Sunday). Only its
	// date counts, read as written whatever its zone. Zero: the week that
	// contains Now in each channel's zone.
	Week time.Time
	// Now is the instant "open now" and "opens in" refer to. Zero: time.Now().
	Now time.Time
	// Local is the zone shown beside each channel's own. Nil: time.Local.
	// A local zone with the channel zone's name is not shown twice.
	Local *time.Location
}

// Print writes each channel's business hours for one week as a table:
// the open ranges of every day in the channel's zone and in the local zone,
// holidays, special dates and clock changes, then whether the channel is
// open now and when that changes. It reads the hours through the same
// calendar the gateway routes with. It returns an error for an unknown
// channel, and the writer's error.
func Print(w io.Writer, cfg *config.Config, opts Options) error {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Local == nil {
		opts.Local = time.Local
	}
	printed := false
	for i := range cfg.Channels {
		ch := &cfg.Channels[i]
		if opts.Channel != "" && ch.ID != opts.Channel {
			continue
		}
		if printed {
			fmt.Fprintln(w)
		}
		printed = true
		if err := printChannelHours(w, ch, opts); err != nil {
			return err
		}
	}
	if !printed {
		return fmt.Errorf("no channel %q in the configuration", opts.Channel)
	}
	return nil
}

// printChannelHours writes one channel's week.
func printChannelHours(w io.Writer, ch *config.Channel, opts Options) error {
	if ch.Hours == nil {
		_, err := fmt.Fprintf(w, "%s (%s): always open (no hours configured)\n", ch.ID, ch.Type)
		return err
	}
	cal := ch.Hours.Calendar
	loc := cal.Location()
	localName := opts.Local.String()
	if localName == "Local" { // time.Local does not know its IANA name
		localName = opts.Now.In(opts.Local).Format("MST")
	}
	showLocal := localName != loc.String()

	day := opts.Week
	if day.IsZero() {
		day = opts.Now.In(loc)
	}
	y, m, d := day.Date()
	monday := time.Date(y, m, d-(int(day.Weekday())+6)%7, 0, 0, 0, 0, loc)
	weekEnd := monday.AddDate(0, 0, 7)
	intervals := openIntervals(cal, monday, weekEnd)

	fmt.Fprintf(w, "%s (%s), week of %s\n", ch.ID, ch.Type, monday.Format("Mon 2006-01-02"))
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 3, ' ', 0)
	header := "day\t" + loc.String()
	if showLocal {
		header += "\tlocal (" + localName + ")"
	}
	fmt.Fprintln(tw, header+"\t")
	closed, special := dateSets(ch.Hours)
	for i := range 7 {
		start := monday.AddDate(0, 0, i)
		next := monday.AddDate(0, 0, i+1)
		var own, local []string
		for _, iv := range intervals {
			if !iv.start.Before(start) && iv.start.Before(next) {
				own = append(own, iv.format(loc, start))
				// The row's date, not its instant: the local column reads the same calendar day.
				local = append(local, iv.format(opts.Local, time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, opts.Local)))
			}
		}
		var notes []string
		switch date := (routing.Date{Year: start.Year(), Month: start.Month(), Day: start.Day()}).String(); {
		case closed[date]:
			notes = append(notes, "holiday")
		case special[date]:
			notes = append(notes, "special date")
		}
		notes = append(notes, clockChange("", loc, start, next)...)
		if showLocal {
			notes = append(notes, clockChange("local ", opts.Local, start, next)...)
		}
		row := start.Format("Mon 2006-01-02") + "\t" + joinOr(own, "closed")
		if showLocal {
			row += "\t" + joinOr(local, "-")
		}
		fmt.Fprintln(tw, row+"\t"+strings.Join(notes, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Empty last cells leave padding at the ends of lines.
	for line := range strings.Lines(table.String()) {
		fmt.Fprintln(w, strings.TrimRight(line, " \n"))
	}
	if len(ch.Hours.Closed) > 0 {
		dates := make([]string, len(ch.Hours.Closed))
		for i, d := range ch.Hours.Closed {
			dates[i] = d.String()
		}
		slices.Sort(dates)
		fmt.Fprintf(w, "closed dates: %s\n", strings.Join(dates, ", "))
	}
	if len(ch.Hours.Special) > 0 {
		var list []string
		for d, ranges := range ch.Hours.Special {
			spans := make([]string, len(ranges))
			for i, r := range ranges {
				spans[i] = r.String()
			}
			list = append(list, d.String()+" "+joinOr(spans, "closed"))
		}
		slices.Sort(list)
		fmt.Fprintf(w, "special dates: %s\n", strings.Join(list, ", "))
	}
	_, err := fmt.Fprintf(w, "now (%s): %s\n", opts.Now.In(loc).Format(ClockLayout), Status(cal, opts.Now))
	return err
}

// ClockLayout shows an instant in a channel's zone.
const ClockLayout = "Mon 2006-01-02 15:04 MST"

// dateSets returns the channel's closed and special dates as YYYY-MM-DD.
func dateSets(h *config.Hours) (closed, special map[string]bool) {
	closed, special = map[string]bool{}, map[string]bool{}
	for _, d := range h.Closed {
		closed[d.String()] = true
	}
	for d := range h.Special {
		special[d.String()] = true
	}
	return closed, special
}

// clockChange describes a change of loc's UTC offset between from and to.
func clockChange(prefix string, loc *time.Location, from, to time.Time) []string {
	a, b := from.In(loc), to.Add(-time.Nanosecond).In(loc)
	_, before := a.Zone()
	_, after := b.Zone()
	if before == after {
		return nil
	}
	return []string{fmt.Sprintf("%sclocks change %s → %s", prefix, a.Format("MST"), b.Format("MST"))}
}

func joinOr(list []string, empty string) string {
	if len(list) == 0 {
		return empty
	}
	return strings.Join(list, ", ")
}

// interval is a time the calendar is open: from start until end (zero
// end: still open past the search's limit).
type interval struct{ start, end time.Time }

// openIntervals lists the times the calendar is open that start in
// [from, to); one already open at from starts at from. Asking the calendar
// itself, rather than reading the configured ranges, shows what the
// gateway does, holidays, overnight ranges and DST included.
func openIntervals(cal *routing.Calendar, from, to time.Time) []interval {
	var out []interval
	for t := from; t.Before(to); {
		start := cal.NextOpen(t)
		if start.IsZero() || !start.Before(to) {
			break
		}
		end := closesAt(cal, start, to.AddDate(0, 0, 2))
		out = append(out, interval{start, end})
		if end.IsZero() {
			break
		}
		t = end
	}
	return out
}

// closesAt returns the first instant after t when the calendar, open at t,
// is closed; zero when it is still open at limit. Ranges are whole minutes
// in the calendar's zone and zone offsets are whole minutes, so minute
// steps find the exact instant.
func closesAt(cal *routing.Calendar, t, limit time.Time) time.Time {
	for m := t.Truncate(time.Minute).Add(time.Minute); !m.After(limit); m = m.Add(time.Minute) {
		if !cal.Open(m) {
			return m
		}
	}
	return time.Time{}
}

// format writes the interval as HH:MM-HH:MM in loc, for the row of the day
// that starts at dayStart. A start on another day, or an end that is not
// within the 24 hours after the start's wall-clock time, gets its weekday:
// "22:00-02:00" reads as overnight, as in the configuration.
func (iv interval) format(loc *time.Location, dayStart time.Time) string {
	s := iv.start.In(loc)
	from := s.Format("15:04")
	if !sameDate(s, dayStart) {
		from = s.Format("Mon 15:04")
	}
	if iv.end.IsZero() {
		return from + "-…"
	}
	e := iv.end.In(loc)
	to := e.Format("15:04")
	nextDay := sameDate(e, s.AddDate(0, 0, 1)) && e.Format("15:04") <= s.Format("15:04")
	if !sameDate(e, s) && !nextDay {
		to = e.Format("Mon 15:04")
	}
	return from + "-" + to
}

func sameDate(a, b time.Time) bool {
	ya, ma, da := a.Date()
	yb, mb, db := b.Date()
	return ya == yb && ma == mb && da == db
}

// Status says whether a channel with calendar cal is open at now and
// when that changes: "open now, closes in 1h (Sat 13:00)" or "closed now,
// opens in 3h10m (Mon 09:00)". A nil calendar is always open.
func Status(cal *routing.Calendar, now time.Time) string {
	if cal == nil {
		return "open now (no hours: always open)"
	}
	if cal.Open(now) {
		end := closesAt(cal, now, now.AddDate(0, 0, 8))
		if end.IsZero() {
			return "open now, for more than a week"
		}
		return fmt.Sprintf("open now, closes in %s (%s)", formatWait(end.Sub(now)), end.In(cal.Location()).Format("Mon 2006-01-02 15:04"))
	}
	next := cal.NextOpen(now)
	if next.IsZero() {
		return "closed now, and does not open within 400 days"
	}
	return fmt.Sprintf("closed now, opens in %s (%s)", formatWait(next.Sub(now)), next.In(cal.Location()).Format("Mon 2006-01-02 15:04"))
}

// formatWait writes a duration to the minute, with days: "1d11h", "3h10m",
// "45m".
func formatWait(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "under a minute"
	}
	days, hours, minutes := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60
	var b strings.Builder
	if days > 0 {
		fmt.Fprintf(&b, "%dd", days)
	}
	if hours > 0 {
		fmt.Fprintf(&b, "%dh", hours)
	}
	if minutes > 0 {
		fmt.Fprintf(&b, "%dm", minutes)
	}
	return b.String()
}
