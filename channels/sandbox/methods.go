package sandbox

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Telegram's limits on what a message holds.
const (
	maxTextLength      = 4096 // UTF-16 code units, after entity parsing
	maxCaptionLength   = 1024
	maxCallbackData    = 64 // bytes
	maxCopyText        = 256
	maxPhotoUpload     = 10 << 20
	minMediaGroupItems = 2
	maxMediaGroupItems = 10
)

// outgoing is a send that passed validation, waiting for its chat's state and the rate limits.
type outgoing struct {
	chat  chatRef
	msg   Message
	items []tgMessage // one per Telegram message
	paid  bool
	group bool // answered with an array
}

// mediaField is the parameter each single-file method sends its file in.
var mediaField = map[string]string{
	"sendPhoto": "photo", "sendVideo": "video", "sendAudio": "audio", "sendDocument": "document",
}

// prepareSend checks a send's content beyond the spec, as Telegram does, and builds the
// message and the answer; p has passed checkParams.
func (s *Server) prepareSend(method string, req *botRequest, bot string) (*outgoing, *apiError) {
	p := req.params
	if id, ok := p["chat_id"].(string); ok && strings.TrimSpace(id) == "" {
		return nil, badRequest(descChatIDEmpty)
	}
	out := &outgoing{msg: Message{Channel: "telegram", Bot: bot, Method: method}}
	var attached map[string]bool // the parts attach:// names; written only when there are parts
	if len(req.uploads) > 0 {
		attached = map[string]bool{}
	}
	var apiErr *apiError
	switch method {
	case "sendMessage":
		apiErr = s.prepareText(out, p)
	case "sendMediaGroup":
		apiErr = s.prepareGroup(out, p, req.uploads, attached)
	default:
		apiErr = s.prepareMedia(out, method, p, req.uploads, attached)
	}
	if apiErr != nil {
		return nil, apiErr
	}
	buttons, keyboard, apiErr := inlineKeyboard(p["reply_markup"])
	if apiErr != nil {
		return nil, apiErr
	}
	for name, up := range req.uploads {
		if p[name] != up && !attached[name] {
			return nil, badRequestf(descUnusedPart, name, name)
		}
	}
	chat, apiErr := parseChatID(p["chat_id"])
	if apiErr != nil {
		return nil, apiErr
	}
	if out.msg.Method == "sendMessage" && TextLength(out.msg.Plain) > maxTextLength {
		return nil, badRequest(descTextTooLong)
	}
	reply, apiErr := s.replyTarget(p["reply_parameters"], chat)
	if apiErr != nil {
		return nil, apiErr
	}

	out.chat = chat
	out.paid, _ = p["allow_paid_broadcast"].(bool)
	out.msg.Chat = chat.key
	out.msg.Buttons = buttons
	out.msg.Paid = out.paid
	out.msg.Silent, _ = p["disable_notification"].(bool)
	protected, _ := p["protect_content"].(bool)
	chatObject := chat.object()
	var from *tgUser
	var senderChat *tgChat
	if chat.kind == "channel" {
		senderChat = &chatObject
	} else {
		u := botUser(bot)
		from = &u
	}
	for i := range out.items {
		item := &out.items[i]
		item.From, item.SenderChat, item.Chat = from, senderChat, chatObject
		item.HasProtectedContent = protected
		item.ReplyToMessage = reply
		if keyboard != nil {
			item.ReplyMarkup = keyboard
		}
	}
	return out, nil
}

func (s *Server) prepareText(out *outgoing, p map[string]any) *apiError {
	text, _ := p["text"].(string)
	if text == "" {
		return badRequest(descTextEmpty)
	}
	f, apiErr := s.format(text, p["parse_mode"], p["entities"])
	if apiErr != nil {
		return apiErr
	}
	if f.text == "" {
		if f.blank {
			return badRequest(descTextEmpty)
		}
		return badRequest(descTextBlank)
	}
	if opts, ok := p["link_preview_options"].(map[string]any); ok {
		if u, ok := opts["url"].(string); ok && u != "" && !isHTTPURL(u) {
			return badRequest(descWebpageURLInvalid)
		}
	}
	out.items = []tgMessage{{Text: f.text, Entities: f.entities, LinkPreviewOptions: p["link_preview_options"]}}
	out.msg.Text, out.msg.Plain = text, f.text
	out.msg.ParseMode, _ = p["parse_mode"].(string)
	return nil
}

