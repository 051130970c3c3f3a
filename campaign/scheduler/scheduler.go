// Package scheduler runs campaigns by themselves: it fires cron and at
// triggers exactly once per slot, polls watched sources, and sends held
// deliveries when they fall due. herald serve hosts it.
//
// Every decision goes through the store, so that a restart, the repeated
// hour of a DST fall-back or a second instance sharing the database cannot
// make a slot fire twice: a run is created for a (campaign, slot) at most
// once, and a slot that is not sent is recorded as a skipped run with why.
//
// The scheduler reads the time from Now and does its work in Step, which
// tests call with an injected clock; Run calls Step in a loop.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/campaign/schedule"
	"github.com/heraldcli/herald/sources"
)

// Actions a Decision reports.
const (
	Fired    = "fired"    // a run was created for a slot or new items and is being sent
	Skipped  = "skipped"  // a slot was recorded as not sent, with the reason
	Taken    = "taken"    // another herald decided the slot first
	Retry    = "retry"    // the slot's source failed; it is tried again within max_delay
	Waiting  = "waiting"  // new items wait for min_items, or for the campaign's active run
	Polled   = "polled"   // a watched source had nothing new
	Failed   = "failed"   // a watched source could not be read; the next poll backs off
	Resumed  = "resumed"  // a waiting or interrupted run is sent on
	Finished = "finished" // a run's dispatch ended
)

// Decision is one thing the scheduler decided, for logs and tests.
type Decision struct {
	Campaign string
	Action   string
	// Slot is the scheduled time (zero for a watch or a resume).
	Slot   time.Time
	RunID  int64
	Reason string
}

// Scheduler runs the campaigns it is given.
type Scheduler struct {
	Engine    *campaign.Engine
	Campaigns []*campaign.Spec
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	Log *slog.Logger
	// Go runs a dispatch; by default on a new goroutine. Tests may hold
	// dispatches back to see what the scheduler does while one runs.
	Go func(func())
	// Decided, when set, is called with every decision.
	Decided func(Decision)

	mu      sync.Mutex
	entries []*entry
	pruned  time.Time
	wg      sync.WaitGroup
	// reload holds the campaigns Reload was given, until the next Step.
	reload    []*campaign.Spec
	reloading bool
	wake      chan struct{}
	// detached are removed campaigns whose run was being sent at the
	// reload: if they come back before it ends, their entry, busy, does.
	detached map[string]*entry
}

// entry is the scheduler's state of one campaign.
type entry struct {
	spec *campaign.Spec

	// next is the campaign's next undecided slot (cron, at), found at
	// placed (the start, or the reload that changed its times): a slot due
	// before then was missed.
	next    schedule.Slot
	hasNext bool
	placed  time.Time
	// retryAt holds the next slot back after its source failed.
	retryAt  time.Time
	failures int

	// nextPoll is when a watched source is polled next.
	nextPoll time.Time

	// busy: a dispatch of the campaign's run is under way in this process.
	busy bool
	// resumeAt is when the campaign's active run should be dispatched
	// again (a held delivery falls due, a rate limit passes); zero: not
	// known to this process, looked up every checkEvery.
	resumeAt time.Time
	checked  time.Time
}

