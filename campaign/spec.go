package campaign

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign/schedule"
	"github.com/heraldcli/herald/internal/strictyaml"
	"github.com/heraldcli/herald/sources/catalog"
)

// Mode says how a campaign turns source items into messages.
type Mode string

const (
	// Digest sends one message listing the new items (.Items).
	Digest Mode = "digest"
	// Each sends one message per new item (.Item).
	Each Mode = "each"
	// Static sends the message as written; the campaign has no source.
	Static Mode = "static"
)

// Spec is a campaign file, campaigns/<name>.yaml.
type Spec struct {
	Name string `yaml:"-"`
	File string `yaml:"-"`

	Description string           `yaml:"description"`
	Channels    []string         `yaml:"channels"`
	Audience    audience.Segment `yaml:"audience"`
	Source      *SourceSpec      `yaml:"source"`
	Mode        Mode             `yaml:"mode"`
	MaxItems    int              `yaml:"max_items"`
	// MinItems makes a watched digest wait until this many new items
	// have gathered, or MaxWait has passed since the first.
	MinItems int           `yaml:"min_items"`
	MaxWait  time.Duration `yaml:"max_wait"`
	// Trigger makes the campaign run by itself under herald serve.
	Trigger *TriggerSpec `yaml:"trigger"`
	// On, PriceDrop, Filter and Cooldown configure a catalog source: which
	// changes to a product are news, and which products.
	On        []string       `yaml:"on"`
	PriceDrop *PriceDropSpec `yaml:"price_drop"`
	Filter    *FilterSpec    `yaml:"filter"`
	Cooldown  time.Duration  `yaml:"cooldown"`
	// LocalTime ("09:00") delivers to each subscriber at that time in
	// their own time zone; QuietHours ("21:00-08:00") holds deliveries
	// that would arrive inside until the period ends.
	LocalTime      string   `yaml:"local_time"`
	QuietHours     string   `yaml:"quiet_hours"`
	MaxFailureRate *float64 `yaml:"max_failure_rate"`
	// Purpose is promotional (the default) or utility; a utility campaign
	// names the Messenger message Tag it may use outside the window.
	Purpose Purpose     `yaml:"purpose"`
	Tag     string      `yaml:"tag"`
	Message MessageSpec `yaml:"message"`

	root      *yaml.Node
	localTime *schedule.Clock
	quiet     *schedule.Quiet
	rules     catalog.Rules
}

// PriceDropSpec tunes the price_drop trigger.
type PriceDropSpec struct {
	// MinPercent is the smallest drop announced, in percent.
	MinPercent float64 `yaml:"min_percent"`
}

// FilterSpec narrows the products a catalog campaign announces.
type FilterSpec struct {
	Category []string `yaml:"category"`
	Brand    []string `yaml:"brand"`
	Keywords []string `yaml:"keywords"`
	MinPrice string   `yaml:"min_price"`
	MaxPrice string   `yaml:"max_price"`
}

// Purpose says what a campaign's messages are, which decides the routes
// Messenger allows for them.
type Purpose string

const (
	// Promotional messages (the default) go only inside the messaging
	// window or through a marketing opt-in.
	Promotional Purpose = "promotional"
	// Utility messages (an account, order or event update) may also use
	// their message tag outside the window.
	Utility Purpose = "utility"
)

// SourceSpec says where a campaign's content comes from.
type SourceSpec struct {
	Type string `yaml:"type"` // rss or catalog
	URL  string `yaml:"url"`  // a URL, or a file path relative to the workspace
	// Backfill is how many of the newest items the campaign's first run
	// treats as new; the rest count as already seen.
	Backfill *int `yaml:"backfill"`
	// Format is a catalog's format (catalog.Formats); Fields and Items map
	// a csv or json catalog; Currency is the currency of prices that name
	// none.
	Format   string            `yaml:"format"`
	Fields   map[string]string `yaml:"fields"`
	Items    string            `yaml:"items"`
	Currency string            `yaml:"currency"`
}

// Catalog reports whether the source is a product catalog.
func (s *SourceSpec) Catalog() bool { return s != nil && s.Type == "catalog" }

