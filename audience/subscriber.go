// Package audience holds herald's subscribers, their consent records and
// segments, and the CSV import that brings them in.
package audience

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Status says whether a subscriber may be messaged.
type Status string

const (
	// Subscribed subscribers have opted in and may be messaged.
	Subscribed Status = "subscribed"
	// Unsubscribed subscribers asked to stop.
	Unsubscribed Status = "unsubscribed"
	// Blocked subscribers blocked the bot or page, or deleted their account.
	Blocked Status = "blocked"
	// Invalid subscribers have an address the platform does not know.
	Invalid Status = "invalid"
	// Forgotten is a tombstone: the person asked to be forgotten; only a
	// keyed hash of their address is kept, so that a re-import cannot
	// subscribe them again without new consent.
	Forgotten Status = "forgotten"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case Subscribed, Unsubscribed, Blocked, Invalid, Forgotten:
		return true
	}
	return false
}

// Consent records when and how a subscriber opted in.
type Consent struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"`          // telegram_start, messenger_optin, import, …
	Ref    string    `json:"ref,omitempty"`   // deep-link payload, import file, …
	Proof  string    `json:"proof,omitempty"` // free text kept as evidence
}

// Subscriber is one reachable contact: (Channel, Address) is unique.
type Subscriber struct {
	ID            int64     `json:"id"`
	Channel       string    `json:"channel"`
	Address       string    `json:"address"`
	Name          string    `json:"name,omitempty"`
	Locale        string    `json:"locale,omitempty"`
	Timezone      string    `json:"timezone,omitempty"`
	Tags          []string  `json:"tags"`
	Status        Status    `json:"status"`
	Consent       Consent   `json:"consent"`
	LastInboundAt time.Time `json:"last_inbound_at,omitzero"`
	// WindowUntil is when the subscriber's Messenger messaging window
	// closes: 24 hours after they last wrote, 7 days after an ad click.
	WindowUntil time.Time `json:"window_until,omitzero"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

// HasTag reports whether the subscriber carries tag.
func (s Subscriber) HasTag(tag string) bool { return slices.Contains(s.Tags, tag) }

// Segment selects subscribers by tags and locale. The zero Segment selects
// everyone.
type Segment struct {
	TagsAny  []string `yaml:"tags_any" json:"tags_any,omitempty"`
	TagsAll  []string `yaml:"tags_all" json:"tags_all,omitempty"`
	TagsNone []string `yaml:"tags_none" json:"tags_none,omitempty"`
	Locales  []string `yaml:"locales" json:"locales,omitempty"`
}

// Matches reports whether s belongs to the segment. Stores translate the same
// rules into their query language; this is the reference.
func (g Segment) Matches(s Subscriber) bool {
	if len(g.TagsAny) > 0 && !slices.ContainsFunc(g.TagsAny, s.HasTag) {
		return false
	}
	for _, t := range g.TagsAll {
		if !s.HasTag(t) {
			return false
		}
	}
	if slices.ContainsFunc(g.TagsNone, s.HasTag) {
		return false
	}
	if len(g.Locales) > 0 && !slices.Contains(g.Locales, s.Locale) {
		return false
	}
	return true
}

// Filter selects subscribers for listing: a segment plus channel, status
// and address.
type Filter struct {
	Segment
	Channels  []string
	Statuses  []Status
	Addresses []string
}

// ImportStats counts what an import did.
type ImportStats struct {
	Inserted int `json:"inserted"`
	Updated  int `json:"updated"`
	// Unchanged rows matched an existing subscriber exactly.
	Unchanged int `json:"unchanged"`
	// KeptStatus counts existing subscribers who had unsubscribed or been
	// blocked: an import never re-subscribes anyone.
	KeptStatus int `json:"kept_status"`
	// Forgotten counts rows refused because the person asked to be
	// forgotten after the consent the row carries.
	Forgotten int `json:"forgotten"`
}

// Store is the subscriber persistence the audience commands need.
type Store interface {
	// Upsert inserts new subscribers and updates existing ones by (channel,
	// address) in one transaction. Updates merge tags, refresh name, locale,
	// timezone and a newer consent record, and never change status.
	Upsert(ctx context.Context, subs []Subscriber, now time.Time) (ImportStats, error)
	// Subscribers calls fn for each subscriber matching f, in id order,
	// streaming: the audience is never loaded into memory.
	Subscribers(ctx context.Context, f Filter, fn func(Subscriber) error) error
	// SetStatus changes one subscriber's status; ErrNoSubscriber if there is
	// no such subscriber.
	SetStatus(ctx context.Context, channel, address string, st Status, now time.Time) error
	// Interact records an inbound interaction: the last inbound time and
	// the window only ever move forward, so a replayed event changes
	// nothing. ErrNoSubscriber if there is no such subscriber.
	Interact(ctx context.Context, in Interaction) error
	// SetOptIn records a Messenger opt-in token for the subscriber, unless
	// the stored one comes from a newer event. A status-only change (Token
	// empty) switches the stored token. ErrNoSubscriber if there is no such
	// subscriber.
	SetOptIn(ctx context.Context, channel, address string, o OptIn) error
}

// StandardWindow is how long after a person's last message, postback or
// opt-in a Messenger Page may send them anything, promotions included.
const StandardWindow = 24 * time.Hour

// AdReferralWindow is the window after a click on a click-to-Messenger ad.
const AdReferralWindow = 7 * 24 * time.Hour

// Interaction is an inbound event that opens or extends a subscriber's
// messaging window.
type Interaction struct {
	Channel, Address string
	At               time.Time
	// Window is how long the window stays open after At.
	Window time.Duration
}

// OptInStatus is the state of a Messenger marketing opt-in token.
type OptInStatus string

const (
	OptInActive  OptInStatus = "active"
	OptInStopped OptInStatus = "stopped"
)

// OptIn is a subscriber's Messenger marketing opt-in (a
// notification_messages token), as the latest event set it.
type OptIn struct {
	Token     string      `json:"-"` // a credential for messaging the person: never printed
	Status    OptInStatus `json:"status"`
	ExpiresAt time.Time   `json:"expires_at,omitzero"`
	Timezone  string      `json:"timezone,omitempty"`
	// Legacy says the person is in a region where Meta still delivers
	// legacy recurring notifications (AU, EU, JP, KR, UK).
	Legacy bool `json:"legacy"`
	// At is the event's time; an older event never overwrites a newer one.
	At time.Time `json:"at"`
}

// ErrNoSubscriber means no subscriber has that channel and address.
var ErrNoSubscriber = errors.New("no such subscriber")
