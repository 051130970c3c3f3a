package catalog

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/govalues/decimal"

	"github.com/heraldcli/herald/sources"
)

// Triggers lists the catalog triggers a campaign may name in on:.
var Triggers = []string{sources.NewProduct, sources.PriceDrop, sources.BackInStock}

// DefaultCooldown is how long after announcing a product a campaign stays
// quiet about the same kind of change to it.
const DefaultCooldown = 7 * 24 * time.Hour

// State is what a campaign remembers of one product of a catalog, keyed by
// the product's Key.
type State struct {
	Key string
	// Price is the effective price (the sale price when on sale) last
	// seen, in Currency.
	Price        decimal.Decimal
	Currency     string
	Availability sources.Availability
	// RefPrice is what a price drop is measured from: the highest price
	// seen since the last drop was announced (or passed over), so that a
	// price sliding down a few percent a day still counts as one drop.
	RefPrice decimal.Decimal
	// DropAt and BackAt are when a price drop and a return to stock were
	// last announced: the cooldown counts from them.
	DropAt time.Time
	BackAt time.Time
}

// Rules are a campaign's catalog triggers and filter.
type Rules struct {
	// On are the triggers that announce a product (Triggers).
	On []string
	// MinDropPercent is the smallest drop that counts, in percent of the
	// reference price; zero means any drop.
	MinDropPercent decimal.Decimal
	Filter         Filter
	// Cooldown is how long a product stays quiet after a price drop or a
	// return to stock was announced; DefaultCooldown when zero.
	Cooldown time.Duration
	// Initialized is false on the campaign's first scan of the catalog:
	// then every product is recorded and only the first Backfill are
	// announced, as new products.
	Initialized bool
	Backfill    int
}

// Filter narrows what a campaign announces; an empty field matches all.
type Filter struct {
	// Categories match the product's category or any level of it
	// ("Shoes" matches "Apparel > Shoes"), or any of its tags,
	// case-insensitively.
	Categories []string
	Brands     []string
	// Keywords match words in the title or description, case-insensitively.
	Keywords []string
	// MinPrice and MaxPrice bound the effective price; zero means unset.
	MinPrice, MaxPrice decimal.Decimal
}

// Change is one product whose state differs from what the campaign saw
// last: it is announced (Item carries the Change and Discount), or Why says
// why not. Update is the state to remember once the run is committed.
type Change struct {
	Item sources.Item
	// Trigger is the trigger that fired, "" for a change no trigger
	// announces (a price rise, a product selling out).
	Trigger  string
	Announce bool
	Why      string
	Update   State
	// Old is the state before; nil for a product not seen before.
	Old *State
}

// Describe says in a few words what changed: "new", "price 120.00 → 89.00
// USD", "out_of_stock → in_stock".
func (c *Change) Describe() string {
	if c.Old == nil {
		return "new product"
	}
	var parts []string
	if !c.Old.Price.Equal(c.Update.Price) || c.Old.Currency != c.Update.Currency {
		parts = append(parts, fmt.Sprintf("price %s %s → %s %s", c.Old.Price, c.Old.Currency, c.Update.Price, c.Update.Currency))
	}
	if c.Old.Availability != c.Update.Availability {
		parts = append(parts, fmt.Sprintf("%s → %s", c.Old.Availability, c.Update.Availability))
	}
	if len(parts) == 0 {
		return "price reference updated"
	}
	return strings.Join(parts, ", ")
}

// Differ compares a scan of a catalog, product by product, with the state a
// campaign remembers. It keeps a few bytes per product and the full item only
// of products that may be announced, so a large catalog is diffed as it
// streams in.
type Differ struct {
	rules Rules
	prev  map[string]State
	now   time.Time
	cur   map[string]int32 // key → index in order
	order []entry
	last  int32 // the entry Add saw last
	// scratch holds the item of the entry Add saw last, until the next
	// product shows whether it is needed.
	scratch sources.Item
	// scratch for percentages
	hundred decimal.Decimal
}

