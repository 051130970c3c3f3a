package campaign_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/sources"
)

const shopCampaign = `channels: [telegram]
source: {type: catalog, format: csv, url: shop.csv, currency: EUR, fields: {id: SKU, title: Name}}
on: [new_product, price_drop]
price_drop: {min_percent: 20}
filter: {category: [shoes], max_price: "150.00", keywords: [running]}
cooldown: 72h
mode: digest
message:
  text: "**New in the shop**"
  cards:
    title: "{{ .Item.Title }}"
    subtitle: "{{ money .Item.Effective .Item.Currency }}"
    image: "{{ .Item.Image }}"
    link: "{{ .Item.Link }}"
    buttons: [{text: Buy now, url: "{{ .Item.Link }}"}]
  layout: album
`

func TestParseCatalogSpec(t *testing.T) {
	t.Parallel()
	s, err := campaign.ParseSpec("c.yaml", "c", []byte(shopCampaign), known)
	if err != nil {
		t.Fatal(err)
	}
	r := s.CatalogRules()
	if len(r.On) != 2 || r.MinDropPercent.String() != "20" || r.Filter.MaxPrice.String() != "150.00" ||
		r.Filter.Categories[0] != "shoes" || r.Cooldown.Hours() != 72 {
		t.Errorf("rules: %+v", r)
	}
	if s.Backfill() != 0 {
		t.Errorf("a catalog's first run announces %d by default, want 0", s.Backfill())
	}

	// Without on:, a catalog announces new products.
	s, err = campaign.ParseSpec("c.yaml", "c", []byte("channels: [telegram]\nsource: {type: catalog, format: google_merchant, url: f.xml}\nmessage: {text: '{{ .Item.Title }}'}\n"), known)
	if err != nil {
		t.Fatal(err)
	}
	if on := s.CatalogRules().On; len(on) != 1 || on[0] != sources.NewProduct {
		t.Errorf("default on: %v, want [new_product]", on)
	}
}

func TestParseCatalogSpecErrors(t *testing.T) {
	t.Parallel()
	head := "channels: [telegram]\nsource: {type: catalog, format: csv, url: shop.csv}\n"
	msg := "message: {text: hi}\n"
	cases := []struct{ name, yaml, want string }{
		{"unknown format", "channels: [telegram]\nsource: {type: catalog, format: magento, url: x}\n" + msg, `c.yaml:2: source.format: unknown format "magento": herald reads shopify, woocommerce, google_merchant, csv, json`},
		{"shopify needs a currency", "channels: [telegram]\nsource: {type: catalog, format: shopify, url: https://s.example.com}\n" + msg, "source.currency: missing: a Shopify shop's products.json does not say its currency"},
		{"unknown field", "channels: [telegram]\nsource:\n  type: catalog\n  format: csv\n  url: x\n  fields: {colour: C}\n" + msg, `c.yaml:6: source.fields.colour: herald has no field "colour"`},
		{"fields on a fixed format", "channels: [telegram]\nsource:\n  type: catalog\n  format: woocommerce\n  url: x\n  fields: {id: C}\n" + msg, "c.yaml:6: source.fields: only csv and json catalogs map fields"},
		{"catalog keys on a feed", "channels: [telegram]\nsource: {url: f.xml}\non: [new_product]\n" + msg, "c.yaml:3: on: is for catalog sources"},
		{"format on a feed", "channels: [telegram]\nsource: {url: f.xml, format: csv}\n" + msg, "source.format is for catalogs"},
		{"unknown trigger", head + "on: [new_product, sale]\n" + msg, `c.yaml:3: on: unknown trigger "sale"`},
		{"price_drop not on", head + "on: [new_product]\nprice_drop: {min_percent: 10}\n" + msg, "c.yaml:4: price_drop: is set but on: does not list price_drop"},
		{"bad percent", head + "on: [price_drop]\nprice_drop: {min_percent: 120}\n" + msg, "c.yaml:4: price_drop.min_percent must be from 0 to under 100"},
		{"bad max price", head + "filter: {max_price: cheap}\n" + msg, `c.yaml:3: filter.max_price "cheap"`},
		{"bad currency", "channels: [telegram]\nsource: {type: catalog, format: csv, url: x, currency: euro}\n" + msg, `c.yaml:2: source.currency:`},
		{"cards need a source", "channels: [telegram]\nmessage:\n  cards: {title: x}\n", "c.yaml:3: message.cards renders one card per item: the campaign needs a source"},
		{"cards and an image", head + "message:\n  image: https://x/y.jpg\n  cards: {title: x}\n", "a message with cards has no image"},
		{"card title", head + "message:\n  cards: {subtitle: x}\n", "message.cards.title is required"},
		{"card button", head + "message:\n  cards:\n    title: x\n    buttons: [{text: Buy}]\n", "message.cards.buttons.0: a button needs exactly one of url or callback"},
		{"too many cards", head + "max_items: 12\nmessage:\n  cards: {title: x}\n", "c.yaml:3: max_items 12: a message shows at most 10 cards"},
		{"bad layout", head + "message:\n  cards: {title: x}\n  layout: grid\n", `message.layout "grid"`},
		{"layout without cards", head + "message:\n  text: hi\n  layout: album\n", "message.layout says how Telegram shows cards"},
		{"card template", head + "message:\n  cards: {title: '{{ .Item.Title '}\n", "c.yaml:4: message.cards.title: template:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := campaign.ParseSpec("c.yaml", "c", []byte(tc.yaml), known)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !errors.Is(err, campaign.ErrInvalidSpec) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error:\n%v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
