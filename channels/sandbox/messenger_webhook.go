package sandbox

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"slices"
	"time"
)

// ErrWebhookUnreachable is returned (wrapped) by InjectMessenger when the webhook could not be
// posted to: no connection, or no answer in time.
var ErrWebhookUnreachable = errors.New("the webhook could not be reached")

// webhookTimeout bounds how long InjectMessenger waits for the webhook's answer (Meta waits
// about 20 s before it counts a delivery as failed).
const webhookTimeout = 20 * time.Second

// defaultAdID is the ad_id of an injected event's ad referral when MessengerEvent.AdID is empty.
const defaultAdID = "120200000000000001"

// MessengerEvent is an event a person causes in the page's conversation, for InjectMessenger.
type MessengerEvent struct {
	PSID string `json:"psid"`
	// Type is "message", "postback", "referral", "optin", "delivery" or "read".
	Type string `json:"type"`
	// Text is a message's text (required for a message).
	Text string `json:"text,omitempty"`
	// Payload is a postback's payload (required), a message's quick reply payload (a tap on a
	// quick reply) or an opt-in's payload (its topic).
	Payload string `json:"payload,omitempty"`
	// Title is a postback button's title; the payload when empty.
	Title string `json:"title,omitempty"`
	// Ad tells that a message, postback or referral came from a click-to-Messenger ad: the
	// event carries referral {"source":"ADS","type":"OPEN_THREAD","ad_id":…,"ref":…}, and the
	// window stays open 7 days.
	Ad bool `json:"ad,omitempty"`
	// AdID is the ad's id in an ad referral; defaultAdID when empty.
	AdID string `json:"ad_id,omitempty"`
	// Ref is a referral's ref parameter (an m.me link's ?ref=, or the ad's).
	Ref string `json:"ref,omitempty"`
	// Status is, for an optin, "STOP_NOTIFICATIONS" or "RESUME_NOTIFICATIONS": the person
	// switches their newest notification_messages_token. Without it, the optin issues a
	// new token, valid for a year.
	Status string `json:"status,omitempty"`
	// Timezone is a new opt-in's notification_messages_timezone; "UTC" when empty.
	Timezone string `json:"timezone,omitempty"`
	// Watermark is a delivery's or read's watermark in Unix milliseconds; now when zero.
	Watermark int64 `json:"watermark,omitempty"`
	// MIDs are the message ids a delivery lists (optional).
	MIDs []string `json:"mids,omitempty"`
}

// InjectResult is what InjectMessenger did.
type InjectResult struct {
	// Posted tells whether the event was posted to a webhook; false when none is configured
	// or it could not be reached.
	Posted bool   `json:"posted"`
	URL    string `json:"url,omitempty"`
	// Status is the webhook's HTTP status. The sandbox does not retry, whatever it is.
	Status int `json:"status,omitempty"`
	// Body is the exact body posted (or that would have been).
	Body json.RawMessage `json:"body"`
	// Signature is the X-Hub-Signature-256 header sent; empty without an app secret.
	Signature string `json:"signature,omitempty"`
	// MID is the message id of an injected message or postback.
	MID string `json:"mid,omitempty"`
	// Token is the notification_messages_token an optin issued or switched.
	Token string `json:"token,omitempty"`
	// User is the person's state after the event.
	User MessengerUser `json:"user"`
}

// The webhook's body, fields in Meta's order.
type (
	webhookBody struct {
		Object string         `json:"object"`
		Entry  []webhookEntry `json:"entry"`
	}
	webhookEntry struct {
		ID        string             `json:"id"`
		Time      int64              `json:"time"`
		Messaging []webhookMessaging `json:"messaging"`
	}
	webhookID struct {
		ID string `json:"id"`
	}
	webhookMessaging struct {
		Sender    webhookID         `json:"sender"`
		Recipient webhookID         `json:"recipient"`
		Timestamp int64             `json:"timestamp"`
		Message   *webhookMessage   `json:"message,omitempty"`
		Postback  *webhookPostback  `json:"postback,omitempty"`
		Referral  *webhookReferral  `json:"referral,omitempty"`
		Optin     *webhookOptin     `json:"optin,omitempty"`
		Delivery  *webhookWatermark `json:"delivery,omitempty"`
		Read      *webhookWatermark `json:"read,omitempty"`
	}
	webhookMessage struct {
		MID        string             `json:"mid"`
		Text       string             `json:"text"`
		QuickReply *webhookQuickReply `json:"quick_reply,omitempty"`
		Referral   *webhookReferral   `json:"referral,omitempty"`
	}
	webhookQuickReply struct {
		Payload string `json:"payload"`
	}
	webhookPostback struct {
		MID      string           `json:"mid"`
		Title    string           `json:"title"`
		Payload  string           `json:"payload"`
		Referral *webhookReferral `json:"referral,omitempty"`
	}
	webhookReferral struct {
		Ref    string `json:"ref,omitempty"`
		AdID   string `json:"ad_id,omitempty"`
		Source string `json:"source"`
		Type   string `json:"type"`
	}
	webhookOptin struct {
		Type                         string `json:"type"`
		Payload                      string `json:"payload,omitempty"`
		NotificationMessagesToken    string `json:"notification_messages_token"`
		TokenExpiryTimestamp         int64  `json:"token_expiry_timestamp"`
		UserTokenStatus              string `json:"user_token_status"`
		NotificationMessagesTimezone string `json:"notification_messages_timezone"`
		NotificationMessagesStatus   string `json:"notification_messages_status,omitempty"`
	}
	webhookWatermark struct {
		MIDs      []string `json:"mids,omitempty"`
		Watermark int64    `json:"watermark"`
	}
)