// entry is one product of this scan; variants sharing a key merge into it.
type entry struct {
	index        int // in catalog order
	key          string
	price        decimal.Decimal
	currency     string
	availability sources.Availability
	// item is kept only while the product may be announced.
	item *sources.Item
	// prev is the remembered state, looked up once; seen says there is one.
	prev State
	seen bool
}

// NewDiffer starts a diff against prev, the campaign's remembered states by
// key (nil or empty on the first scan), at time now.
func NewDiffer(rules Rules, prev map[string]State, now time.Time) *Differ {
	if rules.Cooldown <= 0 {
		rules.Cooldown = DefaultCooldown
	}
	return &Differ{
		rules:   rules,
		prev:    prev,
		now:     now,
		cur:     make(map[string]int32, len(prev)),
		order:   make([]entry, 0, len(prev)),
		hundred: decimal.MustNew(100, 0),
		last:    -1,
	}
}

// stockRank orders availabilities from best to worst, for merging variants.
func stockRank(a sources.Availability) int {
	switch a {
	case sources.InStock:
		return 3
	case sources.Backorder:
		return 2
	case sources.Preorder:
		return 1
	}
	return 0
}

// Add takes the next product of the scan. Products with the same key
// (variants of one product, a Merchant feed's item group) merge: the
// product costs what its cheapest variant costs, whether or not that one
// is in stock, and is as available as its best variant. A price that
// ignores stock is what keeps a size selling out and coming back from
// looking like a price rise and then a drop.
func (d *Differ) Add(it *sources.Item) {
	price := it.Effective()
	i, ok := d.cur[it.Key]
	if !ok {
		i = int32(len(d.order))
		d.cur[it.Key] = i
		p, seen := d.prev[it.Key]
		d.order = append(d.order, entry{index: int(i), key: it.Key, price: price, currency: it.Currency, availability: it.Availability, prev: p, seen: seen})
	}
	e := &d.order[i]
	cheaper := !ok || price.Less(e.price)
	if ok {
		if cheaper {
			e.price, e.currency = price, it.Currency
		}
		if stockRank(it.Availability) > stockRank(e.availability) {
			e.availability = it.Availability
		}
	}
	// The item shown is the cheapest variant's, with the product's
	// availability. It is kept while the product may be announced, and
	// for the latest product in any case (in scratch, which costs no
	// allocation): variants usually come one after another, so a later one
	// that changes the product's availability finds the cheapest one's item
	// still there.
	if d.last >= 0 && d.last != i {
		d.settle(&d.order[d.last])
	}
	d.last = i
	switch {
	case e.item != nil && e.item != &d.scratch && cheaper:
		*e.item = *it // a product kept earlier, met again
	case cheaper:
		d.scratch, e.item = *it, &d.scratch
	case e.item == nil:
		// The cheapest variant's item was let go: this variant stands in,
		// at the product's price.
		d.scratch, e.item = *it, &d.scratch
		d.scratch.Price, d.scratch.SalePrice = e.price, decimal.Decimal{}
	}
	e.item.Availability = e.availability
}

// settle moves e's item out of scratch: into a copy of its own when the
// product may be announced, else away.
func (d *Differ) settle(e *entry) {
	if e.item != &d.scratch {
		return
	}
	if d.keep(e) {
		cp := d.scratch
		e.item = &cp
	} else {
		e.item = nil
	}
}

// keep reports whether e's item is needed: it changed since the last scan
// (so it may be announced, and is shown by herald sources check), except
// on the first scan, where only the backfill may be announced and the rest
// is only recorded.
func (d *Differ) keep(e *entry) bool {
	if !e.seen {
		return d.rules.Initialized || e.index < d.rules.Backfill
	}
	p := &e.prev
	return e.availability != p.Availability || e.currency != p.Currency || !e.price.Equal(p.Price)
}

func (d *Differ) on(trigger string) bool { return slices.Contains(d.rules.On, trigger) }

