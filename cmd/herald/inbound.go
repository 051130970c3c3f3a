package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/audience/lifecycle"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/messenger"
	"github.com/heraldcli/herald/channels/telegram"
	"github.com/heraldcli/herald/internal/wait"
)

// inbound receives the platforms' events and applies them: to the audience
// through the lifecycle (start, stop, replies), to the ledger (receipts).
type inbound struct {
	a       *app
	mux     *http.ServeMux
	life    *lifecycle.Handler
	webhook *messenger.Webhook
	tgHook  *telegram.Webhook
	// poll is set when Telegram is received by long polling.
	poll bool
	// handled counts the events applied, for herald demo and tests.
	handled atomic.Int64
	wg      sync.WaitGroup
}

// getStartedPayload is the payload of the Get Started button herald sets up.
const getStartedPayload = "GET_STARTED"

// seenRetention is how long handled event ids are kept: the platforms
// redeliver for a day at most.
const seenRetention = 7 * 24 * time.Hour

// newInbound builds serve's routes. The Messenger webhook is mounted only
// when its secrets are set: without the app secret no event can be trusted.
// Telegram is polled unless telegram.webhook_url is set.
func (a *app) newInbound() (*inbound, error) {
	replies, err := a.replies()
	if err != nil {
		return nil, err
	}
	in := &inbound{a: a, mux: http.NewServeMux()}
	in.life = &lifecycle.Handler{Store: a.store, Channels: a.engine.Channels, Replies: replies, Log: a.log,
		Limiter: a.engine.Limiter} // replies keep to the rate with the runs
	in.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	in.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if _, err := a.store.Runs(ctx, campaign.RunFilter{Limit: 1}); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mc := a.ws.Config.Messenger
	switch {
	case mc.AppSecret != "" && mc.VerifyToken != "":
		in.webhook = messenger.NewWebhook(messenger.WebhookConfig{
			VerifyToken: mc.VerifyToken, AppSecret: mc.AppSecret, Handle: in.messengerEvents, Log: a.log,
		})
		in.mux.Handle("/webhooks/messenger", in.webhook)
	case mc.AppSecret != "" || mc.VerifyToken != "" || mc.PageToken != "":
		return nil, fmt.Errorf("%w: the Messenger webhook needs both messenger.app_secret (HERALD_MESSENGER_APP_SECRET) and messenger.verify_token (HERALD_MESSENGER_VERIFY_TOKEN)", errConfig)
	}
	tc := a.ws.Config.Telegram
	switch {
	case tc.WebhookURL != "":
		if !telegram.ValidWebhookSecret(tc.WebhookSecret) {
			return nil, fmt.Errorf("%w: telegram.webhook_url is set, so telegram.webhook_secret (HERALD_TELEGRAM_WEBHOOK_SECRET) must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - (e.g. from: openssl rand -hex 32)", errConfig)
		}
		in.tgHook = telegram.NewWebhook(telegram.WebhookConfig{Secret: tc.WebhookSecret, Handle: in.telegramUpdate, Log: a.log})
		in.mux.Handle("/webhooks/telegram", in.tgHook)
	case tc.WebhookSecret != "":
		return nil, fmt.Errorf("%w: telegram.webhook_secret is set but telegram.webhook_url is not: set both to receive Telegram by webhook, or neither to poll", errConfig)
	case tc.Token != "":
		in.poll = true
	}
	return in, nil
}

// start begins receiving what is not pushed to serve's routes: it points
// Telegram's webhook at herald, or starts polling. Fatal errors (a bad
// token, another program polling the bot) arrive on the returned channel.
func (in *inbound) start(ctx context.Context) (<-chan error, error) {
	fatal := make(chan error, 1)
	a := in.a
	tc := a.ws.Config.Telegram
	if in.tgHook != nil {
		if err := a.telegram.SetWebhook(ctx, tc.WebhookURL, tc.WebhookSecret, telegram.AllowedUpdates(), false); err != nil {
			return nil, fmt.Errorf("telegram: setWebhook %s: %w", tc.WebhookURL, err)
		}
	}
	if in.poll {
		if info, err := a.telegram.GetWebhookInfo(ctx); err != nil {
			return nil, fmt.Errorf("telegram: %w", err)
		} else if info.URL != "" {
			a.log.Warn("telegram: removing the bot's webhook to poll for updates (set telegram.webhook_url to receive by webhook)", "webhook", info.URL)
			if err := a.telegram.DeleteWebhook(ctx, false); err != nil {
				return nil, fmt.Errorf("telegram: deleteWebhook: %w", err)
			}
		}
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			if err := in.pollTelegram(ctx); err != nil {
				fatal <- err
			}
		}()
	}
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		in.pruneSeen(ctx)
	}()
	return fatal, nil
}

