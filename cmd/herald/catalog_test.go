package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/heraldcli/herald/channels/sandbox"
)

// shopProduct writes one product of a Shopify products.json.
func shopProduct(id int, title, price, compareAt string, available bool) string {
	ca := "null"
	if compareAt != "" {
		ca = fmt.Sprintf("%q", compareAt)
	}
	return fmt.Sprintf(`{"id": %d, "title": %q, "handle": "p-%d", "body_html": "<p>Light &amp; fast</p>",
  "vendor": "Acme", "product_type": "Shoes", "tags": ["running"],
  "images": [{"src": "https://cdn.example.com/p-%d.jpg"}],
  "variants": [{"id": %d1, "sku": "SKU-%d", "price": %q, "compare_at_price": %s, "available": %t}]}`,
		id, title, id, id, id, id, price, ca, available)
}

func shopFile(products ...string) string {
	return `{"products": [` + strings.Join(products, ",\n") + "]}\n"
}

const shopCampaignYAML = `channels: [telegram]
source: {type: catalog, format: shopify, url: SHOP, currency: EUR}
on: [new_product, price_drop, back_in_stock]
price_drop: {min_percent: 20}
mode: digest
message:
  text: "**News from the shop**"
  cards:
    title: "{{ .Item.Title }}"
    subtitle: "{{ money .Item.Effective .Item.Currency }}{{ with .Item.Change }} · {{ .Trigger }}{{ end }}"
    image: "{{ .Item.Image }}"
    link: "{{ .Item.Link }}"
    buttons: [{text: Buy now, url: "{{ .Item.Link }}"}]
`

type checkOutput struct {
	FirstScan bool `json:"first_scan"`
	Products  int  `json:"products"`
	Changes   []struct {
		Key      string `json:"key"`
		Title    string `json:"title"`
		Trigger  string `json:"trigger"`
		Announce bool   `json:"announce"`
		Why      string `json:"why"`
		Old      *struct {
			Price string `json:"price"`
		} `json:"old"`
	} `json:"changes"`
	Announce []struct {
		Key     string `json:"key"`
		Trigger string `json:"trigger"`
	} `json:"announce"`
}

// TestCatalogCampaign runs a shop campaign over a sequence of catalog
// snapshots: the first run records, a malformed catalog fails with the
// product and field and consumes nothing, then new, cheaper and restocked
// products go out as cards, once.
func TestCatalogCampaign(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importAudience(t)
	// The shop: its products.json, over real HTTP on loopback.
	var catalog atomic.Value
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/products.json" || r.URL.Query().Get("page") != "1" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, catalog.Load())
	}))
	t.Cleanup(shop.Close)
	b.write(t, "campaigns/shop.yaml", strings.Replace(shopCampaignYAML, "SHOP", shop.URL, 1))
	day1 := shopFile(
		shopProduct(1, "Trail Runner", "120.00", "", true),
		shopProduct(2, "Wool Socks", "12.00", "", false),
		shopProduct(3, "Rain Jacket", "90.00", "", true),
	)
	catalog.Store(day1)
	b.must(t, 0, "lint")

	check := decode[checkOutput](t, b.must(t, 0, "sources", "check", "shop", "--output", "json").stdout)
	if !check.FirstScan || check.Products != 3 || len(check.Announce) != 0 {
		t.Fatalf("first check: %+v", check)
	}
	first := decode[summary](t, b.must(t, 0, "campaign", "send", "shop", "--yes", "--output", "json").stdout)
	if first.State != "done" || first.Counts.Targeted != 0 || len(b.sb.Messages()) != 0 {
		t.Fatalf("the first run should only record the catalog: %+v, %d messages", first, len(b.sb.Messages()))
	}
	if out := b.must(t, 0, "sources", "check", "shop").stdout; !strings.Contains(out, "Nothing changed since the last run.") {
		t.Fatalf("check after recording:\n%s", out)
	}

	// Day 2: the jacket is 25% off, the socks are back, boots are new and
	// the runner costs more.
	day2 := shopFile(
		shopProduct(1, "Trail Runner", "130.00", "", true),
		shopProduct(2, "Wool Socks", "12.00", "", true),
		shopProduct(3, "Rain Jacket", "67.50", "90.00", true),
		shopProduct(4, "Hiking Boot — Größe 42", "149.00", "", true),
	)
	// A malformed version first: the run fails, names the product and the
	// field, and records nothing.
	catalog.Store(strings.Replace(day2, `"67.50"`, `"67,5x"`, 1))
	r := b.herald(t, "campaign", "send", "shop", "--yes")
	if r.code != exitInvalid || !strings.Contains(r.stderr, "Rain Jacket") || !strings.Contains(r.stderr, "price") {
		t.Fatalf("malformed catalog: want exit 2 naming the product and field, got %s", r)
	}
	catalog.Store(day2)

	for range 2 { // checking twice: the first check consumed nothing
		check = decode[checkOutput](t, b.must(t, 0, "sources", "check", "shop", "--output", "json").stdout)
		got := map[string]string{}
		for _, a := range check.Announce {
			got[a.Key] = a.Trigger
		}
		want := map[string]string{"id:2": "back_in_stock", "id:3": "price_drop", "id:4": "new_product"}
		if fmt.Sprint(got) != fmt.Sprint(want) || len(check.Changes) != 4 {
			t.Fatalf("day 2 check: announce %v, want %v; changes %+v", got, want, check.Changes)
		}
	}
	text := b.must(t, 0, "sources", "check", "shop").stdout
	for _, want := range []string{"Rain Jacket (3)", "price 90.00 EUR → 67.50 EUR", "price_drop", "announces it", "The next run would announce 3 in one digest."} {
		if !strings.Contains(text, want) {
			t.Errorf("sources check output lacks %q:\n%s", want, text)
		}
	}

	preview := b.must(t, 0, "campaign", "preview", "shop").stdout
	for _, want := range []string{"[card 1] Wool Socks", "[card 2] Rain Jacket · 67,50\u00a0€ · price_drop", "image https://cdn.example.com/p-4.jpg", "[ Buy now ] → " + shop.URL + "/products/p-4"} {
		if !strings.Contains(preview, want) {
			t.Errorf("preview lacks %q:\n%s", want, preview)
		}
	}

	sent := decode[summary](t, b.must(t, 0, "campaign", "send", "shop", "--yes", "--output", "json").stdout)
	if sent.State != "done" || len(sent.Items) != 3 || sent.Counts.Failed != 0 || sent.Counts.Sent == 0 {
		t.Fatalf("day 2 run: %+v", sent)
	}
	msgs := b.sb.Messages()
	perChat := map[string][]sandbox.Message{}
	for _, m := range msgs {
		perChat[m.Chat] = append(perChat[m.Chat], m)
	}
	// Each subscriber gets the intro and one photo per product, the
	// price in their own locale (Alice writes Italian).
	alice := perChat["100000001"]
	if len(alice) != 4 || alice[0].Method != "sendMessage" || alice[1].Method != "sendPhoto" {
		t.Fatalf("Alice's messages: %+v", alice)
	}
	var jacket string
	for _, m := range alice[1:] {
		if strings.Contains(m.Plain, "Rain Jacket") {
			jacket = m.Plain
			if len(m.Buttons) != 1 || m.Buttons[0].URL != shop.URL+"/products/p-3" || !strings.Contains(m.Media[0].URL, "p-3.jpg") ||
				!strings.Contains(m.Text, `<a href="`+shop.URL+`/products/p-3">`) {
				t.Errorf("the jacket's card: %+v", m)
			}
		}
	}
	if !strings.Contains(jacket, "67,50") || !strings.Contains(jacket, "€") || !strings.Contains(jacket, "price_drop") {
		t.Errorf("the jacket's caption for an Italian subscriber: %q, want 67,50 €", jacket)
	}

	// Nothing is announced twice.
	again := decode[summary](t, b.must(t, 0, "campaign", "send", "shop", "--yes", "--output", "json").stdout)
	if again.Counts.Targeted != 0 || len(b.sb.Messages()) != len(msgs) {
		t.Fatalf("second send of day 2: %+v", again)
	}
	raw, _ := json.Marshal(check)
	if strings.Contains(string(raw), testToken) {
		t.Fatal("token in output")
	}
}

