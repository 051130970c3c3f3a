package scheduler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/campaign/scheduler"
	"github.com/heraldcli/herald/sources/catalog"
	"github.com/heraldcli/herald/sources/fetch"
)

// merchantFeed is a Google Merchant Center feed on a loopback server whose
// products tests change between polls. It answers If-None-Match with 304.
type merchantFeed struct {
	mu       sync.Mutex
	products map[string]string // id → "price availability", e.g. "20.00 in_stock"
	broken   string            // when set, this product's price is garbage
	version  int
	requests []string
}

func (f *merchantFeed) set(id, state string) {
	f.mu.Lock()
	if state == "" {
		delete(f.products, id)
	} else {
		f.products[id] = state
	}
	f.version++
	f.mu.Unlock()
}

func (f *merchantFeed) breakPrice(id string) {
	f.mu.Lock()
	f.broken = id
	f.version++
	f.mu.Unlock()
}

func (f *merchantFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Header.Get("If-None-Match"))
	etag := fmt.Sprintf(`"v%d"`, f.version)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/xml")
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><title>Shop</title>`)
	ids := make([]string, 0, len(f.products))
	for id := range f.products {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		price, avail, _ := strings.Cut(f.products[id], " ")
		if id == f.broken {
			price = "twelve"
		}
		fmt.Fprintf(&b, `<item><g:id>%s</g:id><g:title>Product %s</g:title><g:link>https://shop.example.com/p/%s</g:link>`+
			`<g:image_link>https://shop.example.com/p/%s.jpg</g:image_link><g:price>%s EUR</g:price><g:availability>%s</g:availability></item>`,
			id, id, id, id, price, strings.ReplaceAll(avail, "_", " "))
	}
	b.WriteString(`</channel></rss>`)
	w.Write([]byte(b.String()))
}

// serveCatalog serves f on loopback and points the engine's sources at
// it, returning the feed's URL.
func (b *bundle) serveCatalog(t *testing.T, f *merchantFeed) string {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := &fetch.Client{Now: b.clock.Now}
	b.engine.OpenSource = func(s *campaign.SourceSpec) (campaign.Source, error) {
		return &catalog.Source{Format: s.Format, URL: s.URL, Client: client}, nil
	}
	return srv.URL + "/feed.xml"
}

// hourly returns a poll that steps s at start plus *hour hours, then
// moves *hour on by one.
func hourly(b *bundle, s *scheduler.Scheduler, start time.Time, hour *int) func() []scheduler.Decision {
	return func() []scheduler.Decision {
		b.clock.Set(start.Add(time.Duration(*hour) * time.Hour))
		*hour++
		return s.Step(context.Background())
	}
}

