// Package messenger is herald's Facebook Messenger channel: it renders
// messages to Send API bodies (plain text, attachments, button and generic
// templates, quick replies), sends them by the route the planner chose
// (standard window, message tag, recurring notification, Marketing
// Messages), classifies every error Meta documents so the dispatcher knows
// whether to retry, pause, skip, update the audience or abort, receives
// Meta's webhook (webhook.go), and sets the Page's greeting and Get Started
// button (profile.go).
package messenger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/internal/msgcache"
	"github.com/heraldcli/herald/channels/internal/transport"
)

// Platform constants (PLATFORMS.md). Meta allows 300 calls/s per Page for
// text and 10/s for audio and video; herald stays a little under the first.
const (
	DefaultAPIURL     = "https://graph.facebook.com"
	DefaultAPIVersion = "v25.0"
	DefaultRate       = 250
	MaxRate           = 300
	DefaultMediaRate  = 10
	// DefaultRateLimitPause is how long the Page pauses after a rate-limit
	// code: Meta's answer carries no retry-after.
	DefaultRateLimitPause = time.Minute
)

// Config configures a Channel.
type Config struct {
	PageID    string
	PageToken string
	// APIURL is the Graph API's base (default DefaultAPIURL; the sandbox is
	// just another URL) and APIVersion its version (default v25.0).
	APIURL     string
	APIVersion string
	// Rate is Send API calls per second for the Page (default 250, at most
	// 300); MediaRate those with audio or video (default 10).
	Rate      float64
	MediaRate float64
	// AdAccountID enables the Marketing Messages route through the ad
	// account act_<AdAccountID>.
	AdAccountID    string
	RateLimitPause time.Duration
	HTTPClient     *http.Client
	// Now is the clock for the window check; time.Now by default.
	Now func() time.Time
}

// Channel sends to Messenger as one Page.
type Channel struct {
	cfg  Config
	base string // APIURL + "/" + version + "/"
	http *http.Client
	// renders remembers recent messages' Messenger shapes: a broadcast is
	// rendered once, whoever it goes to.
	renders msgcache.Cache[*rendering]
}

var _ campaign.Channel = (*Channel)(nil)

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("messenger configuration")

var (
	versionRE = regexp.MustCompile(`^v\d+\.\d+$`)
	idRE      = regexp.MustCompile(`^\d+$`)
)

