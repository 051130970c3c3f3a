package catalog

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/heraldcli/herald/sources"
)

// benchDecode decodes body as one page of src's format, b.N times.
func benchDecode(b *testing.B, src *Source, pageURL string, body []byte, want int) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		n, err := formats[src.Format].decode(testPage(b, src, pageURL, body), func(sources.Item) error { return nil })
		if err != nil || n != want {
			b.Fatalf("decoded %d products, %v; want %d", n, err, want)
		}
	}
}

// BenchmarkShopifyPage decodes a full products.json page: 250 products
// with three variants each.
func BenchmarkShopifyPage(b *testing.B) {
	var body bytes.Buffer
	body.WriteString(`{"products":[`)
	for i := range 250 {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"id":%d,"title":"Trail Runner %d","handle":"trail-runner-%d","body_html":"<p>Light &amp; fast</p>","vendor":"Nordpfad","product_type":"Shoes","tags":["running","trail"],"published_at":"2024-03-01T10:00:00-05:00","updated_at":"2024-03-12T16:40:02-04:00","images":[{"src":"https://cdn.shopify.com/p/%d.jpg"}],"variants":[{"sku":"A","price":"129.00","compare_at_price":"159.00","available":true},{"sku":"B","price":"119.00","compare_at_price":null,"available":false},{"sku":"C","price":"139.00","available":true}]}`, i, i, i, i)
	}
	body.WriteString(`]}`)
	benchDecode(b, &Source{Format: Shopify, URL: "https://shop.example.com", Currency: "USD"},
		"https://shop.example.com/products.json?limit=250&page=1", body.Bytes(), 250)
}

// BenchmarkMerchantXML decodes an RSS Merchant feed of 1,000 items.
func BenchmarkMerchantXML(b *testing.B) {
	var body bytes.Buffer
	body.WriteString(`<?xml version="1.0"?><rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>`)
	for i := range 1000 {
		fmt.Fprintf(&body, `<item><g:id>SKU-%d</g:id><g:item_group_id>G-%d</g:item_group_id><g:title>Trail Runner %d</g:title><g:description>&lt;p&gt;Light &amp;amp; fast&lt;/p&gt;</g:description><g:link>https://shop.example.com/p/%d</g:link><g:image_link>https://cdn.example.com/%d.jpg</g:image_link><g:price>1,234.50 USD</g:price><g:sale_price>999.00 USD</g:sale_price><g:availability>in_stock</g:availability><g:brand>Nordpfad</g:brand><g:product_type>Apparel &gt; Shoes</g:product_type></item>`, i, i/3, i, i, i)
	}
	body.WriteString(`</channel></rss>`)
	benchDecode(b, &Source{Format: GoogleMerchant, URL: "https://shop.example.com/feed.xml"},
		"https://shop.example.com/feed.xml", body.Bytes(), 1000)
}

// BenchmarkCSV decodes a CSV export of 1,000 products.
func BenchmarkCSV(b *testing.B) {
	var body bytes.Buffer
	body.WriteString("id,title,price,sale_price,currency,availability,link,image,brand,category\n")
	for i := range 1000 {
		fmt.Fprintf(&body, "SKU-%d,Trail Runner %d,\"1,234.50\",999.00,USD,12,https://shop.example.com/p/%d,https://cdn.example.com/%d.jpg,Nordpfad,Shoes > Running\n", i, i, i, i)
	}
	benchDecode(b, &Source{Format: CSV, URL: "https://shop.example.com/p.csv"},
		"https://shop.example.com/p.csv", body.Bytes(), 1000)
}
