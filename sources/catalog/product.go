package catalog

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/govalues/decimal"

	"github.com/heraldcli/herald/sources"
)

// productRef names the product being read, for its errors.
type productRef struct {
	// id is the product's id once known; pos its place in the page or
	// file ("#3", "line 14"), used when the id is missing and shown next
	// to it for a text file, whose users look products up by line.
	id, title, pos string
	// showPos keeps pos next to the id ("SKU-1 (line 7)").
	showPos bool
}

func (r productRef) name() string {
	switch {
	case r.id == "":
		return r.pos
	case r.showPos:
		return r.id + " (" + r.pos + ")"
	}
	return r.id
}

// fail is a *ProductError about field, which held value.
func (r productRef) fail(field, value string, err error) *ProductError {
	return &ProductError{Product: r.name(), Title: r.title, Field: field, Value: clipText(value, 80), Err: err}
}

// errMissing is a required field that a product does not have.
func errMissing(what string) error {
	return fmt.Errorf("missing: every product needs %s", what)
}

// productItem starts the item of a product with id: its key is "id:" and the
// id, as for every catalog format.
func productItem(id string) sources.Item {
	return sources.Item{Key: "id:" + id}
}

// setPrices sets a product's regular price and, when it is lower, what it
// costs on sale, with the sale's discount: a "sale" price at or above the
// regular one is not a sale.
func setPrices(it *sources.Item, regular, sale decimal.Decimal) {
	it.Price = regular
	it.SalePrice = decimal.Decimal{}
	it.Discount = 0
	if !sale.IsPos() || sale.Cmp(regular) >= 0 {
		return
	}
	it.SalePrice = sale
	it.Discount = salePercent(regular, sale)
}

// salePercent is how far sale is below regular, in whole percent rounded
// down: a 19.99 sale of a 25.00 product is 20 % off.
func salePercent(regular, sale decimal.Decimal) int {
	off, err := regular.Sub(sale)
	if err != nil || !regular.IsPos() {
		return 0
	}
	if off, err = off.Mul(decimal.Hundred); err != nil {
		return 0
	}
	pct, err := off.Quo(regular)
	if err != nil {
		return 0
	}
	whole, _, ok := pct.Trunc(0).Int64(0)
	if !ok {
		return 0
	}
	return int(whole)
}

// webURL resolves a link or image URL of a product against the page it
// came from and checks that it is an http(s) URL a message can point at.
// A protocol-relative URL ("//cdn.example.com/a.jpg") in a local file
// takes https.
func webURL(base *url.URL, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	ref, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("not a URL")
	}
	if ref.Scheme == "" && base != nil && base.Scheme != "http" && base.Scheme != "https" {
		if ref.Host == "" {
			return "", errors.New("a relative URL in a local file: write the full https:// address, herald cannot tell which site it belongs to")
		}
		ref.Scheme = "https"
	}
	u := ref
	if base != nil {
		u = base.ResolveReference(ref)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("not a web address: write a full https:// URL")
	}
	return u.String(), nil
}

// splitTags splits a comma-separated list ("running, trail,  ") into its
// trimmed, non-empty entries.
func splitTags(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if p := sources.PlainTitle(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// sourceCurrency is the source's configured currency as an ISO code, ""
// when none is set.
func sourceCurrency(s *Source) (string, error) {
	if s == nil || strings.TrimSpace(s.Currency) == "" {
		return "", nil
	}
	c, err := normalizeCurrency(s.Currency)
	if err != nil {
		return "", &ConfigError{Setting: "source.currency", Err: err}
	}
	return c, nil
}