// New returns a Channel for cfg. It returns an error wrapping ErrConfig when
// a setting is unusable; it makes no network call. A Channel without a
// Page id or token can lint and prepare messages; Ready says whether it can
// send.
func New(cfg Config) (*Channel, error) {
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if !strings.HasPrefix(cfg.APIURL, "http://") && !strings.HasPrefix(cfg.APIURL, "https://") {
		return nil, fmt.Errorf("%w: messenger.api_url %q must start with http:// or https://", ErrConfig, cfg.APIURL)
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	if !versionRE.MatchString(cfg.APIVersion) {
		return nil, fmt.Errorf("%w: messenger.api_version %q: want the Graph API version like %s", ErrConfig, cfg.APIVersion, DefaultAPIVersion)
	}
	if cfg.PageID != "" && !idRE.MatchString(cfg.PageID) {
		return nil, fmt.Errorf("%w: messenger.page_id %q: a Page id is digits only (Page settings → About → Page ID)", ErrConfig, cfg.PageID)
	}
	if cfg.AdAccountID != "" {
		cfg.AdAccountID = strings.TrimPrefix(cfg.AdAccountID, "act_")
		if !idRE.MatchString(cfg.AdAccountID) {
			return nil, fmt.Errorf("%w: messenger.marketing.ad_account_id %q: an ad account id is digits, optionally after act_", ErrConfig, cfg.AdAccountID)
		}
	}
	if strings.ContainsAny(cfg.PageToken, " \t\r\n") {
		return nil, fmt.Errorf("%w: messenger.page_token contains white space", ErrConfig)
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Rate > MaxRate {
		return nil, fmt.Errorf("%w: messenger.rate %g is above Meta's %d calls/s per Page", ErrConfig, cfg.Rate, MaxRate)
	}
	if cfg.MediaRate <= 0 {
		cfg.MediaRate = DefaultMediaRate
	}
	if cfg.RateLimitPause <= 0 {
		cfg.RateLimitPause = DefaultRateLimitPause
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = transport.NewClient()
	}
	return &Channel{cfg: cfg, base: strings.TrimRight(cfg.APIURL, "/") + "/" + cfg.APIVersion + "/", http: hc}, nil
}

// Ready returns an error wrapping ErrConfig when the channel cannot send.
func (c *Channel) Ready() error {
	var missing []string
	if c.cfg.PageID == "" {
		missing = append(missing, "messenger.page_id (HERALD_MESSENGER_PAGE_ID)")
	}
	if c.cfg.PageToken == "" {
		missing = append(missing, "messenger.page_token (HERALD_MESSENGER_PAGE_TOKEN)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s not set", ErrConfig, strings.Join(missing, " and "))
	}
	return nil
}

// Name implements campaign.Channel.
func (c *Channel) Name() string { return "messenger" }

// Limits implements campaign.Channel.
func (c *Channel) Limits() campaign.Limits {
	return campaign.Limits{
		PerSecond:     c.cfg.Rate,
		Burst:         max(1, int(c.cfg.Rate/10)),
		SlowPerSecond: c.cfg.MediaRate,
	}
}

// Redact removes the Page token from s.
func (c *Channel) Redact(s string) string {
	if c.cfg.PageToken == "" {
		return s
	}
	return strings.ReplaceAll(s, c.cfg.PageToken, "<redacted>")
}

// apiError is the Graph API's error envelope.
type apiError struct {
	Error *struct {
		Message      string `json:"message"`
		Type         string `json:"type"`
		Code         int    `json:"code"`
		Subcode      int    `json:"error_subcode"`
		IsTransient  bool   `json:"is_transient"`
		FBTraceID    string `json:"fbtrace_id"`
		ErrorUserMsg string `json:"error_user_msg"`
	} `json:"error"`
}

type sendResult struct {
	RecipientID string `json:"recipient_id"`
	MessageID   string `json:"message_id"`
}

// Do implements campaign.Channel: it posts the call and classifies the answer.
func (c *Channel) Do(ctx context.Context, call campaign.Call) ([]string, error) {
	status, raw, err := c.call(ctx, http.MethodPost, call.Method, call.Body)
	if err != nil {
		return nil, err
	}
	if status == http.StatusOK {
		var res sendResult
		if json.Unmarshal(raw, &res) == nil && res.MessageID != "" {
			return []string{res.MessageID}, nil
		}
		return nil, &campaign.SendError{Kind: campaign.Ambiguous, Code: status, Reason: "bad_response",
			Message: "Meta answered 200 without a message_id"}
	}
	return nil, c.errorOf(status, raw)
}

func (c *Channel) call(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	h := http.Header{"Authorization": {"Bearer " + c.cfg.PageToken}}
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	return transport.Do(ctx, c.http, transport.Request{Method: method, URL: c.base + path, Header: h, Body: body, Redact: c.Redact})
}

// errorOf classifies a non-200 answer.
func (c *Channel) errorOf(status int, raw []byte) error {
	var env apiError
	if json.Unmarshal(raw, &env) != nil || env.Error == nil {
		if status >= 500 {
			return &campaign.SendError{Kind: campaign.Retryable, Code: status, Reason: "server_error", Message: http.StatusText(status)}
		}
		return &campaign.SendError{Kind: campaign.Rejected, Code: status, Reason: "bad_request",
			Message: fmt.Sprintf("Meta answered %d %s with no error envelope", status, http.StatusText(status))}
	}
	e := env.Error
	return classify(e.Code, e.Subcode, c.Redact(e.Message), e.IsTransient || status >= 500, c.cfg.RateLimitPause)
}

// Subcodes herald acts on (PLATFORMS.md).
const (
	subcodeOutsideWindow = 2018278
	subcodeNoUser        = 2018001
)

// classify maps a Graph API error to what herald does about it
// (PLATFORMS.md, "Errors a sender must handle").
func classify(code, subcode int, msg string, transient bool, pause time.Duration) *campaign.SendError {
	e := &campaign.SendError{Code: code, Message: msg}
	if subcode != 0 {
		e.Message = fmt.Sprintf("%s (subcode %d)", msg, subcode)
	}
	switch {
	case code == 4 || code == 32 || code == 613:
		e.Kind, e.Reason, e.RetryAfter = campaign.RateLimited, "rate_limited", pause
	case code == 10 && subcode == subcodeOutsideWindow:
		e.Kind, e.Reason = campaign.NotAllowed, campaign.ReasonOutsideWindow
	case code == 10:
		e.Kind, e.Reason = campaign.Rejected, "not_allowed"
	case code == 551:
		e.Kind, e.Reason = campaign.RecipientBlocked, "blocked"
	case code == 190:
		e.Kind, e.Reason = campaign.Fatal, "invalid_token"
		e.Message = "Meta rejected the Page access token (code 190: " + msg + "): set a valid messenger.page_token (HERALD_MESSENGER_PAGE_TOKEN)"
	case code == 200 || (code > 200 && code < 300):
		e.Kind, e.Reason = campaign.Fatal, "permission"
		e.Message = fmt.Sprintf("Meta refused for lack of a permission (code %d: %s): the Page token needs pages_messaging, "+
			"and the app the permission for this route", code, msg)
	case code == 100 && subcode == subcodeNoUser:
		e.Kind, e.Reason = campaign.RecipientInvalid, "user_not_found"
	case code == 100:
		e.Kind, e.Reason = campaign.Rejected, "invalid"
	case code == 2:
		// "Unexpected error": retry once, then give up.
		e.Kind, e.Reason, e.MaxRetries = campaign.Retryable, "unexpected_error", 1
	case code == 1 || transient:
		e.Kind, e.Reason = campaign.Retryable, "server_error"
	default:
		e.Kind, e.Reason = campaign.Rejected, "rejected"
	}
	return e
}

// Page is the Page a token belongs to.
type Page struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// GetPage checks the token and returns its Page.
func (c *Channel) GetPage(ctx context.Context) (Page, error) {
	var p Page
	status, raw, err := c.call(ctx, http.MethodGet, "me?fields=id,name", nil)
	if err != nil {
		return p, err
	}
	if status != http.StatusOK {
		return p, c.errorOf(status, raw)
	}
	if err := json.Unmarshal(raw, &p); err != nil || p.ID == "" {
		return p, fmt.Errorf("messenger: unreadable answer to GET /me")
	}
	return p, nil
}
