package catalog

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/govalues/decimal"
	"golang.org/x/net/html/charset"

	"github.com/heraldcli/herald/sources"
)

// GoogleNamespace is the XML namespace of Google Merchant Center's product
// attributes (g:id, g:price…). Feeds are matched by it, whatever prefix
// they bind to it.
const GoogleNamespace = "http://base.google.com/ns/1.0"

const atomNamespace = "http://www.w3.org/2005/Atom"

// errWrongNamespace is an XML feed whose items have no product attributes
// in GoogleNamespace.
var errWrongNamespace = errors.New("wrong namespace")

func init() {
	formats[GoogleMerchant] = &format{
		first:  asGiven("is not a feed URL: give the address of the Merchant Center feed (https://shop.example.com/feeds/google.xml)"),
		decode: decodeMerchant,
	}
}

// merchantAttributes are the product attributes herald reads (and a few
// more that mark an element as one, for the namespace check).
var merchantAttributes = map[string]bool{
	"id": true, "title": true, "description": true, "link": true, "image_link": true,
	"additional_image_link": true, "price": true, "sale_price": true,
	"sale_price_effective_date": true, "availability": true, "brand": true,
	"product_type": true, "google_product_category": true, "item_group_id": true,
	"gtin": true, "mpn": true, "condition": true,
}

// decodeMerchant reads a Merchant Center feed: XML (RSS 2.0 or Atom) or a
// text feed (tab- or comma-separated), told apart by their first
// character.
func decodeMerchant(p *page, emit func(sources.Item) error) (int, error) {
	fallback := p.Currency
	br := newTextReader(p.Body)
	if err := skipBOM(br, GoogleMerchant); err != nil {
		return 0, err
	}
	head, err := br.Peek(maxHeaderLine)
	if len(head) == 0 && err != nil && err != io.EOF {
		return 0, err
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return 0, &FormatError{Format: GoogleMerchant, Where: "byte 0", Err: errors.New("the feed is empty")}
	case trimmed[0] == '<':
		return decodeMerchantXML(br, p.URL, merchantCtx{fallback, p.Source.now()}, emit)
	case trimmed[0] == '{' || trimmed[0] == '[':
		return 0, &FormatError{Format: GoogleMerchant, Where: "byte 0", Err: errors.New("got JSON: a Merchant Center feed is XML (RSS or Atom) or a tab-separated text file; for a JSON catalog use format: json")}
	}
	return decodeMerchantText(br, p.URL, merchantCtx{fallback, p.Source.now()}, emit)
}

// merchantProduct is one product's attributes as the feed wrote them,
// keyed by attribute name without the g: prefix ("price"), with the name
// each was found under, for errors ("g:price", a column's header).
type merchantProduct struct {
	values map[string]string
	names  map[string]string
}

func (m *merchantProduct) set(attr, name, value string) {
	value = strings.TrimSpace(value)
	if value == "" || m.values[attr] != "" {
		return
	}
	m.values[attr] = value
	m.names[attr] = name
}

func (m *merchantProduct) name(attr string) string {
	if n := m.names[attr]; n != "" {
		return n
	}
	return "g:" + attr
}

// xmlChild is one child element of an <item> or <entry>. Children of
// children (g:shipping's g:price) are not read.
type xmlChild struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
}

type xmlEntry struct {
	Children []xmlChild `xml:",any"`
}

// errorReader remembers the error its reader returned, to tell a failed
// read from a malformed document.
type errorReader struct {
	r   io.Reader
	err error
}

func (e *errorReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

func decodeMerchantXML(r io.Reader, base *url.URL, mc merchantCtx, emit func(sources.Item) error) (int, error) {
	er := &errorReader{r: r}
	d := xml.NewDecoder(er)
	d.CharsetReader = charset.NewReaderLabel
	// Descriptions copied from web pages carry &nbsp; and &eacute;.
	d.Entity = xml.HTMLEntity
	fail := func(err error) error {
		if er.err != nil {
			return er.err
		}
		line, _ := d.InputPos()
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			line = se.Line
			if strings.Contains(se.Msg, "unexpected EOF") {
				err = errors.New("the XML ends early: the download was cut short or the file is truncated")
			} else {
				err = fmt.Errorf("malformed XML: %s", se.Msg)
			}
		}
		return &FormatError{Format: GoogleMerchant, Where: fmt.Sprintf("line %d", line), Err: err}
	}
	entryName, n := "", 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if entryName == "" {
				return n, &FormatError{Format: GoogleMerchant, Err: errors.New("no XML elements in the feed")}
			}
			return n, nil
		}
		if err != nil {
			return n, fail(err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if entryName == "" {
			switch se.Name.Local {
			case "rss":
				entryName = "item"
			case "feed":
				entryName = "entry"
			default:
				line, _ := d.InputPos()
				hint := ""
				if strings.EqualFold(se.Name.Local, "html") {
					hint = ": the URL answers with a web page"
				}
				return n, &FormatError{Format: GoogleMerchant, Where: fmt.Sprintf("line %d", line),
					Err: fmt.Errorf("expected an RSS 2.0 <rss> or Atom <feed> document, found <%s>%s", se.Name.Local, hint)}
			}
			continue
		}
		if se.Name.Local != entryName {
			continue
		}
		line, _ := d.InputPos()
		var entry xmlEntry
		if err := d.DecodeElement(&entry, &se); err != nil {
			return n, fail(err)
		}
		n++
		prod, err := merchantXMLProduct(entry, line)
		if err != nil {
			return n, err
		}
		it, err := merchantItem(prod, productRef{pos: fmt.Sprintf("#%d", n)}, base, mc)
		if err != nil {
			return n, err
		}
		if err := emit(it); err != nil {
			return n, err
		}
	}
}