// Changes returns every product whose state changed, in catalog order.
// Products that vanished from the catalog are not changes: their state is
// kept, so a product that comes back is not new.
func (d *Differ) Changes() []Change {
	var out []Change
	if d.last >= 0 {
		d.settle(&d.order[d.last])
	}
	for i := range d.order {
		e := &d.order[i]
		p, seen := e.prev, e.seen
		up := State{Key: e.key, Price: e.price, Currency: e.currency, Availability: e.availability, RefPrice: e.price}
		if !seen {
			c := Change{Update: up}
			if e.item != nil {
				c.Item = *e.item
			} else {
				c.Item = sources.Item{Key: e.key}
			}
			switch {
			case !d.rules.Initialized && i >= d.rules.Backfill:
				c.Why = "first scan: recorded, not announced (backfill " + fmt.Sprint(d.rules.Backfill) + ")"
			case !d.on(sources.NewProduct):
				c.Why = "new_product is not in on:"
			default:
				c.Trigger = sources.NewProduct
				c.Item.Change = &sources.Change{Trigger: sources.NewProduct}
				d.announce(&c)
			}
			out = append(out, c)
			continue
		}
		up.DropAt, up.BackAt = p.DropAt, p.BackAt
		if e.currency == p.Currency {
			up.RefPrice = p.RefPrice.Max(p.Price).Max(e.price)
		}
		if up.same(&p) {
			continue
		}
		old := p
		c := Change{Update: up, Old: &old}
		if e.item != nil {
			c.Item = *e.item
		} else {
			c.Item = sources.Item{Key: e.key}
		}
		back := e.availability == sources.InStock && p.Availability != sources.InStock
		drop := e.currency == p.Currency && e.price.Less(up.RefPrice) && d.dropEnough(up.RefPrice, e.price)
		if drop {
			// A drop that is announced, filtered out or within the
			// cooldown is spent: the next one is measured from here.
			c.Update.RefPrice = e.price
		}
		// The first trigger in on: that fired and is not cooling down
		// names the change: a restock within its cooldown does not hide
		// a price drop that is news.
		fired, cooled := "", ""
		for _, t := range d.rules.On {
			last := p.DropAt
			switch {
			case t == sources.BackInStock && back:
				last = p.BackAt
			case t == sources.PriceDrop && drop:
			default:
				continue
			}
			if d.cooling(last, &c) {
				cooled = t
				continue
			}
			fired, c.Why = t, ""
			break
		}
		switch {
		case fired == "" && cooled == "" && (back || drop):
			c.Why = "no trigger in on: announces this"
		case fired == "":
		default:
			c.Trigger = fired
			ch := &sources.Change{Trigger: fired}
			if fired == sources.PriceDrop {
				ch.OldPrice = up.RefPrice
				c.Item.Discount = d.percentOff(up.RefPrice, e.price)
			} else {
				ch.OldAvailability = p.Availability
			}
			c.Item.Change = ch
			d.announce(&c)
		}
		switch {
		case !c.Announce:
		case fired == sources.PriceDrop:
			c.Update.DropAt = d.now
		case fired == sources.BackInStock:
			c.Update.BackAt = d.now
		}
		out = append(out, c)
	}
	return out
}

// same reports whether s and o hold the same state.
func (s *State) same(o *State) bool {
	return s.Key == o.Key && s.Price.Equal(o.Price) && s.Currency == o.Currency && s.Availability == o.Availability &&
		s.RefPrice.Equal(o.RefPrice) && s.DropAt.Equal(o.DropAt) && s.BackAt.Equal(o.BackAt)
}

// cooling reports whether a trigger last announced at last is still within
// the cooldown, saying so in c.
func (d *Differ) cooling(last time.Time, c *Change) bool {
	if last.IsZero() || d.now.Sub(last) >= d.rules.Cooldown {
		return false
	}
	c.Why = fmt.Sprintf("cooldown: announced %s, quiet until %s", last.UTC().Format(time.RFC3339), last.Add(d.rules.Cooldown).UTC().Format(time.RFC3339))
	return true
}

