package telegram

import (
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
		ChatID             any             `json:"chat_id"`
		Text               string          `json:"text"`
		ParseMode          string          `json:"parse_mode"`
		LinkPreviewOptions *linkPreview    `json:"link_preview_options,omitempty"`
		ReplyMarkup        *inlineKeyboard `json:"reply_markup,omitempty"`
		AllowPaidBroadcast bool            `json:"allow_paid_broadcast,omitempty"`
	}
	// sendMedia is sendPhoto/sendVideo/sendAudio/sendDocument: the media
	// field is named after the method, so it is encoded by hand.
	sendMedia struct {
		ChatID             any
		Field              string
		Media              string
		Caption            string
		ReplyMarkup        *inlineKeyboard
		AllowPaidBroadcast bool
	}
	inputMedia struct {
		Type      string `json:"type"`
		Media     string `json:"media"`
		Caption   string `json:"caption,omitempty"`
		ParseMode string `json:"parse_mode,omitempty"`
	}
	sendMediaGroup struct {
		ChatID             any          `json:"chat_id"`
		Media              []inputMedia `json:"media"`
		AllowPaidBroadcast bool         `json:"allow_paid_broadcast,omitempty"`
	}
)

func (m sendMedia) MarshalJSON() ([]byte, error) {
	out := map[string]any{"chat_id": m.ChatID, m.Field: m.Media}
	if m.Caption != "" {
		out["caption"], out["parse_mode"] = m.Caption, "HTML"
	}
	if m.ReplyMarkup != nil {
		out["reply_markup"] = m.ReplyMarkup
	}
	if m.AllowPaidBroadcast {
		out["allow_paid_broadcast"] = true
	}
	return json.Marshal(out)
}

var mediaMethods = map[campaign.MediaKind]struct{ method, field, input string }{
	campaign.Image: {"sendPhoto", "photo", "photo"},
	campaign.Video: {"sendVideo", "video", "video"},
	campaign.Audio: {"sendAudio", "audio", "audio"},
	campaign.File:  {"sendDocument", "document", "document"},
}

// chatID is a numeric chat id as a number, or an @username as it is.
func chatID(addr string) any {
	if n, err := strconv.ParseInt(addr, 10, 64); err == nil {
		return n
	}
	return addr
}

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
	doc := markup.Parse(m.Text)
	length := TextLength(doc)
	if probs := lint(m, length); len(probs) > 0 {
		return nil, fmt.Errorf("%w: %s", campaign.ErrInvalidMessage, probs[0])
	}
	html := HTML(doc)
	kb := keyboard(m.Buttons)
	id := chatID(to.Address)
	var bodies []struct {
		method string
		body   any
	}
	add := func(method string, body any) {
		bodies = append(bodies, struct {
			method string
			body   any
		}{method, body})
	}
	text := func(withKB bool) {
		sm := sendMessage{ChatID: id, Text: html, ParseMode: "HTML", AllowPaidBroadcast: c.cfg.PaidBroadcast}
		if withKB {
			sm.ReplyMarkup = kb
		}
		if m.DisableLinkPreview {
			sm.LinkPreviewOptions = &linkPreview{IsDisabled: true}
		}
		add("sendMessage", sm)
	}
	switch {
	case len(m.Media) == 0:
		text(true)
	case len(m.Media) == 1:
		mm := mediaMethods[m.Media[0].Kind]
		sm := sendMedia{ChatID: id, Field: mm.field, Media: m.Media[0].URL, AllowPaidBroadcast: c.cfg.PaidBroadcast}
		if length <= maxCaptionLength {
			sm.Caption, sm.ReplyMarkup = captionHTML(html, length), kb
			add(mm.method, sm)
		} else {
			add(mm.method, sm)
			text(true)
		}
	default:
		g := sendMediaGroup{ChatID: id, AllowPaidBroadcast: c.cfg.PaidBroadcast}
		for _, md := range m.Media {
			g.Media = append(g.Media, inputMedia{Type: mediaMethods[md.Kind].input, Media: md.URL})
		}
		separate := kb != nil || length > maxCaptionLength
		if !separate && length > 0 {
			g.Media[0].Caption, g.Media[0].ParseMode = html, "HTML"
		}
		add("sendMediaGroup", g)
		if separate {
			text(true)
		}
	}
	calls := make([]campaign.Call, len(bodies))
	for i, b := range bodies {
		body, err := json.Marshal(b.body)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", b.method, err)
		}
		calls[i] = campaign.Call{Method: b.method, Chat: to.Address, Group: isGroup(to.Address), Body: body}
	}
	return calls, nil
}

func captionHTML(html string, length int) string {
	if length == 0 {
		return ""
	}
	return html
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
