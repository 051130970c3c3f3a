package scheduler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/campaign/scheduler"
	"github.com/heraldcli/herald/sources/fetch"
	"github.com/heraldcli/herald/sources/rss"
)

// feed is an RSS feed on a loopback server that tests grow, break and
// slow down between polls. It answers If-None-Match with 304.
type feed struct {
	mu       sync.Mutex
	items    []string // titles, oldest first
	status   int      // when non-zero, answered instead of the feed
	retry    string   // Retry-After sent with status
	requests []string // "GET" or "GET If-None-Match=…" per request
}

func (f *feed) add(titles ...string) {
	f.mu.Lock()
	f.items = append(f.items, titles...)
	f.mu.Unlock()
}

func (f *feed) fail(status int, retry string) {
	f.mu.Lock()
	f.status, f.retry = status, retry
	f.mu.Unlock()
}

func (f *feed) hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, "GET If-None-Match="+r.Header.Get("If-None-Match"))
	if f.status != 0 {
		if f.retry != "" {
			w.Header().Set("Retry-After", f.retry)
		}
		http.Error(w, "down for maintenance", f.status)
		return
	}
	etag := fmt.Sprintf(`"v%d"`, len(f.items))
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/rss+xml")
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>`)
	for i := len(f.items) - 1; i >= 0; i-- { // newest first, as feeds are
		fmt.Fprintf(&b, "<item><guid>post-%d</guid><title>%s</title><link>https://example.com/%d</link></item>", i, f.items[i], i)
	}
	b.WriteString(`</channel></rss>`)
	w.Write([]byte(b.String()))
}

// watch serves f and points the engine's sources at it.
func (b *bundle) watch(t *testing.T, f *feed) string {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := &fetch.Client{Now: b.clock.Now}
	b.engine.OpenSource = func(s *campaign.SourceSpec) (campaign.Source, error) {
		return &rss.Source{URL: s.URL, Client: client}, nil
	}
	return srv.URL + "/feed.xml"
}

// texts are the texts the sandbox accepted, in order.
func (b *bundle) texts() []string {
	var out []string
	for _, m := range b.sb.Messages() {
		out = append(out, m.Plain)
	}
	return out
}

func actions(ds []scheduler.Decision) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Action)
	}
	return strings.Join(out, ",")
}

// TestWatch polls a feed that grows between polls, answers 304, fails with
// a 500 and asks for a pause with Retry-After.
func TestWatch(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	b := setup(t, start, sub{chat: "1001"})
	f := &feed{items: []string{"old one", "old two"}}
	url := b.watch(t, f)
	spec := parse(t, "alerts", fmt.Sprintf(`channels: [telegram]
source: {url: %q}
trigger: {watch: 15m}
mode: each
max_items: 2
message:
  text: "New: {{ .Item.Title }}"
