package catalog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/sources/catalog"
	"github.com/heraldcli/herald/sources/fetch"
)

// shopifyPage writes a products.json page of the products with ids
// from..to, each with one available variant.
func shopifyPage(from, to int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"products":[`)
	for id := from; id <= to; id++ {
		if id > from {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"title":"Product %d","handle":"p-%d","variants":[{"sku":"S%d","price":"%d.00","available":true}]}`, id, id, id, id, 10+id%90)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// requestLog records the query of every request a test server gets.
type requestLog struct {
	mu      sync.Mutex
	queries []string
}

func (l *requestLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queries = append(l.queries, r.URL.Path+"?"+r.URL.RawQuery)
}

func (l *requestLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.queries)
}

// scanAll scans src and returns the keys it emitted, in order.
func scanAll(t *testing.T, src *catalog.Source, prev sources.Validators) ([]string, catalog.ScanResult, error) {
	t.Helper()
	var keys []string
	res, err := src.Scan(context.Background(), prev, func(it sources.Item) error {
		keys = append(keys, it.Key)
		return nil
	})
	return keys, res, err
}

func wantKeys(from, to int) []string {
	var keys []string
	for id := from; id <= to; id++ {
		keys = append(keys, "id:"+strconv.Itoa(id))
	}
	return keys
}

// TestScanShopifyPages follows a shop through page numbers, then through
// the Link header's cursor, and stops at the short last page.
func TestScanShopifyPages(t *testing.T) {
	t.Parallel()
	var log requestLog
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		q := r.URL.Query()
		switch {
		case r.URL.Path != "/collections/shoes/products.json" || q.Get("limit") != "250":
			http.NotFound(w, r)
		case q.Get("page") == "1":
			w.Write(shopifyPage(1, 250))
		case q.Get("page") == "2":
			w.Header().Set("Link", `</collections/shoes/products.json?limit=250&page_info=prev1>; rel="previous", </collections/shoes/products.json?limit=250&page_info=c3>; rel="next"`)
			w.Write(shopifyPage(251, 500))
		case q.Get("page_info") == "c3":
			w.Write(shopifyPage(501, 517))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	src := &catalog.Source{Format: catalog.Shopify, URL: srv.URL + "/collections/shoes", Currency: "USD", Client: &fetch.Client{}}
	keys, res, err := scanAll(t, src, sources.Validators{})
	if err != nil {
		t.Fatal(err)
	}
	wantRequests := []string{
		"/collections/shoes/products.json?limit=250&page=1",
		"/collections/shoes/products.json?limit=250&page=2",
		"/collections/shoes/products.json?limit=250&page_info=c3",
	}
	if got := log.all(); !slices.Equal(got, wantRequests) {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRequests, "\n"))
	}
	if !slices.Equal(keys, wantKeys(1, 517)) {
		t.Errorf("emitted %d keys (%v…), want id:1…id:517 in order", len(keys), keys[:min(len(keys), 3)])
	}
	if res.Pages != 3 || res.Products != 517 || res.Validators != (sources.Validators{}) {
		t.Errorf("result = %+v, want 3 pages, 517 products and no validators", res)
	}
}

