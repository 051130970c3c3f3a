package campaign

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	"github.com/govalues/decimal"
	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// moneyFunc is the money template helper. Templates call it as
//
//	{{ money .Item.Price .Item.Currency }}   or   {{ .Item.Price | money .Item.Currency }}
//
// and each subscriber reads the amount the way their language writes it:
// "$1,234.50" in en, "1.234,50 €" in de. A template that calls money is
// rendered per subscriber, with money bound to their locale (forLocale).
const moneyFunc = "money"

// unboundMoney stands in for money until a template is bound to a locale;
// templates are always executed bound, so it only formats for English.
func unboundMoney(args ...any) (string, error) { return formatMoney("en", args...) }

// formatMoney formats an amount (a decimal, a decimal string or an integer)
// in a currency (an ISO 4217 code, or none) for locale, the two in either
// order, so that the amount may come through a pipeline. The amount is
// never rounded through a float: its digits are printed exactly, padded to
// the currency's usual number of decimals.
func formatMoney(locale string, args ...any) (string, error) {
	if len(args) == 0 || len(args) > 2 {
		return "", fmt.Errorf("money: takes an amount and a currency, got %d arguments", len(args))
	}
	amount, code := args[0], ""
	if len(args) == 2 {
		c, ok := args[1].(string)
		if s, first := args[0].(string); first && isCode(s) {
			amount, c, ok = args[1], s, true // {{ .Item.Price | money .Item.Currency }}
		}
		if !ok {
			return "", fmt.Errorf("money: the currency must be a code such as USD, not %T", args[1])
		}
		code = strings.ToUpper(strings.TrimSpace(c))
	}
	var d decimal.Decimal
	switch v := amount.(type) {
	case decimal.Decimal:
		d = v
	case string:
		var err error
		if d, err = decimal.Parse(strings.TrimSpace(v)); err != nil {
			return "", fmt.Errorf("money: %q is not a decimal amount", v)
		}
	case int:
		d = decimal.MustNew(int64(v), 0)
	case int64:
		d = decimal.MustNew(v, 0)
	default:
		return "", fmt.Errorf("money: cannot format %T as an amount: pass a price such as .Item.Price", amount)
	}
	lf := localeFormat(locale)
	scale := 2
	var unit currency.Unit
	known := false
	if code != "" {
		if u, err := currency.ParseISO(code); err == nil {
			unit, known = u, true
			scale, _ = currency.Standard.Rounding(u)
		}
	}
	d = d.Trim(0)
	if d.Scale() < scale {
		d = d.Pad(scale)
	}
	num := lf.number(d)
	switch {
	case code == "":
		return num, nil
	case !known:
		return num + " " + code, nil
	}
	sym := lf.printer.Sprint(currency.Symbol(unit))
	if lf.symbolAfter {
		return num + "\u00a0" + sym, nil
	}
	if letters(sym) {
		return sym + "\u00a0" + num, nil // a code for a symbol: "CHF 12.50"
	}
	return sym + num, nil
}

// localeFmt is how one locale writes numbers.
type localeFmt struct {
	printer     *message.Printer
	decimalSep  string
	symbolAfter bool
}

var localeCache sync.Map // locale string → *localeFmt

// symbolAfterLanguages write the currency symbol after the amount (CLDR's
// currency patterns for these languages).
var symbolAfterLanguages = map[string]bool{
	"de": true, "fr": true, "es": true, "it": true, "pt": true, "ru": true, "pl": true, "cs": true,
	"sk": true, "sv": true, "fi": true, "da": true, "nb": true, "no": true, "uk": true, "hu": true,
	"ro": true, "bg": true, "hr": true, "sl": true, "lt": true, "lv": true, "et": true, "el": true,
	"vi": true, "ca": true, "is": true, "sr": true,
}

