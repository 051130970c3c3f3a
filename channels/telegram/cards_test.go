package telegram_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/sandbox"
	"github.com/heraldcli/herald/channels/telegram"
)

// cardsBundle is a channel wired to a fresh sandbox.
type cardsBundle struct {
	sb *sandbox.Server
	ch *telegram.Channel
}

func setupCards(t *testing.T) cardsBundle {
	t.Helper()
	sb := sandbox.New(sandbox.Options{Tokens: []string{secretToken}})
	url, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return cardsBundle{sb: sb, ch: newChannel(t, url)}
}

// send prepares m for chat, sends every call and returns what the sandbox
// recorded, and the calls.
func (b cardsBundle) send(t *testing.T, chat string, m campaign.Message) ([]sandbox.Message, []campaign.Call) {
	t.Helper()
	calls, err := b.ch.Prepare(campaign.Recipient{Address: chat, Route: campaign.RouteBot}, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		if _, err := b.ch.Do(context.Background(), c); err != nil {
			t.Fatalf("the sandbox refused %s: %v\nbody: %s", c.Method, err, c.Body)
		}
	}
	var mine []sandbox.Message
	for _, msg := range b.sb.Messages() {
		if msg.Chat == chat {
			mine = append(mine, msg)
		}
	}
	return mine, calls
}

// shopCards are three cards: one with everything, one without an image
// whose text needs escaping, one without a link.
func shopCards() []campaign.Card {
	return []campaign.Card{
		{Title: "Mug", Subtitle: "€12.00\nStoneware, 350 ml", Image: "https://shop.example/img/mug.jpg", Link: "https://shop.example/p/mug?c=blue&s=1",
			Buttons: []campaign.Button{{Text: "Buy", URL: "https://shop.example/buy/mug"}, {Text: "Remind me", Callback: "remind:mug"}}},
		{Title: "Teapot & <lid>", Subtitle: "€30 <sale>", Link: "https://shop.example/p/teapot",
			Buttons: []campaign.Button{{Text: "Remind me", Callback: "remind:teapot"}}},
		{Title: " Saucer ", Subtitle: "€4.00", Image: "https://shop.example/img/saucer.jpg"},
	}
}

func buttons(bs ...sandbox.Button) []sandbox.Button { return bs }

func TestCardsEachLayout(t *testing.T) {
	t.Parallel()
	b := setupCards(t)
	type want struct {
		method, text, plain, image string
		buttons                    []sandbox.Button
	}
	wantCards := []want{
		{"sendPhoto", `<a href="https://shop.example/p/mug?c=blue&amp;s=1"><b>Mug</b></a>` + "\n€12.00\nStoneware, 350 ml",
			"Mug\n€12.00\nStoneware, 350 ml", "https://shop.example/img/mug.jpg",
			buttons(sandbox.Button{Text: "Buy", URL: "https://shop.example/buy/mug"}, sandbox.Button{Text: "Remind me", Callback: "remind:mug", Row: 1})},
		{"sendMessage", `<a href="https://shop.example/p/teapot"><b>Teapot &amp; &lt;lid&gt;</b></a>` + "\n€30 &lt;sale&gt;",
			"Teapot & <lid>\n€30 <sale>", "", buttons(sandbox.Button{Text: "Remind me", Callback: "remind:teapot"})},
		{"sendPhoto", "<b>Saucer</b>\n€4.00", "Saucer\n€4.00", "https://shop.example/img/saucer.jpg", nil},
	}
	for _, layout := range []campaign.CardLayout{"", campaign.CardsEach} {
		for _, intro := range []string{"", "**New** in the shop"} {
			t.Run(fmt.Sprintf("layout %q, intro %q", layout, intro), func(t *testing.T) {
				chat := fmt.Sprintf("%d", 1000+len(layout)*10+len(intro))
				msgs, calls := b.send(t, chat, campaign.Message{Text: intro, Cards: shopCards(), CardLayout: layout})
				wants := wantCards
				if intro != "" {
					wants = append([]want{{"sendMessage", "<b>New</b> in the shop", "New in the shop", "", nil}}, wants...)
				}
				if len(msgs) != len(wants) {
					t.Fatalf("the sandbox recorded %d messages, want %d: %+v", len(msgs), len(wants), msgs)
				}
				for i, w := range wants {
					got := msgs[i]
					image := ""
					if len(got.Media) == 1 {
						image = got.Media[0].URL
					}
					if got.Method != w.method || got.Text != w.text || got.Plain != w.plain || image != w.image || got.ParseMode != "HTML" {
						t.Errorf("message %d: %s %q (reads %q) image %q, want %s %q (reads %q) image %q",
							i, got.Method, got.Text, got.Plain, image, w.method, w.text, w.plain, w.image)
					}
					if !reflect.DeepEqual(got.Buttons, w.buttons) {
						t.Errorf("message %d buttons %+v, want %+v", i, got.Buttons, w.buttons)
					}
				}
				for _, c := range calls {
					if bytes.Contains(c.Body, []byte("link_preview_options")) {
						t.Errorf("%s turns the link preview off though the campaign did not: %s", c.Method, c.Body)
					}
				}
			})
		}
	}
	t.Run("no link preview", func(t *testing.T) {
		_, calls := b.send(t, "2000", campaign.Message{Text: "New", Cards: shopCards(), DisableLinkPreview: true})
		for _, c := range calls {
			if c.Method == "sendMessage" && !bytes.Contains(c.Body, []byte(`"link_preview_options":{"is_disabled":true}`)) {
				t.Errorf("sendMessage shows a preview the campaign turned off: %s", c.Body)
			}
		}
	})
}

