package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/channels/sandbox"
	"github.com/heraldcli/herald/configs"
)

func newInitCmd(io *IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "init DIR",
		Short: "Create a workspace: herald.yaml, an example campaign and audience",
		Example: `  herald init mybrand
  cd mybrand && herald lint`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := configs.WriteWorkspace(a[0]); err != nil {
				return invalid(err)
			}
			fmt.Fprintf(io.Out, `Created workspace %s:
  herald.yaml                 settings (keep the bot token in HERALD_TELEGRAM_TOKEN)
  campaigns/blog-digest.yaml  a digest of an RSS feed
  campaigns/announcement.yaml a one-off message
  audience.csv                example subscribers with their consent
  feeds/blog.xml              a sample feed

Next:
  cd %s
  herald audience import audience.csv
  herald lint
  herald campaign preview blog-digest
`, a[0], a[0])
			return nil
		},
	}
}

func newDemoCmd(io *IOStreams) *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the example workspace against a local sandbox: import, send, report",
		Long: `Creates a temporary workspace from the example, starts the Telegram sandbox on a free
loopback port, imports the sample audience, sends the sample RSS campaign and prints
the delivery report. No token, server or network needed.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return demoRun(cmd.Context(), io, keep)
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo workspace instead of deleting it")
	return cmd
}

func demoRun(ctx context.Context, io *IOStreams, keep bool) error {
	dir, err := os.MkdirTemp("", "herald-demo-")
	if err != nil {
		return err
	}
	if keep {
		defer fmt.Fprintf(io.Out, "\nThe demo workspace is kept in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	ws := filepath.Join(dir, "mybrand")
	if err := configs.WriteWorkspace(ws); err != nil {
		return err
	}
	sb := sandbox.New(sandbox.Options{})
	url, err := sb.Start("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start sandbox: %w", err)
	}
	defer sb.Close()
	// One subscriber has blocked the bot, to show how herald handles it.
	sb.SetChat("100000005", sandbox.ChatBlocked)

	env := map[string]string{"HERALD_TELEGRAM_API_URL": url, "HERALD_TELEGRAM_TOKEN": sandboxToken, "HERALD_WORKSPACE": ws}
	demoIO := *io
	demoIO.InTTY = false
	demoIO.Getenv = func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return io.Getenv(k)
	}
	fmt.Fprintf(io.Out, "herald demo: a workspace from the example in %s, the Telegram sandbox at %s\n", ws, url)
	steps := [][]string{
		{"audience", "import", filepath.Join(ws, "audience.csv")},
		{"lint"},
		{"campaign", "send", "blog-digest", "--dry-run"},
		{"campaign", "send", "blog-digest", "--yes"},
		{"campaign", "send", "blog-digest", "--yes"},
	}
	for _, step := range steps {
		fmt.Fprintf(io.Out, "\n$ herald %s\n", strings.ReplaceAll(strings.Join(step, " "), ws+string(filepath.Separator), ""))
		if code := run(ctx, step, &demoIO); code != exitOK {
			return silentExit(code)
		}
	}
	msgs := sb.Messages()
	fmt.Fprintf(io.Out, "\nThe sandbox received %d message(s); the first:\n", len(msgs))
	if len(msgs) > 0 {
		m := msgs[0]
		fmt.Fprintf(io.Out, "  to chat %s via %s:\n", m.Chat, m.Method)
		for line := range strings.Lines(m.Plain) {
			fmt.Fprintf(io.Out, "  │ %s", line)
		}
		fmt.Fprintln(io.Out)
	}
	fmt.Fprintln(io.Out, "\nThe second send found no new items and sent nothing: herald never sends an item twice.")
	fmt.Fprintln(io.Out, "Next: herald init mybrand, then herald sandbox to try your own campaigns.")
	return nil
}
