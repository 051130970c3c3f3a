// Package schedule is the time math of herald's scheduler: when a cron or at
// trigger fires, when a local_time delivery may leave, when quiet hours end.
// It does no I/O, starts no goroutines and never reads the clock: every
// function takes the times it needs.
//
// # Wall clocks and daylight saving time
//
// A schedule names wall-clock times ("09:00 every Monday in Europe/Rome"),
// and twice a year daylight saving time breaks the one-to-one match between
// wall clocks and instants. herald resolves the two cases the same way
// everywhere (cron triggers, at triggers, local_time, quiet hours):
//
//   - A wall time in a spring-forward gap does not exist; it fires at the
//     first instant after it, the instant the clocks jump (02:30 in New York
//     on 2026-03-08 fires at 03:00 EDT). Several times inside one gap fire
//     once, together.
//   - A wall time in a fall-back hour happens twice; it fires once, at the
//     first occurrence (01:30 in New York on 2026-11-01 fires at 01:30 EDT,
//     not again at 01:30 EST).
//
// So a daily schedule fires exactly once a day, and the slots of any
// schedule are strictly increasing instants that can each be claimed once.
//
// Cron expressions are parsed by github.com/robfig/cron/v3, but its Next is
// not used in the real location: it skips the slots in a spring-forward gap
// and fires twice in a fall-back hour. Cron.Next walks the expression in
// wall-clock space (a "floating" time: the wall clock's fields written in
// UTC, where no DST exists) and maps each wall time to an instant with
// Resolve.
package schedule

import (
	"fmt"
	"strings"
	"time"
)

// Resolve maps a wall-clock date and time in loc to the instant it fires:
//
//   - a wall time that exists once: that instant;
//   - a wall time in a spring-forward gap (it does not exist): the first
//     instant after it, the instant of the transition (02:30 in
//     America/New_York on 2026-03-08 → 03:00 EDT; Australia/Lord_Howe
//     moves by 30 minutes, so 02:15 on 2026-10-04 → 02:30 +11:00);
//   - a wall time that happens twice (fall-back): the first occurrence.
//
// note explains the two DST cases and is empty otherwise. Out-of-range
// fields are normalized as by time.Date (hour 24 is 00:00 the next day). A
// nil loc means UTC.
//
// Unlike time.Date, which documents no choice for these cases (and in
// practice reads 02:30 on New York's spring-forward day as 01:30 EST, an
// hour early), Resolve never fires before the wall time named.
func Resolve(year int, month time.Month, day, hour, minute, sec int, loc *time.Location) (at time.Time, note string) {
	loc = orUTC(loc)
	wall := time.Date(year, month, day, hour, minute, sec, 0, time.UTC)
	r := resolve(wall, loc)
	switch r.kind {
	case inGap:
		note = gapNote([]time.Time{wall}, wall, 1, false, r, loc)
	case repeated:
		note = repeatNote(wall, r, loc)
	}
	return r.at, note
}

// resolutionKind says how a wall time maps to instants.
type resolutionKind int

const (
	exists   resolutionKind = iota // exactly one instant shows it
	inGap                          // no instant shows it (spring forward)
	repeated                       // two instants show it (fall back)
)

// resolution is what resolve found out about one wall time.
type resolution struct {
	kind resolutionKind
	at   time.Time // the instant it fires, in the location
	// For inGap and repeated: the transition instant, and the UTC offsets
	// (seconds) before and after it.
	transition    time.Time
	before, after int
}

// gapEnd is the first wall time after the gap a resolution fell into
// (03:00 in New York), as a floating time.
func (r resolution) gapEnd() time.Time {
	return wallAt(r.transition, r.after)
}

// repeatEnd is the wall time at which a fall-back hour stops repeating
// (02:00 in New York), as a floating time.
func (r resolution) repeatEnd() time.Time {
	return wallAt(r.transition, r.before)
}

// resolve maps a floating wall time to the instant it fires in loc. It is
// the first instant whose wall clock reads at least wall, which is what the
// three cases of Resolve amount to, and so it never decreases as wall
// increases.
func resolve(wall time.Time, loc *time.Location) resolution {
	// Read as a UTC instant, wall is within a day or so of every instant
	// whose wall clock in loc reads wall (UTC offsets stay within ±26h).
	ps := zonePeriods(loc, wall.Add(-48*time.Hour), wall.Add(48*time.Hour))
	first := -1
	for i, p := range ps {
		if !p.contains(p.instant(wall)) {
			continue
		}
		if first < 0 {
			first = i
			continue
		}
		// A second occurrence: report the transition just before it.
		return resolution{
			kind:       repeated,
			at:         ps[first].instant(wall).In(loc),
			transition: p.start,
			before:     ps[i-1].offset,
			after:      p.offset,
		}
	}
	if first >= 0 {
		return resolution{kind: exists, at: ps[first].instant(wall).In(loc)}
	}
	for i := 1; i < len(ps); i++ {
		t, before, after := ps[i].start, ps[i-1].offset, ps[i].offset
		from, to := wallAt(t, before), wallAt(t, after)
		if !wall.Before(from) && wall.Before(to) {
			return resolution{kind: inGap, at: t.In(loc), transition: t, before: before, after: after}
		}
	}
	// Unreachable with a well-formed zone; time.Date's reading is the best
	// guess left.
	return resolution{kind: exists, at: time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), loc)}
}

// period is a stretch of instants with one UTC offset. A zero start or end
// is unbounded.
type period struct {
	start, end time.Time
	offset     int // seconds east of UTC
}

func (p period) contains(u time.Time) bool {
	return (p.start.IsZero() || !u.Before(p.start)) && (p.end.IsZero() || u.Before(p.end))
}

