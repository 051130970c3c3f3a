// Package lifecycle applies what people do in a conversation to the
// audience: a /start (or Messenger's Get Started, or an opt-in) subscribes
// them and sends the welcome; /stop or a stop keyword unsubscribes them and
// sends the goodbye once; blocking the bot marks them blocked; anything else
// gets the default reply at most once per period. It is platform-neutral:
// herald serve turns Telegram updates and Messenger events into Events.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/internal/wait"
)

// Kind is what a person did.
type Kind int

const (
	// Start: /start [payload], Get Started, or a marketing opt-in.
	Start Kind = iota + 1
	// Stop: /stop, or a message that is a stop keyword.
	Stop
	// Message: anything else they wrote (a stop keyword is recognised here).
	Message
	// Blocked: they blocked the bot or deleted the chat.
	Blocked
	// Unblocked: they allowed the bot again; they become eligible only
	// after a new Start.
	Unblocked
	// Interaction: they tapped a button or followed a link: their window
	// moves, nothing is sent.
	Interaction
	// Other: an event herald does not act on; only recorded as handled.
	Other
)

// Event is one inbound event, platform-neutral.
type Event struct {
	Kind             Kind
	Channel, Address string
	// Key is the platform's id of the event (update id, message id):
	// an event delivered twice is applied once.
	Key string
	At  time.Time
	// Window is how long the person's messaging window stays open after
	// this event (Messenger); 0 for Telegram.
	Window time.Duration

	Payload string // the start payload or m.me ref
	Text    string
	// Consent names how a Start gave consent: telegram_start,
	// messenger_get_started, messenger_optin.
	Consent string
	// Proof describes the event as evidence of consent.
	Proof        string
	Name, Locale string
	Timezone     string
}

// Replies are the automatic messages; a nil reply is off.
type Replies struct {
	Welcome, Goodbye, Default *campaign.Reply
	// DefaultEvery is the least time between two default replies to one
	// person.
	DefaultEvery time.Duration
	// StopKeywords are messages that unsubscribe, compared without case
	// and surrounding space and punctuation; STOP and UNSUBSCRIBE always
	// are.
	StopKeywords []string
}

// Handler applies events. It is safe for concurrent use when its store is.
type Handler struct {
	Store    audience.LifecycleStore
	Channels map[string]campaign.Channel
	Replies  Replies
	Log      *slog.Logger
	// MaxWait bounds how long each call of a reply waits, for rate limits
	// and retries together (a minute by default).
	MaxWait time.Duration
	// Limiter returns the rate limiter of a channel's account, shared with
	// the runs that send through it (campaign.Engine.Limiter), so that
	// replies and campaigns together keep to the platform's rate and a 429
	// to either pauses both. Nil, or a nil limiter: each reply keeps to the
	// channel's limits, and 429s, on its own.
	Limiter func(channel string) *campaign.Limiter
}

// Result says what an event did, for logs and tests.
type Result struct {
	Action string // subscribed, resubscribed, unsubscribed, blocked, message, duplicate, ignored, unknown_person
	// Sent names the reply sent: welcome, goodbye, default_reply.
	Sent string
	// SendError is why the reply could not be sent.
	SendError error
}

// DefaultStopKeywords always unsubscribe.
var DefaultStopKeywords = []string{"STOP", "UNSUBSCRIBE"}

// Handle applies ev. An event already handled returns Result{Action:
// "duplicate"} and does nothing.
func (h *Handler) Handle(ctx context.Context, ev Event) (Result, error) {
	if ev.Kind == Message && h.isStopKeyword(ev.Text) {
		ev.Kind = Stop
	}
	in := audience.Inbound{Channel: ev.Channel, Address: ev.Address, Key: ev.Key, At: ev.At, Window: ev.Window}
	res, err := h.apply(ctx, ev, in)
	if errors.Is(err, audience.ErrDuplicate) {
		return Result{Action: "duplicate"}, nil
	}
	return res, err
}