func (s *Server) prepareMedia(out *outgoing, method string, p map[string]any, uploads map[string]*upload, attached map[string]bool) *apiError {
	kind := mediaField[method]
	ref, apiErr := mediaRef(kind, p[kind], uploads, attached, false)
	if apiErr != nil {
		return apiErr
	}
	caption, _ := p["caption"].(string)
	f, apiErr := s.format(caption, p["parse_mode"], p["caption_entities"])
	if apiErr != nil {
		return apiErr
	}
	if TextLength(f.text) > maxCaptionLength {
		return badRequest(descCaptionTooLong)
	}
	markAttached(uploads, attached, p["thumbnail"], p["cover"])
	item := tgMessage{Caption: f.text, CaptionEntities: f.entities}
	item.ShowCaptionAboveMedia, _ = p["show_caption_above_media"].(bool)
	item.HasMediaSpoiler, _ = p["has_spoiler"].(bool)
	setMediaObject(&item, kind, ref, p)
	out.items = []tgMessage{item}
	out.msg.Text, out.msg.Plain = caption, f.text
	out.msg.ParseMode, _ = p["parse_mode"].(string)
	out.msg.Media = []Media{{Kind: kind, URL: ref.display}}
	return nil
}

func (s *Server) prepareGroup(out *outgoing, p map[string]any, uploads map[string]*upload, attached map[string]bool) *apiError {
	list, _ := p["media"].([]any)
	switch {
	case len(list) == 0:
		return badRequest(descNoMessages)
	case len(list) > maxMediaGroupItems:
		return badRequest(descTooManyMessages)
	case len(list) < minMediaGroupItems:
		return badRequest(descSingleItemGroup)
	}
	groupID := strconv.FormatInt(rand.Int64N(1<<62)+1<<62, 10)
	kinds := make([]string, len(list))
	var above *bool
	out.group = true
	for i, raw := range list {
		m, _ := raw.(map[string]any)
		kind, _ := m["type"].(string)
		kinds[i] = kind
		ref, apiErr := mediaRef(kind, m["media"], uploads, attached, true)
		if apiErr != nil {
			return apiErr
		}
		caption, _ := m["caption"].(string)
		f, apiErr := s.format(caption, m["parse_mode"], m["caption_entities"])
		if apiErr != nil {
			return apiErr
		}
		if TextLength(f.text) > maxCaptionLength {
			return badRequest(descCaptionTooLong)
		}
		markAttached(uploads, attached, m["thumbnail"], m["cover"], m["photo"])
		item := tgMessage{Caption: f.text, CaptionEntities: f.entities, MediaGroupID: groupID}
		item.ShowCaptionAboveMedia, _ = m["show_caption_above_media"].(bool)
		item.HasMediaSpoiler, _ = m["has_spoiler"].(bool)
		if kind != "audio" && kind != "document" {
			if above != nil && *above != item.ShowCaptionAboveMedia {
				return badRequest(descCaptionAbove)
			}
			above = &item.ShowCaptionAboveMedia
		}
		setMediaObject(&item, kind, ref, m)
		out.items = append(out.items, item)
		out.msg.Media = append(out.msg.Media, Media{Kind: kind, URL: ref.display, Caption: caption})
		if out.msg.Text == "" && caption != "" {
			out.msg.Text, out.msg.Plain = caption, f.text
			out.msg.ParseMode, _ = m["parse_mode"].(string)
		}
	}
	// Documents go only with documents, audio files only with audio files.
	for _, kind := range kinds {
		if kind != "document" && kind != "audio" {
			continue
		}
		for _, other := range kinds {
			if other != kind {
				if kind == "document" {
					return badRequest(descDocumentMixed)
				}
				return badRequest(descAudioMixed)
			}
		}
	}
	return nil
}

// format parses a text or caption as its parse_mode or entities say, and normalizes it.
func (s *Server) format(text string, parseMode, entities any) (formattedText, *apiError) {
	if mode, _ := parseMode.(string); mode != "" && text != "" {
		switch strings.ToLower(mode) {
		case "html":
			f, err := parseHTML(text, !s.lenientHTML)
			if err != nil {
				return f, badRequest(err.Error())
			}
			return f, nil
		case "markdown", "markdownv2":
			return formattedText{}, badRequestf(descParseModeMarkdown, mode)
		default:
			return formattedText{}, badRequest(descParseMode)
		}
	}
	if list, ok := entities.([]any); ok && len(list) > 0 {
		if !utf8.ValidString(text) {
			return formattedText{}, badRequest(descNotUTF8)
		}
		ents, apiErr := checkEntities(text, list)
		if apiErr != nil {
			return formattedText{}, apiErr
		}
		return normalizeText(text, ents), nil
	}
	f, err := plainText(text)
	if err != nil {
		return f, badRequest(err.Error())
	}
	return f, nil
}