// Tunables.
const (
	// missedGrace: a slot due less than this before the campaign was placed (start or reload)
	// is on time, not missed (herald restarting around a slot).
	missedGrace = time.Minute
	// maxRecorded bounds the missed slots recorded as skipped at once.
	maxRecorded = 100
	// checkEvery is how often campaigns' active runs are looked at, for
	// runs that other processes (herald campaign send) left waiting.
	checkEvery = time.Minute
	// maxTick is the longest the loop sleeps: a clock jump (a suspended
	// laptop, an NTP step) is noticed within it.
	maxTick = 30 * time.Second
	// rateLimitRetry is when a run paused by a long rate limit is tried again.
	rateLimitRetry = 10 * time.Minute
)

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Scheduler) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Start reads where each campaign's schedule stands: its next undecided
// slot is the first after the last one recorded (or, for a campaign that
// never had one, after now; a one-time at is considered from its time).
// Slots due before now are "missed" and go through catchup at the first Step.
func (s *Scheduler) Start(ctx context.Context) error {
	if s.Engine.Send.Owner == "" {
		// One owner for every run this scheduler sends, so that it can
		// release a run whose dispatch crashed.
		s.Engine.Send.Owner = campaign.NewOwner()
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = nil
	for _, spec := range sortedByName(s.Campaigns) {
		e := &entry{spec: spec}
		if err := s.place(ctx, e, now); err != nil {
			return err
		}
		s.entries = append(s.entries, e)
	}
	return nil
}

func sortedByName(specs []*campaign.Spec) []*campaign.Spec {
	specs = slices.Clone(specs)
	slices.SortFunc(specs, func(a, b *campaign.Spec) int { return strings.Compare(a.Name, b.Name) })
	return specs
}

// place sets where e's trigger stands, as Start describes.
func (s *Scheduler) place(ctx context.Context, e *entry, now time.Time) error {
	t := e.spec.Trigger
	if t == nil {
		return nil
	}
	switch t.Kind() {
	case "cron", "at":
		last, err := s.Engine.Store.LastSlot(ctx, e.spec.Name)
		if err != nil {
			return err
		}
		from := last
		if from.IsZero() {
			from = now
			if t.Kind() == "at" {
				from = time.Time{} // an at in the past is a missed slot
			}
		}
		e.next, e.hasNext = t.Next(from, s.Engine.Location)
		e.placed = now
	case "watch":
		e.nextPoll = now
	}
	return nil
}

// Reload replaces the campaigns from the next Step on (Run steps at once),
// without stopping anything under way: a dispatch goes on with the
// campaign as it was when it started. A campaign whose trigger times are
// unchanged (cron, at, watch, timezone) keeps its place in its schedule,
// pending retries included; a new one, or one whose times changed, is
// placed as Start places it, from the last slot recorded: no slot fires
// twice either way. A campaign left out is no longer scheduled.
func (s *Scheduler) Reload(specs []*campaign.Spec) {
	s.mu.Lock()
	s.reload, s.reloading = specs, true
	wake := s.wakeChan()
	s.mu.Unlock()
	select {
	case wake <- struct{}{}:
	default:
	}
}

// wakeChan is the channel that wakes Run early; s.mu is held.
func (s *Scheduler) wakeChan() chan struct{} {
	if s.wake == nil {
		s.wake = make(chan struct{}, 1)
	}
	return s.wake
}

// applyReload puts in place the campaigns given to Reload, if any. On a
// store error nothing changes, and the error is logged.
func (s *Scheduler) applyReload(ctx context.Context) {
	s.mu.Lock()
	specs, ok := s.reload, s.reloading
	s.reload, s.reloading = nil, false
	if !ok {
		s.mu.Unlock()
		return
	}
	old := map[string]*entry{}
	for name, e := range s.detached {
		if e.busy {
			old[name] = e
		}
	}
	current := map[*entry]bool{}
	for _, e := range s.entries {
		old[e.spec.Name], current[e] = e, true
	}
	s.mu.Unlock()
	now := s.now()
	type change struct {
		e      *entry
		spec   *campaign.Spec
		placed *entry // nil: e keeps its place
	}
	var changes []change
	var added, changed []string
	for _, spec := range sortedByName(specs) {
		e, ok := old[spec.Name]
		delete(old, spec.Name)
		switch {
		case !ok:
			e = &entry{}
			added = append(added, spec.Name)
		case !current[e]:
			added = append(added, spec.Name) // back while its run is sent: placed anew
		case !sameTimes(e.spec.Trigger, spec.Trigger):
			changed = append(changed, spec.Name)
		default:
			changes = append(changes, change{e: e, spec: spec}) // keeps its place
			continue
		}
		placed := &entry{spec: spec}
		if err := s.place(ctx, placed, now); err != nil {
			s.log().Error("campaigns not reloaded: herald could not read their schedules; the previous ones go on", "err", err)
			return
		}
		changes = append(changes, change{e: e, spec: spec, placed: placed})
	}
	var removed []string
	s.mu.Lock()
	s.detached = map[string]*entry{}
	for name, e := range old {
		if e.busy {
			s.detached[name] = e
		}
		if current[e] {
			removed = append(removed, name)
		}
	}
	slices.Sort(removed)
	s.entries = s.entries[:0:0]
	for _, c := range changes {
		// Only Step's goroutine reads e.spec: a dispatch took its own.
		c.e.spec = c.spec
		if p := c.placed; p != nil {
			// busy, resumeAt and checked are about the campaign's run,
			// not its trigger: they stay.
			c.e.next, c.e.hasNext, c.e.placed, c.e.nextPoll = p.next, p.hasNext, p.placed, p.nextPoll
			c.e.retryAt, c.e.failures = time.Time{}, 0
		}
		s.entries = append(s.entries, c.e)
	}
	s.mu.Unlock()
	s.log().Info("campaigns reloaded", "campaigns", len(s.entries), "added", strings.Join(added, ","),
		"retimed", strings.Join(changed, ","), "removed", strings.Join(removed, ","))
}

// sameTimes says whether two triggers fire at the same times, so that a
// campaign keeps its place in its schedule when it is reloaded.
func sameTimes(a, b *campaign.TriggerSpec) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Cron == b.Cron && a.At == b.At && a.Watch == b.Watch && a.Timezone == b.Timezone
}

