package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/campaign/markup"
	"github.com/heraldcli/herald/internal/wait"
	"github.com/heraldcli/herald/reporting"
	"github.com/heraldcli/herald/sources"
)

func newCampaignCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "campaign",
		Short: "Preview, send, resume and cancel campaigns",
	}
	cmd.AddCommand(newPreviewCmd(g, io), newSendCmd(g, io), newResumeCmd(g, io), newCancelCmd(g, io), newResendUnknownCmd(g, io))
	return cmd
}

// ---- preview ----

type previewOptions struct {
	g       *globalOptions
	name    string
	channel string
	output  string
}

func newPreviewCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &previewOptions{g: g}
	cmd := &cobra.Command{
		Use:   "preview CAMPAIGN",
		Short: "Show the message(s) the next run would send, without sending or recording anything",
		Long: `Fetches the campaign's source, picks the items the next run would send, and renders
the message for the first subscriber of the audience. Nothing is sent and no item is
consumed. With --channel it shows one channel and the exact platform requests (Bot API
calls, Messenger Send API bodies); --output json prints them for every channel.`,
		Example: `  herald campaign preview blog-digest
  herald campaign preview blog-digest --channel messenger
  herald campaign preview blog-digest --output json | jq '.[0].requests'`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.name = a[0]
			return previewRun(cmd.Context(), cmd, o, io)
		},
	}
	cmd.Flags().StringVar(&o.channel, "channel", "", "show only this channel, with its exact requests ("+strings.Join(knownChannels, ", ")+")")
	outputFlag(cmd, &o.output, "text", "json")
	return cmd
}

type previewJSON struct {
	Channel  string             `json:"channel"`
	Part     int                `json:"part"`
	Message  campaign.Message   `json:"message"`
	Requests []previewRequest   `json:"requests"`
	Problems []campaign.Problem `json:"problems"`
}

type previewRequest struct {
	Method string          `json:"method"`
	Body   json.RawMessage `json:"body"`
}

func previewRun(ctx context.Context, cmd *cobra.Command, o *previewOptions, io *IOStreams) error {
	a, err := openApp(ctx, cmd, o.g, io, true)
	if err != nil {
		return err
	}
	defer a.Close()
	spec, err := a.loadCampaign(o.name)
	if err != nil {
		return err
	}
	channels := spec.Channels
	if o.channel != "" {
		if !slices.Contains(spec.Channels, o.channel) {
			return invalidf("--channel %s: campaign %s sends on %s", o.channel, spec.Name, strings.Join(spec.Channels, ", "))
		}
		channels = []string{o.channel}
	}
	d, err := a.engine.Prepare(ctx, spec)
	if err != nil {
		return err
	}
	if d.NoNewItems {
		if o.output == "json" {
			return reporting.WriteJSON(io.Out, []previewJSON{})
		}
		fmt.Fprintf(io.Out, "Campaign %s has no new items: its next run would send nothing.\n", spec.Name)
		return nil
	}
	sample, err := a.store.FirstInSegment(ctx, channels, spec.Audience)
	if errors.Is(err, campaign.ErrNotFound) {
		sample = campaign.SampleSubscriber()
		sample.Address = "123456789"
	} else if err != nil {
		return err
	}
	var out []previewJSON
	for part, m := range d.Sample {
		for _, chName := range channels {
			ch := a.engine.Channels[chName]
			p := previewJSON{Channel: chName, Part: part + 1, Message: m, Requests: []previewRequest{}, Problems: ch.Lint(m)}
			if p.Problems == nil {
				p.Problems = []campaign.Problem{}
			}
			if calls, err := ch.Prepare(previewRecipient(spec, chName, sample), m); err == nil {
				for _, c := range calls {
					p.Requests = append(p.Requests, previewRequest{Method: c.Method, Body: c.Body})
				}
			}
			out = append(out, p)
		}
	}
	if o.output == "json" {
		return reporting.WriteJSON(io.Out, out)
	}
	who := sample.Name
	if sample.ID == 0 {
		who += " (the audience is empty: a stand-in)"
	}
	fmt.Fprintf(io.Out, "Campaign %s · mode %s · %d item(s) · rendered for %s\n", spec.Name, spec.Mode, len(d.Items), who)
	for _, p := range out {
		fmt.Fprintf(io.Out, "\n── %s · message %d of %d ──\n", p.Channel, p.Part, len(d.Sample))
		fmt.Fprintln(io.Out, markup.Parse(p.Message.Text).Plain())
		for _, md := range p.Message.Media {
			fmt.Fprintf(io.Out, "[%s] %s\n", md.Kind, md.URL)
		}
		printButtons(io, "", p.Message.Buttons)
		for i, c := range p.Message.Cards {
			fmt.Fprintf(io.Out, "[card %d] %s", i+1, c.Title)
			if c.Subtitle != "" {
				fmt.Fprintf(io.Out, " · %s", c.Subtitle)
			}
			fmt.Fprintln(io.Out)
			for _, f := range []struct{ name, v string }{{"image", c.Image}, {"link", c.Link}} {
				if f.v != "" {
					fmt.Fprintf(io.Out, "         %s %s\n", f.name, f.v)
				}
			}
			printButtons(io, "         ", c.Buttons)
		}
		methods := make([]string, len(p.Requests))
		for i, r := range p.Requests {
			methods[i] = r.Method
		}
		fmt.Fprintf(io.Out, "(%s: %s)\n", p.Channel, strings.Join(methods, " + "))
		if o.channel != "" {
			for _, r := range p.Requests {
				var pretty bytes.Buffer
				json.Indent(&pretty, r.Body, "", "  ")
				fmt.Fprintf(io.Out, "POST %s\n%s\n", r.Method, pretty.String())
			}
		}
		for _, pr := range p.Problems {
			fmt.Fprintf(io.Out, "problem: %s\n", pr)
		}
	}
	return nil
}

