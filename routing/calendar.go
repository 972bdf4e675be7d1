package routing

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Clock is a time of day in minutes after midnight: 00:00 is 0 and 24:00,
// allowed only as the end of a range, is 1440.
type Clock int

// dayMinutes is 24:00.
const dayMinutes Clock = 24 * 60

// Hour returns the hour, 0 to 24.
func (c Clock) Hour() int { return int(c) / 60 }

// Minute returns the minute within the hour, 0 to 59.
func (c Clock) Minute() int { return int(c) % 60 }

// String formats c as HH:MM.
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.Hour(), c.Minute()) }

// parseClock parses HH:MM, 00:00 to 24:00.
func parseClock(s string) (Clock, bool) {
	if len(s) != 5 || s[2] != ':' || !isDigits(s[:2]) || !isDigits(s[3:]) {
		return 0, false
	}
	h, _ := strconv.Atoi(s[:2])
	m, _ := strconv.Atoi(s[3:])
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, false
	}
	return Clock(h*60 + m), true
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Range is an open range of a day, written "HH:MM-HH:MM": from Start until
// just before End. An End before Start crosses midnight: "22:00-02:00"
// belongs to the day it starts on and goes on until 02:00 the next
// morning, whatever the next day is (closed or special dates cancel the
// ranges that start on them, not the tail of the evening before). An End of
// 00:00 or 24:00 is midnight.
type Range struct {
	Start, End Clock
}

// CrossesMidnight reports whether the range ends on the next day.
func (r Range) CrossesMidnight() bool { return r.End < r.Start }

// String formats r as HH:MM-HH:MM.
func (r Range) String() string { return r.Start.String() + "-" + r.End.String() }

// MarshalText encodes r as HH:MM-HH:MM.
func (r Range) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses HH:MM-HH:MM. It returns an error for any other
// form, for a start at 24:00 and for a range that starts and ends at the
// same time.
func (r *Range) UnmarshalText(text []byte) error {
	s := string(text)
	from, to, found := strings.Cut(s, "-")
	start, okStart := parseClock(from)
	end, okEnd := parseClock(to)
	if !found || !okStart || !okEnd {
		return fmt.Errorf("%q is not a HH:MM-HH:MM range (00:00 to 24:00)", s)
	}
	parsed := Range{Start: start, End: end}
	if err := parsed.check(); err != nil {
		return err
	}
	*r = parsed
	return nil
}

// check reports a range that is not within a day or is empty.
func (r Range) check() error {
	switch {
	case r.Start < 0 || r.Start >= dayMinutes || r.End < 0 || r.End > dayMinutes:
		return fmt.Errorf("range of minutes %d-%d is not within a day (a start from 0 to 1439, an end from 0 to 1440)", r.Start, r.End)
	case r.Start == r.End:
		return fmt.Errorf("range %s starts and ends at the same time", r)
	}
	return nil
}

// span returns r in minutes after its day's midnight, the end past 24:00
// for a range that crosses midnight.
func (r Range) span() span {
	s := span{start: int(r.Start), end: int(r.End)}
	if r.End < r.Start {
		s.end += int(dayMinutes)
	}
	return s
}

// Date is a calendar day, written YYYY-MM-DD, in the calendar's zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

func dateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// String formats d as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// MarshalText encodes d as YYYY-MM-DD.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses YYYY-MM-DD; it returns an error for any other form
// and for a day that does not exist (2026-02-30).
func (d *Date) UnmarshalText(text []byte) error {
	t, err := time.Parse(time.DateOnly, string(text))
	if err != nil {
		return fmt.Errorf("%q is not a YYYY-MM-DD date", text)
	}
	*d = dateOf(t)
	return nil
}

// valid reports whether d is a day that exists.
func (d Date) valid() bool {
	return d.Year >= 1 && d.Year <= 9999 && dateOf(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)) == d
}

// addDays normalizes through time.Date, which handles month and year ends.
func (d Date) addDays(n int) Date {
	return dateOf(time.Date(d.Year, d.Month, d.Day+n, 0, 0, 0, 0, time.UTC))
}

func (d Date) weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Weekday()
}

// Hours are a channel's business hours, as NewCalendar takes them.
type Hours struct {
	// Location is the zone of the wall-clock times; nil means UTC. The
	// caller loads it: routing reads no zone database.
	Location *time.Location
	// Weekly holds the ranges of each weekday, indexed by time.Weekday; a
	// day with none is closed.
	Weekly [7][]Range
	// Closed lists whole days off (holidays), overriding Weekly.
	Closed []Date
	// Special gives dates their own ranges, overriding Weekly; an empty
	// list closes the date.
	Special map[Date][]Range
}

// HoursList names the part of Hours a problem is in.
type HoursList string

// The parts of Hours.
const (
	ListWeekly  HoursList = "weekly"
	ListClosed  HoursList = "closed"
	ListSpecial HoursList = "special"
)

// HoursProblem is one thing wrong with Hours.
type HoursProblem struct {
	// List is the part of Hours at fault. Weekday is the day of a Weekly
	// problem; Date the date of a Closed or Special one.
	List    HoursList
	Weekday time.Weekday
	Date    Date
	// Index is the position of the range at fault in its day's list (a
	// Weekly or Special problem) or of the date in Closed; -1 when the
	// problem is the special date as a whole.
	Index   int
	Message string
}

