package campaign

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldcli/herald/audience"
)

// Ending says how a dispatch ended.
type Ending string

const (
	// Completed: every delivery reached a terminal state.
	Completed Ending = "completed"
	// Interrupted: the caller stopped the run (SIGINT/SIGTERM); it is paused.
	Interrupted Ending = "interrupted"
	// RateLimitPaused: the platform asked for a pause longer than MaxPause;
	// the run is paused for a later resume.
	RateLimitPaused Ending = "rate_limited"
	// Aborted: the sender account is unusable (bad token), or herald
	// itself failed; the run is aborted and resumable once that is fixed.
	Aborted Ending = "aborted"
	// Waiting: every delivery due so far was attempted; the others are
	// held until their time (local_time, quiet_hours) and the run waits.
	Waiting Ending = "waiting"
)

// Result is the outcome of one dispatch of a run.
type Result struct {
	Run    Run
	Counts Counts
	Ending Ending
	// Recovered counts deliveries a dead process had left sending, now unknown.
	Recovered int
	// Reason explains an ending other than Completed.
	Reason string
	// NextDue, when the run is Waiting, is when its next held delivery
	// falls due.
	NextDue time.Time
}

// Progress reports a dispatch's progress: done of total deliveries. It is
// called once with done 0 before any delivery is attempted, then from the
// workers, concurrently, as deliveries settle.
type Progress func(done, total int)

func (o SendOptions) withDefaults() SendOptions {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.BatchSize, 256)
	def(&o.MaxRetries, 5)
	defd(&o.Backoff, 500*time.Millisecond)
	defd(&o.MaxBackoff, 30*time.Second)
	defd(&o.RequestTimeout, 30*time.Second)
	defd(&o.MaxPause, 10*time.Minute)
	defd(&o.LeaseTTL, 30*time.Second)
	if o.Owner == "" {
		o.Owner = NewOwner()
	}
	return o
}

// NewOwner names this process for run leases: host, pid and a random part.
func NewOwner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%x", host, os.Getpid(), rand.Uint32())
}

// Concurrency: enough calls in flight to keep every account at its rate
// when the platform answers in assumedLatency, within bounds.
const (
	assumedLatency = 250 * time.Millisecond
	minWorkers     = 16
	maxWorkers     = 512
	// unlimitedWorkers is for an account without a rate limit (a sandbox).
	unlimitedWorkers = 128
)

// workersFor sizes the worker pool from the channels' rates: at Telegram's
// 30/s a few workers suffice, but paid broadcasts at 1000/s over a 100 ms
// round trip need a hundred calls in flight.
func workersFor(channels map[string]Channel) int {
	need := 0.0
	for _, ch := range channels {
		r := ch.Limits().PerSecond
		if r <= 0 {
			return unlimitedWorkers
		}
		need += r * assumedLatency.Seconds()
	}
	return min(max(int(need+0.5), minWorkers), maxWorkers)
}

// pausedTooLong stops a run whose account must wait longer than maxPause.
func pausedTooLong(channel string, wait, maxPause time.Duration) *stopError {
	if wait >= time.Second {
		wait = wait.Round(time.Second) // what is left of a pause another run met
	}
	return &stopError{ending: RateLimitPaused, reason: fmt.Sprintf(
		"%s asked herald to wait %s (more than the %s herald waits); run paused: resume it later",
		channel, wait, maxPause)}
}

// stopError is why a dispatch stopped claiming before it ran out of work.
type stopError struct {
	ending Ending
	reason string
}

func (e *stopError) Error() string { return e.reason }

