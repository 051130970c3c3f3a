package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Clock is a wall-clock time of day, to the minute: 00:00 to 23:59.
type Clock struct{ Hour, Minute int }

// ParseClock parses a time of day written "HH:MM" (a single-digit hour,
// "9:00", is accepted too). It returns a plain error that says how to
// write one, e.g. `"9am" is not a time of day: write it as "HH:MM", e.g.
// "09:00"`, or which part is out of range.
func ParseClock(s string) (Clock, error) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(hh) < 1 || len(hh) > 2 || len(mm) != 2 || !digits(hh) || !digits(mm) {
		return Clock{}, fmt.Errorf(`%q is not a time of day: write it as "HH:MM", e.g. "09:00"`, s)
	}
	h, _ := strconv.Atoi(hh)
	m, _ := strconv.Atoi(mm)
	switch {
	case h > 23:
		return Clock{}, fmt.Errorf(`%q is not a time of day: hours go from 00 to 23 (midnight is "00:00")`, s)
	case m > 59:
		return Clock{}, fmt.Errorf(`%q is not a time of day: minutes go from 00 to 59`, s)
	}
	return Clock{Hour: h, Minute: m}, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// String returns the clock as "HH:MM", e.g. "09:00".
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

// minutes is c as minutes after midnight.
func (c Clock) minutes() int { return c.Hour*60 + c.Minute }

// NextLocal returns the first instant at or after t at which the wall clock
// in loc (nil means UTC) shows c, resolved as by Resolve: a time in a
// spring-forward gap fires when the clocks jump, a time in a fall-back hour
// at its first occurrence only, so c comes once a day.
func NextLocal(t time.Time, c Clock, loc *time.Location) time.Time {
	loc = orUTC(loc)
	y, m, d := t.In(loc).Date()
	// Today's c is at or after t unless it has passed; then tomorrow's is,
	// since resolving never goes backwards. More days cover zones that
	// skipped a calendar day (Pacific/Apia, 2011-12-30).
	var at time.Time
	for i := range 4 {
		at, _ = Resolve(y, m, d+i, c.Hour, c.Minute, 0, loc)
		if !at.Before(t) {
			break
		}
	}
	return at
}

// Quiet is a daily quiet period, [Start, End) on the wall clock. Start ==
// End is invalid; Start after End wraps midnight ("21:00-08:00").
type Quiet struct{ Start, End Clock }

// ParseQuiet parses a quiet period written "HH:MM-HH:MM", e.g.
// "21:00-08:00". It returns a plain error that says how to write one when
// there is no "-", when either time is not a time of day, or when both are
// the same.
func ParseQuiet(s string) (Quiet, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		from, to, ok = strings.Cut(s, "–") // an en dash, as word processors write it
	}
	if !ok {
		return Quiet{}, fmt.Errorf(`%q is not a quiet period: write it as "HH:MM-HH:MM", e.g. "21:00-08:00"`, s)
	}
	start, err := ParseClock(from)
	if err != nil {
		return Quiet{}, fmt.Errorf("quiet period %q: start %w", s, err)
	}
	end, err := ParseClock(to)
	if err != nil {
		return Quiet{}, fmt.Errorf("quiet period %q: end %w", s, err)
	}
	if start == end {
		return Quiet{}, fmt.Errorf(`quiet period %q starts and ends at the same time: write the start and the end of the quiet hours, e.g. "21:00-08:00"`, s)
	}
	return Quiet{Start: start, End: end}, nil
}

// String returns the period as "HH:MM-HH:MM".
func (q Quiet) String() string { return q.Start.String() + "-" + q.End.String() }

// holds reports whether the wall-clock time w (floating) is inside q.
func (q Quiet) holds(w time.Time) bool {
	m := w.Hour()*60 + w.Minute()
	if q.Start.minutes() < q.End.minutes() {
		return q.Start.minutes() <= m && m < q.End.minutes()
	}
	return m >= q.Start.minutes() || m < q.End.minutes()
}

// Hold returns t if the wall clock in loc (nil means UTC) at t is outside
// the quiet period, else the first instant after t at which it is outside:
// the next End, or, when the clocks jump past End or back out of the period,
// the instant they do.
//
// This is NextLocal(t, q.End, loc) except in a fall-back hour: there the
// quiet period ends when the wall clock shows End the second time too,
// where NextLocal, which fires once a day, would wait until tomorrow.
func (q Quiet) Hold(t time.Time, loc *time.Location) time.Time {
	loc = orUTC(loc)
	// Walk the stretches of constant UTC offset from t: within one, the
	// wall clock runs with real time, so it leaves the period at End.
	u := t
	for range 8 {
		w := floating(u.In(loc))
		if !q.holds(w) {
			return u
		}
		end := time.Date(w.Year(), w.Month(), w.Day(), q.End.Hour, q.End.Minute, 0, 0, time.UTC)
		if end.Before(w) {
			end = end.AddDate(0, 0, 1)
		}
		leave := u.Add(end.Sub(w))
		change, ok := nextChange(u, leave, loc)
		if !ok || change.After(leave) {
			return leave
		}
		u = change
	}
	return NextLocal(t, q.End, loc)
}