// String formats the problem with where it is, as in
// "Monday: range 09:00-12:00 overlaps 11:00-13:00".
func (p HoursProblem) String() string {
	switch p.List {
	case ListWeekly:
		return p.Weekday.String() + ": " + p.Message
	case ListClosed:
		return "closed " + p.Date.String() + ": " + p.Message
	}
	return "special " + p.Date.String() + ": " + p.Message
}

// HoursError is everything NewCalendar found wrong with its Hours, weekly
// days first (Sunday to Saturday), then closed dates in order, then
// special dates by date.
type HoursError struct {
	Problems []HoursProblem
}

func (e *HoursError) Error() string {
	list := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		list[i] = p.String()
	}
	return "hours: " + strings.Join(list, "; ")
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
	closed  map[Date]bool
	special map[Date][]span
}

// openHorizon bounds NextOpen's search.
const openHorizon = 400

// span is one range of a day, in minutes after its midnight; end may pass
// 24*60 for a range that crosses midnight.
type span struct{ start, end int }

// NewCalendar checks h and builds its calendar. It returns an *HoursError
// listing every range out of the day or empty, every range that overlaps
// or repeats another of its day, every date that does not exist or is
// listed twice in Closed, and every date both closed and special.
func NewCalendar(h Hours) (*Calendar, error) {
	c := &Calendar{
		loc:     h.Location,
		closed:  make(map[Date]bool, len(h.Closed)),
		special: make(map[Date][]span, len(h.Special)),
	}
	if c.loc == nil {
		c.loc = time.UTC
	}
	var problems []HoursProblem
	for day, ranges := range h.Weekly {
		spans, bad := daySpans(ranges)
		for _, p := range bad {
			p.List, p.Weekday = ListWeekly, time.Weekday(day)
			problems = append(problems, p)
		}
		c.weekly[day] = spans
	}
	for i, d := range h.Closed {
		switch {
		case !d.valid():
			problems = append(problems, HoursProblem{List: ListClosed, Date: d, Index: i, Message: "not a day of the calendar"})
		case c.closed[d]:
			problems = append(problems, HoursProblem{List: ListClosed, Date: d, Index: i, Message: "listed twice"})
		}
		c.closed[d] = true
	}
	for _, d := range slices.SortedFunc(maps.Keys(h.Special), compareDates) {
		if !d.valid() {
			problems = append(problems, HoursProblem{List: ListSpecial, Date: d, Index: -1, Message: "not a day of the calendar"})
			continue
		}
		if c.closed[d] {
			problems = append(problems, HoursProblem{List: ListSpecial, Date: d, Index: -1, Message: "the date is both closed and special: keep one"})
		}
		spans, bad := daySpans(h.Special[d])
		for _, p := range bad {
			p.List, p.Date = ListSpecial, d
			problems = append(problems, p)
		}
		c.special[d] = spans
	}
	if len(problems) > 0 {
		return nil, &HoursError{Problems: problems}
	}
	return c, nil
}

// daySpans checks a day's ranges and returns them as spans sorted by
// start. A problem names the range at fault by its index in ranges: the
// later of two that overlap.
func daySpans(ranges []Range) ([]span, []HoursProblem) {
	var problems []HoursProblem
	type indexed struct {
		span
		r Range
		i int
	}
	list := make([]indexed, 0, len(ranges))
	for i, r := range ranges {
		if err := r.check(); err != nil {
			problems = append(problems, HoursProblem{Index: i, Message: err.Error()})
			continue
		}
		list = append(list, indexed{r.span(), r, i})
	}
	slices.SortStableFunc(list, func(a, b indexed) int { return a.start - b.start })
	spans := make([]span, len(list))
	var last indexed // the range that ends last among those before
	for k, s := range list {
		spans[k] = s.span
		if k > 0 && s.start < last.end {
			later, earlier := s, last
			if later.i < earlier.i {
				later, earlier = earlier, later
			}
			msg := fmt.Sprintf("range %s overlaps %s", later.r, earlier.r)
			if later.span == earlier.span {
				msg = fmt.Sprintf("duplicate range %s", later.r)
			}
			problems = append(problems, HoursProblem{Index: later.i, Message: msg})
		}
		if k == 0 || s.end > last.end {
			last = s
		}
	}
	slices.SortStableFunc(problems, func(a, b HoursProblem) int { return a.Index - b.Index })
	return spans, problems
}

func compareDates(a, b Date) int {
	if a.Year != b.Year {
		return a.Year - b.Year
	}
	if a.Month != b.Month {
		return int(a.Month - b.Month)
	}
	return a.Day - b.Day
}

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Open reports whether t is within business hours.
func (c *Calendar) Open(t time.Time) bool {
	// Only the ranges of t's date and of the day before (its overnight
	// tails) can contain t.
	today := dateOf(t.In(c.loc))
	for _, d := range []Date{today.addDays(-1), today} {
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
func (c *Calendar) spans(d Date) []span {
	if c.closed[d] {
		return nil
	}
	if s, ok := c.special[d]; ok {
		return s
	}
	return c.weekly[d.weekday()]
}

// instants turns a range of date d into instants.
func (c *Calendar) instants(d Date, s span) (start, end time.Time) {
	return c.wallClock(d, s.start), c.wallClock(d, s.end)
}

// wallClock returns the instant the clocks of the calendar's zone show
// minute (after midnight, possibly past 24 h) of date d. A skipped wall
// time gives the first instant after the gap; a repeated one its first
// occurrence. time.Date leaves both cases unspecified, hence this.
func (c *Calendar) wallClock(d Date, minute int) time.Time {
	wall := time.Date(d.Year, d.Month, d.Day, 0, minute, 0, 0, time.UTC)
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
