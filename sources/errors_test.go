package sources_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/heraldcli/herald/sources"
)

func TestFetchErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *sources.FetchError
		want string
	}{
		{
			name: "html page",
			err: &sources.FetchError{URL: "https://example.com/blog", Status: 200, ContentType: "text/html",
				Snippet: "<!doctype html><html><head><title>Blog…", Err: sources.ErrNotFeed},
			want: `https://example.com/blog: not a feed: got HTTP 200 text/html ("<!doctype html><html><head><title>Blog…")`,
		},
		{
			name: "not a feed with a hint",
			err: &sources.FetchError{URL: "https://example.com/blog", Status: 200, ContentType: "text/html; charset=utf-8",
				Snippet: "<html>", Hint: "the page links to a feed: https://example.com/feed.xml", Err: sources.ErrNotFeed},
			want: `https://example.com/blog: not a feed: got HTTP 200 text/html; charset=utf-8 ("<html>"); the page links to a feed: https://example.com/feed.xml`,
		},
		{
			name: "empty body",
			err:  &sources.FetchError{URL: "https://example.com/feed", Status: 200, ContentType: "application/rss+xml", Err: sources.ErrNotFeed},
			want: `https://example.com/feed: not a feed: got HTTP 200 application/rss+xml (empty body)`,
		},
		{
			name: "local file",
			err:  &sources.FetchError{URL: "feeds/sample.txt", ContentType: "text/plain", Snippet: "hello", Err: sources.ErrNotFeed},
			want: `feeds/sample.txt: not a feed: got text/plain ("hello")`,
		},
		{
			name: "404",
			err:  &sources.FetchError{URL: "https://example.com/feed.xml", Status: 404},
			want: `https://example.com/feed.xml: HTTP 404 Not Found`,
		},
		{
			name: "403 with body",
			err:  &sources.FetchError{URL: "https://example.com/feed.xml", Status: 403, Snippet: "Access denied"},
			want: `https://example.com/feed.xml: HTTP 403 Forbidden ("Access denied")`,
		},
		{
			name: "429",
			err:  &sources.FetchError{URL: "https://example.com/feed.xml", Status: 429, RetryAfter: 2 * time.Minute},
			want: `https://example.com/feed.xml: HTTP 429 Too Many Requests, retry after 2m0s`,
		},
		{
			name: "unknown status",
			err:  &sources.FetchError{URL: "https://example.com/feed.xml", Status: 599},
			want: `https://example.com/feed.xml: HTTP 599`,
		},
		{
			name: "malformed",
			err: &sources.FetchError{URL: "https://example.com/feed.xml", Status: 200,
				Err: fmt.Errorf("%w (RSS): XML syntax error on line 3: unexpected EOF", sources.ErrMalformedFeed)},
			want: `https://example.com/feed.xml: malformed feed (RSS): XML syntax error on line 3: unexpected EOF`,
		},
		{
			name: "network",
			err:  &sources.FetchError{URL: "https://example.com/feed.xml", Err: errors.New("dial tcp: connection refused")},
			want: `https://example.com/feed.xml: dial tcp: connection refused`,
		},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestFetchErrorUnwrap(t *testing.T) {
	t.Parallel()
	var err error = &sources.FetchError{URL: "u", Err: fmt.Errorf("timed out after 30s: %w", context.DeadlineExceeded)}
	err = fmt.Errorf("campaign %q: %w", "blog", err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("errors.Is(err, context.DeadlineExceeded) = false")
	}
	var fe *sources.FetchError
	if !errors.As(err, &fe) || fe.URL != "u" {
		t.Error("errors.As did not find the *FetchError")
	}
	if errors.Is(&sources.FetchError{Status: 404}, sources.ErrNotFeed) {
		t.Error("a 404 is not ErrNotFeed")
	}
}