// checkEntities checks entities given instead of a parse_mode against the text they mark.
func checkEntities(text string, list []any) ([]entity, *apiError) {
	const ctx = "can't parse MessageEntity"
	total := int64(TextLength(text))
	ents := make([]entity, 0, len(list))
	for _, raw := range list {
		m, _ := raw.(map[string]any)
		typ, _ := m["type"].(string)
		offset, _ := intValue(m["offset"])
		length, _ := intValue(m["length"])
		switch {
		case offset < 0 || offset > 1_000_000:
			return nil, badRequestf(descEntityOffset, offset)
		case length < 0 || length > 1_000_000:
			return nil, badRequestf(descEntityLength, length)
		case length == 0:
			continue // Telegram drops empty entities
		case offset > total:
			return nil, badRequestf(descEntityAfterEnd, offset)
		case offset+length > total:
			return nil, badRequestf(descEntityEndsAfter, offset, offset+length)
		}
		e := entity{Type: typ, Offset: int(offset), Length: int(length)}
		switch typ {
		case "text_link":
			link, ok := m["url"].(string)
			if !ok {
				return nil, badRequestf(descNestedMissing, ctx, "url")
			}
			if reason := urlProblem(link, true); reason != "" {
				return nil, badRequestf(descEntityURLInvalid, link, reason)
			}
			e.URL = link
		case "text_mention":
			if _, ok := m["user"]; !ok {
				return nil, badRequestf(descNestedMissing, ctx, "user")
			}
		case "custom_emoji":
			id, ok := m["custom_emoji_id"].(string)
			if !ok {
				return nil, badRequestf(descNestedMissing, ctx, "custom_emoji_id")
			}
			if n, err := strconv.ParseInt(id, 10, 64); err != nil || n == 0 {
				return nil, badRequestf(`Bad Request: %s: Field "custom_emoji_id" must be a valid Number`, ctx)
			}
			e.CustomEmojiID = id
		case "pre":
			e.Language, _ = m["language"].(string)
		case "date_time":
			e.UnixTime, _ = intValue(m["unix_time"])
			e.DateTimeFormat, _ = m["date_time_format"].(string)
		}
		ents = append(ents, e)
	}
	sortEntities(ents)
	return ents, nil
}

func intValue(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	return i, err == nil
}

// inlineKeyboard checks an inline keyboard as Telegram does, and stricter: a button must have
// exactly one action. It returns the buttons and the markup to echo; other keyboards are
// accepted as the spec allows and neither recorded nor echoed, as Telegram does.
func inlineKeyboard(markup any) ([]Button, any, *apiError) {
	m, _ := markup.(map[string]any)
	rows, ok := m["inline_keyboard"].([]any)
	if !ok {
		return nil, nil, nil
	}
	var buttons []Button
	for r, rawRow := range rows {
		row, _ := rawRow.([]any)
		for _, raw := range row {
			b, _ := raw.(map[string]any)
			var actions []string
			for _, name := range []string{"url", "callback_data", "web_app", "login_url", "switch_inline_query",
				"switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay"} {
				v, ok := b[name]
				if !ok || v == nil || v == "" && name == "callback_data" || v == false {
					continue
				}
				actions = append(actions, name)
			}
			switch len(actions) {
			case 0:
				return nil, nil, badRequest(descTextButton)
			case 1:
			default:
				return nil, nil, badRequestf(descButtonActions, actions[0], actions[1])
			}
			text, _ := b["text"].(string)
			button := Button{Text: text, Row: r}
			switch actions[0] {
			case "url":
				link, _ := b["url"].(string)
				if reason := urlProblem(link, false); reason != "" {
					return nil, nil, badRequestf(descButtonURL, link, reason)
				}
				button.URL = link
			case "callback_data":
				data, _ := b["callback_data"].(string)
				if len(data) > maxCallbackData {
					return nil, nil, badRequest(descButtonData)
				}
				button.Callback = data
			case "web_app":
				app, _ := b["web_app"].(map[string]any)
				link, _ := app["url"].(string)
				if u, err := url.Parse(link); err != nil || u.Scheme != "https" || u.Host == "" {
					return nil, nil, badRequestf(descButtonWebAppURL, link)
				}
			case "copy_text":
				c, _ := b["copy_text"].(map[string]any)
				if t, _ := c["text"].(string); t == "" || utf8.RuneCountInString(t) > maxCopyText {
					return nil, nil, badRequest(descButtonCopyText)
				}
			case "pay", "callback_game":
				return nil, nil, badRequest(descButtonType) // only for invoices and games
			}
			if strings.TrimSpace(text) == "" {
				return nil, nil, badRequest(descButtonText)
			}
			buttons = append(buttons, button)
		}
	}
	return buttons, m, nil
}