// Run starts the scheduler and steps it until ctx ends, then waits for the
// dispatches under way: they stop claiming, finish what is in flight and
// leave their runs for the next start.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	defer s.wg.Wait()
	s.mu.Lock()
	wake := s.wakeChan()
	s.mu.Unlock()
	for {
		s.Step(ctx)
		wait := s.NextWake().Sub(s.now())
		wait = min(max(wait, 0), maxTick)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		case <-wake: // Reload
			t.Stop()
		}
	}
}

// Wait waits for the dispatches the scheduler started.
func (s *Scheduler) Wait() { s.wg.Wait() }

// NextWake is when the scheduler next has something to do.
func (s *Scheduler) NextWake() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	wake := now.Add(maxTick)
	soon := func(t time.Time) {
		if !t.IsZero() && t.Before(wake) {
			wake = t
		}
	}
	for _, e := range s.entries {
		if e.hasNext {
			soon(later(e.next.At, e.retryAt))
		}
		soon(e.nextPoll)
		if !e.busy {
			soon(e.resumeAt)
		}
	}
	return wake
}

// Step does everything due now: slots, polls, resumes. Dispatches go to Go.
func (s *Scheduler) Step(ctx context.Context) []Decision {
	s.applyReload(ctx)
	var out []Decision
	s.mu.Lock()
	entries := slices.Clone(s.entries)
	s.mu.Unlock()
	for _, e := range entries {
		if ctx.Err() != nil {
			break
		}
		out = append(out, s.stepCampaign(ctx, e)...)
	}
	s.prune(ctx)
	return out
}

// prune forgets, once an hour, the frequency cap's contacts older than its
// period: they can no longer hold anyone back.
func (s *Scheduler) prune(ctx context.Context) {
	limit := s.Engine.FrequencyCap
	now := s.now()
	if limit == nil || now.Sub(s.pruned) < time.Hour {
		return
	}
	s.pruned = now
	if n, err := s.Engine.Store.PruneContacts(ctx, now.Add(-limit.Per)); err != nil {
		s.log().Warn("could not prune the frequency cap's old contacts", "err", err)
	} else if n > 0 {
		s.log().Debug("pruned the frequency cap's old contacts", "contacts", n)
	}
}

// stepCampaign handles one campaign; a panic in it (a template, a source
// parser) is recovered, logged and recorded, and the others go on.
func (s *Scheduler) stepCampaign(ctx context.Context, e *entry) (out []Decision) {
	slot := time.Time{}
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		reason := fmt.Sprintf("herald crashed: %v", p)
		s.log().Error("herald crashed while scheduling a campaign; the scheduler goes on", "campaign", e.spec.Name,
			"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		if !slot.IsZero() {
			out = append(out, s.skip(ctx, e, slot, reason))
			s.mu.Lock()
			s.advance(e)
			s.mu.Unlock()
			return
		}
		out = append(out, s.decide(Decision{Campaign: e.spec.Name, Action: Failed, Reason: reason}))
		s.mu.Lock()
		e.nextPoll = s.now().Add(s.backoff(e))
		s.mu.Unlock()
	}()
	now := s.now()
	if t := e.spec.Trigger; t != nil {
		switch t.Kind() {
		case "cron", "at":
			out = append(out, s.slots(ctx, e, now, &slot)...)
		case "watch":
			out = append(out, s.poll(ctx, e, now)...)
		}
	}
	slot = time.Time{}
	if d, ok := s.resume(ctx, e, now); ok {
		out = append(out, d)
	}
	return out
}

