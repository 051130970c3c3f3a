// Package catalog reads e-commerce product catalogs as herald sources:
// Shopify's products.json, the WooCommerce Store API, Google Merchant Center
// feeds (XML and text) and any CSV or JSON file with a field mapping. Each
// product becomes a sources.Item with its price, sale price, currency and
// availability; Differ compares them with what a campaign saw last time to
// find new products, price drops and products back in stock.
//
// Catalogs are read in a stream, one page (or one document, read as it
// arrives) at a time, through the same polite fetch.Client as feeds.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/sources/fetch"
)

// Formats herald reads.
const (
	Shopify        = "shopify"
	WooCommerce    = "woocommerce"
	GoogleMerchant = "google_merchant"
	CSV            = "csv"
	JSON           = "json"
)

// Formats lists every format name, for messages.
var Formats = []string{Shopify, WooCommerce, GoogleMerchant, CSV, JSON}

// FieldNames are herald's product fields a csv or json catalog maps to its
// own columns or JSON paths with fields:. id, title and price are required.
var FieldNames = []string{"id", "title", "link", "image", "description", "price", "sale_price", "currency", "availability", "brand", "category", "sku"}

// Fields maps herald's product fields (FieldNames) to a csv file's column
// names or a json file's paths ("price.amount", "images.0.src").
type Fields map[string]string

// Limits of one scan.
const (
	// DefaultPageBytes caps one page of a paginated API.
	DefaultPageBytes = 10 << 20
	// DefaultDocumentBytes caps a single-document catalog (a Merchant
	// feed, a CSV or JSON file), which is read as a stream and never held
	// whole.
	DefaultDocumentBytes = 512 << 20
	// DefaultMaxPages stops a paginated API that never ends.
	DefaultMaxPages = 2000
)

