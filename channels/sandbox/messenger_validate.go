package sandbox

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// The routes a Messenger send takes (Message.Route).
const (
	routeStandard  = "standard"
	routeTag       = "tag"
	routeRecurring = "recurring"
	routeMarketing = "marketing"
)

// The Messenger Platform's limits on what a message holds, in characters.
const (
	maxMessengerText     = 2000
	maxQuickReplies      = 13
	maxQuickReplyTitle   = 20
	maxPayload           = 1000
	maxMetadata          = 1000 // metadata must be shorter than this
	maxButtonTemplate    = 640
	maxTemplateButtons   = 3
	maxGenericElements   = 10
	maxElementTitle      = 80
	maxButtonTitle       = 20
	maxElementSubtitle   = 80
	minTemplateButtons   = 1
	minGenericElements   = 1
	minQuickReplies      = 1
	minElementButtons    = 0
	attachmentTypeList   = "image, video, audio, file, template"
	messagingTypeList    = "RESPONSE, UPDATE, MESSAGE_TAG"
	tagList              = "CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE, ACCOUNT_UPDATE, HUMAN_AGENT"
	notificationTypeList = "REGULAR, SILENT_PUSH, NO_PUSH"
)

// outgoingMessenger is a Send API call that passed validation, waiting for the rate limits and
// its recipient's state.
type outgoingMessenger struct {
	psid  string // recipient[id], or the token's owner once admitted
	token string // recipient[notification_messages_token]
	media bool   // an audio or video attachment, which counts against MediaRate
	msg   Message
}

// param is a JSON object among a call's parameters, with its name as Meta writes it:
// "message[attachment][payload]".
type param struct {
	path string
	m    map[string]any
}

func (o param) at(name string) string {
	if o.path == "" {
		return name
	}
	return o.path + "[" + name + "]"
}

