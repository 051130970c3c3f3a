package catalog

import (
	"bytes"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldcli/herald/sources"
)

// seed adds the fixtures of testdata/<dir> whose names end in one of exts.
func seed(f *testing.F, dir string, exts ...string) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		if strings.HasSuffix(p, ".golden.json") || strings.HasSuffix(p, ".source.json") {
			continue
		}
		for _, ext := range exts {
			if strings.HasSuffix(p, ext) {
				body, err := os.ReadFile(p)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(body)
			}
		}
	}
}

// testPage is body as one page of src at pageURL, as Scan hands it to a
// decoder.
func testPage(t testing.TB, src *Source, pageURL string, body []byte) *page {
	base, err := url.Parse(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	currency, err := sourceCurrency(src)
	if err != nil {
		t.Fatal(err)
	}
	return &page{URL: base, Body: bytes.NewReader(body), Source: src, Currency: currency}
}

// fuzzDecode decodes body as one page of src's format and checks what
// holds for any input: no panic, errors of herald's types, and only
// products a campaign can use.
func fuzzDecode(t *testing.T, src *Source, pageURL string, body []byte) {
	emitted := 0
	n, err := formats[src.Format].decode(testPage(t, src, pageURL, body), func(it sources.Item) error {
		emitted++
		checkItem(t, it)
		return nil
	})
	if n < emitted {
		t.Fatalf("decode counted %d products but emitted %d", n, emitted)
	}
	if err != nil {
		var pe *ProductError
		var fe *FormatError
		var ce *ConfigError
		if !errors.As(err, &pe) && !errors.As(err, &fe) && !errors.As(err, &ce) {
			t.Fatalf("error %v is a %T, want *ProductError, *FormatError or *ConfigError", err, err)
		}
		if msg := err.Error(); msg == "" {
			t.Fatal("empty error message")
		}
	}
}

// checkItem holds for every emitted product.
func checkItem(t *testing.T, it sources.Item) {
	t.Helper()
	switch {
	case !strings.HasPrefix(it.Key, "id:") || len(it.Key) == len("id:"):
		t.Fatalf("Key %q is not id: and an id", it.Key)
	case it.Title == "":
		t.Fatalf("%s: empty title", it.Key)
	case !validAvailability(it.Availability):
		t.Fatalf("%s: availability %q", it.Key, it.Availability)
	case !isoCurrencies[it.Currency]:
		t.Fatalf("%s: currency %q", it.Key, it.Currency)
	case it.Price.IsNeg() || it.SalePrice.IsNeg():
		t.Fatalf("%s: negative price %s / %s", it.Key, it.Price, it.SalePrice)
	case !it.SalePrice.IsZero() && it.SalePrice.Cmp(it.Price) >= 0:
		t.Fatalf("%s: sale price %s not below %s", it.Key, it.SalePrice, it.Price)
	case it.Discount < 0 || it.Discount > 100:
		t.Fatalf("%s: discount %d", it.Key, it.Discount)
	}
	for _, u := range []string{it.Link, it.Image} {
		if u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			t.Fatalf("%s: %q is not a web URL", it.Key, u)
		}
	}
}

func FuzzShopify(f *testing.F) {
	seed(f, Shopify, ".json")
	for _, s := range []string{
		`{"products":[{"id":1,"title":"a","variants":[{"price":"1"}]}]}`,
		`{"products":[{"id":1e400,"title":"a","variants":[{"price":1e400}]}]}`,
		`{"products":[{"id":"x","title":"<b>","variants":[{"price":"0","compare_at_price":"-1"}],"images":[{"src":"::"}]}]}`,
		`{"products":{}}`, `[]`, `{"products":[null,1,"a"]}`, "\xef\xbb\xbf {}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDecode(t, &Source{Format: Shopify, URL: "https://shop.example.com", Currency: "USD"},
			"https://shop.example.com/products.json?limit=250&page=1", body)
	})
}