// eventFields are the MessengerEvent fields each type takes, besides psid and type.
var eventFields = map[string][]string{
	"message":  {"text", "payload", "ad", "ad_id", "ref"},
	"postback": {"payload", "title", "ad", "ad_id", "ref"},
	"referral": {"ad", "ad_id", "ref"},
	"optin":    {"payload", "status", "timezone"},
	"delivery": {"watermark", "mids"},
	"read":     {"watermark"},
}

func (ev *MessengerEvent) validate() error {
	if !isPSID(ev.PSID) {
		return fmt.Errorf("psid %q: want digits, e.g. 24000000000000001", ev.PSID)
	}
	allowed, ok := eventFields[ev.Type]
	if !ok {
		return fmt.Errorf("type %q: want message, postback, referral, optin, delivery or read", ev.Type)
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"text", ev.Text != ""}, {"payload", ev.Payload != ""}, {"title", ev.Title != ""},
		{"ad", ev.Ad}, {"ad_id", ev.AdID != ""}, {"ref", ev.Ref != ""}, {"status", ev.Status != ""},
		{"timezone", ev.Timezone != ""}, {"watermark", ev.Watermark != 0}, {"mids", len(ev.MIDs) > 0},
	} {
		if f.set && !slices.Contains(allowed, f.name) {
			return fmt.Errorf("%s: a %s event does not take it", f.name, ev.Type)
		}
	}
	switch {
	case ev.Type == "message" && ev.Text == "":
		return errors.New("text: a message needs a text")
	case ev.Type == "postback" && ev.Payload == "":
		return errors.New("payload: a postback needs a payload")
	case ev.AdID != "" && !ev.Ad:
		return errors.New("ad_id: only with \"ad\": true")
	case ev.Status != "" && ev.Status != "STOP_NOTIFICATIONS" && ev.Status != "RESUME_NOTIFICATIONS":
		return fmt.Errorf("status %q: want STOP_NOTIFICATIONS or RESUME_NOTIFICATIONS", ev.Status)
	case ev.Status != "" && ev.Timezone != "":
		return errors.New("timezone: only for a new opt-in, without status")
	case ev.Watermark < 0:
		return fmt.Errorf("watermark %d: want Unix milliseconds", ev.Watermark)
	}
	return nil
}