func (s *Scheduler) decide(d Decision) Decision {
	attrs := []any{"campaign", d.Campaign}
	if !d.Slot.IsZero() {
		attrs = append(attrs, "slot", d.Slot.Format(time.RFC3339))
	}
	if d.RunID != 0 {
		attrs = append(attrs, "run", d.RunID)
	}
	if d.Reason != "" {
		attrs = append(attrs, "reason", d.Reason)
	}
	level := slog.LevelInfo
	if d.Action == Failed || d.Action == Retry {
		level = slog.LevelWarn
	}
	s.log().Log(context.Background(), level, "schedule: "+d.Action, attrs...)
	if s.Decided != nil {
		s.Decided(d)
	}
	return d
}

// advance moves e to the slot after its current one. Call with s.mu held.
func (s *Scheduler) advance(e *entry) {
	e.next, e.hasNext = e.spec.Trigger.Next(e.next.At, s.Engine.Location)
	e.retryAt, e.failures = time.Time{}, 0
}

// slots decides every slot of e due at now. *current is the slot being
// decided, for the panic handler.
func (s *Scheduler) slots(ctx context.Context, e *entry, now time.Time, current *time.Time) []Decision {
	s.mu.Lock()
	if !e.hasNext || e.next.At.After(now) || e.retryAt.After(now) {
		s.mu.Unlock()
		return nil
	}
	// Every slot due by now, oldest first: only the latest may be sent.
	var due []schedule.Slot
	dropped := 0
	for slot, ok := e.next, true; ok && !slot.At.After(now); slot, ok = e.spec.Trigger.Next(slot.At, s.Engine.Location) {
		due = append(due, slot)
		if len(due) > maxRecorded {
			due, dropped = due[1:], dropped+1
		}
	}
	s.mu.Unlock()
	t := e.spec.Trigger
	var out []Decision
	if dropped > 0 {
		s.log().Warn("schedule: many slots were missed; only the latest are recorded", "campaign", e.spec.Name,
			"not_recorded", dropped, "recorded", len(due))
	}
	for i, slot := range due {
		*current = slot.At
		late := now.Sub(slot.At)
		missed := slot.At.Before(e.placed.Add(-missedGrace))
		var reason string
		switch {
		case missed && t.Catchup == campaign.CatchupSkip:
			reason = "missed while herald was not running (catchup: skip)"
		case i < len(due)-1:
			reason = fmt.Sprintf("missed: only the latest missed slot is sent (%s)", due[len(due)-1].At.Format(time.RFC3339))
		case late > t.Delay():
			reason = fmt.Sprintf("%s late, more than max_delay %s", late.Round(time.Second), t.Delay())
		}
		if reason != "" {
			out = append(out, s.skip(ctx, e, slot.At, reason))
			s.mu.Lock()
			s.advance(e)
			s.mu.Unlock()
			continue
		}
		d, decided := s.fire(ctx, e, slot, now, missed)
		out = append(out, d)
		if decided {
			s.mu.Lock()
			s.advance(e)
			s.mu.Unlock()
		}
	}
	return out
}

// skip records slot as not sent.
func (s *Scheduler) skip(ctx context.Context, e *entry, slot time.Time, reason string) Decision {
	d := Decision{Campaign: e.spec.Name, Action: Skipped, Slot: slot, Reason: reason}
	run, err := s.Engine.Store.SkipSlot(ctx, campaign.SlotSkip{Campaign: e.spec.Name, Trigger: e.spec.Trigger.Kind(),
		Slot: slot, Reason: reason, Now: s.now()})
	switch {
	case errors.Is(err, campaign.ErrDuplicateSlot):
		d.Action, d.RunID, d.Reason = Taken, run.ID, "another herald decided this slot first"
	case err != nil:
		// The slot stays unrecorded; the next start sees it as missed.
		d.Reason += " (could not be recorded: " + err.Error() + ")"
	default:
		d.RunID = run.ID
	}
	return s.decide(d)
}