func FuzzWooCommerce(f *testing.F) {
	seed(f, WooCommerce, ".json")
	for _, s := range []string{
		`[{"id":1,"name":"a","prices":{"price":"1","currency_minor_unit":2,"currency_code":"XXX"}}]`,
		`[{"id":1,"name":"a","prices":{"price":"99999999999999999999","currency_minor_unit":18}}]`,
		`[{"id":1,"name":"a","prices":{"price":"1","regular_price":"0","currency_minor_unit":"2"},"on_sale":"yes"}]`,
		`{"code":1,"message":[]}`, `[[]]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDecode(t, &Source{Format: WooCommerce, URL: "https://shop.example.com"},
			"https://shop.example.com/wp-json/wc/store/v1/products?page=1&per_page=100", body)
	})
}

func FuzzMerchantXML(f *testing.F) {
	seed(f, GoogleMerchant, ".xml")
	for _, s := range []string{
		`<rss xmlns:g="http://base.google.com/ns/1.0"><item><g:id>1</g:id><g:title>t</g:title><g:price>$1</g:price></item></rss>`,
		`<feed><entry><g:id xmlns:g="http://base.google.com/ns/1.0">1</g:id></entry></feed>`,
		`<?xml version="1.0" encoding="shift_jis"?><rss/>`,
		`<html><body></body></html>`, `<rss><item><g:price>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDecode(t, &Source{Format: GoogleMerchant, URL: "https://shop.example.com/feed.xml"},
			"https://shop.example.com/feed.xml", body)
	})
}

func FuzzMerchantText(f *testing.F) {
	seed(f, GoogleMerchant, ".tsv", ".csv")
	for _, s := range []string{
		"id\ttitle\tprice\n1\tt\t1 EUR\n",
		"g:id,g:title,g:price,g:sale_price,g:sale_price_effective_date\n1,t,2 EUR,1 EUR,2020/x\n",
		"\xff\xfei\x00d\x00", "id\n", "\n\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDecode(t, &Source{Format: GoogleMerchant, URL: "https://shop.example.com/feed.txt", Currency: "EUR"},
			"https://shop.example.com/feed.txt", body)
	})
}

func FuzzCSV(f *testing.F) {
	seed(f, CSV, ".csv", ".tsv")
	for _, s := range []string{
		"id,title,price\n1,a,\"1,5\"\n", "id;title;price;link\n1;a;2;//x\n", "id,title,price\n\"1,a,2\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDecode(t, &Source{Format: CSV, URL: "https://shop.example.com/p.csv", Currency: "GBP"},
			"https://shop.example.com/p.csv", body)
	})
}

func FuzzJSON(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", JSON, "*.json"))
	for _, p := range paths {
		if strings.HasSuffix(p, ".golden.json") || strings.HasSuffix(p, ".source.json") {
			continue
		}
		body, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body, "")
		f.Add(body, "data.products")
	}
	f.Add([]byte(`{"a":[{"b":[[{"id":1,"title":"t","price":1}]]}]}`), "a.0.b.0")
	f.Add([]byte(`{"a":1}`), "a")
	f.Add([]byte(`[{"id":1,"title":"t","price":-0}]`), "")
	f.Fuzz(func(t *testing.T, body []byte, items string) {
		fuzzDecode(t, &Source{Format: JSON, URL: "https://shop.example.com/p.json", Currency: "USD", Items: items},
			"https://shop.example.com/p.json", body)
	})
}

func FuzzParsePrice(f *testing.F) {
	for _, s := range []string{
		"15.00 USD", "USD 15.00", "1,234.50", "1.234,50", "1 234,50", "€12.99", "$15", "1,23,456.00",
		"0,123", ",5", "-1", "1e5", "JP¥1,500", "1’234.50 CHF", "12345678901234567890", "CAD $15",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		amount, currency, err := ParsePrice(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if amount.IsNeg() {
			t.Fatalf("ParsePrice(%q) = %s: negative", s, amount)
		}
		if currency != "" && !isoCurrencies[currency] {
			t.Fatalf("ParsePrice(%q): currency %q", s, currency)
		}
		// The amount, written plainly, reads back the same.
		again, _, err := ParsePrice(amount.String())
		if err != nil || again.Cmp(amount) != 0 {
			t.Fatalf("ParsePrice(%q) = %s, which reads back as %s, %v", s, amount, again, err)
		}
		if a, err := ParseAvailability(s); err == nil && !validAvailability(a) {
			t.Fatalf("ParseAvailability(%q) = %q", s, a)
		}
	})
}
