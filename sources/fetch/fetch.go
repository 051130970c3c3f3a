// Package fetch is the polite HTTP layer every herald source fetches through:
// conditional GET with stored validators, one request at a time per host, a
// timeout and a body size cap, Retry-After on 429/503, and errors that say
// what the server sent. It also reads local files, so a campaign can point
// at a sample feed on disk.
package fetch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldcli/herald/sources"
)

// Defaults for the zero fields of a Client.
const (
	DefaultMaxBytes = 10 << 20 // 10 MiB
	DefaultTimeout  = 30 * time.Second
)

// DefaultUserAgent is sent when Client.UserAgent is empty:
// "herald/<version> (+https://github.com/heraldcli/herald)", the version
// taken from the build information ("dev" for a source build).
var DefaultUserAgent = "herald/" + buildVersion() + " (+https://github.com/heraldcli/herald)"

func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		if v := info.Main.Version; v != "" && v != "(devel)" {
			return strings.TrimPrefix(v, "v")
		}
	}
	return "dev"
}

// ErrTooLarge means a body was bigger than Client.MaxBytes.
var ErrTooLarge = errors.New("body too large")

// Client fetches source URLs. The zero value is ready to use; a Client is
// safe for concurrent use and must not be copied after first use. Share one
// Client between sources so that its one-request-per-host rule holds across
// them.
type Client struct {
	// HTTP does the requests; http.DefaultClient when nil. Its own Timeout,
	// if any, applies on top of Timeout.
	HTTP *http.Client
	// UserAgent is sent with every request; DefaultUserAgent when empty.
	UserAgent string
	// MaxBytes caps a body, decompressed; DefaultMaxBytes when zero or less.
	MaxBytes int64
	// Timeout bounds one Get, from sending it to the last byte of the
	// body. A Stream, which may read hundreds of megabytes, is bounded
	// instead by Timeout to the response's headers and Timeout between
	// two reads of its body: a slow download goes on, a stalled one
	// fails. DefaultTimeout when zero or less. Waiting for the host's
	// turn is bounded by the caller's context only.
	Timeout time.Duration
	// Now returns the current time, for Retry-After dates; time.Now when nil.
	Now func() time.Time

	mu    sync.Mutex
	hosts map[string]*hostSlot
}

// hostSlot serializes requests to one host. users counts the Gets holding or
// waiting for it, so that it can be forgotten when nobody needs it.
type hostSlot struct {
	sem   chan struct{}
	users int
}

// Response is a successful fetch.
type Response struct {
	// Status is the HTTP status (200…299, or 304); 0 for a local file.
	Status int
	// Header is the HTTP response's header; nil for a local file.
	Header http.Header
	// NotModified is true on a 304: Body is empty and Validators are the
	// previous ones (updated by any the 304 carried).
	NotModified bool
	Body        []byte
	// ContentType is the Content-Type header; for a local file, what
	// http.DetectContentType makes of the body.
	ContentType string
	// Validators are what to send on the next Get of the same URL.
	Validators sources.Validators
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
	// MaxAge is the Cache-Control max-age (or s-maxage), when the server
	// sent one: the server's hint of how long polling again is pointless.
	MaxAge time.Duration
	// FinalURL is the URL the body came from, after redirects (a file://
	// URL for a local file). Resolve relative links in the body against it.
	FinalURL string
}

