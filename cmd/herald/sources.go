package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/reporting"
	"github.com/heraldcli/herald/sources/catalog"
)

func newSourcesCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sources",
		Short: "Check what campaigns' sources hold now",
	}
	cmd.AddCommand(newSourcesCheckCmd(g, io))
	return cmd
}

type sourcesCheckOptions struct {
	g      *globalOptions
	name   string
	output string
}

func newSourcesCheckCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &sourcesCheckOptions{g: g}
	cmd := &cobra.Command{
		Use:   "check CAMPAIGN",
		Short: "Show what changed in a campaign's source since its last run, and what the next run would announce",
		Long: `Reads the campaign's source now, as its next run would, and compares it with what
the campaign saw last. For a catalog: every product that changed (new, price, stock),
the trigger that fires for it, and whether the next run would announce it or why not
(first scan, filter, cooldown, max_items). For a feed: the new items, and which the
next run would send. Nothing is sent and nothing is consumed: the next run sees the
same changes.`,
		Example: `  herald sources check shop-deals
  herald sources check shop-deals --output json | jq '.changes[] | select(.announce)'`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.name = a[0]
			return sourcesCheckRun(cmd.Context(), cmd, o, io)
		},
	}
	outputFlag(cmd, &o.output, "text", "json")
	return cmd
}

type sourcesCheckJSON struct {
	Campaign string `json:"campaign"`
	Type     string `json:"type"`
	Format   string `json:"format,omitempty"`
	URL      string `json:"url"`
	// NotModified: the server answered 304, nothing changed.
	NotModified bool `json:"not_modified"`
	// FirstScan: the campaign never read this source; its next run only
	// records it (and announces the backfill).
	FirstScan bool                `json:"first_scan"`
	Pages     int                 `json:"pages,omitempty"`
	Products  int                 `json:"products,omitempty"`
	Changes   []sourceChangeJSON  `json:"changes"`
	Announce  []sourceAnnounceRow `json:"announce"`
}

type sourceChangeJSON struct {
	Key      string       `json:"key"`
	Title    string       `json:"title,omitempty"`
	Change   string       `json:"change"`
	Trigger  string       `json:"trigger,omitempty"`
	Announce bool         `json:"announce"`
	Why      string       `json:"why,omitempty"`
	Old      *productJSON `json:"old,omitempty"`
	New      *productJSON `json:"new,omitempty"`
}

type productJSON struct {
	Price        string `json:"price"`
	Currency     string `json:"currency"`
	Availability string `json:"availability"`
}

type sourceAnnounceRow struct {
	Key     string `json:"key"`
	Title   string `json:"title"`
	Trigger string `json:"trigger,omitempty"`
	Link    string `json:"link,omitempty"`
}

func sourcesCheckRun(ctx context.Context, cmd *cobra.Command, o *sourcesCheckOptions, io *IOStreams) error {
	a, err := openApp(ctx, cmd, o.g, io, true)
	if err != nil {
		return err
	}
	defer a.Close()
	spec, err := a.loadCampaign(o.name)
	if err != nil {
		return err
	}
	if spec.Source == nil {
		return invalidf("campaign %s has no source: it sends its message as written", spec.Name)
	}
	d, err := a.engine.Prepare(ctx, spec)
	if err != nil {
		return err
	}
	out := sourcesCheckJSON{
		Campaign: spec.Name, Type: spec.Source.Type, Format: spec.Source.Format, URL: spec.Source.URL,
		FirstScan: d.FirstRun, Changes: []sourceChangeJSON{}, Announce: []sourceAnnounceRow{},
	}
	if d.Scan != nil {
		out.NotModified, out.Pages, out.Products = d.Scan.NotModified, d.Scan.Pages, d.Scan.Products
	}
	for _, c := range d.Changes {
		row := sourceChangeJSON{Key: c.Item.Key, Title: c.Item.Title, Change: c.Describe(), Trigger: c.Trigger,
			Announce: c.Announce, Why: c.Why}
		now := productOf(&c.Update)
		row.New = &now
		if c.Old != nil {
			old := productOf(c.Old)
			row.Old = &old
		}
		out.Changes = append(out.Changes, row)
	}
	if !spec.Source.Catalog() {
		sent := map[string]bool{}
		for _, it := range d.Items {
			sent[it.Key] = true
		}
		for _, it := range d.Items {
			out.Changes = append(out.Changes, sourceChangeJSON{Key: it.Key, Title: it.Title, Change: "new item", Announce: true})
		}
		for _, k := range d.Seen {
			if !sent[k] {
				out.Changes = append(out.Changes, sourceChangeJSON{Key: k, Change: "new item", Why: "consumed without sending (backfill or older than the digest's max_items)"})
			}
		}
	}
	for _, it := range d.Items {
		trigger := ""
		if it.Change != nil {
			trigger = it.Change.Trigger
		}
		out.Announce = append(out.Announce, sourceAnnounceRow{Key: it.Key, Title: it.Title, Trigger: trigger, Link: it.Link})
	}
	if o.output == "json" {
		return reporting.WriteJSON(io.Out, out)
	}
	return writeSourcesCheck(io, spec, &out)
}

