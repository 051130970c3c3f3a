package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldcli/herald/store/sqlite"
)

// TestSendRereadsAConsumedSource: another herald process consumes the
// campaign's source between send's read and its plan. Send plans nothing
// from the stale read, reads the source again and sends once.
func TestSendRereadsAConsumedSource(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importAudience(t)
	var fetches atomic.Int32
	var feedURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fetches.Add(1) == 1 {
			// While send reads the feed, another process records the
			// source (a watch's first poll would): a new generation.
			st, err := sqlite.Open(r.Context(), b.path(".herald/herald.db"))
			if err != nil {
				t.Error(err)
				return
			}
			defer st.Close()
			state, err := st.SourceState(r.Context(), "raced", feedURL)
			if err == nil {
				err = st.Consume(r.Context(), "raced", nil, &state, time.Now())
			}
			if err != nil {
				t.Error(err)
			}
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>
<item><title>Post one</title><link>https://example.com/1</link><guid>1</guid></item>
</channel></rss>`))
	}))
	t.Cleanup(srv.Close)
	feedURL = srv.URL + "/feed.xml"
	b.write(t, "campaigns/raced.yaml", "channels: [telegram]\nsource: {url: \""+feedURL+"\", backfill: 1}\nmessage: {text: \"{{ .Item.Title }}\"}\n")

	r := b.herald(t, "campaign", "send", "raced", "--yes", "--output", "json")
	if r.code != 0 || !strings.Contains(r.stderr, "consumed by another herald process meanwhile; reading it again") {
		t.Fatalf("send: %v", r)
	}
	s := decode[summary](t, r.stdout)
	if s.State != "done" || s.Counts.Sent == 0 || s.Counts.Sent != s.Counts.Targeted || len(s.Items) != 1 {
		t.Fatalf("report: %+v", s)
	}
	if n := fetches.Load(); n != 2 {
		t.Fatalf("the feed was read %d times, want 2", n)
	}
	msgs := b.sb.Messages()
	chatsOnce(t, msgs)
	if len(msgs) != s.Counts.Sent {
		t.Fatalf("the sandbox got %d messages for %d sent", len(msgs), s.Counts.Sent)
	}
	if runs := b.runList(t); len(runs) != 1 {
		t.Fatalf("runs: %v", runs)
	}
}