// MessageSpec is the message template. Every field is a Go text/template.
type MessageSpec struct {
	Text    string       `yaml:"text"`
	Image   string       `yaml:"image"`
	Video   string       `yaml:"video"`
	Audio   string       `yaml:"audio"`
	File    string       `yaml:"file"`
	Gallery []string     `yaml:"gallery"`
	Buttons []ButtonSpec `yaml:"buttons"`
	// Cards is a product card template, rendered once per item (.Item is
	// that item); Layout says how Telegram shows them (CardLayout).
	Cards  *CardSpec `yaml:"cards"`
	Layout string    `yaml:"layout"`
	// QuickReplies are reply suggestions shown under the message, a
	// Messenger feature: Telegram sends the message without them.
	QuickReplies []QuickReplySpec `yaml:"quick_replies"`
	LinkPreview  *bool            `yaml:"link_preview"`
}

// CardSpec is the template of one product card. Every field is a Go
// text/template.
type CardSpec struct {
	Title    string       `yaml:"title"`
	Subtitle string       `yaml:"subtitle"`
	Image    string       `yaml:"image"`
	Link     string       `yaml:"link"`
	Buttons  []ButtonSpec `yaml:"buttons"`
}

// QuickReplySpec is one quick reply: the text shown and the payload herald
// receives when it is tapped.
type QuickReplySpec struct {
	Text    string `yaml:"text"`
	Payload string `yaml:"payload"`
}

// ButtonSpec is one button template: text and exactly one of url or callback.
type ButtonSpec struct {
	Text     string `yaml:"text"`
	URL      string `yaml:"url"`
	Callback string `yaml:"callback"`
}

// SpecError is a problem in a campaign file, with where it is.
type SpecError = strictyaml.Error

// SpecErrors is every problem found in one or more campaign files.
type SpecErrors []*SpecError

func (es SpecErrors) Error() string { return strictyaml.Errors(es).Error() }

// ErrInvalidSpec is wrapped by every error about a campaign's content.
var ErrInvalidSpec = errors.New("invalid campaign")

func (es SpecErrors) Unwrap() error { return ErrInvalidSpec }

// maxCards is the most cards one message shows on every platform.
const maxCards = 10

