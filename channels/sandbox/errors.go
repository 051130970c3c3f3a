package sandbox

import (
	"fmt"
	"net/http"
)

// Every description the Bot API emulation answers with is here. They are Telegram's own
// wording, as the official Bot API server and its clients' tests show it, except those marked
// "sandbox": checks Telegram does not make (or makes silently), which the sandbox adds so that
// it catches mistakes in the requests herald sends.
const (
	descUnauthorized     = "Unauthorized"
	descNotFound         = "Not Found"
	descMethodNotAllowed = "Method Not Allowed" // sandbox: Telegram answers GET and POST only
	descInternal         = "Internal Server Error"
	descBadGateway       = "Bad Gateway"
	descTooLarge         = "Request Entity Too Large"

	descChatIDEmpty      = "Bad Request: chat_id is empty"
	descChatNotFound     = "Bad Request: chat not found"
	descBlocked          = "Forbidden: bot was blocked by the user"
	descDeactivated      = "Forbidden: user is deactivated"
	descKickedGroup      = "Forbidden: bot was kicked from the group chat"
	descKickedSupergroup = "Forbidden: bot was kicked from the supergroup chat"
	descKickedChannel    = "Forbidden: bot was kicked from the channel chat"
	descNoConversation   = "Forbidden: bot can't initiate conversation with a user"
	descMigrated         = "Bad Request: group chat was upgraded to a supergroup chat"
	descRetryAfter       = "Too Many Requests: retry after %d"

	descTextEmpty         = "Bad Request: message text is empty"  // text is ""
	descTextBlank         = "Bad Request: text must be non-empty" // text is only spaces and newlines
	descTextTooLong       = "Bad Request: message is too long"    // over 4096 UTF-16 code units
	descCaptionTooLong    = "Bad Request: message caption is too long"
	descCantParseEntities = "Bad Request: can't parse entities: " // + the parser's reason
	descNotUTF8           = "Bad Request: strings must be encoded in UTF-8"
	descParseMode         = "Bad Request: unsupported parse_mode"
	descParseModeMarkdown = "Bad Request: parse_mode %q is not emulated by the sandbox: use HTML" // sandbox

	// reasonBareAmpersand follows "can't parse entities: " (sandbox: Telegram shows such an "&"
	// as typed, unless Options.LenientHTML).
	reasonBareAmpersand = `Character '&' at byte offset %d must be escaped as "&amp;"`

	descEntityType       = "Bad Request: can't parse MessageEntity: Unsupported type specified"
	descEntityOffset     = "Bad Request: receive an entity with incorrect offset %d"
	descEntityLength     = "Bad Request: receive an entity with incorrect length %d"
	descEntityAfterEnd   = "Bad Request: entity begins after the end of the text at UTF-16 offset %d"
	descEntityEndsAfter  = "Bad Request: entity beginning at UTF-16 offset %d ends after the end of the text at UTF-16 offset %d"
	descEntityURLInvalid = "Bad Request: entity URL '%s' is invalid: %s"

	descReplyMarkup       = "Bad Request: can't parse reply keyboard markup JSON object"
	descTextButton        = "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
	descButtonActions     = "Bad Request: can't parse inline keyboard button: exactly one of the optional fields must be used, found %q and %q" // sandbox: Telegram uses the first
	descButtonData        = "Bad Request: BUTTON_DATA_INVALID"
	descButtonText        = "Bad Request: BUTTON_TEXT_INVALID"
	descButtonType        = "Bad Request: BUTTON_TYPE_INVALID"
	descButtonStyle       = "Bad Request: BUTTON_STYLE_INVALID"
	descButtonCopyText    = "Bad Request: BUTTON_COPY_TEXT_INVALID"
	descButtonURL         = "Bad Request: inline keyboard button URL '%s' is invalid: %s"
	descButtonWebAppURL   = "Bad Request: inline keyboard button Web App URL '%s' is invalid: Only HTTPS links are allowed"
	reasonWrongHTTPURL    = "Wrong HTTP URL"
	reasonURLProtocol     = "Unsupported URL protocol"
	descReplyNotFound     = "Bad Request: message to be replied not found"
	descWebpageURLInvalid = "Bad Request: WEBPAGE_URL_INVALID"

	descWrongFile         = "Bad Request: wrong file identifier/HTTP URL specified"
	descFileEmpty         = "Bad Request: file must be non-empty"
	descPhotoTooBig       = "Bad Request: file of size %d bytes is too big for a photo; the maximum size is 10485760 bytes"
	descMediaJSON         = "Bad Request: can't parse media JSON object"
	descMediaNotFound     = "Bad Request: can't parse InputMedia: media not found"
	descMediaType         = "Bad Request: can't parse InputMedia: type %q is unsupported"
	descMediaTypeNotGroup = "Bad Request: can't parse InputMedia: type %q can't be used in sendMediaGroup"
	descNoMessages        = "Bad Request: there are no messages to send"
	descTooManyMessages   = "Bad Request: too many messages to send as an album"
	descSingleItemGroup   = "Bad Request: wrong number of messages in the media group: 1, send 2-10 items or use the method for a single file" // sandbox: Telegram sends one item as a plain message
	descDocumentMixed     = "Bad Request: document can't be mixed with other media types"
	descAudioMixed        = "Bad Request: audio can't be mixed with other media types"
	descCaptionAbove      = "Bad Request: parameter show_caption_above_media must be the same for all messages"

	// Receiving updates. The sandbox also takes http:// webhook URLs, which Telegram refuses.
	descWebhookActive      = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
	descOtherGetUpdates    = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
	descSetWebhookConflict = "Conflict: terminated by setWebhook request"
	descWebhookURLInvalid  = "Bad Request: invalid webhook URL specified"
	descWebhookHTTPS       = "Bad Request: bad webhook: HTTPS url must be provided for webhook"
	descSecretTooLong      = "Bad Request: secret token is too long"
	descSecretChars        = "Bad Request: secret token contains unallowed characters"
	descUpdateType         = "Bad Request: allowed_updates: unknown update type %q; want one of %s" // sandbox: Telegram skips it

	// The descriptions of successful webhook calls.
	descWebhookWasSet         = "Webhook was set"
	descWebhookAlreadySet     = "Webhook is already set"
	descWebhookWasDeleted     = "Webhook was deleted"
	descWebhookAlreadyDeleted = "Webhook is already deleted"

	// The spec checks (sandbox, except the Telegram-worded type and nested-field messages).
	descUnknownField  = "Bad Request: unknown field %q"
	descRequiredField = "Bad Request: field %q is required"
	descFieldType     = "Bad Request: field %q must be of type %s"
	descNestedType    = "Bad Request: %s: Field %q must be of type %s"
	descMissingField  = "Bad Request: can't find field %q"
	descNestedMissing = "Bad Request: %s: Can't find field %q"
	descNoVariant     = "Bad Request: field %q matches none of %s"
	descEnum          = "Bad Request: field %q must be one of %s"
	descFieldJSON     = "Bad Request: can't parse %s JSON object"
	descBodyJSON      = "Bad Request: can't parse JSON object"
	descContentType   = "Bad Request: unsupported Content-Type %q: send application/json, application/x-www-form-urlencoded or multipart/form-data"
	descUnusedPart    = "Bad Request: unknown field %q: the file part is neither a parameter nor attached with attach://%s"
	descMalformedBody = "Bad Request: can't read the request's parameters: %v"
)

// apiError is a Bot API error answer.
type apiError struct {
	code        int
	description string
	retryAfter  int
	migrateTo   int64
}

func badRequest(description string) *apiError {
	return &apiError{code: http.StatusBadRequest, description: description}
}

func badRequestf(format string, args ...any) *apiError {
	return badRequest(fmt.Sprintf(format, args...))
}

// errorBody is Telegram's error envelope, fields in Telegram's order.
type errorBody struct {
	OK          bool            `json:"ok"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *errorParameter `json:"parameters,omitempty"`
}

type errorParameter struct {
	MigrateToChatID int64 `json:"migrate_to_chat_id,omitempty"`
	RetryAfter      int   `json:"retry_after,omitempty"`
}

func (e *apiError) body() errorBody {
	b := errorBody{ErrorCode: e.code, Description: e.description}
	if e.retryAfter > 0 || e.migrateTo != 0 {
		b.Parameters = &errorParameter{MigrateToChatID: e.migrateTo, RetryAfter: e.retryAfter}
	}
	return b
}
