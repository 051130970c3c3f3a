package schedule_test

import (
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign/schedule"
)

// zone loads an IANA zone from the machine's tzdata.
func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// instant parses an RFC 3339 time.
func instant(t *testing.T, s string) time.Time {
	t.Helper()
	u, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return u
}

// TestTZData pins the transitions the other tests are built on, so a
// machine whose tzdata disagrees fails here, loudly, rather than in a
// puzzling way elsewhere. Each transition is an instant (UTC) and the UTC
// offsets, in minutes, just before and at it.
func TestTZData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		zone          string
		at            string
		before, after int
	}{
		{"America/New_York", "2026-03-08T07:00:00Z", -300, -240},  // 02:00 EST → 03:00 EDT
		{"America/New_York", "2026-11-01T06:00:00Z", -240, -300},  // 02:00 EDT → 01:00 EST
		{"Europe/London", "2026-03-29T01:00:00Z", 0, 60},          // 01:00 GMT → 02:00 BST
		{"Europe/London", "2026-10-25T01:00:00Z", 60, 0},          // 02:00 BST → 01:00 GMT
		{"Australia/Lord_Howe", "2026-10-03T15:30:00Z", 630, 660}, // 02:00 +1030 → 02:30 +11
		{"Australia/Lord_Howe", "2026-04-04T15:00:00Z", 660, 630}, // 02:00 +11 → 01:30 +1030
		{"America/Sao_Paulo", "2018-11-04T03:00:00Z", -180, -120}, // 00:00 -03 → 01:00 -02
		{"America/Sao_Paulo", "2018-02-18T02:00:00Z", -120, -180}, // 00:00 -02 → 23:00 -03 (the 17th)
	}
	for _, tc := range tests {
		t.Run(tc.zone+" "+tc.at, func(t *testing.T) {
			t.Parallel()
			loc, at := zone(t, tc.zone), instant(t, tc.at)
			if _, off := at.Add(-time.Second).In(loc).Zone(); off != tc.before*60 {
				t.Errorf("offset before: %d min, want %d", off/60, tc.before)
			}
			if _, off := at.In(loc).Zone(); off != tc.after*60 {
				t.Errorf("offset at: %d min, want %d", off/60, tc.after)
			}
		})
	}

	// Brazil abolished DST in 2019: São Paulo has no transition in 2026,
	// which is why its tests use 2018.
	t.Run("America/Sao_Paulo 2026", func(t *testing.T) {
		t.Parallel()
		loc := zone(t, "America/Sao_Paulo")
		for u := instant(t, "2026-01-01T00:00:00Z"); u.Year() == 2026; u = u.Add(time.Hour) {
			if _, off := u.In(loc).Zone(); off != -3*3600 {
				t.Fatalf("%s: offset %d, want -03:00", u, off)
			}
		}
	})
}