// Get fetches rawURL: an http(s) URL, a file:// URL, or a local file path.
//
// For HTTP, prev's validators are sent as If-None-Match / If-Modified-Since
// and a 304 returns a Response with NotModified set. Requests to one host
// wait for each other; requests to different hosts run in parallel.
//
// Errors are *sources.FetchError: a non-2xx answer carries its Status, a
// Snippet of the body and, for 429 and 503, RetryAfter; a body over MaxBytes
// wraps ErrTooLarge; a timeout wraps context.DeadlineExceeded; a network
// failure wraps the net error. A cancelled ctx returns ctx's error, wrapped.
func (c *Client) Get(ctx context.Context, rawURL string, prev sources.Validators) (*Response, error) {
	var body []byte
	resp, err := c.stream(ctx, rawURL, prev, 0, false, func(_ *Response, r io.Reader) (err error) {
		body, err = io.ReadAll(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.Body = body
	return resp, nil
}

// Stream is Get for bodies too big to hold: instead of buffering the body,
// it calls read with the response (Body nil) and a reader of the body as it
// arrives, while the host's turn and the timeout still hold. maxBytes caps
// the body (Client.MaxBytes when 0 or less): reading past it fails with an
// error wrapping ErrTooLarge. read is not called on a 304 or an error
// status. An error read returns is returned as is, unless it is a failure
// to read the body, which becomes a *sources.FetchError like Get's.
func (c *Client) Stream(ctx context.Context, rawURL string, prev sources.Validators, maxBytes int64, read func(*Response, io.Reader) error) (*Response, error) {
	return c.stream(ctx, rawURL, prev, maxBytes, true, read)
}

// stream is Get and Stream: idle says whether Timeout bounds the whole
// request (Get) or each wait for the server (Stream).
func (c *Client) stream(ctx context.Context, rawURL string, prev sources.Validators, maxBytes int64, idle bool, read func(*Response, io.Reader) error) (*Response, error) {
	if maxBytes <= 0 {
		maxBytes = c.maxBytes()
	}
	target, isFile, err := parseTarget(rawURL)
	if err != nil {
		return nil, &sources.FetchError{URL: rawURL, Err: err}
	}
	if isFile {
		return c.streamFile(ctx, rawURL, target.Path, maxBytes, read)
	}

	release, err := c.acquire(ctx, hostKey(target))
	if err != nil {
		return nil, &sources.FetchError{URL: rawURL, Err: err}
	}
	defer release()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// One timer: the whole request for Get; for Stream, reset whenever
	// the body moves.
	timer := time.AfterFunc(c.timeout(), func() { cancel(errTimedOut) })
	defer timer.Stop()
	progress := func() {}
	if idle {
		progress = func() { timer.Reset(c.timeout()) }
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, &sources.FetchError{URL: rawURL, Err: err}
	}
	ua := c.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	req.Header.Set("User-Agent", ua)
	if prev.ETag != "" {
		req.Header.Set("If-None-Match", prev.ETag)
	}
	if prev.LastModified != "" {
		req.Header.Set("If-Modified-Since", prev.LastModified)
	}

	httpClient := c.HTTP
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, &sources.FetchError{URL: rawURL, Err: c.ctxErr(ctx, unwrapURLError(err))}
	}
	defer resp.Body.Close()

	out := &Response{
		Status:      resp.StatusCode,
		Header:      resp.Header,
		ContentType: resp.Header.Get("Content-Type"),
		RetryAfter:  c.retryAfter(resp.Header.Get("Retry-After")),
		MaxAge:      maxAge(resp.Header.Values("Cache-Control")),
		FinalURL:    resp.Request.URL.String(),
	}

	switch {
	case resp.StatusCode == http.StatusNotModified:
		out.NotModified = true
		out.Validators = prev
		if etag := resp.Header.Get("ETag"); etag != "" {
			out.Validators.ETag = etag
		}
		if lm := resp.Header.Get("Last-Modified"); lm != "" {
			out.Validators.LastModified = lm
		}
		return out, nil

	case resp.StatusCode < 200 || resp.StatusCode > 299:
		// A little of the body says more than the status alone ("Access
		// denied", a Cloudflare page…); errors on reading it don't matter.
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		fe := &sources.FetchError{
			URL:         rawURL,
			Status:      resp.StatusCode,
			ContentType: out.ContentType,
			Snippet:     sources.Snippet(head),
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			fe.RetryAfter = out.RetryAfter
		}
		return nil, fe
	}

	if resp.ContentLength > maxBytes {
		return nil, c.tooLarge(rawURL, out, maxBytes)
	}
	out.Validators = sources.Validators{
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
	}
	progress()
	body := &cappedReader{r: resp.Body, left: maxBytes, progress: progress}
	if err := read(out, body); err != nil {
		switch {
		case body.over:
			return nil, c.tooLarge(rawURL, out, maxBytes)
		case body.err != nil:
			return nil, &sources.FetchError{
				URL: rawURL, Status: resp.StatusCode, ContentType: out.ContentType,
				Err: fmt.Errorf("reading body: %w", c.ctxErr(ctx, body.err)),
			}
		}
		return nil, err
	}
	return out, nil
}

// cappedReader reads at most left bytes and remembers why it stopped: over
// when the body was longer, err when reading it failed.
type cappedReader struct {
	r    io.Reader
	left int64
	over bool
	err  error
	// progress, when set, is called after every read that got bytes.
	progress func()
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.over {
		return 0, ErrTooLarge
	}
	if c.left <= 0 {
		// One byte more says whether the body really is too long.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.over = true
			return 0, ErrTooLarge
		}
		if err != nil && err != io.EOF {
			c.err = err
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if n > 0 && c.progress != nil {
		c.progress()
	}
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

func (c *Client) tooLarge(rawURL string, resp *Response, limit int64) error {
	return &sources.FetchError{
		URL: rawURL, Status: resp.Status, ContentType: resp.ContentType,
		Err: fmt.Errorf("%w: more than the %s limit", ErrTooLarge, formatBytes(limit)),
	}
}

// streamFile reads a local file with the same size cap as a body.
func (c *Client) streamFile(ctx context.Context, rawURL, path string, maxBytes int64, read func(*Response, io.Reader) error) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, &sources.FetchError{URL: rawURL, Err: err}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &sources.FetchError{URL: rawURL, Err: err}
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil {
		return nil, &sources.FetchError{URL: rawURL, Err: err}
	} else if !info.Mode().IsRegular() {
		// A directory, a FIFO or /dev/stdin would fail or block forever.
		return nil, &sources.FetchError{URL: rawURL, Err: fmt.Errorf("%s is not a regular file", path)}
	}
	final := path
	if abs, err := filepath.Abs(path); err == nil {
		final = abs
	}
	// The content type is sniffed from the start of the file, as
	// http.DetectContentType does, without reading it all first.
	br := bufio.NewReaderSize(f, 512)
	head, _ := br.Peek(512)
	out := &Response{
		ContentType: http.DetectContentType(head),
		FinalURL:    (&url.URL{Scheme: "file", Path: filepath.ToSlash(final)}).String(),
	}
	body := &cappedReader{r: br, left: maxBytes}
	if err := read(out, body); err != nil {
		switch {
		case body.over:
			return nil, &sources.FetchError{
				URL: rawURL,
				Err: fmt.Errorf("%w: more than the %s limit", ErrTooLarge, formatBytes(maxBytes)),
			}
		case body.err != nil:
			return nil, &sources.FetchError{URL: rawURL, Err: body.err}
		}
		return nil, err
	}
	return out, nil
}

// IsFile reports whether rawURL names a local file (a path or a file://
// URL) rather than something to fetch over HTTP.
func IsFile(rawURL string) bool {
	_, isFile, err := parseTarget(rawURL)
	return err == nil && isFile
}

// parseTarget tells an http(s) URL from a local file: it returns the URL to
// request, or the file path with isFile set.
func parseTarget(rawURL string) (target *url.URL, isFile bool, err error) {
	raw := strings.TrimSpace(rawURL)
	if raw == "" {
		return nil, false, errors.New("empty URL")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 {
		// No scheme (or a Windows drive letter): a path on disk.
		return &url.URL{Path: raw}, true, nil
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return nil, false, fmt.Errorf("URL %q has no host", raw)
		}
		return u, false, nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, false, fmt.Errorf("file URL %q names host %q: only local files can be read", raw, u.Host)
		}
		return &url.URL{Path: filepath.FromSlash(u.Path)}, true, nil
	default:
		return nil, false, fmt.Errorf("unsupported URL scheme %q (use http, https, file or a file path)", u.Scheme)
	}
}

// hostKey names the host a request goes to, port included, so that
// "Example.com" and "example.com:443" wait for each other over https.
func hostKey(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return host + ":" + port
}

// acquire waits for host's turn; release hands it on.
func (c *Client) acquire(ctx context.Context, host string) (release func(), err error) {
	c.mu.Lock()
	if c.hosts == nil {
		c.hosts = make(map[string]*hostSlot)
	}
	slot := c.hosts[host]
	if slot == nil {
		slot = &hostSlot{sem: make(chan struct{}, 1)}
		c.hosts[host] = slot
	}
	slot.users++
	c.mu.Unlock()

	forget := func() {
		c.mu.Lock()
		slot.users--
		if slot.users == 0 {
			delete(c.hosts, host)
		}
		c.mu.Unlock()
	}
	select {
	case slot.sem <- struct{}{}:
		return func() {
			<-slot.sem
			forget()
		}, nil
	case <-ctx.Done():
		forget()
		return nil, ctx.Err()
	}
}

// errTimedOut is the cause of a Get's own deadline, to tell it apart from
// a deadline of the caller's context.
var errTimedOut = errors.New("fetch timed out")

// ctxErr makes our own timeout say how long was waited, so that a marketer
// reads "timed out after 30s" rather than "context deadline exceeded". The
// result still matches context.DeadlineExceeded.
func (c *Client) ctxErr(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errTimedOut) {
		return fmt.Errorf("timed out after %s: %w", c.timeout(), context.DeadlineExceeded)
	}
	return err
}

// unwrapURLError drops the *url.Error wrapper: its `Get "https://…":`
// prefix repeats the URL the FetchError already names.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Client) maxBytes() int64 {
	if c.MaxBytes > 0 {
		return c.MaxBytes
	}
	return DefaultMaxBytes
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// maxRetryAfter bounds what a server can ask for, so that a garbage value
// cannot silence a source for years (or overflow a Duration).
const maxRetryAfter = 7 * 24 * time.Hour

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
// It returns 0 for an empty, invalid or past value.
func (c *Client) retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	when, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := when.Sub(c.now())
	if d <= 0 {
		return 0
	}
	// Dates have whole-second precision; round so 119.9s reads as 2m0s.
	return min(d.Round(time.Second), maxRetryAfter)
}

// maxAge reads max-age (or s-maxage, which a shared poller may use) from
// Cache-Control header values; 0 when absent or no-cache/no-store.
func maxAge(values []string) time.Duration {
	var age int64 = -1
	for _, v := range values {
		for directive := range strings.SplitSeq(v, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(directive), "=")
			name = strings.ToLower(strings.TrimSpace(name))
			switch name {
			case "no-cache", "no-store":
				return 0
			case "max-age", "s-maxage":
				n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(arg), `"`), 10, 64)
				if err == nil && n > age {
					age = n
				}
			}
		}
	}
	if age <= 0 {
		return 0
	}
	return time.Duration(min(age, math.MaxInt64/int64(time.Second))) * time.Second
}

// formatBytes writes a byte count for people: 10485760 is "10 MiB".
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
