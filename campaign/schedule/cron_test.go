package schedule_test

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign/schedule"
)

// parseCron parses expr in loc.
func parseCron(t *testing.T, expr string, loc *time.Location) *schedule.Cron {
	t.Helper()
	c, err := schedule.ParseCron(expr, loc)
	if err != nil {
		t.Fatalf("ParseCron(%q): %v", expr, err)
	}
	return c
}

// slots returns the slots of c from after t, up to and excluding until,
// checking on the way that they are strictly increasing.
func slots(t *testing.T, c *schedule.Cron, after, until time.Time) []schedule.Slot {
	t.Helper()
	var out []schedule.Slot
	for at := after; ; {
		s, ok := c.Next(at)
		if !ok {
			t.Fatalf("%s: no slot after %s", c, at)
		}
		if !s.At.After(at) {
			t.Fatalf("%s: Next(%s) = %s, not after it", c, at, s.At)
		}
		if !s.At.Before(until) {
			return out
		}
		out = append(out, s)
		at = s.At
	}
}

// TestCronDailyAcrossDST runs a daily schedule through each zone's
// spring-forward and fall-back weeks: one slot a day, none skipped, none
// doubled, the moved one with a note.
func TestCronDailyAcrossDST(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, zone, expr string
		from             string // a local date; the run covers 9 days from it
		dstDay           string // the local date DST touches the slot
		want             string // that day's slot
		note             string
	}{
		{"New York spring forward", "America/New_York", "30 2 * * *", "2026-03-04", "2026-03-08", "2026-03-08T03:00:00-04:00",
			"02:30 does not exist on 2026-03-08 in America/New_York (clocks jump from 02:00 to 03:00): runs at 03:00 EDT"},
		{"New York fall back", "America/New_York", "30 1 * * *", "2026-10-28", "2026-11-01", "2026-11-01T01:30:00-04:00",
			"01:30 happens twice on 2026-11-01 in America/New_York (clocks go back from 02:00 to 01:00): runs once, at the first 01:30 (EDT)"},
		{"London spring forward", "Europe/London", "30 1 * * *", "2026-03-25", "2026-03-29", "2026-03-29T02:00:00+01:00",
			"01:30 does not exist on 2026-03-29 in Europe/London (clocks jump from 01:00 to 02:00): runs at 02:00 BST"},
		{"London fall back", "Europe/London", "30 1 * * *", "2026-10-21", "2026-10-25", "2026-10-25T01:30:00+01:00",
			"01:30 happens twice on 2026-10-25 in Europe/London (clocks go back from 02:00 to 01:00): runs once, at the first 01:30 (BST)"},
		{"Lord Howe spring forward (30 minutes)", "Australia/Lord_Howe", "15 2 * * *", "2026-09-30", "2026-10-04", "2026-10-04T02:30:00+11:00",
			"02:15 does not exist on 2026-10-04 in Australia/Lord_Howe (clocks jump from 02:00 to 02:30): runs at 02:30 +11:00"},
		{"Lord Howe fall back (30 minutes)", "Australia/Lord_Howe", "45 1 * * *", "2026-04-01", "2026-04-05", "2026-04-05T01:45:00+11:00",
			"01:45 happens twice on 2026-04-05 in Australia/Lord_Howe (clocks go back from 02:00 to 01:30): runs once, at the first 01:45 (+11:00)"},
		{"Sao Paulo spring forward at midnight", "America/Sao_Paulo", "30 0 * * *", "2018-10-31", "2018-11-04", "2018-11-04T01:00:00-02:00",
			"00:30 does not exist on 2018-11-04 in America/Sao_Paulo (clocks jump from 00:00 to 01:00): runs at 01:00 -02:00"},
		{"Sao Paulo @daily on the day midnight is skipped", "America/Sao_Paulo", "@daily", "2018-10-31", "2018-11-04", "2018-11-04T01:00:00-02:00",
			"00:00 does not exist on 2018-11-04 in America/Sao_Paulo (clocks jump from 00:00 to 01:00): runs at 01:00 -02:00"},
		{"Sao Paulo fall back the evening before", "America/Sao_Paulo", "30 23 * * *", "2018-02-13", "2018-02-17", "2018-02-17T23:30:00-02:00",
			"23:30 happens twice on 2018-02-17 in America/Sao_Paulo (clocks go back from 00:00 to 23:00): runs once, at the first 23:30 (-02:00)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			loc := zone(t, tc.zone)
			c := parseCron(t, tc.expr, loc)
			from, err := time.ParseInLocation(time.DateOnly, tc.from, loc)
			if err != nil {
				t.Fatal(err)
			}
			const days = 9
			got := slots(t, c, from.Add(-time.Second), from.AddDate(0, 0, days))

			if len(got) != days {
				t.Fatalf("%d slots in %d days, want one a day: %v", len(got), days, got)
			}
			for i, s := range got {
				// (Not from.AddDate: it reads a skipped midnight as 23:00
				// the day before.)
				day := time.Date(from.Year(), from.Month(), from.Day()+i, 12, 0, 0, 0, time.UTC).Format(time.DateOnly)
				if nd := s.Nominal.Format(time.DateOnly); nd != day {
					t.Errorf("slot %d names %s, want %s", i, nd, day)
				}
				if day == tc.dstDay {
					if want := instant(t, tc.want); !s.At.Equal(want) {
						t.Errorf("%s: slot at %s, want %s", day, s.At, want)
					}
					if s.Note != tc.note {
						t.Errorf("%s: note %q\nwant        %q", day, s.Note, tc.note)
					}
					continue
				}
				if s.Note != "" || !s.At.Equal(s.Nominal) {
					t.Errorf("%s: slot at %s, nominal %s, note %q; want an ordinary slot", day, s.At, s.Nominal, s.Note)
				}
				if got, want := s.At.In(loc).Format("15:04"), wallOf(tc.expr); got != want {
					t.Errorf("%s: slot at %s, want %s", day, got, want)
				}
			}
		})
	}
}