func (h *Handler) apply(ctx context.Context, ev Event, in audience.Inbound) (Result, error) {
	switch ev.Kind {
	case Start:
		tags, source := h.startTags(ctx, ev)
		sub := audience.Subscriber{Name: ev.Name, Locale: ev.Locale, Timezone: ev.Timezone, Tags: tags,
			Consent: audience.Consent{At: ev.At, Source: ev.Consent, Ref: source, Proof: ev.Proof}}
		ch, err := h.Store.Subscribe(ctx, in, sub)
		if err != nil {
			return Result{}, err
		}
		res := Result{Action: "subscribed"}
		switch ch.Previous {
		case "":
		case audience.Subscribed:
			res.Action = "already_subscribed"
		default:
			res.Action = "resubscribed"
		}
		h.reply(ctx, &res, "welcome", h.Replies.Welcome, ch.Subscriber)
		return res, nil
	case Stop:
		ch, err := h.Store.Stop(ctx, in, audience.Unsubscribed)
		if err != nil {
			return Result{}, err
		}
		if ch.Subscriber.ID == 0 {
			return Result{Action: "unknown_person"}, nil
		}
		res := Result{Action: "unsubscribed"}
		// The goodbye goes once: only to someone who was subscribed.
		if ch.Previous == audience.Subscribed {
			h.reply(ctx, &res, "goodbye", h.Replies.Goodbye, ch.Subscriber)
		}
		return res, nil
	case Blocked:
		ch, err := h.Store.Stop(ctx, in, audience.Blocked)
		if err != nil {
			return Result{}, err
		}
		if ch.Subscriber.ID == 0 {
			return Result{Action: "unknown_person"}, nil
		}
		return Result{Action: "blocked"}, nil
	case Message, Interaction:
		every := h.Replies.DefaultEvery
		if h.Replies.Default == nil || ev.Kind == Interaction {
			every = 0
		}
		ch, err := h.Store.Message(ctx, in, every)
		if err != nil {
			return Result{}, err
		}
		if ch.Subscriber.ID == 0 {
			return Result{Action: "unknown_person"}, nil
		}
		res := Result{Action: "message"}
		if ev.Kind == Interaction {
			res.Action = "interaction"
		}
		if ch.Reply {
			h.reply(ctx, &res, "default_reply", h.Replies.Default, ch.Subscriber)
		}
		return res, nil
	default:
		return Result{Action: "ignored"}, h.Store.Seen(ctx, in)
	}
}

// startTags maps a start payload to tags and a source: a link made with
// herald audience link carries its own; any other valid payload is both
// the source and a tag (start=blog adds the tag blog).
func (h *Handler) startTags(ctx context.Context, ev Event) (tags []string, source string) {
	if ev.Payload == "" {
		return nil, ""
	}
	l, err := h.Store.Link(ctx, ev.Channel, ev.Payload)
	if err == nil {
		return l.Tags, l.Payload
	}
	if !errors.Is(err, audience.ErrNoLink) {
		h.log().Warn("start payload not looked up", "payload", ev.Payload, "err", err)
	}
	if PayloadRE.MatchString(ev.Payload) {
		return []string{ev.Payload}, ev.Payload
	}
	return nil, ""
}

// PayloadRE is what herald accepts as a start payload or link ref: Telegram's
// deep-link alphabet, at most 64 characters.
var PayloadRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (h *Handler) isStopKeyword(text string) bool {
	t := strings.TrimFunc(text, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '.' || r == '!' || r == '"' || r == '\''
	})
	if t == "" {
		return false
	}
	for _, list := range [][]string{DefaultStopKeywords, h.Replies.StopKeywords} {
		for _, k := range list {
			if strings.EqualFold(t, strings.TrimSpace(k)) {
				return true
			}
		}
	}
	return false
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

