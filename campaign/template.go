package campaign

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
	"unicode/utf8"

	"github.com/heraldcli/herald/campaign/markup"
	"github.com/heraldcli/herald/sources"
)

// TemplateData is what message templates see.
type TemplateData struct {
	// Items are the run's items: newest first in a digest; the one item in
	// mode each.
	Items []sources.Item
	// Item is the item of this message in mode each, the newest in a digest.
	Item       sources.Item
	Subscriber SubscriberData
	Campaign   CampaignData
	Now        time.Time
}

// SubscriberData is the subscriber as templates see it.
type SubscriberData struct {
	Name     string
	Locale   string
	Timezone string
	Tags     []string
}

// CampaignData is the campaign as templates see it.
type CampaignData struct {
	Name        string
	Description string
}

// Markup is text already in herald's Markdown subset; the markdown template
// helper returns it so that its value is not escaped.
type Markup string

const escapeFunc = "_heraldEscape"

var funcs = template.FuncMap{
	"truncate": func(n int, s string) string {
		if utf8.RuneCountInString(s) <= n {
			return s
		}
		if n <= 1 {
			return string([]rune(s)[:max(n, 0)])
		}
		return strings.TrimRightFunc(string([]rune(s)[:n-1]), func(r rune) bool { return r == ' ' }) + "…"
	},
	"date": func(layout string, t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(layout)
	},
	"default": func(def string, v any) any {
		if v == nil || fmt.Sprint(v) == "" {
			return def
		}
		return v
	},
	"upper":    strings.ToUpper,
	"lower":    strings.ToLower,
	"join":     func(sep string, v []string) string { return strings.Join(v, sep) },
	"markdown": func(s string) Markup { return Markup(s) },
	moneyFunc:  unboundMoney,
	escapeFunc: func(v any) string {
		if m, ok := v.(Markup); ok {
			return string(m)
		}
		return markup.Escape(fmt.Sprint(v))
	},
}

// compiled holds a campaign's parsed message templates.
type compiled struct {
	text    *template.Template
	media   MediaKind
	media1  *template.Template
	gallery []*template.Template
	buttons []compiledButton
	quick   []compiledButton
	cards   *compiledCard
	layout  CardLayout
	// money are the templates that call money; localized holds them bound
	// to each locale met so far.
	money     map[*template.Template]bool
	localized localeTemplates
	preview   bool
	personal  bool // some template reads .Subscriber: render per subscriber
}

type compiledButton struct {
	text, url, callback *template.Template
}

type compiledCard struct {
	title, subtitle, image, link *template.Template
	buttons                      []compiledButton
}

type templateError struct {
	line int
	msg  string
}

func (e *templateError) Error() string { return e.msg }

var (
	tmplErrRE = regexp.MustCompile(`^template: ([^:]+):(\d+)(?::\d+)?: (.*)$`)
	startedRE = regexp.MustCompile(`started at [^:]+:(\d+)`)
)

// wrapTemplateError turns a text/template error into one that names the
// campaign field and the line in the campaign file.
func (s *Spec) wrapTemplateError(path string, err error) error {
	msg := err.Error()
	line := s.Line(path)
	if m := tmplErrRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[2])
		msg = m[3]
		if st := startedRE.FindStringSubmatch(msg); st != nil {
			n, _ = strconv.Atoi(st[1]) // where the broken action began
		}
		line = s.textLine(path, n)
		msg = strings.ReplaceAll(msg, "campaign.TemplateData", "the template data (.Items, .Item, .Subscriber, .Campaign, .Now)")
		msg = strings.ReplaceAll(msg, "sources.Item", "an item (.Title, .Link, .Summary, .Image, .Author, .Published, .Updated, .Categories; "+
			"products also .SKU, .Price, .SalePrice, .Effective, .Currency, .Availability, .Brand, .Category, .Discount, .Change)")
		msg = strings.ReplaceAll(msg, "campaign.SubscriberData", "the subscriber (.Name, .Locale, .Timezone, .Tags)")
	}
	return &templateError{line: line, msg: fmt.Sprintf("%s: template: %s", path, msg)}
}