func TestCardsAlbumLayout(t *testing.T) {
	t.Parallel()
	b := setupCards(t)
	noButtons := func(n int) []campaign.Card {
		cards := shopCards()[:n]
		for i := range cards {
			cards[i].Buttons = nil
		}
		return cards
	}
	list := `• <a href="https://shop.example/p/mug?c=blue&amp;s=1">Mug</a> — €12.00 Stoneware, 350 ml` + "\n" +
		`• <a href="https://shop.example/p/teapot">Teapot &amp; &lt;lid&gt;</a> — €30 &lt;sale&gt;` + "\n" +
		`• Saucer — €4.00`
	withoutImages := noButtons(3)
	withoutImages[0].Image, withoutImages[2].Image = "", ""
	cases := []struct {
		name    string
		m       campaign.Message
		methods []string
		images  []string
		text    string
	}{
		{"two images", campaign.Message{Text: "**New** in the shop", Cards: noButtons(3), CardLayout: campaign.CardsAlbum},
			[]string{"sendMediaGroup", "sendMessage"}, []string{"https://shop.example/img/mug.jpg", "https://shop.example/img/saucer.jpg"},
			"<b>New</b> in the shop\n\n" + list},
		{"one image", campaign.Message{Cards: noButtons(2), CardLayout: campaign.CardsAlbum},
			[]string{"sendPhoto", "sendMessage"}, []string{"https://shop.example/img/mug.jpg"}, list[:strings.LastIndex(list, "\n")]},
		{"no image", campaign.Message{Text: "New", Cards: withoutImages, CardLayout: campaign.CardsAlbum},
			[]string{"sendMessage"}, nil, "New\n\n" + list},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msgs, calls := b.send(t, fmt.Sprint(3000+i), tc.m)
			var methods []string
			for _, m := range msgs {
				methods = append(methods, m.Method)
			}
			if !reflect.DeepEqual(methods, tc.methods) {
				t.Fatalf("the sandbox recorded %v, want %v", methods, tc.methods)
			}
			if len(tc.images) > 0 {
				var images []string
				for _, md := range msgs[0].Media {
					images = append(images, md.URL)
					if md.Caption != "" {
						t.Errorf("album item %s has the caption %q", md.URL, md.Caption)
					}
				}
				if !reflect.DeepEqual(images, tc.images) || msgs[0].Text != "" {
					t.Errorf("album %v with text %q, want %v without", images, msgs[0].Text, tc.images)
				}
			}
			last := msgs[len(msgs)-1]
			if last.Text != tc.text || len(last.Buttons) != 0 {
				t.Errorf("list message %q with buttons %v, want\n%q", last.Text, last.Buttons, tc.text)
			}
			if !bytes.Contains(calls[len(calls)-1].Body, []byte(`"link_preview_options":{"is_disabled":true}`)) {
				t.Errorf("the list shows a preview of the first card: %s", calls[len(calls)-1].Body)
			}
		})
	}
}