// fire sends slot: it reads the source, plans the run for the slot and
// hands it to a dispatch. decided is false when the slot should be tried
// again (its source failed within max_delay).
func (s *Scheduler) fire(ctx context.Context, e *entry, slot schedule.Slot, now time.Time, caughtUp bool) (d Decision, decided bool) {
	spec := e.spec
	draft, err := s.Engine.Prepare(ctx, spec)
	if err != nil {
		retryAt := now.Add(s.failed(e, err))
		if retryAt.Sub(slot.At) <= spec.Trigger.Delay() {
			s.mu.Lock()
			e.retryAt = retryAt
			s.mu.Unlock()
			return s.decide(Decision{Campaign: spec.Name, Action: Retry, Slot: slot.At,
				Reason: fmt.Sprintf("%v; trying again at %s", err, retryAt.Format(time.RFC3339))}), false
		}
		return s.skip(ctx, e, slot.At, fmt.Sprintf("could not be prepared within max_delay %s: %v", spec.Trigger.Delay(), err)), true
	}
	if len(draft.Problems) > 0 {
		return s.skip(ctx, e, slot.At, "the message breaks a platform limit: "+draft.Problems[0].Error(spec.File)), true
	}
	if draft.NoNewItems {
		if len(draft.Seen) > 0 || draft.Source != nil {
			if err := s.Engine.Store.Consume(ctx, spec.Name, draft.Seen, draft.Source, now); err != nil {
				return s.decide(Decision{Campaign: spec.Name, Action: Retry, Slot: slot.At, Reason: err.Error()}), false
			}
		}
		return s.skip(ctx, e, slot.At, "no new items in the source"), true
	}
	run, err := s.Engine.PlanSlot(ctx, draft, spec.Trigger.Kind(), slot.At)
	var conflict *campaign.RunConflict
	switch {
	case errors.As(err, &conflict) && errors.Is(err, campaign.ErrDuplicateSlot):
		return s.decide(Decision{Campaign: spec.Name, Action: Taken, Slot: slot.At, RunID: conflict.Run.ID,
			Reason: "another herald decided this slot first"}), true
	case errors.As(err, &conflict):
		return s.skip(ctx, e, slot.At, fmt.Sprintf("run %d of the campaign is still %s: runs never overlap", conflict.Run.ID, conflict.Run.State)), true
	case err != nil:
		s.mu.Lock()
		e.retryAt = now.Add(s.backoff(e))
		s.mu.Unlock()
		return s.decide(Decision{Campaign: spec.Name, Action: Retry, Slot: slot.At, Reason: err.Error()}), false
	}
	reason := ""
	if caughtUp {
		reason = "caught up: the slot was missed while herald was not running"
	}
	if slot.Note != "" {
		reason = joinReason(reason, slot.Note)
	}
	d = s.decide(Decision{Campaign: spec.Name, Action: Fired, Slot: slot.At, RunID: run.ID, Reason: reason})
	s.dispatch(ctx, e, run)
	return d, true
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// failed counts a failure to prepare e and returns how long to wait before
// the next attempt: the backoff, or the source's Retry-After if longer.
func (s *Scheduler) failed(e *entry, err error) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.failures++
	wait := s.backoff(e)
	var fe *sources.FetchError
	if errors.As(err, &fe) && fe.RetryAfter > wait {
		wait = fe.RetryAfter
	}
	return wait
}

// backoff is how long to wait after e's source failed failures times:
// 30s doubling, at most an hour (for a watch, at least its interval).
func (s *Scheduler) backoff(e *entry) time.Duration {
	n := max(e.failures, 1)
	d := 30 * time.Second << min(n-1, 7)
	d = min(d, time.Hour)
	if t := e.spec.Trigger; t != nil && t.Kind() == "watch" {
		d = max(d, t.Watch)
	}
	return d
}

