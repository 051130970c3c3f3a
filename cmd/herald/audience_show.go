package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/reporting"
)

type showOptions struct {
	g       *globalOptions
	address string
	channel string
	output  string
}

func newShowCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &showOptions{g: g}
	cmd := &cobra.Command{
		Use:   "show ADDRESS",
		Short: "Show one subscriber: consent record, status, tags, window and history",
		Long: `Shows one subscriber: their details, consent record (when, how, the ref and the proof),
status, tags, messaging window, and every change of status since they first subscribed.

ADDRESS is the Telegram chat id or the Messenger PSID. When the same address is a
subscriber on both channels, --channel says which.`,
		Example: `  herald audience show 100000001
  herald audience show 7100000000000001 --channel messenger --output json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.address = a[0]
			return showRun(cmd.Context(), cmd, o, io)
		},
	}
	cmd.Flags().StringVar(&o.channel, "channel", "", "the subscriber's channel, when the address is on several")
	outputFlag(cmd, &o.output, "text", "json")
	return cmd
}

// subscriberRecord is a subscriber with their history: what show and
// export print.
type subscriberRecord struct {
	audience.Subscriber
	History []audience.Event `json:"history"`
}

func showRun(ctx context.Context, cmd *cobra.Command, o *showOptions, io *IOStreams) error {
	if err := checkChannel(o.channel); err != nil {
		return err
	}
	a, err := openApp(ctx, cmd, o.g, io, true)
	if err != nil {
		return err
	}
	defer a.Close()
	sub, err := findSubscriber(ctx, a.store, o.channel, o.address)
	if err != nil {
		return err
	}
	hist, err := a.store.History(ctx, sub.ID)
	if err != nil {
		return err
	}
	rec := subscriberRecord{Subscriber: sub, History: hist}
	if o.output == "json" {
		return reporting.WriteJSON(io.Out, rec)
	}
	return writeSubscriberText(io, rec)
}

func writeSubscriberText(io *IOStreams, r subscriberRecord) error {
	s := r.Subscriber
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("Subscriber", s.Channel+" "+s.Address)
	row("Name", s.Name)
	row("Status", string(s.Status))
	tags := strings.Join(s.Tags, ", ")
	if tags == "" {
		tags = "(none)"
	}
	row("Tags", tags)
	row("Locale", s.Locale)
	row("Timezone", s.Timezone)
	consent := stamp(s.Consent.At)
	if s.Consent.Source != "" {
		consent += " via " + s.Consent.Source
	}
	row("Consent", strings.TrimSpace(consent))
	row("  ref", s.Consent.Ref)
	row("  proof", s.Consent.Proof)
	row("Last inbound", stamp(s.LastInboundAt))
	switch {
	case s.WindowUntil.IsZero():
	case s.WindowUntil.After(time.Now()):
		row("Window", "open until "+stamp(s.WindowUntil))
	default:
		row("Window", "closed since "+stamp(s.WindowUntil))
	}
	row("Created", stamp(s.CreatedAt))
	row("Updated", stamp(s.UpdatedAt))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(io.Out, "\nHistory")
	if len(r.History) == 0 {
		fmt.Fprintln(io.Out, "  (none recorded)")
	}
	for _, e := range r.History {
		fmt.Fprintln(io.Out, "  "+eventText(e))
	}
	return nil
}

// eventText is one history event on one line, e.g.
// "2026-01-10T09:15:00Z subscribed via telegram_start (ref spring-promo)" or
// "2026-03-01T08:00:00Z subscribed → unsubscribed".
func eventText(e audience.Event) string {
	var b strings.Builder
	b.WriteString(stamp(e.At) + " ")
	if e.Previous != "" {
		b.WriteString(string(e.Previous) + " → ")
	}
	b.WriteString(string(e.Kind))
	if e.Source != "" {
		b.WriteString(" via " + e.Source)
	}
	if e.Ref != "" {
		b.WriteString(" (ref " + e.Ref + ")")
	}
	return b.String()
}

// stamp is t in RFC 3339 (UTC), or "" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
