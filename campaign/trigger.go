package campaign

import (
	"fmt"
	"strings"
	"time"

	"github.com/heraldcli/herald/campaign/schedule"
)

// Catchup says what a schedule does with slots missed while herald was not
// running.
type Catchup string

const (
	// CatchupLatest sends the latest missed slot, if it is not older than
	// max_delay; the others are recorded skipped. The default.
	CatchupLatest Catchup = "latest"
	// CatchupSkip records every missed slot skipped.
	CatchupSkip Catchup = "skip"
)

// Trigger defaults.
const (
	DefaultMaxDelay = time.Hour
	// MinWatch is the shortest watch interval: polling a feed more often
	// than once a minute is not polite.
	MinWatch = time.Minute
)

// TriggerSpec says when a campaign runs by itself under herald serve. A
// campaign without one runs only by hand or from CI.
type TriggerSpec struct {
	// Cron is a cron expression: 5 fields, or 6 with seconds first.
	Cron string `yaml:"cron"`
	// At is one time: RFC 3339, or a local date and time in Timezone.
	At string `yaml:"at"`
	// Watch polls the campaign's source at this interval.
	Watch time.Duration `yaml:"watch"`
	// Timezone is the IANA zone cron and at are read in (default: the
	// workspace's timezone).
	Timezone string  `yaml:"timezone"`
	Catchup  Catchup `yaml:"catchup"`
	// MaxDelay is how late a slot may still be sent; an older one is
	// recorded skipped (default 1h).
	MaxDelay *time.Duration `yaml:"max_delay"`

	loc *time.Location // nil: the workspace's
}

// Kind is the trigger's kind: cron, at or watch.
func (t *TriggerSpec) Kind() string {
	switch {
	case t.Cron != "":
		return "cron"
	case t.At != "":
		return "at"
	}
	return "watch"
}

// Location is the zone the trigger is read in: its own timezone, else def.
func (t *TriggerSpec) Location(def *time.Location) *time.Location {
	if t != nil && t.loc != nil {
		return t.loc
	}
	if def == nil {
		return time.UTC
	}
	return def
}

// Delay is the trigger's max_delay.
func (t *TriggerSpec) Delay() time.Duration {
	if t.MaxDelay != nil {
		return *t.MaxDelay
	}
	return DefaultMaxDelay
}

// Next returns the trigger's first slot after t, read in the trigger's
// zone (def when it names none); false when there is none (a watch, a past
// at, a cron that never fires again).
func (t *TriggerSpec) Next(after time.Time, def *time.Location) (schedule.Slot, bool) {
	loc := t.Location(def)
	switch t.Kind() {
	case "cron":
		c, err := schedule.ParseCron(t.Cron, loc)
		if err != nil {
			return schedule.Slot{}, false // validated when the file was loaded
		}
		return c.Next(after)
	case "at":
		at, err := parseAt(t.At, loc)
		if err != nil {
			return schedule.Slot{}, false
		}
		return schedule.NextAt(at, after)
	}
	return schedule.Slot{}, false
}

// Describe says what the trigger does, for listings: "cron 0 9 * * MON",
// "at 2026-12-01T09:00:00+01:00", "watch every 15m0s".
func (t *TriggerSpec) Describe() string {
	switch t.Kind() {
	case "cron":
		return "cron " + t.Cron
	case "at":
		return "at " + t.At
	}
	return "watch every " + t.Watch.String()
}

// atLayouts are the local forms of trigger.at, read in the trigger's zone.
var atLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"}

// parseAt reads trigger.at: RFC 3339 is an instant; a date and time without
// an offset is read in loc (a time DST skips runs when the clocks jump, a
// repeated one at its first occurrence).
func parseAt(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range atLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			at, _ := schedule.Resolve(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), loc)
			return at, nil
		}
	}
	return time.Time{}, fmt.Errorf("trigger.at %q is not a time: write it as RFC 3339 (2026-12-01T09:00:00+01:00) or as a date and time in the trigger's timezone (2026-12-01T09:00)", s)
}

