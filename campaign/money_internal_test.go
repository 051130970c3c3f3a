package campaign

import (
	"strings"
	"testing"

	"github.com/govalues/decimal"
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
		got, err := formatMoney(c.locale, c.amount, c.currency...)
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