func localeFormat(locale string) *localeFmt {
	if v, ok := localeCache.Load(locale); ok {
		return v.(*localeFmt)
	}
	tag, err := language.Parse(strings.ReplaceAll(strings.TrimSpace(locale), "_", "-"))
	if err != nil || locale == "" {
		tag = language.English
	}
	// Western digits everywhere: the amount's own digits are spliced in
	// after the grouped whole part, and must match it. (Arabic, Persian or
	// Bengali subscribers read Western digits in prices every day.)
	if latn, err := tag.SetTypeForKey("nu", "latn"); err == nil {
		tag = latn
	}
	p := message.NewPrinter(tag)
	lf := &localeFmt{printer: p}
	// The decimal separator, as CLDR has it for this locale.
	half := p.Sprint(number.Decimal(0.5, number.Scale(1)))
	lf.decimalSep = strings.TrimSuffix(strings.TrimPrefix(half, "0"), "5")
	if lf.decimalSep == "" {
		lf.decimalSep = "."
	}
	base, _ := tag.Base()
	lf.symbolAfter = symbolAfterLanguages[base.String()]
	if region, conf := tag.Region(); conf == language.Exact && (base.String() == "pt" && region.String() == "BR" || base.String() == "es" && region.String() != "ES" && region.String() != "") {
		lf.symbolAfter = false // R$ 10,00; US$10.00 in Latin American Spanish
	}
	v, _ := localeCache.LoadOrStore(locale, lf)
	return v.(*localeFmt)
}

// number writes d with the locale's grouping and decimal separator, every
// digit exact: the whole part is grouped by the locale's printer, the
// fraction appended as it is.
func (lf *localeFmt) number(d decimal.Decimal) string {
	s := d.String()
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	out := whole
	if i, err := strconv.ParseInt(whole, 10, 64); err == nil {
		out = lf.printer.Sprint(number.Decimal(i))
	}
	if frac != "" {
		out += lf.decimalSep + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// isCode reports whether s looks like a currency code (three letters).
func isCode(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) == 3 && letters(strings.ToUpper(s))
}

// letters reports whether s is all upper-case ASCII letters.
func letters(s string) bool { return strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" }

// localeTemplates caches templates bound to a locale: a clone of each
// template that calls money, made once per locale. The zero value is ready.
type localeTemplates struct{ m sync.Map } // localeKey → *template.Template

type localeKey struct {
	t      *template.Template
	locale string
}

// forLocale returns t with money bound to locale.
func (lt *localeTemplates) forLocale(t *template.Template, locale string) (*template.Template, error) {
	k := localeKey{t, locale}
	if v, ok := lt.m.Load(k); ok {
		return v.(*template.Template), nil
	}
	c, err := t.Clone()
	if err != nil {
		return nil, err
	}
	c.Funcs(template.FuncMap{moneyFunc: func(args ...any) (string, error) { return formatMoney(locale, args...) }})
	v, _ := lt.m.LoadOrStore(k, c)
	return v.(*template.Template), nil
}

// callsMoney reports whether a template calls the money helper anywhere.
func callsMoney(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return false
		}
		for _, c := range n.Nodes {
			if callsMoney(c) {
				return true
			}
		}
	case *parse.ActionNode:
		return callsMoney(n.Pipe)
	case *parse.IfNode:
		return callsMoney(n.Pipe) || callsMoney(n.List) || callsMoney(n.ElseList)
	case *parse.RangeNode:
		return callsMoney(n.Pipe) || callsMoney(n.List) || callsMoney(n.ElseList)
	case *parse.WithNode:
		return callsMoney(n.Pipe) || callsMoney(n.List) || callsMoney(n.ElseList)
	case *parse.TemplateNode:
		return callsMoney(n.Pipe)
	case *parse.PipeNode:
		if n == nil {
			return false
		}
		for _, c := range n.Cmds {
			if callsMoney(c) {
				return true
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if callsMoney(a) {
				return true
			}
		}
	case *parse.IdentifierNode:
		return n.Ident == moneyFunc
	}
	return false
}