// printButtons lists buttons as "[ text ] → target", each line indented.
func printButtons(io *IOStreams, indent string, buttons []campaign.Button) {
	for _, b := range buttons {
		target := b.URL
		if target == "" {
			target = "callback " + b.Callback
		}
		fmt.Fprintf(io.Out, "%s[ %s ] → %s\n", indent, b.Text, target)
	}
}

// previewRecipient is who a preview renders for on channel: the sample
// subscriber when it is on that channel, else a stand-in; on Messenger, by
// the standard route (or the campaign's tag), as most deliveries go.
func previewRecipient(spec *campaign.Spec, channel string, sample audience.Subscriber) campaign.Recipient {
	to := campaign.Recipient{SubscriberID: sample.ID, Address: sample.Address, Route: campaign.RouteBot}
	if sample.Channel != channel {
		to.Address = "123456789"
	}
	if channel == "messenger" {
		to.Route, to.WindowUntil = campaign.RouteStandard, time.Now().Add(time.Hour)
		if tag := spec.Routes(false).Tag; tag != "" {
			to.Route, to.Tag = campaign.RouteTag, tag
		}
	}
	return to
}

// ---- send ----

type sendOptions struct {
	g              *globalOptions
	name           string
	dryRun         bool
	yes            bool
	key            string
	maxFailureRate float64
	output         string
}

func newSendCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &sendOptions{g: g}
	cmd := &cobra.Command{
		Use:   "send CAMPAIGN",
		Short: "Send a campaign now (or resume its unfinished run)",
		Long: `Fetches the campaign's source, takes the items it has not sent yet, checks the
rendered message against every channel's limits, records one pending delivery per
subscriber, and sends them within the platform's rate limits. On a terminal it asks
for confirmation first (--yes skips it).

If the campaign has an unfinished run (interrupted, paused or aborted), send resumes it
instead of starting a new one. With --idempotency-key, a key that was already used
prints that run's report and sends nothing, so a re-run CI job never broadcasts twice.

Exit codes: 0 done; 2 invalid input (nothing sent); 3 aborted, paused, or more
failures than --max-failure-rate; 130 interrupted (resume it later); 1 anything else.`,
		Example: `  herald campaign send blog-digest --dry-run
  herald campaign send blog-digest
  herald campaign send blog-digest --yes --output json
  herald campaign send blog-digest --idempotency-key "$GITHUB_SHA" --output json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.name = a[0]
			return sendRun(cmd.Context(), cmd, o, io)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.dryRun, "dry-run", false, "show who would get what, per channel and route; send and record nothing")
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	f.StringVar(&o.key, "idempotency-key", "", "a key (e.g. the commit SHA) that makes this send happen at most once")
	f.Float64Var(&o.maxFailureRate, "max-failure-rate", -1, "exit 3 when more than this share of deliveries fail (default: the campaign's max_failure_rate, else 0.05)")
	outputFlag(cmd, &o.output, "text", "json")
	return cmd
}

func sendRun(ctx context.Context, cmd *cobra.Command, o *sendOptions, io *IOStreams) error {
	if err := checkFailureRate(o.maxFailureRate); err != nil {
		return err
	}
	a, err := openApp(ctx, cmd, o.g, io, true)
	if err != nil {
		return err
	}
	defer a.Close()
	spec, err := a.loadCampaign(o.name)
	if err != nil {
		return err
	}
	rep := &runReporter{a: a, io: io, json: o.output == "json", threshold: failureThreshold(spec, o.maxFailureRate)}
	// Another herald process (serve's watch, a second CI job) may consume
	// the source between our read and our plan; nothing was sent, so read
	// it again: the other's run, or the items it left, decide what happens.
	for attempt := 1; ; attempt++ {
		err := sendOnce(ctx, a, spec, rep, o, io)
		if !errors.Is(err, campaign.ErrSourceChanged) || attempt == maxSourceRetries {
			return err
		}
		fmt.Fprintf(io.ErrOut, "%s's source was consumed by another herald process meanwhile; reading it again\n", spec.Name)
	}
}

// maxSourceRetries bounds how often send reads a source again that other
// processes keep consuming first.
const maxSourceRetries = 3

func sendOnce(ctx context.Context, a *app, spec *campaign.Spec, rep *runReporter, o *sendOptions, io *IOStreams) error {
	if o.key != "" {
		run, err := a.store.RunByKey(ctx, spec.Name, o.key)
		switch {
		case err == nil && (o.dryRun || !run.State.Resumable()):
			fmt.Fprintf(io.ErrOut, "idempotency key %q was already used by run %d (%s): nothing sent\n", o.key, run.ID, run.State)
			return rep.existing(ctx, run)
		case err == nil:
			return rep.follow(ctx, spec, run)
		case !errors.Is(err, campaign.ErrNotFound):
			return err
		}
	}
	if run, err := a.store.ActiveRun(ctx, spec.Name); err == nil {
		if o.dryRun {
			c, err := a.store.Counts(ctx, run.ID)
			if err != nil {
				return err
			}
			if o.output == "json" {
				return reporting.WriteJSON(io.Out, dryRunResumeJSON{Campaign: spec.Name, DryRun: true, ResumesRun: run.ID,
					State: run.State, Counts: map[string]int{"pending": c.Pending}})
			}
			fmt.Fprintf(io.Out, "Campaign %s has an unfinished run %d (%s): send would resume it and attempt its %d pending deliveries.\n",
				spec.Name, run.ID, run.State, c.Pending)
			return nil
		}
		if o.key != "" && run.IdempotencyKey != o.key {
			return invalidf("campaign %s has an unfinished run %d (%s) started with another key: resume it with 'herald campaign resume %d' or cancel it with 'herald campaign cancel %d' first",
				spec.Name, run.ID, run.State, run.ID, run.ID)
		}
		if o.key != "" {
			// Another process planned it with our key after we looked the
			// key up: the same send, followed as if we had found it then.
			return rep.follow(ctx, spec, run)
		}
		return rep.resume(ctx, spec, run)
	} else if !errors.Is(err, campaign.ErrNotFound) {
		return err
	}
	if !o.dryRun {
		if err := a.ready(spec); err != nil {
			return err
		}
	}
	d, err := a.engine.Prepare(ctx, spec)
	if err != nil {
		return err
	}
	if len(d.Problems) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "campaign %s cannot be sent as it is (nothing was sent):", spec.Name)
		for _, p := range d.Problems {
			b.WriteString("\n" + p.Error(spec.File))
		}
		return invalid(errors.New(b.String()))
	}
	counts, err := a.store.SegmentCounts(ctx, spec.Channels, spec.Audience)
	if err != nil {
		return err
	}
	routes, err := a.engine.RouteCounts(ctx, spec)
	if err != nil {
		return err
	}
	if o.dryRun {
		return printDryRun(io, o.output == "json", d, counts, routes)
	}
	targeted, outside := 0, 0
	for _, r := range routes {
		if r.Route == campaign.RouteNone {
			outside += r.Count
		} else {
			targeted += r.Count
		}
	}
	if io.InTTY && !o.yes && targeted > 0 && !d.NoNewItems {
		note := ""
		if outside > 0 {
			note = fmt.Sprintf("; %d outside Messenger's window will be skipped", outside)
		}
		ok, err := confirm(io, fmt.Sprintf("Send %s (%d item(s), %d message(s) each) to %d subscriber(s)%s? [y/N] ",
			spec.Name, len(d.Items), d.Parts(), targeted, note))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(io.ErrOut, "nothing sent")
			return nil
		}
	}
	trigger := "manual"
	if o.key != "" {
		trigger = "ci"
	}
	run, err := a.engine.Plan(ctx, d, trigger, o.key)
	var conflict *campaign.RunConflict
	if errors.As(err, &conflict) {
		// Another process planned first: follow its run.
		if !conflict.Run.State.Resumable() {
			return rep.existing(ctx, conflict.Run)
		}
		if errors.Is(err, campaign.ErrDuplicateKey) || o.key != "" && conflict.Run.IdempotencyKey == o.key {
			// The same key (the store may report it as the campaign's
			// one active run, whichever of the two rules it checks first).
			return rep.follow(ctx, spec, conflict.Run)
		}
		return rep.resume(ctx, spec, conflict.Run)
	}
	if err != nil {
		return err
	}
	if d.NoNewItems && !rep.json {
		fmt.Fprintf(io.ErrOut, "no new items in %s's source: run %d recorded as done, nothing sent\n", spec.Name, run.ID)
	}
	if o.key != "" {
		// The run is findable by its key from the moment it is planned: a
		// second process with the same key may take its lease before this
		// one does, and then this one waits for it like any follower.
		return rep.follow(ctx, spec, run)
	}
	return rep.dispatch(ctx, spec, run)
}

func confirm(io *IOStreams, prompt string) (bool, error) {
	fmt.Fprint(io.ErrOut, prompt)
	line, err := bufio.NewReader(io.In).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	ans := strings.ToLower(strings.TrimSpace(line))
	return ans == "y" || ans == "yes", nil
}

type dryRunJSON struct {
	Campaign string             `json:"campaign"`
	DryRun   bool               `json:"dry_run"`
	Mode     campaign.Mode      `json:"mode"`
	Items    []sources.Item     `json:"items"`
	Messages int                `json:"messages_per_subscriber"`
	Routes   []routeCount       `json:"routes"`
	Excluded []routeCount       `json:"excluded"`
	Sample   []campaign.Message `json:"sample"`
	Counts   map[string]int     `json:"counts"`
}

// dryRunResumeJSON is --dry-run --output json when send would resume an
// unfinished run rather than start one.
type dryRunResumeJSON struct {
	Campaign   string            `json:"campaign"`
	DryRun     bool              `json:"dry_run"`
	ResumesRun int64             `json:"resumes_run"`
	State      campaign.RunState `json:"state"`
	Counts     map[string]int    `json:"counts"`
}

type routeCount struct {
	Channel string `json:"channel"`
	Route   string `json:"route,omitempty"`
	Status  string `json:"status,omitempty"`
	Count   int    `json:"count"`
}

func printDryRun(io *IOStreams, asJSON bool, d *campaign.Draft, counts []campaign.SegmentCount, routes []campaign.RouteCount) error {
	out := dryRunJSON{Campaign: d.Spec.Name, DryRun: true, Mode: d.Spec.Mode, Items: d.Items, Messages: d.Parts(),
		Routes: []routeCount{}, Excluded: []routeCount{}, Sample: d.Sample, Counts: map[string]int{}}
	if out.Items == nil {
		out.Items = []sources.Item{}
	}
	targeted, skipped := 0, 0
	for _, r := range routes {
		if r.Route == campaign.RouteNone {
			// Planned as skipped: counted, shown, never sent.
			out.Excluded = append(out.Excluded, routeCount{Channel: r.Channel, Status: "skipped: " + campaign.ReasonOutsideWindow, Count: r.Count})
			skipped += r.Count
			continue
		}
		out.Routes = append(out.Routes, routeCount{Channel: r.Channel, Route: r.Route, Count: r.Count})
		targeted += r.Count
	}
	for _, c := range counts {
		if c.Status != audience.Subscribed {
			out.Excluded = append(out.Excluded, routeCount{Channel: c.Channel, Status: string(c.Status), Count: c.Count})
		}
	}
	if d.Parts() == 0 {
		targeted, skipped = 0, 0
	}
	out.Counts["targeted"] = targeted * d.Parts()
	out.Counts["subscribers"] = targeted
	out.Counts["outside_window"] = skipped
	if asJSON {
		return reporting.WriteJSON(io.Out, out)
	}
	w := io.Out
	fmt.Fprintf(w, "Dry run of %s (mode %s): nothing will be sent or recorded.\n\n", d.Spec.Name, d.Spec.Mode)
	if d.Spec.Source != nil {
		if d.NoNewItems {
			fmt.Fprintln(w, "No new items: a run now would send nothing.")
			return nil
		}
		fmt.Fprintf(w, "Items (%d):\n", len(d.Items))
		for _, it := range d.Items {
			fmt.Fprintf(w, "  • %s\n", it.Title)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Would send %d message(s) to each of %d subscriber(s): %d deliveries.\n\n", d.Parts(), targeted, targeted*d.Parts())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANNEL\tROUTE\tSUBSCRIBERS")
	for _, r := range out.Routes {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", r.Channel, r.Route, r.Count)
	}
	tw.Flush()
	if len(out.Excluded) > 0 {
		fmt.Fprintln(w, "\nIn the audience but not messaged:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, r := range out.Excluded {
			fmt.Fprintf(tw, "  %s\t%s\t%d\n", r.Channel, r.Status, r.Count)
		}
		tw.Flush()
	}
	return nil
}

// ---- resume and cancel ----

type runIDOptions struct {
	g              *globalOptions
	yes            bool
	maxFailureRate float64
	output         string
}

func parseRunID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &flagError{fmt.Errorf("run id %q: use the number herald printed (see herald run list)", s)}
	}
	return id, nil
}

func newResumeCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &runIDOptions{g: g}
	cmd := &cobra.Command{
		Use:   "resume RUN",
		Short: "Continue an interrupted, paused or aborted run: only what is still pending is sent",
		Long: `Resumes a run. Deliveries that a stopped process left in flight become "unknown"
and are not re-sent (a duplicate is worse than a gap); pending ones are sent.`,
		Example: `  herald campaign resume 42`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := checkFailureRate(o.maxFailureRate); err != nil {
				return err
			}
			app, run, err := openRun(cmd, o.g, io, a[0])
			if err != nil {
				return err
			}
			defer app.Close()
			ctx := cmd.Context()
			spec, err := app.loadCampaign(run.Campaign)
			if err != nil {
				return err
			}
			rep := &runReporter{a: app, io: io, json: o.output == "json", threshold: failureThreshold(spec, o.maxFailureRate)}
			if !run.State.Resumable() {
				fmt.Fprintf(io.ErrOut, "run %d has finished (%s): nothing to resume\n", run.ID, run.State)
				return rep.existing(ctx, run)
			}
			return rep.resume(ctx, spec, run)
		},
	}
	cmd.Flags().Float64Var(&o.maxFailureRate, "max-failure-rate", -1, "exit 3 when more than this share of deliveries fail")
	outputFlag(cmd, &o.output, "text", "json")
	return cmd
}

func newCancelCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &runIDOptions{g: g}
	cmd := &cobra.Command{
		Use:     "cancel RUN",
		Short:   "Cancel an unfinished run: its pending deliveries are skipped (reason cancelled)",
		Example: `  herald campaign cancel 42`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			id, err := parseRunID(a[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			app, err := openApp(ctx, cmd, o.g, io, true)
			if err != nil {
				return err
			}
			defer app.Close()
			if io.InTTY && !o.yes {
				if ok, err := confirm(io, fmt.Sprintf("Cancel run %d? Its pending deliveries will never be sent. [y/N] ", id)); err != nil || !ok {
					fmt.Fprintln(io.ErrOut, "not cancelled")
					return err
				}
			}
			n, err := app.store.CancelRun(ctx, id, time.Now())
			switch {
			case errors.Is(err, campaign.ErrNotFound):
				return invalidf("no run %d (see herald run list)", id)
			case errors.Is(err, campaign.ErrRunFinished):
				return invalidf("run %d has already finished", id)
			case errors.Is(err, campaign.ErrRunBusy):
				return invalidf("run %d is being sent by another herald process: stop it first (Ctrl-C), then cancel", id)
			case err != nil:
				return err
			}
			fmt.Fprintf(io.Out, "run %d cancelled: %d pending deliveries skipped\n", id, n)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func newResendUnknownCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &runIDOptions{g: g}
	cmd := &cobra.Command{
		Use:   "resend-unknown RUN",
		Short: "Send again the deliveries of a run whose outcome is unknown (they may arrive twice)",
		Long: `A delivery is "unknown" when its request reached the platform but herald never learned
the answer (a timeout, a lost connection, a crash while sending). herald never sends those
again by itself: a duplicate marketing message is worse than a missing one. If you prefer
the risk of a duplicate to a gap, this command puts the run's unknown deliveries back to
pending and sends them, within the same limits and ledger as any run.

It asks for confirmation on a terminal; elsewhere it needs --yes.`,
		Example: `  herald campaign resend-unknown 42
  herald campaign resend-unknown 42 --yes --output json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := checkFailureRate(o.maxFailureRate); err != nil {
				return err
			}
			app, run, err := openRun(cmd, o.g, io, a[0])
			if err != nil {
				return err
			}
			defer app.Close()
			ctx, id := cmd.Context(), run.ID
			c, err := app.store.Counts(ctx, id)
			if err != nil {
				return err
			}
			if c.Unknown == 0 {
				fmt.Fprintf(io.ErrOut, "run %d has no deliveries with an unknown outcome: nothing to resend\n", id)
				return nil
			}
			spec, err := app.loadCampaign(run.Campaign)
			if err != nil {
				return err
			}
			warning := fmt.Sprintf("%d deliveries of run %d (%s) have an unknown outcome: the platform may have delivered them, and resending may message these people twice.",
				c.Unknown, id, run.Campaign)
			switch {
			case o.yes:
			case io.InTTY:
				ok, err := confirm(io, warning+" Resend them? [y/N] ")
				if err != nil || !ok {
					fmt.Fprintln(io.ErrOut, "nothing resent")
					return err
				}
			default:
				return invalidf("%s Pass --yes to resend them anyway.", warning)
			}
			n, err := app.store.RequeueUnknown(ctx, id, time.Now())
			var conflict *campaign.RunConflict
			switch {
			case errors.As(err, &conflict):
				return invalidf("campaign %s has an unfinished run %d: resume or cancel it first", run.Campaign, conflict.Run.ID)
			case errors.Is(err, campaign.ErrRunBusy):
				return invalidf("run %d is being sent by another herald process: wait for it to stop", id)
			case errors.Is(err, campaign.ErrRunFinished):
				return invalidf("run %d was cancelled: its deliveries are not sent again", id)
			case err != nil:
				return err
			}
			if o.output != "json" {
				fmt.Fprintf(io.ErrOut, "%d deliveries put back to pending\n", n)
			}
			if run, err = app.store.Run(ctx, id); err != nil {
				return err
			}
			rep := &runReporter{a: app, io: io, json: o.output == "json", threshold: failureThreshold(spec, o.maxFailureRate)}
			return rep.resume(ctx, spec, run)
		},
	}
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "resend without asking (needed when not on a terminal)")
	cmd.Flags().Float64Var(&o.maxFailureRate, "max-failure-rate", -1, "exit 3 when more than this share of deliveries fail")
	outputFlag(cmd, &o.output, "text", "json")
	return cmd
}