// poll reads a watched source when its time has come and sends what is new.
func (s *Scheduler) poll(ctx context.Context, e *entry, now time.Time) []Decision {
	spec := e.spec
	s.mu.Lock()
	if e.busy || now.Before(e.nextPoll) {
		s.mu.Unlock()
		return nil
	}
	e.nextPoll = now.Add(spec.Trigger.Watch)
	s.mu.Unlock()
	if run, err := s.Engine.Store.ActiveRun(ctx, spec.Name); err == nil {
		// New items wait for the active run; they are not consumed.
		return []Decision{s.decide(Decision{Campaign: spec.Name, Action: Waiting, RunID: run.ID,
			Reason: fmt.Sprintf("run %d is still %s; new items wait for the next poll", run.ID, run.State)})}
	}
	draft, err := s.Engine.Prepare(ctx, spec)
	if err != nil {
		wait := s.failed(e, err)
		s.mu.Lock()
		e.nextPoll = now.Add(wait)
		s.mu.Unlock()
		return []Decision{s.decide(Decision{Campaign: spec.Name, Action: Failed,
			Reason: fmt.Sprintf("%v; next poll at %s", err, now.Add(wait).Format(time.RFC3339))})}
	}
	s.mu.Lock()
	e.failures = 0
	if draft.MinInterval > spec.Trigger.Watch {
		e.nextPoll = now.Add(draft.MinInterval)
	}
	s.mu.Unlock()
	if len(draft.Problems) > 0 {
		return []Decision{s.decide(Decision{Campaign: spec.Name, Action: Failed,
			Reason: "the message breaks a platform limit: " + draft.Problems[0].Error(spec.File) + "; the new items wait"})}
	}
	if draft.NoNewItems {
		products := 0
		if draft.Source != nil {
			products = len(draft.Source.Products)
		}
		// What was read is consumed even when nothing is news: the
		// validators, so the next poll is conditional, and any products'
		// changed states.
		if len(draft.Seen) > 0 || draft.Source != nil {
			if err := s.Engine.Store.Consume(ctx, spec.Name, draft.Seen, draft.Source, now); err != nil {
				return []Decision{s.decide(Decision{Campaign: spec.Name, Action: Failed, Reason: err.Error()})}
			}
		}
		reason := "nothing new"
		switch {
		case products > 0:
			reason = fmt.Sprintf("%d product changes recorded, none to announce", products)
		case len(draft.Seen) > 0:
			reason = fmt.Sprintf("started watching: %d items already in the source are not news", len(draft.Seen))
		}
		return []Decision{s.decide(Decision{Campaign: spec.Name, Action: Polled, Reason: reason})}
	}
	if spec.MinItems > 0 && len(draft.Seen) < spec.MinItems {
		st, err := s.Engine.Store.SourceState(ctx, spec.Name, spec.Source.URL)
		if err != nil {
			return []Decision{s.decide(Decision{Campaign: spec.Name, Action: Failed, Reason: err.Error()})}
		}
		since := st.WaitingSince
		if since.IsZero() {
			since = now
			if err := s.Engine.Store.SetWaitingSince(ctx, spec.Name, spec.Source.URL, since); err != nil {
				return []Decision{s.decide(Decision{Campaign: spec.Name, Action: Failed, Reason: err.Error()})}
			}
		}
		if spec.MaxWait == 0 || now.Sub(since) < spec.MaxWait {
			reason := fmt.Sprintf("%d of min_items %d new items", len(draft.Seen), spec.MinItems)
			if spec.MaxWait > 0 {
				reason += fmt.Sprintf("; sent anyway at %s (max_wait)", since.Add(spec.MaxWait).Format(time.RFC3339))
			}
			return []Decision{s.decide(Decision{Campaign: spec.Name, Action: Waiting, Reason: reason})}
		}
	}
	run, err := s.Engine.Plan(ctx, draft, "watch", "")
	var conflict *campaign.RunConflict
	switch {
	case errors.As(err, &conflict):
		return []Decision{s.decide(Decision{Campaign: spec.Name, Action: Waiting, RunID: conflict.Run.ID,
			Reason: fmt.Sprintf("run %d is still %s; new items wait for the next poll", conflict.Run.ID, conflict.Run.State)})}
	case err != nil:
		return []Decision{s.decide(Decision{Campaign: spec.Name, Action: Failed, Reason: err.Error()})}
	}
	d := s.decide(Decision{Campaign: spec.Name, Action: Fired, RunID: run.ID,
		Reason: fmt.Sprintf("%d new item(s)", len(run.Items))})
	s.dispatch(ctx, e, run)
	return []Decision{d}
}

