package catalog

import (
	"strings"
	"testing"

	"github.com/heraldcli/herald/sources"
)

func TestParsePrice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, amount, currency string
		err                  string // a part of the error; "" for none
	}{
		{in: "15.00 USD", amount: "15.00", currency: "USD"},
		{in: "USD 15.00", amount: "15.00", currency: "USD"},
		{in: "usd15", amount: "15", currency: "USD"},
		{in: "15.00USD", amount: "15.00", currency: "USD"},
		{in: "15.10", amount: "15.10"},
		{in: "  7 ", amount: "7"},
		{in: "0", amount: "0"},
		{in: "1,234.50", amount: "1234.50"},
		{in: "1.234,50", amount: "1234.50"},
		{in: "1 234,50", amount: "1234.50"},
		{in: "1\u00a0234,50\u00a0€", amount: "1234.50", currency: "EUR"},
		{in: "1\u202f234,50 EUR", amount: "1234.50", currency: "EUR"},
		{in: "1'234.50 CHF", amount: "1234.50", currency: "CHF"},
		{in: "1’234.50 CHF", amount: "1234.50", currency: "CHF"},
		{in: "1,234,567.89", amount: "1234567.89"},
		{in: "1.234.567,89", amount: "1234567.89"},
		{in: "1.234.567", amount: "1234567"},
		{in: "1,23,456.00 INR", amount: "123456.00", currency: "INR"},
		{in: "12,50", amount: "12.50"},
		{in: "12,5", amount: "12.5"},
		{in: "1,234", amount: "1234"},
		{in: "0,123", amount: "0.123"},
		{in: "1.234", amount: "1.234"},
		{in: ",50", amount: "0.50"},
		{in: ".5", amount: "0.5"},
		{in: "€12.99", amount: "12.99", currency: "EUR"},
		{in: "12,99 €", amount: "12.99", currency: "EUR"},
		{in: "£5", amount: "5", currency: "GBP"},
		{in: "1,500円", amount: "1500", currency: "JPY"},
		{in: "JP¥1,500", amount: "1500", currency: "JPY"},
		{in: "US$19.99", amount: "19.99", currency: "USD"},
		{in: "R$ 1.234,56", amount: "1234.56", currency: "BRL"},
		{in: "$15 USD", amount: "15", currency: "USD"},
		{in: "CAD $15", amount: "15", currency: "CAD"},
		{in: "0.1234567890123456789", amount: "0.1234567890123456789"},

		{in: "", err: "empty"},
		{in: "   ", err: "empty"},
		{in: "12,x", err: "not a number"},
		{in: "abc", err: "not a number"},
		{in: "Free", err: "not a number"},
		{in: "NaN", err: "not a number"},
		{in: "1e5", err: "not a number"},
		{in: "+5", err: "not a number"},
		{in: "15.", err: "not a number"},
		{in: "USD", err: "not a number"},
		{in: "-5.00", err: "negative"},
		{in: "USD -5", err: "negative"},
		{in: "−5", err: "negative"},
		{in: "$15", err: `"$" is the symbol of several currencies`},
		{in: "¥1500", err: "several currencies"},
		{in: "$15 EUR", err: `"$" is not a symbol of EUR`},
		{in: "USD 15 EUR", err: "two currencies, USD and EUR"},
		{in: "15 ABC", err: `unknown currency "ABC"`},
		{in: "1.234.56", err: "digit groups"},
		{in: "1,2,3", err: "digit groups"},
		{in: "1,,234", err: "digit groups"},
		{in: "1 2345", err: "digit groups"},
		{in: "1.234 567", err: "not a number"},
		{in: "1,234.567.89", err: "not a number"},
		{in: "12345678901234567890", err: "too many digits"},
		{in: "0.12345678901234567890", err: "too many digits"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			amount, currency, err := ParsePrice(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParsePrice(%q) = %s %q, %v; want an error containing %q", tt.in, amount, currency, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePrice(%q): %v", tt.in, err)
			}
			if amount.String() != tt.amount || currency != tt.currency {
				t.Errorf("ParsePrice(%q) = %s %q, want %s %q", tt.in, amount, currency, tt.amount, tt.currency)
			}
		})
	}
}

func TestPriceIn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, fallback, amount, currency, err string
	}{
		{in: "15.00", fallback: "USD", amount: "15.00", currency: "USD"},
		{in: "15.00 EUR", fallback: "USD", amount: "15.00", currency: "EUR"},
		{in: "$15", fallback: "CAD", amount: "15", currency: "CAD"},
		{in: "¥1,500", fallback: "JPY", amount: "1500", currency: "JPY"},
		{in: "15 kr", fallback: "SEK", amount: "15", currency: "SEK"},
		{in: "$15", fallback: "EUR", err: `"$" is not a symbol of EUR`},
		{in: "$15", err: "set source.currency"},
		{in: "15.00", err: "no currency: write it with the amount (15.00 USD) or set source.currency"},
	}
	for _, tt := range tests {
		amount, currency, err := priceIn(tt.in, tt.fallback)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("priceIn(%q, %q) = %s %s, %v; want an error containing %q", tt.in, tt.fallback, amount, currency, err, tt.err)
			}
			continue
		}
		if err != nil || amount.String() != tt.amount || currency != tt.currency {
			t.Errorf("priceIn(%q, %q) = %s %s, %v; want %s %s", tt.in, tt.fallback, amount, currency, err, tt.amount, tt.currency)
		}
	}
}