func (s *Spec) validateSchedule(errs *errList) {
	if t := s.Trigger; t != nil {
		s.validateTrigger(t, errs)
	}
	if s.LocalTime != "" {
		c, err := schedule.ParseClock(s.LocalTime)
		if err != nil {
			errs.add(s.Line("local_time"), "local_time: %v", err)
		} else {
			s.localTime = &c
		}
	}
	if s.QuietHours != "" {
		q, err := schedule.ParseQuiet(s.QuietHours)
		if err != nil {
			errs.add(s.Line("quiet_hours"), "quiet_hours: %v", err)
		} else {
			s.quiet = &q
		}
	}
	if s.MinItems < 0 || s.MinItems > 100 {
		errs.add(s.Line("min_items"), "min_items must be between 1 and 100")
	}
	if s.MinItems > 0 && s.Mode != Digest {
		errs.add(s.Line("min_items"), "min_items gathers items for a digest: use it with mode: digest")
	}
	if s.MaxWait < 0 {
		errs.add(s.Line("max_wait"), "max_wait must be positive, e.g. 24h")
	}
	if s.MaxWait > 0 && s.MinItems == 0 {
		errs.add(s.Line("max_wait"), "max_wait bounds how long min_items waits: set min_items too, or remove max_wait")
	}
}

func (s *Spec) validateTrigger(t *TriggerSpec, errs *errList) {
	kinds := 0
	for _, set := range []bool{t.Cron != "", t.At != "", t.Watch != 0} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		errs.add(s.Line("trigger"), "trigger needs exactly one of cron (a schedule), at (one time) or watch (an interval to poll the source)")
		return
	}
	if t.Timezone != "" {
		loc, err := time.LoadLocation(t.Timezone)
		if err != nil || t.Timezone == "Local" {
			errs.add(s.Line("trigger.timezone"), "trigger.timezone %q is not an IANA time zone name (e.g. Europe/Rome)", t.Timezone)
		} else {
			t.loc = loc
		}
	}
	switch t.Kind() {
	case "cron":
		if _, err := schedule.ParseCron(t.Cron, t.Location(nil)); err != nil {
			errs.add(s.Line("trigger.cron"), "trigger.cron: %v", err)
		}
	case "at":
		if _, err := parseAt(t.At, t.Location(nil)); err != nil {
			errs.add(s.Line("trigger.at"), "%v", err)
		}
	case "watch":
		if s.Source == nil {
			errs.add(s.Line("trigger.watch"), "trigger.watch polls the campaign's source: add source:, or use cron or at")
		}
		if t.Watch < MinWatch {
			errs.add(s.Line("trigger.watch"), "trigger.watch %s: poll at most once a minute (watch: 1m or more)", t.Watch)
		}
		if t.Catchup != "" || t.MaxDelay != nil {
			errs.add(s.Line("trigger"), "catchup and max_delay apply to cron and at triggers; a watch sends what is new at its next poll")
		}
		if t.Timezone != "" {
			errs.add(s.Line("trigger.timezone"), "trigger.timezone applies to cron and at triggers, not to watch")
		}
	}
	switch t.Catchup {
	case "":
		if t.Kind() != "watch" {
			t.Catchup = CatchupLatest
		}
	case CatchupLatest, CatchupSkip:
	default:
		errs.add(s.Line("trigger.catchup"), "trigger.catchup %q: use latest (send the latest missed slot) or skip", t.Catchup)
	}
	if t.MaxDelay != nil && *t.MaxDelay <= 0 {
		errs.add(s.Line("trigger.max_delay"), "trigger.max_delay must be positive, e.g. 2h")
	}
	if s.MinItems > 0 && t.Kind() != "watch" {
		errs.add(s.Line("min_items"), "min_items waits for items between polls: use it with trigger.watch")
	}
}

// DueAt returns when a delivery to a subscriber in timezone tz (an IANA
// name, "" for none) of a run planned at now may leave, under the
// campaign's local_time and quiet_hours; nil when it has neither (at once).
// A subscriber without a usable time zone gets the campaign's (def when the
// trigger names none).
func (s *Spec) DueAt(now time.Time, def *time.Location) func(tz string) time.Time {
	if s.localTime == nil && s.quiet == nil {
		return nil
	}
	campLoc := s.Trigger.Location(def)
	return func(tz string) time.Time {
		loc := campLoc
		if tz != "" {
			if l, err := time.LoadLocation(tz); err == nil {
				loc = l
			}
		}
		t := now
		if s.localTime != nil {
			t = schedule.NextLocal(now, *s.localTime, loc)
		}
		if s.quiet != nil {
			t = s.quiet.Hold(t, loc)
		}
		return t
	}
}
