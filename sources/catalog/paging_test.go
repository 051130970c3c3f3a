package catalog

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestFirstURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format, in, want, err string
	}{
		{format: Shopify, in: "https://shop.example.com", want: "https://shop.example.com/products.json?limit=250&page=1"},
		{format: Shopify, in: "https://shop.example.com/", want: "https://shop.example.com/products.json?limit=250&page=1"},
		{format: Shopify, in: " https://shop.example.com/collections/shoes/ ", want: "https://shop.example.com/collections/shoes/products.json?limit=250&page=1"},
		{format: Shopify, in: "https://shop.example.com/products", want: "https://shop.example.com/products.json?limit=250&page=1"},
		{format: Shopify, in: "https://shop.example.com/products.json", want: "https://shop.example.com/products.json?limit=250&page=1"},
		{format: Shopify, in: "https://shop.example.com/products.json?limit=50", want: "https://shop.example.com/products.json?limit=50&page=1"},
		{format: Shopify, in: "https://shop.example.com/products.json?page=3#top", want: "https://shop.example.com/products.json?limit=250&page=3"},
		{format: Shopify, in: "https://shop.example.com/products.json?page_info=abc", want: "https://shop.example.com/products.json?limit=250&page_info=abc"},
		{format: Shopify, in: "https://shop.example.com/collections/all?sort_by=created-descending", want: "https://shop.example.com/collections/all/products.json?limit=250&page=1&sort_by=created-descending"},
		{format: Shopify, in: "https://shop.example.com/products/cap.json", err: "is not a products.json"},
		{format: Shopify, in: "shop.example.com", err: "is not a shop address: write it like https://shop.example.com"},
		{format: Shopify, in: "ftp://shop.example.com", err: "is not a shop address"},

		{format: WooCommerce, in: "https://shop.example.com", want: "https://shop.example.com/wp-json/wc/store/v1/products?page=1&per_page=100"},
		{format: WooCommerce, in: "https://example.com/store/", want: "https://example.com/store/wp-json/wc/store/v1/products?page=1&per_page=100"},
		{format: WooCommerce, in: "https://shop.example.com/wp-json/wc/store/v1/products?category=12", want: "https://shop.example.com/wp-json/wc/store/v1/products?category=12&page=1&per_page=100"},
		{format: WooCommerce, in: "https://shop.example.com/wp-json/wc/store/v1", want: "https://shop.example.com/wp-json/wc/store/v1/products?page=1&per_page=100"},
		{format: WooCommerce, in: "https://shop.example.com/wp-json/wc/store/products?per_page=20", want: "https://shop.example.com/wp-json/wc/store/products?page=1&per_page=20"},
		{format: WooCommerce, in: "https://shop.example.com/?rest_route=/wc/store/v1/products", want: "https://shop.example.com/?page=1&per_page=100&rest_route=%2Fwc%2Fstore%2Fv1%2Fproducts"},
		{format: WooCommerce, in: "https://shop.example.com/?rest_route=/wc/store/v1", want: "https://shop.example.com/?page=1&per_page=100&rest_route=%2Fwc%2Fstore%2Fv1%2Fproducts"},
		{format: WooCommerce, in: "https://shop.example.com/wp-json/wc/v3/products", err: "needs API keys"},
		{format: WooCommerce, in: "https://shop.example.com/wp-json/wp/v2/posts", err: "is not WooCommerce's Store API"},

		{format: GoogleMerchant, in: "https://shop.example.com/feed.xml?key=1", want: "https://shop.example.com/feed.xml?key=1"},
		{format: CSV, in: "https://shop.example.com/p.csv", want: "https://shop.example.com/p.csv"},
		{format: JSON, in: "mailto:a@example.com", err: "is not a URL"},
	}
	for _, tt := range tests {
		got, err := formats[tt.format].first(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s first(%q) = %q, %v; want an error containing %q", tt.format, tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s first(%q) = %q, %v; want %q", tt.format, tt.in, got, err, tt.want)
		}
	}
}

