package rss_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

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
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "90")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	_, err := (&rss.Source{URL: srv.URL + "/feed"}).Fetch(t.Context(), sources.Validators{})
	var fe *sources.FetchError
	if !errors.As(err, &fe) || fe.Status != 429 || fe.RetryAfter.Seconds() != 90 {
		t.Fatalf("err = %v, want a 429 FetchError with RetryAfter 90s", err)
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