// describe says how events arrive, for serve's first line.
func (in *inbound) describe() string {
	var parts []string
	switch {
	case in.tgHook != nil:
		parts = append(parts, "telegram: webhook /webhooks/telegram")
	case in.poll:
		parts = append(parts, "telegram: polling")
	}
	if in.webhook != nil {
		parts = append(parts, "messenger: webhook /webhooks/messenger")
	}
	if len(parts) == 0 {
		return "no channel configured to receive from"
	}
	return strings.Join(parts, "; ")
}

// pruneSeen forgets old event ids now and then.
func (in *inbound) pruneSeen(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := in.a.store.PruneSeen(ctx, time.Now().Add(-seenRetention)); err != nil && ctx.Err() == nil {
			in.a.log.Warn("pruning handled event ids", "err", err)
		} else if n > 0 {
			in.a.log.Debug("pruned handled event ids", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (in *inbound) close(ctx context.Context) error {
	var errs []error
	if in.webhook != nil {
		errs = append(errs, in.webhook.Close(ctx))
	}
	if in.tgHook != nil {
		errs = append(errs, in.tgHook.Close(ctx))
	}
	done := make(chan struct{})
	go func() { in.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, errors.New("inbound: gave up waiting for the Telegram poller"))
	}
	return errors.Join(errs...)
}

// botID is the bot's id: the digits before the ':' of its token.
func (in *inbound) botID() string {
	id, _, _ := strings.Cut(in.a.ws.Config.Telegram.Token, ":")
	return id
}

// pollTimeout is how long one getUpdates waits for an update.
const pollTimeout = 25 * time.Second

// pollTelegram long-polls getUpdates until ctx ends. The offset is stored
// after each batch; an update handled but not yet behind the stored offset
// when herald stops comes again and is recognised by its id.
func (in *inbound) pollTelegram(ctx context.Context) error {
	a := in.a
	cursor := "telegram:" + in.botID() + ":offset"
	offset, err := a.store.Cursor(ctx, cursor)
	if err != nil {
		return err
	}
	a.log.Info("telegram: polling for updates", "offset", offset)
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		ups, err := a.telegram.GetUpdates(ctx, offset, pollTimeout, telegram.AllowedUpdates())
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var se *campaign.SendError
			if errors.As(err, &se) && se.Kind == campaign.Fatal {
				return fmt.Errorf("telegram: %w", err)
			}
			backoff = min(max(2*backoff, time.Second), 30*time.Second)
			a.log.Warn("telegram: getUpdates failed; retrying", "in", backoff, "err", err)
			if wait.Sleep(ctx, backoff) != nil {
				return nil
			}
			continue
		}
		backoff = 0
		next := offset
		for _, raw := range ups {
			u, perr := telegram.ParseUpdate(raw.Raw)
			if u.ID == 0 {
				u.ID = raw.ID
			}
			in.telegramUpdate(ctx, u, perr)
			if u.ID >= next {
				next = u.ID + 1
			}
		}
		if next != offset {
			// Stored even while stopping: what was handled is not fetched again.
			if err := a.store.SetCursor(context.WithoutCancel(ctx), cursor, next, time.Now()); err != nil {
				a.log.Error("telegram: storing the update offset", "err", err)
			} else {
				offset = next
			}
		}
	}
	return nil
}

// telegramUpdate applies one update. A malformed one is logged and skipped.
func (in *inbound) telegramUpdate(ctx context.Context, u telegram.Update, perr error) {
	defer in.handled.Add(1)
	log := in.a.log
	if perr != nil {
		log.Warn("telegram: malformed update skipped", "update_id", u.ID, "err", perr)
		return
	}
	ev := lifecycle.Event{Channel: audience.ChannelTelegram, Address: u.ChatID, At: u.At,
		Key: in.botID() + ":" + strconv.FormatInt(u.ID, 10), Text: u.Text,
		Name: strings.TrimSpace(u.FirstName + " " + u.LastName), Locale: u.LanguageCode}
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	switch {
	case u.Kind == telegram.UpdateCommand && u.Command == "start":
		ev.Kind, ev.Payload, ev.Consent = lifecycle.Start, u.Payload, "telegram_start"
		ev.Proof = fmt.Sprintf("Telegram update %d: /start %s", u.ID, u.Payload)
	case u.Kind == telegram.UpdateCommand && u.Command == "stop":
		ev.Kind = lifecycle.Stop
	case u.Kind == telegram.UpdateCommand, u.Kind == telegram.UpdateText:
		ev.Kind = lifecycle.Message
	case u.Kind == telegram.UpdateBlocked:
		ev.Kind = lifecycle.Blocked
	case u.Kind == telegram.UpdateMember:
		ev.Kind = lifecycle.Unblocked
	default:
		ev.Kind = lifecycle.Other
		if ev.Address == "" {
			return // nothing to record it against; the offset moves past it
		}
	}
	in.apply(ctx, ev)
}

