package messenger

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/heraldcli/herald/channels/internal/inbox"
)

// EventKind is what an inbound Messenger event is.
type EventKind string

// The kinds of event ParseEvents returns.
const (
	EventMessage  EventKind = "message"  // the person wrote (text, attachments, quick reply)
	EventPostback EventKind = "postback" // the person tapped a postback button (Get Started, …)
	EventReferral EventKind = "referral" // the person came through an m.me link or ad into an existing thread
	EventOptIn    EventKind = "optin"    // marketing opt-in (notification_messages) or its STOP/RESUME
	EventDelivery EventKind = "delivery" // delivery receipt: everything before Watermark was delivered
	EventRead     EventKind = "read"     // read receipt
)

// OptInStatus values in events: "" for a new opt-in (token issued), or:
const (
	OptInStop   = "STOP_NOTIFICATIONS"
	OptInResume = "RESUME_NOTIFICATIONS"
)

// Event is one parsed entry of entry[].messaging[].
type Event struct {
	Kind   EventKind
	PageID string    // entry[].id (or recipient.id)
	PSID   string    // sender.id: the person
	At     time.Time // messaging[].timestamp (ms); entry time if missing

	// MID is the id of the person's message (message.mid, or postback.mid when Meta sends
	// one): Meta redelivers an event it was not answered 200 for, and the same MID says it
	// is one already seen. Not to be confused with MIDs, the receipts' list.
	MID string

	Text    string // message.text
	Payload string // postback.payload, message.quick_reply.payload, optin.payload
	Ref     string // referral ref (from referral, postback.referral or message.referral)
	Ad      bool   // the referral's source is "ADS": a click-to-Messenger ad (7-day window)

	// Opt-in (Kind EventOptIn with optin.type "notification_messages"). Token is a
	// credential: it is never logged.
	Token     string    // notification_messages_token
	Status    string    // "", OptInStop or OptInResume
	ExpiresAt time.Time // token_expiry_timestamp (ms), zero if absent
	Timezone  string    // notification_messages_timezone

	// Receipts:
	Watermark time.Time // delivery.watermark / read.watermark (ms)
	MIDs      []string  // delivery.mids
}

// Bounds on what one body can make ParseEvents do. Meta batches at most about a thousand
// updates in one delivery; anything far beyond that is not Meta and is cut short rather than
// turned into work for Handle.
const (
	webhookMaxEntries = 1000 // entry[] elements looked at
	webhookMaxItems   = 5000 // messaging[] elements looked at, over all entries
	webhookMaxMIDs    = 1000 // delivery.mids kept per event
)

// The webhook body, as far as herald reads it. Entries and messaging items are kept raw so
// that one odd item is skipped instead of failing the whole body.
type (
	whBody struct {
		Object json.RawMessage `json:"object"`
		Entry  json.RawMessage `json:"entry"`
	}
	whEntry struct {
		ID        string            `json:"id"`
		Time      int64             `json:"time"`
		Messaging []json.RawMessage `json:"messaging"`
	}
	whID struct {
		ID string `json:"id"`
	}
	whItem struct {
		Sender    whID        `json:"sender"`
		Recipient whID        `json:"recipient"`
		Timestamp int64       `json:"timestamp"`
		Message   *whMessage  `json:"message"`
		Postback  *whPostback `json:"postback"`
		Referral  *whReferral `json:"referral"`
		Optin     *whOptin    `json:"optin"`
		Delivery  *whReceipt  `json:"delivery"`
		Read      *whReceipt  `json:"read"`
	}
	whMessage struct {
		MID        string `json:"mid"`
		IsEcho     bool   `json:"is_echo"`
		Text       string `json:"text"`
		QuickReply *struct {
			Payload string `json:"payload"`
		} `json:"quick_reply"`
		Referral *whReferral `json:"referral"`
	}
	whPostback struct {
		MID      string      `json:"mid"`
		Payload  string      `json:"payload"`
		Referral *whReferral `json:"referral"`
	}
	whReferral struct {
		Ref    string `json:"ref"`
		Source string `json:"source"`
	}
	whOptin struct {
		Type     string `json:"type"`
		Payload  string `json:"payload"`
		Token    string `json:"notification_messages_token"`
		Expiry   int64  `json:"token_expiry_timestamp"`
		Timezone string `json:"notification_messages_timezone"`
		Status   string `json:"notification_messages_status"`
	}
	whReceipt struct {
		// Kept raw: only the first webhookMaxMIDs are decoded.
		MIDs      json.RawMessage `json:"mids"`
		Watermark int64           `json:"watermark"`
	}
)

