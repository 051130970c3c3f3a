package campaign

import (
	"fmt"
	"strings"
	"time"

	"github.com/govalues/decimal"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/sources"
)

// Lint renders the campaign with items (newest first, as a source returns
// them) for sub, the way a run would, and checks every message on every
// channel. Template errors come back as the error, with file:line.
func (s *Spec) Lint(channels map[string]Channel, items []sources.Item, sub audience.Subscriber, now time.Time) ([]LintProblem, error) {
	c, err := compileMessage(s)
	if err != nil {
		return nil, SpecErrors{specErr(s, err)}
	}
	e := &Engine{Now: func() time.Time { return now }}
	var picked []sources.Item
	parts := 1
	switch s.Mode {
	case Digest:
		picked = items[:min(s.MaxItems, len(items))]
	case Each:
		picked = items[:min(s.MaxItems, len(items))]
		parts = len(picked)
	}
	if s.Mode != Static && len(picked) == 0 {
		return nil, nil // nothing a run would send
	}
	var out []LintProblem
	for part := range parts {
		m, err := c.render(s, e.templateData(s, picked, part, sub))
		if err != nil {
			return nil, SpecErrors{specErr(s, err)}
		}
		out = append(out, LintMessage(s, channels, part, m)...)
	}
	return out, nil
}

func specErr(s *Spec, err error) *SpecError {
	if te, ok := err.(*templateError); ok {
		return &SpecError{File: s.File, Line: te.line, Msg: te.msg}
	}
	return &SpecError{File: s.File, Line: s.Line("message"), Msg: err.Error()}
}

// SampleItems are stand-in items for linting a campaign whose source cannot
// be read offline: realistic lengths, and every character that could break
// formatting. They are products too (a price, a sale, a price drop), so that
// a catalog campaign's cards are linted with a realistic price line.
func SampleItems(n int) []sources.Item {
	now := time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)
	out := make([]sources.Item, n)
	for i := range out {
		out[i] = sources.Item{
			Key:       fmt.Sprintf("sample:%d", i+1),
			Title:     fmt.Sprintf("Sample post %d: <tags> & *stars*, _underscores_ and [brackets] in a realistic title", i+1),
			Link:      fmt.Sprintf("https://example.com/posts/%d-sample-post-with_a_long_slug?ref=(feed)", i+1),
			Summary:   strings.Repeat("A summary sentence of ordinary length, with punctuation & symbols. ", 4),
			Image:     fmt.Sprintf("https://example.com/images/%d.jpg", i+1),
			Author:    "Sample Author",
			Published: now.Add(-time.Duration(i) * 24 * time.Hour),

			SKU:          fmt.Sprintf("SAMPLE-%04d-XL", i+1),
			Price:        decimal.MustParse("12345.67"),
			SalePrice:    decimal.MustParse("9876.50"),
			Currency:     "EUR",
			Availability: sources.InStock,
			Brand:        "Sample Brand & Co",
			Category:     "Apparel & Accessories > Shoes > Running",
			Discount:     20,
			Change:       &sources.Change{Trigger: sources.PriceDrop, OldPrice: decimal.MustParse("12345.67")},
		}
	}
	return out
}