// reply renders and sends an automatic reply to sub. A reply that cannot be
// sent is logged and reported in res; the event stays applied.
func (h *Handler) reply(ctx context.Context, res *Result, name string, r *campaign.Reply, sub audience.Subscriber) {
	if r == nil {
		return
	}
	err := h.send(ctx, r, sub)
	var se *campaign.SendError
	switch {
	case errors.As(err, &se) && se.Kind == campaign.NotAllowed:
		// The platform's rules forbid it now (an old event, outside the
		// Messenger window): not a fault.
		res.SendError = err
		h.log().Info("automatic reply not sent: the platform does not allow it now", "reply", name, "channel", sub.Channel, "address", sub.Address, "reason", se.Reason)
		return
	case err != nil:
		res.SendError = err
		h.log().Error("automatic reply not sent", "reply", name, "channel", sub.Channel, "address", sub.Address, "err", err)
		return
	}
	res.Sent = name
	h.log().Info("automatic reply sent", "reply", name, "channel", sub.Channel, "address", sub.Address)
}

func (h *Handler) send(ctx context.Context, r *campaign.Reply, sub audience.Subscriber) error {
	ch, ok := h.Channels[sub.Channel]
	if !ok {
		return fmt.Errorf("channel %s is not configured", sub.Channel)
	}
	msg, err := r.Render(sub, time.Now())
	if err != nil {
		return err
	}
	route := campaign.RouteBot
	if sub.Channel != "telegram" {
		route = campaign.RouteStandard
	}
	calls, err := ch.Prepare(campaign.Recipient{SubscriberID: sub.ID, Address: sub.Address, Route: route, WindowUntil: sub.WindowUntil}, msg)
	if err != nil {
		return err
	}
	maxWait := h.MaxWait
	if maxWait == 0 {
		maxWait = time.Minute
	}
	var lim *campaign.Limiter
	if h.Limiter != nil {
		lim = h.Limiter(sub.Channel)
	}
	if lim == nil {
		lim = campaign.NewLimiter(ch.Limits())
	}
	for _, c := range calls {
		if err := do(ctx, ch, lim, c, maxWait); err != nil {
			var se *campaign.SendError
			if errors.As(err, &se) && se.Kind == campaign.RecipientBlocked {
				// They blocked the bot meanwhile: record it.
				in := audience.Inbound{Channel: sub.Channel, Address: sub.Address, At: time.Now()}
				if _, serr := h.Store.Stop(ctx, in, audience.Blocked); serr != nil {
					return errors.Join(err, serr)
				}
			}
			return err
		}
	}
	return nil
}

// do performs one call, waiting out the account's rate limits and
// retrying what provably did not take effect, for at most maxWait of
// waiting in all; an ambiguous outcome is not retried: a reply is never
// sent twice. A 429 pauses the account for everything sent through lim.
func do(ctx context.Context, ch campaign.Channel, lim *campaign.Limiter, c campaign.Call, maxWait time.Duration) error {
	var waited time.Duration
	for attempt := 0; ; attempt++ {
		start := time.Now()
		if err := waitTurn(ctx, lim, c, maxWait-waited); err != nil {
			return err
		}
		waited += time.Since(start)
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := ch.Do(rctx, c)
		cancel()
		var se *campaign.SendError
		if err == nil || !errors.As(err, &se) {
			return err
		}
		switch se.Kind {
		case campaign.RateLimited:
			lim.Pause(se.RetryAfter)
			if waited+se.RetryAfter > maxWait {
				return err
			}
		case campaign.Retryable:
			delay := time.Duration(200<<attempt)*time.Millisecond + time.Duration(rand.Int64N(int64(100*time.Millisecond)))
			if attempt >= 3 || waited+delay > maxWait {
				return err
			}
			if err := wait.Sleep(ctx, delay); err != nil {
				return err
			}
			waited += delay
		default:
			return err
		}
	}
}

// waitTurn waits, for at most budget, until the account's limiter lets c
// go. It gives up with a RateLimited error when that takes longer.
func waitTurn(ctx context.Context, lim *campaign.Limiter, c campaign.Call, budget time.Duration) error {
	late := &campaign.SendError{Kind: campaign.RateLimited, Reason: "rate_limited",
		Message: "the account is rate limited for longer than a reply waits"}
	if budget <= 0 {
		return late
	}
	wctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	if err := lim.Wait(wctx, c, budget); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return late
	}
	return nil
}
