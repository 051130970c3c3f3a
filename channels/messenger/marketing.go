package messenger

import (
	"fmt"

	"github.com/heraldcli/herald/campaign"
)

// The Marketing Messages API for Messenger (since July 2025) sends paid
// promotional messages to people who subscribed to them, through the
// business's ad account. Meta documents it for approved tech providers
// only, and the details below are partly unconfirmed (PLATFORMS.md): the
// endpoint act_<AD_ACCOUNT_ID>/messages, the Page named in the body and the
// subscription token as the recipient. Everything about the route lives in
// this file so it can follow Meta's final shape in one place.

// marketing turns a notification body into a Marketing Messages call.
func (c *Channel) marketing(body sendBody) (string, sendBody, error) {
	if c.cfg.AdAccountID == "" {
		return "", body, &campaign.SendError{Kind: campaign.NotAllowed, Reason: "no_route",
			Message: "the marketing route needs messenger.marketing.ad_account_id"}
	}
	if c.cfg.PageID == "" {
		return "", body, fmt.Errorf("%w: the marketing route needs messenger.page_id", campaign.ErrInvalidMessage)
	}
	body.PageID = c.cfg.PageID
	body.MessagingType, body.Tag = "", ""
	return "act_" + c.cfg.AdAccountID + "/messages", body, nil
}

// MarketingEnabled reports whether the Page may use the Marketing Messages
// route.
func (c *Channel) MarketingEnabled() bool { return c.cfg.AdAccountID != "" }