// Source is one catalog.
type Source struct {
	Format string
	// URL is the shop (https://shop.example.com), the API or feed URL, or
	// a local file path (read as one page).
	URL string
	// Fields and Items configure the csv and json formats: Items is the
	// JSON path of the product list ("" for a top-level array).
	Fields Fields
	Items  string
	// Currency is the currency of prices that do not name one.
	Currency string
	// Client fetches the pages; sources should share one.
	Client *fetch.Client
	// MaxBytes caps one page or document; the defaults above when 0.
	MaxBytes int64
	// MaxPages caps a paginated API; DefaultMaxPages when 0.
	MaxPages int
	// Now is the time a Merchant feed's sale windows are compared with;
	// time.Now when nil.
	Now func() time.Time
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ScanResult is what one scan of a catalog found, beyond its products.
type ScanResult struct {
	// NotModified is true when a single-document catalog answered 304:
	// nothing was emitted.
	NotModified bool
	// Validators are for the next scan's conditional GET; only
	// single-document catalogs have them (a paginated API's first page
	// says nothing about the others).
	Validators  sources.Validators
	MinInterval time.Duration
	Pages       int
	Products    int
}

// page is one fetched page or document, as a decoder sees it.
type page struct {
	// URL is where the page came from (after redirects): relative links
	// resolve against it.
	URL    *url.URL
	Header http.Header // nil for a local file
	Body   io.Reader
	// Source is the catalog's configuration (fields, items); Currency its
	// currency as an ISO code, "" when it sets none.
	Source   *Source
	Currency string
}

// format is how herald reads one catalog format.
type format struct {
	// first returns the URL of the first page for the configured URL.
	first func(raw string) (string, error)
	// decode reads one page and emits its products; it returns how many
	// products the page held.
	decode func(p *page, emit func(sources.Item) error) (int, error)
	// next returns the URL of the page after cur, which held count
	// products, or "" when cur was the last. Nil for single documents.
	next func(cur *url.URL, header http.Header, count int) (string, error)
}

// formats is filled in by each format's file.
var formats = map[string]*format{}

// Scan reads the catalog and calls emit for every product, page by page:
// only one page's bytes are held at a time. prev are the validators of the
// last consumed scan, used for a single-document catalog's conditional GET.
//
// Errors are *ConfigError (joined) for a source set up wrong, found before
// anything is fetched; *sources.FetchError for what the fetch returned; and
// *ProductError or *FormatError for content herald cannot read. An error
// emit returns is returned as is. Nothing is emitted after an error, but
// what was emitted before it was: a caller must not act on a failed scan.
// Only single-document catalogs are fetched conditionally, so only they
// can answer NotModified.
func (s *Source) Scan(ctx context.Context, prev sources.Validators, emit func(sources.Item) error) (ScanResult, error) {
	if err := s.Validate(); err != nil {
		return ScanResult{}, err
	}
	currency, err := sourceCurrency(s)
	if err != nil {
		return ScanResult{}, err
	}
	f := formats[s.Format]
	client := s.Client
	if client == nil {
		client = defaultClient
	}
	local := fetch.IsFile(s.URL)
	paged := f.next != nil && !local
	next := s.URL
	if !local {
		u, err := f.first(s.URL)
		if err != nil {
			return ScanResult{}, &sources.FetchError{URL: s.URL, Err: err}
		}
		next = u
	}
	limit := s.MaxBytes
	if limit <= 0 {
		limit = DefaultDocumentBytes
		if paged {
			limit = DefaultPageBytes
		}
	}
	maxPages := s.MaxPages
	if maxPages <= 0 {
		maxPages = DefaultMaxPages
	}
	var res ScanResult
	validators := prev
	if paged {
		validators = sources.Validators{}
	}
	for next != "" {
		if res.Pages == maxPages {
			return ScanResult{}, &sources.FetchError{URL: s.URL, Err: fmt.Errorf("the catalog has more than %d pages: herald stopped at %s", maxPages, next)}
		}
		var count int
		cur := next
		resp, err := client.Stream(ctx, cur, validators, limit, func(r *fetch.Response, body io.Reader) error {
			base, err := url.Parse(r.FinalURL)
			if err != nil {
				base = &url.URL{}
			}
			count, err = f.decode(&page{URL: base, Header: r.Header, Body: body, Source: s, Currency: currency}, func(it sources.Item) error {
				res.Products++
				return emit(it)
			})
			return err
		})
		if err != nil {
			var pe *ProductError
			if errors.As(err, &pe) && pe.URL == "" {
				pe.URL = cur
			}
			var fe *FormatError
			if errors.As(err, &fe) && fe.URL == "" {
				fe.URL = cur
			}
			return ScanResult{}, err
		}
		res.Pages++
		if resp.NotModified {
			return ScanResult{NotModified: true, Validators: resp.Validators, MinInterval: sources.CapInterval(resp.MaxAge)}, nil
		}
		if !paged {
			res.Validators = resp.Validators
			res.MinInterval = sources.CapInterval(resp.MaxAge)
			break
		}
		u, err := url.Parse(resp.FinalURL)
		if err != nil {
			return ScanResult{}, &sources.FetchError{URL: cur, Err: err}
		}
		if next, err = f.next(u, resp.Header, count); err != nil {
			return ScanResult{}, &sources.FetchError{URL: cur, Err: err}
		}
	}
	return res, nil
}

var defaultClient = &fetch.Client{}

// ProductError is a product herald cannot read: which product, which field,
// what it held and why that is wrong.
//
//	https://shop.example.com/products.json?page=2: product 7723 "Trail Runner": variants.0.price "12,x": not a number
type ProductError struct {
	URL string
	// Product names the product: its id, else its title, else its
	// position ("#12" on the page; a CSV gives "line 14").
	Product string
	Title   string
	Field   string
	Value   string
	Err     error
}

func (e *ProductError) Error() string {
	var b strings.Builder
	if e.URL != "" {
		b.WriteString(e.URL)
		b.WriteString(": ")
	}
	b.WriteString("product ")
	b.WriteString(e.Product)
	if e.Title != "" {
		fmt.Fprintf(&b, " %q", e.Title)
	}
	b.WriteString(": ")
	b.WriteString(e.Field)
	if e.Value != "" {
		fmt.Fprintf(&b, " %q", e.Value)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ProductError) Unwrap() error { return e.Err }

// FormatError is a page or document that is not the format it should be:
// truncated JSON, an XML feed without the g: namespace, a CSV without an
// id column. Where says where in it, when known ("byte 1234", "line 7").
type FormatError struct {
	URL    string
	Format string
	Where  string
	Err    error
}

func (e *FormatError) Error() string {
	var b strings.Builder
	if e.URL != "" {
		b.WriteString(e.URL)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "not a valid %s catalog", e.Format)
	if e.Where != "" {
		b.WriteString(" at ")
		b.WriteString(e.Where)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *FormatError) Unwrap() error { return e.Err }

// FetchLimit is how many products Fetch returns.
const FetchLimit = 100

var errEnough = errors.New("enough products")

// Fetch returns the catalog's first FetchLimit products, in catalog order,
// without diffing anything: what lint and previews render with. It does not
// send prev's validators, so it always reads the catalog.
func (s *Source) Fetch(ctx context.Context, _ sources.Validators) (sources.Result, error) {
	var res sources.Result
	_, err := s.Scan(ctx, sources.Validators{}, func(it sources.Item) error {
		res.Items = append(res.Items, it)
		if len(res.Items) == FetchLimit {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return sources.Result{}, err
	}
	return res, nil
}