`, url))
	s := b.scheduler(t, spec)
	step := func(at time.Duration) []scheduler.Decision {
		b.clock.Set(start.Add(at))
		return s.Step(context.Background())
	}

	// The first poll: what the feed already has is not news.
	if ds := step(0); actions(ds) != scheduler.Polled || len(b.texts()) != 0 {
		t.Fatalf("first poll: %+v, sent %q", ds, b.texts())
	}
	// Not before the interval.
	if ds := step(10 * time.Minute); len(ds) != 0 || f.hits() != 1 {
		t.Fatalf("polled before 15m: %+v (%d requests)", ds, f.hits())
	}
	// Three new posts: mode each sends max_items (2), oldest first; the
	// third waits for the next poll, never dropped.
	f.add("one", "two", "three")
	if ds := step(15 * time.Minute); actions(ds) != scheduler.Fired {
		t.Fatalf("poll with new items: %+v", ds)
	}
	if got := strings.Join(b.texts(), "|"); got != "New: one|New: two" {
		t.Fatalf("sent %q", got)
	}
	if ds := step(30 * time.Minute); actions(ds) != scheduler.Fired {
		t.Fatalf("poll with the waiting item: %+v", ds)
	}
	if got := strings.Join(b.texts(), "|"); got != "New: one|New: two|New: three" {
		t.Fatalf("sent %q", got)
	}
	// Nothing changed: a conditional GET answered 304.
	if ds := step(45 * time.Minute); actions(ds) != scheduler.Polled {
		t.Fatalf("unchanged feed: %+v", ds)
	}
	if last := f.requests[len(f.requests)-1]; last != `GET If-None-Match="v5"` {
		t.Fatalf("the poll was not conditional: %s", last)
	}
	// A 500: reported, backed off (at least the interval), nothing lost.
	f.fail(500, "")
	if ds := step(60 * time.Minute); actions(ds) != scheduler.Failed || !strings.Contains(ds[0].Reason, "500") {
		t.Fatalf("500: %+v", ds)
	}
	// A 503 asking for two hours: no request before they pass.
	f.fail(503, "7200")
	if ds := step(75 * time.Minute); actions(ds) != scheduler.Failed || !strings.Contains(ds[0].Reason, "503") {
		t.Fatalf("503: %+v", ds)
	}
	hits := f.hits()
	for _, at := range []time.Duration{90, 120, 150, 180} {
		step(at * time.Minute)
	}
	if f.hits() != hits {
		t.Fatalf("polled %d times during Retry-After", f.hits()-hits)
	}
	f.fail(0, "")
	f.add("four")
	if ds := step(75*time.Minute + 2*time.Hour); actions(ds) != scheduler.Fired {
		t.Fatalf("after Retry-After: %+v", ds)
	}
	if got := b.texts(); len(got) != 4 || got[3] != "New: four" {
		t.Fatalf("sent %q", got)
	}
	for _, r := range b.runs(t, "alerts") {
		if r.Trigger != "watch" || r.State != campaign.RunDone {
			t.Errorf("run %+v", r)
		}
	}
}

// TestWatchDigestMinItems gathers items until min_items, or max_wait.
func TestWatchDigestMinItems(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	b := setup(t, start, sub{chat: "1001"})
	f := &feed{items: []string{"old"}}
	url := b.watch(t, f)
	spec := parse(t, "digest", fmt.Sprintf(`channels: [telegram]
source: {url: %q}
trigger: {watch: 1h}
mode: digest
min_items: 3
max_wait: 24h
message:
  text: "{{ range .Items }}{{ .Title }};{{ end }}"
`, url))
	s := b.scheduler(t, spec)
	step := func(at time.Duration) []scheduler.Decision {
		b.clock.Set(start.Add(at))
		return s.Step(context.Background())
	}
	step(0)
	f.add("a")
	if ds := step(time.Hour); actions(ds) != scheduler.Waiting || !strings.Contains(ds[0].Reason, "1 of min_items 3") {
		t.Fatalf("one new item: %+v", ds)
	}
	f.add("b", "c")
	if ds := step(2 * time.Hour); actions(ds) != scheduler.Fired {
		t.Fatalf("three new items: %+v", ds)
	}
	if got := b.texts(); len(got) != 1 || got[0] != "c;b;a;" {
		t.Fatalf("digest: %q", got)
	}
	// One more item waits for max_wait, across a restart.
	f.add("d")
	step(3 * time.Hour)
	s = b.scheduler(t, spec)
	for h := 4; h < 27; h++ {
		if ds := step(time.Duration(h) * time.Hour); actions(ds) != scheduler.Waiting {
			t.Fatalf("hour %d: %+v", h, ds)
		}
	}
	if ds := step(27 * time.Hour); actions(ds) != scheduler.Fired {
		t.Fatalf("after max_wait: %+v", ds)
	}
	if got := b.texts(); len(got) != 2 || got[1] != "d;" {
		t.Fatalf("digests: %q", got)
	}
}