// merchantXMLProduct reads an item's attributes: the g: elements, and the
// feed's own <title>, <link> and <description> (or Atom's <summary>) where
// the g: ones are missing. An item without any g: element means the feed
// binds g: to the wrong namespace, or is not a product feed at all.
func merchantXMLProduct(entry xmlEntry, line int) (*merchantProduct, error) {
	m := &merchantProduct{values: map[string]string{}, names: map[string]string{}}
	var stray *xml.Name
	hasGoogle := false
	for _, c := range entry.Children {
		switch c.XMLName.Space {
		case GoogleNamespace:
			hasGoogle = true
			m.set(c.XMLName.Local, "g:"+c.XMLName.Local, c.Text)
		case "", atomNamespace:
		default:
			if stray == nil && merchantAttributes[c.XMLName.Local] {
				stray = &c.XMLName
			}
		}
	}
	if !hasGoogle {
		return nil, &FormatError{Format: GoogleMerchant, Where: fmt.Sprintf("line %d", line), Err: wrongNamespace(stray)}
	}
	for _, c := range entry.Children {
		if c.XMLName.Space != "" && c.XMLName.Space != atomNamespace {
			continue
		}
		switch c.XMLName.Local {
		case "title":
			m.set("title", "title", c.Text)
		case "description", "summary", "content":
			m.set("description", c.XMLName.Local, c.Text)
		case "link":
			href, rel := "", ""
			for _, a := range c.Attrs {
				switch a.Name.Local {
				case "href":
					href = a.Value
				case "rel":
					rel = a.Value
				}
			}
			switch {
			case href != "" && (rel == "" || rel == "alternate"):
				m.set("link", "link", href)
			case href == "":
				m.set("link", "link", c.Text)
			}
		}
	}
	return m, nil
}

// wrongNamespace explains an item without Google attributes. stray is a
// product attribute found in another namespace, when there was one.
func wrongNamespace(stray *xml.Name) error {
	switch {
	case stray == nil:
		return fmt.Errorf("%w: the items have no elements in Google's namespace %s (g:id, g:price…): this is an ordinary RSS or Atom feed, not a Merchant Center product feed",
			errWrongNamespace, GoogleNamespace)
	case !strings.Contains(stray.Space, ":"):
		return fmt.Errorf(`%w: the prefix %q of <%s:%s> is not declared: add xmlns:%s="%s" to the feed's root element`,
			errWrongNamespace, stray.Space, stray.Space, stray.Local, stray.Space, GoogleNamespace)
	}
	return fmt.Errorf(`%w: <%s> is in the namespace %q, but Google's product attributes are in %q: correct the feed's xmlns:g declaration`,
		errWrongNamespace, stray.Local, stray.Space, GoogleNamespace)
}

func decodeMerchantText(br *bufio.Reader, base *url.URL, mc merchantCtx, emit func(sources.Item) error) (int, error) {
	d, err := openDelimited(br, GoogleMerchant, []rune{'\t', ',', '|', '~'})
	if err != nil {
		return 0, err
	}
	columns := map[string]int{}
	for i, h := range d.header {
		attr := merchantColumn(h)
		if _, dup := columns[attr]; !dup {
			columns[attr] = i
		}
	}
	for _, required := range []string{"id", "title", "price"} {
		if _, ok := columns[required]; !ok {
			return 0, &FormatError{Format: GoogleMerchant, Where: "line 1", Err: fmt.Errorf(
				"no %s column: the first line names the columns (%s), and a product feed needs id, title and price",
				required, clipText(strings.Join(d.header, ", "), 200))}
		}
	}
	n := 0
	for {
		rec, line, err := d.next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
		m := &merchantProduct{values: map[string]string{}, names: map[string]string{}}
		for i, v := range rec {
			m.set(merchantColumn(d.header[i]), d.header[i], v)
		}
		it, err := merchantItem(m, productRef{pos: fmt.Sprintf("line %d", line), showPos: true}, base, mc)
		if err != nil {
			return n, err
		}
		if err := emit(it); err != nil {
			return n, err
		}
	}
}

