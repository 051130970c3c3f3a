package main

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	_ "time/tzdata" // IANA zones on machines without them
)

func newRootCmd(io *IOStreams) *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "herald",
		Short: "Broadcast campaigns to opted-in Telegram and Messenger subscribers, from files kept in git",
		Long: `herald sends broadcast campaigns to people who opted in. Campaigns are YAML files
in a workspace (a folder with herald.yaml); herald reads their sources (RSS, Atom,
JSON Feed), renders the messages, sends them within the platform's limits, and
records every recipient's outcome in a ledger, so no one is messaged twice.`,
		Example: `  herald demo                                 # try everything against a local sandbox
  herald init mybrand && cd mybrand           # start a workspace
  herald audience import audience.csv
  herald lint
  herald campaign preview blog-digest
  herald campaign send blog-digest --dry-run
  herald campaign send blog-digest
  herald report 1`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	pf := root.PersistentFlags()
	pf.StringVar(&g.workspace, "workspace", "", "workspace folder (default: $HERALD_WORKSPACE, or the nearest folder upward with herald.yaml)")
	pf.StringVar(&g.logLevel, "log-level", "", "log detail on stderr: debug, info, warn (default) or error")
	pf.String("telegram-api-url", "", "Telegram Bot API URL (overrides telegram.api_url)")
	pf.Float64("telegram-rate", 0, "Telegram messages per second (overrides telegram.rate)")
	pf.String("messenger-api-url", "", "Messenger Graph API URL (overrides messenger.api_url)")
	pf.String("storage-path", "", "the SQLite database file (overrides storage.path)")
	usageFlags(root)

	root.AddCommand(
		newInitCmd(io),
		newDemoCmd(io),
		newLintCmd(g, io),
		newCampaignCmd(g, io),
		newAudienceCmd(g, io),
		newReportCmd(g, io),
		newRunCmd(g, io),
		newSandboxCmd(io),
		newServeCmd(g, io),
		newChannelsCmd(g, io),
		newScheduleCmd(g, io),
		newSourcesCmd(g, io),
	)
	groupCmd(root)
	for _, c := range root.Commands() {
		usageFlags(c)
		if c.HasSubCommands() {
			groupCmd(c)
		}
		for _, cc := range c.Commands() {
			usageFlags(cc)
		}
	}
	return root
}

// groupCmd makes a command that only groups others print its help when
// called alone and refuse anything else as a usage mistake (exit 2). Left to
// cobra, "herald campaign sned x" prints help and exits 0, which a CI job
// would take for success, and "herald campagn" exits 1.
func groupCmd(cmd *cobra.Command) {
	cmd.SuggestionsMinimumDistance = 2
	cmd.DisableFlagsInUseLine = true
	cmd.Args = func(c *cobra.Command, a []string) error {
		if len(a) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", a[0], c.CommandPath())
		if s := c.SuggestionsFor(a[0]); len(s) > 0 {
			msg += " (did you mean " + strings.Join(s, " or ") + "?)"
		}
		return &flagError{errors.New(msg)}
	}
	cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// outputFlag adds --output with the allowed formats; the first is the default.
func outputFlag(cmd *cobra.Command, dst *string, formats ...string) {
	cmd.Flags().StringVarP(dst, "output", "o", formats[0], "output format: "+strings.Join(formats, ", "))
	prev := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, a []string) error {
		if !slices.Contains(formats, *dst) {
			return &flagError{fmt.Errorf("--output %q: use %s", *dst, strings.Join(formats, ", "))}
		}
		if prev != nil {
			return prev(c, a)
		}
		return nil
	}
}
