package rss_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/sources/rss"
)

var update = flag.Bool("update", false, "rewrite testdata/feeds/*.golden.json from the parser's output")

// golden is what a fixture's .golden.json holds: the parsed feed, or the
// error message for a body that does not parse.
type golden struct {
	Title string `json:"title,omitempty"`
	// MinInterval is the feed's <ttl> as Parse reads it ("1h0m0s").
	MinInterval string         `json:"min_interval,omitempty"`
	Items       []sources.Item `json:"items"`
	Error       string         `json:"error,omitempty"`
}

// fixtures returns every feed in testdata/feeds: a new case is a new file.
func fixtures(t testing.TB) []string {
	t.Helper()
	var paths []string
	for _, pattern := range []string{"*.xml", "*.json", "*.html"} {
		m, err := filepath.Glob(filepath.Join("testdata", "feeds", pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			if !strings.HasSuffix(p, ".golden.json") {
				paths = append(paths, p)
			}
		}
	}
	if len(paths) == 0 {
		t.Fatal("no fixtures in testdata/feeds")
	}
	return paths
}

// fixtureBase is the URL a fixture is parsed as coming from.
func fixtureBase(path string) string {
	return "https://example.com/feeds/" + filepath.Base(path)
}

func TestParseGolden(t *testing.T) {
	t.Parallel()
	for _, path := range fixtures(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			res, err := rss.Parse(body, fixtureBase(path))
			got := golden{Title: res.Title, Items: res.Items}
			if res.MinInterval != 0 {
				got.MinInterval = res.MinInterval.String()
			}
			if got.Items == nil {
				got.Items = []sources.Item{}
			}
			if err != nil {
				got.Error = err.Error()
			}
			checkInvariants(t, res)

			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // goldens are read by people: keep <, > and & as they are
			enc.SetIndent("", "  ")
			if err := enc.Encode(got); err != nil {
				t.Fatal(err)
			}
			out := buf.Bytes()
			goldenPath := strings.TrimSuffix(path, filepath.Ext(path)) + ".golden.json"
			if *update {
				if err := os.WriteFile(goldenPath, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run go test ./sources/rss -update to create it)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("Parse(%s) differs from %s (rerun with -update if the change is intended)\n--- got:\n%s\n--- want:\n%s",
					name, goldenPath, out, want)
			}
		})
	}
}

// checkInvariants holds for every parse: keys present and unique, newest
// first, no relative or non-web links.
func checkInvariants(t *testing.T, res sources.Result) {
	t.Helper()
	seen := map[string]bool{}
	var last time.Time
	undated := false
	for i, it := range res.Items {
		if it.Key == "" {
			t.Errorf("item %d (%q) has an empty Key", i, it.Title)
		}
		if seen[it.Key] {
			t.Errorf("item %d: duplicate Key %q", i, it.Key)
		}
		seen[it.Key] = true
		when := it.Published
		if when.IsZero() {
			when = it.Updated
		}
		switch {
		case when.IsZero():
			undated = true
		case undated:
			t.Errorf("item %d (%q) is dated but follows an undated item", i, it.Title)
		case i > 0 && when.After(last):
			t.Errorf("item %d (%q) at %v is newer than the item before it (%v)", i, it.Title, when, last)
		}
		if !when.IsZero() {
			last = when
		}
		for _, u := range []string{it.Link, it.Image} {
			if u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
				t.Errorf("item %d: %q is not an absolute web URL", i, u)
			}
		}
	}
}

