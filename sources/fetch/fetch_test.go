package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/sources/fetch"
)

const feedBody = `<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>`

// fetchErr asserts err is a *sources.FetchError and returns it.
func fetchErr(t *testing.T, err error) *sources.FetchError {
	t.Helper()
	var fe *sources.FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v (%T), want a *sources.FetchError", err, err)
	}
	return fe
}

func TestConditionalGet(t *testing.T) {
	t.Parallel()
	const (
		etag         = `"v1-5f2b"`
		lastModified = "Mon, 02 Jun 2025 08:00:00 GMT"
	)
	tests := []struct {
		name       string
		serve      func(w http.ResponseWriter, r *http.Request) // answers a conditional request
		wantSent   string                                       // header the second request must carry
		validators sources.Validators
	}{
		{
			name: "etag",
			serve: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", etag)
				if r.Header.Get("If-None-Match") == etag {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				w.Write([]byte(feedBody))
			},
			wantSent:   "If-None-Match",
			validators: sources.Validators{ETag: etag},
		},
		{
			name: "last-modified",
			serve: func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("If-Modified-Since") == lastModified {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				w.Header().Set("Last-Modified", lastModified)
				w.Write([]byte(feedBody))
			},
			wantSent:   "If-Modified-Since",
			validators: sources.Validators{LastModified: lastModified},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				tt.serve(w, r)
			}))
			t.Cleanup(srv.Close)
			c := &fetch.Client{}
			ctx := t.Context()

			first, err := c.Get(ctx, srv.URL+"/feed.xml", sources.Validators{})
			if err != nil {
				t.Fatal(err)
			}
			if first.NotModified || first.Status != 200 || string(first.Body) != feedBody {
				t.Fatalf("first fetch = %+v", first)
			}
			if first.Validators != tt.validators {
				t.Fatalf("validators = %+v, want %+v", first.Validators, tt.validators)
			}

			second, err := c.Get(ctx, srv.URL+"/feed.xml", first.Validators)
			if err != nil {
				t.Fatal(err)
			}
			if !second.NotModified || second.Status != 304 || len(second.Body) != 0 {
				t.Fatalf("second fetch = %+v, want 304 Not Modified", second)
			}
			if second.Validators != tt.validators {
				t.Errorf("validators after 304 = %+v, want the previous %+v", second.Validators, tt.validators)
			}
			if requests.Load() != 2 {
				t.Errorf("server saw %d requests, want 2", requests.Load())
			}
		})
	}
}

func TestNotModifiedKeepsUnchangedValidators(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v2"`) // a 304 may refresh one validator
		w.WriteHeader(http.StatusNotModified)
	}))
	t.Cleanup(srv.Close)
	prev := sources.Validators{ETag: `"v1"`, LastModified: "Mon, 02 Jun 2025 08:00:00 GMT"}
	resp, err := (&fetch.Client{}).Get(t.Context(), srv.URL, prev)
	if err != nil {
		t.Fatal(err)
	}
	want := sources.Validators{ETag: `"v2"`, LastModified: prev.LastModified}
	if !resp.NotModified || resp.Validators != want {
		t.Errorf("resp = %+v, want NotModified with %+v", resp, want)
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	var gotUA atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA.Store(r.Header.Get("User-Agent"))
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write([]byte(feedBody))
	}))
	t.Cleanup(srv.Close)

	resp, err := (&fetch.Client{}).Get(t.Context(), srv.URL, sources.Validators{})
	if err != nil {
		t.Fatal(err)
	}
	ua := gotUA.Load().(string)
	if !strings.HasPrefix(ua, "herald/") || !strings.Contains(ua, "(+https://github.com/heraldcli/herald)") || ua != fetch.DefaultUserAgent {
		t.Errorf("User-Agent = %q", ua)
	}
	if resp.ContentType != "application/rss+xml; charset=utf-8" || resp.MaxAge != 5*time.Minute {
		t.Errorf("ContentType, MaxAge = %q, %v", resp.ContentType, resp.MaxAge)
	}

	if _, err := (&fetch.Client{UserAgent: "acme-bot/1.0"}).Get(t.Context(), srv.URL, sources.Validators{}); err != nil {
		t.Fatal(err)
	}
	if ua := gotUA.Load().(string); ua != "acme-bot/1.0" {
		t.Errorf("custom User-Agent = %q", ua)
	}
}