// TestScanWooCommercePages pages by X-WP-TotalPages, and stops there even
// after a full page.
func TestScanWooCommercePages(t *testing.T) {
	t.Parallel()
	var log requestLog
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(r)
		page, err := strconv.Atoi(r.URL.Query().Get("page"))
		if r.URL.Path != "/wp-json/wc/store/v1/products" || r.URL.Query().Get("per_page") != "100" || err != nil || page < 1 || page > 3 {
			http.Error(w, `{"code":"rest_no_route"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("X-WP-Total", "300")
		w.Header().Set("X-WP-TotalPages", "3")
		var b bytes.Buffer
		b.WriteByte('[')
		for id := (page-1)*100 + 1; id <= page*100; id++ {
			if b.Len() > 1 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":%d,"name":"Item %d","permalink":"/product/item-%d/","prices":{"price":"%d","regular_price":"%d","currency_code":"EUR","currency_minor_unit":2},"is_in_stock":true}`, id, id, id, 100*id, 100*id)
		}
		b.WriteByte(']')
		w.Write(b.Bytes())
	}))
	defer srv.Close()

	keys, res, err := scanAll(t, &catalog.Source{Format: catalog.WooCommerce, URL: srv.URL, Client: &fetch.Client{}}, sources.Validators{})
	if err != nil {
		t.Fatal(err)
	}
	wantRequests := []string{
		"/wp-json/wc/store/v1/products?page=1&per_page=100",
		"/wp-json/wc/store/v1/products?page=2&per_page=100",
		"/wp-json/wc/store/v1/products?page=3&per_page=100",
	}
	if got := log.all(); !slices.Equal(got, wantRequests) {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRequests, "\n"))
	}
	if !slices.Equal(keys, wantKeys(1, 300)) {
		t.Errorf("emitted %d keys, want id:1…id:300 in order", len(keys))
	}
	if res.Pages != 3 || res.Products != 300 {
		t.Errorf("result = %+v, want 3 pages and 300 products", res)
	}
}

// TestScanMerchantNotModified reads a feed, then sends its ETag back and
// emits nothing on the 304.
func TestScanMerchantNotModified(t *testing.T) {
	t.Parallel()
	feed, err := os.ReadFile(filepath.Join("testdata", catalog.GoogleMerchant, "feed-rss.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var conditional atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Tue, 12 Mar 2024 16:40:02 GMT")
		w.Header().Set("Cache-Control", "max-age=600")
		if r.Header.Get("If-None-Match") == `"v1"` {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(feed)
	}))
	defer srv.Close()
	src := &catalog.Source{Format: catalog.GoogleMerchant, URL: srv.URL + "/feeds/google.xml", Client: &fetch.Client{}}

	keys, first, err := scanAll(t, src, sources.Validators{})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 6 || first.NotModified || first.Validators.ETag != `"v1"` || first.MinInterval != 10*time.Minute {
		t.Fatalf("first scan: %d items, result %+v; want 6 items, ETag \"v1\" and a 10m interval", len(keys), first)
	}
	keys, second, err := scanAll(t, src, first.Validators)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 || !second.NotModified || second.Validators != first.Validators {
		t.Errorf("second scan: emitted %v, result %+v; want nothing, NotModified and the same validators", keys, second)
	}
	if conditional.Load() != 1 {
		t.Errorf("%d conditional requests, want 1", conditional.Load())
	}
}

