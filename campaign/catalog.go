package campaign

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/govalues/decimal"

	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/sources/catalog"
)

// CatalogSource is a source that streams a product catalog; the engine
// diffs it against the campaign's remembered product states instead of
// picking unseen items.
type CatalogSource interface {
	Source
	Scan(ctx context.Context, prev sources.Validators, emit func(sources.Item) error) (catalog.ScanResult, error)
}

// validateCatalog checks a catalog source and the catalog keys (on:,
// price_drop:, filter:, cooldown:), and compiles them into s.rules.
func (s *Spec) validateCatalog(errs *errList) {
	src := s.Source
	cs := catalog.Source{Format: src.Format, URL: src.URL, Fields: src.Fields, Items: src.Items, Currency: src.Currency}
	if err := cs.Validate(); err != nil {
		list := []error{err}
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			list = joined.Unwrap()
		}
		for _, e := range list {
			var ce *catalog.ConfigError
			switch {
			case !errors.As(e, &ce):
				errs.add(s.Line("source"), "source: %v", e)
			case ce.Setting == "source.url":
				// validate says it for every source
			default:
				errs.add(s.Line(ce.Setting), "%s", ce)
			}
		}
	}

	r := catalog.Rules{On: s.On, Cooldown: s.Cooldown}
	if len(r.On) == 0 {
		r.On = []string{sources.NewProduct}
	}
	for i, t := range s.On {
		if !slices.Contains(catalog.Triggers, t) {
			errs.add(s.Line(fmt.Sprintf("on.%d", i)), "on: unknown trigger %q: use %s", t, strings.Join(catalog.Triggers, ", "))
		}
		if slices.Index(s.On, t) != i {
			errs.add(s.Line(fmt.Sprintf("on.%d", i)), "on: %s is listed twice", t)
		}
	}
	if s.PriceDrop != nil {
		if !slices.Contains(r.On, sources.PriceDrop) {
			errs.add(s.Line("price_drop"), "price_drop: is set but on: does not list price_drop")
		}
		p := s.PriceDrop.MinPercent
		d, err := decimal.NewFromFloat64(p)
		if err != nil || p < 0 || p >= 100 {
			errs.add(s.Line("price_drop.min_percent"), "price_drop.min_percent must be from 0 to under 100 (20 means 20%%)")
		} else {
			r.MinDropPercent = d
		}
	}
	if s.Cooldown < 0 {
		errs.add(s.Line("cooldown"), "cooldown must be positive, e.g. 168h (the default, 7 days)")
	}
	if f := s.Filter; f != nil {
		r.Filter = catalog.Filter{Categories: f.Category, Brands: f.Brand, Keywords: f.Keywords}
		for _, b := range []struct {
			key string
			raw string
			to  *decimal.Decimal
		}{{"filter.min_price", f.MinPrice, &r.Filter.MinPrice}, {"filter.max_price", f.MaxPrice, &r.Filter.MaxPrice}} {
			if b.raw == "" {
				continue
			}
			d, err := decimal.Parse(strings.TrimSpace(b.raw))
			if err != nil || d.IsNeg() {
				errs.add(s.Line(b.key), "%s %q: write a plain decimal amount such as \"150.00\"", b.key, b.raw)
				continue
			}
			*b.to = d
		}
		if !r.Filter.MinPrice.IsZero() && !r.Filter.MaxPrice.IsZero() && r.Filter.MaxPrice.Less(r.Filter.MinPrice) {
			errs.add(s.Line("filter.max_price"), "filter.max_price is below filter.min_price: no product could match")
		}
	}
	if s.MinItems > 0 {
		errs.add(s.Line("min_items"), "min_items gathers feed items; a catalog campaign announces what changed at each poll")
	}
	s.rules = r
}

// CatalogRules are the campaign's catalog triggers and filter.
func (s *Spec) CatalogRules() catalog.Rules { return s.rules }

// pickProducts diffs a catalog against what the campaign saw last and
// decides which changed products a run announces.
func (e *Engine) pickProducts(ctx context.Context, d *Draft, src CatalogSource, state SourceState) error {
	spec := d.Spec
	prev, err := e.Store.ProductStates(ctx, spec.Name, spec.Source.URL)
	if err != nil {
		return err
	}
	rules := spec.CatalogRules()
	rules.Initialized = state.Initialized
	rules.Backfill = spec.Backfill()
	differ := catalog.NewDiffer(rules, prev, e.now())
	res, err := src.Scan(ctx, state.Validators, func(it sources.Item) error {
		differ.Add(&it)
		return nil
	})
	if err != nil {
		return &SourceError{Campaign: spec.Name, URL: spec.Source.URL, Err: err}
	}
	d.MinInterval = res.MinInterval
	d.Scan = &res
	if res.NotModified {
		d.NoNewItems = true
		return nil
	}
	d.Changes = differ.Changes()
	st := &SourceState{Campaign: spec.Name, URL: spec.Source.URL, Initialized: true, Generation: state.Generation}
	complete := true
	for i := range d.Changes {
		c := &d.Changes[i]
		switch {
		case !c.Announce:
		case len(d.Items) < spec.MaxItems:
			d.Items = append(d.Items, c.Item)
		case spec.Mode == Each:
			// What exceeds max_items waits for the next run: its state is
			// not recorded, so the next scan finds the change again.
			c.Announce = false
			c.Why = fmt.Sprintf("over max_items %d: waits for the next run", spec.MaxItems)
			complete = false
			continue
		default:
			// Recorded, but never announced: no cooldown starts.
			c.Announce = false
			c.Why = fmt.Sprintf("over max_items %d: left out of the digest", spec.MaxItems)
			if c.Old != nil {
				c.Update.DropAt, c.Update.BackAt = c.Old.DropAt, c.Old.BackAt
			}
		}
		st.Products = append(st.Products, c.Update)
	}
	if complete {
		st.Validators = res.Validators
	}
	d.Source = st
	d.NoNewItems = len(d.Items) == 0
	return nil
}
