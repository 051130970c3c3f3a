package catalog_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/sources/catalog"
)

// shop is a sequence of catalog snapshots diffed the way the engine does:
// each scan's updates become the next scan's remembered state.
type shop struct {
	t     *testing.T
	rules catalog.Rules
	state map[string]catalog.State
	now   time.Time
}

func newShop(t *testing.T, rules catalog.Rules) *shop {
	return &shop{t: t, rules: rules, state: map[string]catalog.State{}, now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
}

// product is a compact way to write a catalog line: "id price [sale] stock".
func product(id, price, sale string, stock sources.Availability) sources.Item {
	it := sources.Item{Key: "id:" + id, Title: "Product " + id, Currency: "EUR", Availability: stock,
		Price: decimal.MustParse(price), Category: "Apparel > Shoes", Brand: "Acme"}
	if sale != "" {
		it.SalePrice = decimal.MustParse(sale)
	}
	return it
}

// scan diffs one snapshot, commits every update and returns the changes,
// then moves the clock by step.
func (s *shop) scan(step time.Duration, items ...sources.Item) []catalog.Change {
	s.t.Helper()
	d := catalog.NewDiffer(s.rules, s.state, s.now)
	for i := range items {
		d.Add(&items[i])
	}
	changes := d.Changes()
	next := map[string]catalog.State{}
	for k, v := range s.state {
		next[k] = v
	}
	for _, c := range changes {
		next[c.Update.Key] = c.Update
	}
	s.state = next
	s.rules.Initialized = true
	s.now = s.now.Add(step)
	return changes
}

// announced lists "key:trigger" for what a scan announces.
func announced(changes []catalog.Change) []string {
	var out []string
	for _, c := range changes {
		if c.Announce {
			out = append(out, strings.TrimPrefix(c.Item.Key, "id:")+":"+c.Trigger)
		}
	}
	return out
}

func why(changes []catalog.Change, key string) string {
	for _, c := range changes {
		if c.Item.Key == "id:"+key {
			return c.Why
		}
	}
	return "(no change)"
}

func expect(t *testing.T, step string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: announced %q, want %q", step, got, want)
	}
}

func TestDifferSnapshots(t *testing.T) {
	t.Parallel()
	all := []string{sources.NewProduct, sources.PriceDrop, sources.BackInStock}
	s := newShop(t, catalog.Rules{On: all, MinDropPercent: decimal.MustParse("20")})
	day := 24 * time.Hour

	// The first scan records the shop and announces nothing.
	c := s.scan(day, product("a", "100.00", "", sources.InStock), product("b", "50.00", "", sources.OutOfStock), product("c", "80.00", "", sources.InStock))
	expect(t, "first scan", announced(c))
	if len(c) != 3 || !strings.HasPrefix(why(c, "a"), "first scan") {
		t.Fatalf("first scan: %d changes, why(a) = %q; want 3 recorded as first scan", len(c), why(c, "a"))
	}

	// Unchanged: nothing at all.
	c = s.scan(day, product("a", "100.00", "", sources.InStock), product("b", "50.00", "", sources.OutOfStock), product("c", "80.00", "", sources.InStock))
	if len(c) != 0 {
		t.Fatalf("unchanged catalog: %d changes, want none", len(c))
	}

	// A new product; a's price drops 10% (below the threshold); b comes back.
	c = s.scan(day, product("a", "100.00", "90.00", sources.InStock), product("b", "50.00", "", sources.InStock),
		product("c", "80.00", "", sources.InStock), product("d", "20.00", "", sources.InStock))
	expect(t, "day 3", announced(c), "b:back_in_stock", "d:new_product")
	if w := why(c, "a"); w != "" {
		t.Errorf("a dropped 10%%: why = %q, want a silent change", w)
	}

	// a slides a further 12%: 100 → 79.20 is a 20.8% drop from the price
	// before the slide began, which crosses the threshold.
	c = s.scan(day, product("a", "100.00", "79.20", sources.InStock), product("b", "50.00", "", sources.InStock),
		product("c", "80.00", "", sources.InStock), product("d", "20.00", "", sources.InStock))
	expect(t, "day 4", announced(c), "a:price_drop")
	ch := c[0].Item.Change
	if ch == nil || ch.OldPrice.String() != "100.00" || c[0].Item.Discount != 20 || ch.Old() != "100.00" {
		t.Errorf("a's drop: change %+v discount %d; want from 100.00, 20%%", ch, c[0].Item.Discount)
	}

	// b flickers: out, then back within the cooldown, then out and back
	// after it. It is announced again only after the cooldown.
	steps := []struct {
		stock sources.Availability
		after time.Duration
		want  []string
	}{
		{sources.OutOfStock, day, nil},
		{sources.InStock, day, nil}, // 3 days after its announcement
		{sources.OutOfStock, 3 * day, nil},
		{sources.InStock, day, []string{"b:back_in_stock"}}, // 8 days after
	}
	for i, st := range steps {
		c = s.scan(st.after, product("a", "100.00", "79.20", sources.InStock), product("b", "50.00", "", st.stock),
			product("c", "80.00", "", sources.InStock), product("d", "20.00", "", sources.InStock))
		expect(t, fmt.Sprintf("flicker %d", i), announced(c), st.want...)
		if i == 1 && !strings.HasPrefix(why(c, "b"), "cooldown") {
			t.Errorf("flicker within the cooldown: why = %q, want cooldown", why(c, "b"))
		}
	}

	// c's price rises, then falls back 25%: a drop measured from the
	// highest price since the last one.
	c = s.scan(day, product("c", "100.00", "", sources.InStock))
	expect(t, "c rises", announced(c))
	c = s.scan(day, product("c", "75.00", "", sources.InStock))
	expect(t, "c falls", announced(c), "c:price_drop")

	// A product that vanishes is not a change, and is not new when it
	// comes back.
	c = s.scan(day, product("a", "100.00", "79.20", sources.InStock))
	if len(c) != 0 {
		t.Errorf("products vanished: %d changes, want none", len(c))
	}
	c = s.scan(day, product("d", "20.00", "", sources.InStock))
	expect(t, "d returns", announced(c))
}

