package campaign

import "time"

// Routes a delivery can take. Telegram has one; Messenger's are tried in
// this order and the first one Meta allows is recorded on the delivery
// (PLATFORMS.md, docs/messenger.md).
const (
	// RouteBot is Telegram's only route: the bot messages the chat.
	RouteBot = "bot"
	// RouteStandard is a Messenger message inside the person's messaging
	// window (24 hours after they last wrote, 7 days after an ad click).
	RouteStandard = "standard"
	// RouteTag is a utility campaign's message tag, outside the window.
	RouteTag = "tag"
	// RouteRecurring is a legacy recurring notification, to an active
	// opt-in token in the regions where it still works, once per 48 hours.
	RouteRecurring = "recurring"
	// RouteMarketing is the paid Marketing Messages API, when enabled.
	RouteMarketing = "marketing"
	// RouteNone means no route is allowed: the delivery is skipped.
	RouteNone = "none"
)

// ReasonOutsideWindow is the skip reason of a Messenger delivery no route
// allows.
const ReasonOutsideWindow = "outside_window"

// ReasonFrequencyCap is the skip reason of a delivery the workspace's
// frequency_cap held back.
const ReasonFrequencyCap = "frequency_cap"

// RecurringInterval is Meta's cap on legacy recurring notifications: one per
// subscriber per 48 hours.
const RecurringInterval = 48 * time.Hour

// Message tags a utility campaign may use on Messenger. HUMAN_AGENT is for
// a person answering a conversation and never for a broadcast.
var UtilityTags = []string{"ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE"}

// RoutePolicy is what the planner may use beyond the standard window.
type RoutePolicy struct {
	// Tag is a utility campaign's message tag; empty for promotional
	// campaigns, which may never use one.
	Tag string
	// Marketing enables the Marketing Messages API route.
	Marketing bool
}

// RouteCount is how many subscribers of a channel a plan sends by a route.
type RouteCount struct {
	Channel string `json:"channel"`
	Route   string `json:"route"`
	Count   int    `json:"count"`
}