// TestParseEncodings pins the decoded text of the encoding fixtures, so that
// -update cannot quietly bless mojibake.
func TestParseEncodings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, feedTitle, firstTitle, firstSummary string
	}{
		{"windows-1252.xml", "Café Müller – Neuigkeiten", "“Crème brûlée” Woche: nur 4 € pro Stück", "Unsere Bäckerin’s Lieblingsrezept – frisch aus dem Ofen."},
		{"iso-8859-1.xml", "Librería Ñandú", "¡Llegó el otoño! Años de lectura, rebajas del 20 %", "“Está todo” – dice Ana’s blog en la tienda."},
		{"utf8-bom.xml", "Tokyo Ramen Guide 東京ラーメン", "Ichiran vs. 一蘭: same bowl?", "Tonkotsu, twice."},
		{"utf16le-bom.xml", "Ελληνικά νέα", "Καλοκαίρι στις Κυκλάδες 🌊", "Ταξίδι με το πλοίο."},
		{"utf16be-bom.xml", "Ελληνικά νέα", "Καλοκαίρι στις Κυκλάδες 🌊", "Ταξίδι με το πλοίο."},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(filepath.Join("testdata", "feeds", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			res, err := rss.Parse(body, "")
			if err != nil {
				t.Fatal(err)
			}
			if res.Title != tt.feedTitle {
				t.Errorf("feed title = %q, want %q", res.Title, tt.feedTitle)
			}
			if len(res.Items) == 0 {
				t.Fatal("no items")
			}
			if res.Items[0].Title != tt.firstTitle {
				t.Errorf("title = %q, want %q", res.Items[0].Title, tt.firstTitle)
			}
			if res.Items[0].Summary != tt.firstSummary {
				t.Errorf("summary = %q, want %q", res.Items[0].Summary, tt.firstSummary)
			}
		})
	}
}

func TestParseEncodingEdgeCases(t *testing.T) {
	t.Parallel()
	rssDoc := func(prolog string, title []byte) []byte {
		var b bytes.Buffer
		b.WriteString(prolog)
		b.WriteString(`<rss version="2.0"><channel><title>t</title><item><title>`)
		b.Write(title)
		b.WriteString(`</title><guid>g</guid></item></channel></rss>`)
		return b.Bytes()
	}
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"undeclared latin-1 bytes read as windows-1252", rssDoc("", []byte("Caf\xe9 \x93quoted\x94")), "Café “quoted”"},
		{"utf-8 declared but latin-1 bytes", rssDoc(`<?xml version="1.0" encoding="utf-8"?>`, []byte("na\xefve")), "naïve"},
		{"mixed utf-8 and windows-1252", rssDoc("", []byte("Caf\xc3\xa9 & na\xefve")), "Café & naïve"},
		{"unknown encoding label read as utf-8", rssDoc(`<?xml version="1.0" encoding="x-made-up"?>`, []byte("Café")), "Café"},
		{"utf-16 declared without BOM is really utf-8", rssDoc(`<?xml version="1.0" encoding="UTF-16"?>`, []byte("Café")), "Café"},
		{"koi8-r", rssDoc(`<?xml version="1.0" encoding="KOI8-R"?>`, []byte{0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4}), "Привет"},
		{"single-quoted declaration with spaces", rssDoc(`<?xml version='1.0' encoding = 'iso-8859-15' ?>`, []byte("\xa4 5")), "€ 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := rss.Parse(tt.body, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Items) != 1 || res.Items[0].Title != tt.want {
				t.Fatalf("items = %+v, want one titled %q", res.Items, tt.want)
			}
		})
	}
}

