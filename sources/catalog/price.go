package catalog

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/govalues/decimal"

	"github.com/heraldcli/herald/sources"
)

// Errors of ParsePrice and minorUnits. The value is not in them: a
// ProductError shows it next to the field.
var (
	errEmptyPrice  = errors.New("empty")
	errNotANumber  = errors.New("not a number")
	errNegative    = errors.New("negative: a price cannot be below zero")
	errTooPrecise  = errors.New("too many digits: herald keeps prices exact to 19 digits")
	errBadGrouping = errors.New("not a number: its digit groups are neither thousands (1,234.50 or 1.234,50) nor a decimal part")
)

// ParsePrice reads a price as catalogs write it: an amount with an optional
// currency before or after it, with or without a space.
//
//	15.00 USD   USD 15.00   15.10   1,234.50   1.234,50   1 234,50   €12.99   1,500円
//
// The amount is read exactly, never through a float. Its decimal separator
// is found by these rules: when both "," and "." appear, the last one is
// the decimal separator; a lone "," followed by exactly three digits
// separates thousands ("1,234" is 1234) and otherwise is a decimal comma
// ("12,50"); a lone "." is always a decimal point ("1.234" is 1.234), and
// one that appears several times separates thousands ("1.234.567"). Spaces
// (no-break and thin spaces too) and apostrophes (1'234.50) separate
// thousands. Thousands groups must have three digits (two are accepted
// between others, as Indian grouping writes 1,23,456.00).
//
// The currency is an ISO 4217 code (any case) or a symbol that names one
// currency (€ £ ₹ ₩ ₽ ₺ ₪ ₴ ₫ ₱ ฿ zł Kč 円 US$ CA$ A$ NZ$ HK$ S$ MX$ R$ CN¥
// JP¥). "$", "¥" and "kr" are written by several currencies, so ParsePrice
// does not guess: it returns an error saying to write the ISO code. A
// catalog source reads them with its configured currency instead. The
// currency is "" when s names none.
//
// Errors say what is wrong with s ("not a number", "negative…", an unknown
// currency); they do not repeat s.
func ParsePrice(s string) (amount decimal.Decimal, currency string, err error) {
	p, err := readPrice(s)
	if err != nil {
		return decimal.Decimal{}, "", err
	}
	if p.symbol != "" {
		_, err := symbolCurrency(p.symbol, "")
		return decimal.Decimal{}, "", err
	}
	return p.amount, p.currency, nil
}

// priceIn reads a price whose currency, when s does not name one (or
// writes an ambiguous symbol like "$"), is fallback: the source's currency.
// It fails when neither says which currency it is.
func priceIn(s, fallback string) (decimal.Decimal, string, error) {
	p, err := readPrice(s)
	if err != nil {
		return decimal.Decimal{}, "", err
	}
	switch {
	case p.symbol != "":
		cur, err := symbolCurrency(p.symbol, fallback)
		return p.amount, cur, err
	case p.currency != "":
		return p.amount, p.currency, nil
	case fallback == "":
		return decimal.Decimal{}, "", errors.New("no currency: write it with the amount (15.00 USD) or set source.currency")
	}
	return p.amount, fallback, nil
}

// parsedPrice is what readPrice found: an amount, and either a currency or an
// ambiguous symbol that only the source's currency can settle.
type parsedPrice struct {
	amount   decimal.Decimal
	currency string
	symbol   string
}