// urlProblem returns why Telegram refuses a link, or "". schemeless allows a host without a
// protocol, which Telegram reads as an http link; the sandbox refuses it in buttons.
func urlProblem(link string, schemeless bool) string {
	if link == "" {
		return "URL host is empty"
	}
	scheme, rest, ok := strings.Cut(link, "://")
	if !ok || scheme == "" {
		if schemeless && strings.Contains(link, ".") && !strings.ContainsAny(link, " \t\n") {
			return ""
		}
		if strings.HasPrefix(strings.ToLower(link), "javascript:") || strings.HasPrefix(strings.ToLower(link), "mailto:") {
			return reasonURLProtocol
		}
		return reasonWrongHTTPURL
	}
	switch strings.ToLower(scheme) {
	case "http", "https":
		u, err := url.Parse(link)
		if err != nil || u.Host == "" || strings.ContainsAny(rest, " \t\n") {
			return reasonWrongHTTPURL
		}
		return ""
	case "tg", "ton":
		if rest == "" {
			return reasonWrongHTTPURL
		}
		return ""
	}
	return reasonURLProtocol
}

func isHTTPURL(link string) bool {
	u, err := url.Parse(link)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// isFileID reports whether s looks like a Telegram file_id: URL-safe base64 of some length.
func isFileID(s string) bool {
	if len(s) < 20 || len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isASCIIAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// mediaRef reads the file a parameter names: an upload, "attach://<part>", an http(s) URL or
// a file_id. The sandbox never fetches URLs.
func mediaRef(kind string, v any, uploads map[string]*upload, attached map[string]bool, inGroup bool) (fileRef, *apiError) {
	switch v := v.(type) {
	case *upload:
		return uploadRef(kind, v)
	case string:
		if part, ok := strings.CutPrefix(v, "attach://"); ok {
			up := uploads[part]
			if up == nil {
				if inGroup {
					return fileRef{}, badRequest(descMediaNotFound)
				}
				return fileRef{}, badRequest(descWrongFile)
			}
			attached[part] = true
			return uploadRef(kind, up)
		}
		if isHTTPURL(v) {
			u, _ := url.Parse(v)
			return fileRef{display: v, name: path.Base(u.Path)}, nil
		}
		if isFileID(v) {
			return fileRef{display: v, fileID: v}, nil
		}
	}
	if inGroup {
		return fileRef{}, badRequest(descMediaNotFound)
	}
	return fileRef{}, badRequest(descWrongFile)
}

func uploadRef(kind string, up *upload) (fileRef, *apiError) {
	if up.size == 0 {
		return fileRef{}, badRequest(descFileEmpty)
	}
	if kind == "photo" && up.size > maxPhotoUpload {
		return fileRef{}, badRequestf(descPhotoTooBig, up.size)
	}
	return fileRef{display: "upload:" + up.filename, name: up.filename, size: up.size}, nil
}

// markAttached notes the parts that thumbnails, covers and live photos attach.
func markAttached(uploads map[string]*upload, attached map[string]bool, values ...any) {
	for _, v := range values {
		if s, ok := v.(string); ok {
			if part, ok := strings.CutPrefix(s, "attach://"); ok && uploads[part] != nil {
				attached[part] = true
			}
		}
	}
}

func setMediaObject(item *tgMessage, kind string, ref fileRef, p map[string]any) {
	size := ref.fakeSize()
	name := ref.name
	if name == "" || name == "." || name == "/" {
		name = "file"
	}
	switch kind {
	case "photo", "live_photo":
		smallID, smallUnique := ref.ids(kind, "small")
		id, unique := ref.ids(kind, "")
		item.Photo = []tgPhotoSize{
			{FileID: smallID, FileUniqueID: smallUnique, Width: 320, Height: 180, FileSize: size / 16},
			{FileID: id, FileUniqueID: unique, Width: 1280, Height: 720, FileSize: size},
		}
	case "video":
		id, unique := ref.ids(kind, "")
		v := &tgVideo{FileID: id, FileUniqueID: unique, Width: 1280, Height: 720, FileName: ref.name, MimeType: "video/mp4", FileSize: size}
		if n, ok := intValue(p["width"]); ok {
			v.Width = n
		}
		if n, ok := intValue(p["height"]); ok {
			v.Height = n
		}
		v.Duration, _ = intValue(p["duration"])
		item.Video = v
	case "audio":
		id, unique := ref.ids(kind, "")
		a := &tgAudio{FileID: id, FileUniqueID: unique, FileName: name, MimeType: "audio/mpeg", FileSize: size}
		a.Duration, _ = intValue(p["duration"])
		a.Performer, _ = p["performer"].(string)
		a.Title, _ = p["title"].(string)
		item.Audio = a
	case "document":
		id, unique := ref.ids(kind, "")
		item.Document = &tgDocument{FileID: id, FileUniqueID: unique, FileName: name,
			MimeType: mimeTypeOf(name, "application/octet-stream"), FileSize: size}
	}
}

// parseChatID reads a chat_id: an integer, its decimal text, or "@username".
func parseChatID(v any) (chatRef, *apiError) {
	var text string
	switch v := v.(type) {
	case json.Number:
		text = string(v)
	case string:
		text = strings.TrimSpace(v)
		if text == "" {
			return chatRef{}, badRequest(descChatIDEmpty)
		}
		if name, ok := strings.CutPrefix(text, "@"); ok {
			if !validUsername(name) {
				return chatRef{}, badRequest(descChatNotFound)
			}
			return chatFromUsername(name), nil
		}
	}
	id, err := strconv.ParseInt(text, 10, 64)
	if err != nil || id == 0 {
		return chatRef{}, badRequest(descChatNotFound)
	}
	return chatFromID(id), nil
}

func validUsername(name string) bool {
	if len(name) < 4 || len(name) > 32 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isASCIIAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}

// replyTarget checks reply_parameters: the message replied to must exist in the chat, unless
// allow_sending_without_reply. A reply to another chat's message is not checked.
func (s *Server) replyTarget(v any, chat chatRef) (*tgReplyTo, *apiError) {
	rp, ok := v.(map[string]any)
	if !ok {
		return nil, nil
	}
	if other, ok := rp["chat_id"]; ok && other != nil {
		if c, err := parseChatID(other); err != nil || c.key != chat.key {
			return nil, nil
		}
	}
	id, _ := intValue(rp["message_id"])
	if id > 0 && id <= s.log.lastID(chat.key) {
		return &tgReplyTo{MessageID: id, Date: s.now().Unix(), Chat: chat.object()}, nil
	}
	if allow, _ := rp["allow_sending_without_reply"].(bool); allow {
		return nil, nil
	}
	return nil, badRequest(descReplyNotFound)
}

// admit applies the chat's state and the rate limits to a send.
func (s *Server) admit(out *outgoing, bot string) *apiError {
	switch st := s.chatState(out.chat.key); st {
	case ChatOK:
	case ChatBlocked:
		return &apiError{code: http.StatusForbidden, description: descBlocked}
	case ChatDeactivated:
		return &apiError{code: http.StatusForbidden, description: descDeactivated}
	case ChatKicked:
		desc := descKickedGroup
		switch out.chat.kind {
		case "supergroup":
			desc = descKickedSupergroup
		case "channel":
			desc = descKickedChannel
		}
		return &apiError{code: http.StatusForbidden, description: desc}
	case ChatNotFound:
		return badRequest(descChatNotFound)
	case ChatNoConversation:
		return &apiError{code: http.StatusForbidden, description: descNoConversation}
	default:
		if rest, ok := strings.CutPrefix(string(st), migratedPrefix); ok {
			newID, _ := strconv.ParseInt(rest, 10, 64)
			return &apiError{code: http.StatusBadRequest, description: descMigrated, migrateTo: newID}
		}
	}
	if wait, ok := s.limits.take(s.now(), bot, out.chat, out.paid, len(out.items)); !ok {
		return &apiError{code: http.StatusTooManyRequests, description: fmt.Sprintf(descRetryAfter, wait), retryAfter: wait}
	}
	return nil
}

// commit records an admitted send and returns Telegram's answer: the sent Message, or the
// array of a media group's.
func (s *Server) commit(out *outgoing) any {
	out.msg.Time = s.now()
	first := s.log.commit(&out.msg, len(out.items))
	date := out.msg.Time.Unix()
	for i := range out.items {
		out.items[i].MessageID = first + int64(i)
		out.items[i].Date = date
	}
	if out.group {
		return out.items
	}
	return &out.items[0]
}
