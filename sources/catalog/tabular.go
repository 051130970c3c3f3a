package catalog

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/govalues/decimal"

	"github.com/heraldcli/herald/sources"
)

func init() {
	const hint = "is not a URL: give the file's https:// address or a path on disk"
	formats[CSV] = &format{first: asGiven(hint), decode: decodeCSV}
	formats[JSON] = &format{first: asGiven(hint), decode: decodeJSON}
}

// asGiven is the first page of a single-document format: its URL, checked
// and fetched as given; a URL that is not one is refused with hint.
func asGiven(hint string) func(raw string) (string, error) {
	return func(raw string) (string, error) {
		u, err := apiURL(raw)
		if err != nil {
			return "", fmt.Errorf("%q %s", raw, hint)
		}
		return u.String(), nil
	}
}

// requiredFields are the herald fields every csv or json product needs.
var requiredFields = []string{"id", "title", "price"}

// decodeCSV reads a CSV file: a header line of column names, then a product
// per line. The delimiter is the one the header uses most among comma,
// semicolon and tab. Each herald field reads the column fields: maps it to,
// or else the column of its own name, if there is one.
func decodeCSV(p *page, emit func(sources.Item) error) (int, error) {
	fallback := p.Currency
	d, err := openDelimited(newTextReader(p.Body), CSV, []rune{',', ';', '\t'})
	if err != nil {
		return 0, err
	}
	columns := map[string]int{}
	header := func() string { return clipText(strings.Join(d.header, ", "), 200) }
	for _, field := range FieldNames {
		name, mapped := p.Source.Fields[field]
		if !mapped {
			name = field
		}
		i := d.column(name)
		switch {
		case i >= 0:
			columns[field] = i
		case mapped:
			return 0, &FormatError{Format: CSV, Where: "line 1", Err: fmt.Errorf(
				"fields: maps %s to the column %q, which the header does not have (its columns: %s)", field, name, header())}
		}
	}
	for _, field := range requiredFields {
		if _, ok := columns[field]; !ok {
			return 0, &FormatError{Format: CSV, Where: "line 1", Err: fmt.Errorf(
				"no %s column (the columns are %s): name the column that holds it with fields: {%s: <column>}", field, header(), field)}
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
		values, names := map[string]string{}, map[string]string{}
		for field, i := range columns {
			values[field] = strings.TrimSpace(rec[i])
			names[field] = d.header[i]
		}
		it, err := tabularItem(values, names, productRef{pos: "line " + strconv.Itoa(line), showPos: true}, p.URL, fallback)
		if err != nil {
			return n, err
		}
		if err := emit(it); err != nil {
			return n, err
		}
	}
}

// decodeJSON reads a JSON document whose product list is at the items:
// path ("" for a document that is the list), one product at a time. Each
// herald field reads the path fields: maps it to, or else the product's
// key of its own name, if there is one.
func decodeJSON(p *page, emit func(sources.Item) error) (int, error) {
	fallback := p.Currency
	js, err := newJSONStream(p.Body, JSON, "for a Merchant Center XML feed use format: google_merchant")
	if err != nil {
		return 0, err
	}
	var path []string
	if p.Source.Items != "" {
		path = strings.Split(p.Source.Items, ".")
	}
	if err := js.descend(path, p.Source.Items); err != nil {
		return 0, err
	}
	n := 0
	for js.more() {
		v, err := js.value()
		if err != nil {
			return n, err
		}
		n++
		it, err := jsonItem(v, n, p.Source.Fields, p.URL, fallback)
		if err != nil {
			return n, err
		}
		if err := emit(it); err != nil {
			return n, err
		}
	}
	// Read to the end of the document: one cut off after the product
	// list is truncated all the same.
	for depth := len(path) + 1; depth > 0; {
		t, err := js.token()
		if err != nil {
			return n, err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return n, js.end()
}

// descend reads the document down to the product list at path, leaving
// the stream just inside its "[". items is the setting as written, for
// errors.
func (s *jsonStream) descend(path []string, items string) error {
	for i, seg := range path {
		at := s.offset()
		here := "the top of the document"
		if i > 0 {
			here = strconv.Quote(strings.Join(path[:i], "."))
		}
		t, err := s.token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'):
			keys, found, err := s.findKey(seg)
			if err != nil {
				return err
			}
			if !found {
				return s.formatError(at, fmt.Errorf("items: %s: %s has no key %q (its keys: %s)", items, here, seg, quoteKeys(keys)))
			}
		case json.Delim('['):
			index, err := strconv.Atoi(seg)
			if err != nil || index < 0 {
				return s.formatError(at, fmt.Errorf("items: %s: %s is a list, so the path needs a position there (like %s.0), not %q", items, here, strings.Join(path[:i], "."), seg))
			}
			j := 0
			for ; j < index && s.more(); j++ {
				if err := s.skip(); err != nil {
					return err
				}
			}
			if !s.more() {
				return s.formatError(at, fmt.Errorf("items: %s: the list at %s has only %d elements", items, here, j))
			}
		default:
			return s.formatError(at, fmt.Errorf("items: %s: %s is %s, not an object", items, here, describeToken(t)))
		}
	}
	at := s.offset()
	t, err := s.token()
	if err != nil {
		return err
	}
	switch t {
	case json.Delim('['):
		return nil
	case json.Delim('{'):
		keys, _, err := s.findKey("")
		if err != nil {
			return err
		}
		if items == "" {
			return s.formatError(at, fmt.Errorf("the document is an object, not a list of products: set items: to the path of the list (its keys: %s)", quoteKeys(keys)))
		}
		return s.formatError(at, fmt.Errorf("items: %s is an object, not a list of products (its keys: %s)", items, quoteKeys(keys)))
	}
	if items == "" {
		return s.formatError(at, fmt.Errorf("the document is %s, not a list of products", describeToken(t)))
	}
	return s.formatError(at, fmt.Errorf("items: %s is %s, not a list of products", items, describeToken(t)))
}

// findKey reads an object's keys, skipping their values, until key; the
// stream is left at key's value. keys are the ones passed over.
func (s *jsonStream) findKey(key string) (keys []string, found bool, err error) {
	for s.more() {
		t, err := s.token()
		if err != nil {
			return keys, false, err
		}
		k, _ := t.(string)
		if key != "" && k == key {
			return keys, true, nil
		}
		keys = append(keys, k)
		if err := s.skip(); err != nil {
			return keys, false, err
		}
	}
	return keys, false, nil
}

func quoteKeys(keys []string) string {
	if len(keys) == 0 {
		return "none"
	}
	quoted := make([]string, 0, min(len(keys), 10))
	for _, k := range keys[:min(len(keys), 10)] {
		quoted = append(quoted, strconv.Quote(k))
	}
	if len(keys) > 10 {
		quoted = append(quoted, "…")
	}
	return strings.Join(quoted, ", ")
}

// jsonItem makes the item of the n-th product of a json catalog.
func jsonItem(v any, n int, fields Fields, base *url.URL, fallback string) (sources.Item, error) {
	ref := productRef{pos: "#" + strconv.Itoa(n)}
	obj, ok := v.(map[string]any)
	if !ok {
		return sources.Item{}, ref.fail(strconv.Itoa(n-1), "", fmt.Errorf("is %s, not a product object", describeValue(v)))
	}
	values, names := map[string]string{}, map[string]string{}
	var missing []string // required fields the product lacks
	var categories []string
	for _, field := range FieldNames {
		path, mapped := fields[field]
		if !mapped {
			path = field
		}
		names[field] = path
		raw, ok := jsonLookup(obj, path)
		if !ok {
			if slices.Contains(requiredFields, field) {
				missing = append(missing, field)
			}
			continue
		}
		if list, ok := raw.([]any); ok && field == "category" {
			// A list of categories: the first is the product's category.
			cats, err := jsonTexts(list)
			if err != nil {
				return sources.Item{}, ref.fail(path, "", err)
			}
			categories = cats
			if len(cats) > 0 {
				values[field] = cats[0]
			}
			continue
		}
		if num, ok := raw.(json.Number); ok && strings.ContainsAny(string(num), "eE") && (field == "price" || field == "sale_price") {
			// A JSON number may be written 1.5e2; written plainly, it is
			// read (and checked for exactness) like any price.
			if d, err := decimal.Parse(num.String()); err == nil {
				raw = d.String()
			}
		}
		s, err := jsonText(raw)
		if err != nil {
			ref.id, ref.title = values["id"], sources.PlainTitle(values["title"])
			if field == "price" || field == "sale_price" {
				err = fmt.Errorf("%w: map the field inside it, like %s.amount", err, path)
			}
			return sources.Item{}, ref.fail(path, "", err)
		}
		values[field] = strings.TrimSpace(s)
	}
	ref.id = values["id"]
	ref.title = sources.PlainTitle(values["title"])
	if len(missing) > 0 {
		field := missing[0]
		if _, mapped := fields[field]; mapped {
			return sources.Item{}, ref.fail(names[field], "", fmt.Errorf("not in this product (fields: maps %s to it)", field))
		}
		return sources.Item{}, ref.fail(field, "", fmt.Errorf("no such key in this product: map herald's %s to the key that holds it, with fields: {%s: <path>}", field, field))
	}
	it, err := tabularItem(values, names, ref, base, fallback)
	it.Categories = categories
	return it, err
}

// jsonTexts reads a list of values (["Shoes", "Running"]) as trimmed,
// non-empty titles.
func jsonTexts(list []any) ([]string, error) {
	var out []string
	for _, v := range list {
		s, err := jsonText(v)
		if err != nil {
			return nil, fmt.Errorf("holds %s: the list must hold text", describeValue(v))
		}
		if s = sources.PlainTitle(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// tabularItem makes the item of a csv or json product from its values by
// herald field; names are the columns or paths they came from, for errors.
// A product without availability is in stock; prices take their currency
// from the currency field, else the price text, else source.currency.
func tabularItem(values, names map[string]string, ref productRef, base *url.URL, fallback string) (sources.Item, error) {
	ref.id = values["id"]
	ref.title = sources.PlainTitle(values["title"])
	name := func(field string) string {
		if n := names[field]; n != "" {
			return n
		}
		return field
	}
	switch {
	case ref.id == "":
		return sources.Item{}, ref.fail(name("id"), "", errMissing("an id"))
	case ref.title == "":
		return sources.Item{}, ref.fail(name("title"), values["title"], errMissing("a title"))
	case values["price"] == "":
		return sources.Item{}, ref.fail(name("price"), "", errMissing("a price"))
	}
	it := productItem(ref.id)
	it.Title = ref.title
	it.SKU = values["sku"]
	it.Summary = sources.PlainText(values["description"])
	it.Brand = sources.PlainTitle(values["brand"])
	it.Category = sources.PlainTitle(values["category"])

	currency := fallback
	if c := values["currency"]; c != "" {
		code, err := normalizeCurrency(c)
		if err != nil {
			return sources.Item{}, ref.fail(name("currency"), c, err)
		}
		currency = code
	}
	amount := func(field, want string) (decimal.Decimal, string, error) {
		a, c, err := priceIn(values[field], want)
		switch {
		case err != nil:
			return a, c, ref.fail(name(field), values[field], err)
		case want != "" && c != want && values["currency"] != "":
			return a, c, ref.fail(name(field), values[field], fmt.Errorf("in %s, but %s says %s", c, name("currency"), want))
		}
		return a, c, nil
	}
	regular, cur, err := amount("price", currency)
	if err != nil {
		return sources.Item{}, err
	}
	it.Currency = cur
	var sale decimal.Decimal
	if values["sale_price"] != "" {
		s, c, err := amount("sale_price", cur)
		if err != nil {
			return sources.Item{}, err
		}
		if c != cur {
			return sources.Item{}, ref.fail(name("sale_price"), values["sale_price"], fmt.Errorf("in %s, but %s is in %s", c, name("price"), cur))
		}
		sale = s
	}
	setPrices(&it, regular, sale)

	it.Availability = sources.InStock
	if s := values["availability"]; s != "" {
		if it.Availability, err = ParseAvailability(s); err != nil {
			return sources.Item{}, ref.fail(name("availability"), s, err)
		}
	}
	if it.Link, err = webURL(base, values["link"]); err != nil {
		return sources.Item{}, ref.fail(name("link"), values["link"], err)
	}
	if it.Image, err = webURL(base, values["image"]); err != nil {
		return sources.Item{}, ref.fail(name("image"), values["image"], err)
	}
	return it, nil
}