// wallOf is the "HH:MM" a daily "M H * * *" expression (or @daily) names.
func wallOf(expr string) string {
	if expr == "@daily" {
		return "00:00"
	}
	f := strings.Fields(expr)
	return twoDigits(f[1]) + ":" + twoDigits(f[0])
}

func twoDigits(s string) string {
	if len(s) == 1 {
		return "0" + s
	}
	return s
}

// TestCronTransitionDays lists every slot of sub-daily schedules on the
// transition days: how many fire, and exactly when around the transition.
func TestCronTransitionDays(t *testing.T) {
	t.Parallel()
	type slot struct {
		at   string // RFC 3339
		note string // a part of the note; "" for none
	}
	tests := []struct {
		name, zone, expr string
		day              string // local date
		count            int    // slots firing that local day
		around           []slot // consecutive slots around the transition
	}{
		{"New York hourly, spring forward", "America/New_York", "0 * * * *", "2026-03-08", 23, []slot{
			{"2026-03-08T01:00:00-05:00", ""},
			{"2026-03-08T03:00:00-04:00", "02:00 does not exist on 2026-03-08 in America/New_York (clocks jump from 02:00 to 03:00): runs at 03:00 EDT, together with the 03:00 run"},
			{"2026-03-08T04:00:00-04:00", ""},
		}},
		{"New York hourly, fall back", "America/New_York", "0 * * * *", "2026-11-01", 24, []slot{
			{"2026-11-01T00:00:00-04:00", ""},
			{"2026-11-01T01:00:00-04:00", "01:00 happens twice"},
			{"2026-11-01T02:00:00-05:00", ""}, // not 01:00 EST
			{"2026-11-01T03:00:00-05:00", ""},
		}},
		{"New York every 30 minutes, fall back", "America/New_York", "*/30 * * * *", "2026-11-01", 48, []slot{
			{"2026-11-01T00:30:00-04:00", ""},
			{"2026-11-01T01:00:00-04:00", "01:00 happens twice"},
			{"2026-11-01T01:30:00-04:00", "01:30 happens twice"},
			{"2026-11-01T02:00:00-05:00", ""},
		}},
		{"New York every 15 minutes, spring forward", "America/New_York", "*/15 * * * *", "2026-03-08", 96 - 4, []slot{
			{"2026-03-08T01:45:00-05:00", ""},
			{"2026-03-08T03:00:00-04:00", "02:00, 02:15, 02:30 and 02:45 do not exist on 2026-03-08 in America/New_York (clocks jump from 02:00 to 03:00): they run once, at 03:00 EDT, together with the 03:00 run"},
			{"2026-03-08T03:15:00-04:00", ""},
		}},
		{"New York every minute of 02:00, spring forward", "America/New_York", "* 2 * * *", "2026-03-08", 1, []slot{
			{"2026-03-08T03:00:00-04:00", "the 60 times from 02:00 to 02:59 do not exist on 2026-03-08 in America/New_York (clocks jump from 02:00 to 03:00): they run once, at 03:00 EDT"},
		}},
		{"New York every 20 seconds, spring forward", "America/New_York", "*/20 * * * * *", "2026-03-08", 3 * 60 * 23, []slot{
			{"2026-03-08T01:59:40-05:00", ""},
			{"2026-03-08T03:00:00-04:00", "the 180 times from 02:00 to 02:59:40 do not exist on 2026-03-08 in America/New_York (clocks jump from 02:00 to 03:00): they run once, at 03:00 EDT, together with the 03:00 run"},
			{"2026-03-08T03:00:20-04:00", ""},
		}},
		{"London hourly, spring forward", "Europe/London", "@hourly", "2026-03-29", 23, []slot{
			{"2026-03-29T00:00:00Z", ""},
			{"2026-03-29T02:00:00+01:00", "01:00 does not exist on 2026-03-29 in Europe/London (clocks jump from 01:00 to 02:00): runs at 02:00 BST, together with the 02:00 run"},
			{"2026-03-29T03:00:00+01:00", ""},
		}},
		{"London hourly, fall back", "Europe/London", "0 * * * *", "2026-10-25", 24, []slot{
			{"2026-10-25T00:00:00+01:00", ""},
			{"2026-10-25T01:00:00+01:00", "01:00 happens twice on 2026-10-25 in Europe/London"},
			{"2026-10-25T02:00:00Z", ""},
		}},
		{"Lord Howe every 15 minutes, spring forward", "Australia/Lord_Howe", "*/15 * * * *", "2026-10-04", 96 - 2, []slot{
			{"2026-10-04T01:45:00+10:30", ""},
			{"2026-10-04T02:30:00+11:00", "02:00 and 02:15 do not exist on 2026-10-04 in Australia/Lord_Howe (clocks jump from 02:00 to 02:30): they run once, at 02:30 +11:00, together with the 02:30 run"},
			{"2026-10-04T02:45:00+11:00", ""},
		}},
		{"Lord Howe every 15 minutes, fall back", "Australia/Lord_Howe", "*/15 * * * *", "2026-04-05", 96, []slot{
			{"2026-04-05T01:15:00+11:00", ""},
			{"2026-04-05T01:30:00+11:00", "01:30 happens twice"},
			{"2026-04-05T01:45:00+11:00", "01:45 happens twice"},
			{"2026-04-05T02:00:00+10:30", ""},
		}},
		{"Sao Paulo hourly, spring forward at midnight", "America/Sao_Paulo", "0 * * * *", "2018-11-04", 23, []slot{
			{"2018-11-03T23:00:00-03:00", ""},
			{"2018-11-04T01:00:00-02:00", "00:00 does not exist on 2018-11-04 in America/Sao_Paulo (clocks jump from 00:00 to 01:00): runs at 01:00 -02:00, together with the 01:00 run"},
			{"2018-11-04T02:00:00-02:00", ""},
		}},
		{"Sao Paulo hourly, fall back at midnight", "America/Sao_Paulo", "0 * * * *", "2018-02-17", 24, []slot{
			{"2018-02-17T22:00:00-02:00", ""},
			{"2018-02-17T23:00:00-02:00", "23:00 happens twice on 2018-02-17"},
			{"2018-02-18T00:00:00-03:00", ""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			loc := zone(t, tc.zone)
			c := parseCron(t, tc.expr, loc)
			d, err := time.Parse(time.DateOnly, tc.day)
			if err != nil {
				t.Fatal(err)
			}
			// The local day runs from the first instant its clock shows
			// 00:00 (or later, if midnight is skipped) to the next day's.
			dayStart, _ := schedule.Resolve(d.Year(), d.Month(), d.Day(), 0, 0, 0, loc)
			dayEnd, _ := schedule.Resolve(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, loc)
			got := slots(t, c, dayStart.Add(-3*time.Hour), dayEnd.Add(3*time.Hour))

			inDay := 0
			for _, s := range got {
				if !s.At.Before(dayStart) && s.At.Before(dayEnd) {
					inDay++
				}
			}
			if inDay != tc.count {
				t.Errorf("%d slots on %s, want %d", inDay, tc.day, tc.count)
			}

			first := instant(t, tc.around[0].at)
			i := 0
			for i < len(got) && !got[i].At.Equal(first) {
				i++
			}
			if len(got)-i < len(tc.around) {
				t.Fatalf("slots around the transition not found; got from %s: %v", first, got[i:])
			}
			for j, want := range tc.around {
				s := got[i+j]
				if !s.At.Equal(instant(t, want.at)) {
					t.Errorf("slot %d: at %s, want %s", j, s.At.In(loc), want.at)
				}
				if want.note == "" && s.Note != "" || !strings.Contains(s.Note, want.note) {
					t.Errorf("slot %d (%s): note %q, want %q", j, want.at, s.Note, want.note)
				}
			}
		})
	}
}

// TestCronNext covers Next from awkward starting points.
func TestCronNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, zone, expr, after string
		want                    string // "" for no slot
		nominal                 string // the nominal wall clock, "2006-01-02 15:04:05"
	}{
		{"later today", "Europe/Rome", "0 9 * * *", "2026-06-01T08:00:00+02:00", "2026-06-01T09:00:00+02:00", "2026-06-01 09:00:00"},
		{"strictly after", "Europe/Rome", "0 9 * * *", "2026-06-01T09:00:00+02:00", "2026-06-02T09:00:00+02:00", "2026-06-02 09:00:00"},
		{"a fraction of a second after", "Europe/Rome", "0 9 * * *", "2026-06-01T09:00:00.5+02:00", "2026-06-02T09:00:00+02:00", "2026-06-02 09:00:00"},
		{"a fraction of a second before", "Europe/Rome", "0 9 * * *", "2026-06-01T08:59:59.999+02:00", "2026-06-01T09:00:00+02:00", "2026-06-01 09:00:00"},
		{"t in another zone", "Europe/Rome", "0 9 * * *", "2026-06-01T06:30:00Z", "2026-06-01T09:00:00+02:00", "2026-06-01 09:00:00"},
		{"Mondays", "Europe/Rome", "0 9 * * MON", "2026-06-03T12:00:00+02:00", "2026-06-08T09:00:00+02:00", "2026-06-08 09:00:00"},
		{"day of month or day of week", "UTC", "0 0 13 * FRI", "2026-02-10T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-13 00:00:00"},
		{"leap day", "UTC", "0 12 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T12:00:00Z", "2028-02-29 12:00:00"},
		{"never", "UTC", "0 0 30 2 *", "2026-01-01T00:00:00Z", "", ""},
		{"seconds field", "UTC", "30 0 9 * * *", "2026-06-01T09:00:00Z", "2026-06-01T09:00:30Z", "2026-06-01 09:00:30"},
		{"every second", "UTC", "* * * * * *", "2026-06-01T09:00:00.25Z", "2026-06-01T09:00:01Z", "2026-06-01 09:00:01"},

		// From inside DST transitions.
		{"from the fall-back hour's second pass", "America/New_York", "*/30 * * * *", "2026-11-01T01:10:00-05:00", "2026-11-01T02:00:00-05:00", "2026-11-01 02:00:00"},
		{"every second from the second pass", "America/New_York", "* * * * * *", "2026-11-01T01:59:58-05:00", "2026-11-01T02:00:00-05:00", "2026-11-01 02:00:00"},
		{"daily from the second pass", "America/New_York", "30 1 * * *", "2026-11-01T01:10:00-05:00", "2026-11-02T01:30:00-05:00", "2026-11-02 01:30:00"},
		{"from the fall-back hour's first pass", "America/New_York", "*/30 * * * *", "2026-11-01T01:10:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01 01:30:00"},
		{"just before the gap", "America/New_York", "*/15 * * * *", "2026-03-08T01:59:59.5-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08 02:00:00"},
		{"at the gap's slot", "America/New_York", "*/15 * * * *", "2026-03-08T03:00:00-04:00", "2026-03-08T03:15:00-04:00", "2026-03-08 03:15:00"},
		{"descriptor at a skipped midnight", "America/Sao_Paulo", "@midnight", "2018-11-03T12:00:00-03:00", "2018-11-04T01:00:00-02:00", "2018-11-04 00:00:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			loc := zone(t, tc.zone)
			c := parseCron(t, tc.expr, loc)
			s, ok := c.Next(instant(t, tc.after))
			if tc.want == "" {
				if ok {
					t.Fatalf("Next = %+v, want none", s)
				}
				return
			}
			if !ok {
				t.Fatal("Next found no slot")
			}
			if want := instant(t, tc.want); !s.At.Equal(want) || s.At.Location() != loc {
				t.Errorf("At = %s, want %s in %s", s.At, want, loc)
			}
			if got := s.Nominal.Format(time.DateTime); got != tc.nominal {
				t.Errorf("Nominal = %s, want %s", got, tc.nominal)
			}
			if moved := !s.At.Equal(s.Nominal); moved != (s.At.In(loc).Format(time.DateTime) != tc.nominal) {
				t.Errorf("Nominal %s equals At %s only when DST did not move the slot", s.Nominal, s.At)
			}
		})
	}
}

