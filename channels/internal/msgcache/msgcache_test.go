package msgcache

import (
	"errors"
	"testing"

	"github.com/heraldcli/herald/campaign"
)

func TestCacheBuildsOncePerContent(t *testing.T) {
	var c Cache[int]
	builds := 0
	build := func(campaign.Message) (int, error) { builds++; return builds, nil }
	m := campaign.Message{Text: "hi", Buttons: []campaign.Button{{Text: "a", URL: "https://x.example/"}}}
	for range 3 {
		if v, _ := c.Get(m, build); v != 1 {
			t.Fatalf("got build %d, want the first", v)
		}
	}
	// Every part of the content counts, quick replies included.
	for _, other := range []campaign.Message{
		{Text: "hi"},
		{Text: "hi", Buttons: []campaign.Button{{Text: "a", Callback: "https://x.example/"}}},
		{Text: "hi", Buttons: m.Buttons, QuickReplies: []campaign.Button{{Text: "a", Callback: "x"}}},
		{Text: "hi", Buttons: m.Buttons, DisableLinkPreview: true},
		{Text: "hi", Buttons: m.Buttons, Media: []campaign.Media{{Kind: campaign.Image, URL: "https://x.example/i.jpg"}}},
	} {
		if Key(other) == Key(m) {
			t.Errorf("%+v has the same key as %+v", other, m)
		}
	}
	// Errors are not remembered.
	fail := errors.New("no")
	if _, err := c.Get(campaign.Message{Text: "bad"}, func(campaign.Message) (int, error) { return 0, fail }); err != fail {
		t.Fatal(err)
	}
	if v, err := c.Get(campaign.Message{Text: "bad"}, build); err != nil || v != 2 {
		t.Fatalf("after an error: %d, %v", v, err)
	}
}