// only refuses the first field, in name order, that is not one of names.
func (o param) only(names ...string) *graphError {
	var unknown []string
	for name := range o.m {
		if !slices.Contains(names, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return paramError(graphParamUnknown, o.at(unknown[0]))
}

// str reads a string field; a required one must be non-empty, and none may be longer than max
// characters (when max > 0).
func (o param) str(name string, required bool, max int) (string, *graphError) {
	v, ok := o.m[name]
	if !ok {
		if required {
			return "", paramError(graphParamEmpty, o.at(name))
		}
		return "", nil
	}
	text, ok := v.(string)
	if !ok {
		return "", paramError(graphParamType, o.at(name), "a string")
	}
	if required && text == "" {
		return "", paramError(graphParamEmpty, o.at(name))
	}
	if max > 0 && utf8.RuneCountInString(text) > max {
		return "", paramError(graphParamLength, o.at(name), max)
	}
	return text, nil
}

// enum reads a string field that must be one of list (comma-separated) when present.
func (o param) enum(name string, required bool, list string) (string, *graphError) {
	v, apiErr := o.str(name, required, 0)
	if _, present := o.m[name]; apiErr != nil || !present {
		return v, apiErr
	}
	if !slices.Contains(strings.Split(list, ", "), v) {
		return "", paramError(graphParamEnum, o.at(name), list, v)
	}
	return v, nil
}

// url reads an http(s) URL.
func (o param) url(name string, required bool) (string, *graphError) {
	v, apiErr := o.str(name, required, 0)
	if apiErr != nil {
		return "", apiErr
	}
	if _, present := o.m[name]; present && !isHTTPURL(v) {
		return "", paramError(graphParamURL, o.at(name), v)
	}
	return v, nil
}

func (o param) object(name string, required bool) (param, bool, *graphError) {
	child := param{path: o.at(name)}
	v, ok := o.m[name]
	if !ok {
		if required {
			return child, false, paramError(graphParamEmpty, child.path)
		}
		return child, false, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return child, false, paramError(graphParamType, child.path, "a JSON object")
	}
	child.m = m
	return child, true, nil
}

// objects reads an array of objects with from min to max items.
func (o param) objects(name string, required bool, min, max int) ([]param, *graphError) {
	v, ok := o.m[name]
	if !ok {
		if required {
			return nil, paramError(graphParamEmpty, o.at(name))
		}
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, paramError(graphParamType, o.at(name), "an array")
	}
	if len(list) < min || len(list) > max {
		return nil, paramError(graphParamCount, o.at(name), min, max, len(list))
	}
	out := make([]param, len(list))
	for i, item := range list {
		path := fmt.Sprintf("%s[%d]", o.at(name), i)
		m, ok := item.(map[string]any)
		if !ok {
			return nil, paramError(graphParamType, path, "a JSON object")
		}
		out[i] = param{path: path, m: m}
	}
	return out, nil
}

// parseSend checks a Send API call's parameters against herald's contract (see the package
// doc) and builds the message to record. marketing is the act_<id>/messages route, which
// takes a page_id that must be pageID.
func parseSend(p map[string]any, marketing bool, pageID string) (*outgoingMessenger, *graphError) {
	top := param{m: p}
	allowed := []string{"recipient", "messaging_type", "tag", "notification_type", "message"}
	if marketing {
		allowed = []string{"page_id", "recipient", "message"}
	}
	if apiErr := top.only(allowed...); apiErr != nil {
		return nil, apiErr
	}
	out := &outgoingMessenger{}
	if marketing {
		page, apiErr := top.str("page_id", true, 0)
		if apiErr != nil {
			return nil, apiErr
		}
		if page != pageID {
			return nil, &graphError{code: codeParam, subcode: subcodeUnsupported, message: fmt.Sprintf(graphUnsupported, "post", page)}
		}
	}
	recipient, _, apiErr := top.object("recipient", true)
	if apiErr != nil {
		return nil, apiErr
	}
	if apiErr := recipient.only("id", "notification_messages_token"); apiErr != nil {
		return nil, apiErr
	}
	_, byID := recipient.m["id"]
	_, byToken := recipient.m["notification_messages_token"]
	switch {
	case byID && byToken:
		return nil, paramError(graphRecipientBoth)
	case !byID && !byToken:
		return nil, paramError(graphParamEmpty, "recipient")
	case byID && marketing:
		return nil, paramError(graphMarketingByPSID)
	case byID:
		if out.psid, apiErr = recipient.str("id", true, 0); apiErr != nil {
			return nil, apiErr
		}
		if !isPSID(out.psid) {
			return nil, paramError(graphParamID, "recipient[id]")
		}
	default:
		if out.token, apiErr = recipient.str("notification_messages_token", true, 0); apiErr != nil {
			return nil, apiErr
		}
	}

	msg := &out.msg
	if msg.MessagingType, apiErr = top.enum("messaging_type", false, messagingTypeList); apiErr != nil {
		return nil, apiErr
	}
	if msg.Tag, apiErr = top.enum("tag", false, tagList); apiErr != nil {
		return nil, apiErr
	}
	if msg.NotificationType, apiErr = top.enum("notification_type", false, notificationTypeList); apiErr != nil {
		return nil, apiErr
	}
	switch {
	case marketing:
		msg.Route = routeMarketing
	case byToken:
		if _, ok := p["tag"]; ok {
			return nil, paramError(graphTagForToken, "tag")
		}
		if msg.MessagingType == "MESSAGE_TAG" {
			return nil, paramError(graphTagForToken, "messaging_type MESSAGE_TAG")
		}
		msg.Route = routeRecurring
	case msg.MessagingType == "":
		return nil, paramError(graphParamEmpty, "messaging_type")
	case msg.MessagingType == "MESSAGE_TAG":
		if msg.Tag == "" {
			return nil, paramError(graphParamEmpty, "tag")
		}
		msg.Route = routeTag
	default:
		if _, ok := p["tag"]; ok {
			return nil, paramError(graphTagWithoutType)
		}
		msg.Route = routeStandard
	}

	message, _, apiErr := top.object("message", true)
	if apiErr != nil {
		return nil, apiErr
	}
	if apiErr := parseMessengerMessage(message, out); apiErr != nil {
		return nil, apiErr
	}
	return out, nil
}

func parseMessengerMessage(o param, out *outgoingMessenger) *graphError {
	if apiErr := o.only("text", "attachment", "quick_replies", "metadata"); apiErr != nil {
		return apiErr
	}
	_, hasText := o.m["text"]
	_, hasAttachment := o.m["attachment"]
	if hasText == hasAttachment {
		return paramError(graphMessageOneOf)
	}
	msg := &out.msg
	if hasText {
		text, apiErr := o.str("text", true, maxMessengerText)
		if apiErr != nil {
			return apiErr
		}
		msg.Text, msg.Plain = text, text
	} else {
		attachment, _, apiErr := o.object("attachment", true)
		if apiErr != nil {
			return apiErr
		}
		if apiErr := parseAttachment(attachment, out); apiErr != nil {
			return apiErr
		}
	}
	replies, apiErr := o.objects("quick_replies", false, minQuickReplies, maxQuickReplies)
	if apiErr != nil {
		return apiErr
	}
	for _, qr := range replies {
		if _, apiErr := qr.enum("content_type", true, "text"); apiErr != nil {
			return apiErr
		}
		if apiErr := qr.only("content_type", "title", "payload"); apiErr != nil {
			return apiErr
		}
		title, apiErr := qr.str("title", true, maxQuickReplyTitle)
		if apiErr != nil {
			return apiErr
		}
		if _, apiErr := qr.str("payload", true, maxPayload); apiErr != nil {
			return apiErr
		}
		msg.QuickReplies = append(msg.QuickReplies, title)
	}
	metadata, apiErr := o.str("metadata", false, 0)
	if apiErr != nil {
		return apiErr
	}
	if utf8.RuneCountInString(metadata) >= maxMetadata {
		return paramError(graphParamLengthBelow, o.at("metadata"), maxMetadata)
	}
	return nil
}

func parseAttachment(a param, out *outgoingMessenger) *graphError {
	if apiErr := a.only("type", "payload"); apiErr != nil {
		return apiErr
	}
	kind, apiErr := a.enum("type", true, attachmentTypeList)
	if apiErr != nil {
		return apiErr
	}
	payload, _, apiErr := a.object("payload", true)
	if apiErr != nil {
		return apiErr
	}
	if kind == "template" {
		return parseTemplate(payload, &out.msg)
	}
	if apiErr := payload.only("url", "is_reusable"); apiErr != nil {
		return apiErr
	}
	link, apiErr := payload.url("url", true)
	if apiErr != nil {
		return apiErr
	}
	if v, ok := payload.m["is_reusable"]; ok {
		if _, isBool := v.(bool); !isBool {
			return paramError(graphParamType, payload.at("is_reusable"), "a boolean")
		}
	}
	out.media = kind == "audio" || kind == "video"
	out.msg.Media = []Media{{Kind: kind, URL: link}}
	return nil
}

func parseTemplate(p param, msg *Message) *graphError {
	kind, apiErr := p.enum("template_type", true, "button, generic")
	if apiErr != nil {
		return apiErr
	}
	if kind == "button" {
		if apiErr := p.only("template_type", "text", "buttons"); apiErr != nil {
			return apiErr
		}
		text, apiErr := p.str("text", true, maxButtonTemplate)
		if apiErr != nil {
			return apiErr
		}
		msg.Text, msg.Plain = text, text
		return parseButtons(p, true, minTemplateButtons, msg)
	}
	if apiErr := p.only("template_type", "elements"); apiErr != nil {
		return apiErr
	}
	elements, apiErr := p.objects("elements", true, minGenericElements, maxGenericElements)
	if apiErr != nil {
		return apiErr
	}
	for i, e := range elements {
		if apiErr := e.only("title", "subtitle", "image_url", "default_action", "buttons"); apiErr != nil {
			return apiErr
		}
		title, apiErr := e.str("title", true, maxElementTitle)
		if apiErr != nil {
			return apiErr
		}
		subtitle, apiErr := e.str("subtitle", false, maxElementSubtitle)
		if apiErr != nil {
			return apiErr
		}
		image, apiErr := e.url("image_url", false)
		if apiErr != nil {
			return apiErr
		}
		action, hasAction, apiErr := e.object("default_action", false)
		if apiErr != nil {
			return apiErr
		}
		element := Element{Title: title, Subtitle: subtitle, Image: image}
		if hasAction {
			if _, apiErr := action.enum("type", true, "web_url"); apiErr != nil {
				return apiErr
			}
			if apiErr := action.only("type", "url"); apiErr != nil {
				return apiErr
			}
			if element.Link, apiErr = action.url("url", true); apiErr != nil {
				return apiErr
			}
		}
		stacked := len(msg.Buttons)
		if apiErr := parseButtons(e, false, minElementButtons, msg); apiErr != nil {
			return apiErr
		}
		element.Buttons = slices.Clone(msg.Buttons[stacked:])
		msg.Elements = append(msg.Elements, element)
		if i == 0 {
			msg.Text = strings.TrimSuffix(title+"\n"+subtitle, "\n")
			msg.Plain = msg.Text
		}
		if image != "" {
			msg.Media = append(msg.Media, Media{Kind: "image", URL: image, Caption: title})
		}
	}
	return nil
}

// parseButtons reads o's buttons, stacking them under msg's buttons.
func parseButtons(o param, required bool, min int, msg *Message) *graphError {
	buttons, apiErr := o.objects("buttons", required, min, maxTemplateButtons)
	if apiErr != nil {
		return apiErr
	}
	for _, b := range buttons {
		kind, apiErr := b.enum("type", true, "web_url, postback")
		if apiErr != nil {
			return apiErr
		}
		button := Button{Row: len(msg.Buttons)}
		if kind == "web_url" {
			if apiErr := b.only("type", "url", "title"); apiErr != nil {
				return apiErr
			}
			if button.URL, apiErr = b.url("url", true); apiErr != nil {
				return apiErr
			}
		} else {
			if apiErr := b.only("type", "title", "payload"); apiErr != nil {
				return apiErr
			}
			if button.Callback, apiErr = b.str("payload", true, maxPayload); apiErr != nil {
				return apiErr
			}
		}
		if button.Text, apiErr = b.str("title", true, maxButtonTitle); apiErr != nil {
			return apiErr
		}
		msg.Buttons = append(msg.Buttons, button)
	}
	return nil
}
