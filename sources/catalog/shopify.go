package catalog

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"

	"github.com/heraldcli/herald/sources"
)

// shopifyLimit is the most products Shopify's products.json returns per
// page, and what herald asks for.
const shopifyLimit = 250

func init() {
	formats[Shopify] = &format{first: shopifyFirst, decode: decodeShopify, next: shopifyNext}
}

// shopifyFirst turns a shop's address into its products.json: the shop
// (https://shop.example.com) or a collection (…/collections/shoes) gets
// /products.json appended; a products.json URL is kept. Either way the
// page asks for 250 products, starting at page 1, unless the URL says
// otherwise.
func shopifyFirst(raw string) (string, error) {
	u, err := apiURL(raw)
	if err != nil {
		return "", err
	}
	path := strings.TrimRight(u.Path, "/")
	switch {
	case strings.HasSuffix(path, "/products.json"):
	case strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".js") || strings.HasSuffix(path, ".xml"):
		return "", fmt.Errorf("%s is not a products.json: give the shop (https://shop.example.com), a collection (https://shop.example.com/collections/shoes) or its products.json", u.Redacted())
	case path == "" || path == "/products":
		path = "/products.json"
	default:
		path += "/products.json"
	}
	u.Path, u.RawPath = path, ""
	q := u.Query()
	setDefault(q, "limit", strconv.Itoa(shopifyLimit))
	if q.Get("page_info") == "" {
		setDefault(q, "page", "1")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// shopifyNext follows the Link header's next page when the shop sends one
// (cursor pagination); otherwise a full page means there may be another,
// and the next page number is asked for. A cursor page without a next link
// is the last.
func shopifyNext(cur *url.URL, h http.Header, count int) (string, error) {
	if next, err := linkNext(cur, h); next != "" || err != nil {
		return next, err
	}
	if cur.Query().Get("page_info") != "" {
		return "", nil
	}
	limit, err := queryInt(cur, "limit", shopifyLimit)
	if err != nil {
		return "", err
	}
	page, err := queryInt(cur, "page", 1)
	if err != nil {
		return "", err
	}
	if count == 0 || count < min(limit, shopifyLimit) {
		return "", nil
	}
	return withPage(cur, page+1), nil
}

// decodeShopify reads one page of products.json: {"products": [...]},
// one product at a time.
func decodeShopify(p *page, emit func(sources.Item) error) (int, error) {
	currency := p.Currency
	js, err := newJSONStream(p.Body, Shopify, "is the URL a Shopify shop? herald reads its products.json")
	if err != nil {
		return 0, err
	}
	if err := js.expect('{', `an object with a "products" list`); err != nil {
		return 0, err
	}
	n, found := 0, false
	for js.more() {
		t, err := js.token()
		if err != nil {
			return n, err
		}
		if key, _ := t.(string); key != "products" {
			if err := js.skip(); err != nil {
				return n, err
			}
			continue
		}
		found = true
		if err := js.expect('[', `the "products" list`); err != nil {
			return n, err
		}
		for js.more() {
			v, err := js.value()
			if err != nil {
				return n, err
			}
			n++
			it, err := shopifyItem(v, n, p.URL, currency)
			if err != nil {
				return n, err
			}
			if err := emit(it); err != nil {
				return n, err
			}
		}
		if err := js.expect(']', `the end of the "products" list`); err != nil {
			return n, err
		}
	}
	if err := js.expect('}', "the end of the document"); err != nil {
		return n, err
	}
	if err := js.end(); err != nil {
		return n, err
	}
	if !found {
		return n, &FormatError{Format: Shopify, Err: errors.New(`no "products" list: this JSON is not a Shopify products.json`)}
	}
	return n, nil
}

// shopifyItem makes the item of the n-th product on a page.
func shopifyItem(v any, n int, base *url.URL, currency string) (sources.Item, error) {
	ref := productRef{pos: "#" + strconv.Itoa(n)}
	obj, ok := v.(map[string]any)
	if !ok {
		return sources.Item{}, ref.fail(fmt.Sprintf("products.%d", n-1), "", fmt.Errorf("is %s, not a product", describeValue(v)))
	}
	get := func(path string) (string, error) {
		v, _ := jsonLookup(obj, path)
		s, err := jsonText(v)
		if err != nil {
			return "", ref.fail(path, "", err)
		}
		return strings.TrimSpace(s), nil
	}
	id, err := get("id")
	if err != nil {
		return sources.Item{}, err
	}
	ref.id = id
	title, err := get("title")
	if err != nil {
		return sources.Item{}, err
	}
	ref.title = sources.PlainTitle(title)
	switch {
	case id == "":
		return sources.Item{}, ref.fail("id", "", errMissing("an id"))
	case ref.title == "":
		return sources.Item{}, ref.fail("title", title, errMissing("a title"))
	}
	it := productItem(id)
	it.Title = ref.title

	var handle, body, vendor, productType, image string
	for _, f := range []struct {
		path string
		to   *string
	}{{"handle", &handle}, {"body_html", &body}, {"vendor", &vendor}, {"product_type", &productType}, {"images.0.src", &image}} {
		if *f.to, err = get(f.path); err != nil {
			return sources.Item{}, err
		}
	}
	if handle != "" && base != nil && (base.Scheme == "http" || base.Scheme == "https") {
		it.Link = (&url.URL{Scheme: base.Scheme, Host: base.Host, Path: "/products/" + handle}).String()
	}
	it.Summary = sources.PlainText(body)
	it.Brand = sources.PlainTitle(vendor)
	it.Category = sources.PlainTitle(productType)
	if it.Image, err = webURL(base, image); err != nil {
		return sources.Item{}, ref.fail("images.0.src", image, err)
	}
	if it.Categories, err = shopifyTags(obj["tags"]); err != nil {
		return sources.Item{}, ref.fail("tags", "", err)
	}
	for _, d := range []struct {
		path string
		to   *time.Time
	}{{"created_at", &it.Published}, {"published_at", &it.Published}, {"updated_at", &it.Updated}} {
		s, err := get(d.path)
		if err != nil {
			return sources.Item{}, err
		}
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return sources.Item{}, ref.fail(d.path, s, errors.New("not a date: Shopify writes 2024-03-01T10:00:00-05:00"))
		}
		*d.to = t
	}
	if err := shopifyVariants(&it, obj, ref, currency); err != nil {
		return sources.Item{}, err
	}
	return it, nil
}