// TestScanStreamsPages reads a 10,000-product shop, 40 pages of 250, and
// checks that herald holds one page at a time: each page is decoded (its
// products emitted) while it is still arriving, the next page is asked for
// only once all of the previous one was emitted, and a byte cap of one
// page's size is enough for the whole catalog.
func TestScanStreamsPages(t *testing.T) {
	t.Parallel()
	const pages, perPage = 40, 250
	var emitted atomic.Int64
	progress := make(chan struct{}, 1)
	var largest atomic.Int64
	var inFlight atomic.Int32

	// waitFor blocks until at least n products were emitted; after one
	// wait in vain, it stops waiting, so that a broken decoder fails the
	// test once rather than on all forty pages.
	var stalled atomic.Bool
	waitFor := func(n int64) error {
		deadline := time.After(10 * time.Second)
		for emitted.Load() < n && !stalled.Load() {
			select {
			case <-progress:
			case <-deadline:
				stalled.Store(true)
				return fmt.Errorf("only %d products emitted, want %d: the page is not decoded as it arrives", emitted.Load(), n)
			}
		}
		return nil
	}
	bodies := make([][]byte, pages+1)
	for p := 1; p <= pages; p++ {
		bodies[p] = shopifyPage((p-1)*perPage+1, p*perPage)
		largest.Store(max(largest.Load(), int64(len(bodies[p]))))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := inFlight.Add(1); n != 1 {
			t.Errorf("%d pages in flight at once", n)
		}
		defer inFlight.Add(-1)
		p, err := strconv.Atoi(r.URL.Query().Get("page"))
		switch {
		case err != nil || p < 1:
			http.NotFound(w, r)
			return
		case p > pages:
			// Past the end, a shop answers with an empty page.
			w.Write([]byte(`{"products":[]}`))
			return
		}
		before := int64((p - 1) * perPage)
		if got := emitted.Load(); got != before {
			t.Errorf("page %d requested after %d products were emitted, want %d", p, got, before)
		}
		// Send the first half of the page and hold the rest back until
		// its products have come out of the decoder.
		body := bodies[p]
		half := bytes.Index(body, []byte(fmt.Sprintf(`{"id":%d,`, (p-1)*perPage+perPage/2+1)))
		w.Write(body[:half])
		w.(http.Flusher).Flush()
		if err := waitFor(before + perPage/2 - 1); err != nil {
			t.Errorf("page %d: %v", p, err)
		}
		w.Write(body[half:])
	}))
	defer srv.Close()

	src := &catalog.Source{
		Format: catalog.Shopify, URL: srv.URL, Currency: "USD", Client: &fetch.Client{},
		MaxBytes: largest.Load(), // one page's worth, for a catalog forty times that
	}
	res, err := src.Scan(context.Background(), sources.Validators{}, func(it sources.Item) error {
		if want := "id:" + strconv.FormatInt(emitted.Load()+1, 10); it.Key != want {
			return fmt.Errorf("emitted %s, want %s", it.Key, want)
		}
		emitted.Add(1)
		select {
		case progress <- struct{}{}:
		default:
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pages != pages+1 {
		t.Errorf("%d pages read, want %d and the empty one after them", res.Pages, pages)
	}
	if res.Products != pages*perPage || emitted.Load() != pages*perPage {
		t.Errorf("%d products (%d emitted), want %d", res.Products, emitted.Load(), pages*perPage)
	}
}

// TestScanShopifyNeedsCurrency fails with the setting to fix, not a
// guess of dollars.
func TestScanShopifyNeedsCurrency(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(shopifyPage(1, 2))
	}))
	defer srv.Close()
	_, _, err := scanAll(t, &catalog.Source{Format: catalog.Shopify, URL: srv.URL, Client: &fetch.Client{}}, sources.Validators{})
	var ce *catalog.ConfigError
	if !errors.As(err, &ce) || ce.Setting != "source.currency" {
		t.Fatalf("err = %v, want a *ConfigError for source.currency", err)
	}
}

// TestScanLocalFile reads a catalog from disk: one document, and relative
// links there are an error, since no site says what they are relative to.
func TestScanLocalFile(t *testing.T) {
	t.Parallel()
	keys, res, err := scanAll(t, &catalog.Source{Format: catalog.CSV, URL: filepath.Join("testdata", "csv", "excel-de.csv")}, sources.Validators{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"id:K-1", "id:K-2", "id:K-3"}) || res.Pages != 1 || res.Products != 3 {
		t.Errorf("keys %v, result %+v; want K-1…K-3 on one page", keys, res)
	}

	path := filepath.Join("testdata", "csv", "products.csv")
	src := &catalog.Source{Format: catalog.CSV, URL: path, Fields: catalog.Fields{
		"id": "SKU", "title": "Name", "price": "Price", "sale_price": "Sale Price", "availability": "Stock", "link": "URL", "image": "Image",
	}}
	_, _, err = scanAll(t, src, sources.Validators{})
	var pe *catalog.ProductError
	if !errors.As(err, &pe) || pe.Product != "CAP-7 (line 4)" || pe.Field != "Image" || pe.URL != path {
		t.Fatalf("err = %v, want a *ProductError for CAP-7's Image in %s", err, path)
	}
	if !strings.Contains(err.Error(), "a relative URL in a local file") {
		t.Errorf("err = %v, want it to say the URL is relative", err)
	}
}
