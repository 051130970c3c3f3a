package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/sources/catalog"
)

// Source is a campaign's content source.
type Source interface {
	// Fetch returns the source's items, newest first. prev are the
	// validators of the last fetch that was consumed.
	Fetch(ctx context.Context, prev sources.Validators) (sources.Result, error)
}

// SourceOpener opens the source a campaign names.
type SourceOpener func(spec *SourceSpec) (Source, error)

// Engine plans and sends campaign runs.
type Engine struct {
	Store      Store
	Channels   map[string]Channel
	OpenSource SourceOpener
	Now        func() time.Time
	Log        *slog.Logger
	Send       SendOptions
	// Marketing enables Messenger's Marketing Messages API route.
	Marketing bool
	// Location is the workspace's time zone: the default of triggers,
	// local_time and quiet_hours.
	Location *time.Location
	// FrequencyCap, when set, limits promotional runs per subscriber
	// across campaigns.
	FrequencyCap *FrequencyCap

	limMu    sync.Mutex
	limiters map[string]*Limiter
}

// Limiter returns the rate limiter of the named channel's sender account:
// one for the engine's lifetime, shared by every run it dispatches and by
// whatever else sends through the account (herald serve's automatic
// replies), so that together they keep to the platform's rate, and a 429
// to any of them pauses them all. It is nil for a channel the engine does
// not have.
func (e *Engine) Limiter(channel string) *Limiter {
	ch, ok := e.Channels[channel]
	if !ok {
		return nil
	}
	e.limMu.Lock()
	defer e.limMu.Unlock()
	l, ok := e.limiters[channel]
	if !ok {
		if e.limiters == nil {
			e.limiters = map[string]*Limiter{}
		}
		l = NewLimiter(ch.Limits())
		e.limiters[channel] = l
	}
	return l
}

// SendOptions tune the dispatcher; zero values take the defaults.
type SendOptions struct {
	// Workers is how many platform calls may be in flight; by default sized
	// from the channels' rates (rate × 250 ms, 16 to 512).
	Workers        int
	BatchSize      int           // pending deliveries read at a time (default 256)
	MaxRetries     int           // retries of a call that provably did not arrive (default 5)
	Backoff        time.Duration // first retry delay, doubled each time (default 500ms)
	MaxBackoff     time.Duration // (default 30s)
	RequestTimeout time.Duration // one platform call (default 30s)
	// MaxPause is the longest rate-limit pause herald waits out; a longer
	// one pauses the run for a later resume (default 10m).
	MaxPause time.Duration
	LeaseTTL time.Duration // (default 30s)
	Owner    string        // this process, for the run lease
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Draft is what a run of a campaign would send now, before anything is
// committed: the items, a sample rendering and lint problems.
type Draft struct {
	Spec *Spec
	// Items are the run's items; Seen the keys it would consume.
	Items  []sources.Item
	Seen   []string
	Source *SourceState
	// NoNewItems is true when a sourced campaign has nothing new to send.
	NoNewItems bool
	// FirstRun is true when the campaign has never consumed its source:
	// only the backfill is new.
	FirstRun bool
	// MinInterval is how long the source asked to be left alone before its
	// next fetch (Cache-Control max-age, the feed's ttl); 0 when it did not.
	MinInterval time.Duration
	// Changes, for a catalog source, are the products that changed since
	// the last run, announced or not (and why not); Scan what the scan
	// read.
	Changes []catalog.Change
	Scan    *catalog.ScanResult
	// Sample is the message rendered for the preview subscriber, per part.
	Sample   []Message
	Problems []LintProblem
}

// LintProblem is a problem with a rendered message on one channel.
type LintProblem struct {
	Channel string
	Part    int
	Problem Problem
	Line    int
}

// Error formats the problem as "file:line: channel: field: message".
func (p LintProblem) Error(file string) string {
	loc := file
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", file, p.Line)
	}
	return fmt.Sprintf("%s: %s: %s", loc, p.Channel, p.Problem)
}

