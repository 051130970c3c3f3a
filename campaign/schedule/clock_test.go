package schedule_test

import (
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign/schedule"
)

func TestParseClock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want, err string
	}{
		{in: "09:00", want: "09:00"},
		{in: "9:05", want: "09:05"},
		{in: " 23:59 ", want: "23:59"},
		{in: "00:00", want: "00:00"},
		{in: "9am", err: `"9am" is not a time of day: write it as "HH:MM", e.g. "09:00"`},
		{in: "", err: `"" is not a time of day: write it as "HH:MM", e.g. "09:00"`},
		{in: "0900", err: `"0900" is not a time of day: write it as "HH:MM", e.g. "09:00"`},
		{in: "09:00:00", err: `"09:00:00" is not a time of day: write it as "HH:MM", e.g. "09:00"`},
		{in: "9:5", err: `"9:5" is not a time of day: write it as "HH:MM", e.g. "09:00"`},
		{in: "-1:00", err: `"-1:00" is not a time of day: write it as "HH:MM", e.g. "09:00"`},
		{in: "+9:00", err: `"+9:00" is not a time of day: write it as "HH:MM", e.g. "09:00"`},
		{in: "24:00", err: `"24:00" is not a time of day: hours go from 00 to 23 (midnight is "00:00")`},
		{in: "09:60", err: `"09:60" is not a time of day: minutes go from 00 to 59`},
	}
	for _, tc := range tests {
		c, err := schedule.ParseClock(tc.in)
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseClock(%q) = %v, %v; want error %s", tc.in, c, err, tc.err)
			}
		case err != nil:
			t.Errorf("ParseClock(%q): %v", tc.in, err)
		case c.String() != tc.want:
			t.Errorf("ParseClock(%q) = %s, want %s", tc.in, c, tc.want)
		}
	}
}

func TestParseQuiet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want, err string
	}{
		{in: "21:00-08:00", want: "21:00-08:00"},
		{in: "12:30-14:00", want: "12:30-14:00"},
		{in: " 21:00 - 8:00 ", want: "21:00-08:00"},
		{in: "21:00–08:00", want: "21:00-08:00"}, // en dash
		{in: "21:00", err: `"21:00" is not a quiet period: write it as "HH:MM-HH:MM", e.g. "21:00-08:00"`},
		{in: "", err: `"" is not a quiet period: write it as "HH:MM-HH:MM", e.g. "21:00-08:00"`},
		{in: "9pm-8:00", err: `quiet period "9pm-8:00": start "9pm" is not a time of day: write it as "HH:MM", e.g. "09:00"`},
		{in: "21:00-25:00", err: `quiet period "21:00-25:00": end "25:00" is not a time of day: hours go from 00 to 23 (midnight is "00:00")`},
		{in: "21:00-08:00-09:00", err: `quiet period "21:00-08:00-09:00": end "08:00-09:00" is not a time of day: write it as "HH:MM", e.g. "09:00"`},
		{in: "09:00-09:00", err: `quiet period "09:00-09:00" starts and ends at the same time: write the start and the end of the quiet hours, e.g. "21:00-08:00"`},
	}
	for _, tc := range tests {
		q, err := schedule.ParseQuiet(tc.in)
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseQuiet(%q) = %v, %v; want error %s", tc.in, q, err, tc.err)
			}
		case err != nil:
			t.Errorf("ParseQuiet(%q): %v", tc.in, err)
		case q.String() != tc.want:
			t.Errorf("ParseQuiet(%q) = %s, want %s", tc.in, q, tc.want)
		}
	}
}

