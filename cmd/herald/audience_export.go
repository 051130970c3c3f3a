package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/audience"
)

type exportOptions struct {
	g      *globalOptions
	sel    segmentFlags
	output string
	file   string
}

func newExportCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &exportOptions{g: g}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export subscribers with their consent record and history (CSV or JSON)",
		Long: `Exports the selected subscribers (everyone by default), one record each, with every
field herald keeps: channel, address, name, locale, timezone, tags, status, the consent
record (when, how, ref, proof), last inbound message, messaging window, when the record
was created and updated, and the history of their status changes.

For a data-access request, export one person: herald audience export --address ID
--output json. CSV puts the history in one column (events separated by " | "); JSON
gives it as an array. --file writes the file only when the export is complete, readable
by you alone (it holds personal data); without it the export goes to standard output.`,
		Example: `  herald audience export --address 100000001 --output json --file ada.json
  herald audience export --tags-any blog --file blog.csv`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exportRun(cmd.Context(), cmd, o, io)
		},
	}
	o.sel.register(cmd, true)
	cmd.Flags().StringVar(&o.file, "file", "", "write to this file instead of standard output")
	outputFlag(cmd, &o.output, "csv", "json")
	return cmd
}

// exportColumns are the CSV export's header.
var exportColumns = []string{"id", "channel", "address", "name", "locale", "timezone", "tags", "status",
	"consent_at", "consent_source", "consent_ref", "consent_proof", "last_inbound_at", "window_until",
	"created_at", "updated_at", "history"}

func exportRun(ctx context.Context, cmd *cobra.Command, o *exportOptions, io *IOStreams) error {
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
	out := io.Out
	var file *atomicFile
	if o.file != "" {
		if file, err = createAtomic(o.file); err != nil {
			return err
		}
		defer file.abort()
		out = file
	}
	bw := bufio.NewWriter(out)
	n := 0
	write := exportCSV
	if o.output == "json" {
		write = exportJSON
	}
	err = write(bw, func(fn func(subscriberRecord) error) error {
		return a.store.Subscribers(ctx, f, func(s audience.Subscriber) error {
			hist, err := a.store.History(ctx, s.ID)
			if err != nil {
				return err
			}
			n++
			return fn(subscriberRecord{Subscriber: s, History: hist})
		})
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return err
	}
	if file != nil {
		if err := file.commit(); err != nil {
			return err
		}
		fmt.Fprintf(io.ErrOut, "%d subscriber(s) exported to %s\n", n, o.file)
	}
	return nil
}

// each streams records to its callback.
type each func(fn func(subscriberRecord) error) error

// exportJSON writes a JSON array, one record per line, streamed.
func exportJSON(w io.Writer, records each) error {
	enc := json.NewEncoder(w)
	if _, err := io.WriteString(w, "["); err != nil {
		return err
	}
	sep := "\n"
	err := records(func(r subscriberRecord) error {
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		sep = ","
		return enc.Encode(r) // ends with a newline
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "]\n")
	return err
}

// exportCSV writes the records as CSV with exportColumns.
func exportCSV(w io.Writer, records each) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(exportColumns); err != nil {
		return err
	}
	err := records(func(r subscriberRecord) error {
		s := r.Subscriber
		hist := make([]string, len(r.History))
		for i, e := range r.History {
			hist[i] = eventText(e)
		}
		return cw.Write([]string{strconv.FormatInt(s.ID, 10), s.Channel, s.Address, s.Name, s.Locale, s.Timezone,
			strings.Join(s.Tags, ";"), string(s.Status), stamp(s.Consent.At), s.Consent.Source, s.Consent.Ref, s.Consent.Proof,
			stamp(s.LastInboundAt), stamp(s.WindowUntil), stamp(s.CreatedAt), stamp(s.UpdatedAt), strings.Join(hist, " | ")})
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
}

// atomicFile is a file written under a temporary name and renamed into
// place on commit: a failed export leaves no half-written file behind.
type atomicFile struct {
	*os.File
	path string
	done bool
}

// createAtomic starts writing path. The file is readable by its owner only:
// exports hold personal data.
func createAtomic(path string) (*atomicFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, invalidf("cannot write %s: %v", path, err)
	}
	return &atomicFile{File: f, path: path}, nil
}

func (f *atomicFile) commit() error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := os.Rename(f.Name(), f.path); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	f.done = true
	return nil
}

// abort removes the temporary file unless commit moved it into place.
func (f *atomicFile) abort() {
	if !f.done {
		f.Close()
		os.Remove(f.Name())
	}
}