// ---- dispatch and its report ----

type runReporter struct {
	a         *app
	io        *IOStreams
	json      bool
	threshold float64
}

func (r *runReporter) resume(ctx context.Context, spec *campaign.Spec, run campaign.Run) error {
	if err := r.a.ready(spec); err != nil {
		return err
	}
	if !r.json {
		fmt.Fprintf(r.io.ErrOut, "resuming run %d of %s (%s)\n", run.ID, spec.Name, run.State)
	}
	return r.dispatch(ctx, spec, run)
}

func (r *runReporter) dispatch(ctx context.Context, spec *campaign.Spec, run campaign.Run) error {
	// A progress bar on a terminal only; without one the dispatch is not
	// asked to report progress (and spares counting the run for it). The
	// bar is made from the first report, which comes before any delivery.
	var bar *progressbar.ProgressBar
	var progress campaign.Progress
	if r.io.ErrTTY && !r.json {
		progress = func(done, total int) {
			if bar == nil {
				if total == 0 {
					return
				}
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(r.io.ErrOut),
					progressbar.OptionSetDescription("sending "+spec.Name), progressbar.OptionShowCount(),
					progressbar.OptionShowIts(), progressbar.OptionSetItsString("msg"),
					progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
			}
			bar.Set(done)
		}
	}
	res, err := r.a.engine.Dispatch(ctx, spec, run, progress)
	if bar != nil {
		bar.Finish()
	}
	if errors.Is(err, campaign.ErrRunBusy) {
		return invalidf("run %d is being sent by another herald process right now; wait for it, or resume after it stops: %w", run.ID, err)
	}
	if err != nil {
		return err
	}
	if res.Recovered > 0 {
		fmt.Fprintf(r.io.ErrOut, "%d deliveries were in flight when an earlier process stopped: recorded as unknown, not re-sent\n", res.Recovered)
	}
	if err := r.print(reporting.Build(res.Run, res.Counts, time.Now())); err != nil {
		return err
	}
	switch res.Ending {
	case campaign.Interrupted:
		fmt.Fprintf(r.io.ErrOut, "run %d paused: %s\nresume it with: herald campaign resume %d\n", run.ID, res.Reason, run.ID)
		return silentExit(exitInterrupted)
	case campaign.Waiting:
		fmt.Fprintf(r.io.ErrOut, "run %d waiting: %s (local_time, quiet_hours)\nherald serve sends them when they fall due; or run herald campaign resume %d then\n",
			run.ID, res.Reason, run.ID)
		return nil
	case campaign.RateLimitPaused, campaign.Aborted:
		fmt.Fprintf(r.io.ErrOut, "run %d %s: %s\nresume it with: herald campaign resume %d\n", run.ID, res.Run.State, res.Reason, run.ID)
		return silentExit(exitRunFailed)
	}
	return r.checkFailures(res.Counts)
}