func TestNextLocal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, zone, t, clock, want string
	}{
		{"later today", "Europe/Rome", "2026-06-01T08:00:00+02:00", "09:00", "2026-06-01T09:00:00+02:00"},
		{"at t itself", "Europe/Rome", "2026-06-01T09:00:00+02:00", "09:00", "2026-06-01T09:00:00+02:00"},
		{"passed today", "Europe/Rome", "2026-06-01T09:00:01+02:00", "09:00", "2026-06-02T09:00:00+02:00"},
		{"midnight", "Europe/Rome", "2026-06-01T23:59:00+02:00", "00:00", "2026-06-02T00:00:00+02:00"},
		{"the local day, not t's", "Asia/Tokyo", "2026-06-01T20:00:00Z", "09:00", "2026-06-02T09:00:00+09:00"},
		{"nil location is UTC", "", "2026-06-01T08:00:00Z", "09:00", "2026-06-01T09:00:00Z"},
		{"in the gap", "America/New_York", "2026-03-08T00:00:00-05:00", "02:30", "2026-03-08T03:00:00-04:00"},
		{"at the gap's transition", "America/New_York", "2026-03-08T03:00:00-04:00", "02:30", "2026-03-08T03:00:00-04:00"},
		{"after the gap", "America/New_York", "2026-03-08T03:00:01-04:00", "02:30", "2026-03-09T02:30:00-04:00"},
		{"Lord Howe gap", "Australia/Lord_Howe", "2026-10-03T12:00:00+10:30", "02:15", "2026-10-04T02:30:00+11:00"},
		{"repeated: first occurrence", "America/New_York", "2026-11-01T00:00:00-04:00", "01:30", "2026-11-01T01:30:00-04:00"},
		{"repeated: not the second", "America/New_York", "2026-11-01T01:10:00-05:00", "01:30", "2026-11-02T01:30:00-05:00"},
		{"a skipped day: when the clocks jump", "Pacific/Apia", "2011-12-29T12:00:00-10:00", "09:00", "2011-12-31T00:00:00+14:00"},
		{"skipped midnight", "America/Sao_Paulo", "2018-11-03T12:00:00-03:00", "00:00", "2018-11-04T01:00:00-02:00"},
		{"London repeat", "Europe/London", "2026-10-25T00:30:00+01:00", "01:30", "2026-10-25T01:30:00+01:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var loc *time.Location
			if tc.zone != "" {
				loc = zone(t, tc.zone)
			}
			c, err := schedule.ParseClock(tc.clock)
			if err != nil {
				t.Fatal(err)
			}
			got := schedule.NextLocal(instant(t, tc.t), c, loc)
			if want := instant(t, tc.want); !got.Equal(want) {
				t.Errorf("NextLocal = %s, want %s", got, want)
			}
		})
	}
}

func TestQuietHold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, zone, quiet, t, want string
	}{
		{"before a wrapping period", "Europe/Rome", "21:00-08:00", "2026-06-01T20:59:59+02:00", "2026-06-01T20:59:59+02:00"},
		{"at its start", "Europe/Rome", "21:00-08:00", "2026-06-01T21:00:00+02:00", "2026-06-02T08:00:00+02:00"},
		{"before midnight", "Europe/Rome", "21:00-08:00", "2026-06-01T23:30:00+02:00", "2026-06-02T08:00:00+02:00"},
		{"after midnight", "Europe/Rome", "21:00-08:00", "2026-06-02T03:00:00+02:00", "2026-06-02T08:00:00+02:00"},
		{"a second before its end", "Europe/Rome", "21:00-08:00", "2026-06-02T07:59:59+02:00", "2026-06-02T08:00:00+02:00"},
		{"at its end", "Europe/Rome", "21:00-08:00", "2026-06-02T08:00:00+02:00", "2026-06-02T08:00:00+02:00"},
		{"midday period", "Europe/Rome", "12:30-14:00", "2026-06-02T13:00:00+02:00", "2026-06-02T14:00:00+02:00"},
		{"outside a midday period", "Europe/Rome", "12:30-14:00", "2026-06-02T23:00:00+02:00", "2026-06-02T23:00:00+02:00"},
		{"read in loc, not t's zone", "Asia/Tokyo", "21:00-08:00", "2026-06-01T14:00:00Z", "2026-06-02T08:00:00+09:00"},
		{"nil location is UTC", "", "21:00-08:00", "2026-06-01T22:00:00Z", "2026-06-02T08:00:00Z"},

		// Across DST: the wall clock, not elapsed time, ends the period.
		{"night of spring forward", "America/New_York", "21:00-08:00", "2026-03-07T22:00:00-05:00", "2026-03-08T08:00:00-04:00"},
		{"night of fall back", "America/New_York", "21:00-08:00", "2026-10-31T22:00:00-04:00", "2026-11-01T08:00:00-05:00"},
		{"end in the gap: when the clocks jump", "America/New_York", "21:00-02:30", "2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00"},
		{"end in the repeat, first pass", "America/New_York", "00:00-01:30", "2026-11-01T01:10:00-04:00", "2026-11-01T01:30:00-04:00"},
		{"end in the repeat, second pass", "America/New_York", "00:00-01:30", "2026-11-01T01:10:00-05:00", "2026-11-01T01:30:00-05:00"},
		{"clocks go back out of the period", "America/New_York", "01:30-03:00", "2026-11-01T01:45:00-04:00", "2026-11-01T01:00:00-05:00"},
		{"Lord Howe end in the gap", "Australia/Lord_Howe", "22:00-02:15", "2026-10-04T01:00:00+10:30", "2026-10-04T02:30:00+11:00"},
		{"Sao Paulo, midnight skipped", "America/Sao_Paulo", "22:00-00:30", "2018-11-03T23:00:00-03:00", "2018-11-04T01:00:00-02:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var loc *time.Location
			if tc.zone != "" {
				loc = zone(t, tc.zone)
			}
			q, err := schedule.ParseQuiet(tc.quiet)
			if err != nil {
				t.Fatal(err)
			}
			got := q.Hold(instant(t, tc.t), loc)
			if want := instant(t, tc.want); !got.Equal(want) {
				t.Errorf("Hold = %s, want %s", got, want)
			}
		})
	}
}
