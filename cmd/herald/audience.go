package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/reporting"
)

func newAudienceCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audience",
		Short: "Import, list, tag, export and forget subscribers; acquisition links and growth",
		Long: `Manages the audience. Commands that work on many subscribers select them with the same
flags: --tags-any, --tags-all, --tags-none, --locale, --channel, --status and, where it
makes sense, --address (repeatable). See docs/audience.md.`,
	}
	cmd.AddCommand(newImportCmd(g, io), newListCmd(g, io), newShowCmd(g, io), newTagCmd(g, io, true), newTagCmd(g, io, false),
		newUnsubscribeCmd(g, io), newExportCmd(g, io), newForgetCmd(g, io), newStatsCmd(g, io), newLinkCmd(g, io),
		newLinksCmd(g, io))
	return cmd
}

type importOptions struct {
	g           *globalOptions
	file        string
	skipInvalid bool
	output      string
}

// importErrors are the refused rows of an import: bad input, exit 2.
type importErrors []audience.RowError

func (e importErrors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d row(s) refused; nothing was imported (fix them, or pass --skip-invalid to import the valid rows):", len(e))
	for i, re := range e {
		if i == 50 {
			fmt.Fprintf(&b, "\n… and %d more", len(e)-50)
			break
		}
		b.WriteString("\n" + re.Error())
	}
	return b.String()
}

func newImportCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &importOptions{g: g}
	cmd := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import subscribers from a CSV file (re-importing updates, never duplicates)",
		Long: `Imports subscribers from a CSV file with a header row.

Required columns: channel (telegram), address (the chat id), consent_at (RFC 3339 time
of the opt-in), consent_source (how they opted in, e.g. telegram_start or import).
Optional: name, locale, timezone (IANA), tags (separated by ;), consent_ref, consent_proof.

A row without consent is refused. Every refused row is reported with its line; a file
with any refused row imports nothing unless --skip-invalid. Re-importing a subscriber
updates their details and adds tags; it never re-subscribes someone who unsubscribed
or blocked the bot. A row for someone who asked to be forgotten (herald audience forget)
is not imported unless its consent_at is later than when they were forgotten.`,
		Example: `  herald audience import audience.csv
  herald audience import export.csv --skip-invalid --output json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.file = a[0]
			return importRun(cmd.Context(), cmd, o, io)
		},
	}
	cmd.Flags().BoolVar(&o.skipInvalid, "skip-invalid", false, "import the valid rows and report the refused ones")
	outputFlag(cmd, &o.output, "text", "json")
	return cmd
}

type importJSON struct {
	File     string `json:"file"`
	Rows     int    `json:"rows"`
	Imported int    `json:"imported"`
	audience.ImportStats
	Refused []rowErrorJSON `json:"refused"`
}

type rowErrorJSON struct {
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
}

func importRun(ctx context.Context, cmd *cobra.Command, o *importOptions, io *IOStreams) error {
	f, err := os.Open(o.file)
	if err != nil {
		return invalidf("cannot read %s: %v", o.file, err)
	}
	defer f.Close()
	parsed, err := audience.ParseCSV(f, o.file, time.Now())
	if err != nil {
		return invalid(err)
	}
	if len(parsed.Errors) > 0 && !o.skipInvalid {
		return importErrors(parsed.Errors)
	}
	a, err := openApp(ctx, cmd, o.g, io, true)
	if err != nil {
		return err
	}
	defer a.Close()
	st, err := a.store.Upsert(ctx, parsed.Subscribers, time.Now())
	if err != nil {
		return err
	}
	res := importJSON{File: o.file, Rows: len(parsed.Subscribers) + len(parsed.Errors), Imported: len(parsed.Subscribers) - st.Forgotten,
		ImportStats: st, Refused: []rowErrorJSON{}}
	for _, re := range parsed.Errors {
		res.Refused = append(res.Refused, rowErrorJSON{Line: re.Line, Column: re.Column, Value: re.Value, Reason: re.Reason})
	}
	if o.output == "json" {
		return reporting.WriteJSON(io.Out, res)
	}
	for _, re := range parsed.Errors {
		fmt.Fprintln(io.ErrOut, "skipped: "+re.Error())
	}
	fmt.Fprintf(io.Out, "%s: %d new, %d updated, %d unchanged", o.file, st.Inserted, st.Updated, st.Unchanged)
	if st.Forgotten > 0 {
		fmt.Fprintf(io.Out, ", %d forgotten", st.Forgotten)
	}
	if len(parsed.Errors) > 0 {
		fmt.Fprintf(io.Out, ", %d refused", len(parsed.Errors))
	}
	fmt.Fprintln(io.Out)
	if st.KeptStatus > 0 {
		fmt.Fprintf(io.Out, "%d of them had unsubscribed or blocked the bot and stay that way: an import never re-subscribes anyone\n", st.KeptStatus)
	}
	if st.Forgotten > 0 {
		fmt.Fprintf(io.Out, "%d row(s) belong to people who asked to be forgotten and carry no newer consent: not imported\n", st.Forgotten)
	}
	return nil
}

type listOptions struct {
	g      *globalOptions
	sel    segmentFlags
	output string
}

func newListCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &listOptions{g: g}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List subscribers, optionally a segment of them",
		Example: `  herald audience list
  herald audience list --tags-any blog --status subscribed --output json
  herald audience list --status forgotten    # the anonymised tombstones`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listRun(cmd.Context(), cmd, o, io)
		},
	}
	o.sel.register(cmd, true)
	cmd.Flags().Lookup("status").Usage += " (or forgotten: the tombstones, never listed otherwise)"
	outputFlag(cmd, &o.output, "table", "json", "csv")
	return cmd
}

func listRun(ctx context.Context, cmd *cobra.Command, o *listOptions, io *IOStreams) error {
	filter, err := o.sel.filter(nil, true)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cmd, o.g, io, true)
	if err != nil {
		return err
	}
	defer a.Close()
	switch o.output {
	case "json":
		// A JSON array, streamed: the audience is never held in memory.
		enc := json.NewEncoder(io.Out)
		first := true
		fmt.Fprint(io.Out, "[")
		err := a.store.Subscribers(ctx, filter, func(s audience.Subscriber) error {
			if !first {
				fmt.Fprint(io.Out, ",")
			}
			first = false
			return enc.Encode(s)
		})
		fmt.Fprintln(io.Out, "]")
		return err
	case "csv":
		cw := csv.NewWriter(io.Out)
		cw.Write([]string{"channel", "address", "name", "locale", "timezone", "tags", "status", "consent_at", "consent_source", "consent_ref"})
		err := a.store.Subscribers(ctx, filter, func(s audience.Subscriber) error {
			return cw.Write([]string{s.Channel, s.Address, s.Name, s.Locale, s.Timezone, strings.Join(s.Tags, ";"), string(s.Status),
				s.Consent.At.Format(time.RFC3339), s.Consent.Source, s.Consent.Ref})
		})
		cw.Flush()
		if err != nil {
			return err
		}
		return cw.Error()
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANNEL\tADDRESS\tNAME\tLOCALE\tTAGS\tSTATUS\tCONSENT")
	n := 0
	err = a.store.Subscribers(ctx, filter, func(s audience.Subscriber) error {
		n++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s %s\n", s.Channel, s.Address, s.Name, s.Locale, strings.Join(s.Tags, ","), s.Status,
			s.Consent.Source, s.Consent.At.Format("2006-01-02"))
		return nil
	})
	if err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(io.ErrOut, "%d subscriber(s)\n", n)
	return nil
}