// resume dispatches the campaign's active run when it should go on: a held
// delivery fell due, or a run the scheduler created was interrupted (by a
// stop of herald serve, a crash, a long rate limit). Runs started by hand
// and then stopped are left to the person who stopped them.
func (s *Scheduler) resume(ctx context.Context, e *entry, now time.Time) (Decision, bool) {
	s.mu.Lock()
	if e.busy || (now.Before(e.resumeAt) || e.resumeAt.IsZero()) && now.Sub(e.checked) < checkEvery {
		s.mu.Unlock()
		return Decision{}, false
	}
	e.checked, e.resumeAt = now, time.Time{}
	s.mu.Unlock()
	run, err := s.Engine.Store.ActiveRun(ctx, e.spec.Name)
	if err != nil {
		return Decision{}, false
	}
	switch {
	case run.State == campaign.RunWaiting:
		next, err := s.Engine.Store.NextDue(ctx, run.ID)
		if err != nil {
			return Decision{}, false
		}
		if next.After(now) {
			s.mu.Lock()
			e.resumeAt = next
			s.mu.Unlock()
			return Decision{}, false
		}
	case run.State == campaign.RunAborted:
		return Decision{}, false
	case run.Trigger == "manual" || run.Trigger == "ci":
		return Decision{}, false
	}
	d := s.decide(Decision{Campaign: e.spec.Name, Action: Resumed, RunID: run.ID, Slot: run.Slot,
		Reason: fmt.Sprintf("run %d was %s", run.ID, run.State)})
	s.dispatch(ctx, e, run)
	return d, true
}

// dispatch sends run on the executor; a panic in it is recovered, logged
// and recorded on the run, and the scheduler goes on.
func (s *Scheduler) dispatch(ctx context.Context, e *entry, run campaign.Run) {
	spec := e.spec // the campaign as it is now, whatever a reload makes of e
	s.mu.Lock()
	e.busy = true
	s.mu.Unlock()
	s.wg.Add(1)
	work := func() {
		defer s.wg.Done()
		var res campaign.Result
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					s.log().Error("herald crashed while sending a run; the run is aborted, the scheduler goes on",
						"campaign", spec.Name, "run", run.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
					reason := fmt.Sprintf("herald crashed: %v", p)
					_ = s.Engine.Store.ReleaseRun(context.WithoutCancel(ctx), run.ID, s.Engine.Send.Owner, campaign.RunAborted, reason, s.now())
					res, err = campaign.Result{Ending: campaign.Aborted, Reason: reason}, nil
				}
			}()
			res, err = s.Engine.Dispatch(ctx, spec, run, nil)
		}()
		s.finished(e, spec.Name, run, res, err)
	}
	if s.Go != nil {
		s.Go(work)
		return
	}
	go work()
}

func (s *Scheduler) finished(e *entry, name string, run campaign.Run, res campaign.Result, err error) {
	now := s.now()
	s.mu.Lock()
	e.busy = false
	switch {
	case err != nil:
		e.resumeAt = now.Add(checkEvery)
	case res.Ending == campaign.Waiting:
		e.resumeAt = res.NextDue
	case res.Ending == campaign.RateLimitPaused:
		e.resumeAt = now.Add(rateLimitRetry)
	}
	s.mu.Unlock()
	d := Decision{Campaign: name, Action: Finished, RunID: run.ID, Slot: run.Slot}
	switch {
	case errors.Is(err, campaign.ErrRunBusy):
		d.Reason = "another herald process is sending it"
	case err != nil:
		d.Reason = err.Error()
	default:
		c := res.Counts
		d.Reason = fmt.Sprintf("%s: %d sent, %d failed, %d skipped, %d unknown, %d pending", res.Ending, c.Sent, c.Failed, c.Skipped, c.Unknown, c.Pending)
		if res.Reason != "" {
			d.Reason += " (" + res.Reason + ")"
		}
	}
	s.decide(d)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