func TestResolve(t *testing.T) {
	t.Parallel()
	type wall struct {
		y          int
		m          time.Month
		d, h, mi   int
		s          int
		zone, want string
		note       string
	}
	tests := []struct {
		name string
		wall
	}{
		// Ordinary times, in and out of DST.
		{"New York winter", wall{2026, 1, 15, 9, 0, 0, "America/New_York", "2026-01-15T09:00:00-05:00", ""}},
		{"New York summer", wall{2026, 7, 15, 9, 0, 0, "America/New_York", "2026-07-15T09:00:00-04:00", ""}},
		{"New York just before the gap", wall{2026, 3, 8, 1, 59, 59, "America/New_York", "2026-03-08T01:59:59-05:00", ""}},
		{"New York just after the gap", wall{2026, 3, 8, 3, 0, 0, "America/New_York", "2026-03-08T03:00:00-04:00", ""}},
		{"New York just after the repeat", wall{2026, 11, 1, 2, 0, 0, "America/New_York", "2026-11-01T02:00:00-05:00", ""}},
		{"London winter", wall{2026, 1, 15, 9, 0, 0, "Europe/London", "2026-01-15T09:00:00Z", ""}},
		{"Lord Howe winter", wall{2026, 7, 1, 12, 0, 0, "Australia/Lord_Howe", "2026-07-01T12:00:00+10:30", ""}},
		{"Sao Paulo 2026 (no DST)", wall{2026, 11, 1, 0, 30, 0, "America/Sao_Paulo", "2026-11-01T00:30:00-03:00", ""}},
		{"UTC", wall{2026, 3, 8, 2, 30, 0, "UTC", "2026-03-08T02:30:00Z", ""}},
		{"normalized like time.Date", wall{2026, 12, 31, 24, 0, 0, "America/New_York", "2027-01-01T00:00:00-05:00", ""}},
		{"far future (rule-based zone)", wall{2040, 12, 31, 12, 0, 0, "America/New_York", "2040-12-31T12:00:00-05:00", ""}},

		// Spring-forward gaps: the transition instant.
		{"New York gap start", wall{2026, 3, 8, 2, 0, 0, "America/New_York", "2026-03-08T03:00:00-04:00",
			"02:00 does not exist on 2026-03-08 in America/New_York (clocks jump from 02:00 to 03:00): runs at 03:00 EDT"}},
		{"New York gap", wall{2026, 3, 8, 2, 30, 0, "America/New_York", "2026-03-08T03:00:00-04:00",
			"02:30 does not exist on 2026-03-08 in America/New_York (clocks jump from 02:00 to 03:00): runs at 03:00 EDT"}},
		{"New York gap end", wall{2026, 3, 8, 2, 59, 59, "America/New_York", "2026-03-08T03:00:00-04:00",
			"02:59:59 does not exist on 2026-03-08 in America/New_York (clocks jump from 02:00 to 03:00): runs at 03:00 EDT"}},
		{"New York gap 2040 (rule-based zone)", wall{2040, 3, 11, 2, 30, 0, "America/New_York", "2040-03-11T03:00:00-04:00",
			"02:30 does not exist on 2040-03-11 in America/New_York (clocks jump from 02:00 to 03:00): runs at 03:00 EDT"}},
		{"London gap", wall{2026, 3, 29, 1, 30, 0, "Europe/London", "2026-03-29T02:00:00+01:00",
			"01:30 does not exist on 2026-03-29 in Europe/London (clocks jump from 01:00 to 02:00): runs at 02:00 BST"}},
		{"Lord Howe half-hour gap", wall{2026, 10, 4, 2, 15, 0, "Australia/Lord_Howe", "2026-10-04T02:30:00+11:00",
			"02:15 does not exist on 2026-10-04 in Australia/Lord_Howe (clocks jump from 02:00 to 02:30): runs at 02:30 +11:00"}},
		{"Apia skipped a whole day", wall{2011, 12, 30, 9, 0, 0, "Pacific/Apia", "2011-12-31T00:00:00+14:00",
			"09:00 does not exist on 2011-12-30 in Pacific/Apia (clocks jump from 2011-12-30 00:00 to 2011-12-31 00:00): runs at 00:00 +14:00"}},
		{"Sao Paulo midnight gap", wall{2018, 11, 4, 0, 0, 0, "America/Sao_Paulo", "2018-11-04T01:00:00-02:00",
			"00:00 does not exist on 2018-11-04 in America/Sao_Paulo (clocks jump from 00:00 to 01:00): runs at 01:00 -02:00"}},

		// Fall-back repeats: the first occurrence.
		{"New York repeat start", wall{2026, 11, 1, 1, 0, 0, "America/New_York", "2026-11-01T01:00:00-04:00",
			"01:00 happens twice on 2026-11-01 in America/New_York (clocks go back from 02:00 to 01:00): runs once, at the first 01:00 (EDT)"}},
		{"New York repeat", wall{2026, 11, 1, 1, 30, 0, "America/New_York", "2026-11-01T01:30:00-04:00",
			"01:30 happens twice on 2026-11-01 in America/New_York (clocks go back from 02:00 to 01:00): runs once, at the first 01:30 (EDT)"}},
		{"London repeat", wall{2026, 10, 25, 1, 30, 0, "Europe/London", "2026-10-25T01:30:00+01:00",
			"01:30 happens twice on 2026-10-25 in Europe/London (clocks go back from 02:00 to 01:00): runs once, at the first 01:30 (BST)"}},
		{"Lord Howe half-hour repeat", wall{2026, 4, 5, 1, 45, 0, "Australia/Lord_Howe", "2026-04-05T01:45:00+11:00",
			"01:45 happens twice on 2026-04-05 in Australia/Lord_Howe (clocks go back from 02:00 to 01:30): runs once, at the first 01:45 (+11:00)"}},
		{"Lord Howe before the repeat", wall{2026, 4, 5, 1, 29, 0, "Australia/Lord_Howe", "2026-04-05T01:29:00+11:00", ""}},
		{"Sao Paulo repeat the evening before", wall{2018, 2, 17, 23, 30, 0, "America/Sao_Paulo", "2018-02-17T23:30:00-02:00",
			"23:30 happens twice on 2018-02-17 in America/Sao_Paulo (clocks go back from 00:00 to 23:00): runs once, at the first 23:30 (-02:00)"}},
		{"Sao Paulo midnight after the repeat", wall{2018, 2, 18, 0, 0, 0, "America/Sao_Paulo", "2018-02-18T00:00:00-03:00", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			loc := zone(t, tc.zone)
			at, note := schedule.Resolve(tc.y, tc.m, tc.d, tc.h, tc.mi, tc.s, loc)
			if want := instant(t, tc.want); !at.Equal(want) {
				t.Errorf("at = %s, want %s", at, want)
			}
			if at.Location() != loc {
				t.Errorf("at is in %s, want %s", at.Location(), loc)
			}
			if note != tc.note {
				t.Errorf("note = %q\nwant   %q", note, tc.note)
			}
		})
	}
}

// TestResolveNeverGoesBack walks every minute of each transition day and
// checks that later wall times never fire earlier, and that each fires at
// or after the first instant its wall clock is reached.
func TestResolveNeverGoesBack(t *testing.T) {
	t.Parallel()
	days := []struct {
		zone string
		day  string
	}{
		{"America/New_York", "2026-03-08"}, {"America/New_York", "2026-11-01"},
		{"Europe/London", "2026-03-29"}, {"Europe/London", "2026-10-25"},
		{"Australia/Lord_Howe", "2026-10-04"}, {"Australia/Lord_Howe", "2026-04-05"},
		{"America/Sao_Paulo", "2018-11-04"}, {"America/Sao_Paulo", "2018-02-17"},
	}
	for _, tc := range days {
		t.Run(tc.zone+" "+tc.day, func(t *testing.T) {
			t.Parallel()
			loc := zone(t, tc.zone)
			d, err := time.Parse(time.DateOnly, tc.day)
			if err != nil {
				t.Fatal(err)
			}
			var prev time.Time
			for m := range 24 * 60 {
				at, note := schedule.Resolve(d.Year(), d.Month(), d.Day(), m/60, m%60, 0, loc)
				if at.Before(prev) {
					t.Fatalf("%02d:%02d fires at %s, before the minute before it (%s)", m/60, m%60, at, prev)
				}
				local := at.In(loc)
				shown := local.Hour()*60 + local.Minute()
				if note == "" && (shown != m || local.Day() != d.Day()) {
					t.Fatalf("%02d:%02d fires at %s without a note", m/60, m%60, local)
				}
				prev = at
			}
		})
	}
}
