// Package telegram is herald's Telegram channel: it renders messages to Bot
// API calls (parse_mode HTML), sends them with a small JSON client, and
// classifies every error the Bot API documents so the dispatcher knows
// whether to retry, pause, update the audience or abort. It also receives
// the bot's updates, by long polling or by webhook (receive.go, webhook.go),
// and reads them as herald's Update (updates.go).
package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/internal/msgcache"
	"github.com/heraldcli/herald/channels/internal/transport"
)

// Platform constants. Telegram does not publish exact broadcast limits; these
// are the documented guidance (PLATFORMS.md) and can change here alone.
const (
	DefaultAPIURL      = "https://api.telegram.org"
	DefaultRate        = 30   // messages per second, whole bot
	MaxPaidRate        = 1000 // with allow_paid_broadcast
	perChatRate        = 1    // messages per second to one chat
	perChatBurst       = 3    // short bursts are tolerated
	perGroupPerMinute  = 20
	maxTextLength      = 4096
	maxCaptionLength   = 1024
	maxCallbackBytes   = 64
	maxMediaGroupItems = 10
)

// Config configures a Channel.
type Config struct {
	Token  string
	APIURL string // default DefaultAPIURL; a self-hosted Bot API server or the sandbox
	// Rate is messages per second for the whole bot (default 30).
	Rate float64
	// PaidBroadcast sets allow_paid_broadcast, letting Rate go up to 1000/s
	// (charged in Telegram Stars above the free rate).
	PaidBroadcast bool
	// HTTPClient is used for every call; a default tuned for broadcasting
	// (many idle connections per host) when nil.
	HTTPClient *http.Client
}

// Channel sends to Telegram through one bot.
type Channel struct {
	cfg    Config
	base   string // APIURL + "/bot" + token + "/"
	http   *http.Client
	bodies msgcache.Cache[[]preparedCall] // encoded for a placeholder chat
}

var _ campaign.Channel = (*Channel)(nil)

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("telegram configuration")