// currencyMarks are every currency symbol readPrice knows, longest first.
var currencyMarks = func() []string {
	var all []string
	for _, s := range currencySymbols {
		all = append(all, s.symbol)
	}
	for _, s := range ambiguousSymbols {
		all = append(all, s.symbol)
	}
	slices.SortStableFunc(all, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return all
}()

// readPrice takes the currency marks off either end of s (up to two each
// side: "CAD $15") and reads the amount between them.
func readPrice(s string) (parsedPrice, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return parsedPrice{}, errEmptyPrice
	}
	if isMinus(s) {
		return parsedPrice{}, errNegative
	}
	var found []string // the currency codes or symbols written, in order
	var err error
	// Up to two marks on each side: "CAD $15", "15 $ USD".
	for range 2 {
		if code, rest, ok := isoPrefix(s); ok {
			found, s = append(found, code), strings.TrimSpace(rest)
		} else if sym, ok := symbolPrefix(s); ok {
			found, s = append(found, sym), strings.TrimSpace(s[len(sym):])
		}
	}
	for range 2 {
		if code, rest, ok := isoSuffix(s); ok {
			found, s = append(found, code), strings.TrimSpace(rest)
		} else if sym, ok := symbolSuffix(s); ok {
			found, s = append(found, sym), strings.TrimSpace(s[:len(s)-len(sym)])
		}
	}
	var p parsedPrice
	for _, f := range found {
		if f == strings.ToUpper(f) && len(f) == 3 && isoCurrencies[f] {
			err = p.addCurrency(f)
		} else {
			err = p.addSymbol(f)
		}
		if err != nil {
			return parsedPrice{}, err
		}
	}
	if s == "" {
		return parsedPrice{}, errNotANumber
	}
	if isMinus(s) {
		return parsedPrice{}, errNegative
	}
	p.amount, err = parseAmount(s)
	if err != nil {
		if w := edgeWord(s); w != "" && strings.ContainsAny(s, "0123456789") {
			return parsedPrice{}, fmt.Errorf("unknown currency %q: use an ISO 4217 code like USD or EUR", strings.ToUpper(w))
		}
	}
	return p, err
}

// edgeWord returns a three-letter word at the start or end of s, which
// in a price is probably meant as a currency code.
func edgeWord(s string) string {
	n := 0
	for n < len(s) && isASCIILetter(s[n]) {
		n++
	}
	if n == 3 {
		return s[:3]
	}
	n = 0
	for n < len(s) && isASCIILetter(s[len(s)-1-n]) {
		n++
	}
	if n == 3 {
		return s[len(s)-3:]
	}
	return ""
}

func isMinus(s string) bool {
	return strings.HasPrefix(s, "-") || strings.HasPrefix(s, "−")
}

func (p *parsedPrice) addCurrency(code string) error {
	switch {
	case p.currency != "" && p.currency != code:
		return fmt.Errorf("two currencies, %s and %s", p.currency, code)
	case p.symbol != "":
		if _, err := symbolCurrency(p.symbol, code); err != nil {
			return err
		}
		p.symbol = ""
	}
	p.currency = code
	return nil
}

func (p *parsedPrice) addSymbol(sym string) error {
	for _, s := range currencySymbols {
		if s.symbol == sym {
			return p.addCurrency(s.code)
		}
	}
	// An ambiguous symbol, settled by an ISO code next to it.
	if p.currency != "" {
		_, err := symbolCurrency(sym, p.currency)
		return err
	}
	p.symbol = sym
	return nil
}

// isoPrefix reads a three-letter currency code at the start of s, as in
// "USD 15.00" or "usd15". An unknown three-letter word is not a code.
func isoPrefix(s string) (code, rest string, ok bool) {
	n := 0
	for n < len(s) && isASCIILetter(s[n]) {
		n++
	}
	if n != 3 {
		return "", s, false
	}
	c := strings.ToUpper(s[:3])
	if !isoCurrencies[c] {
		return "", s, false
	}
	return c, s[3:], true
}

