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
	// So does every part of every card, and the cards' layout.
	card := campaign.Card{Title: "Mug", Subtitle: "€12", Image: "https://x.example/m.jpg", Link: "https://x.example/m",
		Buttons: []campaign.Button{{Text: "Buy", URL: "https://x.example/buy"}}}
	cards := campaign.Message{Text: "hi", Cards: []campaign.Card{card}}
	variants := []campaign.Message{m, {Text: "hi", Buttons: card.Buttons}}
	for _, change := range []func(*campaign.Card){
		func(c *campaign.Card) { c.Title = "Cup" },
		func(c *campaign.Card) { c.Subtitle = "€13" },
		func(c *campaign.Card) { c.Image = "https://x.example/c.jpg" },
		func(c *campaign.Card) { c.Link = "https://x.example/c" },
		func(c *campaign.Card) {
			c.Buttons = []campaign.Button{{Text: "Buy", Callback: "https://x.example/buy"}}
		},
		func(c *campaign.Card) { c.Buttons = nil },
	} {
		c := card
		change(&c)
		variants = append(variants, campaign.Message{Text: "hi", Cards: []campaign.Card{c}})
	}
	variants = append(variants,
		campaign.Message{Text: "hi", Cards: []campaign.Card{card, card}},
		campaign.Message{Text: "hi", Cards: cards.Cards, CardLayout: campaign.CardsAlbum},
	)
	for _, other := range variants {
		if Key(other) == Key(cards) {
			t.Errorf("%+v has the same key as %+v", other, cards)
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