// TestWatchCatalog polls a shop's feed: the first poll records it, then
// price drops, restocks and new products are announced once each (mode
// each, max_items 1: the rest wait, never dropped), a product that
// flickers within the cooldown is not announced twice, an unchanged feed
// costs a 304, and a malformed feed fails without consuming anything.
func TestWatchCatalog(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	b := setup(t, start, sub{chat: "1001"})
	f := &merchantFeed{products: map[string]string{"a": "100.00 in_stock", "b": "20.00 out_of_stock", "c": "50.00 in_stock"}}
	feedURL := b.serveCatalog(t, f)
	spec := parse(t, "deals", fmt.Sprintf(`channels: [telegram]
source: {type: catalog, format: google_merchant, url: %q}
trigger: {watch: 1h}
on: [new_product, price_drop, back_in_stock]
price_drop: {min_percent: 20}
cooldown: 72h
mode: each
max_items: 1
message:
  cards:
    title: "{{ .Item.Title }}: {{ .Item.Change.Trigger }}"
    subtitle: "{{ money .Item.Effective .Item.Currency }}"
    image: "{{ .Item.Image }}"
`, feedURL))
	s := b.scheduler(t, spec)
	hour := 0
	poll := hourly(b, s, start, &hour)
	sent := func() string {
		var out []string
		for _, m := range b.sb.Messages() {
			first, _, _ := strings.Cut(m.Plain, "\n")
			out = append(out, first)
		}
		return strings.Join(out, "|")
	}

	if ds := poll(); actions(ds) != scheduler.Polled || !strings.Contains(ds[0].Reason, "3 product changes recorded") || sent() != "" {
		t.Fatalf("first poll: %+v, sent %q", ds, sent())
	}
	// Nothing changed: a 304.
	if ds := poll(); actions(ds) != scheduler.Polled || f.requests[len(f.requests)-1] != `"v0"` {
		t.Fatalf("unchanged: %+v, requests %q", ds, f.requests)
	}

	// a drops 25%, b is back: two announcements, one per poll.
	f.set("a", "75.00 in_stock")
	f.set("b", "20.00 in_stock")
	if ds := poll(); actions(ds) != scheduler.Fired || sent() != "Product a: price_drop" {
		t.Fatalf("poll 3: %+v, sent %q", ds, sent())
	}
	if ds := poll(); actions(ds) != scheduler.Fired || sent() != "Product a: price_drop|Product b: back_in_stock" {
		t.Fatalf("poll 4: %+v, sent %q", ds, sent())
	}

	// A malformed feed fails, names the product and field, and consumes
	// nothing: d, new meanwhile, is announced once the feed is fixed.
	f.set("d", "9.90 in_stock")
	f.breakPrice("c")
	if ds := poll(); actions(ds) != scheduler.Failed || !strings.Contains(ds[0].Reason, "product c") || !strings.Contains(ds[0].Reason, "price") {
		t.Fatalf("malformed feed: %+v", ds)
	}
	f.breakPrice("")
	hour++ // past the failure's back-off
	if ds := poll(); actions(ds) != scheduler.Fired || !strings.HasSuffix(sent(), "|Product d: new_product") {
		t.Fatalf("after the fix: %+v, sent %q", ds, sent())
	}

	// b flickers within the cooldown: recorded, not announced.
	f.set("b", "20.00 out_of_stock")
	poll()
	f.set("b", "20.00 in_stock")
	before := sent()
	if ds := poll(); actions(ds) != scheduler.Polled || sent() != before {
		t.Fatalf("flicker: %+v, sent %q", ds, sent())
	}
	for _, r := range b.runs(t, "deals") {
		if r.Trigger != "watch" || r.State != campaign.RunDone {
			t.Errorf("run %+v", r)
		}
	}
}

// TestWatchCatalogDigestOverflow: a product left out of a full digest is
// recorded but never announced, so no cooldown keeps its next drop quiet;
// and a feed that changes its ETag without changing a product is polled
// conditionally with the new one.
func TestWatchCatalogDigestOverflow(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	b := setup(t, start, sub{chat: "1001"})
	f := &merchantFeed{products: map[string]string{"a": "100.00 in_stock", "b": "100.00 in_stock"}}
	feedURL := b.serveCatalog(t, f)
	spec := parse(t, "drops", fmt.Sprintf(`channels: [telegram]
source: {type: catalog, format: google_merchant, url: %q}
trigger: {watch: 1h}
on: [price_drop]
price_drop: {min_percent: 20}
mode: digest
max_items: 1
message:
  text: "{{ range .Items }}{{ .Title }} -{{ .Discount }}%%{{ end }}"
`, feedURL))
	s := b.scheduler(t, spec)
	hour := 0
	poll := hourly(b, s, start, &hour)
	poll()
	f.set("a", "70.00 in_stock")
	f.set("b", "70.00 in_stock")
	if ds := poll(); actions(ds) != scheduler.Fired || strings.Join(b.texts(), "|") != "Product a -30%" {
		t.Fatalf("two drops, room for one: %+v, sent %q", ds, b.texts())
	}
	// The same ETag-less change twice: the state is unchanged, yet the
	// new validators are kept.
	f.set("a", "70.00 in_stock")
	if ds := poll(); actions(ds) != scheduler.Polled {
		t.Fatalf("a new ETag, nothing changed: %+v", ds)
	}
	if ds := poll(); actions(ds) != scheduler.Polled || f.requests[len(f.requests)-1] != `"v3"` {
		t.Fatalf("the next poll is not conditional on the new ETag: %+v, requests %q", ds, f.requests)
	}
	f.set("b", "50.00 in_stock")
	if ds := poll(); actions(ds) != scheduler.Fired || strings.Join(b.texts(), "|") != "Product a -30%|Product b -28%" {
		t.Fatalf("b's next drop: %+v, sent %q", ds, b.texts())
	}
}