// ParseEvents parses a webhook body ({"object":"page","entry":[{"id","time","messaging":[…]}]}).
//
// It returns the events it understands, in the body's order, and skips without error message
// echoes (message.is_echo), standby and other entries without messaging, event types herald
// does not use (reactions, edits, opt-ins other than notification_messages, …) and items it
// cannot read (a field of the wrong JSON type, no sender.id, an opt-in without
// notification_messages_token or with a status it does not know). It looks at no more than
// 1000 entries and 5000 messaging items, and keeps no more than 1000 delivery.mids per event.
//
// The error, when there is one, says why the body is not a page webhook at all: not a JSON
// object, object other than "page", or entry not an array. ParseEvents does not panic.
func ParseEvents(body []byte) ([]Event, error) {
	var b whBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, fmt.Errorf("messenger webhook: body is not a JSON object: %w", err)
	}
	var object string
	if err := json.Unmarshal(b.Object, &object); err != nil || object != "page" {
		return nil, fmt.Errorf("messenger webhook: object %s: want \"page\"", webhookQuote(b.Object))
	}
	var entries []json.RawMessage
	if len(b.Entry) > 0 {
		if err := json.Unmarshal(b.Entry, &entries); err != nil {
			return nil, errors.New("messenger webhook: entry: want an array of entries")
		}
	}
	var events []Event
	items := 0
	for _, raw := range entries[:min(len(entries), webhookMaxEntries)] {
		var e whEntry
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		for _, rawItem := range e.Messaging {
			if items == webhookMaxItems {
				return events, nil
			}
			items++
			if ev, ok := webhookEvent(e, rawItem); ok {
				events = append(events, ev)
			}
		}
	}
	return events, nil
}

// webhookEvent makes the Event of one messaging item, or tells that herald skips it.
func webhookEvent(e whEntry, raw json.RawMessage) (Event, bool) {
	var it whItem
	if json.Unmarshal(raw, &it) != nil || it.Sender.ID == "" {
		return Event{}, false
	}
	ev := Event{
		PageID: e.ID,
		PSID:   it.Sender.ID,
		At:     webhookMillis(it.Timestamp),
	}
	if ev.PageID == "" {
		ev.PageID = it.Recipient.ID
	}
	if ev.At.IsZero() {
		ev.At = webhookMillis(e.Time)
	}
	referral := it.Referral
	switch {
	case it.Message != nil:
		if it.Message.IsEcho {
			return Event{}, false
		}
		ev.Kind, ev.MID, ev.Text = EventMessage, it.Message.MID, it.Message.Text
		if it.Message.QuickReply != nil {
			ev.Payload = it.Message.QuickReply.Payload
		}
		if it.Message.Referral != nil {
			referral = it.Message.Referral
		}
	case it.Postback != nil:
		ev.Kind, ev.MID, ev.Payload = EventPostback, it.Postback.MID, it.Postback.Payload
		if it.Postback.Referral != nil {
			referral = it.Postback.Referral
		}
	case it.Optin != nil:
		o := it.Optin
		if o.Type != "notification_messages" {
			return Event{}, false
		}
		status, ok := webhookOptInStatus(o.Status)
		if !ok || o.Token == "" {
			// An unknown status is not a new opt-in; without a token, a new opt-in gives
			// nothing to send with and a STOP or RESUME does not say what it applies to.
			return Event{}, false
		}
		ev.Kind, ev.Payload, ev.Token, ev.Status = EventOptIn, o.Payload, o.Token, status
		ev.ExpiresAt, ev.Timezone = webhookMillis(o.Expiry), o.Timezone
	case it.Referral != nil:
		ev.Kind = EventReferral
	case it.Delivery != nil:
		ev.Kind, ev.Watermark = EventDelivery, webhookMillis(it.Delivery.Watermark)
		ev.MIDs = webhookMIDs(it.Delivery.MIDs)
	case it.Read != nil:
		ev.Kind, ev.Watermark = EventRead, webhookMillis(it.Read.Watermark)
	default:
		return Event{}, false
	}
	if referral != nil && ev.Kind != EventOptIn {
		ev.Ref, ev.Ad = referral.Ref, strings.EqualFold(referral.Source, "ADS")
	}
	return ev, true
}

