package telegram

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/campaign/markup"
)

// Request bodies: only the Bot API fields herald sends. The contract test
// checks them against the published spec.
type (
	inlineButton struct {
		Text         string `json:"text"`
		URL          string `json:"url,omitempty"`
		CallbackData string `json:"callback_data,omitempty"`
	}
	inlineKeyboard struct {
		InlineKeyboard [][]inlineButton `json:"inline_keyboard"`
	}
	linkPreview struct {
		IsDisabled bool `json:"is_disabled"`
	}
	sendMessage struct {
		ChatID             json.RawMessage `json:"chat_id"`
		Text               string          `json:"text"`
		ParseMode          string          `json:"parse_mode"`
		LinkPreviewOptions *linkPreview    `json:"link_preview_options,omitempty"`
		ReplyMarkup        *inlineKeyboard `json:"reply_markup,omitempty"`
		AllowPaidBroadcast bool            `json:"allow_paid_broadcast,omitempty"`
	}
	// sendMedia is sendPhoto, sendVideo, sendAudio or sendDocument: exactly
	// one of the media fields is set.
	sendMedia struct {
		ChatID             json.RawMessage `json:"chat_id"`
		Photo              string          `json:"photo,omitempty"`
		Video              string          `json:"video,omitempty"`
		Audio              string          `json:"audio,omitempty"`
		Document           string          `json:"document,omitempty"`
		Caption            string          `json:"caption,omitempty"`
		ParseMode          string          `json:"parse_mode,omitempty"`
		ReplyMarkup        *inlineKeyboard `json:"reply_markup,omitempty"`
		AllowPaidBroadcast bool            `json:"allow_paid_broadcast,omitempty"`
	}
	inputMedia struct {
		Type      string `json:"type"`
		Media     string `json:"media"`
		Caption   string `json:"caption,omitempty"`
		ParseMode string `json:"parse_mode,omitempty"`
	}
	sendMediaGroup struct {
		ChatID             json.RawMessage `json:"chat_id"`
		Media              []inputMedia    `json:"media"`
		AllowPaidBroadcast bool            `json:"allow_paid_broadcast,omitempty"`
	}
)

var mediaMethods = map[campaign.MediaKind]struct{ method, input string }{
	campaign.Image: {"sendPhoto", "photo"},
	campaign.Video: {"sendVideo", "video"},
	campaign.Audio: {"sendAudio", "audio"},
	campaign.File:  {"sendDocument", "document"},
}

// setMedia sets the one media field of kind.
func (m *sendMedia) setMedia(kind campaign.MediaKind, url string) {
	switch kind {
	case campaign.Image:
		m.Photo = url
	case campaign.Video:
		m.Video = url
	case campaign.Audio:
		m.Audio = url
	default:
		m.Document = url
	}
}

// chatIDJSON is a numeric chat id as a JSON number, an @username as a string.
func chatIDJSON(addr string) []byte {
	if _, err := strconv.ParseInt(addr, 10, 64); err == nil {
		return []byte(addr)
	}
	b, _ := json.Marshal(addr)
	return b
}

// Every body starts with the chat id (the first field of each request
// struct), so one encoding serves every recipient: the placeholder is
// replaced by the recipient's id.
var (
	placeholderID = json.RawMessage("0")
	bodyPrefix    = []byte(`{"chat_id":0`)
)

// isGroup reports whether addr is a group or channel (negative id or
// @channelname), which Telegram limits to 20 messages a minute.
func isGroup(addr string) bool {
	return strings.HasPrefix(addr, "-") || strings.HasPrefix(addr, "@")
}

// Prepare implements campaign.Channel. A message becomes as few calls as
// Telegram allows: text alone; one media with the text as caption and the
// buttons; or, when the text is longer than a caption or the media is a
// gallery with buttons, the media first and then the text with the buttons.
func (c *Channel) Prepare(to campaign.Recipient, m campaign.Message) ([]campaign.Call, error) {
	tmpl, err := c.bodies.Get(m, c.encode)
	if err != nil {
		return nil, err
	}
	id := chatIDJSON(to.Address)
	calls := make([]campaign.Call, len(tmpl))
	for i, t := range tmpl {
		body := make([]byte, 0, len(t.body)+len(id))
		body = append(append(append(body, `{"chat_id":`...), id...), t.body[len(bodyPrefix):]...)
		calls[i] = campaign.Call{Method: t.method, Chat: to.Address, Group: isGroup(to.Address), Body: body}
	}
	return calls, nil
}

// preparedCall is one call of a message, encoded for a placeholder chat.
type preparedCall struct {
	method string
	body   []byte
}

