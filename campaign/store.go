package campaign

import (
	"context"
	"errors"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/sources/catalog"
)

// RunState is where a run is in its life.
type RunState string

const (
	RunPlanning RunState = "planning"
	RunSending  RunState = "sending"
	RunPaused   RunState = "paused"
	// RunWaiting: every delivery due so far was attempted; the rest are held
	// until their due time (local_time, quiet_hours).
	RunWaiting   RunState = "waiting"
	RunDone      RunState = "done"
	RunCancelled RunState = "cancelled"
	RunAborted   RunState = "aborted"
	// RunSkipped records a scheduled slot that was not sent, with why in
	// Error; it has no deliveries.
	RunSkipped RunState = "skipped"
)

// Resumable reports whether a run in this state still has work that resume
// can continue.
func (s RunState) Resumable() bool {
	return s == RunPlanning || s == RunSending || s == RunPaused || s == RunWaiting || s == RunAborted
}

// DeliveryState is one recipient's state in a run: the ledger.
type DeliveryState string

const (
	Pending   DeliveryState = "pending"
	Sending   DeliveryState = "sending"
	Sent      DeliveryState = "sent"
	Delivered DeliveryState = "delivered"
	Read      DeliveryState = "read"
	Failed    DeliveryState = "failed"
	Skipped   DeliveryState = "skipped"
	Unknown   DeliveryState = "unknown"
)

// Terminal reports whether no further attempt will be made for a delivery in
// this state.
func (s DeliveryState) Terminal() bool {
	return s != Pending && s != Sending
}

// Run is one execution of a campaign.
type Run struct {
	ID             int64  `json:"run_id"`
	Campaign       string `json:"campaign"`
	Trigger        string `json:"trigger"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// Slot is the scheduled time the run was created for (zero for manual
	// and CI runs): unique per campaign.
	Slot       time.Time      `json:"slot,omitzero"`
	State      RunState       `json:"state"`
	Items      []sources.Item `json:"items"`
	Error      string         `json:"error,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	StartedAt  time.Time      `json:"started_at,omitzero"`
	FinishedAt time.Time      `json:"finished_at,omitzero"`
}

// Counts summarises a run's ledger.
type Counts struct {
	Targeted int `json:"targeted"`
	Pending  int `json:"pending"`
	Sending  int `json:"sending"`
	// Sent counts every delivery the platform accepted, including those
	// later reported delivered or read.
	Sent    int           `json:"sent"`
	Failed  int           `json:"failed"`
	Skipped int           `json:"skipped"`
	Unknown int           `json:"unknown"`
	Reasons []ReasonCount `json:"reasons"`
	// Channels breaks the ledger down by channel, route, state and reason.
	Channels []ChannelCount `json:"channels"`
	// FirstSentAt and LastSentAt bound the sending, for the send rate.
	FirstSentAt time.Time `json:"-"`
	LastSentAt  time.Time `json:"-"`
}

// ReasonCount is how many deliveries ended in State for Reason.
type ReasonCount struct {
	State  DeliveryState `json:"state"`
	Reason string        `json:"reason"`
	Count  int           `json:"count"`
}

// ChannelCount is how many deliveries of one channel and route ended in
// State for Reason.
type ChannelCount struct {
	Channel string        `json:"channel"`
	Route   string        `json:"route"`
	State   DeliveryState `json:"state"`
	Reason  string        `json:"reason,omitempty"`
	Count   int           `json:"count"`
}

// PlanRequest is everything the planner commits in one transaction.
type PlanRequest struct {
	Campaign       string
	Trigger        string
	IdempotencyKey string
	Channels       []string
	Segment        audience.Segment
	// Parts is the number of messages each subscriber gets (1, or one per
	// item in mode each). Zero parts plans a run with nobody targeted.
	Parts int
	// Items is the run's snapshot of content.
	Items []sources.Item
	// Seen are the dedupe keys this run consumes: the items it sends and
	// those it passes over (backfill, digest overflow).
	Seen []string
	// Source, when set, records the source's validators for the next fetch.
	Source *SourceState
	// Routes says which Messenger routes beyond the window are open.
	Routes RoutePolicy
	// Slot, for a scheduled run, is the slot it is created for; a second
	// run for the same campaign and slot is refused with ErrDuplicateSlot.
	Slot time.Time
	// DueAt, when set, says when deliveries to subscribers in a time zone
	// (an IANA name, "" when the subscriber has none) may leave; a zero or
	// past time means at once.
	DueAt func(timezone string) time.Time
	Now   time.Time
}

// SlotSkip records a scheduled slot that will not be sent.
type SlotSkip struct {
	Campaign string
	Trigger  string
	Slot     time.Time
	Reason   string
	Now      time.Time
}

// FrequencyCap limits how many promotional runs may reach one subscriber
// within Per, across campaigns.
type FrequencyCap struct {
	Max int
	Per time.Duration
}

