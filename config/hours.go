package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Hours is a channel's business-hours calendar (design.md §4): when it is
// open, agents are on duty. Times are wall-clock times in Location.
type Hours struct {
	// Timezone is an IANA zone name such as "America/Argentina/Buenos_Aires".
	// Required when hours are given.
	Timezone string `yaml:"timezone"`
	// Weekly lists the open ranges of each weekday; a day with none is closed.
	Weekly Weekly `yaml:"weekly"`
	// Closed lists whole days off (holidays), overriding Weekly.
	Closed []Date `yaml:"closed"`
	// Special gives dates their own ranges, overriding Weekly (an empty list
	// closes the day).
	Special map[Date][]TimeRange `yaml:"special"`

	// Location is Timezone loaded; it is set by Load and Parse.
	Location *time.Location `yaml:"-" json:"-"`
}

// Weekly holds the open ranges of each day of the week, keyed mon..sun.
type Weekly struct {
	Mon []TimeRange `yaml:"mon"`
	Tue []TimeRange `yaml:"tue"`
	Wed []TimeRange `yaml:"wed"`
	Thu []TimeRange `yaml:"thu"`
	Fri []TimeRange `yaml:"fri"`
	Sat []TimeRange `yaml:"sat"`
	Sun []TimeRange `yaml:"sun"`
}

// On returns the open ranges of weekday d.
func (w Weekly) On(d time.Weekday) []TimeRange {
	return [...][]TimeRange{w.Sun, w.Mon, w.Tue, w.Wed, w.Thu, w.Fri, w.Sat}[d]
}

// TimeOfDay is a wall-clock time in minutes after midnight, 0 to 1439.
type TimeOfDay int

// Hour returns the hour, 0 to 23.
func (t TimeOfDay) Hour() int { return int(t) / 60 }

// Minute returns the minute within the hour, 0 to 59.
func (t TimeOfDay) Minute() int { return int(t) % 60 }

// String formats t as HH:MM.
func (t TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", t.Hour(), t.Minute()) }

// TimeRange is an open range of a day, written "HH:MM-HH:MM". It starts at
// Start and ends before End; an End earlier than Start crosses midnight
// ("22:00-02:00"), and an End of 00:00 means midnight.
type TimeRange struct {
	Start, End TimeOfDay
}

// CrossesMidnight reports whether the range ends on the next day.
func (r TimeRange) CrossesMidnight() bool { return r.End < r.Start }

// String formats r as HH:MM-HH:MM.
func (r TimeRange) String() string { return r.Start.String() + "-" + r.End.String() }

// MarshalText encodes r as HH:MM-HH:MM.
func (r TimeRange) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses HH:MM-HH:MM. It returns an error for any other form
// and for a range that starts and ends at the same time.
func (r *TimeRange) UnmarshalText(text []byte) error {
	s := string(text)
	startText, endText, found := strings.Cut(s, "-")
	start, startOK := parseTimeOfDay(startText)
	end, endOK := parseTimeOfDay(endText)
	if !found || !startOK || !endOK {
		return fmt.Errorf("%q is not a HH:MM-HH:MM range", s)
	}
	if start == end {
		return fmt.Errorf("%q starts and ends at the same time", s)
	}
	*r = TimeRange{Start: start, End: end}
	return nil
}

// parseTimeOfDay parses HH:MM, 00:00 to 23:59.
func parseTimeOfDay(s string) (TimeOfDay, bool) {
	if len(s) != 5 || s[2] != ':' || !isDigits(s[:2]) || !isDigits(s[3:]) {
		return 0, false
	}
	hour, _ := strconv.Atoi(s[:2])
	minute, _ := strconv.Atoi(s[3:])
	if hour > 23 || minute > 59 {
		return 0, false
	}
	return TimeOfDay(hour*60 + minute), true
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Date is a calendar day, written YYYY-MM-DD, in the channel's time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
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
	*d = Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}
	return nil
}
