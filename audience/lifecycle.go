package audience

import (
	"context"
	"errors"
	"time"
)

// Inbound identifies one inbound event (a /start, a stop, a message) for
// the lifecycle methods of LifecycleStore.
type Inbound struct {
	Channel, Address string
	// Key is the event's identity on its platform (a Telegram update id, a
	// Messenger message id). An event whose key was already handled changes
	// nothing and returns ErrDuplicate. Empty: no check.
	Key string
	At  time.Time
	// Window is how long the person's messaging window stays open after At
	// (Messenger); zero records the interaction time only.
	Window time.Duration
}

// ErrDuplicate means the inbound event was already handled.
var ErrDuplicate = errors.New("inbound event already handled")

// Change is what a lifecycle event did to a subscriber.
type Change struct {
	// Subscriber as stored after the event; ID 0 when the person is not a
	// subscriber (a stray message from someone who never opted in).
	Subscriber Subscriber
	// Previous is the status before the event: "" when the subscriber is
	// new (or not a subscriber).
	Previous Status
	// Reply is set by Message when the default reply is due.
	Reply bool
}

// Link is an acquisition link: a Telegram deep-link payload or an m.me ref
// that subscribes people with a source and tags.
type Link struct {
	Channel   string    `json:"channel"`
	Payload   string    `json:"payload"`
	Source    string    `json:"source"`
	Tags      []string  `json:"tags"`
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
}

// ErrLinkTaken means the payload is already a link with another source or
// tags.
var ErrLinkTaken = errors.New("link payload already used")

// Event is one entry of a subscriber's history: a change of status.
type Event struct {
	Kind     Status    `json:"kind"`
	Previous Status    `json:"previous,omitempty"`
	Source   string    `json:"source,omitempty"`
	Ref      string    `json:"ref,omitempty"`
	At       time.Time `json:"at"`
}

// HistoryEvent is an audience event with its subscriber, as Stats reads them.
type HistoryEvent struct {
	Event
	SubscriberID int64
	Channel      string
}

// SourceCount counts subscribers by channel, consent source and ref, and
// status.
type SourceCount struct {
	Channel, Source, Ref string
	Status               Status
	Count                int
}

// LifecycleStore is the persistence of the inbound lifecycle and of the
// audience management commands.
type LifecycleStore interface {
	// Subscribe subscribes (or re-subscribes) s.Channel/s.Address with the
	// consent in s: the status becomes subscribed whatever it was, tags
	// are added, name, locale and timezone filled where empty.
	Subscribe(ctx context.Context, in Inbound, s Subscriber) (Change, error)
	// Stop sets the subscriber's status to st (Unsubscribed or Blocked).
	// Change.Previous tells whether it changed anything.
	Stop(ctx context.Context, in Inbound, st Status) (Change, error)
	// Message records an inbound message (the interaction time and window)
	// and sets Change.Reply when the subscriber is subscribed and had no
	// default reply for `every`.
	Message(ctx context.Context, in Inbound, every time.Duration) (Change, error)
	// Seen records an event that changes nothing else.
	Seen(ctx context.Context, in Inbound) error
	// PruneSeen forgets event keys handled before t.
	PruneSeen(ctx context.Context, before time.Time) (int, error)

	// Cursor returns a stored stream position (0 when never set);
	// SetCursor stores one.
	Cursor(ctx context.Context, name string) (int64, error)
	SetCursor(ctx context.Context, name string, v int64, now time.Time) error

	// Subscriber returns one subscriber; ErrNoSubscriber if none.
	Subscriber(ctx context.Context, channel, address string) (Subscriber, error)
	// History returns a subscriber's status changes, oldest first.
	History(ctx context.Context, id int64) ([]Event, error)
	// Retag adds and removes tags on every subscriber matching f and
	// returns how many changed.
	Retag(ctx context.Context, f Filter, add, remove []string, now time.Time) (int, error)
	// SetStatuses sets st on every subscriber matching f that is not
	// already in it and returns how many changed.
	SetStatuses(ctx context.Context, f Filter, st Status, now time.Time) (int, error)
	// Forget erases a subscriber's personal data, leaving a tombstone.
	// ErrNoSubscriber if none.
	Forget(ctx context.Context, channel, address string, now time.Time) error

	// SaveLink records l, or returns the existing link when the payload is
	// already recorded with the same source and tags; ErrLinkTaken (with
	// the existing link) when it is recorded differently.
	SaveLink(ctx context.Context, l Link) (Link, error)
	// Link returns the link with that payload; ErrNoLink if none.
	Link(ctx context.Context, channel, payload string) (Link, error)
	// Links returns every recorded link.
	Links(ctx context.Context) ([]Link, error)
	// Events calls fn for every audience event at or after since, oldest
	// first, and returns how many subscribers were subscribed just before
	// since.
	Events(ctx context.Context, since time.Time, fn func(HistoryEvent) error) (before int, err error)
	// SourceCounts counts the audience by how its consent was given.
	SourceCounts(ctx context.Context) ([]SourceCount, error)
}

// ErrNoLink means no link has that payload.
var ErrNoLink = errors.New("no such link")
