package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/govalues/decimal"

	"github.com/heraldcli/herald/sources"
)

const (
	// wooPerPage is the most products the Store API returns per page,
	// and what herald asks for.
	wooPerPage = 100
	// wooDefaultPerPage is what the Store API serves when per_page is
	// absent.
	wooDefaultPerPage = 10
	wooStorePath      = "/wp-json/wc/store/v1/products"
)

func init() {
	formats[WooCommerce] = &format{first: wooFirst, decode: decodeWoo, next: wooNext}
}

// wooFirst turns a WordPress site's address into its Store API product
// list: https://shop.example.com becomes
// https://shop.example.com/wp-json/wc/store/v1/products, and a Store API
// URL (/wp-json/wc/store/…, or ?rest_route=/wc/store/… on sites without
// pretty links) is kept. Either way the page asks for 100 products,
// starting at page 1, unless the URL says otherwise.
func wooFirst(raw string) (string, error) {
	u, err := apiURL(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	route := q.Get("rest_route")
	path := strings.TrimRight(u.Path, "/")
	switch {
	case strings.Contains(path, "/wp-json/wc/store"):
		if !strings.Contains(path, "/products") {
			path += "/products"
		}
	case strings.HasPrefix(route, "/wc/store"):
		if !strings.Contains(route, "/products") {
			q.Set("rest_route", strings.TrimRight(route, "/")+"/products")
		}
	case strings.Contains(path, "/wp-json/wc/v") || strings.HasPrefix(route, "/wc/v"):
		return "", fmt.Errorf("%s is WooCommerce's REST API, which needs API keys: herald reads the public Store API, so give the site's address (https://shop.example.com)", u.Redacted())
	case strings.Contains(path, "/wp-json"):
		return "", fmt.Errorf("%s is not WooCommerce's Store API: give the site's address (https://shop.example.com)", u.Redacted())
	default:
		path += wooStorePath
	}
	if path == "" {
		path = "/"
	}
	u.Path, u.RawPath = path, ""
	setDefault(q, "per_page", strconv.Itoa(wooPerPage))
	setDefault(q, "page", "1")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// wooNext asks for the next page while the X-WP-TotalPages header says
// there is one; without the header, a full page means there may be
// another.
func wooNext(cur *url.URL, h http.Header, count int) (string, error) {
	page, err := queryInt(cur, "page", 1)
	if err != nil {
		return "", err
	}
	if total, err := strconv.Atoi(strings.TrimSpace(h.Get("X-WP-TotalPages"))); err == nil && total >= 0 {
		if page < total {
			return withPage(cur, page+1), nil
		}
		return "", nil
	}
	perPage, err := queryInt(cur, "per_page", wooDefaultPerPage)
	if err != nil {
		return "", err
	}
	if count == 0 || count < perPage {
		return "", nil
	}
	return withPage(cur, page+1), nil
}

// decodeWoo reads one page of the Store API: a list of products, one at a
// time.
func decodeWoo(p *page, emit func(sources.Item) error) (int, error) {
	fallback := p.Currency
	js, err := newJSONStream(p.Body, WooCommerce, "is the URL a WordPress site with WooCommerce? herald reads its Store API at /wp-json/wc/store/v1/products")
	if err != nil {
		return 0, err
	}
	t, err := js.token()
	if err != nil {
		return 0, err
	}
	switch t {
	case json.Delim('['):
	case json.Delim('{'):
		return 0, wooObject(js)
	default:
		return 0, js.formatError(0, fmt.Errorf("expected a list of products, found %s", describeToken(t)))
	}
	n := 0
	for js.more() {
		v, err := js.value()
		if err != nil {
			return n, err
		}
		n++
		it, err := wooItem(v, n, p.URL, fallback)
		if err != nil {
			return n, err
		}
		if err := emit(it); err != nil {
			return n, err
		}
	}
	if err := js.expect(']', "the end of the list of products"); err != nil {
		return n, err
	}
	return n, js.end()
}

// wooObject explains a page that is an object instead of a list: usually
// a WordPress error ({"code": "rest_no_route", "message": …}).
func wooObject(s *jsonStream) error {
	var code, message string
	for s.more() {
		t, err := s.token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		if key != "code" && key != "message" {
			if err := s.skip(); err != nil {
				return err
			}
			continue
		}
		t, err = s.token()
		if err != nil {
			return err
		}
		if v, ok := t.(string); ok {
			if key == "code" {
				code = v
			} else {
				message = v
			}
		}
	}
	err := errors.New("expected a list of products, found an object")
	if code != "" || message != "" {
		err = fmt.Errorf("expected a list of products, but WordPress answered with an error: %s", strings.TrimPrefix(code+": "+clipText(message, 200), ": "))
	}
	return s.formatError(0, err)
}

// wooItem makes the item of the n-th product on a page.
func wooItem(v any, n int, base *url.URL, fallback string) (sources.Item, error) {
	ref := productRef{pos: "#" + strconv.Itoa(n)}
	obj, ok := v.(map[string]any)
	if !ok {
		return sources.Item{}, ref.fail(strconv.Itoa(n-1), "", fmt.Errorf("is %s, not a product", describeValue(v)))
	}
	get := func(path string) (string, error) {
		v, _ := jsonLookup(obj, path)
		s, err := jsonText(v)
		if err != nil {
			return "", ref.fail(path, "", err)
		}
		return strings.TrimSpace(s), nil
	}
	var id, name, permalink, description, short, image, sku string
	for _, f := range []struct {
		path string
		to   *string
	}{{"id", &id}, {"name", &name}, {"permalink", &permalink}, {"description", &description},
		{"short_description", &short}, {"images.0.src", &image}, {"sku", &sku}} {
		var err error
		if *f.to, err = get(f.path); err != nil {
			return sources.Item{}, err
		}
		switch f.path {
		case "id":
			ref.id = id
		case "name":
			ref.title = sources.PlainTitle(name)
		}
	}
	switch {
	case id == "":
		return sources.Item{}, ref.fail("id", "", errMissing("an id"))
	case ref.title == "":
		return sources.Item{}, ref.fail("name", name, errMissing("a name"))
	}
	it := productItem(id)
	it.Title = ref.title
	it.SKU = sku
	var err error
	if it.Link, err = webURL(base, permalink); err != nil {
		return sources.Item{}, ref.fail("permalink", permalink, err)
	}
	if it.Image, err = webURL(base, image); err != nil {
		return sources.Item{}, ref.fail("images.0.src", image, err)
	}
	it.Summary = sources.PlainText(short)
	if it.Summary == "" {
		it.Summary = sources.PlainText(description)
	}
	for _, list := range []struct {
		path string
		to   *[]string
	}{{"categories", &it.Categories}, {"brands", nil}} {
		names, err := wooNames(obj, list.path, ref)
		if err != nil {
			return sources.Item{}, err
		}
		if list.to != nil {
			*list.to = names
		} else if len(names) > 0 {
			it.Brand = names[0]
		}
	}
	if len(it.Categories) > 0 {
		it.Category = it.Categories[0]
	}
	if err := wooPrices(&it, obj, ref, fallback); err != nil {
		return sources.Item{}, err
	}
	if it.Availability, err = wooAvailability(obj, ref); err != nil {
		return sources.Item{}, err
	}
	return it, nil
}

// wooNames reads the names of a list of terms ([{"name": "Shoes"}, …]).
func wooNames(obj map[string]any, path string, ref productRef) ([]string, error) {
	v, ok := obj[path]
	if !ok || v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, ref.fail(path, "", fmt.Errorf("is %s, not a list", describeValue(v)))
	}
	var names []string
	for i, term := range list {
		nv, _ := jsonLookup(term, "name")
		s, err := jsonText(nv)
		if err != nil {
			return nil, ref.fail(fmt.Sprintf("%s.%d.name", path, i), "", err)
		}
		if s = sources.PlainTitle(s); s != "" {
			names = append(names, s)
		}
	}
	return names, nil
}

// wooPrices reads prices, which the Store API writes as whole numbers of
// the currency's minor unit ("1599" with currency_minor_unit 2 is 15.99).
// A variable product's prices are those of its cheapest variation.
func wooPrices(it *sources.Item, obj map[string]any, ref productRef, fallback string) error {
	prices, ok := obj["prices"].(map[string]any)
	if !ok {
		if v, present := obj["prices"]; present && v != nil {
			return ref.fail("prices", "", fmt.Errorf("is %s, not an object", describeValue(v)))
		}
		return ref.fail("prices", "", errMissing("prices"))
	}
	get := func(name string) (string, error) {
		s, err := jsonText(prices[name])
		if err != nil {
			return "", ref.fail("prices."+name, "", err)
		}
		return strings.TrimSpace(s), nil
	}
	code, err := get("currency_code")
	if err != nil {
		return err
	}
	switch {
	case code != "":
		if it.Currency, err = normalizeCurrency(code); err != nil {
			return ref.fail("prices.currency_code", code, err)
		}
	case fallback != "":
		it.Currency = fallback
	default:
		return ref.fail("prices.currency_code", "", errors.New("missing: set source.currency"))
	}
	unitText, err := get("currency_minor_unit")
	if err != nil {
		return err
	}
	if unitText == "" {
		return ref.fail("prices.currency_minor_unit", "", errors.New("missing: without it herald cannot tell whether 1599 means 15.99 or 1599"))
	}
	unit, err := strconv.Atoi(unitText)
	if err != nil || unit < 0 || unit > 18 {
		return ref.fail("prices.currency_minor_unit", unitText, errors.New("not a number of digits (0 to 18)"))
	}
	amounts := map[string]decimal.Decimal{}
	for _, name := range []string{"price", "regular_price", "sale_price"} {
		s, err := get(name)
		if err != nil {
			return err
		}
		if s == "" {
			continue
		}
		if amounts[name], err = minorUnits(s, unit); err != nil {
			return ref.fail("prices."+name, s, err)
		}
	}
	current, hasCurrent := amounts["price"]
	regular, hasRegular := amounts["regular_price"]
	sale, hasSale := amounts["sale_price"]
	switch {
	case !hasCurrent && !hasRegular:
		return ref.fail("prices.price", "", errMissing("a price"))
	case !hasRegular:
		regular = current
	}
	if !hasSale && hasCurrent {
		sale = current
	}
	onSale, set, err := jsonBool(obj["on_sale"])
	if err != nil {
		s, _ := jsonText(obj["on_sale"])
		return ref.fail("on_sale", s, err)
	}
	if set && !onSale {
		sale = decimal.Decimal{}
	}
	setPrices(it, regular, sale)
	return nil
}

// wooAvailability reads the stock status: a product on backorder is
// backorder; else the stock_availability class when herald knows it
// ("out-of-stock", a plugin's "pre-order"); else is_in_stock; and a product
// that says nothing is in stock (the Store API lists products for sale).
func wooAvailability(obj map[string]any, ref productRef) (sources.Availability, error) {
	backorder, _, err := jsonBool(obj["is_on_backorder"])
	if err != nil {
		s, _ := jsonText(obj["is_on_backorder"])
		return "", ref.fail("is_on_backorder", s, err)
	}
	if backorder {
		return sources.Backorder, nil
	}
	if v, ok := jsonLookup(obj, "stock_availability.class"); ok {
		if class, err := jsonText(v); err == nil {
			if a, err := ParseAvailability(class); err == nil {
				return a, nil
			}
		}
	}
	inStock, set, err := jsonBool(obj["is_in_stock"])
	if err != nil {
		s, _ := jsonText(obj["is_in_stock"])
		return "", ref.fail("is_in_stock", s, err)
	}
	if set && !inStock {
		return sources.OutOfStock, nil
	}
	return sources.InStock, nil
}
