package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/audience/lifecycle"
	"github.com/heraldcli/herald/reporting"
)

type statsOptions struct {
	g      *globalOptions
	weeks  int
	output string
}

func newStatsCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &statsOptions{g: g}
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Growth per source and churn per week",
		Long: `Shows where the audience came from and how it changes.

By source: how many people each source brought, by their status now, and how many
joined in the period. A source is a link made with herald audience link (shown by its
--source name and payload), or the way consent was given (import, telegram_start,
messenger_optin, …) with the start payload or m.me ref when it was a hand-made one.

By week (ISO weeks, starting on Monday in the workspace's timezone), for the last
--weeks weeks, the current one included: who joined, who left (unsubscribed, blocked,
or other: became invalid or asked to be forgotten), the net change, the audience
(subscribed people) at the end of the week, and the churn: those who left during the
week over the audience at its start. Joining counts from the consent time, so an
import of people who opted in months ago adds to the weeks they opted in.`,
		Example: `  herald audience stats
  herald audience stats --weeks 52 --output json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return statsRun(cmd.Context(), cmd, o, io)
		},
	}
	cmd.Flags().IntVar(&o.weeks, "weeks", 12, "how many weeks to show, the current one included (1 to 520)")
	outputFlag(cmd, &o.output, "text", "json")
	return cmd
}

// sourceStats is one row of growth by source.
type sourceStats struct {
	Channel string `json:"channel"`
	// Source is the link's --source name, or the consent source.
	Source string `json:"source"`
	// Link is the payload of a recorded link; Ref a hand-made payload.
	Link         string `json:"link,omitempty"`
	Ref          string `json:"ref,omitempty"`
	Subscribed   int    `json:"subscribed"`
	Unsubscribed int    `json:"unsubscribed"`
	Blocked      int    `json:"blocked"`
	Invalid      int    `json:"invalid"`
	// Joined counts who subscribed through this source in the period.
	Joined int `json:"joined"`
}

// weekStats is one week of the audience's history.
type weekStats struct {
	Week          string `json:"week"`  // ISO week, 2026-W47
	Start         string `json:"start"` // its Monday, in the workspace's timezone
	Joined        int    `json:"joined"`
	Unsubscribed  int    `json:"unsubscribed"`
	Blocked       int    `json:"blocked"`
	OtherLeft     int    `json:"other_left"` // became invalid, or were forgotten
	Left          int    `json:"left"`
	Net           int    `json:"net"`
	AudienceStart int    `json:"audience_start"`
	AudienceEnd   int    `json:"audience_end"`
	// ChurnPct is Left / AudienceStart in percent; null when the week
	// started with nobody.
	ChurnPct *float64 `json:"churn_pct"`
}

type statsJSON struct {
	Timezone   string        `json:"timezone"`
	Since      time.Time     `json:"since"`
	Subscribed int           `json:"subscribed"`
	Sources    []sourceStats `json:"sources"`
	Weeks      []weekStats   `json:"weeks"`
}

type sourceKey struct{ channel, source, link, ref string }

type linkKey struct{ channel, payload string }

// keyFor names the source of a consent (channel, source, ref): a recorded
// link by its name; a hand-made start payload or m.me ref as itself; any
// other ref (an import's file name, free text) is left out, or every
// import would be a row of its own.
func keyFor(links map[linkKey]audience.Link, channel, source, ref string) sourceKey {
	if l, ok := links[linkKey{channel, ref}]; ok && ref != "" {
		return sourceKey{channel: channel, source: l.Source, link: ref}
	}
	if source == "" {
		source = "(unknown)"
	}
	if source != "import" && lifecycle.PayloadRE.MatchString(ref) {
		return sourceKey{channel: channel, source: source, ref: ref}
	}
	return sourceKey{channel: channel, source: source}
}

// weekStart is the Monday 00:00 of t's week, in t's location.
func weekStart(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d-(int(t.Weekday())+6)%7, 0, 0, 0, 0, t.Location())
}

func statsRun(ctx context.Context, cmd *cobra.Command, o *statsOptions, io *IOStreams) error {
	if o.weeks < 1 || o.weeks > 520 {
		return &flagError{fmt.Errorf("--weeks %d: use 1 to 520", o.weeks)}
	}
	a, err := openApp(ctx, cmd, o.g, io, true)
	if err != nil {
		return err
	}
	defer a.Close()
	tz := a.ws.Config.Timezone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return fmt.Errorf("%w: timezone %q: %v", errConfig, tz, err)
	}
	res, err := audienceStats(ctx, a, time.Now().In(loc), o.weeks)
	if err != nil {
		return err
	}
	res.Timezone = tz
	if o.output == "json" {
		return reporting.WriteJSON(io.Out, res)
	}
	return writeStatsText(io, res)
}

func audienceStats(ctx context.Context, a *app, now time.Time, weeks int) (statsJSON, error) {
	links := map[linkKey]audience.Link{}
	ls, err := a.store.Links(ctx)
	if err != nil {
		return statsJSON{}, err
	}
	for _, l := range ls {
		links[linkKey{l.Channel, l.Payload}] = l
	}
	rows := map[sourceKey]*sourceStats{}
	row := func(k sourceKey) *sourceStats {
		r, ok := rows[k]
		if !ok {
			r = &sourceStats{Channel: k.channel, Source: k.source, Link: k.link, Ref: k.ref}
			rows[k] = r
		}
		return r
	}
	counts, err := a.store.SourceCounts(ctx)
	if err != nil {
		return statsJSON{}, err
	}
	res := statsJSON{Sources: []sourceStats{}, Weeks: make([]weekStats, weeks)}
	for _, c := range counts {
		r := row(keyFor(links, c.Channel, c.Source, c.Ref))
		switch c.Status {
		case audience.Subscribed:
			r.Subscribed += c.Count
			res.Subscribed += c.Count
		case audience.Unsubscribed:
			r.Unsubscribed += c.Count
		case audience.Blocked:
			r.Blocked += c.Count
		case audience.Invalid:
			r.Invalid += c.Count
		}
	}

	starts := make([]time.Time, weeks+1)
	first := weekStart(now)
	for i := range starts {
		// AddDate on the calendar date: a week with a DST change is still
		// Monday to Monday.
		starts[i] = first.AddDate(0, 0, 7*(i-weeks+1))
	}
	res.Since = starts[0]
	w := 0
	before, err := a.store.Events(ctx, starts[0], func(e audience.HistoryEvent) error {
		for w < weeks-1 && !e.At.Before(starts[w+1]) {
			w++
		}
		ws := &res.Weeks[w]
		switch {
		case e.Kind == audience.Subscribed:
			ws.Joined++
			row(keyFor(links, e.Channel, e.Source, e.Ref)).Joined++
		case e.Previous == audience.Subscribed:
			ws.Left++
			switch e.Kind {
			case audience.Unsubscribed:
				ws.Unsubscribed++
			case audience.Blocked:
				ws.Blocked++
			default:
				ws.OtherLeft++
			}
		}
		return nil
	})
	if err != nil {
		return statsJSON{}, err
	}
	audienceNow := before
	for i := range res.Weeks {
		ws := &res.Weeks[i]
		y, n := starts[i].ISOWeek()
		ws.Week, ws.Start = fmt.Sprintf("%d-W%02d", y, n), starts[i].Format(time.DateOnly)
		ws.Net = ws.Joined - ws.Left
		ws.AudienceStart = audienceNow
		audienceNow += ws.Net
		ws.AudienceEnd = audienceNow
		if ws.AudienceStart > 0 {
			pct := math.Round(float64(ws.Left)/float64(ws.AudienceStart)*10000) / 100
			ws.ChurnPct = &pct
		}
	}
	for _, r := range rows {
		res.Sources = append(res.Sources, *r)
	}
	slices.SortFunc(res.Sources, func(x, y sourceStats) int {
		return strings.Compare(x.Channel+"\x00"+x.Source+"\x00"+x.Link+"\x00"+x.Ref, y.Channel+"\x00"+y.Source+"\x00"+y.Link+"\x00"+y.Ref)
	})
	return res, nil
}

func writeStatsText(io *IOStreams, res statsJSON) error {
	fmt.Fprintf(io.Out, "Audience by source: %d subscribed now; JOINED counts since %s\n", res.Subscribed, res.Since.Format(time.DateOnly))
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANNEL\tSOURCE\tLINK OR REF\tSUBSCRIBED\tUNSUBSCRIBED\tBLOCKED\tINVALID\tJOINED")
	for _, r := range res.Sources {
		via := ""
		switch {
		case r.Link != "":
			via = "link " + r.Link
		case r.Ref != "":
			via = "ref " + r.Ref
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", r.Channel, r.Source, via, r.Subscribed, r.Unsubscribed, r.Blocked, r.Invalid, r.Joined)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "\nAudience by week (%s; weeks start on Monday)\n", res.Timezone)
	tw = tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WEEK\tSTARTS\tJOINED\tUNSUBSCRIBED\tBLOCKED\tOTHER\tNET\tAUDIENCE\tCHURN")
	for _, w := range res.Weeks {
		churn := "–"
		if w.ChurnPct != nil {
			churn = fmt.Sprintf("%.1f%%", *w.ChurnPct)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%+d\t%d\t%s\n", w.Week, w.Start, w.Joined, w.Unsubscribed, w.Blocked, w.OtherLeft,
			w.Net, w.AudienceEnd, churn)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(io.Out, "OTHER: became invalid or asked to be forgotten. AUDIENCE: subscribed at the end of the week.")
	fmt.Fprintln(io.Out, "CHURN: left during the week / audience at its start.")
	return nil
}