func TestDifferBackfillAndTriggersOff(t *testing.T) {
	t.Parallel()
	s := newShop(t, catalog.Rules{On: []string{sources.NewProduct}, Backfill: 2})
	c := s.scan(time.Hour, product("a", "1", "", sources.InStock), product("b", "2", "", sources.InStock), product("c", "3", "", sources.InStock))
	expect(t, "backfill 2", announced(c), "a:new_product", "b:new_product")

	// Only new_product is on: a drop and a return are recorded silently.
	c = s.scan(time.Hour, product("a", "1", "", sources.OutOfStock), product("b", "1", "", sources.InStock), product("c", "3", "", sources.InStock))
	expect(t, "off", announced(c))
	if w := why(c, "b"); !strings.Contains(w, "no trigger") {
		t.Errorf("b dropped with price_drop off: why = %q", w)
	}
}

func TestDifferMergesVariants(t *testing.T) {
	t.Parallel()
	s := newShop(t, catalog.Rules{On: []string{sources.NewProduct, sources.BackInStock, sources.PriceDrop}, MinDropPercent: decimal.MustParse("10")})
	s.scan(time.Hour, product("g", "30.00", "", sources.OutOfStock), product("g", "25.00", "", sources.OutOfStock))
	if st := s.state["id:g"]; st.Price.String() != "25.00" || st.Availability != sources.OutOfStock {
		t.Fatalf("merged out-of-stock group: %+v, want the cheapest, 25.00", st)
	}
	// One variant comes back: the group is back in stock. Its price is
	// still its cheapest variant's, sold out or not.
	c := s.scan(time.Hour, product("g", "25.00", "", sources.OutOfStock), product("g", "30.00", "", sources.InStock), product("g", "28.00", "", sources.InStock))
	expect(t, "variant back", announced(c), "g:back_in_stock")
	if it := c[0].Item; it.Price.String() != "25.00" || it.Availability != sources.InStock {
		t.Errorf("announced item: price %s, %s; want the group's 25.00, in stock", it.Price, it.Availability)
	}
}

// TestDifferSizeSellsOut: the cheap size selling out and coming back is no
// price change at all, so never a "price drop" with an invented old price.
func TestDifferSizeSellsOut(t *testing.T) {
	t.Parallel()
	s := newShop(t, catalog.Rules{On: []string{sources.PriceDrop, sources.BackInStock}, MinDropPercent: decimal.MustParse("20")})
	s.scan(time.Hour, product("p", "80.00", "", sources.InStock), product("p", "100.00", "", sources.InStock))
	for _, stock := range []sources.Availability{sources.OutOfStock, sources.InStock, sources.OutOfStock, sources.InStock} {
		c := s.scan(time.Hour, product("p", "80.00", "", stock), product("p", "100.00", "", sources.InStock))
		if len(c) != 0 {
			t.Fatalf("size S %s: changes %+v, want none", stock, c)
		}
	}
	// The variants come in the other order, and the cheap one far from
	// its sibling: still one product at 80.00.
	c := s.scan(time.Hour, product("p", "100.00", "", sources.InStock), product("q", "5.00", "", sources.InStock), product("p", "80.00", "", sources.OutOfStock))
	if len(c) != 1 || c[0].Item.Key != "id:q" {
		t.Fatalf("reordered variants: %+v, want only q (new)", c)
	}
}