// webhookOptInStatus normalises notification_messages_status: Meta's documentation shows it
// both as STOP_NOTIFICATIONS and as "STOP NOTIFICATIONS". ok is false for a value it does not
// know.
func webhookOptInStatus(s string) (status string, ok bool) {
	s = strings.ToUpper(strings.Join(strings.Fields(s), "_"))
	switch s {
	case "", OptInStop, OptInResume:
		return s, true
	}
	return "", false
}

// webhookMIDs decodes the first webhookMaxMIDs message ids of delivery.mids; nil when absent
// or not an array of strings.
func webhookMIDs(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil
	}
	var mids []string
	for dec.More() && len(mids) < webhookMaxMIDs {
		var mid string
		if dec.Decode(&mid) != nil {
			return nil
		}
		mids = append(mids, mid)
	}
	return mids
}

// webhookMillis is the time of a Unix-milliseconds field; zero when absent (0) or negative.
func webhookMillis(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// webhookQuote shows a JSON value in an error, cut short.
func webhookQuote(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "missing"
	}
	return webhookCut(string(raw))
}

// ValidSignature reports whether header (the X-Hub-Signature-256 value, "sha256=<hex>") is the
// HMAC-SHA256 of body with appSecret, compared in constant time. An empty secret or a header
// that is not "sha256=" followed by 64 hex digits gives false.
func ValidSignature(body []byte, header, appSecret string) bool {
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if appSecret == "" || !ok || len(hexSum) != hex.EncodedLen(sha256.Size) {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), got)
}

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	VerifyToken string // hub.verify_token expected on GET; empty: every verification fails
	AppSecret   string // signs POSTs; empty: every POST is refused
	// Handle does the work for a batch of events (one body's), after the answer has been
	// sent. It is called from one goroutine, in arrival order; a panic in it is recovered and
	// logged. Its ctx ends when Close gives up waiting. Meta redelivers what it was not
	// answered 200 for, so Handle must be idempotent. Required.
	Handle func(ctx context.Context, events []Event)
	Log    *slog.Logger // nil: discard
	// Queue is how many bodies may wait to be handled; 1024 when 0 or less. When it is full,
	// POSTs are answered 503 and Meta redelivers later.
	Queue int
	// MaxBody is the largest body accepted, in bytes; 1 MiB when 0 or less. Larger: 413.
	MaxBody int64
}

// Webhook defaults.
const (
	webhookDefaultQueue   = 1024
	webhookDefaultMaxBody = 1 << 20
)

// Webhook is the http.Handler for Meta's Messenger webhook: it answers the verification GET,
// and for each POST checks the signature over the raw body, parses it, queues its events and
// answers 200 at once; one goroutine hands the queued events to Handle.
type Webhook struct {
	cfg   WebhookConfig
	log   *slog.Logger
	inbox *inbox.Inbox[[]Event]
}

