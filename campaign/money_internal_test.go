package campaign

import (
	"strings"
	"testing"

	"github.com/govalues/decimal"

	"github.com/heraldcli/herald/sources"
)

func TestFormatMoney(t *testing.T) {
	t.Parallel()
	cases := []struct {
		locale   string
		amount   any
		currency []string
		want     string
	}{
		{"en", decimal.MustParse("1234.5"), []string{"USD"}, "$1,234.50"},
		{"en", decimal.MustParse("15.10"), []string{"EUR"}, "€15.10"},
		{"de", decimal.MustParse("1234.5"), []string{"EUR"}, "1.234,50\u00a0€"},
		{"fr", "1234567.891", []string{"EUR"}, "1\u00a0234\u00a0567,891\u00a0€"}, // never rounded away
		{"ja", decimal.MustParse("1200"), []string{"JPY"}, "￥1,200"},
		{"en", decimal.MustParse("1200"), []string{"JPY"}, "¥1,200"},
		{"en-IN", decimal.MustParse("1234567"), []string{"INR"}, "₹12,34,567.00"},
		{"pt-BR", decimal.MustParse("10"), []string{"BRL"}, "R$10,00"},
		{"de-CH", decimal.MustParse("12.5"), []string{"CHF"}, "12.50\u00a0CHF"},
		{"", decimal.MustParse("9.99"), []string{"GBP"}, "£9.99"},
		{"not a locale", 12, []string{"usd"}, "$12.00"},
		{"en", decimal.MustParse("3.5"), nil, "3.50"},
		{"en", decimal.MustParse("3.5"), []string{"XTS"}, "XTS\u00a03.50"},
		{"en", decimal.MustParse("-2"), []string{"USD"}, "$-2.00"},
	}
	for _, c := range cases {
		args := []any{c.amount}
		for _, cur := range c.currency {
			args = append(args, cur)
		}
		got, err := formatMoney(c.locale, args...)
		if err != nil {
			t.Errorf("money(%q, %v, %v): %v", c.locale, c.amount, c.currency, err)
			continue
		}
		// CLDR spaces vary between narrow and plain no-break spaces.
		norm := strings.NewReplacer("\u202f", "\u00a0").Replace(got)
		if norm != c.want {
			t.Errorf("money(%q, %v, %v) = %q, want %q", c.locale, c.amount, c.currency, got, c.want)
		}
	}
	for _, bad := range []any{"twelve", 1.5, nil} {
		if _, err := formatMoney("en", bad, "USD"); err == nil {
			t.Errorf("money(%v) formatted, want an error", bad)
		}
	}
	if _, err := formatMoney("en", "1", "USD", "EUR"); err == nil {
		t.Error("money with two currencies formatted, want an error")
	}
}

// TestMoneyInTemplates: money is bound to each subscriber's locale however
// a template calls it: directly, through a pipeline, inside a define called
// with an item, inside range.
func TestMoneyInTemplates(t *testing.T) {
	t.Parallel()
	spec, err := ParseSpec("c.yaml", "c", []byte(`channels: [telegram]
source: {type: catalog, format: csv, url: shop.csv}
message:
  text: >-
    {{ define "price" }}{{ money .Price .Currency }}{{ end }}{{ template "price" .Item }} /
    {{ .Item.Price | money .Item.Currency }} /
    {{ range .Items }}{{ money .SalePrice .Currency }}{{ end }}
`), []string{"telegram"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := compileMessage(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !c.personal {
		t.Error("a template calling money is not rendered per subscriber")
	}
	item := SampleItems(1)[0] // 12345.67, on sale at 9876.50, EUR
	for locale, want := range map[string]string{
		"de": "12.345,67 € / 12.345,67 € / 9.876,50 €",
		"en": "€12,345.67 / €12,345.67 / €9,876.50",
		"ar": "12,345.67", // Western digits, never a mix of two scripts
	} {
		m, err := c.render(spec, &TemplateData{Items: []sources.Item{item}, Item: item, Subscriber: SubscriberData{Locale: locale}})
		if err != nil {
			t.Fatalf("%s: %v", locale, err)
		}
		got := strings.NewReplacer("\u00a0", " ", "\u202f", " ", `\`, "").Replace(m.Text)
		if !strings.Contains(got, want) {
			t.Errorf("%s: %q, want it to contain %q", locale, got, want)
		}
	}
}
