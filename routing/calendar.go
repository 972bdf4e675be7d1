package routing

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the zone database is embedded: the binary works on minimal images
)

// HoursSpec describes a channel's business hours (design.md §4).
//
// A range is "HH:MM-HH:MM" in the calendar's zone; a day may have several.
// The end may be "24:00". An end at or before the start means the range
// crosses midnight: "22:00-02:00" belongs to the day it starts on and goes on
// until 02:00 the next morning, whatever the next day is (closed or special
// dates cancel the ranges that start on them, not the tail of the evening
// before).
type HoursSpec struct {
	// Timezone is an IANA zone name; empty means UTC.
	Timezone string
	// Weekly holds the ranges of each weekday; a missing day is closed.
	Weekly map[time.Weekday][]string
	// Closed lists holidays, as YYYY-MM-DD.
	Closed []string
	// Special gives dates (YYYY-MM-DD) their own ranges, replacing the
	// weekday's; an empty list closes the date.
	Special map[string][]string
}

// Calendar answers whether a channel is within business hours.
//
// Wall-clock times are read in the calendar's zone, so DST changes move the
// instants, not the hours. A time that does not exist (skipped by a DST
// change) means the first instant after the gap; a time that happens twice
// (the repeated hour) means its first occurrence.
type Calendar struct {
	loc     *time.Location
	weekly  [7][]span
	closed  map[civilDate]bool
	special map[civilDate][]span
}

// openHorizon bounds NextOpen's search.
const openHorizon = 400

// span is one range of a day, in minutes after its midnight; end may pass
// 24*60 for a range that crosses midnight.
type span struct{ start, end int }

// civilDate is a calendar date without a zone.
type civilDate struct {
	year  int
	month time.Month
	day   int
}

func dateOf(t time.Time) civilDate {
	y, m, d := t.Date()
	return civilDate{y, m, d}
}

// addDays normalizes through time.Date, which handles month and year ends.
func (d civilDate) addDays(n int) civilDate {
	return dateOf(time.Date(d.year, d.month, d.day+n, 0, 0, 0, 0, time.UTC))
}

func (d civilDate) weekday() time.Weekday {
	return time.Date(d.year, d.month, d.day, 0, 0, 0, 0, time.UTC).Weekday()
}

// NewCalendar validates spec and builds its calendar. Errors name the zone,
// weekday, date or range at fault.
func NewCalendar(spec HoursSpec) (*Calendar, error) {
	loc, err := time.LoadLocation(spec.Timezone)
	if err != nil || spec.Timezone == "Local" { // "Local" would depend on the machine
		return nil, fmt.Errorf("hours: unknown time zone %q", spec.Timezone)
	}
	c := &Calendar{
		loc:     loc,
		closed:  make(map[civilDate]bool, len(spec.Closed)),
		special: make(map[civilDate][]span, len(spec.Special)),
	}
	for day, ranges := range spec.Weekly {
		if day < time.Sunday || day > time.Saturday {
			return nil, fmt.Errorf("hours: invalid weekday %d", day)
		}
		if c.weekly[day], err = parseRanges(ranges); err != nil {
			return nil, fmt.Errorf("hours: %s: %w", day, err)
		}
	}
	for _, s := range spec.Closed {
		d, err := parseDate(s)
		if err != nil {
			return nil, fmt.Errorf("hours: closed: %w", err)
		}
		c.closed[d] = true
	}
	for s, ranges := range spec.Special {
		d, err := parseDate(s)
		if err != nil {
			return nil, fmt.Errorf("hours: special: %w", err)
		}
		if c.closed[d] {
			return nil, fmt.Errorf("hours: date %s is both closed and special", s)
		}
		if c.special[d], err = parseRanges(ranges); err != nil {
			return nil, fmt.Errorf("hours: special %s: %w", s, err)
		}
	}
	return c, nil
}

func parseDate(s string) (civilDate, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return civilDate{}, fmt.Errorf("invalid date %q (want YYYY-MM-DD)", s)
	}
	return dateOf(t), nil
}

