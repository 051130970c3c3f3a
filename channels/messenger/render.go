package messenger

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/campaign/markup"
)

// Messenger's limits (PLATFORMS.md, "Message limits"), in characters.
const (
	maxText           = 2000
	maxButtonText     = 640
	maxTitle          = 80 // generic template title and subtitle
	maxElements       = 10
	maxButtons        = 3
	maxButtonTitle    = 20
	maxPayload        = 1000
	maxQuickReplies   = 13
	maxQuickReplyText = 20
)

// The Send API's request shapes.
type (
	sendBody struct {
		PageID        string     `json:"page_id,omitempty"` // marketing route only
		Recipient     recipient  `json:"recipient"`
		MessagingType string     `json:"messaging_type,omitempty"`
		Tag           string     `json:"tag,omitempty"`
		Message       outMessage `json:"message"`
	}
	recipient struct {
		ID    string `json:"id,omitempty"`
		Token string `json:"notification_messages_token,omitempty"`
	}
	outMessage struct {
		Text         string       `json:"text,omitempty"`
		Attachment   *attachment  `json:"attachment,omitempty"`
		QuickReplies []quickReply `json:"quick_replies,omitempty"`
	}
	attachment struct {
		Type    string `json:"type"` // image, video, audio, file, template
		Payload any    `json:"payload"`
	}
	mediaPayload struct {
		URL        string `json:"url"`
		IsReusable bool   `json:"is_reusable"`
	}
	buttonTemplate struct {
		TemplateType string   `json:"template_type"` // button
		Text         string   `json:"text"`
		Buttons      []button `json:"buttons"`
	}
	genericTemplate struct {
		TemplateType string    `json:"template_type"` // generic
		Elements     []element `json:"elements"`
	}
	element struct {
		Title         string         `json:"title"`
		Subtitle      string         `json:"subtitle,omitempty"`
		ImageURL      string         `json:"image_url,omitempty"`
		DefaultAction *defaultAction `json:"default_action,omitempty"`
		Buttons       []button       `json:"buttons,omitempty"`
	}
	defaultAction struct {
		Type string `json:"type"` // web_url
		URL  string `json:"url"`
	}
	button struct {
		Type    string `json:"type"` // web_url or postback
		URL     string `json:"url,omitempty"`
		Title   string `json:"title"`
		Payload string `json:"payload,omitempty"`
	}
	quickReply struct {
		ContentType string `json:"content_type"` // text
		Title       string `json:"title"`
		Payload     string `json:"payload"`
	}
)

// rendering is a message as Messenger shows it: the messages to send, in
// order, and what is wrong with it.
type rendering struct {
	msgs     []outMessage
	slow     []bool // audio or video: the Page's slower rate
	compact  outMessage
	problems []campaign.Problem
}

