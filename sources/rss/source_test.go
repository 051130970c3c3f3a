package rss_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/sources/fetch"
	"github.com/heraldcli/herald/sources/rss"
)

// serveFixture serves testdata/feeds/<name> with contentType and an ETag,
// answering 304 to a matching If-None-Match.
func serveFixture(t *testing.T, name, contentType string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "feeds", name))
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("ETag", `"fixture-1"`)
		if r.Header.Get("If-None-Match") == `"fixture-1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestSourceFetch(t *testing.T) {
	t.Parallel()
	srv, hits := serveFixture(t, "rss2-media.xml", "application/rss+xml; charset=utf-8")
	src := &rss.Source{URL: srv.URL + "/journal/feed/", Client: &fetch.Client{}}

	res, err := src.Fetch(t.Context(), sources.Validators{})
	if err != nil {
		t.Fatal(err)
	}
	if res.NotModified || len(res.Items) != 6 || res.Title != "Acme Outdoor – Journal" {
		t.Fatalf("result = %+v", res)
	}
	if res.Validators.ETag != `"fixture-1"` {
		t.Errorf("validators = %+v", res.Validators)
	}
	// Relative links resolve against where the feed was fetched from.
	for _, it := range res.Items {
		if it.Title == "Video: how to re-proof a rain shell" && it.Link != srv.URL+"/journal/reproof-video/" {
			t.Errorf("relative link resolved to %q", it.Link)
		}
	}

	again, err := src.Fetch(t.Context(), res.Validators)
	if err != nil {
		t.Fatal(err)
	}
	if !again.NotModified || len(again.Items) != 0 || again.Validators != res.Validators {
		t.Errorf("second fetch = %+v, want NotModified with the same validators", again)
	}
	if hits.Load() != 2 {
		t.Errorf("server hits = %d", hits.Load())
	}
}

func TestSourceFetchHTMLPage(t *testing.T) {
	t.Parallel()
	srv, _ := serveFixture(t, "html-page.html", "text/html; charset=utf-8")
	src := &rss.Source{URL: srv.URL + "/blog"}

	_, err := src.Fetch(t.Context(), sources.Validators{})
	if !errors.Is(err, sources.ErrNotFeed) {
		t.Fatalf("err = %v, want sources.ErrNotFeed", err)
	}
	var fe *sources.FetchError
	if !errors.As(err, &fe) || fe.Status != 200 || fe.ContentType != "text/html; charset=utf-8" || fe.URL != src.URL {
		t.Fatalf("FetchError = %+v", fe)
	}
	msg := err.Error()
	for _, want := range []string{
		src.URL + ": not a feed: got HTTP 200 text/html; charset=utf-8",
		`("<!doctype html> <html lang="en"> <head>`,
		"the page links to 2 feeds: " + srv.URL + "/blog/feed.xml, https://northwind.example.com/blog/atom.xml",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q\ndoes not contain %q", msg, want)
		}
	}
}

func TestSourceFetchHTTPError(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		status         int
		retryAfter     string
		wantRetryAfter time.Duration
	}{
		{"429 with seconds", http.StatusTooManyRequests, "90", 90 * time.Second},
		{"503 with seconds", http.StatusServiceUnavailable, "120", 2 * time.Minute},
		{"503 with a date", http.StatusServiceUnavailable, now.Add(5 * time.Minute).Format(http.TimeFormat), 5 * time.Minute},
		{"429 without Retry-After", http.StatusTooManyRequests, "", 0},
		{"500 ignores Retry-After", http.StatusInternalServerError, "90", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				http.Error(w, "slow down", tt.status)
			}))
			t.Cleanup(srv.Close)
			client := &fetch.Client{Now: func() time.Time { return now }}

			_, err := (&rss.Source{URL: srv.URL + "/feed", Client: client}).Fetch(t.Context(), sources.Validators{})
			var fe *sources.FetchError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v (%T), want a *sources.FetchError", err, err)
			}
			if fe.Status != tt.status || fe.RetryAfter != tt.wantRetryAfter {
				t.Errorf("FetchError Status = %d, RetryAfter = %v; want %d, %v", fe.Status, fe.RetryAfter, tt.status, tt.wantRetryAfter)
			}
		})
	}
}