func TestCardsLint(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, "http://127.0.0.1:1")
	many := func(n int) []campaign.Card {
		var cards []campaign.Card
		for i := range n {
			cards = append(cards, campaign.Card{Title: fmt.Sprint("Mug ", i+1), Image: fmt.Sprintf("https://shop.example/%d.jpg", i)})
		}
		return cards
	}
	with := func(layout campaign.CardLayout, change func(*campaign.Card)) campaign.Message {
		cards := shopCards()
		change(&cards[1])
		return campaign.Message{Text: "New", Cards: cards, CardLayout: layout}
	}
	each := func(change func(*campaign.Card)) campaign.Message { return with(campaign.CardsEach, change) }
	albumOf := func(cards []campaign.Card) campaign.Message {
		for i := range cards {
			cards[i].Buttons = nil
		}
		return campaign.Message{Cards: cards, CardLayout: campaign.CardsAlbum}
	}
	// "😀" is two UTF-16 units: a caption of "Mug" + "\n" + 510 of them is
	// 1024 as Telegram counts, 1 more is over.
	fits := strings.Repeat("😀", 510)
	valid := map[string]campaign.Message{
		"ten cards":                    {Cards: many(10)},
		"ten cards in an album":        {Cards: many(10), CardLayout: campaign.CardsAlbum},
		"caption of 1024":              each(func(c *campaign.Card) { c.Title, c.Subtitle, c.Image = "Mug", fits, "https://shop.example/m.jpg" }),
		"long text without an image":   each(func(c *campaign.Card) { c.Title, c.Subtitle, c.Image = "Mug", fits+"😀", "" }),
		"tg link":                      each(func(c *campaign.Card) { c.Link = "tg://resolve?domain=shop" }),
		"file id image":                each(func(c *campaign.Card) { c.Image = "AgACAgIAAxkBAAIBZ2abc_def-ghijk" }),
		"album without buttons":        albumOf(shopCards()),
		"cards without text":           {Cards: shopCards()},
		"album list of 4096 with text": albumOf([]campaign.Card{{Title: strings.Repeat("a", 4094)}}),
	}
	for name, m := range valid {
		if probs := ch.Lint(m); len(probs) > 0 {
			t.Errorf("%s: %v", name, probs)
		}
	}
	cases := []struct {
		name         string
		m            campaign.Message
		field, words string
	}{
		{"eleven cards", campaign.Message{Cards: many(11)}, "message.cards", "11 cards, Telegram allows at most 10 in one message"},
		{"eleven cards in an album", campaign.Message{Cards: many(11), CardLayout: campaign.CardsAlbum}, "message.cards", "11 cards"},
		{"empty title", each(func(c *campaign.Card) { c.Title = " " }), "message.cards.title", "card 2: the title is empty"},
		{"caption of 1025", each(func(c *campaign.Card) {
			c.Title, c.Subtitle, c.Image = "Mug", fits+"😀", "https://shop.example/m.jpg"
		}),
			"message.cards.subtitle", `card 2 ("Mug"): title and subtitle come to 1026 characters, Telegram allows 1024 in a photo's caption`},
		{"long title", each(func(c *campaign.Card) { c.Title = strings.Repeat("t", 4097) }), "message.cards.title", "title and subtitle come to 4108 characters, Telegram allows 4096 in a message"},
		{"bad image", each(func(c *campaign.Card) { c.Image = "mug.jpg" }), "message.cards.image", `"mug.jpg" is neither`},
		{"bad link", each(func(c *campaign.Card) { c.Link = "javascript:alert(1)" }), "message.cards.link", `card 2 ("Teapot & <lid>")`},
		{"callback too long", each(func(c *campaign.Card) { c.Buttons[0].Callback = strings.Repeat("é", 33) }), "message.cards.buttons.0.callback", "66 bytes, Telegram allows 64"},
		{"bad button url", each(func(c *campaign.Card) { c.Buttons[0] = campaign.Button{Text: "b", URL: "ftp://x"} }), "message.cards.buttons.0.url", "card 2"},
		{"buttons in an album", with(campaign.CardsAlbum, func(*campaign.Card) {}), "message.layout", "(cards 1, 2 have some): use layout: each"},
		{"album list too long", albumOf([]campaign.Card{{Title: strings.Repeat("a", 4000)}, {Title: strings.Repeat("b", 100)}}), "message.cards", "come to 4105 characters after rendering, Telegram allows 4096"},
		{"unknown layout", campaign.Message{Cards: shopCards(), CardLayout: "grid"}, "message.layout", `unknown layout "grid"`},
		{"media beside cards", campaign.Message{Cards: shopCards(), Media: []campaign.Media{{Kind: campaign.Image, URL: "https://a/1"}}}, "message.cards", "no media or buttons of its own"},
		{"buttons beside cards", campaign.Message{Cards: shopCards(), Buttons: []campaign.Button{{Text: "b", URL: "https://a"}}}, "message.cards", "no media or buttons of its own"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			probs := ch.Lint(tc.m)
			found := false
			for _, p := range probs {
				found = found || p.Field == tc.field && strings.Contains(p.Message, tc.words)
			}
			if !found {
				t.Fatalf("no problem at %s saying %q: %v", tc.field, tc.words, probs)
			}
			if _, err := ch.Prepare(campaign.Recipient{Address: "1"}, tc.m); !errors.Is(err, campaign.ErrInvalidMessage) {
				t.Fatalf("Prepare of an invalid message: %v", err)
			}
		})
	}
}