// Dispatch sends the run's pending deliveries and records every outcome. It
// first takes the run's lease, turning deliveries a dead process left sending
// into unknown. Cancelling ctx stops claiming: calls in flight finish and are
// recorded, the rest stay pending and the run is paused. The error is for
// failures of herald itself (the store); platform trouble is in the Result.
func (e *Engine) Dispatch(ctx context.Context, spec *Spec, run Run, progress Progress) (Result, error) {
	opts := e.Send.withDefaults()
	if opts.Workers <= 0 {
		opts.Workers = workersFor(e.Channels)
	}
	res := Result{Run: run}
	c, err := compileMessage(spec)
	if err != nil {
		return res, err
	}
	recovered, err := e.Store.AcquireRun(ctx, run.ID, opts.Owner, e.now(), opts.LeaseTTL)
	if err != nil {
		return res, fmt.Errorf("run %d: %w", run.ID, err)
	}
	res.Recovered = recovered
	if recovered > 0 {
		e.log().Warn("recovered deliveries left sending by a stopped process; their outcome is unknown and they are not resent",
			"run", run.ID, "unknown", recovered)
	}
	// The progress's total; counting the ledger costs a scan of the run, so
	// only when someone watches.
	var total int
	if progress != nil {
		before, err := e.Store.Counts(ctx, run.ID)
		if err != nil {
			return res, err
		}
		total = before.Pending
		progress(0, total)
	}

	stopCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	d := &dispatch{
		e: e, opts: opts, spec: spec, run: run, compiled: c, stop: stop, stopCtx: stopCtx,
		callCtx: context.WithoutCancel(ctx), limiters: map[string]*Limiter{},
		cache: make([]cachedMessage, max(spec.partsOf(run), 1)),
		total: total, progress: progress,
		preds: map[int64]chan struct{}{},
	}
	for name := range e.Channels {
		d.limiters[name] = e.Limiter(name) // the account's, shared with its other runs
	}
	d.w = newLedgerWriter(e.Store, run.ID, e.now, opts.Workers)
	if e.FrequencyCap != nil && spec.Purpose == Promotional {
		d.w.cap = e.FrequencyCap
	}
	go d.w.loop()

	leaseDone := make(chan struct{})
	go d.keepLease(leaseDone)

	work := make(chan Claim, opts.BatchSize)
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reply := make(chan markResult, 1) // this worker's marks
			for cl := range work {
				if stopCtx.Err() != nil {
					d.release(cl)
					continue
				}
				d.safeDeliver(cl, reply)
			}
		}()
	}
	claimErr := d.claim(work)
	close(work)
	wg.Wait()
	writeErr := d.w.close()
	close(leaseDone)

	ending, reason := Completed, ""
	var se *stopError
	switch cause := context.Cause(stopCtx); {
	case errors.As(cause, &se):
		ending, reason = se.ending, se.reason
	case ctx.Err() != nil:
		ending, reason = Interrupted, "interrupted: stopped before every delivery was attempted"
	}
	if err := errors.Join(claimErr, writeErr); err != nil {
		e.Store.ReleaseRun(context.WithoutCancel(ctx), run.ID, opts.Owner, RunPaused, "herald could not record deliveries: "+err.Error(), e.now())
		return res, fmt.Errorf("run %d: %w", run.ID, err)
	}
	state := map[Ending]RunState{Completed: RunDone, Interrupted: RunPaused, RateLimitPaused: RunPaused, Aborted: RunAborted}[ending]
	bg := context.WithoutCancel(ctx)
	// Releasing the run changes no delivery: these are its final counts.
	n, err := e.Store.Counts(bg, run.ID)
	if err != nil {
		return res, fmt.Errorf("run %d: %w", run.ID, err)
	}
	res.Counts = n
	if ending == Completed {
		// Everything claimed was attempted; make sure nothing is left.
		if left := n.Pending + n.Sending; left > 0 {
			next, err := e.Store.NextDue(bg, run.ID)
			if err != nil {
				return res, fmt.Errorf("run %d: %w", run.ID, err)
			}
			if n.Sending == 0 && next.After(e.now()) {
				state, ending = RunWaiting, Waiting
				reason = fmt.Sprintf("%d deliveries held until their time; the next at %s", n.Pending, next.Format(time.RFC3339))
				res.NextDue = next
			} else {
				state, ending, reason = RunPaused, Interrupted, fmt.Sprintf("%d deliveries not finished", left)
			}
		}
	}
	if err := e.Store.ReleaseRun(bg, run.ID, opts.Owner, state, reason, e.now()); err != nil {
		return res, fmt.Errorf("run %d: finish: %w", run.ID, err)
	}
	res.Ending, res.Reason = ending, reason
	if res.Run, err = e.Store.Run(bg, run.ID); err != nil {
		return res, err
	}
	return res, nil
}