func TestRedirectFinalURL(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle("/old", http.RedirectHandler("/blog/feed.xml", http.StatusMovedPermanently))
	mux.HandleFunc("/blog/feed.xml", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(feedBody)) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	resp, err := (&fetch.Client{}).Get(t.Context(), srv.URL+"/old", sources.Validators{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.FinalURL != srv.URL+"/blog/feed.xml" {
		t.Errorf("FinalURL = %q", resp.FinalURL)
	}
}

func TestSizeCap(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 4096)
	mux := http.NewServeMux()
	mux.HandleFunc("/with-length", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(big)) })
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		// Flushing first forces chunked encoding: no Content-Length to go by.
		w.Write([]byte(big[:10]))
		w.(http.Flusher).Flush()
		w.Write([]byte(big[10:]))
	})
	mux.HandleFunc("/exact", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(big[:1024])) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := &fetch.Client{MaxBytes: 1024}

	for _, path := range []string{"/with-length", "/chunked"} {
		_, err := c.Get(t.Context(), srv.URL+path, sources.Validators{})
		if !errors.Is(err, fetch.ErrTooLarge) {
			t.Fatalf("%s: err = %v, want ErrTooLarge", path, err)
		}
		fe := fetchErr(t, err)
		if fe.Status != 200 || !strings.Contains(err.Error(), "1 KiB limit") || !strings.HasPrefix(err.Error(), srv.URL+path+": ") {
			t.Errorf("%s: error = %q (status %d)", path, err, fe.Status)
		}
	}
	resp, err := c.Get(t.Context(), srv.URL+"/exact", sources.Validators{})
	if err != nil || len(resp.Body) != 1024 {
		t.Errorf("a body of exactly MaxBytes: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	unblock := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-unblock:
		}
	}))
	t.Cleanup(func() { close(unblock); srv.Close() })

	c := &fetch.Client{Timeout: 50 * time.Millisecond}
	_, err := c.Get(t.Context(), srv.URL, sources.Validators{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	fetchErr(t, err)
	if want := srv.URL + ": timed out after 50ms"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q, want it to start with %q", err, want)
	}

	// A cancelled caller is not a timeout.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = (&fetch.Client{}).Get(ctx, srv.URL, sources.Validators{})
	if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "timed out") {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
}

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		status         int
		header         map[string]string
		body           string
		wantRetryAfter time.Duration
		wantMsg        string
	}{
		{name: "404", status: 404, body: "404 page not found\n",
			wantMsg: `: HTTP 404 Not Found ("404 page not found")`},
		{name: "410 empty body", status: 410,
			wantMsg: `: HTTP 410 Gone`},
		{name: "429 seconds", status: 429, header: map[string]string{"Retry-After": "120"},
			wantRetryAfter: 2 * time.Minute, wantMsg: `: HTTP 429 Too Many Requests, retry after 2m0s`},
		{name: "503 http date", status: 503, header: map[string]string{"Retry-After": "Mon, 02 Jun 2025 08:00:30 GMT"},
			wantRetryAfter: 30 * time.Second, wantMsg: `: HTTP 503 Service Unavailable, retry after 30s`},
		{name: "429 date in the past", status: 429, header: map[string]string{"Retry-After": "Mon, 02 Jun 2025 07:00:00 GMT"}},
		{name: "429 garbage", status: 429, header: map[string]string{"Retry-After": "soon"}},
		{name: "429 absurd", status: 429, header: map[string]string{"Retry-After": "99999999999999"},
			wantRetryAfter: 7 * 24 * time.Hour},
		{name: "500 ignores Retry-After", status: 500, header: map[string]string{"Retry-After": "60"}, body: "<h1>oops</h1>",
			wantMsg: `: HTTP 500 Internal Server Error ("<h1>oops</h1>")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)
			c := &fetch.Client{Now: func() time.Time { return now }}
			resp, err := c.Get(t.Context(), srv.URL+"/feed", sources.Validators{})
			if resp != nil {
				t.Errorf("resp = %+v, want nil", resp)
			}
			fe := fetchErr(t, err)
			if fe.Status != tt.status || fe.URL != srv.URL+"/feed" || fe.ContentType != "text/plain" {
				t.Errorf("FetchError = %+v", fe)
			}
			if fe.RetryAfter != tt.wantRetryAfter {
				t.Errorf("RetryAfter = %v, want %v", fe.RetryAfter, tt.wantRetryAfter)
			}
			if tt.wantMsg != "" && err.Error() != srv.URL+"/feed"+tt.wantMsg {
				t.Errorf("error = %q, want %q", err, srv.URL+"/feed"+tt.wantMsg)
			}
		})
	}
}

// TestOneRequestPerHost proves that Gets to one host never overlap while
// Gets to another host go ahead: each handler blocks until the test lets it
// finish, so an overlap would show as a second request arriving while the
// first is held.
func TestOneRequestPerHost(t *testing.T) {
	t.Parallel()
	type held struct{ release chan struct{} }
	newServer := func(arrived chan<- held, inFlight, maxInFlight *atomic.Int32) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				m := maxInFlight.Load()
				if n <= m || maxInFlight.CompareAndSwap(m, n) {
					break
				}
			}
			h := held{release: make(chan struct{})}
			arrived <- h
			select {
			case <-h.release:
			case <-r.Context().Done():
			}
			w.Write([]byte(feedBody))
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	var inFlightA, maxA, inFlightB, maxB atomic.Int32
	arrivedA := make(chan held, 10)
	arrivedB := make(chan held, 10)
	hostA := newServer(arrivedA, &inFlightA, &maxA)
	hostB := newServer(arrivedB, &inFlightB, &maxB) // another port: another host

	c := &fetch.Client{Timeout: 10 * time.Second}
	const perHost = 3
	var wg sync.WaitGroup
	errs := make(chan error, 2*perHost)
	for i := range perHost {
		wg.Go(func() {
			_, err := c.Get(t.Context(), hostA.URL+"/feed/"+string(rune('a'+i)), sources.Validators{})
			errs <- err
		})
	}

	first := <-arrivedA // one request to host A is now held
	// Host B is not held up by host A: its request arrives while A's is held.
	wg.Go(func() {
		_, err := c.Get(t.Context(), hostB.URL, sources.Validators{})
		errs <- err
	})
	(<-arrivedB).release <- struct{}{}

	// No other request reaches host A until the held one finishes.
	current := first
	for i := 1; i < perHost; i++ {
		select {
		case h := <-arrivedA:
			close(h.release)
			t.Fatalf("request %d reached host A while another was in flight", i+1)
		case <-time.After(50 * time.Millisecond):
		}
		close(current.release)
		current = <-arrivedA
	}
	close(current.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if maxA.Load() != 1 {
		t.Errorf("host A saw %d requests at once, want 1", maxA.Load())
	}
}

func TestWaitingForHostHonoursContext(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	unblock := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-unblock
	}))
	t.Cleanup(func() { srv.Close() })
	c := &fetch.Client{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Get(t.Context(), srv.URL, sources.Validators{})
	}()
	<-entered
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Get(ctx, srv.URL, sources.Validators{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled while waiting for the host", err)
	}
	close(unblock)
	<-done
}

func TestFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "sample feed.xml")
	if err := os.WriteFile(path, []byte(feedBody), 0o644); err != nil {
		t.Fatal(err)
	}
	fileURL := "file://" + filepath.ToSlash(strings.ReplaceAll(path, " ", "%20"))
	c := &fetch.Client{}
	for _, target := range []string{path, fileURL, "file://localhost" + filepath.ToSlash(strings.ReplaceAll(path, " ", "%20"))} {
		resp, err := c.Get(t.Context(), target, sources.Validators{ETag: `"ignored"`})
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		if string(resp.Body) != feedBody || resp.Status != 0 || resp.NotModified {
			t.Errorf("%s: resp = %+v", target, resp)
		}
		if resp.Validators != (sources.Validators{}) {
			t.Errorf("%s: validators = %+v, want none", target, resp.Validators)
		}
		if !strings.HasPrefix(resp.ContentType, "text/xml") {
			t.Errorf("%s: ContentType = %q", target, resp.ContentType)
		}
		if resp.FinalURL != fileURL {
			t.Errorf("%s: FinalURL = %q, want %q", target, resp.FinalURL, fileURL)
		}
	}

	// A relative path is relative to the working directory.
	rel, err := os.CreateTemp(".", "fetch-test-*.xml")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(rel.Name()) })
	rel.WriteString(feedBody)
	rel.Close()
	if _, err := c.Get(t.Context(), "./"+filepath.Base(rel.Name()), sources.Validators{}); err != nil {
		t.Errorf("relative path: %v", err)
	}

	_, err = c.Get(t.Context(), filepath.Join(dir, "missing.xml"), sources.Validators{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
	fetchErr(t, err)

	if _, err := c.Get(t.Context(), dir, sources.Validators{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: err = %v", err)
	}

	small := &fetch.Client{MaxBytes: 10}
	if _, err := small.Get(t.Context(), path, sources.Validators{}); !errors.Is(err, fetch.ErrTooLarge) || !strings.Contains(err.Error(), "10 bytes limit") {
		t.Errorf("file over the cap: err = %v", err)
	}
}

func TestBadURLs(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"", "ftp://example.com/feed.xml", "https:///feed.xml", "file://otherhost/feed.xml"} {
		_, err := (&fetch.Client{}).Get(t.Context(), raw, sources.Validators{})
		if err == nil {
			t.Errorf("Get(%q) succeeded", raw)
			continue
		}
		fetchErr(t, err)
	}
}

func TestNetworkError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	_, err := (&fetch.Client{}).Get(t.Context(), url+"/feed", sources.Validators{})
	fe := fetchErr(t, err)
	if fe.Status != 0 || !strings.HasPrefix(err.Error(), url+"/feed: ") || strings.Contains(err.Error(), `Get "`) {
		t.Errorf("error = %q", err)
	}
}