// New returns a Channel for cfg. It returns an error wrapping ErrConfig when
// the URL, rate or token is unusable; it makes no network call. A Channel
// without a token can lint and prepare messages; Ready says whether it can
// send.
func New(cfg Config) (*Channel, error) {
	if strings.ContainsAny(cfg.Token, "/?# \t\n") {
		return nil, fmt.Errorf("%w: telegram.token has characters a bot token cannot have (expected 123456:ABC-DEF…)", ErrConfig)
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if !strings.HasPrefix(cfg.APIURL, "http://") && !strings.HasPrefix(cfg.APIURL, "https://") {
		return nil, fmt.Errorf("%w: telegram.api_url %q must start with http:// or https://", ErrConfig, cfg.APIURL)
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	limit := float64(DefaultRate)
	if cfg.PaidBroadcast {
		limit = MaxPaidRate
	}
	if cfg.Rate > limit {
		hint := ""
		if !cfg.PaidBroadcast {
			hint = " (enable telegram.paid_broadcast for up to 1000/s)"
		}
		return nil, fmt.Errorf("%w: telegram.rate %g is above Telegram's %g messages/s%s", ErrConfig, cfg.Rate, limit, hint)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = transport.NewClient()
	}
	return &Channel{cfg: cfg, base: strings.TrimRight(cfg.APIURL, "/") + "/bot" + cfg.Token + "/", http: hc}, nil
}

// Ready returns an error wrapping ErrConfig when the channel cannot send.
func (c *Channel) Ready() error {
	if c.cfg.Token == "" {
		return fmt.Errorf("%w: telegram.token is not set (set HERALD_TELEGRAM_TOKEN, or telegram.token in herald.yaml)", ErrConfig)
	}
	return nil
}

// Name implements campaign.Channel.
func (c *Channel) Name() string { return "telegram" }

// Limits implements campaign.Channel.
func (c *Channel) Limits() campaign.Limits {
	return campaign.Limits{
		PerSecond: c.cfg.Rate,
		// A tenth of a second's worth: an even flow, not a burst of a
		// full second at the start of every run.
		Burst:          max(1, int(c.cfg.Rate/10)),
		PerChat:        perChatRate,
		PerChatBurst:   perChatBurst,
		PerGroupMinute: perGroupPerMinute,
	}
}

// Redact removes the bot token from s.
func (c *Channel) Redact(s string) string {
	if c.cfg.Token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.cfg.Token, "<redacted>")
}

// envelope is the Bot API's answer: {"ok":true,"result":…} or an error.
type envelope[R any] struct {
	OK          bool                `json:"ok"`
	Result      R                   `json:"result"`
	ErrorCode   int                 `json:"error_code"`
	Description string              `json:"description"`
	Parameters  *responseParameters `json:"parameters"`
}

type responseParameters struct {
	RetryAfter      int   `json:"retry_after"`
	MigrateToChatID int64 `json:"migrate_to_chat_id"`
}

// apiResponse is the answer to a send: its result is read for message ids.
type apiResponse = envelope[apiResult]

// Do implements campaign.Channel: it posts the call and classifies the answer.
func (c *Channel) Do(ctx context.Context, call campaign.Call) ([]string, error) {
	var res apiResponse
	if err := c.post(ctx, call.Method, call.Body, &res); err != nil {
		return nil, err
	}
	return res.Result.ids, nil
}

// apiResult decodes a send's result in one pass: the message ids of a Message
// or of an array of them (sendMediaGroup).
type apiResult struct {
	ids []string
}

func (r *apiResult) UnmarshalJSON(b []byte) error {
	r.ids = messageIDs(b)
	return nil
}

// post sends one message-sending Bot API request and decodes the answer into
// res. Its errors are *campaign.SendError.
func (c *Channel) post(ctx context.Context, method string, body []byte, res *apiResponse) error {
	status, raw, err := c.roundTrip(ctx, method, body, 0)
	if err != nil {
		return err
	}
	if status == http.StatusOK {
		if ids, ok := scanSent(raw); ok {
			res.OK, res.Result.ids = true, ids
			return nil
		}
	}
	return decodeAnswer(status, raw, res)
}

// query calls a method whose result herald reads whole (getMe, getUpdates,
// getWebhookInfo, …), its parameters encoded as JSON, and returns the raw
// result. maxAnswer bounds the answer read (transport.MaxResponseBytes when
// 0). Its errors are *campaign.SendError.
func (c *Channel) query(ctx context.Context, method string, params any, maxAnswer int64) (json.RawMessage, error) {
	body, err := json.Marshal(params)
	if err != nil {
		return nil, &campaign.SendError{Kind: campaign.Fatal, Reason: "bad_request", Message: method + ": " + err.Error()}
	}
	status, raw, err := c.roundTrip(ctx, method, body, maxAnswer)
	if err != nil {
		return nil, err
	}
	if maxAnswer > 0 && int64(len(raw)) >= maxAnswer {
		return nil, &campaign.SendError{Kind: campaign.Ambiguous, Code: status, Reason: "answer_too_large",
			Message: fmt.Sprintf("Telegram's answer to %s is larger than the %d bytes herald reads", method, maxAnswer)}
	}
	var res envelope[json.RawMessage]
	if err := decodeAnswer(status, raw, &res); err != nil {
		return nil, err
	}
	return res.Result, nil
}

func (c *Channel) roundTrip(ctx context.Context, method string, body []byte, maxAnswer int64) (int, []byte, error) {
	return transport.Do(ctx, c.http, transport.Request{
		URL: c.base + method, Header: jsonHeader, Body: body, Redact: c.Redact, MaxAnswer: maxAnswer,
	})
}

// decodeAnswer decodes a Bot API answer into res and returns the classified
// error of an unsuccessful or unreadable one.
func decodeAnswer[R any](status int, raw []byte, res *envelope[R]) error {
	if err := json.Unmarshal(raw, res); err != nil {
		if status >= 500 {
			return &campaign.SendError{Kind: campaign.Retryable, Code: status, Reason: "server_error", Message: http.StatusText(status)}
		}
		if status == http.StatusOK {
			return &campaign.SendError{Kind: campaign.Ambiguous, Code: status, Reason: "bad_response", Message: "Telegram answered 200 with a body herald cannot read"}
		}
		return classify(status, http.StatusText(status), nil)
	}
	if res.OK {
		return nil
	}
	code := res.ErrorCode
	if code == 0 {
		code = status
	}
	return classify(code, res.Description, res.Parameters)
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

// classify maps a Bot API error to what herald does about it (PLATFORMS.md).
func classify(code int, desc string, params *responseParameters) *campaign.SendError {
	if code == http.StatusConflict {
		return conflictError(desc)
	}
	e := &campaign.SendError{Code: code, Message: desc}
	lower := strings.ToLower(desc)
	switch {
	case code == http.StatusTooManyRequests:
		e.Kind, e.Reason = campaign.RateLimited, "rate_limited"
		secs := 1
		if params != nil && params.RetryAfter > 0 {
			secs = params.RetryAfter
		}
		e.RetryAfter = time.Duration(secs) * time.Second
	case params != nil && params.MigrateToChatID != 0:
		e.Kind, e.Reason = campaign.Migrated, "chat_migrated"
		e.NewAddress = strconv.FormatInt(params.MigrateToChatID, 10)
	case code == http.StatusUnauthorized:
		e.Kind, e.Reason = campaign.Fatal, "unauthorized"
		e.Message = "Telegram rejected the bot token (401 Unauthorized): check telegram.token or HERALD_TELEGRAM_TOKEN"
	case code == http.StatusNotFound:
		e.Kind, e.Reason = campaign.Fatal, "not_found"
		e.Message = "Telegram answered 404 Not Found: the bot token or telegram.api_url is wrong"
	case code == http.StatusForbidden && strings.Contains(lower, "can't initiate conversation"):
		e.Kind, e.Reason = campaign.NoConsent, "no_consent"
	case code == http.StatusForbidden && (strings.Contains(lower, "blocked by the user") ||
		strings.Contains(lower, "user is deactivated") || strings.Contains(lower, "kicked") ||
		strings.Contains(lower, "chat was deleted") || strings.Contains(lower, "not a member")):
		e.Kind, e.Reason = campaign.RecipientBlocked, "blocked"
	case code == http.StatusForbidden:
		e.Kind, e.Reason = campaign.Rejected, "forbidden"
	case code == http.StatusBadRequest && (strings.Contains(lower, "chat not found") || strings.Contains(lower, "peer_id_invalid") || strings.Contains(lower, "user not found")):
		e.Kind, e.Reason = campaign.RecipientInvalid, "chat_not_found"
	case code >= 500:
		e.Kind, e.Reason = campaign.Retryable, "server_error"
	default:
		e.Kind, e.Reason = campaign.Rejected, "bad_request"
	}
	return e
}

type sentMessage struct {
	MessageID int64 `json:"message_id"`
}

// messageIDs reads the ids of a Message result, or of an array of them
// (sendMediaGroup).
func messageIDs(result []byte) []string {
	result = bytes.TrimLeft(result, " \t\r\n")
	if len(result) > 0 && result[0] == '{' {
		var one sentMessage
		if json.Unmarshal(result, &one) == nil && one.MessageID != 0 {
			return []string{strconv.FormatInt(one.MessageID, 10)}
		}
		return nil
	}
	var many []sentMessage
	if json.Unmarshal(result, &many) == nil {
		ids := make([]string, 0, len(many))
		for _, m := range many {
			if m.MessageID != 0 {
				ids = append(ids, strconv.FormatInt(m.MessageID, 10))
			}
		}
		return ids
	}
	return nil
}

// User is the bot's own account, from getMe.
type User struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	Username  string `json:"username"`
}

// GetMe checks the token and returns the bot's account. Its errors are
// *campaign.SendError (Fatal for a bad token), or say the answer is unreadable.
func (c *Channel) GetMe(ctx context.Context) (User, error) {
	var u User
	raw, err := c.query(ctx, "getMe", struct{}{}, 0)
	if err != nil {
		return u, err
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		return u, fmt.Errorf("getMe: unreadable answer: %w", err)
	}
	return u, nil
}