// partsOf is how many messages each subscriber gets in run.
func (s *Spec) partsOf(run Run) int {
	if s.Mode == Each {
		return len(run.Items)
	}
	return 1
}

type cachedMessage struct {
	once sync.Once
	msg  Message
	err  error
}

type dispatch struct {
	e        *Engine
	opts     SendOptions
	spec     *Spec
	run      Run
	compiled *compiled
	stopCtx  context.Context
	stop     context.CancelCauseFunc
	callCtx  context.Context
	cache    []cachedMessage
	w        *ledgerWriter
	limiters map[string]*Limiter // the engine's, by channel

	total    int
	done     atomic.Int64
	progress Progress

	predMu sync.Mutex
	preds  map[int64]chan struct{} // subscriber → done signal of its latest part
}

func (d *dispatch) keepLease(done <-chan struct{}) {
	t := time.NewTicker(d.opts.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			err := d.e.Store.RenewRun(d.callCtx, d.run.ID, d.opts.Owner, d.e.now(), d.opts.LeaseTTL)
			if errors.Is(err, ErrRunBusy) {
				d.stop(&stopError{ending: Interrupted, reason: "another herald process took over the run (this one was presumed dead)"})
				return
			}
			if err != nil {
				// A busy database is no reason to give the run up; the
				// lease has two more renewals' worth of time.
				d.e.log().Warn("could not renew the run's lease; trying again", "run", d.run.ID, "err", err)
			}
		}
	}
}

// claim streams pending deliveries to the workers in batches.
func (d *dispatch) claim(work chan<- Claim) error {
	var after int64
	for d.stopCtx.Err() == nil {
		batch, err := d.e.Store.Pending(d.stopCtx, d.run.ID, after, d.opts.BatchSize, d.e.now())
		if err != nil {
			if d.stopCtx.Err() != nil {
				return nil
			}
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		for _, cl := range batch {
			cl := cl
			if d.spec.Mode == Each {
				d.chainParts(&cl)
			}
			select {
			case work <- cl:
			case <-d.stopCtx.Done():
				return nil
			}
		}
		after = batch[len(batch)-1].DeliveryID
	}
	return nil
}

// chainParts makes a subscriber's later parts wait for the earlier ones, so
// messages arrive in order.
func (d *dispatch) chainParts(cl *Claim) {
	d.predMu.Lock()
	defer d.predMu.Unlock()
	cl.after = d.preds[cl.Subscriber.ID]
	cl.done = make(chan struct{})
	d.preds[cl.Subscriber.ID] = cl.done
}

func (d *dispatch) finishPart(cl Claim) {
	if cl.done == nil {
		return
	}
	d.predMu.Lock()
	if d.preds[cl.Subscriber.ID] == cl.done {
		delete(d.preds, cl.Subscriber.ID)
	}
	d.predMu.Unlock()
	close(cl.done)
}

// release gives up a claim without attempting it: it stays pending.
func (d *dispatch) release(cl Claim) { d.finishPart(cl) }

func (d *dispatch) message(cl Claim) (Message, error) {
	render := func() (Message, error) {
		data := d.e.templateData(d.spec, d.run.Items, cl.Seq, cl.Subscriber)
		return d.compiled.render(d.spec, data)
	}
	if d.compiled.personal || cl.Seq >= len(d.cache) {
		return render()
	}
	c := &d.cache[cl.Seq]
	c.once.Do(func() { c.msg, c.err = render() })
	return c.msg, c.err
}

func (d *dispatch) record(o Outcome) {
	d.w.record(o)
	d.count()
}

// count advances the progress by one settled delivery.
func (d *dispatch) count() {
	n := d.done.Add(1)
	if d.progress != nil {
		d.progress(int(n), d.total)
	}
}

// deliver attempts one delivery and records its outcome.
// safeDeliver delivers cl; a panic (a bug in herald or an adapter) aborts
// the run instead of the process: the delivery's outcome is unknown if its
// request may have left, and it stays pending if it had not been marked.
func (d *dispatch) safeDeliver(cl Claim, reply chan markResult) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		d.e.log().Error("herald crashed while sending; the run is aborted", "run", d.run.ID,
			"delivery", cl.DeliveryID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		d.stop(&stopError{ending: Aborted, reason: fmt.Sprintf("herald crashed while sending delivery %d: %v", cl.DeliveryID, p)})
		d.w.record(Outcome{DeliveryID: cl.DeliveryID, Marked: true, State: Unknown, Reason: "crashed", Error: fmt.Sprint(p)})
	}()
	d.deliver(cl, reply)
}