// TestCronYear walks a year of hourly slots in each zone: strictly
// increasing, and a slot fires at the wall time it names unless its note
// says why not.
func TestCronYear(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ zone, year string }{
		{"America/New_York", "2026"}, {"Europe/London", "2026"}, {"Australia/Lord_Howe", "2026"},
		{"America/Sao_Paulo", "2018"}, {"Pacific/Apia", "2011"}, {"UTC", "2026"},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			t.Parallel()
			loc := zone(t, tc.zone)
			c := parseCron(t, "0 * * * *", loc)
			from := instant(t, tc.year+"-01-01T00:00:00Z")
			got := slots(t, c, from, from.AddDate(1, 0, 0))
			if len(got) < 360*24 {
				t.Errorf("%d slots in a year", len(got))
			}
			for _, s := range got {
				local := s.At.In(loc).Format(time.DateTime)
				if s.Note == "" && local != s.Nominal.Format(time.DateTime) {
					t.Errorf("slot at %s names %s without a note", local, s.Nominal.Format(time.DateTime))
				}
			}
		})
	}
}

func TestParseCron(t *testing.T) {
	t.Parallel()
	ny := zone(t, "America/New_York")
	for _, expr := range []string{
		"0 9 * * MON", "*/15 * * * *", "0 9 1-7 * 1-5", "0 0 1 jan,jul *", "0 9 ? * *",
		"30 0 9 * * *", "*/10 * * * * *", " 0 9 * * * ",
		"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually", "@DAILY",
	} {
		c, err := schedule.ParseCron(expr, ny)
		if err != nil {
			t.Errorf("ParseCron(%q): %v", expr, err)
			continue
		}
		if c.String() != expr || c.Location() != ny {
			t.Errorf("ParseCron(%q) = %q in %s", expr, c.String(), c.Location())
		}
	}
	if c, err := schedule.ParseCron("@daily", nil); err != nil || c.Location() != time.UTC {
		t.Errorf("ParseCron with a nil location: %v, %v; want UTC", c, err)
	}

	descriptors := []struct{ expr, after, want string }{
		{"@hourly", "2026-06-01T09:10:00Z", "2026-06-01T10:00:00Z"},
		{"@daily", "2026-06-01T09:10:00Z", "2026-06-02T00:00:00Z"},
		{"@midnight", "2026-06-01T09:10:00Z", "2026-06-02T00:00:00Z"},
		{"@weekly", "2026-06-01T09:10:00Z", "2026-06-07T00:00:00Z"}, // Sunday
		{"@monthly", "2026-06-01T09:10:00Z", "2026-07-01T00:00:00Z"},
		{"@yearly", "2026-06-01T09:10:00Z", "2027-01-01T00:00:00Z"},
		{"@annually", "2026-06-01T09:10:00Z", "2027-01-01T00:00:00Z"},
	}
	for _, tc := range descriptors {
		c := parseCron(t, tc.expr, time.UTC)
		if s, ok := c.Next(instant(t, tc.after)); !ok || !s.At.Equal(instant(t, tc.want)) {
			t.Errorf("%s after %s: %s, want %s", tc.expr, tc.after, s.At, tc.want)
		}
	}
}