func compileMessage(s *Spec) (*compiled, error) {
	m := s.Message
	c := &compiled{preview: m.LinkPreview == nil || *m.LinkPreview, money: map[*template.Template]bool{}}
	parseField := func(path, src string, escape bool) (*template.Template, error) {
		t, err := template.New(path).Funcs(funcs).Option("missingkey=error").Parse(src)
		if err != nil {
			return nil, s.wrapTemplateError(path, err)
		}
		for _, tt := range t.Templates() {
			if tt.Tree == nil {
				continue
			}
			if escape {
				escapeActions(tt.Tree.Root)
			}
			if callsMoney(tt.Tree.Root) {
				c.personal = true
				c.money[t] = true
			}
			if strings.Contains(tt.Tree.Root.String(), "Subscriber") {
				c.personal = true
			}
		}
		return t, nil
	}
	var err error
	if c.text, err = parseField("message.text", m.Text, true); err != nil {
		return nil, err
	}
	for kind, src := range map[MediaKind]string{Image: m.Image, Video: m.Video, Audio: m.Audio, File: m.File} {
		if src == "" {
			continue
		}
		c.media = kind
		if c.media1, err = parseField("message."+string(kind), src, false); err != nil {
			return nil, err
		}
	}
	for i, g := range m.Gallery {
		t, err := parseField(fmt.Sprintf("message.gallery.%d", i), g, false)
		if err != nil {
			return nil, err
		}
		c.gallery = append(c.gallery, t)
	}
	if c.buttons, err = compileButtons(parseField, "message.buttons", m.Buttons); err != nil {
		return nil, err
	}
	if m.Cards != nil {
		c.layout = CardLayout(m.Layout)
		c.cards = &compiledCard{}
		for _, f := range []struct {
			path, src string
			to        **template.Template
		}{
			{"message.cards.title", m.Cards.Title, &c.cards.title},
			{"message.cards.subtitle", m.Cards.Subtitle, &c.cards.subtitle},
			{"message.cards.image", m.Cards.Image, &c.cards.image},
			{"message.cards.link", m.Cards.Link, &c.cards.link},
		} {
			if *f.to, err = parseField(f.path, f.src, false); err != nil {
				return nil, err
			}
		}
		if c.cards.buttons, err = compileButtons(parseField, "message.cards.buttons", m.Cards.Buttons); err != nil {
			return nil, err
		}
	}
	for i, q := range m.QuickReplies {
		p := fmt.Sprintf("message.quick_replies.%d", i)
		var cb compiledButton
		if cb.text, err = parseField(p+".text", q.Text, false); err != nil {
			return nil, err
		}
		if cb.callback, err = parseField(p+".payload", q.Payload, false); err != nil {
			return nil, err
		}
		c.quick = append(c.quick, cb)
	}
	return c, nil
}

// compileButtons parses button templates found at path.
func compileButtons(parseField func(path, src string, escape bool) (*template.Template, error), path string, in []ButtonSpec) ([]compiledButton, error) {
	var out []compiledButton
	for i, b := range in {
		p := fmt.Sprintf("%s.%d", path, i)
		var cb compiledButton
		var err error
		if cb.text, err = parseField(p+".text", b.Text, false); err != nil {
			return nil, err
		}
		if b.URL != "" {
			if cb.url, err = parseField(p+".url", b.URL, false); err != nil {
				return nil, err
			}
		}
		if b.Callback != "" {
			if cb.callback, err = parseField(p+".callback", b.Callback, false); err != nil {
				return nil, err
			}
		}
		out = append(out, cb)
	}
	return out, nil
}

// escapeActions appends the escaper to every action that prints, so every
// interpolated value is literal text in the Markdown subset.
func escapeActions(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			escapeActions(c)
		}
	case *parse.ActionNode:
		if len(n.Pipe.Decl) > 0 {
			return // an assignment prints nothing
		}
		n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{
			NodeType: parse.NodeCommand,
			Pos:      n.Pos,
			Args:     []parse.Node{parse.NewIdentifier(escapeFunc).SetPos(n.Pos)},
		})
	case *parse.IfNode:
		escapeActions(n.List)
		escapeActions(n.ElseList)
	case *parse.RangeNode:
		escapeActions(n.List)
		escapeActions(n.ElseList)
	case *parse.WithNode:
		escapeActions(n.List)
		escapeActions(n.ElseList)
	}
}

// maxRendered caps one field's rendering: far above any platform's limit,
// low enough that a runaway template ({{ range 1000000000 }}) fails fast
// instead of filling memory.
const maxRendered = 1 << 20

