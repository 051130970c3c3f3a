package telegram

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/heraldcli/herald/channels/internal/inbox"
)

// secretHeader carries the secret_token given to setWebhook in each of Telegram's requests.
const secretHeader = "X-Telegram-Bot-Api-Secret-Token"

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	// Secret is the secret token given to SetWebhook; requests without it are refused
	// (403). Empty: every request is refused.
	Secret string
	// Handle does the work for one update, after Telegram has been answered. err is
	// ParseUpdate's: a malformed update is handed over too, its ID set when readable, so the
	// caller can count it as handled. Updates of kind UpdateIgnored are not handed over.
	// Handle is called from one goroutine, in arrival order; a panic in it is recovered and
	// logged. Its ctx ends when Close gives up waiting. Telegram redelivers what it was not
	// answered 2xx for, so Handle must treat an update_id it has seen as handled. Required.
	Handle func(ctx context.Context, u Update, err error)
	Log    *slog.Logger // nil: discard
	// Queue is how many updates may wait to be handled; 1024 when 0 or less. When it is
	// full, requests are answered 503 and Telegram retries later.
	Queue int
	// MaxBody is the largest body accepted, in bytes; 1 MiB when 0 or less. Larger: 413.
	MaxBody int64
}

// Webhook defaults.
const (
	webhookDefaultQueue   = 1024
	webhookDefaultMaxBody = 1 << 20
)

// received is one update waiting for Handle.
type received struct {
	u   Update
	err error
}

// Webhook is the http.Handler for the bot's webhook: for each POST it checks the secret
// token, reads the one update of the body, queues it and answers 200 at once; one goroutine
// hands the queued updates to Handle.
type Webhook struct {
	cfg   WebhookConfig
	log   *slog.Logger
	inbox *inbox.Inbox[received]
}

// NewWebhook returns a Webhook and starts its worker; Close stops it. It panics when
// cfg.Handle is nil.
func NewWebhook(cfg WebhookConfig) *Webhook {
	if cfg.Handle == nil {
		panic("telegram: NewWebhook: WebhookConfig.Handle is nil")
	}
	if cfg.Queue <= 0 {
		cfg.Queue = webhookDefaultQueue
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = webhookDefaultMaxBody
	}
	w := &Webhook{cfg: cfg, log: cfg.Log}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	w.inbox = inbox.New(inbox.Config[received]{
		Name:     "telegram webhook",
		Items:    "updates",
		Size:     cfg.Queue,
		Handle:   func(ctx context.Context, r received) { cfg.Handle(ctx, r.u, r.err) },
		Describe: func(r received) []any { return []any{"update_id", r.u.ID} },
		Log:      w.log,
	})
	return w
}

// ServeHTTP answers Telegram: POST brings an update, anything else is 405.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// The secret is checked before anything reads the body.
	if reason := w.secretProblem(r.Header.Values(secretHeader)); reason != "" {
		w.log.Warn("telegram webhook: secret token refused", "remote", r.RemoteAddr, "reason", reason)
		http.Error(rw, "forbidden", http.StatusForbidden)
		return
	}
	body, ok := inbox.ReadBody(rw, r, w.cfg.MaxBody, w.log, "telegram webhook")
	if !ok {
		return
	}
	u, err := ParseUpdate(body)
	if err != nil {
		// Answered 200 all the same: Telegram would retry a refused update for hours, and it
		// will not read better next time.
		w.log.Warn("telegram webhook: malformed update", "update_id", u.ID, "error", err, "bytes", len(body))
	}
	if err == nil && u.Kind == UpdateIgnored {
		// Nothing to do: it takes no room in the queue.
		if w.inbox.Closed() {
			http.Error(rw, "shutting down", http.StatusServiceUnavailable)
			return
		}
		w.log.Debug("telegram webhook: update ignored", "update_id", u.ID)
		rw.WriteHeader(http.StatusOK)
		return
	}
	switch w.inbox.Enqueue(received{u, err}) {
	case inbox.Closed:
		http.Error(rw, "shutting down", http.StatusServiceUnavailable)
		return
	case inbox.Full:
		w.log.Warn("telegram webhook: queue full, Telegram will retry", "update_id", u.ID, "queue", w.cfg.Queue)
		http.Error(rw, "busy", http.StatusServiceUnavailable)
		return
	}
	w.log.Debug("telegram webhook: received", "update_id", u.ID, "kind", u.Kind)
	rw.WriteHeader(http.StatusOK)
}

// secretProblem says why the secret token header values do not match the secret, for the
// log (never a value); "" when they do. The comparison takes the same time whatever the
// values and their lengths.
func (w *Webhook) secretProblem(values []string) string {
	switch {
	case w.cfg.Secret == "":
		return "no secret configured"
	case len(values) == 0:
		return "no " + secretHeader + " header"
	case len(values) > 1:
		return "more than one " + secretHeader + " header"
	}
	if !inbox.SameSecret(values[0], w.cfg.Secret) {
		return secretHeader + " does not match the secret"
	}
	return ""
}

// Close stops accepting updates (requests are then answered 503, and Telegram retries them
// later), waits until every queued update has been handled, and returns nil. If ctx ends
// first it returns ctx's error, wrapped: the ctx of the Handle under way ends and the
// updates still queued are dropped (and logged). Close may be called more than once.
func (w *Webhook) Close(ctx context.Context) error {
	return w.inbox.Close(ctx)
}
