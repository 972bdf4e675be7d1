package config

import (
	"errors"
	"time"
	_ "time/tzdata" // the zone database, for minimal images without one

	"switchboard/routing"
)

// Hours is a channel's business-hours calendar: when it is open, agents
// are on duty. Times are wall-clock times in the zone named by Timezone.
// Ranges are written HH:MM-HH:MM and dates YYYY-MM-DD; their types and
// parsing are routing's, so the file reads exactly as the calendar decides.
type Hours struct {
	// Timezone is an IANA zone name such as "America/Argentina/Buenos_Aires".
	// Required when hours are given; "Local" (the machine's zone) is refused.
	Timezone string `yaml:"timezone"`
	// Weekly lists the open ranges of each weekday; a day with none is closed.
	Weekly Weekly `yaml:"weekly"`
	// Closed lists whole days off (holidays), overriding Weekly.
	Closed []routing.Date `yaml:"closed"`
	// Special gives dates their own ranges, overriding Weekly (an empty list
	// closes the day).
	Special map[routing.Date][]routing.Range `yaml:"special"`

	// Location is Timezone loaded and Calendar the hours built, the one
	// routing decides with; Load and Parse set both (Location is
	// Calendar.Location()).
	Location *time.Location    `yaml:"-" json:"-"`
	Calendar *routing.Calendar `yaml:"-" json:"-"`
}

// Weekly holds the open ranges of each day of the week, keyed mon..sun.
type Weekly struct {
	Mon []routing.Range `yaml:"mon"`
	Tue []routing.Range `yaml:"tue"`
	Wed []routing.Range `yaml:"wed"`
	Thu []routing.Range `yaml:"thu"`
	Fri []routing.Range `yaml:"fri"`
	Sat []routing.Range `yaml:"sat"`
	Sun []routing.Range `yaml:"sun"`
}

// On returns the open ranges of weekday d.
func (w Weekly) On(d time.Weekday) []routing.Range {
	return w.days()[d]
}

// days returns the ranges indexed by time.Weekday, as routing.Hours holds them.
func (w Weekly) days() [7][]routing.Range {
	return [7][]routing.Range{w.Sun, w.Mon, w.Tue, w.Wed, w.Thu, w.Fri, w.Sat}
}

// weekdayKeys are the keys of Weekly, indexed by time.Weekday.
var weekdayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// hours loads the zone and builds the calendar, reporting each problem
// routing finds at the range or date at fault.
func (v *validator) hours(h *Hours, path string) {
	var loc *time.Location
	switch h.Timezone {
	case "":
		v.report(path+".timezone", "missing: an IANA time zone such as America/Argentina/Buenos_Aires")
	case "Local":
		v.report(path+".timezone", `"Local" is the machine's zone, not an IANA name: name the zone, such as America/Argentina/Buenos_Aires`)
	default:
		var err error
		if loc, err = time.LoadLocation(h.Timezone); err != nil {
			v.report(path+".timezone", "unknown time zone %q", h.Timezone)
		}
	}
	if v.under(path+".weekly") || v.under(path+".closed") || v.under(path+".special") {
		return // a range or date that could not be decoded is missing from the lists
	}
	cal, err := routing.NewCalendar(routing.Hours{Location: loc, Weekly: h.Weekly.days(), Closed: h.Closed, Special: h.Special})
	var hoursErr *routing.HoursError
	switch {
	case errors.As(err, &hoursErr):
		for _, p := range hoursErr.Problems {
			v.hoursProblem(path, p)
		}
		return
	case err != nil:
		v.report(path, "%v", err)
		return
	case loc == nil:
		return
	}
	h.Location, h.Calendar = loc, cal
}

func (v *validator) hoursProblem(path string, p routing.HoursProblem) {
	var list string
	switch p.List {
	case routing.ListWeekly:
		list = path + ".weekly." + weekdayKeys[p.Weekday]
	case routing.ListClosed:
		list = path + ".closed"
	default:
		list = path + ".special." + p.Date.String()
	}
	if p.Index < 0 {
		v.add(v.line(list), list, "%s", p.Message)
		return
	}
	v.reportItem(list, p.Index, "%s", p.Message)
}
