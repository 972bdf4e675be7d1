package routing

import (
	"strings"
	"testing"
	"time"
)

var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

func everyWeekday(ranges ...string) map[time.Weekday][]string {
	m := make(map[time.Weekday][]string)
	for _, d := range weekdays {
		m[d] = ranges
	}
	return m
}

// The specs under test. 2026 DST changes: Europe/Madrid on Sun 29 March
// (02:00 CET -> 03:00 CEST) and Sun 25 October (03:00 CEST -> 02:00 CET);
// America/New_York on Sun 8 March (02:00 EST -> 03:00 EDT) and Sun 1
// November (02:00 EDT -> 01:00 EST). America/Sao_Paulo is UTC-3 all year.
var calendarSpecs = map[string]HoursSpec{
	"madrid office": {Timezone: "Europe/Madrid", Weekly: everyWeekday("09:00-18:00")},
	"madrid sunday night": {Timezone: "Europe/Madrid", Weekly: map[time.Weekday][]string{
		time.Sunday: {"02:30-04:00"},
	}},
	"new york": {
		Timezone: "America/New_York",
		Weekly: map[time.Weekday][]string{
			time.Sunday: {"01:30-03:00"}, time.Monday: {"09:00-17:00"}, time.Tuesday: {"09:00-17:00"},
			time.Wednesday: {"09:00-17:00"}, time.Thursday: {"09:00-17:00"}, time.Friday: {"09:00-17:00"},
		},
		Closed:  []string{"2026-11-26"},
		Special: map[string][]string{"2026-11-27": {"09:00-13:00"}},
	},
	"sao paulo": {
		Timezone: "America/Sao_Paulo",
		Weekly: map[time.Weekday][]string{
			time.Monday: {"09:00-18:00"}, time.Thursday: {"09:00-18:00"},
			time.Friday: {"22:00-02:00", "09:00-18:00"},
		},
		Closed:  []string{"2026-11-14", "2026-11-20"},
		Special: map[string][]string{"2026-12-24": {"09:00-24:00"}, "2026-12-25": {}},
	},
	"never": {},
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCalendar(t *testing.T) {
	tests := []struct {
		spec     string
		name     string
		at       string // RFC 3339 in UTC
		open     bool
		nextOpen string // empty: never
	}{
		{"madrid office", "friday 17:59 CET is open", "2026-03-27T16:59:00Z", true, "2026-03-27T16:59:00Z"},
		{"madrid office", "friday 18:00 CET is closed, opens monday 09:00 CEST", "2026-03-27T17:00:00Z", false, "2026-03-30T07:00:00Z"},
		{"madrid office", "monday 09:00 CET before the change", "2026-03-23T08:00:00Z", true, "2026-03-23T08:00:00Z"},
		{"madrid office", "monday 08:30 CEST after the change is closed", "2026-03-30T06:30:00Z", false, "2026-03-30T07:00:00Z"},
		{"madrid office", "monday 09:00 CET after autumn change", "2026-10-26T08:00:00Z", true, "2026-10-26T08:00:00Z"},
		{"madrid sunday night", "spring: 01:30 CET, the range starts in the gap", "2026-03-29T00:30:00Z", false, "2026-03-29T01:00:00Z"},
		{"madrid sunday night", "spring: 03:30 CEST is open", "2026-03-29T01:30:00Z", true, "2026-03-29T01:30:00Z"},
		{"madrid sunday night", "spring: 04:00 CEST is closed", "2026-03-29T02:00:00Z", false, "2026-04-05T00:30:00Z"},
		{"madrid sunday night", "autumn: opens at the first 02:30 (CEST)", "2026-10-25T00:00:00Z", false, "2026-10-25T00:30:00Z"},
		{"madrid sunday night", "autumn: the second 02:15 (CET) is open", "2026-10-25T01:15:00Z", true, "2026-10-25T01:15:00Z"},
		{"madrid sunday night", "autumn: closes at 04:00 CET", "2026-10-25T03:00:00Z", false, "2026-11-01T01:30:00Z"},
		{"new york", "spring: 01:45 EST is open", "2026-03-08T06:45:00Z", true, "2026-03-08T06:45:00Z"},
		{"new york", "spring: 03:00 EDT is closed", "2026-03-08T07:00:00Z", false, "2026-03-09T13:00:00Z"},
		{"new york", "autumn: the first 01:15 (EDT) is before the first 01:30", "2026-11-01T05:15:00Z", false, "2026-11-01T05:30:00Z"},
		{"new york", "autumn: the second 01:15 (EST) is open", "2026-11-01T06:15:00Z", true, "2026-11-01T06:15:00Z"},
		{"new york", "autumn: closes at 03:00 EST", "2026-11-01T08:00:00Z", false, "2026-11-02T14:00:00Z"},
		{"new york", "wednesday evening opens friday, thursday is a holiday", "2026-11-25T22:00:00Z", false, "2026-11-27T14:00:00Z"},
		{"new york", "holiday at noon is closed", "2026-11-26T17:00:00Z", false, "2026-11-27T14:00:00Z"},
		{"new york", "special friday 12:59 is open", "2026-11-27T17:59:00Z", true, "2026-11-27T17:59:00Z"},
		{"new york", "special friday closes at 13:00, opens sunday night", "2026-11-27T18:00:00Z", false, "2026-11-29T06:30:00Z"},
		{"sao paulo", "no DST in january: 09:00 is 12:00Z", "2026-01-16T12:00:00Z", true, "2026-01-16T12:00:00Z"},
		{"sao paulo", "no DST in january: 08:59 is closed", "2026-01-16T11:59:00Z", false, "2026-01-16T12:00:00Z"},
		{"sao paulo", "friday 23:00 is open", "2026-11-14T02:00:00Z", true, "2026-11-14T02:00:00Z"},
		{"sao paulo", "saturday 01:00 is open: the tail of friday, though saturday is closed", "2026-11-14T04:00:00Z", true, "2026-11-14T04:00:00Z"},
		{"sao paulo", "saturday 02:00 is closed, opens monday", "2026-11-14T05:00:00Z", false, "2026-11-16T12:00:00Z"},
		{"sao paulo", "thursday evening: friday is a holiday, opens monday", "2026-11-19T23:00:00Z", false, "2026-11-23T12:00:00Z"},
		{"sao paulo", "saturday 01:00 after a holiday friday is closed", "2026-11-21T04:00:00Z", false, "2026-11-23T12:00:00Z"},
		{"sao paulo", "special date open until 24:00", "2026-12-25T02:59:00Z", true, "2026-12-25T02:59:00Z"},
		{"sao paulo", "special date closed at 24:00, next day special and closed", "2026-12-25T03:00:00Z", false, "2026-12-28T12:00:00Z"},
		{"never", "never opens", "2026-01-01T00:00:00Z", false, ""},
	}
	calendars := make(map[string]*Calendar)
	for name, spec := range calendarSpecs {
		cal, err := NewCalendar(spec)
		if err != nil {
			t.Fatalf("NewCalendar(%s): %v", name, err)
		}
		calendars[name] = cal
	}
	for _, tt := range tests {
		t.Run(tt.spec+"/"+tt.name, func(t *testing.T) {
			cal := calendars[tt.spec]
			at := utc(tt.at)
			if got := cal.Open(at); got != tt.open {
				t.Errorf("Open(%s) = %v, want %v", at.In(cal.Location()), got, tt.open)
			}
			var want time.Time
			if tt.nextOpen != "" {
				want = utc(tt.nextOpen)
			}
			if got := cal.NextOpen(at); !got.Equal(want) {
				t.Errorf("NextOpen(%s) = %s, want %s", at.In(cal.Location()), got, want.In(cal.Location()))
			}
		})
	}
}

func TestCalendarLocation(t *testing.T) {
	cal, err := NewCalendar(HoursSpec{Timezone: "America/Sao_Paulo"})
	if err != nil {
		t.Fatal(err)
	}
	if got := cal.Location().String(); got != "America/Sao_Paulo" {
		t.Errorf("Location() = %s", got)
	}
	cal, err = NewCalendar(HoursSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if cal.Location() != time.UTC {
		t.Errorf("empty zone: Location() = %s, want UTC", cal.Location())
	}
}

func TestNewCalendarErrors(t *testing.T) {
	monday := func(ranges ...string) map[time.Weekday][]string {
		return map[time.Weekday][]string{time.Monday: ranges}
	}
	tests := []struct {
		name string
		spec HoursSpec
		want string // a part of the message
	}{
		{"unknown zone", HoursSpec{Timezone: "Mars/Olympus"}, `"Mars/Olympus"`},
		{"machine zone", HoursSpec{Timezone: "Local"}, `"Local"`},
		{"no minutes", HoursSpec{Weekly: monday("9-18")}, `Monday: invalid range "9-18"`},
		{"hour 25", HoursSpec{Weekly: monday("25:00-26:00")}, `"25:00-26:00"`},
		{"start at 24:00", HoursSpec{Weekly: monday("24:00-02:00")}, `"24:00-02:00"`},
		{"minute 60", HoursSpec{Weekly: monday("09:60-10:00")}, `"09:60-10:00"`},
		{"empty", HoursSpec{Weekly: monday("09:00-09:00")}, `empty range "09:00-09:00"`},
		{"overlap", HoursSpec{Weekly: monday("11:00-13:00", "09:00-12:00")}, "ranges 09:00-12:00 and 11:00-13:00 overlap"},
		{"overnight overlap", HoursSpec{Weekly: monday("22:00-02:00", "23:00-24:00")}, "ranges 22:00-02:00 and 23:00-24:00 overlap"},
		{"bad weekday", HoursSpec{Weekly: map[time.Weekday][]string{7: {"09:00-10:00"}}}, "invalid weekday 7"},
		{"bad closed date", HoursSpec{Closed: []string{"2026-02-30"}}, `closed: invalid date "2026-02-30"`},
		{"bad special date", HoursSpec{Special: map[string][]string{"24/12/2026": nil}}, `special: invalid date "24/12/2026"`},
		{"bad special range", HoursSpec{Special: map[string][]string{"2026-12-24": {"09:00"}}}, `special 2026-12-24: invalid range "09:00"`},
		{"closed and special", HoursSpec{Closed: []string{"2026-12-25"}, Special: map[string][]string{"2026-12-25": {"09:00-10:00"}}}, "2026-12-25 is both closed and special"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCalendar(tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewCalendar() error = %v, want one containing %s", err, tt.want)
			}
		})
	}
}