func productOf(s *catalog.State) productJSON {
	return productJSON{Price: s.Price.String(), Currency: s.Currency, Availability: string(s.Availability)}
}

func writeSourcesCheck(io *IOStreams, spec *campaign.Spec, out *sourcesCheckJSON) error {
	what := out.Type
	if out.Format != "" {
		what += " " + out.Format
	}
	fmt.Fprintf(io.Out, "Campaign %s · %s %s\n", spec.Name, what, out.URL)
	switch {
	case out.NotModified:
		fmt.Fprintln(io.Out, "The source has not changed since the last run (HTTP 304): the next run would announce nothing.")
		return nil
	case out.Products > 0:
		fmt.Fprintf(io.Out, "Read %d products on %d page(s).\n", out.Products, out.Pages)
	}
	changes := out.Changes
	switch {
	case out.FirstScan && spec.Source.Catalog():
		// Every product is new on a first scan: show only the backfill.
		fmt.Fprintf(io.Out, "First scan: the next run records all %d products and announces %d of them (source.backfill: %d).\n",
			out.Products, len(out.Announce), spec.Backfill())
		changes = nil
		for _, c := range out.Changes {
			if c.Announce {
				changes = append(changes, c)
			}
		}
	case len(changes) == 0:
		fmt.Fprintln(io.Out, "Nothing changed since the last run.")
	default:
		fmt.Fprintf(io.Out, "\n%d change(s) since the last run:\n", len(changes))
	}
	if len(changes) > 0 {
		tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
		what := "ITEM"
		if spec.Source.Catalog() {
			what = "PRODUCT"
		}
		fmt.Fprintf(tw, "  \t%s\tCHANGE\tTRIGGER\tNEXT RUN\n", what)
		for _, c := range changes {
			mark, next := "·", "recorded"
			switch {
			case c.Announce:
				mark, next = "+", "announces it"
			case c.Why != "":
				next = c.Why
			}
			trigger := c.Trigger
			if trigger == "" {
				trigger = "-"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", mark, productLabel(c.Key, c.Title), c.Change, trigger, next)
		}
		tw.Flush()
	}
	fmt.Fprintln(io.Out)
	switch n := len(out.Announce); {
	case n == 0:
		fmt.Fprintln(io.Out, "The next run would announce nothing.")
	case spec.Mode == campaign.Each:
		fmt.Fprintf(io.Out, "The next run would announce %d product(s), one message each.\n", n)
	default:
		fmt.Fprintf(io.Out, "The next run would announce %d in one digest.\n", n)
	}
	fmt.Fprintln(io.Out, "Nothing was consumed: herald campaign send (or herald serve) acts on these changes.")
	return nil
}

func productLabel(key, title string) string {
	key = strings.TrimPrefix(key, "id:")
	if title == "" {
		return key
	}
	return fmt.Sprintf("%s (%s)", title, key)
}