func isoSuffix(s string) (code, rest string, ok bool) {
	n := 0
	for n < len(s) && isASCIILetter(s[len(s)-1-n]) {
		n++
	}
	if n != 3 {
		return "", s, false
	}
	c := strings.ToUpper(s[len(s)-3:])
	if !isoCurrencies[c] {
		return "", s, false
	}
	return c, s[:len(s)-3], true
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func symbolPrefix(s string) (string, bool) {
	for _, sym := range currencyMarks {
		if strings.HasPrefix(s, sym) {
			return sym, true
		}
	}
	return "", false
}

func symbolSuffix(s string) (string, bool) {
	for _, sym := range currencyMarks {
		if strings.HasSuffix(s, sym) {
			return sym, true
		}
	}
	return "", false
}

// isGroupSpace reports whether r separates thousands in any locale's
// writing: a space, no-break space, thin space, or an apostrophe (Swiss).
func isGroupSpace(r rune) bool {
	return r == '\'' || r == '’' || unicode.IsSpace(r)
}

// parseAmount reads the digits of a price with the separator rules of
// ParsePrice.
func parseAmount(s string) (decimal.Decimal, error) {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r == '.' || r == ',' || isGroupSpace(r)) {
			return decimal.Decimal{}, errNotANumber
		}
	}
	lastDot, lastComma := strings.LastIndexByte(s, '.'), strings.LastIndexByte(s, ',')
	dots, commas := strings.Count(s, "."), strings.Count(s, ",")
	decimalAt := -1 // the byte index of the decimal separator
	switch {
	case dots > 0 && commas > 0:
		decimalAt = max(lastDot, lastComma)
	case commas == 1:
		before, after := s[:lastComma], s[lastComma+1:]
		if len(after) != 3 || !digitsOnly(after) || strings.Trim(before, "0") == "" {
			decimalAt = lastComma
		}
	case dots == 1:
		decimalAt = lastDot
	}
	intPart, frac := s, ""
	if decimalAt >= 0 {
		intPart, frac = s[:decimalAt], s[decimalAt+1:]
		if frac == "" || !digitsOnly(frac) {
			return decimal.Decimal{}, errNotANumber
		}
	}
	digits, err := ungroup(intPart)
	if err != nil {
		return decimal.Decimal{}, err
	}
	if digits == "" && frac == "" {
		return decimal.Decimal{}, errNotANumber
	}
	if significant := len(strings.TrimLeft(digits, "0")) + len(frac); significant > decimal.MaxPrec || len(frac) > decimal.MaxScale {
		return decimal.Decimal{}, errTooPrecise
	}
	if digits == "" {
		digits = "0"
	}
	if frac != "" {
		digits += "." + frac
	}
	d, err := decimal.Parse(digits)
	if err != nil {
		return decimal.Decimal{}, errTooPrecise
	}
	return d, nil
}

// ungroup removes the thousands separators from the integer part of an
// amount, checking that they group digits as thousands do. Only one kind
// of separator may appear: "1.234 567" is not a number.
func ungroup(s string) (string, error) {
	if digitsOnly(s) {
		return s, nil
	}
	kind := rune(0)
	for _, r := range s {
		if r >= '0' && r <= '9' {
			continue
		}
		k := separatorKind(r)
		if kind == 0 {
			kind = k
		}
		if k != kind {
			return "", errNotANumber
		}
	}
	isSep := func(r rune) bool { return !(r >= '0' && r <= '9') }
	groups := strings.FieldsFunc(s, isSep)
	// FieldsFunc drops empty groups: "1,,234" or ",234" must not pass.
	seps := 0
	for _, r := range s {
		if isSep(r) {
			seps++
		}
	}
	if seps != len(groups)-1 {
		return "", errBadGrouping
	}
	for i, g := range groups {
		switch {
		case i == 0 && len(g) <= 3:
		case i == len(groups)-1 && len(g) == 3:
		case i > 0 && i < len(groups)-1 && (len(g) == 2 || len(g) == 3):
		default:
			return "", errBadGrouping
		}
	}
	return strings.Join(groups, ""), nil
}

