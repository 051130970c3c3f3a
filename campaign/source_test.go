package campaign_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/sources/fetch"
	"github.com/heraldcli/herald/sources/rss"
)

// feedServer serves an RSS feed with an ETag and records the conditional
// headers it receives.
type feedServer struct {
	mu    sync.Mutex
	items int
	etags []string // If-None-Match of each request
}

func (f *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.etags = append(f.etags, r.Header.Get("If-None-Match"))
	etag := fmt.Sprintf(`"v%d"`, f.items)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>`)
	for i := f.items; i >= 1; i-- {
		fmt.Fprintf(&b, `<item><title>Post %d</title><link>https://e.com/%d</link><guid>p%d</guid><pubDate>Mon, 0%d Nov 2026 09:00:00 GMT</pubDate></item>`, i, i, i, i)
	}
	b.WriteString(`</channel></rss>`)
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/rss+xml")
	w.Write([]byte(b.String()))
}

func (f *feedServer) set(items int) {
	f.mu.Lock()
	f.items = items
	f.mu.Unlock()
}

func (f *feedServer) lastETag() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.etags[len(f.etags)-1]
}

// feedSetup is a bundle whose campaigns read feed over real HTTP with the
// real RSS source.
func feedSetup(t *testing.T, subscribers, items int) (*bundle, *feedServer, string) {
	t.Helper()
	b := setup(t, setupOpts{subscribers: subscribers})
	feed := &feedServer{items: items}
	srv := httptest.NewServer(feed)
	t.Cleanup(srv.Close)
	client := &fetch.Client{}
	b.engine.OpenSource = func(s *campaign.SourceSpec) (campaign.Source, error) {
		return &rss.Source{URL: s.URL, Client: client}, nil
	}
	return b, feed, srv.URL
}

func TestSourceValidatorsAreStoredAndSent(t *testing.T) {
	t.Parallel()
	b, feed, url := feedSetup(t, 3, 2)
	s := spec(t, fmt.Sprintf("channels: [telegram]\nsource: {url: %q, backfill: 5}\nmode: digest\nmessage: {text: \"{{ range .Items }}{{ .Title }} {{ end }}\"}\n", url))
	ctx := context.Background()

	res := b.send(t, ctx, s)
	if res.Counts.Sent != 3 || len(res.Run.Items) != 2 || feed.lastETag() != "" {
		t.Fatalf("first run: %+v, %d items, If-None-Match %q", res.Counts, len(res.Run.Items), feed.lastETag())
	}
	// Unchanged feed: herald sends the stored ETag, gets 304, sends nothing.
	res = b.send(t, ctx, s)
	if feed.lastETag() != `"v2"` || res.Counts.Targeted != 0 || res.Run.State != campaign.RunDone {
		t.Fatalf("second run: If-None-Match %q, %+v %s", feed.lastETag(), res.Counts, res.Run.State)
	}
	// A preview fetches but consumes nothing and stores nothing.
	feed.set(3)
	if d, err := b.engine.Prepare(ctx, s); err != nil || len(d.Items) != 1 || d.Items[0].Title != "Post 3" {
		t.Fatalf("prepare: %+v %v", d, err)
	}
	res = b.send(t, ctx, s)
	if len(res.Run.Items) != 1 || res.Run.Items[0].Title != "Post 3" || res.Counts.Sent != 3 {
		t.Fatalf("third run: %+v %+v", res.Run.Items, res.Counts)
	}
}

func TestItemsWaitingAreNotHiddenBy304(t *testing.T) {
	t.Parallel()
	b, feed, url := feedSetup(t, 1, 3)
	// Mode each with max_items 2: the third item waits for the next run,
	// so the ETag must not be kept, or a 304 would hide it.
	s := spec(t, fmt.Sprintf("channels: [telegram]\nsource: {url: %q, backfill: 3}\nmode: each\nmax_items: 2\nmessage: {text: \"{{ .Item.Title }}\"}\n", url))
	ctx := context.Background()
	if res := b.send(t, ctx, s); len(res.Run.Items) != 2 {
		t.Fatalf("first run items: %+v", res.Run.Items)
	}
	res := b.send(t, ctx, s)
	if feed.lastETag() != "" || len(res.Run.Items) != 1 || res.Run.Items[0].Title != "Post 3" {
		t.Fatalf("second run: If-None-Match %q, items %+v", feed.lastETag(), res.Run.Items)
	}
	// Now everything is consumed: the next fetch is conditional again.
	b.send(t, ctx, s)
	if feed.lastETag() != `"v3"` {
		t.Fatalf("third fetch sent If-None-Match %q", feed.lastETag())
	}
}