func TestParseCronErrors(t *testing.T) {
	t.Parallel()
	const hint = `minute hour day-of-month month day-of-week, e.g. "0 9 * * MON"`
	tests := []struct{ expr, want string }{
		{"", "the cron expression is empty: write " + hint},
		{"   ", "the cron expression is empty: write " + hint},
		{"@every 15m", `"@every 15m": @every is not supported, because its slots depend on when herald started, so they cannot be claimed exactly once; write it as a cron expression like "*/15 * * * *", or use watch: to poll a source`},
		{"@every", `"@every": @every is not supported, because its slots depend on when herald started, so they cannot be claimed exactly once; write it as a cron expression like "*/15 * * * *", or use watch: to poll a source`},
		{"TZ=Europe/Rome 0 9 * * *", `"TZ=Europe/Rome 0 9 * * *": a TZ= or CRON_TZ= prefix is not supported; set trigger.timezone instead`},
		{"CRON_TZ=Europe/Rome 0 9 * * *", `"CRON_TZ=Europe/Rome 0 9 * * *": a TZ= or CRON_TZ= prefix is not supported; set trigger.timezone instead`},
		{"TZ=Europe/Rome", `"TZ=Europe/Rome": a TZ= or CRON_TZ= prefix is not supported; set trigger.timezone instead`},
		{"@daly", `"@daly" is not a schedule: use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually, or write ` + hint},
		{"@reboot", `"@reboot" is not a schedule: use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually, or write ` + hint},
		{"0 9 *", `"0 9 *" has 3 fields: write 5 (` + hint + `), or 6 with seconds first`},
		{"0 0 9 * * * *", `"0 0 9 * * * *" has 7 fields: write 5 (` + hint + `), or 6 with seconds first`},
		{"every day at 9", `"every day at 9" has 4 fields: write 5 (` + hint + `), or 6 with seconds first`},
		{"60 9 * * *", `"60 9 * * *": the minute field "60" is not valid (it takes 0 to 59, lists like 1,15, ranges like 1-5 and steps like */15); write ` + hint},
		{"0 24 * * *", `"0 24 * * *": the hour field "24" is not valid (it takes 0 to 23, lists like 1,15, ranges like 1-5 and steps like */15); write ` + hint},
		{"0 9 0 * *", `"0 9 0 * *": the day-of-month field "0" is not valid (it takes 1 to 31, lists like 1,15, ranges like 1-5 and steps like */15); write ` + hint},
		{"0 9 * 13 *", `"0 9 * 13 *": the month field "13" is not valid (it takes 1 to 12 or JAN to DEC, lists like 1,15, ranges like 1-5 and steps like */15); write ` + hint},
		{"0 9 * * 7", `"0 9 * * 7": the day-of-week field "7" is not valid (it takes 0 to 6 or SUN to SAT (0 is Sunday), lists like 1,15, ranges like 1-5 and steps like */15); write ` + hint},
		{"0 9 * * MONDAY", `"0 9 * * MONDAY": the day-of-week field "MONDAY" is not valid (it takes 0 to 6 or SUN to SAT (0 is Sunday), lists like 1,15, ranges like 1-5 and steps like */15); write ` + hint},
		{"*/0 * * * *", `"*/0 * * * *": the minute field "*/0" is not valid (it takes 0 to 59, lists like 1,15, ranges like 1-5 and steps like */15); write ` + hint},
		{"61 0 9 * * *", `"61 0 9 * * *": the second field "61" is not valid (it takes 0 to 59, lists like 1,15, ranges like 1-5 and steps like */15); write ` + hint},
		{"0 9-5 * * *", `"0 9-5 * * *": the hour field "9-5" is not valid (it takes 0 to 23, lists like 1,15, ranges like 1-5 and steps like */15); write ` + hint},
	}
	for _, tc := range tests {
		c, err := schedule.ParseCron(tc.expr, time.UTC)
		if err == nil {
			t.Errorf("ParseCron(%q) = %v, want an error", tc.expr, c)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("ParseCron(%q):\n got %s\nwant %s", tc.expr, err, tc.want)
		}
	}
}

func TestNextAt(t *testing.T) {
	t.Parallel()
	at := instant(t, "2026-12-01T09:00:00+01:00")
	tests := []struct {
		name  string
		after time.Time
		ok    bool
	}{
		{"before", at.Add(-time.Nanosecond), true},
		{"at", at, false},
		{"after", at.Add(time.Hour), false},
	}
	for _, tc := range tests {
		s, ok := schedule.NextAt(at, tc.after)
		if ok != tc.ok {
			t.Errorf("%s: ok = %v, want %v", tc.name, ok, tc.ok)
		}
		if ok && (!s.At.Equal(at) || !s.Nominal.Equal(at) || s.Note != "") {
			t.Errorf("%s: slot %+v", tc.name, s)
		}
		if !ok && s != (schedule.Slot{}) {
			t.Errorf("%s: slot %+v with false", tc.name, s)
		}
	}
}