// parseRanges parses a day's ranges and sorts them; overlapping ranges are
// an error.
func parseRanges(ranges []string) ([]span, error) {
	spans := make([]span, 0, len(ranges))
	for _, r := range ranges {
		s, err := parseRange(r)
		if err != nil {
			return nil, err
		}
		spans = append(spans, s)
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			return nil, fmt.Errorf("ranges %s and %s overlap", spans[i-1], spans[i])
		}
	}
	return spans, nil
}

func parseRange(r string) (span, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(r), "-")
	if !ok {
		return span{}, fmt.Errorf("invalid range %q (want HH:MM-HH:MM)", r)
	}
	start, okStart := parseClock(strings.TrimSpace(from))
	end, okEnd := parseClock(strings.TrimSpace(to))
	switch {
	case !okStart || !okEnd || start == 24*60:
		return span{}, fmt.Errorf("invalid range %q (want HH:MM-HH:MM, 00:00 to 24:00)", r)
	case start == end:
		return span{}, fmt.Errorf("empty range %q", r)
	case end < start:
		end += 24 * 60 // crosses midnight
	}
	return span{start, end}, nil
}

// parseClock parses "HH:MM" (00:00 to 24:00) into minutes after midnight.
func parseClock(s string) (int, bool) {
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) != 2 || len(mm) != 2 {
		return 0, false
	}
	h, errH := strconv.Atoi(hh)
	m, errM := strconv.Atoi(mm)
	if errH != nil || errM != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

func (s span) String() string {
	end := s.end
	if end > 24*60 {
		end -= 24 * 60
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d", s.start/60, s.start%60, end/60, end%60)
}

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Open reports whether t is within business hours.
func (c *Calendar) Open(t time.Time) bool {
	// Only the ranges of t's date and of the day before (its overnight
	// tails) can contain t.
	today := dateOf(t.In(c.loc))
	for _, d := range []civilDate{today.addDays(-1), today} {
		for _, s := range c.spans(d) {
			start, end := c.instants(d, s)
			if !t.Before(start) && t.Before(end) {
				return true
			}
		}
	}
	return false
}

// NextOpen returns t itself when the calendar is open at t, else the first
// instant after t when it opens; the zero time when it does not open within
// 400 days.
func (c *Calendar) NextOpen(t time.Time) time.Time {
	if c.Open(t) {
		return t
	}
	// Range starts are chronological day by day and, within a day, in
	// order, so the first start after t is the answer.
	first := dateOf(t.In(c.loc))
	for i := range openHorizon {
		d := first.addDays(i)
		for _, s := range c.spans(d) {
			if start, end := c.instants(d, s); start.After(t) && end.After(start) {
				return start
			}
		}
	}
	return time.Time{}
}

// spans returns the ranges that start on d.
func (c *Calendar) spans(d civilDate) []span {
	if c.closed[d] {
		return nil
	}
	if s, ok := c.special[d]; ok {
		return s
	}
	return c.weekly[d.weekday()]
}

// instants turns a range of date d into instants.
func (c *Calendar) instants(d civilDate, s span) (start, end time.Time) {
	return c.wallClock(d, s.start), c.wallClock(d, s.end)
}

// wallClock returns the instant the clocks of the calendar's zone show
// minute (after midnight, possibly past 24 h) of date d. A skipped wall
// time gives the first instant after the gap; a repeated one its first
// occurrence. time.Date leaves both cases unspecified, hence this.
func (c *Calendar) wallClock(d civilDate, minute int) time.Time {
	wall := time.Date(d.year, d.month, d.day, 0, minute, 0, 0, time.UTC)
	// The offsets in force a day either side bracket any DST change near
	// wall (zone offsets stay within ±14 h).
	_, before := wall.Add(-24 * time.Hour).In(c.loc).Zone()
	_, after := wall.Add(24 * time.Hour).In(c.loc).Zone()
	var found time.Time
	for _, offset := range []int{before, after} {
		t := wall.Add(-time.Duration(offset) * time.Second).In(c.loc)
		if _, got := t.Zone(); got == offset && (found.IsZero() || t.Before(found)) {
			found = t
		}
	}
	if !found.IsZero() {
		return found
	}
	// In the gap: read with the old offset, wall lands after the change,
	// in the zone period that the change starts.
	start, _ := wall.Add(-time.Duration(before) * time.Second).In(c.loc).ZoneBounds()
	return start
}
