package messenger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/heraldcli/herald/campaign"
)

// The Messenger Profile API (…/messenger-platform/reference/messenger-profile-api): what a
// person sees before the first conversation. Meta allows 10 calls per 10 minutes per Page.
const (
	profilePath    = "me/messenger_profile"
	profileFields  = "greeting,get_started"
	greetingLocale = "default"
	maxGreeting    = 160        // characters, per locale
	maxGetStarted  = maxPayload // characters
)

// Profile is the part of the Page's Messenger profile herald manages.
type Profile struct {
	// Greeting is the welcome screen's text for every locale (Meta's "default" locale), at most
	// 160 characters; it may hold {{user_first_name}}, {{user_last_name}} or
	// {{user_full_name}}.
	Greeting string
	// GetStartedPayload is the payload of the postback the Get Started button sends.
	GetStartedPayload string
}

// The Messenger Profile API's shapes.
type (
	profileBody struct {
		Greeting   []profileGreeting `json:"greeting,omitempty"`
		GetStarted *profileStarted   `json:"get_started,omitempty"`
	}
	profileGreeting struct {
		Locale string `json:"locale"`
		Text   string `json:"text"`
	}
	profileStarted struct {
		Payload string `json:"payload"`
	}
)

// SetProfile sets the Page's greeting and Get Started button (POST me/messenger_profile); an
// empty field leaves that property as it is. It returns an error wrapping ErrConfig, without
// calling Meta, when both are empty or one is too long, and
// otherwise a *campaign.SendError classified like the Send API's errors (190: bad token, 200:
// permission missing, 4/32/613: rate limited, …). The Page token never appears in an error.
func (c *Channel) SetProfile(ctx context.Context, p Profile) error {
	var body profileBody
	if p.Greeting != "" {
		if n := utf8.RuneCountInString(p.Greeting); n > maxGreeting {
			return fmt.Errorf("%w: the Messenger greeting has %d characters, Messenger allows %d", ErrConfig, n, maxGreeting)
		}
		body.Greeting = []profileGreeting{{Locale: greetingLocale, Text: p.Greeting}}
	}
	if p.GetStartedPayload != "" {
		if n := utf8.RuneCountInString(p.GetStartedPayload); n > maxGetStarted {
			return fmt.Errorf("%w: the Get Started payload has %d characters, Messenger allows %d", ErrConfig, n, maxGetStarted)
		}
		body.GetStarted = &profileStarted{Payload: p.GetStartedPayload}
	}
	if body.Greeting == nil && body.GetStarted == nil {
		return fmt.Errorf("%w: the Messenger profile to set has neither a greeting nor a Get Started payload", ErrConfig)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("messenger profile: %w", err)
	}
	status, answer, err := c.call(ctx, http.MethodPost, profilePath, raw)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return c.errorOf(status, answer)
	}
	var res struct {
		Result string `json:"result"`
	}
	if json.Unmarshal(answer, &res) != nil || res.Result != "success" {
		return &campaign.SendError{Kind: campaign.Ambiguous, Code: status, Reason: "bad_response",
			Message: "Meta answered 200 to POST " + profilePath + " without \"result\":\"success\""}
	}
	return nil
}

// GetProfile returns the Page's greeting (its default locale) and Get Started payload, empty
// when not set (GET me/messenger_profile?fields=greeting,get_started). Its errors are
// classified like SetProfile's; an answer it cannot read is an error too.
func (c *Channel) GetProfile(ctx context.Context) (Profile, error) {
	var p Profile
	status, answer, err := c.call(ctx, http.MethodGet, profilePath+"?fields="+profileFields, nil)
	if err != nil {
		return p, err
	}
	if status != http.StatusOK {
		return p, c.errorOf(status, answer)
	}
	var res struct {
		Data []profileBody `json:"data"`
	}
	if err := json.Unmarshal(answer, &res); err != nil || res.Data == nil {
		return p, errors.New("messenger: unreadable answer to GET " + profilePath)
	}
	// Meta answers one element, or none when nothing is set.
	for _, d := range res.Data {
		for _, g := range d.Greeting {
			if g.Locale == greetingLocale {
				p.Greeting = g.Text
			}
		}
		if d.GetStarted != nil {
			p.GetStartedPayload = d.GetStarted.Payload
		}
	}
	return p, nil
}