func TestNextURL(t *testing.T) {
	t.Parallel()
	link := func(v ...string) http.Header { return http.Header{"Link": v} }
	tests := []struct {
		name, format, cur string
		header            http.Header
		count             int
		want, err         string
	}{
		{name: "shopify full page", format: Shopify, cur: "https://s.example/products.json?limit=250&page=1", count: 250,
			want: "https://s.example/products.json?limit=250&page=2"},
		{name: "shopify short page", format: Shopify, cur: "https://s.example/products.json?limit=250&page=4", count: 249},
		{name: "shopify empty page", format: Shopify, cur: "https://s.example/products.json?limit=250&page=4", count: 0},
		{name: "shopify limit over the cap", format: Shopify, cur: "https://s.example/products.json?limit=1000&page=1", count: 250,
			want: "https://s.example/products.json?limit=1000&page=2"},
		{name: "shopify own limit", format: Shopify, cur: "https://s.example/products.json?limit=30&page=2", count: 30,
			want: "https://s.example/products.json?limit=30&page=3"},
		{name: "shopify link next, relative", format: Shopify, cur: "https://s.example/products.json?limit=250&page=1", count: 3,
			header: link(`</products.json?limit=250&page_info=prev>; rel="previous", </products.json?limit=250&page_info=n2>; rel="next"`),
			want:   "https://s.example/products.json?limit=250&page_info=n2"},
		{name: "shopify link next, second header", format: Shopify, cur: "https://s.example/products.json?limit=250&page=1",
			header: link(`<https://x.example/a>; rel=preload`, `<https://s.example/products.json?page_info=n2>; Rel="Next"`),
			want:   "https://s.example/products.json?page_info=n2"},
		{name: "shopify cursor page without next", format: Shopify, cur: "https://s.example/products.json?limit=250&page_info=n2", count: 250},
		{name: "shopify link to itself", format: Shopify, cur: "https://s.example/products.json?page_info=a",
			header: link(`<https://s.example/products.json?page_info=a>; rel="next"`), err: "goes round in a circle"},
		{name: "shopify bad page", format: Shopify, cur: "https://s.example/products.json?limit=250&page=x", count: 250,
			err: `page="x" is not a positive whole number`},

		{name: "woo total pages", format: WooCommerce, cur: "https://w.example/wp-json/wc/store/v1/products?page=1&per_page=100", count: 100,
			header: http.Header{"X-Wp-Totalpages": {"3"}}, want: "https://w.example/wp-json/wc/store/v1/products?page=2&per_page=100"},
		{name: "woo last page by header, full", format: WooCommerce, cur: "https://w.example/wp-json/wc/store/v1/products?page=3&per_page=100", count: 100,
			header: http.Header{"X-Wp-Totalpages": {"3"}}},
		{name: "woo no header, full page", format: WooCommerce, cur: "https://w.example/wp-json/wc/store/v1/products?page=2&per_page=100", count: 100,
			want: "https://w.example/wp-json/wc/store/v1/products?page=3&per_page=100"},
		{name: "woo no header, short page", format: WooCommerce, cur: "https://w.example/wp-json/wc/store/v1/products?page=2&per_page=100", count: 99},
		{name: "woo garbage header", format: WooCommerce, cur: "https://w.example/wp-json/wc/store/v1/products?page=1&per_page=100", count: 100,
			header: http.Header{"X-Wp-Totalpages": {"lots"}}, want: "https://w.example/wp-json/wc/store/v1/products?page=2&per_page=100"},
		{name: "woo default per_page", format: WooCommerce, cur: "https://w.example/wp-json/wc/store/v1/products", count: 10,
			want: "https://w.example/wp-json/wc/store/v1/products?page=2"},
	}
	for _, tt := range tests {
		cur, err := url.Parse(tt.cur)
		if err != nil {
			t.Fatal(err)
		}
		got, err := formats[tt.format].next(cur, tt.header, tt.count)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: next = %q, %v; want an error containing %q", tt.name, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: next = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}
