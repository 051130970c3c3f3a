// Package sources defines herald's content Item and the shared pieces every
// content source uses. Concrete sources live in sub-packages (sources/rss).
package sources

import (
	"time"

	"github.com/govalues/decimal"
)

// Item is one piece of content from a source, in herald's own shape. Sources
// return items newest first.
type Item struct {
	// Key is the stable dedupe key: the item's GUID/id, else its normalized
	// link, else a hash of title and content (see DedupeKey).
	Key       string    `json:"key"`
	Title     string    `json:"title"`
	Link      string    `json:"link,omitempty"`
	Summary   string    `json:"summary,omitempty"`
	Image     string    `json:"image,omitempty"`
	Author    string    `json:"author,omitempty"`
	Published time.Time `json:"published,omitzero"`
	Updated   time.Time `json:"updated,omitzero"`
	// Categories are the item's tags or categories as the source gives them.
	Categories []string `json:"categories,omitempty"`

	// Product fields, set by catalog sources (sources/catalog); zero for
	// feed items.
	//
	// Price is the regular price and SalePrice, when the product is on
	// sale, what it costs now (lower than Price). Both are exact decimals
	// in Currency, an ISO 4217 code.
	SKU          string          `json:"sku,omitempty"`
	Price        decimal.Decimal `json:"price,omitzero"`
	SalePrice    decimal.Decimal `json:"sale_price,omitzero"`
	Currency     string          `json:"currency,omitempty"`
	Availability Availability    `json:"availability,omitempty"`
	Brand        string          `json:"brand,omitempty"`
	// Category is the product's category, as the catalog names it
	// ("Apparel > Shoes").
	Category string `json:"category,omitempty"`
	// Discount is a whole percentage, rounded down: for a price drop, how
	// much lower the price is than before; otherwise how far SalePrice is
	// below Price (0 when not on sale).
	Discount int `json:"discount,omitempty"`
	// Change says which catalog trigger announced the product, and what
	// its old value was.
	Change *Change `json:"change,omitempty"`
}

// Availability is a product's stock status, normalised from every format.
type Availability string

const (
	InStock    Availability = "in_stock"
	OutOfStock Availability = "out_of_stock"
	Preorder   Availability = "preorder"
	Backorder  Availability = "backorder"
)

// Catalog triggers: what change in a product a campaign announces.
const (
	NewProduct  = "new_product"
	PriceDrop   = "price_drop"
	BackInStock = "back_in_stock"
)

// Change is why a catalog campaign announces a product.
type Change struct {
	// Trigger is NewProduct, PriceDrop or BackInStock.
	Trigger string `json:"trigger"`
	// OldPrice is the price before a drop; OldAvailability the stock
	// status before the product came back.
	OldPrice        decimal.Decimal `json:"old_price,omitzero"`
	OldAvailability Availability    `json:"old_availability,omitempty"`
}

// Old is the old value as text: the price before a drop, the availability
// before a product came back, "" for a new product.
func (c *Change) Old() string {
	switch c.Trigger {
	case PriceDrop:
		return c.OldPrice.String()
	case BackInStock:
		return string(c.OldAvailability)
	}
	return ""
}

// Effective is what the product costs now: SalePrice when set, else Price.
func (it *Item) Effective() decimal.Decimal {
	if !it.SalePrice.IsZero() {
		return it.SalePrice
	}
	return it.Price
}

// Validators are the HTTP cache validators of the last successful fetch, sent
// back on the next one as If-None-Match / If-Modified-Since.
type Validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// Result is what one fetch of a source returned.
type Result struct {
	// NotModified is true when the server answered 304: Items is empty and
	// the previous validators still hold.
	NotModified bool
	Items       []Item
	Validators  Validators
	// Title is the feed's own title, when it has one.
	Title string
	// MinInterval is the shortest time the source asks to be left alone
	// before the next fetch: the larger of the HTTP Cache-Control max-age
	// and the feed's own <ttl>; 0 when it says nothing. A poller waits at
	// least this long. Sources cap it with CapInterval, so that a garbage
	// value cannot stop polling for ever.
	MinInterval time.Duration
}

// MaxInterval caps a source's MinInterval: a feed or server that asks for a
// week's (or a year's) silence by mistake must not stop a campaign.
const MaxInterval = 24 * time.Hour

// CapInterval bounds d to 0…MaxInterval.
func CapInterval(d time.Duration) time.Duration { return min(max(d, 0), MaxInterval) }
