package campaign

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Channel is one messaging platform as the dispatcher sees it. Adapters in
// channels/ implement it; the dispatcher owns rate limiting, retries and the
// ledger, so an adapter only renders, calls and classifies.
type Channel interface {
	// Name is the channel's name in campaign files: "telegram".
	Name() string
	// Prepare renders m for recipient to: the platform calls that deliver it,
	// in order. An error means the message cannot be sent on this platform
	// (lint should have said so) and wraps ErrInvalidMessage, or is a
	// *SendError of kind NotAllowed when the platform's rules forbid sending
	// to this recipient now.
	Prepare(to Recipient, m Message) ([]Call, error)
	// Do performs one call and returns the platform's message ids. Its error
	// is a *SendError saying what the dispatcher should do.
	Do(ctx context.Context, c Call) (ids []string, err error)
	// Lint checks a rendered message against the platform's limits without
	// sending anything.
	Lint(m Message) []Problem
	// Limits are the sending rates the dispatcher must keep to.
	Limits() Limits
}

// Recipient is who a delivery goes to, and by which route.
type Recipient struct {
	SubscriberID int64
	Address      string
	// Route is the route the planner chose (RouteBot, RouteStandard, …);
	// Token the opt-in token the recurring and marketing routes send to.
	Route string
	Token string
	// WindowUntil is when the subscriber's standard messaging window closes
	// (Messenger); Tag the message tag of a utility campaign.
	WindowUntil time.Time
	Tag         string
}

// Call is one prepared platform request. Body is opaque to the dispatcher.
type Call struct {
	Method string
	// Chat keys the per-chat rate limit; Group selects the per-group limit.
	Chat  string
	Group bool
	// Slow calls also take from the account's slow lane (Messenger: audio
	// and video attachments).
	Slow bool
	Body []byte
}

// Limits are one sender account's rates. A zero rate means unlimited.
type Limits struct {
	PerSecond      float64 // whole account
	Burst          int
	PerChat        float64 // per chat, per second
	PerChatBurst   int
	PerGroupMinute float64 // per group or channel, per minute
	SlowPerSecond  float64 // calls marked Slow, per second
}

// Problem is one lint finding about a rendered message.
type Problem struct {
	Field   string // message.text, message.buttons[1].callback, …
	Message string
}

func (p Problem) String() string { return p.Field + ": " + p.Message }

// ErrInvalidMessage means a message cannot be sent as it is.
var ErrInvalidMessage = errors.New("invalid message")

// ErrKind is what a failed platform call means for the dispatcher.
type ErrKind int

const (
	// Retryable: the request provably did not take effect (never written, or
	// the platform answered 5xx); retry with backoff.
	Retryable ErrKind = iota + 1
	// RateLimited: the platform asked the whole account to wait RetryAfter.
	RateLimited
	// Ambiguous: the request was written but its outcome is unknown. Never
	// retried automatically.
	Ambiguous
	// RecipientBlocked: the person blocked the bot or is gone; the subscriber
	// becomes blocked.
	RecipientBlocked
	// RecipientInvalid: the platform does not know the address.
	RecipientInvalid
	// NoConsent: the platform says the person never opened a conversation.
	NoConsent
	// Migrated: the chat moved to NewAddress; update and retry once.
	Migrated
	// Fatal: the account itself is broken (bad token); abort the run.
	Fatal
	// Rejected: the platform refused this message; a permanent failure.
	Rejected
	// NotAllowed: the platform's rules forbid this message to this person
	// now (Messenger: outside the messaging window); the delivery is
	// skipped with Reason, never sent.
	NotAllowed
)

// SendError is a classified platform error.
type SendError struct {
	Kind       ErrKind
	Code       int    // platform code (HTTP status for Telegram)
	Reason     string // herald's short reason code: blocked, chat_not_found, …
	Message    string // the platform's own words
	RetryAfter time.Duration
	NewAddress string
	// MaxRetries caps the retries of a Retryable error below the
	// dispatcher's own cap (Messenger code 2: once); 0 means no extra cap.
	MaxRetries int
	Err        error // underlying transport error, if any
}

func (e *SendError) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Code != 0 {
		return fmt.Sprintf("%s (%d): %s", e.Reason, e.Code, msg)
	}
	return e.Reason + ": " + msg
}

func (e *SendError) Unwrap() error { return e.Err }