// announce applies the filter to a change whose trigger fired.
func (d *Differ) announce(c *Change) {
	if why := d.rules.Filter.reject(&c.Item); why != "" {
		c.Why = "filtered out: " + why
		return
	}
	if c.Trigger != sources.PriceDrop {
		c.Item.Discount = d.percentOff(c.Item.Price, c.Item.SalePrice)
	}
	c.Announce = true
}

// dropEnough reports whether now is at least MinDropPercent below ref:
// (ref − now) × 100 ≥ min × ref, computed exactly.
func (d *Differ) dropEnough(ref, now decimal.Decimal) bool {
	if d.rules.MinDropPercent.IsZero() {
		return true
	}
	diff, err := ref.Sub(now)
	if err != nil {
		return false
	}
	lhs, err1 := diff.Mul(d.hundred)
	rhs, err2 := d.rules.MinDropPercent.Mul(ref)
	return err1 == nil && err2 == nil && lhs.Cmp(rhs) >= 0
}

// percentOff is how many whole percent now is below was, rounded down; 0
// when it is not below.
func (d *Differ) percentOff(was, now decimal.Decimal) int {
	if now.IsZero() || !was.IsPos() || !now.Less(was) {
		return 0
	}
	diff, err := was.Sub(now)
	if err != nil {
		return 0
	}
	q, err := diff.Mul(d.hundred)
	if err != nil {
		return 0
	}
	if q, err = q.Quo(was); err != nil {
		return 0
	}
	whole, _, ok := q.Floor(0).Int64(0)
	if !ok {
		return 0
	}
	return int(whole)
}

// reject says why the filter turns it down, or "" when it passes.
func (f *Filter) reject(it *sources.Item) string {
	if len(f.Categories) > 0 && !f.matchCategory(it) {
		return fmt.Sprintf("category %q is not one of %s", it.Category, strings.Join(f.Categories, ", "))
	}
	if len(f.Brands) > 0 && !slices.ContainsFunc(f.Brands, func(b string) bool { return strings.EqualFold(strings.TrimSpace(b), strings.TrimSpace(it.Brand)) }) {
		return fmt.Sprintf("brand %q is not one of %s", it.Brand, strings.Join(f.Brands, ", "))
	}
	price := it.Effective()
	if !f.MaxPrice.IsZero() && f.MaxPrice.Less(price) {
		return fmt.Sprintf("price %s is above max_price %s", price, f.MaxPrice)
	}
	if !f.MinPrice.IsZero() && price.Less(f.MinPrice) {
		return fmt.Sprintf("price %s is below min_price %s", price, f.MinPrice)
	}
	if len(f.Keywords) > 0 {
		text := strings.ToLower(it.Title + "\n" + it.Summary)
		if !slices.ContainsFunc(f.Keywords, func(k string) bool { return containsWord(text, strings.ToLower(strings.TrimSpace(k))) }) {
			return "no keyword (" + strings.Join(f.Keywords, ", ") + ") in title or description"
		}
	}
	return ""
}

func (f *Filter) matchCategory(it *sources.Item) bool {
	var names []string
	for level := range strings.SplitSeq(it.Category, ">") {
		names = append(names, level)
	}
	names = append(names, it.Category)
	names = append(names, it.Categories...)
	for _, want := range f.Categories {
		for _, n := range names {
			if strings.EqualFold(strings.TrimSpace(n), strings.TrimSpace(want)) {
				return true
			}
		}
	}
	return false
}

// containsWord reports whether text holds word at the start of a word
// ("running" matches "Trail running shoes" and "runners" matches
// "runners'", but "run" does not match "prune").
func containsWord(text, word string) bool {
	if word == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(text[i:], word)
		if j < 0 {
			return false
		}
		at := i + j
		if at == 0 || !isWordByte(text[at-1]) {
			return true
		}
		i = at + 1
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 0x80
}
