package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/heraldcli/herald/campaign"
)

// Receiving updates (core.telegram.org/bots/api#getting-updates): by long polling with
// getUpdates, or by a webhook set with setWebhook (webhook.go serves it). Telegram allows one
// at a time: while a webhook is set, getUpdates answers 409.
const (
	// maxPollTimeout is the Bot API server's cap on getUpdates' timeout: it waits no longer.
	maxPollTimeout = 50 * time.Second
	// pollMargin is how long a getUpdates request may take past its timeout: the answer
	// still has to come back.
	pollMargin = 10 * time.Second
	// maxUpdatesAnswer bounds a getUpdates answer: up to 100 updates, each up to a message
	// of 4096 characters with its entities and the message it replies to.
	maxUpdatesAnswer = 32 << 20
	// maxWebhookSecret is the longest secret_token setWebhook takes.
	maxWebhookSecret = 256
)

// ErrConflict is wrapped by the error of GetUpdates when Telegram answers 409 Conflict: a
// webhook is set for the bot, or another program is polling it.
var ErrConflict = errors.New("telegram: getUpdates conflict")

// AllowedUpdates returns the update types herald acts on, for the allowed lists of
// GetUpdates and SetWebhook: Telegram then keeps the others to itself.
func AllowedUpdates() []string { return []string{"message", "my_chat_member"} }

// ValidWebhookSecret reports whether s can be a webhook's secret token: 1 to 256 characters
// of A-Z, a-z, 0-9, _ and -.
func ValidWebhookSecret(s string) bool {
	if len(s) == 0 || len(s) > maxWebhookSecret {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isWordByte(c) && c != '-' {
			return false
		}
	}
	return true
}

// RawUpdate is one element of getUpdates' result, as Telegram sent it: ParseUpdate reads it.
type RawUpdate struct {
	ID  int64           // update_id; 0 when it cannot be read (ParseUpdate says why)
	Raw json.RawMessage // the Update object
}

type getUpdatesParams struct {
	Offset         int64    `json:"offset,omitempty"`
	Timeout        int64    `json:"timeout,omitempty"`
	AllowedUpdates []string `json:"allowed_updates,omitzero"`
}

// GetUpdates long-polls for updates (getUpdates): it returns those from offset on (the last
// update_id handled plus one; 0 for the oldest Telegram keeps), waiting up to timeout for
// one to arrive. timeout is rounded up to whole seconds and capped at the Bot API's 50 s; 0
// asks without waiting. allowed lists the update types wanted (AllowedUpdates gives
// herald's); nil keeps the list Telegram has from the previous call.
//
// The request may last timeout plus 10 seconds (unless ctx ends sooner), so an
// http.Client with a shorter Timeout in Config cannot poll. One element of the answer that
// is not an update does not fail the others: each comes back raw, for ParseUpdate.
//
// Its errors are *campaign.SendError: Fatal for a bad token (401) or a wrong URL (404); for
// 409 Conflict, Fatal and wrapping ErrConflict, saying whether a webhook is set or another
// program polls the bot, and what to do.
func (c *Channel) GetUpdates(ctx context.Context, offset int64, timeout time.Duration, allowed []string) ([]RawUpdate, error) {
	var secs int64
	if timeout > 0 {
		secs = int64((min(timeout, maxPollTimeout) + time.Second - 1) / time.Second)
	}
	// The transport's client has no overall timeout: the deadline is the request's own.
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+pollMargin)
	defer cancel()
	result, err := c.query(ctx, "getUpdates", getUpdatesParams{Offset: offset, Timeout: secs, AllowedUpdates: allowed}, maxUpdatesAnswer)
	if err != nil {
		return nil, err
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(result, &elems); err != nil {
		return nil, badResult("getUpdates", "an array of updates")
	}
	updates := make([]RawUpdate, len(elems))
	for i, raw := range elems {
		updates[i] = RawUpdate{ID: updateID(raw), Raw: raw}
	}
	return updates, nil
}

type setWebhookParams struct {
	URL                string   `json:"url"`
	SecretToken        string   `json:"secret_token"`
	AllowedUpdates     []string `json:"allowed_updates,omitzero"`
	DropPendingUpdates bool     `json:"drop_pending_updates,omitempty"`
}