// follow sends on the run an idempotency key already created. While another
// herald process sends it (the same CI job started twice), it waits for that
// process and then prints the run's report and exit code, sending nothing;
// if that process died, its lease expires and this one finishes the run.
func (r *runReporter) follow(ctx context.Context, spec *campaign.Spec, run campaign.Run) error {
	if err := r.a.ready(spec); err != nil {
		return err
	}
	told := false
	for {
		err := r.dispatch(ctx, spec, run)
		// Finished: the other process ended the run between our last look
		// at it and this dispatch.
		finished := errors.Is(err, campaign.ErrRunFinished)
		if !finished && !errors.Is(err, campaign.ErrRunBusy) {
			return err
		}
		if !finished {
			if !told {
				fmt.Fprintf(r.io.ErrOut, "run %d of this idempotency key is being sent by another herald process: waiting for it\n", run.ID)
				told = true
			}
			if err := wait.Sleep(ctx, followPoll); err != nil {
				return silentExit(exitInterrupted)
			}
		}
		if run, err = r.a.store.Run(ctx, run.ID); err != nil {
			return err
		}
		if finished || !run.State.Resumable() {
			fmt.Fprintf(r.io.ErrOut, "idempotency key %q was used by run %d (%s): nothing sent by this process\n", run.IdempotencyKey, run.ID, run.State)
			return r.existing(ctx, run)
		}
	}
}