func (r *rendering) add(field, format string, args ...any) {
	r.problems = append(r.problems, campaign.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// render turns m into Messenger messages in as few as Messenger can show:
//   - text alone: a text message (≤2000); with buttons, a button template
//     (≤640), or, for longer text, the text and then the buttons under its
//     first line;
//   - one image: a card (generic template: image, first line as title, the
//     rest as subtitle, the buttons) when the text fits a card's 80+80
//     characters; else the text and then the card, or without buttons the
//     image and then the text;
//   - video, audio or a file: the attachment, then the text and buttons;
//   - a gallery: a carousel of cards, after the text when it does not fit;
//   - product cards: the text, if any, and then one carousel with an
//     element per card (see cards);
//   - quick replies ride on the last message.
//
// compact is the same message as one Send API message, for the routes that
// allow one notification (recurring and marketing); for product cards it is
// the carousel alone, without the text.
func render(m campaign.Message) rendering {
	var r rendering
	text := strings.TrimSpace(markup.Parse(m.Text).Plain())
	if n := runes(text); n > maxText {
		r.add("message.text", "%d characters after rendering, Messenger allows %d", n, maxText)
	}
	btns := r.buttons("message.buttons", m.Buttons)
	title, subtitle, fits := headline(text)
	buttonTmpl := func(t string) outMessage {
		return outMessage{Attachment: &attachment{Type: "template", Payload: buttonTemplate{TemplateType: "button", Text: t, Buttons: btns}}}
	}
	// withText is the text and the buttons: a button template when the
	// text fits one, else the text and then the buttons under its first
	// line.
	withText := func() []outMessage {
		switch {
		case len(btns) == 0:
			return []outMessage{{Text: text}}
		case text == "":
			r.add("message.text", "Messenger shows buttons only under text (a button template): the message needs text")
			return []outMessage{buttonTmpl(text)}
		case runes(text) <= maxButtonText:
			return []outMessage{buttonTmpl(text)}
		}
		return []outMessage{{Text: text}, buttonTmpl(truncate(firstLine(text), maxButtonText))}
	}
	card := func(image string) element {
		e := element{Title: title, Subtitle: subtitle, ImageURL: image, Buttons: btns}
		if e.Title == "" {
			e.Title = " "
		}
		for _, b := range btns {
			if b.Type == "web_url" {
				e.DefaultAction = &defaultAction{Type: "web_url", URL: b.URL}
				break
			}
		}
		return e
	}
	generic := func(els ...element) outMessage {
		return outMessage{Attachment: &attachment{Type: "template", Payload: genericTemplate{TemplateType: "generic", Elements: els}}}
	}
	push := func(slow bool, ms ...outMessage) {
		for _, m := range ms {
			r.msgs, r.slow = append(r.msgs, m), append(r.slow, slow)
		}
	}
	for i, md := range m.Media {
		field := "message." + string(md.Kind)
		if len(m.Media) > 1 {
			field = fmt.Sprintf("message.gallery.%d", i)
		}
		if !isHTTPURL(md.URL) {
			r.add(field, "%q is not an http(s) URL: Messenger fetches media by URL", md.URL)
		}
	}
	switch {
	case len(m.Cards) > 0:
		if len(m.Media) > 0 || len(m.Buttons) > 0 {
			r.add("message.cards", "a message with cards has no media or buttons of its own: put them on the cards")
		}
		if text != "" {
			push(false, outMessage{Text: text})
		}
		carousel := generic(r.cards(m.Cards)...)
		push(false, carousel)
		r.compact = carousel
	case len(m.Media) > 1:
		if len(m.Media) > maxElements {
			r.add("message.gallery", "%d images, a Messenger carousel shows at most %d", len(m.Media), maxElements)
		}
		if !fits {
			push(false, outMessage{Text: text})
		}
		els := make([]element, len(m.Media))
		for i, md := range m.Media {
			els[i] = card(md.URL)
		}
		push(false, generic(els...))
		r.compact = generic(els...)
	case len(m.Media) == 1 && m.Media[0].Kind == campaign.Image:
		img := m.Media[0]
		switch {
		case text == "" && len(btns) == 0:
			push(false, media(img))
		case fits && text != "":
			push(false, generic(card(img.URL)))
		case len(btns) > 0:
			// The text, then a card with the image and the buttons.
			push(false, outMessage{Text: text}, generic(card(img.URL)))
		default:
			push(false, media(img), outMessage{Text: text})
		}
		r.compact = generic(card(img.URL))
		if text == "" && len(btns) == 0 {
			r.compact = media(img)
		}
	case len(m.Media) == 1:
		slow := m.Media[0].Kind == campaign.Video || m.Media[0].Kind == campaign.Audio
		push(slow, media(m.Media[0]))
		r.compact = r.msgs[0]
		if text != "" || len(btns) > 0 {
			push(false, withText()...)
			r.compact = r.single()
		}
	default:
		if text == "" {
			r.add("message.text", "the message is empty after rendering: Messenger needs text or media")
		}
		push(false, withText()...)
		r.compact = r.single()
	}
	qr := r.quickReplies(m.QuickReplies)
	if len(qr) > 0 {
		r.msgs[len(r.msgs)-1].QuickReplies = qr
		r.compact.QuickReplies = qr
	}
	return r
}

// single is the text-bearing part of the message as one Send API message:
// the text alone, or a button template with the text cut to fit.
func (r *rendering) single() outMessage {
	last := r.msgs[len(r.msgs)-1]
	if last.Attachment == nil || last.Attachment.Type != "template" {
		return last
	}
	bt, ok := last.Attachment.Payload.(buttonTemplate)
	if !ok {
		return last
	}
	if len(r.msgs) > 1 && r.msgs[len(r.msgs)-2].Text != "" {
		bt.Text = truncate(r.msgs[len(r.msgs)-2].Text, maxButtonText)
	}
	return outMessage{Attachment: &attachment{Type: "template", Payload: bt}}
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(first)
}

// headline splits text into a card's title (its first line) and subtitle
// (the rest), and says whether the whole text fits a card.
func headline(text string) (title, subtitle string, fits bool) {
	first, rest, _ := strings.Cut(text, "\n")
	first, rest = strings.TrimSpace(first), strings.TrimSpace(rest)
	fits = runes(first) <= maxTitle && runes(rest) <= maxTitle
	return truncate(first, maxTitle), truncate(rest, maxTitle), fits
}

// truncate cuts s to n characters, ending with an ellipsis when cut.
func truncate(s string, n int) string {
	if runes(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

func media(md campaign.Media) outMessage {
	return outMessage{Attachment: &attachment{Type: string(md.Kind), Payload: mediaPayload{URL: md.URL, IsReusable: true}}}
}

// buttons checks and converts the buttons at field (message.buttons, or
// message.cards.buttons for a card's).
func (r *rendering) buttons(field string, in []campaign.Button) []button {
	if len(in) > maxButtons {
		r.add(field, "%d buttons, Messenger allows %d", len(in), maxButtons)
	}
	var out []button
	for i, b := range in {
		field := fmt.Sprintf("%s.%d", field, i)
		if strings.TrimSpace(b.Text) == "" {
			r.add(field+".text", "button text is empty after rendering")
		} else if n := runes(b.Text); n > maxButtonTitle {
			r.add(field+".text", "%d characters, a Messenger button title allows %d", n, maxButtonTitle)
		}
		switch {
		case b.URL != "" && b.Callback != "":
			r.add(field, "a button has either a url or a callback, not both")
		case b.URL != "":
			if !isHTTPURL(b.URL) {
				r.add(field+".url", "%q is not an http(s) URL, which a Messenger button needs", b.URL)
			}
			out = append(out, button{Type: "web_url", URL: b.URL, Title: b.Text})
		case b.Callback != "":
			if n := runes(b.Callback); n > maxPayload {
				r.add(field+".callback", "%d characters, a Messenger postback payload allows %d", n, maxPayload)
			}
			out = append(out, button{Type: "postback", Title: b.Text, Payload: b.Callback})
		default:
			r.add(field, "the button has no url or callback after rendering")
		}
	}
	return out
}

// cards turns product cards into a carousel's elements, in order. A card's
// title and subtitle are plain text; each is cut to Messenger's 80
// characters with an ellipsis rather than refused, because the carousel
// shows only about two lines of each anyway, and a product name or price
// line from a feed that runs long must not hold up a scheduled campaign
// (on Telegram, where there is room, the same card keeps its whole title).
// A missing title, more than 10 cards, and an image or link that is not an
// http(s) URL are problems. Tapping a card opens its link.
//
// A campaign's cards come from one template (message.cards), so the fields
// of problems name the template's fields and the message says which card.
func (r *rendering) cards(cards []campaign.Card) []element {
	if len(cards) > maxElements {
		r.add("message.cards", "%d cards, a Messenger carousel shows at most %d", len(cards), maxElements)
	}
	els := make([]element, 0, len(cards))
	for i, c := range cards {
		found := len(r.problems)
		title := strings.TrimSpace(c.Title)
		if title == "" {
			r.add("message.cards.title", "the title is empty after rendering: a Messenger card needs one")
		}
		e := element{
			Title:    truncate(title, maxTitle),
			Subtitle: truncate(strings.TrimSpace(c.Subtitle), maxTitle),
			ImageURL: c.Image,
			Buttons:  r.buttons("message.cards.buttons", c.Buttons),
		}
		if c.Image != "" && !isHTTPURL(c.Image) {
			r.add("message.cards.image", "%q is not an http(s) URL: Messenger fetches a card's image by URL", c.Image)
		}
		switch {
		case isHTTPURL(c.Link):
			e.DefaultAction = &defaultAction{Type: "web_url", URL: c.Link}
		case c.Link != "":
			r.add("message.cards.link", "%q is not an http(s) URL, which a Messenger card's link needs", c.Link)
		}
		for j := range r.problems[found:] {
			p := &r.problems[found+j]
			p.Message = cardName(i, title) + ": " + p.Message
		}
		els = append(els, e)
	}
	return els
}

// cardName says which card a problem is about: its number from 1, and the
// start of its title.
func cardName(i int, title string) string {
	if title == "" {
		return fmt.Sprintf("card %d", i+1)
	}
	return fmt.Sprintf("card %d (%q)", i+1, truncate(title, 30))
}

func (r *rendering) quickReplies(in []campaign.Button) []quickReply {
	if len(in) > maxQuickReplies {
		r.add("message.quick_replies", "%d quick replies, Messenger allows %d", len(in), maxQuickReplies)
	}
	var out []quickReply
	for i, q := range in {
		field := fmt.Sprintf("message.quick_replies.%d", i)
		if n := runes(q.Text); n == 0 || n > maxQuickReplyText {
			r.add(field+".text", "%d characters, a Messenger quick reply needs 1 to %d", n, maxQuickReplyText)
		}
		if n := runes(q.Callback); n == 0 || n > maxPayload {
			r.add(field+".payload", "%d characters, a Messenger quick reply payload needs 1 to %d", n, maxPayload)
		}
		out = append(out, quickReply{ContentType: "text", Title: q.Text, Payload: q.Callback})
	}
	return out
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Lint implements campaign.Channel.
func (c *Channel) Lint(m campaign.Message) []campaign.Problem { return render(m).problems }

// Prepare implements campaign.Channel: the Send API calls that deliver m to
// the recipient by its route. A recipient whose route is no longer open
// (the window closed, the opt-in was stopped) gets a NotAllowed error and
// nothing is sent.
func (c *Channel) Prepare(to campaign.Recipient, m campaign.Message) ([]campaign.Call, error) {
	r, err := c.renders.Get(m, func(m campaign.Message) (*rendering, error) {
		r := render(m)
		if len(r.problems) > 0 {
			return nil, fmt.Errorf("%w: %s", campaign.ErrInvalidMessage, r.problems[0])
		}
		return &r, nil
	})
	if err != nil {
		return nil, err
	}
	body := sendBody{Recipient: recipient{ID: to.Address}}
	method := "me/messages"
	if c.cfg.PageID != "" {
		method = c.cfg.PageID + "/messages"
	}
	msgs, slow := r.msgs, r.slow
	switch to.Route {
	case campaign.RouteStandard:
		if !c.cfg.Now().Before(to.WindowUntil) {
			return nil, &campaign.SendError{Kind: campaign.NotAllowed, Reason: campaign.ReasonOutsideWindow,
				Message: "the subscriber's 24-hour window closed before herald reached them"}
		}
		body.MessagingType = "UPDATE"
	case campaign.RouteTag:
		if to.Tag == "" {
			return nil, fmt.Errorf("%w: the tag route needs the campaign's message tag", campaign.ErrInvalidMessage)
		}
		body.MessagingType, body.Tag = "MESSAGE_TAG", to.Tag
	case campaign.RouteRecurring, campaign.RouteMarketing:
		if to.Token == "" {
			return nil, &campaign.SendError{Kind: campaign.NotAllowed, Reason: "optin_stopped",
				Message: "the subscriber stopped marketing messages after the run was planned"}
		}
		// One notification: the message in one piece.
		body.Recipient = recipient{Token: to.Token}
		msgs, slow = []outMessage{r.compact}, []bool{false}
		if to.Route == campaign.RouteMarketing {
			if method, body, err = c.marketing(body); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("%w: route %q is not a Messenger route", campaign.ErrInvalidMessage, to.Route)
	}
	calls := make([]campaign.Call, len(msgs))
	for i, msg := range msgs {
		body.Message = msg
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		calls[i] = campaign.Call{Method: method, Chat: to.Address, Slow: slow[i], Body: b}
	}
	return calls, nil
}