// TestDifferCooldownOfOneTrigger: a restock within its cooldown does not
// hide a price drop that is news, whichever comes first in on:.
func TestDifferCooldownOfOneTrigger(t *testing.T) {
	t.Parallel()
	for _, on := range [][]string{{sources.BackInStock, sources.PriceDrop}, {sources.PriceDrop, sources.BackInStock}} {
		s := newShop(t, catalog.Rules{On: on, MinDropPercent: decimal.MustParse("20")})
		s.scan(time.Hour, product("p", "100.00", "", sources.OutOfStock))
		c := s.scan(24*time.Hour, product("p", "100.00", "", sources.InStock))
		expect(t, "back", announced(c), "p:back_in_stock")
		s.scan(24*time.Hour, product("p", "100.00", "", sources.OutOfStock))
		// Back again within the cooldown, and 40% cheaper.
		c = s.scan(24*time.Hour, product("p", "100.00", "60.00", sources.InStock))
		expect(t, fmt.Sprint(on), announced(c), "p:price_drop")
		if ch := c[0].Item.Change; ch.OldPrice.String() != "100.00" || c[0].Item.Discount != 40 {
			t.Errorf("%v: change %+v, discount %d", on, ch, c[0].Item.Discount)
		}
	}
}

func TestDifferFilter(t *testing.T) {
	t.Parallel()
	rules := catalog.Rules{On: []string{sources.NewProduct}, Initialized: true, Filter: catalog.Filter{
		Categories: []string{"shoes"}, MaxPrice: decimal.MustParse("150.00"), Keywords: []string{"running"},
	}}
	items := []sources.Item{
		{Key: "id:1", Title: "Trail Running Shoe", Category: "Apparel > Shoes", Price: decimal.MustParse("120.00"), Availability: sources.InStock},
		{Key: "id:2", Title: "Running Shoe Pro", Category: "Apparel > Shoes", Price: decimal.MustParse("180.00"), SalePrice: decimal.MustParse("149.99"), Availability: sources.InStock},
		{Key: "id:3", Title: "Running Shoe Max", Category: "Apparel > Shoes", Price: decimal.MustParse("180.00"), Availability: sources.InStock},
		{Key: "id:4", Title: "Running Jacket", Category: "Apparel > Jackets", Price: decimal.MustParse("80.00"), Availability: sources.InStock},
		{Key: "id:5", Title: "Walking Shoe", Category: "Shoes", Summary: "Not for outrunning anyone", Price: decimal.MustParse("60.00"), Availability: sources.InStock},
		{Key: "id:6", Title: "Shoe", Categories: []string{"running", "shoes"}, Summary: "Made for running.", Price: decimal.MustParse("60.00"), Availability: sources.InStock},
	}
	d := catalog.NewDiffer(rules, nil, time.Now())
	for i := range items {
		d.Add(&items[i])
	}
	c := d.Changes()
	expect(t, "filter", announced(c), "1:new_product", "2:new_product", "6:new_product")
	for key, want := range map[string]string{"3": "above max_price", "4": "category", "5": "keyword"} {
		if w := why(c, key); !strings.Contains(w, want) {
			t.Errorf("product %s: why = %q, want it to mention %q", key, w, want)
		}
	}
	if c[1].Item.Discount != 16 {
		t.Errorf("product 2 on sale 180.00 → 149.99: discount %d, want 16 (rounded down)", c[1].Item.Discount)
	}
}

func TestDifferCurrencyChangeIsNotADrop(t *testing.T) {
	t.Parallel()
	s := newShop(t, catalog.Rules{On: []string{sources.PriceDrop}})
	s.scan(time.Hour, product("a", "100.00", "", sources.InStock))
	it := product("a", "90.00", "", sources.InStock)
	it.Currency = "USD"
	c := s.scan(time.Hour, it)
	expect(t, "currency", announced(c))
	if len(c) != 1 || c[0].Update.RefPrice.String() != "90.00" {
		t.Fatalf("currency change: %+v, want one change resetting the reference to 90.00", c)
	}
}