// followPoll is how often follow looks at the other process's run.
const followPoll = 500 * time.Millisecond

// existing prints a finished run's report with the exit code it earned.
func (r *runReporter) existing(ctx context.Context, run campaign.Run) error {
	c, err := r.a.store.Counts(ctx, run.ID)
	if err != nil {
		return err
	}
	if err := r.print(reporting.Build(run, c, time.Now())); err != nil {
		return err
	}
	if run.State == campaign.RunAborted || run.State == campaign.RunCancelled {
		return silentExit(exitRunFailed)
	}
	return r.checkFailures(c)
}

func (r *runReporter) print(s reporting.Summary) error {
	if r.json {
		return reporting.WriteJSON(r.io.Out, s)
	}
	return reporting.WriteTable(r.io.Out, s)
}

// checkFailures applies --max-failure-rate. People who blocked the bot are
// normal churn, not a failed broadcast, so "blocked" does not count; unknown
// outcomes do.
func (r *runReporter) checkFailures(c campaign.Counts) error {
	rate := failureRate(c)
	if rate > r.threshold {
		fmt.Fprintf(r.io.ErrOut, "%.1f%% of deliveries failed or are unknown, above the %.1f%% allowed (--max-failure-rate)\n", rate*100, r.threshold*100)
		return silentExit(exitRunFailed)
	}
	return nil
}

// checkFailureRate refuses a --max-failure-rate outside 0–1 (-1: not given).
func checkFailureRate(f float64) error {
	if f != -1 && (f < 0 || f > 1) {
		return &flagError{fmt.Errorf("--max-failure-rate %g: use a share between 0 and 1 (0.05 is 5%%)", f)}
	}
	return nil
}

// failureThreshold is --max-failure-rate when given (flag ≥ 0), else the
// campaign's max_failure_rate, else the default.
func failureThreshold(spec *campaign.Spec, flag float64) float64 {
	switch {
	case flag >= 0:
		return flag
	case spec.MaxFailureRate != nil:
		return *spec.MaxFailureRate
	}
	return campaign.DefaultMaxFailureRate
}

func failureRate(c campaign.Counts) float64 {
	failed := c.Failed + c.Unknown
	for _, rc := range c.Reasons {
		if rc.State == campaign.Failed && rc.Reason == "blocked" {
			failed -= rc.Count
		}
	}
	attempted := c.Targeted - c.Skipped - c.Pending - c.Sending
	if attempted <= 0 {
		return 0
	}
	return float64(failed) / float64(attempted)
}
