package sandbox

import (
	"fmt"
	"math/rand/v2"
	"net/http"
)

// Every message the Graph API emulation answers with is here. Those with a code and subcode
// in the table of PLATFORMS.md are Meta's wording; those marked "sandbox" are checks whose
// wording (or, for notification tokens, whose code and subcode) Meta does not document, which
// the sandbox defines so that herald's adapter has something exact to branch on.
const (
	graphInvalidToken = "Invalid OAuth access token - Cannot parse access token"
	graphTransient    = "An unexpected error has occurred. Please retry your request later."
	// graphUnsupported takes the request's method in lower case and the object's id.
	graphUnsupported   = "Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
	graphUnknownPath   = "Unknown path components: %s"
	graphNoField       = "(#100) Tried accessing nonexisting field (%s) on node type (Page)"
	graphSecretProof   = "Invalid appsecret_proof provided in the API argument"
	graphNoUser        = "(#100) No matching user found"
	graphUnavailable   = "(#551) This person isn't available right now."
	graphOutsideWindow = "(#10) This message is sent outside of allowed window."
	graphRateLimit     = "(#613) Calls to this api have exceeded the rate limit."
	graphInvalidNMT    = "(#100) Invalid notification_messages_token"

	// Sandbox: Meta's codes for these are unconfirmed.
	graphTokenStopped = "(#10) This person has stopped notification messages from your Page: the notification_messages_token's status is STOP_NOTIFICATIONS."
	graphTokenExpired = "(#10) The notification_messages_token has expired: ask the person to opt in again."
	graphRecurringCap = "(#10) Only one message per 48 hours may be sent with a notification_messages_token: the last one was sent at %s."

	// The parameter checks (sandbox, after Meta's "(#100) param … must be …" style; parameters
	// are named as Meta names them, e.g. message[attachment][payload][elements][0][title]).
	graphParamEmpty       = "(#100) param %s must be non-empty."
	graphParamLength      = "(#100) Length of param %s must be less than or equal to %d"
	graphParamLengthBelow = "(#100) Length of param %s must be less than %d"
	graphParamUnknown     = "(#100) param %s is not a valid field"
	graphParamType        = "(#100) param %s must be %s"
	graphParamEnum        = "(#100) param %s must be one of {%s} - got %q"
	graphParamCount       = "(#100) param %s must have from %d to %d items, got %d"
	graphParamURL         = "(#100) param %s must be a valid URL with the http or https scheme, got %q"
	graphParamID          = "(#100) Param %s must be a valid ID string (e.g., \"123\")"
	graphParamTwice       = "(#100) param %s is given more than once"
	graphParamJSON        = "(#100) param %s must be a JSON-encoded object"
	graphBodyJSON         = "(#100) The request body is not a valid JSON object: %v"
	graphQuery            = "(#100) The query string cannot be parsed: %v"
	graphContentType      = "(#100) Unsupported Content-Type %q: send application/json or application/x-www-form-urlencoded"
	graphRecipientBoth    = "(#100) param recipient must have exactly one of id and notification_messages_token"
	graphMessageOneOf     = "(#100) param message must have exactly one of text and attachment"
	graphTagWithoutType   = "(#100) param tag may only be sent with messaging_type MESSAGE_TAG"
	graphTagForToken      = "(#100) param %s may not be sent to a recipient[notification_messages_token]"
	graphMarketingByPSID  = "(#100) param recipient[id] is not a valid field for the Marketing Messages route: send recipient[notification_messages_token]"
	graphTooLarge         = "(#100) The request body is larger than the sandbox accepts (10 MB)"
)

// Graph API error codes and subcodes the sandbox answers with.
const (
	codeTransient   = 2
	codeRateLimit   = 613
	codePermission  = 10
	codeParam       = 100
	codeUnavailable = 551
	codeToken       = 190
	codeUnknownPath = 2500

	subcodeUnsupported   = 33
	subcodeNoUser        = 2018001
	subcodeUnavailable   = 1545041
	subcodeOutsideWindow = 2018278

	// Sandbox-defined: Meta does not document the subcodes for a refused
	// notification_messages_token, so these are the sandbox's own, distinct from each other
	// and from the window's 2018278.
	subcodeTokenStopped = 2018451
	subcodeTokenExpired = 2018452
	subcodeRecurringCap = 2018453
)

// graphError is a Graph API error answer.
type graphError struct {
	status    int // HTTP; 400 when 0
	code      int
	subcode   int
	message   string
	transient bool
}

func paramError(format string, args ...any) *graphError {
	return &graphError{code: codeParam, message: fmt.Sprintf(format, args...)}
}

func (e *graphError) httpStatus() int {
	if e.status == 0 {
		return http.StatusBadRequest
	}
	return e.status
}

// graphErrorBody is Meta's error envelope, fields in Meta's order.
type graphErrorBody struct {
	Error graphErrorFields `json:"error"`
}

type graphErrorFields struct {
	Message      string `json:"message"`
	Type         string `json:"type"`
	IsTransient  bool   `json:"is_transient,omitempty"`
	Code         int    `json:"code"`
	ErrorSubcode int    `json:"error_subcode,omitempty"`
	FBTraceID    string `json:"fbtrace_id"`
}

func (e *graphError) body() graphErrorBody {
	return graphErrorBody{Error: graphErrorFields{
		Message: e.message, Type: "OAuthException", IsTransient: e.transient,
		Code: e.code, ErrorSubcode: e.subcode, FBTraceID: fbTraceID(),
	}}
}

// fbTraceID makes an id that looks like Meta's fbtrace_id: 11 characters of URL-safe base64.
func fbTraceID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	b := make([]byte, 11)
	b[0] = 'A'
	for i := 1; i < len(b); i++ {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}