func (in *inbound) apply(ctx context.Context, ev lifecycle.Event) {
	res, err := in.life.Handle(ctx, ev)
	if err != nil {
		in.a.log.Error("inbound event not applied", "channel", ev.Channel, "address", ev.Address, "key", ev.Key, "err", err)
		return
	}
	in.a.log.Debug("inbound event", "channel", ev.Channel, "address", ev.Address, "key", ev.Key, "action", res.Action, "sent", res.Sent)
}

// messengerEvents applies Messenger webhook events. Each is idempotent: a
// redelivered webhook changes nothing.
func (in *inbound) messengerEvents(ctx context.Context, events []messenger.Event) {
	a := in.a
	for _, ev := range events {
		err := in.messengerEvent(ctx, ev)
		switch {
		case errors.Is(err, audience.ErrNoSubscriber):
			a.log.Debug("messenger event from a person who is not a subscriber", "kind", ev.Kind, "psid", ev.PSID)
		case err != nil:
			a.log.Error("messenger event not recorded", "kind", ev.Kind, "psid", ev.PSID, "err", err)
		default:
			a.log.Debug("messenger event recorded", "kind", ev.Kind, "psid", ev.PSID)
		}
		in.handled.Add(1)
	}
}

func (in *inbound) messengerEvent(ctx context.Context, ev messenger.Event) error {
	st := in.a.store
	const ch = audience.ChannelMessenger
	window := audience.StandardWindow
	if ev.Ad {
		window = max(window, in.a.ws.Config.Messenger.AdReferralWindow)
	}
	le := lifecycle.Event{Channel: ch, Address: ev.PSID, At: ev.At, Window: window, Text: ev.Text,
		Key: messengerKey(ev)}
	switch ev.Kind {
	case messenger.EventMessage:
		le.Kind = lifecycle.Message
	case messenger.EventPostback:
		le.Kind = lifecycle.Interaction
		if ev.Payload == getStartedPayload {
			le.Kind, le.Payload, le.Consent = lifecycle.Start, ev.Ref, "messenger_get_started"
			le.Proof = "Messenger Get Started"
			if ev.Ref != "" {
				le.Proof += " via m.me ref " + ev.Ref
			}
		}
	case messenger.EventReferral:
		le.Kind = lifecycle.Interaction
	case messenger.EventOptIn:
		status := audience.OptInActive
		if ev.Status == messenger.OptInStop {
			status = audience.OptInStopped
		}
		o := audience.OptIn{Token: ev.Token, Status: status, ExpiresAt: ev.ExpiresAt, Timezone: ev.Timezone,
			Legacy: messenger.LegacyRegion(ev.Timezone), At: ev.At}
		if ev.Token != "" && ev.Status == "" {
			// A marketing opt-in is consent: it subscribes, as Get Started does.
			le.Kind, le.Payload, le.Consent, le.Proof = lifecycle.Start, "", "messenger_optin", "Messenger marketing opt-in "+ev.Payload
			le.Timezone = ev.Timezone
			res, err := in.life.Handle(ctx, le)
			if err != nil {
				return err
			}
			if res.Action == "duplicate" {
				return nil
			}
			return st.SetOptIn(ctx, ch, ev.PSID, o)
		}
		if err := st.SetOptIn(ctx, ch, ev.PSID, o); err != nil {
			return err
		}
		le.Kind = lifecycle.Interaction
	case messenger.EventDelivery:
		_, err := st.Receipt(ctx, ch, ev.PSID, campaign.Delivered, ev.Watermark, ev.MIDs)
		return err
	case messenger.EventRead:
		_, err := st.Receipt(ctx, ch, ev.PSID, campaign.Read, ev.Watermark, nil)
		return err
	default:
		return nil
	}
	_, err := in.life.Handle(ctx, le)
	return err
}

// messengerKey identifies a Messenger event for exactly-once handling: its
// message id, or who, when and what.
func messengerKey(ev messenger.Event) string {
	if ev.MID != "" {
		return "mid:" + ev.MID
	}
	return fmt.Sprintf("%s:%s:%d:%s:%s", ev.Kind, ev.PSID, ev.At.UnixMilli(), ev.Payload, ev.Status)
}