// TestCardBodiesFollowTheCards: a broadcast's bodies are built once per
// message and remembered, so two messages that differ only in their cards
// or layout must not share them.
func TestCardBodiesFollowTheCards(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, "http://127.0.0.1:1")
	bodies := func(m campaign.Message, to string) string {
		t.Helper()
		calls, err := ch.Prepare(campaign.Recipient{Address: to}, m)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, c := range calls {
			parts = append(parts, c.Method+" "+string(c.Body))
		}
		return strings.Join(parts, "\n")
	}
	base := campaign.Message{Text: "New", Cards: shopCards()}
	first := bodies(base, "42")
	seen := map[string]string{first: "base"}
	variants := map[string]func(*campaign.Message){
		"another link":     func(m *campaign.Message) { m.Cards[0].Link = "https://shop.example/p/cup" },
		"another subtitle": func(m *campaign.Message) { m.Cards[2].Subtitle = "€5.00" },
		"another image":    func(m *campaign.Message) { m.Cards[2].Image = "https://shop.example/img/plate.jpg" },
		"another button":   func(m *campaign.Message) { m.Cards[1].Buttons[0].Callback = "remind:pot" },
		"one card fewer":   func(m *campaign.Message) { m.Cards = m.Cards[:2] },
		"album": func(m *campaign.Message) {
			m.CardLayout = campaign.CardsAlbum
			m.Cards = []campaign.Card{{Title: "Mug"}}
		},
		"no cards": func(m *campaign.Message) { m.Cards = nil },
	}
	for name, change := range variants {
		m := base
		m.Cards = shopCards()
		change(&m)
		got := bodies(m, "42")
		if other, ok := seen[got]; ok {
			t.Errorf("%s: the same bodies as %s:\n%s", name, other, got)
		}
		seen[got] = name
	}
	// The same cards in the other layout.
	plain := campaign.Message{Text: "New", Cards: shopCards()}
	for i := range plain.Cards {
		plain.Cards[i].Buttons = nil
	}
	each := bodies(plain, "42")
	plain.CardLayout = campaign.CardsAlbum
	if album := bodies(plain, "42"); album == each || !strings.HasPrefix(album, "sendMediaGroup ") {
		t.Errorf("in the album layout the cards render as\n%s\nwant an album, not the each layout's\n%s", album, each)
	}
	// The same cards again: the remembered bodies, for another chat.
	if got := bodies(campaign.Message{Text: "New", Cards: shopCards()}, "42"); got != first {
		t.Errorf("the same message renders differently:\n%s\nthen\n%s", first, got)
	}
	other := bodies(base, "@shopnews")
	for _, line := range strings.Split(other, "\n") {
		if !strings.Contains(line, ` {"chat_id":"@shopnews",`) {
			t.Errorf("body for @shopnews: %s", line)
		}
	}
}