var errTooLarge = fmt.Errorf("renders to more than %d bytes", maxRendered)

// cappedBuffer is a bytes.Buffer that refuses to grow past maxRendered.
type cappedBuffer struct{ bytes.Buffer }

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxRendered {
		return 0, errTooLarge
	}
	return b.Buffer.Write(p)
}

// exec executes one of c's templates for data, with money bound to the
// subscriber's locale when the template calls it.
func (c *compiled) exec(s *Spec, t *template.Template, data *TemplateData) (string, error) {
	if c.money[t] {
		bound, err := c.localized.forLocale(t, data.Subscriber.Locale)
		if err != nil {
			return "", err
		}
		t = bound
	}
	var buf cappedBuffer
	if err := t.Execute(&buf, data); err != nil {
		if errors.Is(err, errTooLarge) {
			return "", &templateError{line: s.Line(t.Name()), msg: fmt.Sprintf("%s: template %s", t.Name(), errTooLarge)}
		}
		return "", s.wrapTemplateError(t.Name(), err)
	}
	return buf.String(), nil
}

// render executes the message templates for data.
func (c *compiled) render(s *Spec, data *TemplateData) (Message, error) {
	var m Message
	var err error
	if m.Text, err = c.exec(s, c.text, data); err != nil {
		return m, err
	}
	m.Text = strings.TrimSpace(m.Text)
	m.DisableLinkPreview = !c.preview
	if c.media1 != nil {
		u, err := c.exec(s, c.media1, data)
		if err != nil {
			return m, err
		}
		if u = strings.TrimSpace(u); u != "" {
			m.Media = []Media{{Kind: c.media, URL: u}}
		}
	}
	for _, g := range c.gallery {
		u, err := c.exec(s, g, data)
		if err != nil {
			return m, err
		}
		if u = strings.TrimSpace(u); u != "" {
			m.Media = append(m.Media, Media{Kind: Image, URL: u})
		}
	}
	if m.Buttons, err = c.renderButtons(s, c.buttons, data); err != nil {
		return m, err
	}
	if c.cards != nil {
		m.CardLayout = c.layout
		for _, it := range data.Items {
			cd := *data
			cd.Item = it
			card, err := c.renderCard(s, &cd)
			if err != nil {
				return m, err
			}
			m.Cards = append(m.Cards, card)
		}
	}
	for _, q := range c.quick {
		var out Button
		if out.Text, err = c.exec(s, q.text, data); err != nil {
			return m, err
		}
		if out.Callback, err = c.exec(s, q.callback, data); err != nil {
			return m, err
		}
		out.Text, out.Callback = strings.TrimSpace(out.Text), strings.TrimSpace(out.Callback)
		m.QuickReplies = append(m.QuickReplies, out)
	}
	return m, nil
}

// renderButtons executes button templates; a url button whose url renders
// empty (an item without a link) is left out.
func (c *compiled) renderButtons(s *Spec, in []compiledButton, data *TemplateData) ([]Button, error) {
	var out []Button
	for _, b := range in {
		var btn Button
		var err error
		if btn.Text, err = c.exec(s, b.text, data); err != nil {
			return nil, err
		}
		if b.url != nil {
			if btn.URL, err = c.exec(s, b.url, data); err != nil {
				return nil, err
			}
			if btn.URL = strings.TrimSpace(btn.URL); btn.URL == "" {
				continue
			}
		}
		if b.callback != nil {
			if btn.Callback, err = c.exec(s, b.callback, data); err != nil {
				return nil, err
			}
		}
		btn.Text = strings.TrimSpace(btn.Text)
		out = append(out, btn)
	}
	return out, nil
}

// renderCard executes the card templates for one item (data.Item).
func (c *compiled) renderCard(s *Spec, data *TemplateData) (Card, error) {
	var card Card
	for _, f := range []struct {
		t  *template.Template
		to *string
	}{{c.cards.title, &card.Title}, {c.cards.subtitle, &card.Subtitle}, {c.cards.image, &card.Image}, {c.cards.link, &card.Link}} {
		v, err := c.exec(s, f.t, data)
		if err != nil {
			return card, err
		}
		*f.to = strings.TrimSpace(v)
	}
	var err error
	card.Buttons, err = c.renderButtons(s, c.cards.buttons, data)
	return card, err
}