// shopifyTags reads tags, a list or a comma-separated text.
func shopifyTags(v any) ([]string, error) {
	if list, ok := v.([]any); ok {
		return jsonTexts(list)
	}
	s, err := jsonText(v)
	if err != nil {
		return nil, err
	}
	return splitTags(s), nil
}

// shopifyVariants sets the product's price, sale price, SKU and stock from
// its variants. The product is announced at the price of its cheapest
// variant, whether or not that one can be bought (a "from" price, which a
// size selling out does not move), and is in stock when any variant is. A variant without "available" is taken to
// be on sale: products.json only lists published products.
func shopifyVariants(it *sources.Item, obj map[string]any, ref productRef, currency string) error {
	list, ok := obj["variants"].([]any)
	if !ok || len(list) == 0 {
		if v, present := obj["variants"]; present && !ok {
			return ref.fail("variants", "", fmt.Errorf("is %s, not a list of variants", describeValue(v)))
		}
		return ref.fail("variants", "", errors.New("missing: the product has no variants, so no price"))
	}
	type variant struct {
		price, compareAt decimal.Decimal
		sku              string
		available        bool
	}
	best, anyAvailable := -1, false
	variants := make([]variant, len(list))
	for i, raw := range list {
		field := func(name string) string { return fmt.Sprintf("variants.%d.%s", i, name) }
		vo, ok := raw.(map[string]any)
		if !ok {
			return ref.fail(fmt.Sprintf("variants.%d", i), "", fmt.Errorf("is %s, not a variant", describeValue(raw)))
		}
		get := func(name string) (string, error) {
			s, err := jsonText(vo[name])
			if err != nil {
				return "", ref.fail(field(name), "", err)
			}
			return strings.TrimSpace(s), nil
		}
		var v variant
		priceText, err := get("price")
		if err != nil {
			return err
		}
		if priceText == "" {
			return ref.fail(field("price"), "", errMissing("a price"))
		}
		if v.price, err = amountIn(priceText, currency); err != nil {
			return ref.fail(field("price"), priceText, err)
		}
		compareText, err := get("compare_at_price")
		if err != nil {
			return err
		}
		if compareText != "" {
			if v.compareAt, err = amountIn(compareText, currency); err != nil {
				return ref.fail(field("compare_at_price"), compareText, err)
			}
		}
		if v.sku, err = get("sku"); err != nil {
			return err
		}
		available, set, err := jsonBool(vo["available"])
		if err != nil {
			s, _ := jsonText(vo["available"])
			return ref.fail(field("available"), s, err)
		}
		v.available = available || !set
		variants[i] = v
		anyAvailable = anyAvailable || v.available
	}
	// The product's price is its cheapest variant's, in stock or not (a
	// "from" price): a size selling out must not look like a price rise.
	for i, v := range variants {
		if best < 0 || v.price.Cmp(variants[best].price) < 0 {
			best = i
		}
	}
	chosen := variants[best]
	if chosen.compareAt.Cmp(chosen.price) > 0 {
		setPrices(it, chosen.compareAt, chosen.price)
	} else {
		setPrices(it, chosen.price, decimal.Decimal{})
	}
	it.SKU = chosen.sku
	it.Currency = currency
	it.Availability = sources.OutOfStock
	if anyAvailable {
		it.Availability = sources.InStock
	}
	return nil
}

// amountIn reads an amount in the catalog's currency: a price that names
// another currency is an error.
func amountIn(s, currency string) (decimal.Decimal, error) {
	amount, c, err := priceIn(s, currency)
	if err != nil {
		return decimal.Decimal{}, err
	}
	if c != currency {
		return decimal.Decimal{}, fmt.Errorf("in %s, but the catalog's currency is %s", c, currency)
	}
	return amount, nil
}
