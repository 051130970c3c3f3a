package messenger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/sandbox"
)

// productCards are n cards as a shop's feed would make them.
func productCards(n int) []campaign.Card {
	cards := make([]campaign.Card, n)
	for i := range cards {
		cards[i] = campaign.Card{
			Title:    fmt.Sprintf("Mug %d", i+1),
			Subtitle: fmt.Sprintf("€%d.00 · stoneware", 10+i),
			Image:    fmt.Sprintf("https://shop.example/img/%d.jpg", i+1),
			Link:     fmt.Sprintf("https://shop.example/p/%d", i+1),
			Buttons:  []campaign.Button{{Text: "Buy", URL: fmt.Sprintf("https://shop.example/buy/%d", i+1)}, {Text: "Remind me", Callback: fmt.Sprintf("remind:%d", i+1)}},
		}
	}
	return cards
}

// carousel decodes the generic template a call sends.
func carousel(t *testing.T, call campaign.Call) []element {
	t.Helper()
	var b struct {
		Message struct {
			Attachment *struct {
				Type    string `json:"type"`
				Payload struct {
					TemplateType string    `json:"template_type"`
					Elements     []element `json:"elements"`
				} `json:"payload"`
			} `json:"attachment"`
		} `json:"message"`
	}
	if err := json.Unmarshal(call.Body, &b); err != nil {
		t.Fatal(err)
	}
	if a := b.Message.Attachment; a == nil || a.Type != "template" || a.Payload.TemplateType != "generic" {
		t.Fatalf("not a generic template: %s", call.Body)
	}
	return b.Message.Attachment.Payload.Elements
}

func TestCardsRenderAsOneCarousel(t *testing.T) {
	t.Parallel()
	c := newTest(t, Config{})
	qr := []campaign.Button{{Text: "More", Callback: "MORE"}}
	cases := []struct {
		name string
		m    campaign.Message
		want string
	}{
		{"cards alone", campaign.Message{Cards: productCards(3)}, "template:generic++"},
		{"intro first", campaign.Message{Text: "**New** in the shop", Cards: productCards(2)}, "text|template:generic+"},
		{"one card", campaign.Message{Text: "Today only", Cards: productCards(1)}, "text|template:generic"},
		{"ten cards", campaign.Message{Cards: productCards(10)}, "template:generic" + strings.Repeat("+", 9)},
		{"quick replies on the carousel", campaign.Message{Text: "New", Cards: productCards(2), QuickReplies: qr}, "text|template:generic++qr"},
		{"album layout is Telegram's", campaign.Message{Cards: productCards(2), CardLayout: campaign.CardsAlbum}, "template:generic+"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if p := c.Lint(tc.m); len(p) > 0 {
				t.Fatalf("lint: %v", p)
			}
			calls, err := c.Prepare(standard, tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(shape(t, calls), "|"); got != tc.want {
				t.Fatalf("rendered as %s, want %s", got, tc.want)
			}
			if els := carousel(t, calls[len(calls)-1]); len(els) != len(tc.m.Cards) {
				t.Fatalf("%d elements for %d cards", len(els), len(tc.m.Cards))
			}
		})
	}
}

func TestCardElements(t *testing.T) {
	t.Parallel()
	c := newTest(t, Config{})
	long := strings.Repeat("Handmade stoneware mug ", 5) // 115 characters
	m := campaign.Message{Text: "**New** in the shop", Cards: []campaign.Card{
		productCards(1)[0],
		{Title: "  Teapot  ", Subtitle: "€30.00"},
		{Title: long, Subtitle: long, Link: "http://shop.example/p/long"},
		{Title: strings.Repeat("é", 80), Subtitle: strings.Repeat("ü", 80)},
	}}
	calls, err := c.Prepare(standard, m)
	if err != nil {
		t.Fatal(err)
	}
	var intro sendBody
	if err := json.Unmarshal(calls[0].Body, &intro); err != nil {
		t.Fatal(err)
	}
	if intro.Message.Text != "New in the shop" {
		t.Fatalf("intro %q, want the text rendered as Messenger shows text", intro.Message.Text)
	}
	cut := strings.TrimSpace(long[:79]) + "…"
	want := []element{
		{Title: "Mug 1", Subtitle: "€10.00 · stoneware", ImageURL: "https://shop.example/img/1.jpg",
			DefaultAction: &defaultAction{Type: "web_url", URL: "https://shop.example/p/1"},
			Buttons: []button{{Type: "web_url", URL: "https://shop.example/buy/1", Title: "Buy"},
				{Type: "postback", Title: "Remind me", Payload: "remind:1"}}},
		{Title: "Teapot", Subtitle: "€30.00"},
		{Title: cut, Subtitle: cut, DefaultAction: &defaultAction{Type: "web_url", URL: "http://shop.example/p/long"}},
		{Title: strings.Repeat("é", 80), Subtitle: strings.Repeat("ü", 80)},
	}
	if got := carousel(t, calls[1]); !reflect.DeepEqual(got, want) {
		t.Fatalf("elements\n %+v\nwant\n %+v", got, want)
	}
	if n := runes(cut); n != maxTitle {
		t.Fatalf("a long title is cut to %d characters, want %d", n, maxTitle)
	}

	t.Run("compact is the carousel alone", func(t *testing.T) {
		m := m
		m.QuickReplies = []campaign.Button{{Text: "More", Callback: "MORE"}}
		calls, err := c.Prepare(campaign.Recipient{Address: "7", Route: campaign.RouteRecurring, Token: "nmt_1"}, m)
		if err != nil {
			t.Fatal(err)
		}
		if got := shape(t, calls); len(got) != 1 || got[0] != "template:generic++++qr" {
			t.Fatalf("recurring route sends %v, want one carousel with the quick replies", got)
		}
		if got := carousel(t, calls[0]); !reflect.DeepEqual(got, want) {
			t.Fatalf("compact elements\n %+v\nwant\n %+v", got, want)
		}
	})
}