// SourceState is what herald remembers about one campaign's source.
type SourceState struct {
	Campaign   string
	URL        string
	Validators sources.Validators
	// Initialized is false until the campaign's first run against this URL.
	Initialized bool
	FetchedAt   time.Time
	// WaitingSince is when new items started waiting for a digest's
	// min_items (zero: none are waiting).
	WaitingSince time.Time
	// Products, for a catalog source, are the product states to remember
	// with the run: only those that changed since the last one.
	Products []catalog.State
	// Generation counts the times the state was consumed. A consume of a
	// state read at one generation fails with ErrSourceChanged when
	// another has moved it on meanwhile.
	Generation int64
}

// Claim is a pending delivery with what the dispatcher needs to send it.
type Claim struct {
	DeliveryID int64
	Seq        int
	Subscriber audience.Subscriber
	// Route is the route the planner chose; Token the opt-in token the
	// recurring and marketing routes send to.
	Route string
	Token string

	after, done chan struct{} // part ordering, set by the dispatcher
}

// Outcome is the recorded result of one delivery, with its side effects on
// the subscriber.
type Outcome struct {
	DeliveryID int64
	// Marked says the delivery was moved to sending by this process: its
	// outcome replaces sending (or unknown, if another process recovered
	// it meanwhile). An unmarked outcome applies only to a pending delivery,
	// so a process that lost its lease cannot overwrite the new owner's work.
	Marked     bool
	State      DeliveryState
	Reason     string
	Error      string
	MessageIDs []string
	// SubscriberID with a non-empty SubscriberStatus or NewAddress updates the subscriber.
	SubscriberID     int64
	SubscriberStatus audience.Status
	NewAddress       string
	// CloseWindow records that the platform says the subscriber's messaging
	// window is closed, whatever herald thought.
	CloseWindow bool
}

// Batch is one group commit of ledger writes.
type Batch struct {
	RunID int64
	// Sending moves these deliveries from pending to sending (attempt + 1).
	Sending  []int64
	Outcomes []Outcome
	At       time.Time
	// Cap, when set, skips (reason frequency_cap) a delivery to mark whose
	// subscriber other runs already reached Cap.Max times within Cap.Per,
	// and counts the ones marked.
	Cap *FrequencyCap
}

// SegmentCount is how many subscribers of a segment are on a channel in a status.
type SegmentCount struct {
	Channel string
	Status  audience.Status
	Count   int
}

// RunFilter selects runs for listing, newest first.
type RunFilter struct {
	Campaign string
	Limit    int
}

