package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/reporting"
)

func newReportCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "report RUN",
		Short: "Show a run's delivery report: counts by state and reason, duration, send rate",
		Long: `Shows a run's report. --output json prints the same object as
'herald campaign send --output json', so scripts read one shape.`,
		Example: `  herald report 42
  herald report 42 --output json | jq .counts
  herald report 42 --output csv > run-42.csv`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			app, run, err := openRun(cmd, g, io, a[0])
			if err != nil {
				return err
			}
			defer app.Close()
			c, err := app.store.Counts(cmd.Context(), run.ID)
			if err != nil {
				return err
			}
			s := reporting.Build(run, c, time.Now())
			switch output {
			case "json":
				return reporting.WriteJSON(io.Out, s)
			case "csv":
				return reporting.WriteCSV(io.Out, s)
			}
			return reporting.WriteTable(io.Out, s)
		},
	}
	outputFlag(cmd, &output, "table", "json", "csv")
	return cmd
}

func newRunCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	cmd := &cobra.Command{Use: "run", Short: "List runs"}
	var output, camp string
	var limit int
	list := &cobra.Command{
		Use:     "list",
		Short:   "List runs, newest first, with their counts",
		Example: "  herald run list\n  herald run list --campaign blog-digest --limit 5 --output json",
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			app, err := openApp(ctx, cmd, g, io, true)
			if err != nil {
				return err
			}
			defer app.Close()
			runs, err := app.store.Runs(ctx, campaign.RunFilter{Campaign: camp, Limit: limit})
			if err != nil {
				return err
			}
			rows := []reporting.RunRow{}
			for _, r := range runs {
				c, err := app.store.Counts(ctx, r.ID)
				if err != nil {
					return err
				}
				rows = append(rows, reporting.Row(reporting.Build(r, c, time.Now())))
			}
			switch output {
			case "json":
				return reporting.WriteJSON(io.Out, rows)
			case "csv":
				return reporting.WriteRunsCSV(io.Out, rows)
			}
			return reporting.WriteRunsTable(io.Out, rows)
		},
	}
	list.Flags().StringVar(&camp, "campaign", "", "only this campaign's runs")
	list.Flags().IntVar(&limit, "limit", 20, "at most this many runs (0 for all)")
	outputFlag(list, &output, "table", "json", "csv")
	cmd.AddCommand(list)
	return cmd
}