// BenchmarkDiff diffs a 100,000-product catalog against its previous
// snapshot, in which 1% of prices and 0.5% of stock changed: the work of
// one poll of a large shop. Its baseline, bare, is the least any diff does:
// one map lookup and one price comparison per product.
func BenchmarkDiff(b *testing.B) {
	const n = 100_000
	prev := make(map[string]catalog.State, n)
	items := make([]sources.Item, n)
	for i := range items {
		price := decimal.MustNew(int64(1000+i%9000), 2)
		items[i] = sources.Item{Key: fmt.Sprintf("id:%d", i), Title: fmt.Sprintf("Product %d", i), Currency: "EUR",
			Price: price, Availability: sources.InStock, Link: fmt.Sprintf("https://shop.example.com/products/p-%d", i)}
		prev[items[i].Key] = catalog.State{Key: items[i].Key, Price: price, RefPrice: price, Currency: "EUR", Availability: sources.InStock}
		switch {
		case i%100 == 0:
			items[i].SalePrice = decimal.MustNew(int64(500+i%4000), 2)
		case i%200 == 1:
			st := prev[items[i].Key]
			st.Availability = sources.OutOfStock
			prev[items[i].Key] = st
		}
	}
	rules := catalog.Rules{On: catalog.Triggers, MinDropPercent: decimal.MustParse("20"), Initialized: true}
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	measure := func(b *testing.B, diff func() int) {
		b.ReportAllocs()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var changes int
		for b.Loop() {
			changes = diff()
		}
		b.StopTimer()
		runtime.ReadMemStats(&after)
		if changes == 0 {
			b.Fatal("no changes found")
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "products/s")
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n*b.N), "B/product")
	}
	b.Run("herald", func(b *testing.B) {
		measure(b, func() int {
			d := catalog.NewDiffer(rules, prev, now)
			for i := range items {
				d.Add(&items[i])
			}
			return len(d.Changes())
		})
	})
	b.Run("bare", func(b *testing.B) {
		measure(b, func() int {
			changed := 0
			for i := range items {
				if p, ok := prev[items[i].Key]; !ok || !p.Price.Equal(items[i].Effective()) || p.Availability != items[i].Availability {
					changed++
				}
			}
			return changed
		})
	})
}

// TestDifferVariantOrder: however a product's variants are ordered in the
// catalog (together or scattered), the diff is the same, and an announced
// product shows the price its state records.
func TestDifferVariantOrder(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	stocks := []sources.Availability{sources.InStock, sources.OutOfStock, sources.Backorder}
	rules := catalog.Rules{On: catalog.Triggers, MinDropPercent: decimal.MustParse("10"), Initialized: true}
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for round := range 300 {
		prev := map[string]catalog.State{}
		var items []sources.Item
		for p := range 12 {
			key := fmt.Sprintf("id:%d", p)
			if rng.IntN(4) > 0 {
				price := decimal.MustNew(int64(1000*(1+rng.IntN(3))), 2)
				prev[key] = catalog.State{Key: key, Price: price, RefPrice: price, Currency: "EUR", Availability: stocks[rng.IntN(3)]}
			}
			for v := range 1 + rng.IntN(3) {
				items = append(items, sources.Item{Key: key, SKU: fmt.Sprintf("%d-%d", p, v), Title: key, Currency: "EUR",
					Price: decimal.MustNew(int64(1000*(1+rng.IntN(3))), 2), Availability: stocks[rng.IntN(3)]})
			}
		}
		diff := func(items []sources.Item) string {
			d := catalog.NewDiffer(rules, prev, now)
			for i := range items {
				d.Add(&items[i])
			}
			var out []string
			for _, c := range d.Changes() {
				if c.Announce && !c.Item.Effective().Equal(c.Update.Price) {
					t.Fatalf("round %d: %s announced at %s, its state says %s", round, c.Item.Key, c.Item.Effective(), c.Update.Price)
				}
				out = append(out, fmt.Sprintf("%s %s %v %s %s", c.Update.Key, c.Trigger, c.Announce, c.Update.Price, c.Update.Availability))
			}
			slices.Sort(out)
			return strings.Join(out, "\n")
		}
		together := diff(items)
		scattered := slices.Clone(items)
		rng.Shuffle(len(scattered), func(i, j int) { scattered[i], scattered[j] = scattered[j], scattered[i] })
		if got := diff(scattered); got != together {
			t.Fatalf("round %d: variants scattered:\n%s\nwant, as with variants together:\n%s", round, got, together)
		}
	}
}