// separatorKind classes a thousands separator: all spaces are one kind, and
// both apostrophes are another.
func separatorKind(r rune) rune {
	switch {
	case r == '\'' || r == '’':
		return '\''
	case unicode.IsSpace(r):
		return ' '
	}
	return r
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// minorUnits turns an amount in a currency's minor units into an exact
// decimal: "1599" with 2 digits is 15.99, "1500" with 0 digits (JPY) is
// 1500, "12500" with 3 digits (KWD) is 12.500. value is a whole number,
// as text (a JSON string or number).
func minorUnits(value string, digits int) (decimal.Decimal, error) {
	v := strings.TrimSpace(value)
	switch {
	case v == "":
		return decimal.Decimal{}, errEmptyPrice
	case isMinus(v):
		return decimal.Decimal{}, errNegative
	case !digitsOnly(v):
		return decimal.Decimal{}, errors.New("not a whole number of minor units (cents): the Store API writes 15.99 as 1599")
	case digits < 0 || digits > 18:
		return decimal.Decimal{}, fmt.Errorf("the currency's minor unit, %d digits, is out of range (0 to 18)", digits)
	}
	v = strings.TrimLeft(v, "0")
	if len(v) > 18 {
		return decimal.Decimal{}, errTooPrecise
	}
	n := int64(0)
	if v != "" {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil {
			return decimal.Decimal{}, errTooPrecise
		}
	}
	d, err := decimal.New(n, digits)
	if err != nil {
		return decimal.Decimal{}, errTooPrecise
	}
	return d, nil
}

// availabilities maps the normalised spellings of stock status that
// catalogs use (Google Merchant, schema.org, WooCommerce's classes, plain
// words) to herald's.
var availabilities = map[string]sources.Availability{
	"instock": sources.InStock, "available": sources.InStock, "availablefororder": sources.InStock,
	"limitedavailability": sources.InStock, "instoreonly": sources.InStock, "onlineonly": sources.InStock,
	"yes": sources.InStock, "true": sources.InStock,

	"outofstock": sources.OutOfStock, "soldout": sources.OutOfStock, "discontinued": sources.OutOfStock,
	"unavailable": sources.OutOfStock, "notavailable": sources.OutOfStock, "no": sources.OutOfStock,
	"false": sources.OutOfStock,

	"preorder": sources.Preorder, "presale": sources.Preorder,

	"backorder": sources.Backorder, "onbackorder": sources.Backorder, "backordered": sources.Backorder,
	"availableonbackorder": sources.Backorder,
}

// ParseAvailability reads a stock status as catalogs write it, ignoring
// case, spaces, "-" and "_", and a schema.org prefix:
//
//   - in_stock: in stock, InStock, available, LimitedAvailability,
//     InStoreOnly, OnlineOnly, yes, true
//   - out_of_stock: out of stock, sold out, discontinued, unavailable,
//     no, false
//   - preorder: preorder, pre-order, PreSale
//   - backorder: backorder, on backorder, available-on-backorder
//
// A whole number is a stock count: 0 is out_of_stock, more is in_stock.
// Discontinued products read as out of stock, so that one brought back is
// announced as back in stock. The error for anything else lists what herald
// reads; an empty s is an error too (callers decide what a missing status
// means).
func ParseAvailability(s string) (sources.Availability, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	if k != "" && digitsOnly(k) {
		// A stock count.
		if strings.Trim(k, "0") == "" {
			return sources.OutOfStock, nil
		}
		return sources.InStock, nil
	}
	for _, prefix := range []string{"https://schema.org/", "http://schema.org/", "schema:"} {
		k = strings.TrimPrefix(k, prefix)
	}
	k = strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, k)
	if a, ok := availabilities[k]; ok {
		return a, nil
	}
	if k == "" {
		return "", errors.New("empty")
	}
	return "", errors.New("unknown stock status: herald reads in stock, out of stock, preorder and backorder (also written InStock, in_stock, https://schema.org/InStock…) or a stock count")
}

// validAvailability reports whether a is one of herald's four statuses.
func validAvailability(a sources.Availability) bool {
	switch a {
	case sources.InStock, sources.OutOfStock, sources.Preorder, sources.Backorder:
		return true
	}
	return false
}