// InjectMessenger makes the person ev.PSID cause ev in the page's conversation: the sandbox
// updates its own state first (creating the person if new; a message, postback, referral or
// optin is an interaction, which opens the messaging window; an optin issues or switches a
// notification_messages_token), then posts the event to the webhook, if one is set, as Meta
// does: {"object":"page","entry":[…]} signed with X-Hub-Signature-256 (and the legacy SHA-1
// X-Hub-Signature) when an app secret is set, "/" and non-ASCII characters escaped as Meta
// escapes them. It does not retry.
//
// It returns an error that says what is wrong with ev (nothing is changed then), or one
// wrapping ErrWebhookUnreachable when the webhook could not be posted to (the state is
// updated all the same) or ctx ended first.
func (s *Server) InjectMessenger(ctx context.Context, ev MessengerEvent) (InjectResult, error) {
	if err := ev.validate(); err != nil {
		return InjectResult{}, fmt.Errorf("sandbox: messenger event: %w", err)
	}
	now := s.now()
	msgr := s.msgr
	var res InjectResult
	messaging := webhookMessaging{
		Sender: webhookID{ev.PSID}, Recipient: webhookID{msgr.pageID}, Timestamp: now.UnixMilli(),
	}
	var referral *webhookReferral
	switch {
	case ev.Ad:
		referral = &webhookReferral{Ref: ev.Ref, AdID: cmp.Or(ev.AdID, defaultAdID), Source: "ADS", Type: "OPEN_THREAD"}
	case ev.Type == "referral" || ev.Ref != "":
		// An m.me link's ref: on a referral into an existing thread, or on the
		// Get Started postback (or first message) of a new one.
		referral = &webhookReferral{Ref: ev.Ref, Source: "SHORTLINK", Type: "OPEN_THREAD"}
	}
	watermark := ev.Watermark
	if watermark == 0 {
		watermark = now.UnixMilli()
	}

	msgr.mu.Lock()
	u := msgr.userLocked(ev.PSID)
	switch ev.Type {
	case "message":
		res.MID = msgr.newMID()
		messaging.Message = &webhookMessage{MID: res.MID, Text: ev.Text, Referral: referral}
		if ev.Payload != "" {
			messaging.Message.QuickReply = &webhookQuickReply{Payload: ev.Payload}
		}
	case "postback":
		res.MID = msgr.newMID()
		messaging.Postback = &webhookPostback{MID: res.MID, Title: cmp.Or(ev.Title, ev.Payload), Payload: ev.Payload, Referral: referral}
	case "referral":
		messaging.Referral = referral
	case "optin":
		optin, err := msgr.optinLocked(ev, u, now)
		if err != nil {
			if len(u.Tokens) == 0 && u.LastInteraction.IsZero() {
				delete(msgr.users, ev.PSID) // created for nothing
			}
			msgr.mu.Unlock()
			return InjectResult{}, fmt.Errorf("sandbox: messenger event: %w", err)
		}
		messaging.Optin = optin
		res.Token = optin.NotificationMessagesToken
	case "delivery":
		messaging.Delivery = &webhookWatermark{MIDs: ev.MIDs, Watermark: watermark}
	case "read":
		messaging.Read = &webhookWatermark{Watermark: watermark}
	}
	if ev.Type != "delivery" && ev.Type != "read" {
		u.LastInteraction, u.AdReferral = now, ev.Ad
	}
	res.User = u.clone()
	secret := msgr.appSecret
	res.URL = msgr.webhookURL
	msgr.mu.Unlock()

	body, err := metaJSON(webhookBody{Object: "page", Entry: []webhookEntry{{ID: msgr.pageID, Time: now.UnixMilli(), Messaging: []webhookMessaging{messaging}}}})
	if err != nil {
		return res, fmt.Errorf("sandbox: encode the webhook event: %w", err)
	}
	res.Body = body
	if res.URL == "" {
		return res, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, res.URL, bytes.NewReader(body))
	if err != nil {
		return res, fmt.Errorf("sandbox: post the webhook event to %s: %w: %w", res.URL, ErrWebhookUnreachable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	if secret != "" {
		res.Signature = "sha256=" + hexHMAC(sha256.New, secret, body)
		req.Header.Set("X-Hub-Signature-256", res.Signature)
		req.Header.Set("X-Hub-Signature", "sha1="+hexHMAC(sha1.New, secret, body))
	}
	client := &http.Client{Timeout: webhookTimeout}
	answer, err := client.Do(req)
	if err != nil {
		return res, fmt.Errorf("sandbox: post the webhook event to %s: %w: %w", res.URL, ErrWebhookUnreachable, err)
	}
	io.Copy(io.Discard, io.LimitReader(answer.Body, 1<<20))
	answer.Body.Close()
	res.Posted, res.Status = true, answer.StatusCode
	return res, nil
}

// optinLocked applies an optin to u: a new token, or a status switch of the newest one.
func (m *messenger) optinLocked(ev MessengerEvent, u *MessengerUser, now time.Time) (*webhookOptin, error) {
	if ev.Status == "" {
		t := NotificationToken{
			Token: m.newToken(), Status: TokenActive, Expires: now.Add(tokenLifetime),
			Timezone: cmp.Or(ev.Timezone, "UTC"), Topic: ev.Payload,
		}
		u.Tokens = append(u.Tokens, t)
		m.tokenOwner[t.Token] = ev.PSID
		return t.optin(""), nil
	}
	if len(u.Tokens) == 0 {
		return nil, fmt.Errorf("status %s: PSID %s has no notification_messages_token; inject an optin without status first", ev.Status, ev.PSID)
	}
	t := &u.Tokens[len(u.Tokens)-1]
	t.Status = TokenActive
	if ev.Status == "STOP_NOTIFICATIONS" {
		t.Status = TokenStopped
	}
	optin := t.optin(ev.Status)
	if ev.Payload != "" {
		optin.Payload = ev.Payload
	}
	return optin, nil
}

func (t *NotificationToken) optin(status string) *webhookOptin {
	return &webhookOptin{
		Type: "notification_messages", Payload: t.Topic, NotificationMessagesToken: t.Token,
		TokenExpiryTimestamp: t.Expires.UnixMilli(), UserTokenStatus: "NOT_REFRESHED",
		NotificationMessagesTimezone: t.Timezone, NotificationMessagesStatus: status,
	}
}

// newToken makes a notification_messages_token, "nmt_…", unique in the server.
func (m *messenger) newToken() string {
	return "nmt_" + m.newMID()[len("m_"):]
}

func hexHMAC(h func() hash.Hash, secret string, body []byte) string {
	mac := hmac.New(h, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// webhookStatus is for the control API: the webhook set, without the secret.
func (m *messenger) webhookStatus() map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return map[string]any{"url": m.webhookURL, "app_secret_set": m.appSecret != ""}
}