// TestStream hands the body over as it arrives: read sees the first part
// before the server sends the rest, a per-call cap overrides MaxBytes (for
// HTTP and files alike), and read's own error comes back as it was.
func TestStream(t *testing.T) {
	t.Parallel()
	sent := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Total-Pages", "7")
		w.Write([]byte("first;"))
		w.(http.Flusher).Flush()
		<-sent // the client has read "first;" before the rest exists
		w.Write([]byte("second"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(strings.Repeat("x", 4096))) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := &fetch.Client{MaxBytes: 1 << 20}

	var got []byte
	resp, err := c.Stream(t.Context(), srv.URL+"/slow", sources.Validators{}, 0, func(r *fetch.Response, body io.Reader) error {
		if r.Header.Get("X-Total-Pages") != "7" || r.Body != nil {
			t.Errorf("response in read: header %v, body %q", r.Header, r.Body)
		}
		buf := make([]byte, 6)
		if _, err := io.ReadFull(body, buf); err != nil {
			return err
		}
		close(sent)
		rest, err := io.ReadAll(body)
		got = append(buf, rest...)
		return err
	})
	if err != nil || string(got) != "first;second" || resp.Status != 200 {
		t.Fatalf("stream: %q, %v", got, err)
	}

	file := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(file, []byte(strings.Repeat("y", 4096)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{srv.URL + "/big", file} {
		_, err = c.Stream(t.Context(), u, sources.Validators{}, 1000, func(_ *fetch.Response, body io.Reader) error {
			_, err := io.Copy(io.Discard, body)
			return fmt.Errorf("decoding: %w", err)
		})
		if !errors.Is(err, fetch.ErrTooLarge) || !strings.Contains(err.Error(), "1000 bytes limit") {
			t.Errorf("%s over the per-call cap: %v", u, err)
		}
	}
	mine := errors.New("not a catalog")
	if _, err := c.Stream(t.Context(), file, sources.Validators{}, 0, func(*fetch.Response, io.Reader) error { return mine }); err != mine {
		t.Errorf("read's error came back as %v", err)
	}
}

// TestStreamTimeoutIsIdle: a body that keeps coming may take longer than
// Timeout in all when it is streamed, never when it is fetched with Get.
func TestStreamTimeoutIsIdle(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 25 { // 2.5s in all, never more than 0.1s apart
			w.Write([]byte("0123456789"))
			w.(http.Flusher).Flush()
			select {
			case <-time.After(100 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	c := &fetch.Client{Timeout: 2 * time.Second}
	var n int64
	if _, err := c.Stream(t.Context(), srv.URL, sources.Validators{}, 0, func(_ *fetch.Response, body io.Reader) (err error) {
		n, err = io.Copy(io.Discard, body)
		return err
	}); err != nil || n != 250 {
		t.Fatalf("a slow but steady stream: %d bytes, %v", n, err)
	}
	if _, err := c.Get(t.Context(), srv.URL, sources.Validators{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get of the same: %v, want a timeout", err)
	}
}
