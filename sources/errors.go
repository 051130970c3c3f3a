package sources

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrNotFeed means a source answered with something that is not a feed (an
// HTML page, an API's JSON, an image…). It is wrapped in a *FetchError that
// says what was received.
var ErrNotFeed = errors.New("not a feed")

// ErrMalformedFeed means the body looked like a feed (an <rss> or <feed>
// root, a JSON Feed version) but could not be parsed.
var ErrMalformedFeed = errors.New("malformed feed")

// FetchError is a failed fetch of a source, with what was received so that
// the message tells a marketer what went wrong:
//
//	https://example.com/blog: not a feed: got HTTP 200 text/html ("<!doctype html><html><head><title>Blog…")
//	https://example.com/feed.xml: HTTP 404 Not Found
//
// Status is 0 when no HTTP response was received (a network error, a local
// file). Use errors.As to read it and errors.Is to test the cause
// (ErrNotFeed, ErrMalformedFeed, context.DeadlineExceeded…).
type FetchError struct {
	URL         string
	Status      int
	ContentType string
	// Snippet is the start of the body, cleaned up for display.
	Snippet string
	// RetryAfter is how long the server asked us to wait before trying
	// again (Retry-After on a 429 or 503); zero when it did not say.
	RetryAfter time.Duration
	// Hint, when set, suggests what to do, like using the feed an HTML
	// page links to.
	Hint string
	Err  error
}

func (e *FetchError) Error() string {
	var b strings.Builder
	if e.URL != "" {
		b.WriteString(e.URL)
		b.WriteString(": ")
	}
	switch {
	case errors.Is(e.Err, ErrNotFeed):
		b.WriteString(e.Err.Error())
		if got := e.received(); got != "" {
			b.WriteString(": got ")
			b.WriteString(got)
		}
	case e.Status != 0 && (e.Status < 200 || e.Status > 299):
		b.WriteString(e.statusText())
		if e.RetryAfter > 0 {
			fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
		}
		if e.Err != nil {
			b.WriteString(": ")
			b.WriteString(e.Err.Error())
		}
		if e.Snippet != "" {
			b.WriteString(` ("`)
			b.WriteString(e.Snippet)
			b.WriteString(`")`)
		}
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("fetch failed")
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

func (e *FetchError) Unwrap() error { return e.Err }

func (e *FetchError) statusText() string {
	if text := http.StatusText(e.Status); text != "" {
		return fmt.Sprintf("HTTP %d %s", e.Status, text)
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}

// received describes the response: `HTTP 200 text/html ("<!doctype…")`.
func (e *FetchError) received() string {
	var parts []string
	if e.Status != 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d", e.Status))
	}
	if e.ContentType != "" {
		parts = append(parts, e.ContentType)
	}
	if e.Snippet != "" {
		parts = append(parts, `("`+e.Snippet+`")`)
	} else if e.Status != 0 {
		parts = append(parts, "(empty body)")
	}
	return strings.Join(parts, " ")
}

// snippetRunes is how much of a body an error message quotes.
const snippetRunes = 60

// Snippet returns the start of body for an error message: invalid UTF-8 and
// control characters replaced, whitespace collapsed, cut to about 60
// characters with "…" when longer. An empty or blank body returns "".
func Snippet(body []byte) string {
	// Look at a bounded prefix: a snippet never needs more.
	const maxScan = 1024
	more := len(body) > maxScan
	if more {
		body = body[:maxScan]
	}
	var b strings.Builder
	n := 0
	space := false
	for len(body) > 0 {
		r, size := utf8.DecodeRune(body)
		if r == utf8.RuneError && size == 1 && more && !utf8.FullRune(body) {
			break // a rune cut in two by maxScan, not an invalid one
		}
		body = body[size:]
		if r == '\uFEFF' && n == 0 {
			continue // a byte order mark is not content
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = n > 0
			continue
		}
		if n >= snippetRunes {
			more = true
			break
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	if more && n > 0 {
		b.WriteString("…")
	}
	return b.String()
}
