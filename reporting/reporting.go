// Package reporting turns a run's ledger into the reports herald prints: a
// table for people, JSON for scripts and CSV for spreadsheets. One Summary
// shape serves `herald campaign send --output json` and `herald report`.
package reporting

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/heraldcli/herald/campaign"
)

// Summary is a run's report.
type Summary struct {
	RunID          int64             `json:"run_id"`
	Campaign       string            `json:"campaign"`
	State          campaign.RunState `json:"state"`
	Trigger        string            `json:"trigger"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
	Items          []Item            `json:"items"`
	Counts         campaign.Counts   `json:"counts"`
	Error          string            `json:"error,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	StartedAt      *time.Time        `json:"started_at,omitempty"`
	FinishedAt     *time.Time        `json:"finished_at,omitempty"`
	// DurationSeconds is from the first send to the end of the run (or now).
	DurationSeconds float64 `json:"duration_seconds"`
	// SendRate is messages accepted per second between the first and last.
	SendRate float64 `json:"send_rate"`
	// Routes breaks the run down per channel and route.
	Routes []RouteSummary `json:"routes"`
}

// RouteSummary is one channel and route of a run: how many deliveries went
// that way and where they ended. Route "none" holds the Messenger
// subscribers no route allowed (skipped, outside_window).
type RouteSummary struct {
	Channel   string `json:"channel"`
	Route     string `json:"route"`
	Targeted  int    `json:"targeted"`
	Sent      int    `json:"sent"` // accepted, including delivered and read
	Delivered int    `json:"delivered"`
	Read      int    `json:"read"`
	Failed    int    `json:"failed"`
	Skipped   int    `json:"skipped"`
	Unknown   int    `json:"unknown"`
	Pending   int    `json:"pending"`
}

// routes folds the ledger's channel counts into one line per channel and route.
func routes(cs []campaign.ChannelCount) []RouteSummary {
	out := []RouteSummary{}
	for _, c := range cs {
		i := slices.IndexFunc(out, func(r RouteSummary) bool { return r.Channel == c.Channel && r.Route == c.Route })
		if i < 0 {
			out = append(out, RouteSummary{Channel: c.Channel, Route: c.Route})
			i = len(out) - 1
		}
		r := &out[i]
		r.Targeted += c.Count
		switch c.State {
		case campaign.Sent:
			r.Sent += c.Count
		case campaign.Delivered:
			r.Sent, r.Delivered = r.Sent+c.Count, r.Delivered+c.Count
		case campaign.Read:
			// A read message was delivered too.
			r.Sent, r.Delivered, r.Read = r.Sent+c.Count, r.Delivered+c.Count, r.Read+c.Count
		case campaign.Failed:
			r.Failed += c.Count
		case campaign.Skipped:
			r.Skipped += c.Count
		case campaign.Unknown:
			r.Unknown += c.Count
		case campaign.Pending, campaign.Sending:
			r.Pending += c.Count
		}
	}
	slices.SortFunc(out, func(a, b RouteSummary) int {
		return strings.Compare(a.Channel+"\x00"+a.Route, b.Channel+"\x00"+b.Route)
	})
	return out
}