// Parts is the number of messages each subscriber gets.
func (d *Draft) Parts() int {
	if d.Spec.Mode == Each {
		return len(d.Items)
	}
	if d.NoNewItems {
		return 0
	}
	return 1
}

// Prepare fetches the campaign's source, picks what is new, renders the
// message for a sample subscriber and lints it on every channel. Nothing is
// written.
func (e *Engine) Prepare(ctx context.Context, spec *Spec) (*Draft, error) {
	c, err := compileMessage(spec)
	if err != nil {
		return nil, err
	}
	d := &Draft{Spec: spec}
	if spec.Source != nil {
		if err := e.pickItems(ctx, d); err != nil {
			return nil, err
		}
	}
	sample, err := e.Store.FirstInSegment(ctx, spec.Channels, spec.Audience)
	if errors.Is(err, ErrNotFound) {
		sample = SampleSubscriber()
	} else if err != nil {
		return nil, err
	}
	if d.NoNewItems {
		return d, nil
	}
	for part := range max(d.Parts(), 1) {
		m, err := c.render(spec, e.templateData(spec, d.Items, part, sample))
		if err != nil {
			return nil, err
		}
		d.Sample = append(d.Sample, m)
		d.Problems = append(d.Problems, LintMessage(spec, e.Channels, part, m)...)
	}
	return d, nil
}

// LintMessage checks m on each of the campaign's channels.
func LintMessage(spec *Spec, channels map[string]Channel, part int, m Message) []LintProblem {
	var out []LintProblem
	for _, name := range spec.Channels {
		ch, ok := channels[name]
		if !ok {
			continue
		}
		for _, p := range ch.Lint(m) {
			out = append(out, LintProblem{Channel: name, Part: part, Problem: p, Line: spec.Line(p.Field)})
		}
	}
	return out
}

// SampleSubscriber stands in for a real subscriber when the audience is empty.
func SampleSubscriber() audience.Subscriber {
	return audience.Subscriber{Name: "Sample Subscriber", Locale: "en", Tags: []string{}}
}

func (e *Engine) templateData(spec *Spec, items []sources.Item, part int, sub audience.Subscriber) *TemplateData {
	data := &TemplateData{
		Items:      items,
		Subscriber: SubscriberData{Name: sub.Name, Locale: sub.Locale, Timezone: sub.Timezone, Tags: sub.Tags},
		Campaign:   CampaignData{Name: spec.Name, Description: spec.Description},
		Now:        e.now(),
	}
	if spec.Mode == Each && part < len(items) {
		data.Items = items[part : part+1]
	}
	if len(data.Items) > 0 {
		data.Item = data.Items[0]
	}
	return data
}