// TestSourcesCheckFeed: for a feed, sources check lists the new items and
// which the next run sends, and consumes nothing; a campaign without a
// source is refused.
func TestSourcesCheckFeed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for range 2 {
		check := decode[checkOutput](t, b.must(t, 0, "sources", "check", "blog-digest", "--output", "json").stdout)
		sends, passes := 0, 0
		for _, c := range check.Changes {
			if c.Announce {
				sends++
			} else if strings.Contains(c.Why, "consumed without sending") {
				passes++
			}
		}
		if !check.FirstScan || len(check.Announce) != 3 || sends != 3 || passes != 2 {
			t.Fatalf("blog-digest check: %+v", check)
		}
	}
	if r := b.must(t, 2, "sources", "check", "announcement"); !strings.Contains(r.stderr, "has no source") {
		t.Errorf("a campaign without a source: %s", r)
	}
}

// TestLintCatalog lints a catalog campaign against its local feed: the
// products stand in as changed ones (.Item.Change is set, as in a run), and
// a card the platforms cannot show is reported with its line.
func TestLintCatalog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.write(t, "campaigns/deals.yaml", `channels: [telegram, messenger]
source: {type: catalog, format: google_merchant, url: feeds/shop.xml}
mode: each
message:
  cards:
    title: "{{ .Item.Title }} ({{ .Item.Change.Trigger }})"
    subtitle: "{{ money .Item.Effective .Item.Currency }}"
    image: "{{ .Item.Image }}"
    link: "{{ .Item.Link }}"
`)
	b.must(t, 0, "lint")
	b.write(t, "campaigns/deals.yaml", `channels: [telegram, messenger]
source: {type: catalog, format: google_merchant, url: feeds/shop.xml}
mode: each
message:
  cards:
    title: "{{ .Item.Title }}"
    buttons: [{text: "Buy this wonderful product today", url: "{{ .Item.Link }}"}]
`)
	r := b.must(t, 2, "lint")
	if !strings.Contains(r.stdout+r.stderr, "campaigns/deals.yaml:7: messenger: message.cards.buttons.0.text") {
		t.Errorf("a card button too long for Messenger: %s", r)
	}
}
