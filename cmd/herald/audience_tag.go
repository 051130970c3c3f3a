package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/reporting"
)

type tagOptions struct {
	g      *globalOptions
	add    bool // tag, or untag
	tags   []string
	sel    segmentFlags
	all    bool
	output string
}

// newTagCmd is `audience tag` (add true) or `audience untag`.
func newTagCmd(g *globalOptions, io *IOStreams, add bool) *cobra.Command {
	o := &tagOptions{g: g, add: add}
	cmd := &cobra.Command{
		Use:   "tag TAG...",
		Short: "Add tags to the selected subscribers",
		Long: `Adds tags to every subscriber the flags select. With no selector at all it refuses,
unless --all says you mean everyone. A tag cannot contain spaces, commas or semicolons.`,
		Example: `  herald audience tag vip --address 100000001 --address 100000002
  herald audience tag italian --locale it --channel telegram
  herald audience tag newsletter --all`,
	}
	if !add {
		cmd.Use, cmd.Short = "untag TAG...", "Remove tags from the selected subscribers"
		cmd.Long = `Removes tags from every subscriber the flags select. With no selector at all it
refuses, unless --all says you mean everyone.`
		cmd.Example = `  herald audience untag promo --status unsubscribed
  herald audience untag beta --all`
	}
	cmd.Args = args(cobra.MinimumNArgs(1))
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		o.tags = a
		return tagRun(cmd.Context(), cmd, o, io)
	}
	o.sel.register(cmd, true)
	cmd.Flags().BoolVar(&o.all, "all", false, "select every subscriber (needed when no other selector is given)")
	outputFlag(cmd, &o.output, "text", "json")
	return cmd
}

// changedJSON is what tag, untag and unsubscribe print with --output json.
type changedJSON struct {
	Changed int `json:"changed"`
}

func tagRun(ctx context.Context, cmd *cobra.Command, o *tagOptions, io *IOStreams) error {
	for _, t := range o.tags {
		if err := checkTag("tag", t); err != nil {
			return err
		}
	}
	if err := needSelector(&o.sel, o.all, "herald audience "+cmd.Name()+" "+strings.Join(o.tags, " ")); err != nil {
		return err
	}
	f, err := o.sel.filter(nil, false)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cmd, o.g, io, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := checkAddresses(ctx, a.store, f); err != nil {
		return err
	}
	add, remove := o.tags, []string(nil)
	if !o.add {
		add, remove = nil, o.tags
	}
	n, err := a.store.Retag(ctx, f, add, remove, time.Now())
	if err != nil {
		return err
	}
	if o.output == "json" {
		return reporting.WriteJSON(io.Out, changedJSON{Changed: n})
	}
	if o.add {
		fmt.Fprintf(io.Out, "tagged %d subscriber(s) with %s\n", n, strings.Join(o.tags, ", "))
	} else {
		fmt.Fprintf(io.Out, "removed %s from %d subscriber(s)\n", strings.Join(o.tags, ", "), n)
	}
	return nil
}

// needSelector refuses a command that would change everyone by accident:
// without a selector it needs --all, and --all goes alone.
func needSelector(sel *segmentFlags, all bool, example string) error {
	switch {
	case all && sel.selects():
		return &flagError{errors.New("--all selects every subscriber: drop it, or drop the other selectors")}
	case !all && !sel.selects():
		return &flagError{fmt.Errorf("no subscribers selected: pass --address, a segment (--tags-any, --tags-all, --tags-none, --locale, --channel, --status), or --all for everyone (e.g. %s --all)", example)}
	}
	return nil
}

type unsubscribeOptions struct {
	g      *globalOptions
	sel    segmentFlags
	yes    bool
	output string
}

func newUnsubscribeCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &unsubscribeOptions{g: g}
	cmd := &cobra.Command{
		Use:   "unsubscribe [ADDRESS...]",
		Short: "Unsubscribe subscribers by address or by segment",
		Long: `Sets the selected subscribers to unsubscribed: herald sends them nothing more, and
neither an import nor herald itself ever re-subscribes them; only a new opt-in of their
own (a /start, a Messenger opt-in) does.

Select by address (arguments or --address) or by segment flags. By default only
subscribed people are changed; --status widens that (e.g. --status blocked). A
segment-wide unsubscribe asks for confirmation on a terminal (--yes skips it). To erase
someone's data, use herald audience forget.`,
		Example: `  herald audience unsubscribe 100000001
  herald audience unsubscribe --tags-any spring-2025 --yes`,
		RunE: func(cmd *cobra.Command, a []string) error {
			o.sel.addresses = append(o.sel.addresses, a...)
			return unsubscribeRun(cmd.Context(), cmd, o, io)
		},
	}
	o.sel.register(cmd, true)
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	outputFlag(cmd, &o.output, "text", "json")
	return cmd
}

func unsubscribeRun(ctx context.Context, cmd *cobra.Command, o *unsubscribeOptions, io *IOStreams) error {
	if !o.sel.selects() {
		return &flagError{errors.New("no subscribers selected: name them (herald audience unsubscribe ADDRESS...) or select a segment (--tags-any, --tags-all, --tags-none, --locale, --channel, --status)")}
	}
	f, err := o.sel.filter([]audience.Status{audience.Subscribed}, false)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cmd, o.g, io, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := checkAddresses(ctx, a.store, f); err != nil {
		return err
	}
	if len(f.Addresses) == 0 && io.InTTY && !o.yes {
		n := 0
		err := a.store.Subscribers(ctx, f, func(s audience.Subscriber) error {
			if s.Status != audience.Unsubscribed {
				n++
			}
			return nil
		})
		if err != nil {
			return err
		}
		if n == 0 {
			fmt.Fprintf(io.ErrOut, "no subscriber matches %s: nothing to unsubscribe\n", o.sel.describe())
			return nil
		}
		ok, err := confirm(io, fmt.Sprintf("Unsubscribe %d subscriber(s) (%s)? Only a new opt-in of their own brings them back. [y/N] ",
			n, o.sel.describe()))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(io.ErrOut, "nothing changed")
			return nil
		}
	}
	n, err := a.store.SetStatuses(ctx, f, audience.Unsubscribed, time.Now())
	if err != nil {
		return err
	}
	if o.output == "json" {
		return reporting.WriteJSON(io.Out, changedJSON{Changed: n})
	}
	fmt.Fprintf(io.Out, "unsubscribed %d subscriber(s)\n", n)
	return nil
}