// TestSourceFetchMinInterval: a poller learns from Cache-Control max-age
// and the feed's <ttl> how long to leave the source alone.
func TestSourceFetchMinInterval(t *testing.T) {
	t.Parallel()
	const etag = `"v1"`
	tests := []struct {
		name         string
		cacheControl string
		ttl          string // "" for no <ttl> element
		notModified  bool   // answer 304 to the stored ETag
		want         time.Duration
	}{
		{name: "neither", want: 0},
		{name: "max-age only", cacheControl: "public, max-age=900", want: 15 * time.Minute},
		{name: "ttl only", ttl: "60", want: time.Hour},
		{name: "ttl with spaces", ttl: " 30\n", want: 30 * time.Minute},
		{name: "ttl larger than max-age", cacheControl: "max-age=300", ttl: "60", want: time.Hour},
		{name: "max-age larger than ttl", cacheControl: "max-age=7200", ttl: "60", want: 2 * time.Hour},
		{name: "no-cache overrides max-age", cacheControl: "max-age=600, no-cache", ttl: "5", want: 5 * time.Minute},
		{name: "304 with max-age", cacheControl: "max-age=600", ttl: "120", notModified: true, want: 10 * time.Minute},
		{name: "304 without max-age", ttl: "120", notModified: true, want: 0},
		{name: "garbage ttl", ttl: "soon", want: 0},
		{name: "fractional ttl", ttl: "1.5", want: 0},
		{name: "zero ttl", ttl: "0", want: 0},
		{name: "negative ttl", ttl: "-60", want: 0},
		{name: "garbage ttl with max-age", cacheControl: "max-age=60", ttl: "hourly", want: time.Minute},
		{name: "ttl capped at 24h", ttl: "100000", want: 24 * time.Hour},
		{name: "max-age capped at 24h", cacheControl: "max-age=31536000", want: 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ttlElem := ""
			if tt.ttl != "" {
				ttlElem = "<ttl>" + tt.ttl + "</ttl>"
			}
			body := `<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>` + ttlElem +
				`<item><title>One</title><guid>1</guid></item></channel></rss>`
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.cacheControl != "" {
					w.Header().Set("Cache-Control", tt.cacheControl)
				}
				w.Header().Set("ETag", etag)
				if tt.notModified && r.Header.Get("If-None-Match") == etag {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				w.Header().Set("Content-Type", "application/rss+xml")
				io.WriteString(w, body)
			}))
			t.Cleanup(srv.Close)
			var prev sources.Validators
			if tt.notModified {
				prev.ETag = etag
			}

			res, err := (&rss.Source{URL: srv.URL + "/feed", Client: &fetch.Client{}}).Fetch(t.Context(), prev)
			if err != nil {
				t.Fatal(err)
			}
			if res.NotModified != tt.notModified {
				t.Fatalf("NotModified = %v, want %v", res.NotModified, tt.notModified)
			}
			if res.MinInterval != tt.want {
				t.Errorf("MinInterval = %v, want %v", res.MinInterval, tt.want)
			}
		})
	}
}

func TestSourceFetchCharsetFromHeader(t *testing.T) {
	t.Parallel()
	// No XML declaration, latin-1 bytes: the Content-Type charset decides.
	body := []byte("<rss version=\"2.0\"><channel><title>\xc5rsbok</title><item><title>K\xf8benhavn \xe6ble</title><guid>1</guid></item></channel></rss>")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml; charset=ISO-8859-1")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	res, err := (&rss.Source{URL: srv.URL}).Fetch(t.Context(), sources.Validators{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Title != "Årsbok" || res.Items[0].Title != "København æble" {
		t.Errorf("titles = %q, %q", res.Title, res.Items[0].Title)
	}
}

func TestSourceFetchFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "feeds", "windows-1252.xml")
	res, err := (&rss.Source{URL: path}).Fetch(t.Context(), sources.Validators{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 2 || res.Items[0].Link != "https://cafe-mueller.example.de/aktionen/creme-brulee" {
		t.Errorf("result = %+v", res)
	}

	// A local file's <ttl> is for whoever polls it over HTTP.
	res, err = (&rss.Source{URL: filepath.Join("testdata", "feeds", "rss2-media.xml")}).Fetch(t.Context(), sources.Validators{})
	if err != nil {
		t.Fatal(err)
	}
	if res.MinInterval != 0 {
		t.Errorf("local file: MinInterval = %v, want 0", res.MinInterval)
	}

	_, err = (&rss.Source{URL: filepath.Join("testdata", "feeds", "html-page.html")}).Fetch(t.Context(), sources.Validators{})
	if !errors.Is(err, sources.ErrNotFeed) || !strings.HasSuffix(err.Error(), "html-page.html: not a feed: got text/html; the page links to a feed: https://northwind.example.com/blog/atom.xml") {
		t.Errorf("err = %v", err)
	}

	empty := filepath.Join(t.TempDir(), "empty.xml")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = (&rss.Source{URL: empty}).Fetch(t.Context(), sources.Validators{})
	if !errors.Is(err, sources.ErrNotFeed) || err.Error() != empty+": not a feed: got an empty file" {
		t.Errorf("empty file: err = %v", err)
	}
}