func TestCardsLint(t *testing.T) {
	t.Parallel()
	c := newTest(t, Config{})
	with := func(change func(*campaign.Card)) campaign.Message {
		cards := productCards(3)
		change(&cards[1])
		return campaign.Message{Text: "New", Cards: cards}
	}
	cases := []struct {
		name         string
		m            campaign.Message
		field, words string
	}{
		{"eleven cards", campaign.Message{Cards: productCards(11)}, "message.cards", "11 cards, a Messenger carousel shows at most 10"},
		{"empty title", with(func(c *campaign.Card) { c.Title = " \n" }), "message.cards.title", "card 2: the title is empty"},
		{"image not by URL", with(func(c *campaign.Card) { c.Image = "AgACAgIAAxkBAAIB" }), "message.cards.image", `card 2 ("Mug 2"): "AgACAgIAAxkBAAIB" is not an http(s) URL`},
		{"link not http", with(func(c *campaign.Card) { c.Link = "tg://resolve?domain=shop" }), "message.cards.link", `card 2 ("Mug 2")`},
		{"four buttons", with(func(c *campaign.Card) { c.Buttons = append(c.Buttons, c.Buttons...) }), "message.cards.buttons", "4 buttons, Messenger allows 3"},
		{"button title too long", with(func(c *campaign.Card) { c.Buttons[0].Text = "Add to basket right now" }), "message.cards.buttons.0.text", "card 2"},
		{"button url not http", with(func(c *campaign.Card) { c.Buttons[1] = campaign.Button{Text: "FTP", URL: "ftp://shop.example/"} }), "message.cards.buttons.1.url", "card 2"},
		{"media beside cards", campaign.Message{Cards: productCards(1), Media: []campaign.Media{{Kind: campaign.Image, URL: "https://shop.example/a.jpg"}}}, "message.cards", "no media or buttons of its own"},
		{"buttons beside cards", campaign.Message{Cards: productCards(1), Buttons: []campaign.Button{{Text: "Shop", URL: "https://shop.example/"}}}, "message.cards", "no media or buttons of its own"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			probs := c.Lint(tc.m)
			found := false
			for _, p := range probs {
				found = found || p.Field == tc.field && strings.Contains(p.Message, tc.words)
			}
			if !found {
				t.Fatalf("no problem at %s saying %q: %v", tc.field, tc.words, probs)
			}
			if _, err := c.Prepare(standard, tc.m); !errors.Is(err, campaign.ErrInvalidMessage) {
				t.Fatalf("Prepare of an invalid message: %v", err)
			}
		})
	}
}

// TestCardsThroughTheSandbox sends product cards to the sandbox over HTTP,
// which validates the carousel as the Send API would, and checks what the
// recipient got.
func TestCardsThroughTheSandbox(t *testing.T) {
	t.Parallel()
	sb := sandbox.New(sandbox.Options{Messenger: sandbox.MessengerOptions{PageTokens: []string{"good"}}})
	url, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	const psid = "7000000000000500"
	sb.SetMessengerUser(psid, sandbox.MessengerUser{LastInteraction: now})
	c, err := New(Config{PageID: sb.MessengerPageID(), PageToken: "good", APIURL: url, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	cards := productCards(10)
	cards[2].Image, cards[2].Buttons = "", nil
	cards[3].Link = ""
	cards[4].Title = strings.Repeat("Grand ", 20) // cut to 80
	m := campaign.Message{Text: "**New** in the shop & more", Cards: cards, QuickReplies: []campaign.Button{{Text: "More", Callback: "MORE"}}}
	calls, err := c.Prepare(campaign.Recipient{Address: psid, Route: campaign.RouteStandard, WindowUntil: now.Add(time.Hour)}, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range calls {
		if _, err := c.Do(context.Background(), call); err != nil {
			t.Fatalf("the sandbox refused %s: %v", call.Body, err)
		}
	}
	msgs := sb.Messages()
	if len(msgs) != 2 {
		t.Fatalf("the sandbox recorded %d messages, want the text and the carousel: %+v", len(msgs), msgs)
	}
	if msgs[0].Plain != "New in the shop & more" || len(msgs[0].Elements) != 0 || len(msgs[0].QuickReplies) != 0 {
		t.Errorf("first message %+v, want the intro text alone", msgs[0])
	}
	got := msgs[1]
	if !reflect.DeepEqual(got.QuickReplies, []string{"More"}) {
		t.Errorf("carousel quick replies %v, want them on the last message", got.QuickReplies)
	}
	if len(got.Elements) != len(cards) {
		t.Fatalf("the carousel has %d elements, want %d", len(got.Elements), len(cards))
	}
	for i, card := range cards {
		e := got.Elements[i]
		title := truncate(strings.TrimSpace(card.Title), maxTitle)
		if e.Title != title || e.Subtitle != card.Subtitle || e.Image != card.Image || e.Link != card.Link {
			t.Errorf("element %d: %+v, want card %+v", i, e, card)
		}
		if len(e.Buttons) != len(card.Buttons) {
			t.Fatalf("element %d has %d buttons, want %d", i, len(e.Buttons), len(card.Buttons))
		}
		for j, b := range card.Buttons {
			if e.Buttons[j].Text != b.Text || e.Buttons[j].URL != b.URL || e.Buttons[j].Callback != b.Callback {
				t.Errorf("element %d button %d: %+v, want %+v", i, j, e.Buttons[j], b)
			}
		}
	}
	if !strings.HasSuffix(got.Elements[4].Title, "…") {
		t.Errorf("a long title arrived as %q", got.Elements[4].Title)
	}
}
