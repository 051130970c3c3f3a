package campaign

import (
	"fmt"
	"strings"
	"sync"
	"text/template/parse"

	"github.com/govalues/decimal"
	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// moneyFunc is the money template helper. Templates call it as
//
//	{{ money .Item.Price .Item.Currency }}
//
// and herald adds the subscriber's locale as its first argument when it
// compiles the template (see injectLocale), so each subscriber reads the
// amount the way their language writes it: "$1,234.50" in en, "1.234,50 €"
// in de.
const moneyFunc = "money"

// formatMoney formats amount (a decimal, a decimal string or an integer)
// in currency (an ISO 4217 code, or none) for locale. The amount is never
// rounded through a float: its digits are printed exactly, padded to the
// currency's usual number of decimals.
func formatMoney(locale string, amount any, currencyCode ...string) (string, error) {
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
	if len(currencyCode) > 1 {
		return "", fmt.Errorf("money: takes an amount and a currency, got %d arguments", 1+len(currencyCode))
	}
	code := ""
	if len(currencyCode) == 1 {
		code = strings.ToUpper(strings.TrimSpace(currencyCode[0]))
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
	if strings.Trim(sym, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
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
	"tr": false, "vi": true, "ca": true, "is": true, "sr": true,
}

func localeFormat(locale string) *localeFmt {
	if v, ok := localeCache.Load(locale); ok {
		return v.(*localeFmt)
	}
	tag, err := language.Parse(strings.ReplaceAll(strings.TrimSpace(locale), "_", "-"))
	if err != nil || locale == "" {
		tag = language.English
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
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var w decimal.Decimal
	w, err := decimal.Parse(whole)
	out := whole
	if i, _, ok := w.Int64(0); err == nil && ok {
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

// injectLocale makes every call of the money helper in a template pass the
// subscriber's locale first: {{ money .Item.Price .Item.Currency }} runs as
// money $.Subscriber.Locale .Item.Price .Item.Currency. It reports whether
// the template calls money (and so renders per subscriber).
func injectLocale(n parse.Node) bool {
	found := false
	var walk func(parse.Node)
	walkPipe := func(p *parse.PipeNode) {
		if p == nil {
			return
		}
		for _, c := range p.Cmds {
			walk(c)
		}
	}
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walkPipe(n.Pipe)
		case *parse.IfNode:
			walkPipe(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walkPipe(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walkPipe(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walkPipe(n.Pipe)
		case *parse.PipeNode:
			walkPipe(n)
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
			if len(n.Args) > 0 {
				if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == moneyFunc {
					found = true
					loc := &parse.VariableNode{NodeType: parse.NodeVariable, Pos: id.Pos, Ident: []string{"$", "Subscriber", "Locale"}}
					n.Args = append([]parse.Node{id, loc}, n.Args[1:]...)
				}
			}
		}
	}
	walk(n)
	return found
}