func (d *dispatch) deliver(cl Claim, reply chan markResult) {
	defer d.finishPart(cl)
	if cl.after != nil {
		// A subscriber's parts go in order: nothing of this part may
		// happen, not even a skip, before the previous part is settled.
		select {
		case <-cl.after:
		case <-d.stopCtx.Done():
			return
		}
	}
	sub := cl.Subscriber
	out := Outcome{DeliveryID: cl.DeliveryID}
	if sub.Status != audience.Subscribed {
		// Consent is re-checked at claim time: a stop mid-run is honoured.
		out.State, out.Reason = Skipped, string(sub.Status)
		d.record(out)
		return
	}
	ch, ok := d.e.Channels[sub.Channel]
	if !ok {
		out.State, out.Reason = Skipped, "no_route"
		out.Error = fmt.Sprintf("channel %s is not configured", sub.Channel)
		d.record(out)
		return
	}
	msg, err := d.message(cl)
	if err != nil {
		out.State, out.Reason, out.Error = Failed, "render_error", err.Error()
		d.record(out)
		return
	}
	to := Recipient{SubscriberID: sub.ID, Address: sub.Address, Route: cl.Route, Token: cl.Token,
		WindowUntil: sub.WindowUntil, Tag: d.spec.Routes(false).Tag}
	calls, err := ch.Prepare(to, msg)
	if err != nil {
		var se *SendError
		if errors.As(err, &se) && se.Kind == NotAllowed {
			// The platform's rules forbid it now; nothing is sent.
			out.State, out.Reason, out.Error = Skipped, se.Reason, se.Message
			d.record(out)
			return
		}
		out.State, out.Reason, out.Error = Failed, "invalid_message", err.Error()
		d.record(out)
		return
	}
	lim := d.limiters[sub.Channel]
	marked, migrated := false, false
	retries, limited := 0, 0
	var ids []string
	// waitCtx is what a wait (rate limit, pause, backoff) gives way to: a
	// stop, unless part of the message is already out, which is finished.
	waitCtx := func(i int) context.Context {
		if i > 0 {
			return d.callCtx
		}
		return d.stopCtx
	}
	// stopped gives up before the first call took effect: the delivery
	// stays (or goes back to) pending for a resume.
	stopped := func() {
		if marked {
			out.State, out.Marked = Pending, true
			d.w.record(out)
		}
	}
	for i := 0; i < len(calls); {
		if err := lim.Wait(waitCtx(i), calls[i], d.opts.MaxPause); err != nil {
			var long *LongPauseError
			if !errors.As(err, &long) {
				stopped()
				return
			}
			// This run or another, or a reply, was told to wait longer
			// than a run waits: pause the run.
			d.stop(pausedTooLong(sub.Channel, long.Pause, d.opts.MaxPause))
			if i == 0 {
				stopped() // nothing of it sent: pending for the resume
				return
			}
			// Part of the message is out; the rest cannot follow in time.
			out.State, out.Reason, out.MessageIDs = Unknown, "rate_limited", ids
			out.Error = fmt.Sprintf("after %d of %d parts: %s", i, len(calls), long.Error())
			d.record(out)
			return
		}
		if !marked {
			switch d.w.markSending(cl.DeliveryID, reply) {
			case markStopped:
				d.count() // the subscriber stopped since the claim: skipped in the ledger
				return
			case markLost:
				if err := d.w.failed(); err != nil {
					d.stop(err)
				}
				return // someone else has it, or the ledger failed
			}
			marked, out.Marked = true, true
		}
		rctx, cancel := context.WithTimeout(d.callCtx, d.opts.RequestTimeout)
		got, err := ch.Do(rctx, calls[i])
		cancel()
		if err == nil {
			if ids == nil {
				ids = got // most messages are one call
			} else {
				ids = append(ids, got...)
			}
			i, retries, limited = i+1, 0, 0
			continue
		}
		var se *SendError
		if !errors.As(err, &se) {
			se = &SendError{Kind: Ambiguous, Reason: "error", Err: err}
		}
		fail := func(state DeliveryState, reason string) {
			out.State, out.Reason, out.Error, out.MessageIDs = state, reason, se.Error(), ids
			if i > 0 {
				out.Error = fmt.Sprintf("after %d of %d parts: %s", i, len(calls), out.Error)
			}
		}
		switch se.Kind {
		case RateLimited:
			if se.RetryAfter > d.opts.MaxPause {
				lim.Pause(se.RetryAfter) // for the account's other runs and replies too
				d.stop(pausedTooLong(sub.Channel, se.RetryAfter, d.opts.MaxPause))
				if i == 0 {
					out.State = Pending // the platform refused it: not sent
				} else {
					fail(Unknown, "rate_limited")
				}
				break
			}
			lim.Pause(se.RetryAfter)
			if limited++; limited <= 50 {
				continue
			}
			fail(Failed, "rate_limited")
		case Retryable:
			if retries++; retries <= d.opts.MaxRetries && (se.MaxRetries == 0 || retries <= se.MaxRetries) {
				backoff := min(d.opts.Backoff<<(retries-1), d.opts.MaxBackoff)
				backoff += time.Duration(rand.Int64N(int64(backoff)/4 + 1))
				if sleep(waitCtx(i), backoff) != nil {
					stopped()
					return
				}
				continue
			}
			fail(Failed, se.Reason)
		case Migrated:
			if !migrated && se.NewAddress != "" {
				owner, err := d.e.Store.AddressOwner(d.callCtx, sub.Channel, se.NewAddress)
				if err == nil && owner != sub.ID {
					// The group is already a subscriber under its new id
					// and gets its message there: this old entry is spent.
					fail(Skipped, "migrated_duplicate")
					out.Error = fmt.Sprintf("the chat moved to %s, which is subscriber %d", se.NewAddress, owner)
					out.SubscriberID, out.SubscriberStatus = sub.ID, audience.Invalid
					break
				}
				if err == nil || errors.Is(err, ErrNotFound) {
					migrated = true
					to.Address, out.SubscriberID, out.NewAddress = se.NewAddress, sub.ID, se.NewAddress
					if calls, err = ch.Prepare(to, msg); err == nil {
						continue
					}
				}
			}
			fail(Failed, "chat_migrated")
		case Fatal:
			d.stop(&stopError{ending: Aborted, reason: fmt.Sprintf("%s: %s", sub.Channel, se.Message)})
			if i == 0 {
				out.State = Pending // refused before it was sent: resume sends it
			} else {
				fail(Failed, se.Reason)
			}
		case Ambiguous:
			fail(Unknown, se.Reason)
		case RecipientBlocked:
			fail(Failed, "blocked")
			out.SubscriberID, out.SubscriberStatus = sub.ID, audience.Blocked
		case RecipientInvalid:
			fail(Failed, se.Reason)
			out.SubscriberID, out.SubscriberStatus = sub.ID, audience.Invalid
		case NoConsent:
			fail(Failed, "no_consent")
		case NotAllowed:
			fail(Skipped, se.Reason)
			if se.Reason == ReasonOutsideWindow {
				out.SubscriberID, out.CloseWindow = sub.ID, true
			}
		default:
			fail(Failed, se.Reason)
		}
		if out.State == Pending {
			d.w.record(out) // back to pending; not progress
			return
		}
		d.record(out)
		return
	}
	out.State, out.MessageIDs = Sent, ids
	d.record(out)
}
