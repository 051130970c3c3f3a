package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/campaign/schedule"
	"github.com/heraldcli/herald/campaign/scheduler"
	"github.com/heraldcli/herald/reporting"
)

// newScheduler loads every campaign for herald serve's scheduler. A broken
// campaign stops serve from starting, as herald lint would report it: a
// schedule must not run on half of the workspace.
func (a *app) newScheduler() (*scheduler.Scheduler, error) {
	specs, err := a.schedulable()
	if err != nil {
		return nil, err
	}
	return &scheduler.Scheduler{Engine: a.engine, Campaigns: specs, Log: a.log}, nil
}

// schedulable loads every campaign and checks that those with a trigger can
// send, logging what will run by itself.
func (a *app) schedulable() ([]*campaign.Spec, error) {
	specs, err := a.loadAllCampaigns()
	var se campaign.SpecErrors
	if errors.As(err, &se) {
		return nil, invalidf("herald serve: fix the campaigns first (herald lint checks them):\n%s", err)
	}
	if err != nil {
		return nil, err
	}
	var triggered []string
	for _, s := range specs {
		if s.Trigger == nil {
			continue
		}
		if err := a.ready(s); err != nil {
			return nil, invalidf("herald serve: campaign %s runs by itself (%s) but cannot send: %v", s.Name, s.Trigger.Describe(), err)
		}
		triggered = append(triggered, s.Name+" ("+s.Trigger.Describe()+")")
	}
	if len(triggered) > 0 {
		a.log.Info("scheduling campaigns", "campaigns", strings.Join(triggered, ", "), "timezone", a.ws.Config.Timezone)
	}
	return specs, nil
}

// reloadCampaigns reads the campaigns again for a running scheduler (on
// SIGHUP): all of them or, if any is broken, none, and the scheduler goes
// on with those it had.
func (a *app) reloadCampaigns(sched *scheduler.Scheduler) {
	specs, err := a.schedulable()
	if err != nil {
		a.log.Error("campaigns not reloaded; the previous ones go on", "err", err)
		return
	}
	sched.Reload(specs)
}

// scheduleNow is what "now" is to herald schedule: where list starts the
// next fires and explain's default --from. A variable so that tests fix it
// and do not depend on the real date.
var scheduleNow = time.Now

// nextShown is how many fires herald schedule list shows per campaign.
const nextShown = 3

func newScheduleCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Show when campaigns run by themselves under herald serve",
	}
	cmd.AddCommand(newScheduleListCmd(g, io), newScheduleExplainCmd(g, io))
	return cmd
}

// ---- list ----

type scheduleListOptions struct {
	g      *globalOptions
	output string
}

func newScheduleListCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &scheduleListOptions{g: g}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every campaign's trigger, its next fires and its last run",
		Long: `Lists the workspace's campaigns by name, each with its trigger (manual when it has
none: it runs only with herald campaign send), the time zone its cron or at is read in
(the trigger's timezone, else the workspace's), its next fires from now, found as
herald serve finds them, and its last run: id, state, and its slot (or, for a run
started by hand, when it was created).

A fire that daylight saving time moves (a wall time that does not exist fires when the
clocks jump; one that happens twice fires once, at its first occurrence) is marked *
and explained under the table.

--output json prints an array of objects: campaign, trigger, kind (cron, at, watch or
manual), timezone ("" for watch and manual), next (RFC 3339 times in the campaign's
zone), notes (one per next fire: why DST moved it, "" when it did not), local_time,
quiet_hours, last_run (run_id, state, slot, created_at, error; null when none).`,
		Example: `  herald schedule list
  herald schedule list --output json | jq '.[] | select(.kind == "cron") | .next[0]'`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return scheduleListRun(cmd.Context(), cmd, o, io)
		},
	}
	outputFlag(cmd, &o.output, "text", "json")
	return cmd
}

// scheduleRow is one campaign of herald schedule list.
type scheduleRow struct {
	Campaign string   `json:"campaign"`
	Trigger  string   `json:"trigger"`
	Kind     string   `json:"kind"`
	Timezone string   `json:"timezone"`
	Next     []string `json:"next"`
	// Notes[i] says why DST moved Next[i], "" when it did not.
	Notes      []string      `json:"notes"`
	LocalTime  string        `json:"local_time"`
	QuietHours string        `json:"quiet_hours"`
	LastRun    *scheduledRun `json:"last_run"`

	every string // a watch's interval, for the text output
}

// scheduledRun is a campaign's last run, its times in the campaign's zone.
type scheduledRun struct {
	ID        int64             `json:"run_id"`
	State     campaign.RunState `json:"state"`
	Slot      *string           `json:"slot"` // null for a run started by hand or by CI
	CreatedAt string            `json:"created_at"`
	Error     string            `json:"error"`
}

