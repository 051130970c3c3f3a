package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/internal/strictyaml"
	"github.com/heraldcli/herald/reporting"
	"github.com/heraldcli/herald/sources"
)

type lintOptions struct {
	g      *globalOptions
	names  []string
	fetch  bool
	output string
}

func newLintCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &lintOptions{g: g}
	cmd := &cobra.Command{
		Use:   "lint [CAMPAIGN...]",
		Short: "Check herald.yaml and the campaigns offline: keys, templates and every channel's limits",
		Long: `Checks herald.yaml and every campaign (or the ones named): unknown keys, bad values,
template errors, and the rendered messages against each channel's limits (Telegram:
4096 characters of text, 1024 of caption, 64-byte callback data, …).

Messages are rendered with the newest items of sources that are local files; sources
behind a URL are not fetched (lint works offline, e.g. on pull requests) and sample
items stand in for them, unless --fetch. Exits 2 when anything is wrong.`,
		Example: `  herald lint
  herald lint blog-digest --fetch
  herald lint --output json`,
		RunE: func(cmd *cobra.Command, a []string) error {
			o.names = a
			return lintRun(cmd.Context(), cmd, o, io)
		},
	}
	cmd.Flags().BoolVar(&o.fetch, "fetch", false, "fetch sources behind URLs and lint with their newest items")
	outputFlag(cmd, &o.output, "text", "json")
	return cmd
}

type lintJSON struct {
	OK        bool        `json:"ok"`
	Campaigns []string    `json:"campaigns"`
	Problems  []lintEntry `json:"problems"`
}

type lintEntry struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Channel string `json:"channel,omitempty"`
	Message string `json:"message"`
}

func lintRun(ctx context.Context, cmd *cobra.Command, o *lintOptions, io *IOStreams) error {
	res := lintJSON{Campaigns: []string{}, Problems: []lintEntry{}}
	a, err := openApp(ctx, cmd, o.g, io, false)
	if err != nil {
		return err
	}
	var specs []*campaign.Spec
	var specErrs campaign.SpecErrors
	if len(o.names) == 0 {
		specs, err = a.loadAllCampaigns()
		if !errors.As(err, &specErrs) && err != nil {
			return err
		}
	} else {
		for _, n := range o.names {
			s, err := a.loadCampaign(n)
			var se campaign.SpecErrors
			switch {
			case errors.As(err, &se):
				specErrs = append(specErrs, se...)
			case err != nil:
				return err
			default:
				specs = append(specs, s)
			}
		}
	}
	for _, e := range specErrs {
		res.Problems = append(res.Problems, lintEntry{File: e.File, Line: e.Line, Message: e.Msg})
	}
	notes := []string{}
	for _, s := range specs {
		res.Campaigns = append(res.Campaigns, s.Name)
		items, note, err := a.lintItems(ctx, s, o.fetch)
		if err != nil {
			res.Problems = append(res.Problems, lintEntry{File: s.File, Line: s.Line("source.url"), Message: err.Error()})
			continue
		}
		if note != "" {
			notes = append(notes, note)
		}
		probs, err := s.Lint(a.engine.Channels, items, campaign.SampleSubscriber(), time.Now())
		var se campaign.SpecErrors
		if errors.As(err, &se) {
			for _, e := range se {
				res.Problems = append(res.Problems, lintEntry{File: e.File, Line: e.Line, Message: e.Msg})
			}
			continue
		} else if err != nil {
			return err
		}
		for _, p := range probs {
			res.Problems = append(res.Problems, lintEntry{File: s.File, Line: p.Line, Channel: p.Channel, Message: p.Problem.String()})
		}
	}
	if len(o.names) == 0 {
		res.Problems = append(res.Problems, a.lintAutomations()...)
	}
	res.OK = len(res.Problems) == 0
	if o.output == "json" {
		if err := reporting.WriteJSON(io.Out, res); err != nil {
			return err
		}
	} else {
		for _, n := range notes {
			fmt.Fprintln(io.ErrOut, "note: "+n)
		}
		for _, p := range res.Problems {
			loc := p.File
			if p.Line > 0 {
				loc = fmt.Sprintf("%s:%d", p.File, p.Line)
			}
			if p.Channel != "" {
				fmt.Fprintf(io.Out, "%s: %s: %s\n", loc, p.Channel, p.Message)
			} else {
				fmt.Fprintf(io.Out, "%s: %s\n", loc, p.Message)
			}
		}
		if res.OK {
			fmt.Fprintf(io.Out, "ok: herald.yaml and %d campaign(s) pass\n", len(specs))
		}
	}
	if !res.OK {
		return silentExit(exitInvalid)
	}
	return nil
}

// lintItems returns the items to lint a campaign with: a local source's
// newest, a fetched URL's with --fetch, or sample items.
func (a *app) lintItems(ctx context.Context, s *campaign.Spec, fetch bool) ([]sources.Item, string, error) {
	if s.Source == nil {
		return nil, "", nil
	}
	u, err := url.Parse(s.Source.URL)
	remote := err == nil && (u.Scheme == "http" || u.Scheme == "https")
	if remote && !fetch {
		return campaign.SampleItems(s.MaxItems), fmt.Sprintf("%s: source %s not fetched (offline); linted with sample items (use --fetch)", s.Name, s.Source.URL), nil
	}
	src, err := a.engine.OpenSource(s.Source)
	if err != nil {
		return nil, "", err
	}
	res, err := src.Fetch(ctx, sources.Validators{})
	if err != nil {
		return nil, "", fmt.Errorf("source: %w", err)
	}
	if s.Source.Catalog() {
		// A run only ever sends changed products: lint them as such, so
		// that a template reading .Item.Change is linted as it runs.
		for i := range res.Items {
			if res.Items[i].Change == nil {
				res.Items[i].Change = &sources.Change{Trigger: sources.NewProduct}
			}
		}
	}
	return res.Items, "", nil
}

// lintAutomations checks herald.yaml's automations: their settings, and
// each message rendered for a sample subscriber on every channel.
func (a *app) lintAutomations() []lintEntry {
	var out []lintEntry
	r, err := a.replies()
	var es strictyaml.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			out = append(out, lintEntry{File: e.File, Line: e.Line, Message: e.Msg})
		}
	}
	for _, reply := range []*campaign.Reply{r.Welcome, r.Goodbye, r.Default} {
		if reply == nil {
			continue
		}
		probs, err := reply.Lint(a.engine.Channels, time.Now())
		var se campaign.SpecErrors
		if errors.As(err, &se) {
			for _, e := range se {
				out = append(out, lintEntry{File: e.File, Line: e.Line, Message: e.Msg})
			}
		}
		for _, p := range probs {
			out = append(out, lintEntry{File: a.ws.File, Line: p.Line, Channel: p.Channel, Message: p.Problem.String()})
		}
	}
	return out
}
