package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/audience"
)

type forgetOptions struct {
	g       *globalOptions
	address string
	channel string
	yes     bool
}

func newForgetCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &forgetOptions{g: g}
	cmd := &cobra.Command{
		Use:   "forget ADDRESS",
		Short: "Erase a person's data, keeping only an anonymised tombstone",
		Long: `Erases everything herald keeps about a person: name, locale, timezone, tags, consent
record, Messenger opt-in tokens, and the message ids and errors of what was sent to them.
It cannot be undone.

What is kept: an anonymised tombstone — a hash of the address keyed with this store's
own secret, not the address — so that the counts of past reports and of the audience
history stay right, and so that a later import of the same address is refused unless it
carries consent given after now. A new opt-in of their own (a /start, a Messenger
opt-in) subscribes them again as a new person.

Export their data first if they asked for it (herald audience export --address ADDRESS).
forget asks for confirmation on a terminal; elsewhere it needs --yes.`,
		Example: `  herald audience forget 100000001
  herald audience forget 7100000000000001 --channel messenger --yes`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.address = a[0]
			return forgetRun(cmd.Context(), cmd, o, io)
		},
	}
	cmd.Flags().StringVar(&o.channel, "channel", "", "the subscriber's channel, when the address is on several")
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "forget without asking (needed when not on a terminal)")
	return cmd
}

func forgetRun(ctx context.Context, cmd *cobra.Command, o *forgetOptions, io *IOStreams) error {
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
	who := sub.Channel + " " + sub.Address
	if sub.Name != "" {
		who += " (" + sub.Name + ")"
	}
	warning := fmt.Sprintf("Forgetting %s erases their name, tags, consent record and message ids; it cannot be undone.", who)
	switch {
	case o.yes:
	case io.InTTY:
		ok, err := confirm(io, warning+" Forget them? [y/N] ")
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(io.ErrOut, "nothing changed")
			return nil
		}
	default:
		return invalidf("%s Pass --yes to forget them (herald cannot ask: this is not a terminal).", warning)
	}
	now := time.Now()
	err = a.store.Forget(ctx, sub.Channel, sub.Address, now)
	if errors.Is(err, audience.ErrNoSubscriber) {
		// Forgotten by another process since we looked.
		return invalidf("no subscriber %s on %s (see herald audience list)", sub.Address, sub.Channel)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "forgot %s %s: their name, locale, timezone, tags, consent record, opt-in tokens and message ids are erased.\n",
		sub.Channel, sub.Address)
	fmt.Fprintln(io.Out, "Kept: an anonymised tombstone (a keyed hash of the address, not the address) and their place in the counts of past reports and of herald audience stats.")
	fmt.Fprintf(io.Out, "A re-import of this address will be refused unless it carries consent given after %s.\n", stamp(now))
	return nil
}