func scheduleListRun(ctx context.Context, cmd *cobra.Command, o *scheduleListOptions, io *IOStreams) error {
	a, err := openApp(ctx, cmd, o.g, io, true)
	if err != nil {
		return err
	}
	defer a.Close()
	specs, err := a.loadAllCampaigns()
	var se campaign.SpecErrors
	if errors.As(err, &se) {
		return invalidf("herald schedule list: fix the campaigns first (herald lint checks them):\n%s", err)
	}
	if err != nil {
		return err
	}
	now := scheduleNow()
	def := a.ws.Location()
	rows := make([]scheduleRow, 0, len(specs))
	for _, s := range specs {
		row := scheduleSummary(s, now, def)
		runs, err := a.store.Runs(ctx, campaign.RunFilter{Campaign: s.Name, Limit: 1})
		if err != nil {
			return err
		}
		if len(runs) > 0 {
			row.LastRun = lastRun(runs[0], s.Trigger.Location(def))
		}
		rows = append(rows, row)
	}
	if o.output == "json" {
		return reporting.WriteJSON(io.Out, rows)
	}
	return writeScheduleText(io, rows)
}

// scheduleSummary is s's row without its last run: its next fires from
// now, found as the scheduler finds them (each the trigger's first slot
// after the one before).
func scheduleSummary(s *campaign.Spec, now time.Time, def *time.Location) scheduleRow {
	row := scheduleRow{Campaign: s.Name, Trigger: "manual", Kind: "manual", Next: []string{}, Notes: []string{},
		LocalTime: s.LocalTime, QuietHours: s.QuietHours}
	t := s.Trigger
	if t == nil {
		return row
	}
	row.Trigger, row.Kind = t.Describe(), t.Kind()
	if row.Kind == "watch" {
		row.every = "every " + t.Watch.String()
		return row
	}
	loc := t.Location(def)
	row.Timezone = loc.String()
	prev := now
	for range nextShown {
		slot, ok := t.Next(prev, def)
		if !ok {
			break
		}
		row.Next = append(row.Next, slot.At.In(loc).Format(time.RFC3339))
		row.Notes = append(row.Notes, slot.Note)
		prev = slot.At
	}
	return row
}

// lastRun is r as herald schedule shows it, its times in loc.
func lastRun(r campaign.Run, loc *time.Location) *scheduledRun {
	lr := &scheduledRun{ID: r.ID, State: r.State, CreatedAt: r.CreatedAt.In(loc).Format(time.RFC3339), Error: r.Error}
	if !r.Slot.IsZero() {
		slot := r.Slot.In(loc).Format(time.RFC3339)
		lr.Slot = &slot
	}
	return lr
}