// NewWebhook returns a Webhook and starts its worker; Close stops it. It panics when
// cfg.Handle is nil.
func NewWebhook(cfg WebhookConfig) *Webhook {
	if cfg.Handle == nil {
		panic("messenger: NewWebhook: WebhookConfig.Handle is nil")
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
	w.inbox = inbox.New(inbox.Config[[]Event]{
		Name:     "messenger webhook",
		Items:    "bodies",
		Size:     cfg.Queue,
		Handle:   cfg.Handle,
		Describe: func(events []Event) []any { return []any{"events", len(events)} },
		Log:      w.log,
	})
	return w
}

// ServeHTTP answers Meta: GET is the subscription check, POST brings events, anything else
// is 405.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		w.webhookVerify(rw, r)
	case http.MethodPost:
		w.webhookReceive(rw, r)
	default:
		rw.Header().Set("Allow", "GET, POST")
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// webhookVerify answers GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=….
func (w *Webhook) webhookVerify(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("hub.mode") != "subscribe" || !inbox.SameSecret(q.Get("hub.verify_token"), w.cfg.VerifyToken) {
		w.log.Warn("messenger webhook: verification refused",
			"remote", r.RemoteAddr, "mode", webhookCut(q.Get("hub.mode")), "token_given", q.Has("hub.verify_token"))
		http.Error(rw, "forbidden", http.StatusForbidden)
		return
	}
	w.log.Info("messenger webhook: verified", "remote", r.RemoteAddr)
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	io.WriteString(rw, q.Get("hub.challenge"))
}

// webhookReceive answers a POST: the signature is checked over the raw bytes before anything
// looks at them.
func (w *Webhook) webhookReceive(rw http.ResponseWriter, r *http.Request) {
	body, ok := inbox.ReadBody(rw, r, w.cfg.MaxBody, w.log, "messenger webhook")
	if !ok {
		return
	}
	if reason := w.webhookSignatureProblem(body, r.Header.Get("X-Hub-Signature-256")); reason != "" {
		w.log.Warn("messenger webhook: signature refused", "remote", r.RemoteAddr, "reason", reason, "bytes", len(body))
		http.Error(rw, "forbidden", http.StatusForbidden)
		return
	}
	events, err := ParseEvents(body)
	if err != nil {
		w.log.Warn("messenger webhook: body refused", "remote", r.RemoteAddr, "error", err, "bytes", len(body))
		http.Error(rw, "not a page webhook", http.StatusBadRequest)
		return
	}
	switch w.webhookEnqueue(events) {
	case inbox.Closed:
		http.Error(rw, "shutting down", http.StatusServiceUnavailable)
		return
	case inbox.Full:
		w.log.Warn("messenger webhook: queue full, Meta will redeliver", "events", len(events), "queue", w.cfg.Queue)
		http.Error(rw, "busy", http.StatusServiceUnavailable)
		return
	}
	w.log.Debug("messenger webhook: received", "events", len(events))
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(rw, "EVENT_RECEIVED")
}

// webhookSignatureProblem says why header does not sign body, for the log (never the secret,
// the header or the body); "" when it does.
func (w *Webhook) webhookSignatureProblem(body []byte, header string) string {
	switch {
	case w.cfg.AppSecret == "":
		return "no app secret configured"
	case header == "":
		return "no X-Hub-Signature-256 header"
	case !ValidSignature(body, header, w.cfg.AppSecret):
		return "X-Hub-Signature-256 does not match the body"
	}
	return ""
}

// webhookEnqueue queues a body's events without waiting; a body without events herald uses
// takes no room.
func (w *Webhook) webhookEnqueue(events []Event) inbox.Result {
	if len(events) == 0 {
		if w.inbox.Closed() {
			return inbox.Closed
		}
		return inbox.Queued
	}
	return w.inbox.Enqueue(events)
}

// Close stops accepting events (POSTs are then answered 503), waits until every queued body
// has been handled, and returns nil. If ctx ends first it returns ctx's error, wrapped: the
// ctx of the Handle under way ends and the bodies still queued are dropped (and logged).
// Close may be called more than once.
func (w *Webhook) Close(ctx context.Context) error {
	return w.inbox.Close(ctx)
}

// webhookCut bounds a value from the request shown in an error or the log.
func webhookCut(s string) string {
	const max = 40
	if len(s) > max {
		return strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}
