package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/audience/lifecycle"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/reporting"
)

type linkOptions struct {
	g       *globalOptions
	channel string
	source  string
	tags    []string
	payload string
	qr      string
	output  string
}

func newLinkCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &linkOptions{g: g}
	cmd := &cobra.Command{
		Use:   "link --channel telegram|messenger --source NAME",
		Short: "Make an acquisition link (t.me deep link or m.me ref), optionally as a QR code",
		Long: `Prints a link that subscribes whoever opens it and starts the conversation, with the
source and tags you give, and records it, so that herald audience stats and
herald audience links can say how many subscribers it brought.

Telegram: https://t.me/<bot>?start=<payload> (the bot's username comes from Telegram,
so telegram.token must be set). Messenger: https://m.me/<page>?ref=<payload>
(messenger.page_id must be set).

The payload defaults to the source. Telegram allows 1 to 64 letters, digits, _ and -,
and herald asks the same of Messenger refs. A payload keeps its meaning once recorded:
making it again with the same source and tags prints the same link; with others it is
refused. --qr writes the link as a QR code (PNG) for print.`,
		Example: `  herald audience link --channel telegram --source spring-promo --tag promo
  herald audience link --channel telegram --source "Spring flyer" --payload flyer-2026 --tag promo --qr flyer.png
  herald audience link --channel messenger --source website --output json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return linkRun(cmd.Context(), cmd, o, io)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.channel, "channel", "", "telegram or messenger (required)")
	f.StringVar(&o.source, "source", "", "where the link is published, e.g. spring-promo (required)")
	f.StringSliceVar(&o.tags, "tag", nil, "tag the people who subscribe through the link (repeatable)")
	f.StringVar(&o.payload, "payload", "", "the start payload or ref (default: the source)")
	f.StringVar(&o.qr, "qr", "", "also write the link as a QR code to this PNG file")
	outputFlag(cmd, &o.output, "text", "json")
	return cmd
}

type linkJSON struct {
	audience.Link
	// New says the link was recorded now; false when it already was.
	New bool   `json:"new"`
	QR  string `json:"qr,omitempty"`
}

func linkRun(ctx context.Context, cmd *cobra.Command, o *linkOptions, io *IOStreams) error {
	if o.channel == "" {
		return &flagError{fmt.Errorf("--channel is required: %s", strings.Join(knownChannels, " or "))}
	}
	if err := checkChannel(o.channel); err != nil {
		return err
	}
	o.source = strings.TrimSpace(o.source)
	if o.source == "" {
		return &flagError{errors.New("--source is required: name where the link is published, e.g. --source spring-promo")}
	}
	for _, t := range o.tags {
		if err := checkTag("--tag", t); err != nil {
			return err
		}
	}
	payload := o.payload
	if payload == "" {
		payload = o.source
	}
	if !lifecycle.PayloadRE.MatchString(payload) {
		hint := ""
		if o.payload == "" {
			hint = " (the payload defaults to --source: pass --payload)"
		}
		return invalidf("--payload %q: use 1 to 64 letters, digits, _ or - (Telegram's deep-link alphabet)%s", payload, hint)
	}
	if o.qr != "" && !strings.EqualFold(filepath.Ext(o.qr), ".png") {
		return invalidf("--qr %s: herald writes QR codes as PNG: name the file .png", o.qr)
	}
	var qrFile *atomicFile
	if o.qr != "" {
		// Before the link is recorded: a QR code that cannot be written
		// leaves nothing behind.
		f, err := createAtomic(o.qr)
		if err != nil {
			return err
		}
		defer f.abort()
		qrFile = f
	}
	a, err := openApp(ctx, cmd, o.g, io, true)
	if err != nil {
		return err
	}
	defer a.Close()
	url, err := linkURL(ctx, a, o.channel, payload)
	if err != nil {
		return err
	}
	now := time.Now()
	l, err := a.store.SaveLink(ctx, audience.Link{Channel: o.channel, Payload: payload, Source: o.source, Tags: o.tags,
		URL: url, CreatedAt: now})
	if errors.Is(err, audience.ErrLinkTaken) {
		tags := "no tags"
		if len(l.Tags) > 0 {
			tags = "tags " + strings.Join(l.Tags, ", ")
		}
		return invalidf("payload %q on %s already means source %q with %s (recorded %s): pick another --payload",
			payload, o.channel, l.Source, tags, l.CreatedAt.Format(time.DateOnly))
	}
	if err != nil {
		return err
	}
	// SaveLink hands back what it was given when it recorded it, the
	// stored link when it already was.
	res := linkJSON{Link: l, New: l.CreatedAt.Equal(now)}
	res.URL = url // the bot or page may have been renamed since
	if qrFile != nil {
		if err := writeQR(qrFile, url); err != nil {
			return err
		}
		res.QR = o.qr
	}
	if o.output == "json" {
		return reporting.WriteJSON(io.Out, res)
	}
	fmt.Fprintln(io.Out, url)
	tags := "no tags"
	if len(l.Tags) > 0 {
		tags = "tags " + strings.Join(l.Tags, ", ")
	}
	if !res.New {
		fmt.Fprintf(io.ErrOut, "already recorded on %s; ", l.CreatedAt.Format(time.DateOnly))
	}
	fmt.Fprintf(io.ErrOut, "people who subscribe through it get source %q and %s\n", l.Source, tags)
	if res.QR != "" {
		fmt.Fprintf(io.ErrOut, "QR code written to %s\n", res.QR)
	}
	return nil
}

// linkURL is the link that opens the conversation with payload.
func linkURL(ctx context.Context, a *app, channel, payload string) (string, error) {
	if channel == "messenger" {
		page := a.ws.Config.Messenger.PageID
		if page == "" {
			return "", fmt.Errorf("%w: messenger.page_id is not set (set HERALD_MESSENGER_PAGE_ID, or messenger.page_id in herald.yaml): an m.me link names the Page", errConfig)
		}
		return "https://m.me/" + page + "?ref=" + payload, nil
	}
	if err := a.telegram.Ready(); err != nil {
		return "", fmt.Errorf("%w (a t.me link names the bot, which herald asks Telegram for)", err)
	}
	me, err := a.telegram.GetMe(ctx)
	var se *campaign.SendError
	if errors.As(err, &se) && se.Kind == campaign.Fatal {
		return "", invalidf("telegram: cannot learn the bot's username: %v", err)
	}
	if err != nil {
		return "", fmt.Errorf("telegram: cannot learn the bot's username: %w", err)
	}
	if me.Username == "" {
		return "", errors.New("telegram: getMe answered no username for the bot")
	}
	return "https://t.me/" + me.Username + "?start=" + payload, nil
}

// writeQR writes text as a QR code to a PNG file: black modules on white,
// 8 pixels each, inside the 4-module quiet zone scanners need. Error
// correction M (15%) survives a smudge on a printed flyer and keeps the
// code small. The file is readable by all: it is made to be shared.
func writeQR(f *atomicFile, text string) error {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return fmt.Errorf("QR code: %w", err)
	}
	const scale, quiet = 8, 4
	b := code.Bounds()
	n := b.Dx()
	size := (n + 2*quiet) * scale
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	for y := range n {
		for x := range n {
			if r, _, _, _ := code.At(b.Min.X+x, b.Min.Y+y).RGBA(); r >= 0x8000 {
				continue
			}
			for dy := range scale {
				for dx := range scale {
					img.SetColorIndex((quiet+x)*scale+dx, (quiet+y)*scale+dy, 1)
				}
			}
		}
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := png.Encode(f, img); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return f.commit()
}

type linksOptions struct {
	g       *globalOptions
	channel string
	output  string
}

func newLinksCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	o := &linksOptions{g: g}
	cmd := &cobra.Command{
		Use:   "links",
		Short: "List the acquisition links and how many subscribers each brought",
		Long: `Lists the links made with herald audience link, with the people whose consent came
through each: how many are subscribed now, how many left since (unsubscribed, blocked
or invalid), and the total it brought. Someone who subscribed again through another
link counts for the newer one; people who asked to be forgotten are not counted.`,
		Example: `  herald audience links
  herald audience links --channel telegram --output json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return linksRun(cmd.Context(), cmd, o, io)
		},
	}
	cmd.Flags().StringVar(&o.channel, "channel", "", "only this channel's links")
	outputFlag(cmd, &o.output, "table", "json")
	return cmd
}