// SetWebhook has Telegram post the bot's updates to url (setWebhook), with secret in the
// X-Telegram-Bot-Api-Secret-Token header of every request (Webhook checks it). allowed is
// as for GetUpdates; dropPending discards the updates waiting.
//
// It returns an error wrapping ErrConfig, without calling Telegram, when url is empty
// (DeleteWebhook removes a webhook) or secret is not 1 to 256 characters of A-Z a-z 0-9 _ -;
// otherwise a *campaign.SendError (Rejected with Telegram's words for a URL it refuses:
// not HTTPS, a port other than 443, 80, 88 or 8443, …). Neither the token nor the secret
// appears in an error.
func (c *Channel) SetWebhook(ctx context.Context, url, secret string, allowed []string, dropPending bool) error {
	if url == "" {
		return fmt.Errorf("%w: the Telegram webhook URL is empty (to remove the webhook, delete it)", ErrConfig)
	}
	if !ValidWebhookSecret(secret) {
		return fmt.Errorf("%w: the Telegram webhook secret must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -", ErrConfig)
	}
	result, err := c.query(ctx, "setWebhook", setWebhookParams{URL: url, SecretToken: secret, AllowedUpdates: allowed, DropPendingUpdates: dropPending}, 0)
	if err != nil {
		return hideSecret(err, secret)
	}
	return wantTrue("setWebhook", result)
}

type deleteWebhookParams struct {
	DropPendingUpdates bool `json:"drop_pending_updates,omitempty"`
}

// DeleteWebhook removes the bot's webhook (deleteWebhook), so that it can be polled;
// dropPending discards the updates waiting. Removing a webhook that is not set succeeds. Its
// errors are *campaign.SendError.
func (c *Channel) DeleteWebhook(ctx context.Context, dropPending bool) error {
	result, err := c.query(ctx, "deleteWebhook", deleteWebhookParams{DropPendingUpdates: dropPending}, 0)
	if err != nil {
		return err
	}
	return wantTrue("deleteWebhook", result)
}

// WebhookInfo is the state of the bot's webhook.
type WebhookInfo struct {
	URL                string // empty when none is set (the bot is polled)
	PendingUpdateCount int    // updates waiting to be delivered
	// LastErrorDate and LastErrorMessage tell the last failed delivery to the webhook;
	// zero and empty when there was none.
	LastErrorDate    time.Time
	LastErrorMessage string
	AllowedUpdates   []string // nil: Telegram's default
}

type webhookInfoResult struct {
	URL                string   `json:"url"`
	PendingUpdateCount int      `json:"pending_update_count"`
	LastErrorDate      int64    `json:"last_error_date"`
	LastErrorMessage   string   `json:"last_error_message"`
	AllowedUpdates     []string `json:"allowed_updates"`
}

// GetWebhookInfo returns the state of the bot's webhook (getWebhookInfo). Its errors are
// *campaign.SendError.
func (c *Channel) GetWebhookInfo(ctx context.Context) (WebhookInfo, error) {
	result, err := c.query(ctx, "getWebhookInfo", struct{}{}, 0)
	if err != nil {
		return WebhookInfo{}, err
	}
	var r webhookInfoResult
	if err := json.Unmarshal(result, &r); err != nil {
		return WebhookInfo{}, badResult("getWebhookInfo", "a WebhookInfo object")
	}
	return WebhookInfo{
		URL:                r.URL,
		PendingUpdateCount: r.PendingUpdateCount,
		LastErrorDate:      unixTime(r.LastErrorDate),
		LastErrorMessage:   r.LastErrorMessage,
		AllowedUpdates:     r.AllowedUpdates,
	}, nil
}

// conflictError is the error of a 409 Conflict, which only getUpdates gets.
func conflictError(desc string) *campaign.SendError {
	e := &campaign.SendError{Kind: campaign.Fatal, Code: 409, Err: ErrConflict}
	if strings.Contains(strings.ToLower(desc), "webhook") {
		e.Reason = "webhook_active"
		e.Message = "Telegram refused getUpdates (" + desc + "): a webhook is set for this bot, so it cannot be polled; " +
			"delete the webhook to poll, or receive updates by webhook"
		return e
	}
	e.Reason = "conflict"
	e.Message = "Telegram refused getUpdates (" + desc + "): another program is polling this bot, and only one may; " +
		"stop the other one (another herald serve?), or give each its own bot token"
	return e
}

// wantTrue checks a method's result is true, as Telegram answers a change it made.
func wantTrue(method string, result json.RawMessage) error {
	if string(result) != "true" {
		return badResult(method, "true")
	}
	return nil
}

func badResult(method, want string) error {
	return &campaign.SendError{Kind: campaign.Ambiguous, Code: 200, Reason: "bad_response",
		Message: "Telegram answered " + method + " with a result that is not " + want}
}

// hideSecret removes secret from the error's text, should Telegram ever quote it.
func hideSecret(err error, secret string) error {
	if se, ok := errors.AsType[*campaign.SendError](err); ok {
		se.Message = strings.ReplaceAll(se.Message, secret, "<redacted>")
	}
	return err
}
