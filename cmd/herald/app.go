package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/messenger"
	"github.com/heraldcli/herald/channels/telegram"
	"github.com/heraldcli/herald/sources/catalog"
	"github.com/heraldcli/herald/sources/fetch"
	"github.com/heraldcli/herald/sources/rss"
	"github.com/heraldcli/herald/store/postgres"
	"github.com/heraldcli/herald/store/sqlite"
	"github.com/heraldcli/herald/store/sqlstore"
)

// knownChannels are the channels this herald can send on.
var knownChannels = []string{"telegram", "messenger"}

// leaseTTLEnv overrides how long a run's lease outlives its last renewal
// (campaign.SendOptions.LeaseTTL, 30s by default): after a process is killed,
// the next send or resume takes its run over once this has passed. It is for
// herald's own tests, which cannot wait 30s; it is deliberately not a
// herald.yaml key. Every process that sends the run should use the same value.
const leaseTTLEnv = "HERALD_LEASE_TTL"

// globalOptions are the root command's persistent flags.
type globalOptions struct {
	workspace string
	logLevel  string
}

// app is one command's wiring: workspace, store, channels and engine.
type app struct {
	io        *IOStreams
	ws        *Workspace
	store     *sqlstore.Store
	telegram  *telegram.Channel
	messenger *messenger.Channel
	engine    *campaign.Engine
	log       *slog.Logger
}

// openApp loads the workspace and opens the store. withStore false skips
// the store (lint needs none).
func openApp(ctx context.Context, cmd *cobra.Command, g *globalOptions, io *IOStreams, withStore bool) (*app, error) {
	ws, err := loadWorkspace(g.workspace, cmd.Flags(), io)
	if err != nil {
		return nil, err
	}
	level := slog.LevelWarn
	if g.logLevel != "" {
		if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
			return nil, &flagError{fmt.Errorf("--log-level %q: use debug, info, warn or error", g.logLevel)}
		}
	}
	a := &app{io: io, ws: ws, log: slog.New(slog.NewTextHandler(io.ErrOut, &slog.HandlerOptions{Level: level}))}
	tc := ws.Config.Telegram
	a.telegram, err = telegram.New(telegram.Config{Token: tc.Token, APIURL: tc.APIURL, Rate: tc.Rate, PaidBroadcast: tc.PaidBroadcast})
	if err != nil {
		return nil, err
	}
	mc := ws.Config.Messenger
	a.messenger, err = messenger.New(messenger.Config{PageID: mc.PageID, PageToken: mc.PageToken, APIURL: mc.APIURL,
		APIVersion: mc.APIVersion, Rate: mc.Rate, MediaRate: mc.MediaRate, AdAccountID: mc.Marketing.AdAccountID,
		RateLimitPause: mc.RateLimitPause})
	if err != nil {
		return nil, err
	}
	if withStore {
		if a.store, err = openStore(ctx, ws.Config.Storage, ws.Path); err != nil {
			return nil, err
		}
	}
	send := campaign.SendOptions{RequestTimeout: tc.Timeout}
	if v := io.Getenv(leaseTTLEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%w: %s %q: use a positive duration, e.g. 2s", errConfig, leaseTTLEnv, v)
		}
		send.LeaseTTL = d
	}
	fetcher := &fetch.Client{}
	a.engine = &campaign.Engine{
		Store:     a.store,
		Channels:  map[string]campaign.Channel{"telegram": a.telegram, "messenger": a.messenger},
		Marketing: a.messenger.MarketingEnabled(),
		OpenSource: func(s *campaign.SourceSpec) (campaign.Source, error) {
			if s.Catalog() {
				return &catalog.Source{Format: s.Format, URL: a.sourceURL(s.URL), Fields: s.Fields, Items: s.Items,
					Currency: s.Currency, Client: fetcher}, nil
			}
			return &rss.Source{URL: a.sourceURL(s.URL), Client: fetcher}, nil
		},
		Log:          a.log,
		Send:         send,
		Location:     a.ws.Location(),
		FrequencyCap: a.ws.Config.FrequencyCap.cap(),
	}
	return a, nil
}