// Store is the persistence the campaign engine needs. store/sqlite implements
// it; store/storetest is the conformance suite every implementation passes.
type Store interface {
	// SourceState returns the campaign's remembered state of url; a zero
	// SourceState with Initialized false when there is none.
	SourceState(ctx context.Context, campaign, url string) (SourceState, error)
	// ProductStates returns what the campaign remembers of each product of
	// the catalog at url, by key; empty before its first run.
	ProductStates(ctx context.Context, campaign, url string) (map[string]catalog.State, error)
	// Unseen returns the subset of keys the campaign has not consumed yet.
	Unseen(ctx context.Context, campaign string, keys []string) (map[string]bool, error)
	// SegmentCounts counts a segment's subscribers per channel and status.
	SegmentCounts(ctx context.Context, channels []string, seg audience.Segment) ([]SegmentCount, error)
	// AddressOwner returns the id of the subscriber with that channel and
	// address, or ErrNotFound.
	AddressOwner(ctx context.Context, channel, address string) (int64, error)
	// FirstInSegment returns one subscribed member of the segment (for
	// previews), or ErrNotFound.
	FirstInSegment(ctx context.Context, channels []string, seg audience.Segment) (audience.Subscriber, error)

	// RouteCounts counts, without writing anything, how the subscribed
	// members of req's segment would be routed per channel.
	RouteCounts(ctx context.Context, req PlanRequest) ([]RouteCount, error)

	// Plan creates a run in one transaction: the run and its item snapshot,
	// the consumed keys, the source state, and one pending delivery per
	// subscribed member of the segment and part, on the first route allowed
	// (Messenger members no route allows get a skipped outside_window
	// delivery instead; a recurring route uses up the token's 48 hours). It returns ErrRunActive
	// (with the active run) when the campaign has an unfinished run, and
	// ErrDuplicateKey (with that run) when the idempotency key was used.
	Plan(ctx context.Context, req PlanRequest) (Run, error)

	// Run returns a run by id, or ErrNotFound.
	Run(ctx context.Context, id int64) (Run, error)
	// RunByKey returns the campaign's run with that idempotency key, or ErrNotFound.
	RunByKey(ctx context.Context, campaign, key string) (Run, error)
	// ActiveRun returns the campaign's unfinished run, or ErrNotFound.
	ActiveRun(ctx context.Context, campaign string) (Run, error)
	// SkipSlot records a slot that is not sent as a run in state skipped
	// with the reason; ErrDuplicateSlot (with the existing run) when the
	// slot was already decided.
	SkipSlot(ctx context.Context, s SlotSkip) (Run, error)
	// LastSlot returns the latest slot recorded for the campaign (sent or
	// skipped), or the zero time.
	LastSlot(ctx context.Context, campaign string) (time.Time, error)
	// Consume records items as seen and the source's state without a run:
	// what a watched source had before herald started watching it.
	Consume(ctx context.Context, campaign string, seen []string, src *SourceState, now time.Time) error
	// SetWaitingSince records since when new items of the campaign's source
	// have been waiting (zero clears it).
	SetWaitingSince(ctx context.Context, campaign, url string, since time.Time) error
	// NextDue returns when the run's next held delivery falls due, or the
	// zero time when none is held.
	NextDue(ctx context.Context, runID int64) (time.Time, error)
	// PruneContacts forgets frequency-cap contacts made before before.
	PruneContacts(ctx context.Context, before time.Time) (int, error)
	// Runs lists runs, newest first.
	Runs(ctx context.Context, f RunFilter) ([]Run, error)
	// Counts summarises a run's ledger.
	Counts(ctx context.Context, runID int64) (Counts, error)

	// AcquireRun gives owner the run's lease until now+ttl and sets it
	// sending. When the previous holder is gone (its lease expired, or it
	// released without finishing), the deliveries it left sending become
	// unknown: their outcome cannot be known. It returns ErrRunBusy while
	// another owner's lease is live, and how many deliveries it recovered.
	AcquireRun(ctx context.Context, runID int64, owner string, now time.Time, ttl time.Duration) (recovered int, err error)
	// RenewRun extends owner's lease; ErrRunBusy if owner lost it.
	RenewRun(ctx context.Context, runID int64, owner string, now time.Time, ttl time.Duration) error
	// ReleaseRun ends owner's lease and sets the run's state and error.
	ReleaseRun(ctx context.Context, runID int64, owner string, state RunState, errMsg string, now time.Time) error
	// CancelRun skips every pending delivery (reason cancelled) and marks the
	// run cancelled; ErrRunBusy while another owner sends it.
	CancelRun(ctx context.Context, runID int64, now time.Time) (skipped int, err error)

	// RequeueUnknown moves the run's unknown deliveries back to pending, so
	// that a resume sends them again, and makes a finished run resumable. It
	// returns ErrRunBusy while another process sends the run, ErrRunFinished
	// for a cancelled run, and ErrRunActive when the campaign has another
	// unfinished run.
	RequeueUnknown(ctx context.Context, runID int64, now time.Time) (int, error)

	// Pending returns up to limit pending deliveries of the run with id >
	// afterID that are due at or before due, in id order, with their
	// subscribers as they are now.
	Pending(ctx context.Context, runID, afterID int64, limit int, due time.Time) ([]Claim, error)
	// Apply commits a batch of ledger writes in one transaction and returns
	// the ids it moved to sending (a row no longer pending is left alone).
	// A delivery to mark whose subscriber is no longer subscribed is
	// skipped instead, with the status as reason, and returned in Stopped:
	// a stop is honoured up to the moment the request would leave.
	Apply(ctx context.Context, b Batch) (ApplyResult, error)

	// Receipt moves the subscriber's sent (or delivered) deliveries on
	// channel to state (Delivered or Read): those whose message ids include
	// one of mids, or, without mids, those recorded sent at or before
	// watermark. It returns how many moved; it never moves one back.
	Receipt(ctx context.Context, channel, address string, state DeliveryState, watermark time.Time, mids []string) (int, error)
}

var (
	// ErrNotFound means the run, subscriber or campaign does not exist.
	ErrNotFound = errors.New("not found")
	// ErrRunActive means the campaign already has an unfinished run.
	ErrRunActive = errors.New("campaign has an unfinished run")
	// ErrDuplicateKey means the idempotency key was already used.
	ErrDuplicateKey = errors.New("idempotency key already used")
	// ErrDuplicateSlot means the campaign's slot already has a run (or a
	// recorded skip): another process decided it first.
	ErrDuplicateSlot = errors.New("slot already decided")
	// ErrRunBusy means another herald process holds the run.
	ErrRunBusy = errors.New("run is being sent by another herald process")
	// ErrRunFinished means the run has ended and cannot be resumed.
	ErrRunFinished = errors.New("run has finished")
	// ErrSourceChanged means another run consumed the campaign's source
	// after this one read its state: what this one picked may already have
	// been sent. Nothing was written; prepare again.
	ErrSourceChanged = errors.New("the campaign's source was consumed by another herald run since it was read: nothing was sent; try again")
)

// ApplyResult is what Apply did with the batch's marks.
type ApplyResult struct {
	Marked  []int64
	Stopped []int64
}

// RunConflict is returned by Plan with ErrRunActive or ErrDuplicateKey; it
// carries the existing run.
type RunConflict struct {
	Err error
	Run Run
}

func (e *RunConflict) Error() string { return e.Err.Error() }
func (e *RunConflict) Unwrap() error { return e.Err }

// AddReason adds n deliveries that ended in state for reason, merging with
// the same state and reason from another channel or route.
func (c *Counts) AddReason(state DeliveryState, reason string, n int) {
	for i := range c.Reasons {
		if c.Reasons[i].State == state && c.Reasons[i].Reason == reason {
			c.Reasons[i].Count += n
			return
		}
	}
	c.Reasons = append(c.Reasons, ReasonCount{State: state, Reason: reason, Count: n})
}
