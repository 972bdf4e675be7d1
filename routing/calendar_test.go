package routing

import (
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones under test, whatever the machine has
)

var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

// ranges parses HH:MM-HH:MM ranges.
func ranges(list ...string) []Range {
	out := make([]Range, len(list))
	for i, s := range list {
		if err := out[i].UnmarshalText([]byte(s)); err != nil {
			panic(err)
		}
	}
	return out
}

// date parses a YYYY-MM-DD date.
func date(s string) Date {
	var d Date
	if err := d.UnmarshalText([]byte(s)); err != nil {
		panic(err)
	}
	return d
}

func zone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func everyWeekday(list ...string) [7][]Range {
	var w [7][]Range
	for _, d := range weekdays {
		w[d] = ranges(list...)
	}
	return w
}

// The hours under test. 2026 DST changes: Europe/Madrid on Sun 29 March
// (02:00 CET -> 03:00 CEST) and Sun 25 October (03:00 CEST -> 02:00 CET);
// America/New_York on Sun 8 March (02:00 EST -> 03:00 EDT) and Sun 1
// November (02:00 EDT -> 01:00 EST). America/Sao_Paulo is UTC-3 all year.
var calendarHours = map[string]Hours{
	"madrid office":       {Location: zone("Europe/Madrid"), Weekly: everyWeekday("09:00-18:00")},
	"madrid sunday night": {Location: zone("Europe/Madrid"), Weekly: [7][]Range{time.Sunday: ranges("02:30-04:00")}},
	"new york": {
		Location: zone("America/New_York"),
		Weekly: [7][]Range{
			time.Sunday: ranges("01:30-03:00"), time.Monday: ranges("09:00-17:00"), time.Tuesday: ranges("09:00-17:00"),
			time.Wednesday: ranges("09:00-17:00"), time.Thursday: ranges("09:00-17:00"), time.Friday: ranges("09:00-17:00"),
		},
		Closed:  []Date{date("2026-11-26")},
		Special: map[Date][]Range{date("2026-11-27"): ranges("09:00-13:00")},
	},
	"sao paulo": {
		Location: zone("America/Sao_Paulo"),
		Weekly: [7][]Range{
			time.Monday: ranges("09:00-18:00"), time.Thursday: ranges("09:00-18:00"),
			time.Friday: ranges("22:00-02:00", "09:00-18:00"),
		},
		Closed:  []Date{date("2026-11-14"), date("2026-11-20")},
		Special: map[Date][]Range{date("2026-12-24"): ranges("09:00-24:00"), date("2026-12-25"): {}},
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
	for name, hours := range calendarHours {
		cal, err := NewCalendar(hours)
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
	cal, err := NewCalendar(Hours{Location: zone("America/Sao_Paulo")})
	if err != nil {
		t.Fatal(err)
	}
	if got := cal.Location().String(); got != "America/Sao_Paulo" {
		t.Errorf("Location() = %s", got)
	}
	cal, err = NewCalendar(Hours{})
	if err != nil {
		t.Fatal(err)
	}
	if cal.Location() != time.UTC {
		t.Errorf("no zone: Location() = %s, want UTC", cal.Location())
	}
}

func TestRangeText(t *testing.T) {
	tests := []struct {
		in      string
		want    Range
		crosses bool
		err     string // a part of the error; empty: none
	}{
		{in: "09:00-18:00", want: Range{9 * 60, 18 * 60}},
		{in: "22:00-02:00", want: Range{22 * 60, 2 * 60}, crosses: true},
		{in: "18:30-00:00", want: Range{18*60 + 30, 0}, crosses: true},
		{in: "18:30-24:00", want: Range{18*60 + 30, 24 * 60}},
		{in: "00:00-24:00", want: Range{0, 24 * 60}},
		{in: "9-18", err: `"9-18" is not a HH:MM-HH:MM range`},
		{in: "09:00", err: "is not a HH:MM-HH:MM range"},
		{in: "09:00 - 18:00", err: "is not a HH:MM-HH:MM range"},
		{in: "25:00-26:00", err: "is not a HH:MM-HH:MM range"},
		{in: "09:60-10:00", err: "is not a HH:MM-HH:MM range"},
		{in: "+9:00-18:00", err: "is not a HH:MM-HH:MM range"},
		{in: "24:30-01:00", err: "is not a HH:MM-HH:MM range"},
		{in: "24:00-02:00", err: "is not within a day"},
		{in: "09:00-09:00", err: "range 09:00-09:00 starts and ends at the same time"},
		{in: "00:00-00:00", err: "starts and ends at the same time"},
	}
	for _, tt := range tests {
		var got Range
		err := got.UnmarshalText([]byte(tt.in))
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("UnmarshalText(%q) error = %v, want one containing %q", tt.in, err, tt.err)
			}
		case err != nil:
			t.Errorf("UnmarshalText(%q): %v", tt.in, err)
		case got != tt.want || got.CrossesMidnight() != tt.crosses:
			t.Errorf("UnmarshalText(%q) = %+v (crosses midnight: %v), want %+v (%v)", tt.in, got, got.CrossesMidnight(), tt.want, tt.crosses)
		case got.String() != tt.in:
			t.Errorf("Range(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestDateText(t *testing.T) {
	if got := date("2026-02-28"); got != (Date{2026, time.February, 28}) || got.String() != "2026-02-28" {
		t.Errorf("date(2026-02-28) = %+v (%s)", got, got)
	}
	for _, in := range []string{"2026-02-30", "24/12/2026", "2026-1-5", ""} {
		var d Date
		if err := d.UnmarshalText([]byte(in)); err == nil || !strings.Contains(err.Error(), "is not a YYYY-MM-DD date") {
			t.Errorf("UnmarshalText(%q) error = %v", in, err)
		}
	}
}

func TestNewCalendarErrors(t *testing.T) {
	monday := func(list ...Range) [7][]Range { return [7][]Range{time.Monday: list} }
	christmas := date("2026-12-25")
	tests := []struct {
		name  string
		hours Hours
		want  []HoursProblem
	}{
		{"empty", Hours{Weekly: monday(Range{600, 600})},
			[]HoursProblem{{List: ListWeekly, Weekday: time.Monday, Index: 0, Message: "range 10:00-10:00 starts and ends at the same time"}}},
		{"out of the day", Hours{Weekly: monday(ranges("09:00-10:00")[0], Range{-5, 30}, Range{1440, 60}, Range{60, 1441})},
			[]HoursProblem{
				{List: ListWeekly, Weekday: time.Monday, Index: 1, Message: "range of minutes -5-30 is not within a day (a start from 0 to 1439, an end from 0 to 1440)"},
				{List: ListWeekly, Weekday: time.Monday, Index: 2, Message: "range of minutes 1440-60 is not within a day (a start from 0 to 1439, an end from 0 to 1440)"},
				{List: ListWeekly, Weekday: time.Monday, Index: 3, Message: "range of minutes 60-1441 is not within a day (a start from 0 to 1439, an end from 0 to 1440)"},
			}},
		{"overlap", Hours{Weekly: monday(ranges("11:00-13:00", "09:00-12:00")...)},
			[]HoursProblem{{List: ListWeekly, Weekday: time.Monday, Index: 1, Message: "range 09:00-12:00 overlaps 11:00-13:00"}}},
		{"overlap past a shorter range", Hours{Weekly: monday(ranges("08:00-20:00", "09:00-10:00", "11:00-12:00")...)},
			[]HoursProblem{
				{List: ListWeekly, Weekday: time.Monday, Index: 1, Message: "range 09:00-10:00 overlaps 08:00-20:00"},
				{List: ListWeekly, Weekday: time.Monday, Index: 2, Message: "range 11:00-12:00 overlaps 08:00-20:00"},
			}},
		{"overnight overlap", Hours{Weekly: monday(ranges("22:00-02:00", "23:00-24:00")...)},
			[]HoursProblem{{List: ListWeekly, Weekday: time.Monday, Index: 1, Message: "range 23:00-24:00 overlaps 22:00-02:00"}}},
		{"duplicate", Hours{Weekly: monday(ranges("09:00-12:00", "14:00-18:00", "09:00-12:00")...)},
			[]HoursProblem{{List: ListWeekly, Weekday: time.Monday, Index: 2, Message: "duplicate range 09:00-12:00"}}},
		{"midnight written twice", Hours{Weekly: monday(ranges("18:00-00:00", "18:00-24:00")...)},
			[]HoursProblem{{List: ListWeekly, Weekday: time.Monday, Index: 1, Message: "duplicate range 18:00-24:00"}}},
		{"closed date that does not exist", Hours{Closed: []Date{{2026, time.February, 30}}},
			[]HoursProblem{{List: ListClosed, Date: Date{2026, time.February, 30}, Index: 0, Message: "not a day of the calendar"}}},
		{"closed twice", Hours{Closed: []Date{christmas, christmas}},
			[]HoursProblem{{List: ListClosed, Date: christmas, Index: 1, Message: "listed twice"}}},
		{"special date that does not exist", Hours{Special: map[Date][]Range{{2026, 13, 1}: nil}},
			[]HoursProblem{{List: ListSpecial, Date: Date{2026, 13, 1}, Index: -1, Message: "not a day of the calendar"}}},
		{"special overlap", Hours{Special: map[Date][]Range{christmas: ranges("09:00-12:00", "10:00-11:00")}},
			[]HoursProblem{{List: ListSpecial, Date: christmas, Index: 1, Message: "range 10:00-11:00 overlaps 09:00-12:00"}}},
		{"closed and special", Hours{Closed: []Date{christmas}, Special: map[Date][]Range{christmas: ranges("09:00-10:00")}},
			[]HoursProblem{{List: ListSpecial, Date: christmas, Index: -1, Message: "the date is both closed and special: keep one"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal, err := NewCalendar(tt.hours)
			hoursErr, ok := err.(*HoursError)
			if cal != nil || !ok {
				t.Fatalf("NewCalendar() = %v, %v; want an *HoursError", cal, err)
			}
			if !reflect.DeepEqual(hoursErr.Problems, tt.want) {
				t.Errorf("problems:\n got %+v\nwant %+v", hoursErr.Problems, tt.want)
			}
		})
	}
}

func TestHoursErrorText(t *testing.T) {
	_, err := NewCalendar(Hours{
		Weekly:  [7][]Range{time.Monday: ranges("09:00-12:00", "11:00-13:00")},
		Closed:  []Date{date("2026-12-25"), date("2026-12-25")},
		Special: map[Date][]Range{date("2026-12-24"): ranges("09:00-12:00", "09:00-12:00")},
	})
	want := "hours: Monday: range 11:00-13:00 overlaps 09:00-12:00; closed 2026-12-25: listed twice; special 2026-12-24: duplicate range 09:00-12:00"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
}
