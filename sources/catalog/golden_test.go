package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/sources/catalog"
	"github.com/heraldcli/herald/sources/fetch"
)

var update = flag.Bool("update", false, "rewrite testdata/<format>/*.golden.json from what Scan emits")

// golden is what a fixture's .golden.json holds: the items Scan emitted,
// and the error it returned, if any.
type golden struct {
	Items []sources.Item `json:"items"`
	Error string         `json:"error,omitempty"`
}

// fixtureConfig is a fixture's optional <name>.source.json: the settings a
// campaign would give its source.
type fixtureConfig struct {
	Currency string         `json:"currency"`
	Fields   catalog.Fields `json:"fields"`
	Items    string         `json:"items"`
}

// fixtures returns the catalogs in testdata/<format>: every file but the
// goldens and the .source.json settings. A new case is a new file.
func fixtures(t testing.TB, format string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join("testdata", format, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range all {
		if !strings.HasSuffix(p, ".golden.json") && !strings.HasSuffix(p, ".source.json") {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		t.Fatalf("no fixtures in testdata/%s", format)
	}
	return paths
}

// fixtureSource is the source that reads the fixture at path as if a shop
// at https://shop.example.com served it: the shop's API for shopify and
// woocommerce (one page), a file under /feeds/ or /exports/ otherwise.
func fixtureSource(t testing.TB, format, path string) *catalog.Source {
	t.Helper()
	src := &catalog.Source{
		Format: format,
		URL:    "https://shop.example.com",
		Client: &fetch.Client{HTTP: &http.Client{Transport: fileTransport(path)}},
	}
	switch format {
	case catalog.Shopify:
		src.Currency = "USD"
	case catalog.GoogleMerchant:
		src.URL = "https://shop.example.com/feeds/" + filepath.Base(path)
	case catalog.CSV, catalog.JSON:
		src.URL = "https://shop.example.com/exports/" + filepath.Base(path)
	}
	cfg, err := os.ReadFile(strings.TrimSuffix(path, filepath.Ext(path)) + ".source.json")
	switch {
	case os.IsNotExist(err):
	case err != nil:
		t.Fatal(err)
	default:
		var c fixtureConfig
		if err := json.Unmarshal(cfg, &c); err != nil {
			t.Fatalf("%s.source.json: %v", path, err)
		}
		if c.Currency != "" {
			src.Currency = c.Currency
		}
		src.Fields, src.Items = c.Fields, c.Items
	}
	return src
}

// fileTransport answers every request with the file at its path: the
// fixtures need a stable shop address, which a loopback server's port is
// not.
type fileTransport string

func (f fileTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := os.ReadFile(string(f))
	if err != nil {
		return nil, err
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/octet-stream"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

// scanFixture scans a fixture and returns what its golden file holds.
func scanFixture(t testing.TB, format, path string) golden {
	t.Helper()
	got := golden{Items: []sources.Item{}}
	_, err := fixtureSource(t, format, path).Scan(context.Background(), sources.Validators{}, func(it sources.Item) error {
		got.Items = append(got.Items, it)
		return nil
	})
	if err != nil {
		got.Error = err.Error()
	}
	return got
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, format := range catalog.Formats {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			for _, path := range fixtures(t, format) {
				t.Run(filepath.Base(path), func(t *testing.T) {
					t.Parallel()
					got := scanFixture(t, format, path)
					checkItems(t, got.Items)

					var buf bytes.Buffer
					enc := json.NewEncoder(&buf)
					enc.SetEscapeHTML(false) // goldens are read by people
					enc.SetIndent("", "  ")
					if err := enc.Encode(got); err != nil {
						t.Fatal(err)
					}
					goldenPath := strings.TrimSuffix(path, filepath.Ext(path)) + ".golden.json"
					if *update {
						if err := os.WriteFile(goldenPath, buf.Bytes(), 0o644); err != nil {
							t.Fatal(err)
						}
						return
					}
					want, err := os.ReadFile(goldenPath)
					if err != nil {
						t.Fatalf("%v (run go test ./sources/catalog -run Golden -update to create it)", err)
					}
					if !bytes.Equal(buf.Bytes(), want) {
						t.Errorf("Scan(%s) differs from %s (rerun with -update if the change is intended)\n--- got:\n%s\n--- want:\n%s",
							path, goldenPath, buf.Bytes(), want)
					}
				})
			}
		})
	}
}

// checkItems holds for every emitted product, whatever the format.
func checkItems(t testing.TB, items []sources.Item) {
	t.Helper()
	for i, it := range items {
		switch {
		case it.Key == "":
			t.Errorf("item %d (%q): empty Key", i, it.Title)
		case it.Title == "":
			t.Errorf("item %d (%s): empty Title", i, it.Key)
		case it.Currency == "" || len(it.Currency) != 3 || strings.ToUpper(it.Currency) != it.Currency:
			t.Errorf("item %d (%s): Currency %q is not an ISO code", i, it.Key, it.Currency)
		case it.Price.IsNeg():
			t.Errorf("item %d (%s): negative Price %s", i, it.Key, it.Price)
		case !it.SalePrice.IsZero() && it.SalePrice.Cmp(it.Price) >= 0:
			t.Errorf("item %d (%s): SalePrice %s is not below Price %s", i, it.Key, it.SalePrice, it.Price)
		case it.SalePrice.IsZero() && it.Discount != 0:
			t.Errorf("item %d (%s): Discount %d without a sale", i, it.Key, it.Discount)
		}
		switch it.Availability {
		case sources.InStock, sources.OutOfStock, sources.Preorder, sources.Backorder:
		default:
			t.Errorf("item %d (%s): Availability %q", i, it.Key, it.Availability)
		}
		for _, u := range []string{it.Link, it.Image} {
			if u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
				t.Errorf("item %d (%s): %q is not an absolute web URL", i, it.Key, u)
			}
		}
	}
}

// TestMerchantFeedsAgree reads the same products from a Merchant Center
// feed in each of its forms: RSS, Atom (with another prefix for the Google
// namespace), tab-separated and comma-separated text.
func TestMerchantFeedsAgree(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", catalog.GoogleMerchant)
	want := scanFixture(t, catalog.GoogleMerchant, filepath.Join(dir, "feed-rss.xml"))
	if want.Error != "" || len(want.Items) != 6 {
		t.Fatalf("feed-rss.xml: %d items, error %q; want 6 items", len(want.Items), want.Error)
	}
	for _, name := range []string{"feed-atom.xml", "feed.tsv", "feed-text.csv"} {
		got := scanFixture(t, catalog.GoogleMerchant, filepath.Join(dir, name))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s reads differently from feed-rss.xml:\n got %+v\nwant %+v", name, got, want)
		}
	}
}