func TestParseNotAFeed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		wantInMsg []string
	}{
		{"html page", "<!doctype html><html><head><title>Blog</title></head><body>hi</body></html>",
			[]string{"https://example.com/blog: not a feed: got text/html", `("<!doctype html><html><head><title>Blog</title>`, `…")`}},
		{"plain text", "Service temporarily unavailable, try again later.",
			[]string{"not a feed", "text/plain", "Service temporarily unavailable"}},
		{"empty body", "", []string{"not a feed"}},
		{"json array", `[{"title":"x"}]`, []string{"not a feed"}},
		{"json object that is no feed", `{"title":"x","items":[]}`, []string{"not a feed"}},
		{"other xml", `<?xml version="1.0"?><sitemap><url>x</url></sitemap>`, []string{"not a feed", "text/xml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := rss.Parse([]byte(tt.body), "https://example.com/blog")
			if !errors.Is(err, sources.ErrNotFeed) {
				t.Fatalf("err = %v, want one wrapping sources.ErrNotFeed", err)
			}
			var fe *sources.FetchError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %T, want *sources.FetchError", err)
			}
			msg := err.Error()
			for _, want := range tt.wantInMsg {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			if strings.Contains(strings.ToLower(msg), "detect feed type") {
				t.Errorf("error %q leaks gofeed's message", msg)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>a`,
		`{"version":"https://jsonfeed.org/version/1.1","items":[`,
		`{"version":"https://jsonfeed.org/version/1.1","title":"t","items":"nope"}`,
	} {
		_, err := rss.Parse([]byte(body), "https://example.com/feed")
		if !errors.Is(err, sources.ErrMalformedFeed) {
			t.Errorf("Parse(%.40q…) = %v, want sources.ErrMalformedFeed", body, err)
		}
	}
}

func TestParseRelativeLinksWithoutHTTPBase(t *testing.T) {
	t.Parallel()
	// A feed read from disk resolves relative links against its own link.
	body := []byte(`<rss version="2.0"><channel><title>t</title><link>https://shop.example.com/news/</link>
<item><title>a</title><link>/p/1</link><description><![CDATA[<img src="img/a.png">]]></description></item>
</channel></rss>`)
	res, err := rss.Parse(body, "file:///home/me/campaigns/sample-feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	it := res.Items[0]
	if it.Link != "https://shop.example.com/p/1" || it.Image != "https://shop.example.com/news/img/a.png" {
		t.Errorf("link, image = %q, %q", it.Link, it.Image)
	}
	if it.Key != "link:https://shop.example.com/p/1" {
		t.Errorf("key = %q", it.Key)
	}
}

func TestParseXMLBaseNamingADocument(t *testing.T) {
	t.Parallel()
	// WordPress's Atom feed says xml:base="…/wp-atom.php": relative URLs are
	// relative to its directory (RFC 3986), not below the file.
	body := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://shop.example.com/news/wp-atom.php">
  <title>News</title>
  <entry>
    <id>tag:shop.example.com,2025:1</id>
    <title>Hello</title>
    <link rel="alternate" href="hello/"/>
    <updated>2025-06-01T00:00:00Z</updated>
    <content type="html"><![CDATA[<p><img src="img/hello.png"></p>]]></content>
  </entry>
  <entry xml:base='https://cdn.example.com/a/b/page.html?x=1#top'>
    <id>tag:shop.example.com,2025:2</id>
    <title>Second</title>
    <link href="c"/>
    <updated>2025-05-01T00:00:00Z</updated>
  </entry>
</feed>`)
	res, err := rss.Parse(body, "https://shop.example.com/news/feed/atom/")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 2 {
		t.Fatalf("items = %+v", res.Items)
	}
	if it := res.Items[0]; it.Link != "https://shop.example.com/news/hello/" || it.Image != "https://shop.example.com/news/img/hello.png" {
		t.Errorf("link, image = %q, %q", it.Link, it.Image)
	}
	if it := res.Items[1]; it.Link != "https://cdn.example.com/a/b/c" {
		t.Errorf("link = %q", it.Link)
	}
}

func TestParseGUIDPermalinkAsLink(t *testing.T) {
	t.Parallel()
	body := []byte(`<rss version="2.0"><channel><title>t</title>
<item><title>a</title><guid>https://example.org/p/9</guid></item>
<item><title>b</title><guid isPermaLink="false">post-10</guid></item>
</channel></rss>`)
	res, err := rss.Parse(body, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Items[0].Link != "https://example.org/p/9" || res.Items[0].Key != "id:https://example.org/p/9" {
		t.Errorf("item 0 = %+v", res.Items[0])
	}
	if res.Items[1].Link != "" || res.Items[1].Key != "id:post-10" {
		t.Errorf("item 1 = %+v", res.Items[1])
	}
}

// TestParseTTL pins how Parse reads an RSS <ttl> (minutes) into MinInterval.
func TestParseTTL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ttl  string
		want time.Duration
	}{
		{"", 0},
		{"1", time.Minute},
		{"60", time.Hour},
		{"1440", 24 * time.Hour},
		{"1441", 24 * time.Hour},
		{"9223372036854775807", 24 * time.Hour},
		{"99999999999999999999", 0}, // out of int64: garbage
		{"0", 0},
		{"-30", 0},
		{"1.5", 0},
		{"60 minutes", 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.ttl, func(t *testing.T) {
			t.Parallel()
			body := `<rss version="2.0"><channel><title>T</title><ttl>` + tt.ttl +
				`</ttl><item><guid>1</guid></item></channel></rss>`
			res, err := rss.Parse([]byte(body), "https://example.com/feed.xml")
			if err != nil {
				t.Fatal(err)
			}
			if res.MinInterval != tt.want {
				t.Errorf("<ttl>%s</ttl>: MinInterval = %v, want %v", tt.ttl, res.MinInterval, tt.want)
			}
		})
	}
}