// ready returns the first channel of spec that cannot send, with what to set.
func (a *app) ready(spec *campaign.Spec) error {
	for _, ch := range spec.Channels {
		var err error
		switch ch {
		case "telegram":
			err = a.telegram.Ready()
		case "messenger":
			err = a.messenger.Ready()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *app) Close() {
	if a.store != nil {
		a.store.Close()
	}
}

// sourceURL resolves a file path source against the workspace.
func (a *app) sourceURL(u string) string {
	if parsed, err := url.Parse(u); err == nil && parsed.Scheme != "" && len(parsed.Scheme) > 1 {
		return u
	}
	return a.ws.Path(u)
}

// campaignFiles lists the workspace's campaign files by name.
func (a *app) campaignFiles() (map[string]string, error) {
	out := map[string]string{}
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(a.ws.Dir, "campaigns", pat))
		if err != nil {
			return nil, err
		}
		for _, f := range m {
			out[strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))] = f
		}
	}
	return out, nil
}

// loadCampaign loads the campaign called name (or at a path).
func (a *app) loadCampaign(name string) (*campaign.Spec, error) {
	files, err := a.campaignFiles()
	if err != nil {
		return nil, err
	}
	path, ok := files[name]
	if !ok {
		if st, err := os.Stat(name); err == nil && !st.IsDir() {
			path = name
		} else {
			names := make([]string, 0, len(files))
			for n := range files {
				names = append(names, n)
			}
			sort.Strings(names)
			hint := "the workspace has no campaigns yet: add campaigns/<name>.yaml"
			if len(names) > 0 {
				hint = "campaigns in this workspace: " + strings.Join(names, ", ")
			}
			return nil, invalidf("no campaign %q in %s (%s)", name, relPath(filepath.Join(a.ws.Dir, "campaigns")), hint)
		}
	}
	return campaign.LoadSpec(relPath(path), knownChannels)
}

// loadAllCampaigns loads every campaign, returning all problems together.
func (a *app) loadAllCampaigns() ([]*campaign.Spec, error) {
	files, err := a.campaignFiles()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	var specs []*campaign.Spec
	var errs campaign.SpecErrors
	for _, n := range names {
		s, err := campaign.LoadSpec(relPath(files[n]), knownChannels)
		var se campaign.SpecErrors
		switch {
		case errors.As(err, &se):
			errs = append(errs, se...)
		case err != nil:
			return nil, err
		default:
			specs = append(specs, s)
		}
	}
	if len(errs) > 0 {
		return specs, errs
	}
	return specs, nil
}

// loadRun returns run id, or an invalid-input error when there is none.
func (a *app) loadRun(ctx context.Context, id int64) (campaign.Run, error) {
	run, err := a.store.Run(ctx, id)
	if errors.Is(err, campaign.ErrNotFound) {
		return run, invalidf("no run %d (see herald run list)", id)
	}
	return run, err
}

// openRun opens the workspace and loads the run named by arg (a run id). The
// caller closes the app.
func openRun(cmd *cobra.Command, g *globalOptions, io *IOStreams, arg string) (*app, campaign.Run, error) {
	id, err := parseRunID(arg)
	if err != nil {
		return nil, campaign.Run{}, err
	}
	a, err := openApp(cmd.Context(), cmd, g, io, true)
	if err != nil {
		return nil, campaign.Run{}, err
	}
	run, err := a.loadRun(cmd.Context(), id)
	if err != nil {
		a.Close()
		return nil, campaign.Run{}, err
	}
	return a, run, nil
}

// openStore opens the PostgreSQL database at storage.url when it is set,
// else the SQLite file at storage.path (resolved by path).
func openStore(ctx context.Context, c StorageConfig, path func(string) string) (*sqlstore.Store, error) {
	if c.URL != "" {
		s, err := postgres.Open(ctx, c.URL)
		if postgres.IsConfigError(err) {
			return nil, fmt.Errorf("%w: %v (check storage.url)", errConfig, err)
		}
		return s, err
	}
	return sqlite.Open(ctx, path(c.Path))
}