// merchantColumn is the attribute a text feed's column header names:
// "g:image_link", "image_link" and "image link" are all image_link.
func merchantColumn(header string) string {
	h := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(header)), "g:")
	return strings.Join(strings.Fields(h), "_")
}

// merchantItem makes the item of one product of a feed. Variants of one
// product share a g:item_group_id: their items share the key "id:" and the
// group id (so that a campaign announces the product once, at its cheapest
// available variant), and keep their own g:id as SKU.
// merchantCtx is what every item of a feed is read with: the currency of
// prices that name none, and the time sale windows are compared with.
type merchantCtx struct {
	currency string
	now      time.Time
}

func merchantItem(m *merchantProduct, ref productRef, base *url.URL, mc merchantCtx) (sources.Item, error) {
	fallback := mc.currency
	v := m.values
	ref.id = v["id"]
	ref.title = sources.PlainTitle(v["title"])
	switch {
	case ref.id == "":
		return sources.Item{}, ref.fail(m.name("id"), "", errMissing("an id"))
	case ref.title == "":
		return sources.Item{}, ref.fail(m.name("title"), v["title"], errMissing("a title"))
	case v["price"] == "":
		return sources.Item{}, ref.fail(m.name("price"), "", errMissing("a price"))
	}
	key := ref.id
	if g := v["item_group_id"]; g != "" {
		key = g
	}
	it := productItem(key)
	it.SKU = ref.id
	it.Title = ref.title
	it.Summary = sources.PlainText(v["description"])
	it.Brand = sources.PlainTitle(v["brand"])

	regular, currency, err := priceIn(v["price"], fallback)
	if err != nil {
		return sources.Item{}, ref.fail(m.name("price"), v["price"], err)
	}
	it.Currency = currency
	var sale decimal.Decimal
	if s := v["sale_price"]; s != "" {
		amount, c, err := priceIn(s, currency)
		switch {
		case err != nil:
			return sources.Item{}, ref.fail(m.name("sale_price"), s, err)
		case c != currency:
			return sources.Item{}, ref.fail(m.name("sale_price"), s, fmt.Errorf("in %s, but %s is in %s", c, m.name("price"), currency))
		}
		sale = amount
		if window := v["sale_price_effective_date"]; window != "" {
			on, err := saleRunning(window, mc.now)
			if err != nil {
				return sources.Item{}, ref.fail(m.name("sale_price_effective_date"), window, err)
			}
			if !on {
				sale = decimal.Decimal{}
			}
		}
	}
	setPrices(&it, regular, sale)

	it.Availability = sources.InStock
	if s := v["availability"]; s != "" {
		if it.Availability, err = ParseAvailability(s); err != nil {
			return sources.Item{}, ref.fail(m.name("availability"), s, err)
		}
	}
	if it.Link, err = webURL(base, v["link"]); err != nil {
		return sources.Item{}, ref.fail(m.name("link"), v["link"], err)
	}
	imageAttr := "image_link"
	if v[imageAttr] == "" {
		imageAttr = "additional_image_link"
	}
	image, _, _ := strings.Cut(v[imageAttr], ",")
	if it.Image, err = webURL(base, image); err != nil {
		return sources.Item{}, ref.fail(m.name(imageAttr), image, err)
	}
	// Category is the shop's own product_type, else Google's category
	// (which may be a number: Google's id for it); Categories has both.
	for _, attr := range []string{"product_type", "google_product_category"} {
		c := sources.PlainTitle(v[attr])
		if c == "" || digitsOnly(c) && it.Category != "" {
			continue
		}
		if it.Category == "" {
			it.Category = c
		}
		if !digitsOnly(c) {
			it.Categories = append(it.Categories, c)
		}
	}
	return it, nil
}

// saleDateLayouts are the ISO 8601 forms Merchant Center feeds write.
var saleDateLayouts = []string{
	time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05-0700", "2006-01-02T15:04-0700",
	"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02",
}

// saleRunning reports whether at falls in a g:sale_price_effective_date
// window, "start/end" in ISO 8601 (a time without a zone is UTC); the end
// may be left out.
func saleRunning(window string, at time.Time) (bool, error) {
	startText, endText, hasEnd := strings.Cut(window, "/")
	parse := func(s string) (time.Time, error) {
		s = strings.TrimSpace(s)
		for _, layout := range saleDateLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				return t, nil
			}
		}
		return time.Time{}, errors.New("not a date range: write start/end, like 2024-02-24T11:07+0100/2024-02-29T23:04+0100")
	}
	start, err := parse(startText)
	if err != nil {
		return false, err
	}
	if at.Before(start) {
		return false, nil
	}
	if !hasEnd || strings.TrimSpace(endText) == "" {
		return true, nil
	}
	end, err := parse(endText)
	if err != nil {
		return false, err
	}
	return at.Before(end), nil
}