// pickItems decides which of the source's items a run sends and consumes.
func (e *Engine) pickItems(ctx context.Context, d *Draft) error {
	spec := d.Spec
	state, err := e.Store.SourceState(ctx, spec.Name, spec.Source.URL)
	if err != nil {
		return err
	}
	d.FirstRun = !state.Initialized
	src, err := e.OpenSource(spec.Source)
	if err != nil {
		return err
	}
	if cs, ok := src.(CatalogSource); ok && spec.Source.Catalog() {
		return e.pickProducts(ctx, d, cs, state)
	}
	res, err := src.Fetch(ctx, state.Validators)
	if err != nil {
		return &SourceError{Campaign: spec.Name, URL: spec.Source.URL, Err: err}
	}
	d.MinInterval = res.MinInterval
	if res.NotModified {
		d.NoNewItems = true
		return nil
	}
	keys := make([]string, len(res.Items))
	for i, it := range res.Items {
		keys[i] = it.Key
	}
	unseen, err := e.Store.Unseen(ctx, spec.Name, keys)
	if err != nil {
		return err
	}
	var fresh []sources.Item // newest first
	dup := map[string]bool{}
	for _, it := range res.Items {
		if unseen[it.Key] && !dup[it.Key] {
			dup[it.Key] = true
			fresh = append(fresh, it)
		}
	}
	if !state.Initialized {
		// The first run treats only the newest backfill items as new.
		n := spec.Backfill()
		for _, it := range fresh[min(n, len(fresh)):] {
			d.Seen = append(d.Seen, it.Key)
		}
		fresh = fresh[:min(n, len(fresh))]
	}
	complete := true
	switch spec.Mode {
	case Digest:
		// A digest shows the newest max_items; older new items are
		// superseded by it and consumed too.
		d.Items = fresh[:min(spec.MaxItems, len(fresh))]
		for _, it := range fresh {
			d.Seen = append(d.Seen, it.Key)
		}
	case Each:
		// Each sends oldest first; what exceeds max_items waits.
		oldest := slices.Clone(fresh)
		slices.Reverse(oldest)
		d.Items = oldest[:min(spec.MaxItems, len(oldest))]
		complete = len(oldest) <= spec.MaxItems
		for _, it := range d.Items {
			d.Seen = append(d.Seen, it.Key)
		}
	}
	d.NoNewItems = len(d.Items) == 0
	st := &SourceState{Campaign: spec.Name, URL: spec.Source.URL, Initialized: true, Generation: state.Generation}
	if complete {
		// Only when everything new was consumed may the next fetch be
		// conditional; otherwise a 304 would hide the items still waiting.
		st.Validators = res.Validators
	}
	d.Source = st
	return nil
}

// Backfill is how many of the newest items the first run treats as new: by
// default max_items, one for mode each, and none for a watch (what the
// source has when watching starts is not news) or a catalog (whose first
// run only records what the shop has).
func (s *Spec) Backfill() int {
	if s.Source != nil && s.Source.Backfill != nil {
		return *s.Source.Backfill
	}
	if s.Trigger != nil && s.Trigger.Kind() == "watch" || s.Source.Catalog() {
		return 0
	}
	if s.Mode == Each {
		return 1
	}
	return s.MaxItems
}

// SourceError is a failure to read a campaign's source.
type SourceError struct {
	Campaign, URL string
	Err           error
}

func (e *SourceError) Error() string {
	return fmt.Sprintf("campaign %q: source %s: %v", e.Campaign, e.URL, e.Err)
}

func (e *SourceError) Unwrap() error { return e.Err }

// Plan commits a run for the draft: its items, the consumed keys and one
// pending delivery per recipient and part. See Store.Plan for the errors.
func (e *Engine) Plan(ctx context.Context, d *Draft, trigger, key string) (Run, error) {
	return e.plan(ctx, d, trigger, key, time.Time{})
}

// PlanSlot commits a run for the draft created by a schedule for slot; a
// slot already decided is ErrDuplicateSlot.
func (e *Engine) PlanSlot(ctx context.Context, d *Draft, trigger string, slot time.Time) (Run, error) {
	return e.plan(ctx, d, trigger, "", slot)
}

func (e *Engine) plan(ctx context.Context, d *Draft, trigger, key string, slot time.Time) (Run, error) {
	now := e.now()
	return e.Store.Plan(ctx, PlanRequest{
		Campaign:       d.Spec.Name,
		Trigger:        trigger,
		IdempotencyKey: key,
		Channels:       d.Spec.Channels,
		Segment:        d.Spec.Audience,
		Parts:          d.Parts(),
		Items:          d.Items,
		Seen:           d.Seen,
		Source:         d.Source,
		Routes:         d.Spec.Routes(e.Marketing),
		Slot:           slot,
		DueAt:          d.Spec.DueAt(now, e.Location),
		Now:            now,
	})
}

// RouteCounts says how the campaign's audience would be routed now, per
// channel, without writing anything.
func (e *Engine) RouteCounts(ctx context.Context, spec *Spec) ([]RouteCount, error) {
	return e.Store.RouteCounts(ctx, PlanRequest{
		Campaign: spec.Name,
		Channels: spec.Channels,
		Segment:  spec.Audience,
		Routes:   spec.Routes(e.Marketing),
		Now:      e.now(),
	})
}
