package telegram

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
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
// Product cards follow the text in their layout (see cardRequests). An
// error wraps campaign.ErrInvalidMessage when lint finds a problem.
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
	if probs := lint(m, doc); len(probs) > 0 {
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
		return add("sendMessage", newSendMessage(html, kb, m.DisableLinkPreview, paid))
	}
	var err error
	switch {
	case len(m.Cards) > 0:
		for _, r := range cardRequests(m, doc, paid) {
			if err = add(r.method, r.body); err != nil {
				break
			}
		}
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

// newSendMessage is a sendMessage of html with the keyboard kb.
func newSendMessage(html string, kb *inlineKeyboard, noPreview, paid bool) sendMessage {
	sm := sendMessage{ChatID: placeholderID, Text: html, ParseMode: "HTML", ReplyMarkup: kb, AllowPaidBroadcast: paid}
	if noPreview {
		sm.LinkPreviewOptions = &linkPreview{IsDisabled: true}
	}
	return sm
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
	return lint(m, markup.Parse(m.Text))
}

// problems collects lint findings.
type problems []campaign.Problem

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, campaign.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// lint checks m, whose text parses to doc.
func lint(m campaign.Message, doc markup.Doc) []campaign.Problem {
	var out problems
	add := out.add
	length := TextLength(doc)
	switch {
	case length == 0 && len(m.Media) == 0 && len(m.Cards) == 0:
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
	lintButtons(&out, "message.buttons", m.Buttons)
	if len(m.Cards) > 0 {
		lintCards(&out, m, doc)
	}
	return out
}

// lintButtons checks the buttons at field (message.buttons, or
// message.cards.buttons for a card's).
func lintButtons(out *problems, field string, buttons []campaign.Button) {
	add := out.add
	for i, b := range buttons {
		field := fmt.Sprintf("%s.%d", field, i)
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
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// maxCards is how many product cards one message may hold: as many as an
// album has pictures, so that both layouts show every card.
const maxCards = maxMediaGroupItems

// request is one Bot API call before it is encoded.
type request struct {
	method string
	body   any
}

// cardRequests are the calls that show m's product cards, after its text
// (intro), in m.CardLayout. Telegram has no carousel, so:
//
//   - CardsEach (the default): the text, if any, as a message; then per
//     card a photo captioned with the card (see cardCaption) and its buttons
//     under it, or, for a card without an image, a message of the caption
//     and the buttons (its link's preview, unless the campaign turns
//     previews off, stands in for the picture);
//   - CardsAlbum: the cards' images as one album without captions (one
//     photo when only one card has an image, nothing when none has), then
//     one message of the text and a list of the cards (see albumText),
//     without a link preview, which would repeat the first card's picture.
//     An album and a list have no room for a card's buttons: lint reports
//     cards with buttons in this layout rather than drop them unseen.
func cardRequests(m campaign.Message, intro markup.Doc, paid bool) []request {
	var out []request
	if m.CardLayout == campaign.CardsAlbum {
		var images []string
		for _, card := range m.Cards {
			if card.Image != "" {
				images = append(images, card.Image)
			}
		}
		switch len(images) {
		case 0:
		case 1:
			out = append(out, request{"sendPhoto", sendMedia{ChatID: placeholderID, Photo: images[0], AllowPaidBroadcast: paid}})
		default:
			g := sendMediaGroup{ChatID: placeholderID, AllowPaidBroadcast: paid}
			for _, img := range images {
				g.Media = append(g.Media, inputMedia{Type: "photo", Media: img})
			}
			out = append(out, request{"sendMediaGroup", g})
		}
		list := HTML(albumText(intro, m.Cards))
		return append(out, request{"sendMessage", newSendMessage(list, nil, true, paid)})
	}
	if TextLength(intro) > 0 {
		out = append(out, request{"sendMessage", newSendMessage(HTML(intro), nil, m.DisableLinkPreview, paid)})
	}
	for _, card := range m.Cards {
		caption, kb := HTML(cardCaption(card)), keyboard(card.Buttons)
		if card.Image == "" {
			out = append(out, request{"sendMessage", newSendMessage(caption, kb, m.DisableLinkPreview, paid)})
			continue
		}
		out = append(out, request{"sendPhoto", sendMedia{ChatID: placeholderID, Photo: card.Image,
			Caption: caption, ParseMode: "HTML", ReplyMarkup: kb, AllowPaidBroadcast: paid}})
	}
	return out
}

// cardCaption is a card as a caption: its title in bold, linked to the
// card's Link when it has one, and its subtitle on the next line. Title and
// subtitle are plain text, so they are text nodes, which HTML escapes.
func cardCaption(card campaign.Card) markup.Doc {
	title := markup.Node{Kind: markup.Bold, Children: []markup.Node{{Kind: markup.Text, Text: strings.TrimSpace(card.Title)}}}
	if card.Link != "" {
		title = markup.Node{Kind: markup.Link, URL: card.Link, Children: []markup.Node{title}}
	}
	d := markup.Doc{Nodes: []markup.Node{title}}
	if sub := strings.TrimSpace(card.Subtitle); sub != "" {
		d.Nodes = append(d.Nodes, markup.Node{Kind: markup.Text, Text: "\n" + sub})
	}
	return d
}

// albumText is the message under an album of cards: the intro, a blank
// line, and one line per card, "• Title — Subtitle" with the title linked
// to the card's Link. A title or subtitle over several lines is joined into
// one so that the list stays one line per card.
func albumText(intro markup.Doc, cards []campaign.Card) markup.Doc {
	oneLine := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	d := markup.Doc{Nodes: slices.Clone(intro.Nodes)}
	if TextLength(intro) > 0 {
		d.Nodes = append(d.Nodes, markup.Node{Kind: markup.Text, Text: "\n\n"})
	}
	for i, card := range cards {
		bullet := "• "
		if i > 0 {
			bullet = "\n• "
		}
		title := markup.Node{Kind: markup.Text, Text: oneLine(card.Title)}
		if card.Link != "" {
			title = markup.Node{Kind: markup.Link, URL: card.Link, Children: []markup.Node{title}}
		}
		d.Nodes = append(d.Nodes, markup.Node{Kind: markup.Text, Text: bullet}, title)
		if sub := oneLine(card.Subtitle); sub != "" {
			d.Nodes = append(d.Nodes, markup.Node{Kind: markup.Text, Text: " — " + sub})
		}
	}
	return d
}

// lintCards checks m's product cards. A campaign's cards come from one
// template (message.cards), so a problem names the template's field and
// says which card it is about.
func lintCards(out *problems, m campaign.Message, intro markup.Doc) {
	if len(m.Media) > 0 || len(m.Buttons) > 0 {
		out.add("message.cards", "a message with cards has no media or buttons of its own: put them on the cards")
	}
	if len(m.Cards) > maxCards {
		out.add("message.cards", "%d cards, Telegram allows at most %d in one message", len(m.Cards), maxCards)
	}
	album := false
	switch m.CardLayout {
	case "", campaign.CardsEach:
	case campaign.CardsAlbum:
		album = true
	default:
		out.add("message.layout", "unknown layout %q: use each or album", m.CardLayout)
	}
	var withButtons []string
	for i, card := range m.Cards {
		found := len(*out)
		title := strings.TrimSpace(card.Title)
		if title == "" {
			out.add("message.cards.title", "the title is empty after rendering: a card needs one")
		}
		if card.Image != "" && !isHTTPURL(card.Image) && !fileIDRE.MatchString(card.Image) {
			out.add("message.cards.image", "%q is neither an http(s) URL nor a Telegram file id", card.Image)
		}
		if card.Link != "" && !isHTTPURL(card.Link) && !strings.HasPrefix(card.Link, "tg://") {
			out.add("message.cards.link", "%q is not an http(s) or tg:// URL", card.Link)
		}
		if album {
			if len(card.Buttons) > 0 {
				withButtons = append(withButtons, strconv.Itoa(i+1))
			}
		} else {
			limit, under := maxTextLength, "a message"
			if card.Image != "" {
				limit, under = maxCaptionLength, "a photo's caption"
			}
			if n := TextLength(cardCaption(card)); n > limit {
				field := "message.cards.subtitle"
				if len(title) > len(strings.TrimSpace(card.Subtitle)) {
					field = "message.cards.title"
				}
				out.add(field, "title and subtitle come to %d characters, Telegram allows %d in %s", n, limit, under)
			}
			lintButtons(out, "message.cards.buttons", card.Buttons)
		}
		for j := range (*out)[found:] {
			p := &(*out)[found+j]
			p.Message = cardName(i, title) + ": " + p.Message
		}
	}
	if len(withButtons) > 0 {
		out.add("message.layout", "Telegram's album layout cannot show a card's buttons (cards %s have some): use layout: each, or remove the cards' buttons",
			strings.Join(withButtons, ", "))
	}
	if album && TextLength(intro) <= maxTextLength {
		if n := TextLength(albumText(intro, m.Cards)); n > maxTextLength {
			out.add("message.cards", "the text and the list of cards come to %d characters after rendering, Telegram allows %d in one message", n, maxTextLength)
		}
	}
}

// cardName says which card a problem is about: its number from 1, and the
// start of its title.
func cardName(i int, title string) string {
	if title == "" {
		return fmt.Sprintf("card %d", i+1)
	}
	if r := []rune(title); len(r) > 30 {
		title = strings.TrimSpace(string(r[:29])) + "…"
	}
	return fmt.Sprintf("card %d (%q)", i+1, title)
}