// instant is the instant in p whose wall clock reads wall.
func (p period) instant(wall time.Time) time.Time {
	return wall.Add(-time.Duration(p.offset) * time.Second)
}

// zonePeriods returns the stretches of constant UTC offset in loc that cover
// [from, to], in order; the first is unbounded before and the last after.
func zonePeriods(loc *time.Location, from, to time.Time) []period {
	ps := []period{{offset: offsetAt(from, loc)}}
	for u := from; ; {
		next, ok := nextChange(u, to, loc)
		if !ok {
			return ps
		}
		ps[len(ps)-1].end = next
		ps = append(ps, period{start: next, offset: offsetAt(next, loc)})
		u = next
	}
}

// nextChange returns the first instant in (u, limit] at which loc's UTC
// offset differs from the offset at u.
//
// time.Time.ZoneBounds is the fast path, but it cannot be trusted alone:
// for years past the zone's transition table, Go computes zones from a rule
// and reports calendar-year boundaries as zone boundaries, and on
// 31 December of a leap year it reports an end that is not after the time
// asked about. So a boundary where the offset does not change is stepped
// over, and a bogus one falls back to probing hour by hour.
func nextChange(u, limit time.Time, loc *time.Location) (time.Time, bool) {
	off := offsetAt(u, loc)
	for range 1000 {
		if u.After(limit) {
			return time.Time{}, false
		}
		_, end := u.In(loc).ZoneBounds()
		switch {
		case end.IsZero():
			return time.Time{}, false
		case end.After(u):
			if offsetAt(end, loc) != off {
				return end, true
			}
			u = end
		default:
			probe := u.Add(time.Hour)
			if offsetAt(probe, loc) == off {
				u = probe
				continue
			}
			// The change is in (u, probe]: find its first second
			// (transitions fall on whole seconds).
			lo, hi := u.Truncate(time.Second), probe.Truncate(time.Second)
			for hi.Sub(lo) > time.Second {
				mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
				if offsetAt(mid, loc) == off {
					lo = mid
				} else {
					hi = mid
				}
			}
			return hi, true
		}
	}
	return time.Time{}, false
}

func offsetAt(u time.Time, loc *time.Location) int {
	_, off := u.In(loc).Zone()
	return off
}

// floating returns t's wall-clock fields written as a UTC time.
func floating(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// maxListed is how many wall times a gap note names one by one.
const maxListed = 4

// wallAt is the wall clock, as a floating time, at instant u under a UTC
// offset of offset seconds.
func wallAt(u time.Time, offset int) time.Time {
	return u.UTC().Add(time.Duration(offset) * time.Second)
}

func orUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// gapNote explains that count wall times in one gap do not exist and fire
// at r.at: first holds the first of them (up to maxListed), last the last;
// withNext says the first wall time after the gap fires at the same instant.
func gapNote(first []time.Time, last time.Time, count int, withNext bool, r resolution, loc *time.Location) string {
	var what, verb, runs string
	switch {
	case count == 1:
		what, verb, runs = clock(first[0]), "does", "runs at "
	case count <= maxListed:
		names := make([]string, count)
		for i, n := range first[:count] {
			names[i] = clock(n)
		}
		what = strings.Join(names[:count-1], ", ") + " and " + names[count-1]
		verb, runs = "do", "they run once, at "
	default:
		what = fmt.Sprintf("the %d times from %s to %s", count, clock(first[0]), clock(last))
		verb, runs = "do", "they run once, at "
	}
	from, to := shiftLabels(wallAt(r.transition, r.before), r.gapEnd())
	note := fmt.Sprintf("%s %s not exist on %s in %s (clocks jump from %s to %s): %s%s",
		what, verb, first[0].Format(time.DateOnly), loc, from, to, runs, instantLabel(r.at, loc))
	if withNext {
		note += ", together with the " + clock(r.gapEnd()) + " run"
	}
	return note
}

// repeatNote explains that wall happens twice and fires at its first
// occurrence.
func repeatNote(wall time.Time, r resolution, loc *time.Location) string {
	from, to := shiftLabels(r.repeatEnd(), wallAt(r.transition, r.after))
	return fmt.Sprintf("%s happens twice on %s in %s (clocks go back from %s to %s): runs once, at the first %s (%s)",
		clock(wall), wall.Format(time.DateOnly), loc, from, to, clock(wall), zoneLabel(r.at.In(loc)))
}

// shiftLabels names the wall clocks just before and at a transition: "02:00"
// and "03:00", with dates when the clocks move by half a day or more
// (Pacific/Apia skipped 2011-12-30 by jumping from 2011-12-30 00:00 to
// 2011-12-31 00:00).
func shiftLabels(from, to time.Time) (string, string) {
	if d := to.Sub(from); d >= 12*time.Hour || d <= -12*time.Hour {
		return from.Format(time.DateOnly) + " " + clock(from), to.Format(time.DateOnly) + " " + clock(to)
	}
	return clock(from), clock(to)
}

// clock is a wall time's "15:04", with seconds when it has any.
func clock(t time.Time) string {
	if t.Second() != 0 {
		return t.Format(time.TimeOnly)
	}
	return t.Format("15:04")
}

// instantLabel is "03:00 EDT": the wall clock and zone of u in loc.
func instantLabel(u time.Time, loc *time.Location) string {
	u = u.In(loc)
	return clock(u) + " " + zoneLabel(u)
}

// zoneLabel is u's zone abbreviation (EDT), or its offset (+11:00) where the
// zone has no abbreviation and tzdata writes a number ("+11").
func zoneLabel(u time.Time) string {
	name, _ := u.Zone()
	if name == "" || name[0] == '+' || name[0] == '-' {
		return u.Format("-07:00")
	}
	return name
}
