package catalog

import (
	"fmt"
	"slices"
	"strings"
)

// isoCurrencies are the ISO 4217 codes herald accepts: the currencies in
// circulation, plus a few recently replaced ones (HRK, SLL, ZWL) that old
// exports still carry. Precious metals, fund and test codes are left out:
// no shop prices in them.
var isoCurrencies = func() map[string]bool {
	const codes = `
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB
BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK
DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK
HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD
KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN
MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD
RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB
TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF
XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL`
	m := map[string]bool{}
	for _, c := range strings.Fields(codes) {
		m[c] = true
	}
	return m
}()

// currencySymbols are the symbols herald reads as one currency. Longer
// symbols come first, so that "US$" is not read as "$" after "US".
var currencySymbols = []struct{ symbol, code string }{
	{"US$", "USD"}, {"CA$", "CAD"}, {"AU$", "AUD"}, {"NZ$", "NZD"}, {"HK$", "HKD"},
	{"MX$", "MXN"}, {"CN¥", "CNY"}, {"JP¥", "JPY"}, {"R$", "BRL"}, {"A$", "AUD"},
	{"S$", "SGD"}, {"zł", "PLN"}, {"Kč", "CZK"}, {"円", "JPY"},
	{"€", "EUR"}, {"£", "GBP"}, {"₹", "INR"}, {"₩", "KRW"}, {"₽", "RUB"},
	{"₺", "TRY"}, {"₪", "ILS"}, {"₴", "UAH"}, {"₫", "VND"}, {"₱", "PHP"},
	{"฿", "THB"}, {"₦", "NGN"}, {"₸", "KZT"}, {"₲", "PYG"}, {"₡", "CRC"},
	{"₼", "AZN"}, {"₾", "GEL"}, {"৳", "BDT"},
}

// ambiguousSymbols are symbols several currencies write: herald takes the
// currency from source.currency when it is one of them, and asks for it
// otherwise, rather than guess that "$" means US dollars.
var ambiguousSymbols = []struct {
	symbol string
	codes  []string
}{
	{"$", []string{"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "TWD", "MXN", "ARS", "CLP", "COP", "UYU",
		"BSD", "BBD", "BZD", "BMD", "BND", "KYD", "FJD", "GYD", "JMD", "LRD", "NAD", "SBD", "SRD", "TTD", "XCD", "CUP", "DOP"}},
	{"¥", []string{"JPY", "CNY"}},
	{"kr", []string{"SEK", "NOK", "DKK", "ISK"}},
}

// normalizeCurrency returns code as an upper-case ISO 4217 code, or an error
// that says what a currency should look like.
func normalizeCurrency(code string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if isoCurrencies[c] {
		return c, nil
	}
	if c == "" {
		return "", fmt.Errorf("empty currency: use an ISO 4217 code like USD or EUR")
	}
	for _, s := range currencySymbols {
		if s.symbol == strings.TrimSpace(code) {
			return "", fmt.Errorf("%q is a symbol: write its ISO 4217 code, %s", code, s.code)
		}
	}
	return "", fmt.Errorf("%q is not an ISO 4217 currency code (like USD, EUR, GBP or JPY)", code)
}

// symbolCurrency returns the currency an ambiguous symbol stands for, given
// the source's currency, or an error that says how to settle it.
func symbolCurrency(symbol, fallback string) (string, error) {
	for _, a := range ambiguousSymbols {
		if a.symbol != symbol {
			continue
		}
		if fallback == "" {
			return "", fmt.Errorf("%q is the symbol of several currencies (%s…): write the ISO code (15.00 %s) or set source.currency",
				symbol, strings.Join(a.codes[:min(3, len(a.codes))], ", "), a.codes[0])
		}
		if !slices.Contains(a.codes, fallback) {
			return "", fmt.Errorf("%q is not a symbol of %s, which source.currency says prices are in", symbol, fallback)
		}
		return fallback, nil
	}
	return "", fmt.Errorf("unknown currency symbol %q", symbol)
}