// Item is a run's item as reports show it.
type Item struct {
	Key       string     `json:"key"`
	Title     string     `json:"title"`
	Link      string     `json:"link,omitempty"`
	Published *time.Time `json:"published,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Build makes a run's Summary.
func Build(run campaign.Run, c campaign.Counts, now time.Time) Summary {
	s := Summary{
		RunID: run.ID, Campaign: run.Campaign, State: run.State, Trigger: run.Trigger,
		IdempotencyKey: run.IdempotencyKey, Counts: c, Error: run.Error, CreatedAt: run.CreatedAt,
		StartedAt: timePtr(run.StartedAt), FinishedAt: timePtr(run.FinishedAt), Items: []Item{},
		Routes: routes(c.Channels),
	}
	if s.Counts.Channels == nil {
		s.Counts.Channels = []campaign.ChannelCount{}
	}
	if s.Counts.Reasons == nil {
		s.Counts.Reasons = []campaign.ReasonCount{}
	}
	slices.SortFunc(s.Counts.Reasons, func(a, b campaign.ReasonCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(string(a.State)+a.Reason, string(b.State)+b.Reason)
	})
	for _, it := range run.Items {
		s.Items = append(s.Items, Item{Key: it.Key, Title: it.Title, Link: it.Link, Published: timePtr(it.Published)})
	}
	if !run.StartedAt.IsZero() {
		end := run.FinishedAt
		if end.IsZero() {
			end = now
		}
		s.DurationSeconds = round(end.Sub(run.StartedAt).Seconds())
	}
	if span := c.LastSentAt.Sub(c.FirstSentAt).Seconds(); c.Sent > 1 && span > 0 {
		s.SendRate = round(float64(c.Sent) / span)
	} else if c.Sent > 0 && s.DurationSeconds > 0 {
		s.SendRate = round(float64(c.Sent) / s.DurationSeconds)
	}
	return s
}

func round(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteTable writes the summary for people.
func WriteTable(w io.Writer, s Summary) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Run\t%d (%s, %s)\n", s.RunID, s.Campaign, s.Trigger)
	fmt.Fprintf(tw, "State\t%s\n", s.State)
	if s.Error != "" {
		fmt.Fprintf(tw, "Note\t%s\n", s.Error)
	}
	fmt.Fprintf(tw, "Items\t%d\n", len(s.Items))
	for _, it := range s.Items {
		fmt.Fprintf(tw, "\t• %s\n", oneLine(it.Title, 70))
	}
	c := s.Counts
	fmt.Fprintf(tw, "Targeted\t%d\n", c.Targeted)
	fmt.Fprintf(tw, "Sent\t%d\n", c.Sent)
	fmt.Fprintf(tw, "Failed\t%d\n", c.Failed)
	fmt.Fprintf(tw, "Skipped\t%d\n", c.Skipped)
	fmt.Fprintf(tw, "Unknown\t%d\n", c.Unknown)
	if c.Pending+c.Sending > 0 {
		fmt.Fprintf(tw, "Pending\t%d\n", c.Pending+c.Sending)
	}
	if s.StartedAt != nil {
		fmt.Fprintf(tw, "Duration\t%s\n", time.Duration(s.DurationSeconds*float64(time.Second)).Round(time.Millisecond))
	}
	if s.SendRate > 0 {
		fmt.Fprintf(tw, "Send rate\t%.1f/s\n", s.SendRate)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Routes) > 0 {
		fmt.Fprintln(w, "\nBy channel and route")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  CHANNEL\tROUTE\tTARGETED\tSENT\tDELIVERED\tREAD\tFAILED\tSKIPPED\tUNKNOWN\tPENDING")
		for _, r := range s.Routes {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", r.Channel, r.Route, r.Targeted, r.Sent,
				r.Delivered, r.Read, r.Failed, r.Skipped, r.Unknown, r.Pending)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(c.Reasons) > 0 {
		fmt.Fprintln(w, "\nReasons")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  STATE\tREASON\tCOUNT")
		for _, r := range c.Reasons {
			fmt.Fprintf(tw, "  %s\t%s\t%d\n", r.State, r.Reason, r.Count)
		}
		return tw.Flush()
	}
	return nil
}

// WriteCSV writes the summary as rows of run_id, campaign, state, reason,
// count, channel, route: first the run's totals (no channel), then each
// channel and route's.
func WriteCSV(w io.Writer, s Summary) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"run_id", "campaign", "state", "reason", "count", "channel", "route"})
	id := strconv.FormatInt(s.RunID, 10)
	row := func(state, reason string, n int) {
		cw.Write([]string{id, s.Campaign, state, reason, strconv.Itoa(n), "", ""})
	}
	c := s.Counts
	row("targeted", "", c.Targeted)
	row("sent", "", c.Sent)
	row("failed", "", c.Failed)
	row("skipped", "", c.Skipped)
	row("unknown", "", c.Unknown)
	row("pending", "", c.Pending+c.Sending)
	for _, r := range c.Reasons {
		row(string(r.State), r.Reason, r.Count)
	}
	for _, cc := range c.Channels {
		cw.Write([]string{id, s.Campaign, string(cc.State), cc.Reason, strconv.Itoa(cc.Count), cc.Channel, cc.Route})
	}
	cw.Flush()
	return cw.Error()
}

// RunRow is one line of `herald run list`.
type RunRow struct {
	RunID      int64             `json:"run_id"`
	Campaign   string            `json:"campaign"`
	State      campaign.RunState `json:"state"`
	Trigger    string            `json:"trigger"`
	CreatedAt  time.Time         `json:"created_at"`
	Targeted   int               `json:"targeted"`
	Sent       int               `json:"sent"`
	Failed     int               `json:"failed"`
	Skipped    int               `json:"skipped"`
	Unknown    int               `json:"unknown"`
	Pending    int               `json:"pending"`
	DurationS  float64           `json:"duration_seconds"`
	SendRate   float64           `json:"send_rate"`
	Idempotent string            `json:"idempotency_key,omitempty"`
}

// Row makes a run list line from a Summary.
func Row(s Summary) RunRow {
	return RunRow{RunID: s.RunID, Campaign: s.Campaign, State: s.State, Trigger: s.Trigger, CreatedAt: s.CreatedAt,
		Targeted: s.Counts.Targeted, Sent: s.Counts.Sent, Failed: s.Counts.Failed, Skipped: s.Counts.Skipped,
		Unknown: s.Counts.Unknown, Pending: s.Counts.Pending + s.Counts.Sending, DurationS: s.DurationSeconds,
		SendRate: s.SendRate, Idempotent: s.IdempotencyKey}
}

// WriteRunsTable lists runs for people.
func WriteRunsTable(w io.Writer, rows []RunRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tCAMPAIGN\tSTATE\tTRIGGER\tCREATED\tTARGETED\tSENT\tFAILED\tSKIPPED\tUNKNOWN\tPENDING")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", r.RunID, r.Campaign, r.State, r.Trigger,
			r.CreatedAt.Local().Format("2006-01-02 15:04"), r.Targeted, r.Sent, r.Failed, r.Skipped, r.Unknown, r.Pending)
	}
	return tw.Flush()
}

// WriteRunsCSV lists runs as CSV.
func WriteRunsCSV(w io.Writer, rows []RunRow) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"run_id", "campaign", "state", "trigger", "created_at", "targeted", "sent", "failed", "skipped", "unknown", "pending", "duration_seconds", "send_rate"})
	for _, r := range rows {
		cw.Write([]string{strconv.FormatInt(r.RunID, 10), r.Campaign, string(r.State), r.Trigger, r.CreatedAt.Format(time.RFC3339),
			strconv.Itoa(r.Targeted), strconv.Itoa(r.Sent), strconv.Itoa(r.Failed), strconv.Itoa(r.Skipped),
			strconv.Itoa(r.Unknown), strconv.Itoa(r.Pending), strconv.FormatFloat(r.DurationS, 'f', -1, 64),
			strconv.FormatFloat(r.SendRate, 'f', -1, 64)})
	}
	cw.Flush()
	return cw.Error()
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