func writeScheduleText(io *IOStreams, rows []scheduleRow) error {
	if len(rows) == 0 {
		fmt.Fprintln(io.Out, "The workspace has no campaigns yet: add campaigns/<name>.yaml")
		return nil
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTRIGGER\tTIMEZONE\tNEXT\tLAST RUN")
	var footnotes []string
	for _, r := range rows {
		zone := r.Timezone
		if zone == "" {
			zone = "-"
		}
		fires := make([]string, len(r.Next))
		for i, at := range r.Next {
			fires[i] = at
			if r.Notes[i] != "" {
				fires[i] += "*"
				footnotes = append(footnotes, "* "+r.Campaign+": "+r.Notes[i])
			}
		}
		next := strings.Join(fires, ", ")
		switch {
		case r.every != "":
			next = r.every
		case next == "":
			next = "-"
		}
		last := "-"
		if lr := r.LastRun; lr != nil {
			when := lr.CreatedAt
			if lr.Slot != nil {
				when = *lr.Slot
			}
			last = fmt.Sprintf("#%d %s %s", lr.ID, lr.State, when)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Campaign, r.Trigger, zone, next, last)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range footnotes {
		fmt.Fprintln(io.Out, f)
	}
	for _, r := range rows {
		if d := deliveryRules(r.LocalTime, r.QuietHours); d != "" {
			fmt.Fprintf(io.Out, "%s: %s\n", r.Campaign, d)
		}
	}
	return nil
}

// deliveryRules says what local_time and quiet_hours do to a campaign's
// deliveries once it fires; "" when it has neither.
func deliveryRules(localTime, quietHours string) string {
	var rules []string
	if localTime != "" {
		rules = append(rules, "deliveries leave at "+localTime+" in each subscriber's time zone (local_time)")
	}
	if quietHours != "" {
		rules = append(rules, "none leave during "+quietHours+" (quiet_hours)")
	}
	return strings.Join(rules, "; ")
}

// ---- explain ----

type scheduleExplainOptions struct {
	g      *globalOptions
	name   string
	from   string
	count  int
	output string
}

func newScheduleExplainCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &scheduleExplainOptions{g: g}
	cmd := &cobra.Command{
		Use:   "explain CAMPAIGN",
		Short: "List a campaign's upcoming slots, and how daylight saving time moves them",
		Long: `Prints the slots of the campaign's cron or at trigger from --from on, one per line:
the RFC 3339 time it fires, in the campaign's time zone, and, when daylight saving time
moved it, two spaces and why (a wall time that does not exist fires when the clocks
jump; one that happens twice fires once, at its first occurrence). What the campaign
runs and where it is read goes to stderr, so the lines can be piped.

--output json prints an object: campaign, trigger, timezone, slots (at: the instant,
RFC 3339; nominal: the wall-clock time the trigger names, without an offset, as it may
not exist; note: "" unless DST moved the slot).`,
		Example: `  herald schedule explain blog-digest
  herald schedule explain blog-digest --from 2026-03-01 --count 40
  herald schedule explain blog-digest --from 2026-10-25T00:00:00+02:00 --output json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.name = a[0]
			return scheduleExplainRun(cmd.Context(), cmd, o, io)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.from, "from", "", "start here: a date (2026-03-07, midnight in the campaign's time zone) or an RFC 3339 time (default: now)")
	f.IntVar(&o.count, "count", 10, "how many slots to show (1 to 1000)")
	outputFlag(cmd, &o.output, "text", "json")
	return cmd
}

type explainJSON struct {
	Campaign string        `json:"campaign"`
	Trigger  string        `json:"trigger"`
	Timezone string        `json:"timezone"`
	Slots    []explainSlot `json:"slots"`
}

type explainSlot struct {
	At string `json:"at"`
	// Nominal is the wall-clock time named, which may not exist.
	Nominal string `json:"nominal"`
	Note    string `json:"note"`
}

// wallClock is the layout of a wall-clock time without an offset.
const wallClock = "2006-01-02T15:04:05"

// fromFlag is a parsed --from: a date, read in the campaign's zone once it
// is known, or an instant.
type fromFlag struct {
	date    time.Time // year, month and day; zero unless a date was given
	instant time.Time
}

func parseFrom(s string, now time.Time) (fromFlag, error) {
	if s == "" {
		return fromFlag{instant: now}, nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return fromFlag{date: d}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return fromFlag{instant: t}, nil
	}
	return fromFlag{}, &flagError{fmt.Errorf("--from %q: write a date (2026-03-07: midnight in the campaign's time zone) or an RFC 3339 time (2026-03-07T09:00:00+01:00)", s)}
}

// in returns the instant f names when dates are read in loc.
func (f fromFlag) in(loc *time.Location) time.Time {
	if f.date.IsZero() {
		return f.instant
	}
	// Midnight may not exist (zones that spring forward at 00:00): Resolve
	// takes the instant the clocks jump, as the trigger would.
	at, _ := schedule.Resolve(f.date.Year(), f.date.Month(), f.date.Day(), 0, 0, 0, loc)
	return at
}

func scheduleExplainRun(ctx context.Context, cmd *cobra.Command, o *scheduleExplainOptions, io *IOStreams) error {
	if o.count < 1 || o.count > 1000 {
		return &flagError{fmt.Errorf("--count %d: use 1 to 1000", o.count)}
	}
	from, err := parseFrom(o.from, scheduleNow())
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cmd, o.g, io, false)
	if err != nil {
		return err
	}
	defer a.Close()
	spec, err := a.loadCampaign(o.name)
	if err != nil {
		return err
	}
	t := spec.Trigger
	switch {
	case t == nil:
		return invalidf("campaign %s has no trigger: it runs only with herald campaign send", spec.Name)
	case t.Kind() == "watch":
		return invalidf("campaign %s polls its source every %s: it has no slots to explain", spec.Name, t.Watch)
	}
	def := a.ws.Location()
	loc := t.Location(def)
	start := from.in(loc)
	out := explainJSON{Campaign: spec.Name, Trigger: t.Describe(), Timezone: loc.String(), Slots: []explainSlot{}}
	// A slot at --from itself is shown: Next returns the slots strictly
	// after the time it is given.
	prev := start.Add(-time.Nanosecond)
	for range o.count {
		slot, ok := t.Next(prev, def)
		if !ok {
			break
		}
		out.Slots = append(out.Slots, explainSlot{At: slot.At.In(loc).Format(time.RFC3339),
			Nominal: slot.Nominal.Format(wallClock), Note: slot.Note})
		prev = slot.At
	}
	if o.output == "json" {
		return reporting.WriteJSON(io.Out, out)
	}
	fmt.Fprintf(io.ErrOut, "%s: %s in %s\n", spec.Name, out.Trigger, out.Timezone)
	if d := deliveryRules(spec.LocalTime, spec.QuietHours); d != "" {
		fmt.Fprintf(io.ErrOut, "%s: %s\n", spec.Name, d)
	}
	for _, s := range out.Slots {
		if s.Note != "" {
			fmt.Fprintf(io.Out, "%s  %s\n", s.At, s.Note)
		} else {
			fmt.Fprintln(io.Out, s.At)
		}
	}
	switch {
	case len(out.Slots) == 0 && t.Kind() == "at":
		fmt.Fprintf(io.ErrOut, "%s: no slot from %s on: its one time has passed\n", spec.Name, start.In(loc).Format(time.RFC3339))
	case len(out.Slots) < o.count && t.Kind() == "cron":
		fmt.Fprintf(io.ErrOut, "%s: no further slot within five years after %s\n", spec.Name, prev.In(loc).Format(time.RFC3339))
	}
	return nil
}
