package rss_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/sources/rss"
)

func FuzzParse(f *testing.F) {
	for _, path := range fixtures(f) {
		body, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	for _, s := range []string{
		"",
		"\xef\xbb\xbf",
		"\xff\xfe<\x00",
		`<rss><channel><item><guid> </guid></item></channel></rss>`,
		`<feed xmlns="http://www.w3.org/2005/Atom" xml:base="::"><entry><link href="//x"/></entry></feed>`,
		`{"version":"https://jsonfeed.org/version/1","items":[{"id":1.5e300},{"id":true},null,7]}`,
		`<?xml version="1.0" encoding="shift_jis"?><rss><channel><item><title>` + "\x82\xa0" + `</title></item></channel></rss>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := rss.Parse(body, "https://example.com/feed.xml")
		if err != nil {
			var fe *sources.FetchError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is a %T, want *sources.FetchError", err, err)
			}
			if !errors.Is(err, sources.ErrNotFeed) && !errors.Is(err, sources.ErrMalformedFeed) {
				t.Fatalf("error %v wraps neither ErrNotFeed nor ErrMalformedFeed", err)
			}
			return
		}
		if res.MinInterval < 0 || res.MinInterval > 24*time.Hour {
			t.Fatalf("MinInterval = %v, want 0…24h", res.MinInterval)
		}
		seen := map[string]bool{}
		for i, it := range res.Items {
			if it.Key == "" {
				t.Fatalf("item %d has an empty Key", i)
			}
			if seen[it.Key] {
				t.Fatalf("duplicate Key %q", it.Key)
			}
			seen[it.Key] = true
			for _, u := range []string{it.Link, it.Image} {
				if u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
					t.Fatalf("item %d: non-web URL %q", i, u)
				}
			}
		}
	})
}