// Defaults applied when a campaign leaves them out.
const (
	DefaultMaxItems       = 5
	DefaultMaxFailureRate = 0.05
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// LoadSpec reads and validates the campaign file at path. knownChannels are
// the channels this herald can send on. Errors are SpecErrors with file:line.
func LoadSpec(path string, knownChannels []string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read campaign: %w", err)
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return ParseSpec(path, name, b, knownChannels)
}

// ParseSpec decodes and validates a campaign file's bytes.
func ParseSpec(file, name string, b []byte, knownChannels []string) (*Spec, error) {
	spec := &Spec{}
	root, err := strictyaml.Decode(file, b, spec, "campaign")
	if err != nil {
		return nil, specErrors(err)
	}
	if root == nil {
		return nil, SpecErrors{{File: file, Line: 1, Msg: "the campaign file is empty: it needs at least channels: and message:"}}
	}
	spec.Name, spec.File, spec.root = name, file, root
	errs := &errList{file: file}
	if !nameRE.MatchString(name) {
		errs.add(0, "campaign name %q (from the file name) must be lower-case letters, digits, - and _, starting with a letter or digit", name)
	}
	spec.validate(knownChannels, errs)
	if len(errs.list) > 0 {
		return nil, errs.list
	}
	return spec, nil
}

func specErrors(err error) error {
	var es strictyaml.Errors
	if !errors.As(err, &es) {
		return err
	}
	return SpecErrors(es)
}

type errList struct {
	file string
	list SpecErrors
}

func (e *errList) add(line int, format string, args ...any) {
	e.list = append(e.list, &SpecError{File: e.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// Line returns the line of the value at a dotted key path in the campaign
// file ("message.text", "message.buttons.1.url"), or the nearest parent's.
func (s *Spec) Line(path string) int {
	n := s.node(path)
	if n == nil {
		return 0
	}
	return n.Line
}

func (s *Spec) node(path string) *yaml.Node { return strictyaml.Lookup(s.root, path) }

// textLine maps a line inside a template field to a line in the file.
func (s *Spec) textLine(path string, tmplLine int) int {
	n := s.node(path)
	if n == nil {
		return 0
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Line + tmplLine
	}
	return n.Line
}

func (s *Spec) validate(known []string, errs *errList) {
	if len(s.Channels) == 0 {
		errs.add(s.Line("channels"), "channels: list at least one channel (%s)", strings.Join(known, ", "))
	}
	for i, c := range s.Channels {
		if !slices.Contains(known, c) {
			errs.add(s.Line(fmt.Sprintf("channels.%d", i)), "channels: unknown channel %q (herald can send on: %s)", c, strings.Join(known, ", "))
		}
	}
	if s.Mode == "" {
		s.Mode = Static
		if s.Source != nil {
			s.Mode = Digest
		}
	}
	switch s.Mode {
	case Digest, Each:
		if s.Source == nil {
			errs.add(s.Line("mode"), "mode %s needs a source: (or use mode: static)", s.Mode)
		}
	case Static:
		if s.Source != nil {
			errs.add(s.Line("mode"), "mode static sends no source items: remove source:, or use mode digest or each")
		}
	default:
		errs.add(s.Line("mode"), "mode %q: use digest, each or static", s.Mode)
	}
	if src := s.Source; src != nil {
		if src.Type == "" {
			src.Type = "rss"
		}
		switch src.Type {
		case "rss":
			s.onlyForCatalogs(errs, "source.%s is for catalogs: set source.type: catalog, or remove it",
				setting{"source.format", src.Format != ""}, setting{"source.fields", src.Fields != nil},
				setting{"source.items", src.Items != ""}, setting{"source.currency", src.Currency != ""})
		case "catalog":
			s.validateCatalog(errs)
		default:
			errs.add(s.Line("source.type"), "source.type %q: herald reads rss (RSS, Atom and JSON Feed) and catalog (%s)", src.Type, strings.Join(catalog.Formats, ", "))
		}
		if strings.TrimSpace(src.URL) == "" {
			errs.add(s.Line("source"), "source.url is required: a URL or a file path")
		}
		if src.Backfill != nil && *src.Backfill < 0 {
			errs.add(s.Line("source.backfill"), "source.backfill must be 0 or more")
		}
	}
	if !s.Source.Catalog() {
		s.onlyForCatalogs(errs, "%s: is for catalog sources (source: {type: catalog, …}): remove it",
			setting{"on", s.On != nil}, setting{"price_drop", s.PriceDrop != nil},
			setting{"filter", s.Filter != nil}, setting{"cooldown", s.Cooldown != 0})
	}
	if s.MaxItems == 0 {
		s.MaxItems = DefaultMaxItems
	}
	if s.MaxItems < 0 || s.MaxItems > 100 {
		errs.add(s.Line("max_items"), "max_items must be between 1 and 100")
	}
	if r := s.MaxFailureRate; r != nil && (*r < 0 || *r > 1) {
		errs.add(s.Line("max_failure_rate"), "max_failure_rate must be between 0 and 1 (0.05 is 5%%)")
	}
	s.validatePurpose(errs)
	s.validateSchedule(errs)
	s.Message.validate(s, errs)
}

func (s *Spec) validatePurpose(errs *errList) {
	switch s.Purpose {
	case "":
		s.Purpose = Promotional
	case Promotional, Utility:
	default:
		errs.add(s.Line("purpose"), "purpose %q: use promotional (the default) or utility", s.Purpose)
		return
	}
	switch {
	case s.Purpose == Promotional && s.Tag != "":
		errs.add(s.Line("tag"), "tag %s: a message tag may never carry promotional content; remove tag:, "+
			"or set purpose: utility if every message of this campaign is an account, order or event update", s.Tag)
	case s.Purpose == Utility && s.Tag == "":
		errs.add(s.Line("purpose"), "purpose utility needs a Messenger message tag: tag: %s", strings.Join(UtilityTags, ", or "))
	case s.Purpose == Utility && s.Tag == "HUMAN_AGENT":
		errs.add(s.Line("tag"), "tag HUMAN_AGENT is for a person answering a conversation, never for a campaign: use %s", strings.Join(UtilityTags, ", "))
	case s.Purpose == Utility && !slices.Contains(UtilityTags, s.Tag):
		errs.add(s.Line("tag"), "tag %q: use one of %s", s.Tag, strings.Join(UtilityTags, ", "))
	}
}

// Routes is the route policy of the campaign's runs, given whether the
// workspace enables the Marketing Messages API.
func (s *Spec) Routes(marketing bool) RoutePolicy {
	p := RoutePolicy{Marketing: marketing}
	if s.Purpose == Utility {
		p.Tag = s.Tag
	}
	return p
}

func (m *MessageSpec) validate(s *Spec, errs *errList) {
	media := 0
	for _, f := range []string{m.Image, m.Video, m.Audio, m.File} {
		if f != "" {
			media++
		}
	}
	if len(m.Gallery) > 0 {
		media++
		if len(m.Gallery) < 2 || len(m.Gallery) > 10 {
			errs.add(s.Line("message.gallery"), "message.gallery takes 2 to 10 images, not %d", len(m.Gallery))
		}
	}
	if media > 1 {
		errs.add(s.Line("message"), "message: use one of image, video, audio, file or gallery")
	}
	if strings.TrimSpace(m.Text) == "" && media == 0 && m.Cards == nil {
		errs.add(s.Line("message"), "message needs text, media, or both")
	}
	validateButtons(s, errs, "message.buttons", m.Buttons)
	if c := m.Cards; c != nil {
		switch {
		case s.Source == nil:
			errs.add(s.Line("message.cards"), "message.cards renders one card per item: the campaign needs a source")
		case media > 0 || len(m.Buttons) > 0:
			errs.add(s.Line("message.cards"), "message.cards: a message with cards has no image, video, audio, file, gallery or buttons of its own; put buttons in the card")
		}
		if s.Mode == Digest && s.MaxItems > maxCards {
			errs.add(s.Line("max_items"), "max_items %d: a message shows at most %d cards (a Messenger carousel, a Telegram album); "+
				"set max_items: %d or less, or use mode: each", s.MaxItems, maxCards, maxCards)
		}
		if strings.TrimSpace(c.Title) == "" {
			errs.add(s.Line("message.cards"), "message.cards.title is required: every card needs a title, e.g. \"{{ .Item.Title }}\"")
		}
		validateButtons(s, errs, "message.cards.buttons", c.Buttons)
	}
	switch CardLayout(m.Layout) {
	case "", CardsEach, CardsAlbum:
		if m.Layout != "" && m.Cards == nil {
			errs.add(s.Line("message.layout"), "message.layout says how Telegram shows cards: it needs message.cards")
		}
	default:
		errs.add(s.Line("message.layout"), "message.layout %q: use each (a photo per card) or album (one album and a list)", m.Layout)
	}
	if len(m.QuickReplies) > 13 {
		errs.add(s.Line("message.quick_replies"), "message.quick_replies: at most 13 (%d given)", len(m.QuickReplies))
	}
	for i, q := range m.QuickReplies {
		p := fmt.Sprintf("message.quick_replies.%d", i)
		if strings.TrimSpace(q.Text) == "" || strings.TrimSpace(q.Payload) == "" {
			errs.add(s.Line(p), "%s: a quick reply needs text and payload", p)
		}
	}
	if _, err := compileMessage(s); err != nil {
		var te *templateError
		if errors.As(err, &te) {
			errs.add(te.line, "%s", te.msg)
		} else {
			errs.add(s.Line("message"), "%s", err)
		}
	}
}

// setting is a campaign key and whether the file sets it.
type setting struct {
	key string
	set bool
}

// onlyForCatalogs reports each key that is set on a campaign whose source
// is not a catalog; format names the key with its last path element.
func (s *Spec) onlyForCatalogs(errs *errList, format string, keys ...setting) {
	for _, k := range keys {
		if k.set {
			errs.add(s.Line(k.key), format, k.key[strings.LastIndex(k.key, ".")+1:])
		}
	}
}

// validateButtons checks the button templates at path.
func validateButtons(s *Spec, errs *errList, path string, buttons []ButtonSpec) {
	if len(buttons) > 3 {
		errs.add(s.Line(path), "%s: at most 3 buttons (%d given)", path, len(buttons))
	}
	for i, b := range buttons {
		p := fmt.Sprintf("%s.%d", path, i)
		if strings.TrimSpace(b.Text) == "" {
			errs.add(s.Line(p), "%s: a button needs text", p)
		}
		if (b.URL == "") == (b.Callback == "") {
			errs.add(s.Line(p), "%s: a button needs exactly one of url or callback", p)
		}
	}
}