type linkCounts struct {
	audience.Link
	Subscribed int `json:"subscribed"`
	Left       int `json:"left"`
	Brought    int `json:"brought"`
}

func linksRun(ctx context.Context, cmd *cobra.Command, o *linksOptions, io *IOStreams) error {
	if err := checkChannel(o.channel); err != nil {
		return err
	}
	a, err := openApp(ctx, cmd, o.g, io, true)
	if err != nil {
		return err
	}
	defer a.Close()
	links, err := a.store.Links(ctx)
	if err != nil {
		return err
	}
	counts, err := a.store.SourceCounts(ctx)
	if err != nil {
		return err
	}
	out := []linkCounts{}
	for _, l := range links {
		if o.channel != "" && l.Channel != o.channel {
			continue
		}
		lc := linkCounts{Link: l}
		for _, c := range counts {
			if c.Channel != l.Channel || c.Ref != l.Payload {
				continue
			}
			lc.Brought += c.Count
			if c.Status == audience.Subscribed {
				lc.Subscribed += c.Count
			} else {
				lc.Left += c.Count
			}
		}
		out = append(out, lc)
	}
	if o.output == "json" {
		return reporting.WriteJSON(io.Out, out)
	}
	if len(out) == 0 {
		fmt.Fprintln(io.ErrOut, "no links yet: make one with herald audience link --channel telegram --source NAME")
		return nil
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANNEL\tPAYLOAD\tSOURCE\tTAGS\tSUBSCRIBED\tLEFT\tBROUGHT\tCREATED\tURL")
	for _, l := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", l.Channel, l.Payload, l.Source, strings.Join(l.Tags, ","),
			l.Subscribed, l.Left, l.Brought, l.CreatedAt.Format(time.DateOnly), l.URL)
	}
	return tw.Flush()
}