func TestMinorUnits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value  string
		digits int
		want   string
		err    string
	}{
		{value: "1599", digits: 2, want: "15.99"},
		{value: "1500", digits: 2, want: "15.00"},
		{value: "1500", digits: 0, want: "1500"},
		{value: "12500", digits: 3, want: "12.500"},
		{value: "5", digits: 2, want: "0.05"},
		{value: "0", digits: 2, want: "0.00"},
		{value: "000123", digits: 2, want: "1.23"},
		{value: "999999999999999999", digits: 2, want: "9999999999999999.99"},
		{value: "-100", digits: 2, err: "negative"},
		{value: "15.99", digits: 2, err: "not a whole number"},
		{value: "1,599", digits: 2, err: "not a whole number"},
		{value: "", digits: 2, err: "empty"},
		{value: "1599", digits: -1, err: "out of range"},
		{value: "1599", digits: 19, err: "out of range"},
		{value: "9999999999999999999", digits: 2, err: "too many digits"},
	}
	for _, tt := range tests {
		got, err := minorUnits(tt.value, tt.digits)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("minorUnits(%q, %d) = %s, %v; want an error containing %q", tt.value, tt.digits, got, err, tt.err)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("minorUnits(%q, %d) = %s, %v; want %s", tt.value, tt.digits, got, err, tt.want)
		}
	}
}

func TestParseAvailability(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want sources.Availability
	}{
		{"in stock", sources.InStock},
		{"in_stock", sources.InStock},
		{"instock", sources.InStock},
		{"InStock", sources.InStock},
		{"IN STOCK", sources.InStock},
		{"http://schema.org/InStock", sources.InStock},
		{"https://schema.org/InStock", sources.InStock},
		{"schema:InStock", sources.InStock},
		{"available", sources.InStock},
		{"in-stock", sources.InStock},
		{"LimitedAvailability", sources.InStock},
		{"12", sources.InStock},
		{"yes", sources.InStock},
		{"out of stock", sources.OutOfStock},
		{"out_of_stock", sources.OutOfStock},
		{"outofstock", sources.OutOfStock},
		{"out-of-stock", sources.OutOfStock},
		{"https://schema.org/OutOfStock", sources.OutOfStock},
		{"Sold Out", sources.OutOfStock},
		{"discontinued", sources.OutOfStock},
		{"https://schema.org/Discontinued", sources.OutOfStock},
		{"0", sources.OutOfStock},
		{"000", sources.OutOfStock},
		{"false", sources.OutOfStock},
		{"preorder", sources.Preorder},
		{"pre-order", sources.Preorder},
		{"PreOrder", sources.Preorder},
		{"https://schema.org/PreOrder", sources.Preorder},
		{"PreSale", sources.Preorder},
		{"backorder", sources.Backorder},
		{"onbackorder", sources.Backorder},
		{"on backorder", sources.Backorder},
		{"BackOrder", sources.Backorder},
		{"available-on-backorder", sources.Backorder},
		{"https://schema.org/BackOrder", sources.Backorder},
	}
	for _, tt := range tests {
		got, err := ParseAvailability(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseAvailability(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "  ", "maybe", "-1", "in stock soon", "https://schema.org/Nope"} {
		if got, err := ParseAvailability(bad); err == nil {
			t.Errorf("ParseAvailability(%q) = %q, want an error", bad, got)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  Source
		want []string // parts of the error; none for a valid source
	}{
		{"shopify", Source{Format: Shopify, URL: "https://shop.example.com", Currency: "usd"}, nil},
		{"shopify without currency", Source{Format: Shopify, URL: "https://shop.example.com"},
			[]string{"source.currency: missing: a Shopify shop's products.json does not say its currency, so set it, like currency: USD"}},
		{"bad currency", Source{Format: WooCommerce, URL: "https://shop.example.com", Currency: "US"},
			[]string{`source.currency: "US" is not an ISO 4217 currency code`}},
		{"symbol as currency", Source{Format: CSV, URL: "a.csv", Currency: "€", Fields: Fields{"id": "SKU"}},
			[]string{`source.currency: "€" is a symbol: write its ISO 4217 code, EUR`}},
		{"unknown format", Source{Format: "magento", URL: "https://shop.example.com"},
			[]string{`source.format: unknown format "magento": herald reads shopify, woocommerce, google_merchant, csv, json`}},
		{"csv fields", Source{Format: CSV, URL: "a.csv", Fields: Fields{"prize": "Price", "title": " "}},
			[]string{`source.fields.prize: herald has no field "prize"`, "source.fields.title: empty: name the column that holds the title"}},
		{"json paths", Source{Format: JSON, URL: "a.json", Fields: Fields{"price": "offers..price"}, Items: "data."},
			[]string{`source.fields.price: "offers..price" is not a JSON path`, `source.items: "data." is not a JSON path`}},
		{"fields on shopify", Source{Format: Shopify, URL: "https://s.example", Currency: "USD", Fields: Fields{"id": "x"}, Items: "a"},
			[]string{"source.fields: only csv and json catalogs map fields", "source.items: only json catalogs have items"}},
		{"no url", Source{Format: JSON}, []string{"source.url: missing"}},
	}
	for _, tt := range tests {
		err := tt.src.Validate()
		if len(tt.want) == 0 {
			if err != nil {
				t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: Validate() = nil, want %q", tt.name, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Validate() = %v\nwant it to contain %q", tt.name, err, w)
			}
		}
	}
}