// encode renders m into its calls for the placeholder chat.
func (c *Channel) encode(m campaign.Message) ([]preparedCall, error) {
	doc := markup.Parse(m.Text)
	length := TextLength(doc)
	if probs := lint(m, length); len(probs) > 0 {
		return nil, fmt.Errorf("%w: %s", campaign.ErrInvalidMessage, probs[0])
	}
	html := HTML(doc)
	kb := keyboard(m.Buttons)
	paid := c.cfg.PaidBroadcast
	var out []preparedCall
	add := func(method string, v any) error {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // the text is HTML; keep it readable and short
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("encode %s: %w", method, err)
		}
		out = append(out, preparedCall{method: method, body: bytes.TrimRight(buf.Bytes(), "\n")})
		return nil
	}
	text := func() error {
		sm := sendMessage{ChatID: placeholderID, Text: html, ParseMode: "HTML", ReplyMarkup: kb, AllowPaidBroadcast: paid}
		if m.DisableLinkPreview {
			sm.LinkPreviewOptions = &linkPreview{IsDisabled: true}
		}
		return add("sendMessage", sm)
	}
	var err error
	switch {
	case len(m.Media) == 0:
		err = text()
	case len(m.Media) == 1:
		sm := sendMedia{ChatID: placeholderID, AllowPaidBroadcast: paid}
		sm.setMedia(m.Media[0].Kind, m.Media[0].URL)
		if length <= maxCaptionLength {
			if length > 0 {
				sm.Caption, sm.ParseMode = html, "HTML"
			}
			sm.ReplyMarkup = kb
			err = add(mediaMethods[m.Media[0].Kind].method, sm)
		} else if err = add(mediaMethods[m.Media[0].Kind].method, sm); err == nil {
			err = text()
		}
	default:
		g := sendMediaGroup{ChatID: placeholderID, AllowPaidBroadcast: paid}
		for _, md := range m.Media {
			g.Media = append(g.Media, inputMedia{Type: mediaMethods[md.Kind].input, Media: md.URL})
		}
		separate := kb != nil || length > maxCaptionLength
		if !separate && length > 0 {
			g.Media[0].Caption, g.Media[0].ParseMode = html, "HTML"
		}
		if err = add("sendMediaGroup", g); err == nil && separate {
			err = text()
		}
	}
	if err != nil {
		return nil, err
	}
	for _, p := range out {
		if !bytes.HasPrefix(p.body, bodyPrefix) {
			return nil, fmt.Errorf("encode %s: body does not start with the chat id", p.method) // a bug: fields out of order
		}
	}
	return out, nil
}

func keyboard(buttons []campaign.Button) *inlineKeyboard {
	if len(buttons) == 0 {
		return nil
	}
	kb := &inlineKeyboard{}
	for _, b := range buttons {
		// One button per row reads best on phones.
		kb.InlineKeyboard = append(kb.InlineKeyboard, []inlineButton{{Text: b.Text, URL: b.URL, CallbackData: b.Callback}})
	}
	return kb
}

var fileIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{20,}$`)

// Lint implements campaign.Channel: Telegram's limits, checked offline.
func (c *Channel) Lint(m campaign.Message) []campaign.Problem {
	return lint(m, TextLength(markup.Parse(m.Text)))
}

// lint checks m, whose text is length long as Telegram counts it.
func lint(m campaign.Message, length int) []campaign.Problem {
	var out []campaign.Problem
	add := func(field, format string, args ...any) {
		out = append(out, campaign.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case length == 0 && len(m.Media) == 0:
		add("message.text", "the message is empty after rendering: Telegram needs text or media")
	case length > maxTextLength:
		add("message.text", "%d characters after rendering, Telegram allows %d", length, maxTextLength)
	}
	if len(m.Media) > maxMediaGroupItems {
		add("message.gallery", "%d images, Telegram allows %d in one album", len(m.Media), maxMediaGroupItems)
	}
	for i, md := range m.Media {
		field := "message." + string(md.Kind)
		if len(m.Media) > 1 {
			field = fmt.Sprintf("message.gallery.%d", i)
		}
		if _, ok := mediaMethods[md.Kind]; !ok {
			add(field, "unknown media kind %q", md.Kind)
			continue
		}
		if !isHTTPURL(md.URL) && !fileIDRE.MatchString(md.URL) {
			add(field, "%q is neither an http(s) URL nor a Telegram file id", md.URL)
		}
	}
	if len(m.Media) > 1 && len(m.Buttons) > 0 && length == 0 {
		add("message.text", "a Telegram album cannot carry buttons: herald sends them with the text after it, so the message needs text")
	}
	for i, b := range m.Buttons {
		field := fmt.Sprintf("message.buttons.%d", i)
		if strings.TrimSpace(b.Text) == "" {
			add(field+".text", "button text is empty after rendering")
		}
		switch {
		case b.URL != "" && b.Callback != "":
			add(field, "a button has either a url or a callback, not both")
		case b.URL != "":
			if !isHTTPURL(b.URL) && !strings.HasPrefix(b.URL, "tg://") {
				add(field+".url", "%q is not an http(s) or tg:// URL", b.URL)
			}
		case b.Callback != "":
			if n := len(b.Callback); n > maxCallbackBytes {
				add(field+".callback", "%d bytes, Telegram allows %d", n, maxCallbackBytes)
			}
		default:
			add(field, "the button has no url or callback after rendering")
		}
	}
	return out
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
