package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Slot is one firing of a trigger.
type Slot struct {
	// At is the real instant the slot fires, in the trigger's location.
	At time.Time
	// Nominal is the wall-clock time the trigger names: its date and clock
	// fields read that wall time. It equals At (the same instant, in the
	// trigger's location) unless DST moved the slot: a wall time in a
	// spring-forward gap matches no instant, so it is a floating time, the
	// wall clock's fields written in UTC.
	Nominal time.Time
	// Note is empty, or says why DST moved or merged the slot, e.g. "02:30
	// does not exist on 2026-03-08 in America/New_York (clocks jump from
	// 02:00 to 03:00): runs at 03:00 EDT" or "01:30 happens twice on
	// 2026-11-01 in America/New_York (clocks go back from 02:00 to 01:00):
	// runs once, at the first 01:30 (EDT)".
	Note string
}

// Cron is a parsed cron trigger: an expression read in a location.
type Cron struct {
	expr string
	spec cron.SpecSchedule // Location is UTC: it runs in wall-clock space
	loc  *time.Location
}

// cronHint is how a cron expression is written.
const cronHint = `minute hour day-of-month month day-of-week, e.g. "0 9 * * MON"`

var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a cron expression read in loc (nil means UTC): 5 fields
// (minute hour day-of-month month day-of-week), 6 with a leading seconds
// field, or a descriptor (@hourly, @daily, @midnight, @weekly, @monthly,
// @yearly, @annually). Descriptors are case-insensitive.
//
// It returns a plain error whose message says what to write instead when
// the expression is empty, uses @every (its slots would depend on when
// herald started, so they could not be claimed exactly once), has a TZ= or
// CRON_TZ= prefix (trigger.timezone says where it is read), is an unknown
// descriptor, has the wrong number of fields, or has a field out of range.
// An expression that parses may still never fire ("0 0 30 2 *"); Next
// reports that.
func ParseCron(expr string, loc *time.Location) (*Cron, error) {
	loc = orUTC(loc)
	s := strings.TrimSpace(expr)
	lower := strings.ToLower(s)
	switch {
	case s == "":
		return nil, errors.New("the cron expression is empty: write " + cronHint)
	case strings.HasPrefix(lower, "@every"):
		return nil, fmt.Errorf("%q: @every is not supported, because its slots depend on when herald started, so they cannot be claimed exactly once; write it as a cron expression like \"*/15 * * * *\", or use watch: to poll a source", expr)
	case strings.HasPrefix(lower, "tz=") || strings.HasPrefix(lower, "cron_tz="):
		return nil, fmt.Errorf("%q: a TZ= or CRON_TZ= prefix is not supported; set trigger.timezone instead", expr)
	case strings.HasPrefix(s, "@"):
		s = lower
	}
	sched, err := parser.Parse(s)
	if err != nil {
		return nil, explainCronError(expr, s)
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%q is not supported: write %s", expr, cronHint)
	}
	c := &Cron{expr: expr, spec: *spec, loc: loc}
	c.spec.Location = time.UTC
	return c, nil
}

// cronFields names the six fields, in robfig's order, with the values each
// allows.
var cronFields = []struct{ name, allowed string }{
	{"second", "0 to 59"},
	{"minute", "0 to 59"},
	{"hour", "0 to 23"},
	{"day-of-month", "1 to 31"},
	{"month", "1 to 12 or JAN to DEC"},
	{"day-of-week", "0 to 6 or SUN to SAT (0 is Sunday)"},
}

// explainCronError says what is wrong with s (expr as written), which the
// parser rejected: an unknown descriptor, the field count, or the first
// field that does not parse.
func explainCronError(expr, s string) error {
	if strings.HasPrefix(s, "@") {
		return fmt.Errorf("%q is not a schedule: use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually, or write %s", expr, cronHint)
	}
	fields := strings.Fields(s)
	if len(fields) != 5 && len(fields) != 6 {
		return fmt.Errorf("%q has %d fields: write 5 (%s), or 6 with seconds first", expr, len(fields), cronHint)
	}
	offset := 6 - len(fields) // a 5-field expression has no seconds
	for i, f := range fields {
		probe := []string{"0", "0", "0", "*", "*", "*"}
		probe[i+offset] = f
		if _, err := parser.Parse(strings.Join(probe, " ")); err != nil {
			field := cronFields[i+offset]
			return fmt.Errorf("%q: the %s field %q is not valid (it takes %s, lists like 1,15, ranges like 1-5 and steps like */15); write %s",
				expr, field.name, f, field.allowed, cronHint)
		}
	}
	return fmt.Errorf("%q is not a cron expression: write %s", expr, cronHint)
}

// Location returns the location the trigger is read in.
func (c *Cron) Location() *time.Location { return c.loc }

// String returns the expression as written.
func (c *Cron) String() string { return c.expr }

// maxSkips bounds Cron.Next's search; past it Next gives up.
const maxSkips = 10000

// Next returns the first slot whose At is strictly after t. Slots are
// strictly increasing: wall times in one spring-forward gap, and the first
// wall time after it, fire at one instant and so are one slot (Nominal is
// the first of them; Note names them); each wall time of a fall-back hour
// fires once, at its first occurrence. It returns false when the
// expression has no slot within five years after t ("0 0 30 2 *").
func (c *Cron) Next(t time.Time) (Slot, bool) {
	// Wall times at or before t's wall clock resolve to instants at or
	// before t (resolve never decreases), so the search starts at t's wall
	// clock. After a fall-back, wall times a little later than t's (the
	// rest of the repeated hour) resolve before t too: those are skipped.
	start := floating(t.In(c.loc))
	for range maxSkips {
		n := c.spec.Next(start)
		if n.IsZero() {
			return Slot{}, false
		}
		r := resolve(n, c.loc)
		if !r.at.After(t) {
			start = n
			if r.kind == repeated {
				// The whole repeated hour resolves to its first pass,
				// before t: resume where it stops repeating.
				if end := r.repeatEnd().Add(-time.Second); end.After(start) {
					start = end
				}
			}
			continue
		}
		slot := Slot{At: r.at, Nominal: n}
		switch r.kind {
		case exists:
			slot.Nominal = r.at
		case repeated:
			slot.Nominal = r.at
			slot.Note = repeatNote(n, r, c.loc)
		case inGap:
			slot.Note = c.gapSlotNote(n, r)
		}
		return slot, true
	}
	return Slot{}, false
}

// gapSlotNote explains a slot whose first wall time, n, fell in a gap: the
// later wall times of the expression in the same gap, and the one right
// after it if it is the first wall time after the gap, fire at the same
// instant and are part of the slot.
func (c *Cron) gapSlotNote(n time.Time, r resolution) string {
	end := r.gapEnd()
	first, last, count := []time.Time{n}, n, 1
	withNext := false
	for m := c.spec.Next(n); !m.IsZero() && !m.After(end); m = c.spec.Next(m) {
		if m.Equal(end) {
			withNext = true
			break
		}
		if len(first) < maxListed {
			first = append(first, m)
		}
		last = m
		count++
	}
	return gapNote(first, last, count, withNext, r, c.loc)
}

// NextAt returns the slot of a one-time trigger that fires at at, if at is
// strictly after t; false otherwise.
func NextAt(at time.Time, t time.Time) (Slot, bool) {
	if !at.After(t) {
		return Slot{}, false
	}
	return Slot{At: at, Nominal: at}, true
}
