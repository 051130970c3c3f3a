package messenger

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign"
)

var now = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func newTest(t *testing.T, cfg Config) *Channel {
	t.Helper()
	if cfg.PageID == "" {
		cfg.PageID = "100000000000001"
	}
	cfg.PageToken = "page-token"
	cfg.Now = func() time.Time { return now }
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// shape summarises a call body as "messaging_type/tag: kinds", e.g.
// "UPDATE: text" or "UPDATE: template:generic[1]".
func shape(t *testing.T, calls []campaign.Call) []string {
	t.Helper()
	var out []string
	for _, c := range calls {
		var b struct {
			MessagingType string `json:"messaging_type"`
			Message       struct {
				Text       string `json:"text"`
				Attachment *struct {
					Type    string `json:"type"`
					Payload struct {
						TemplateType string            `json:"template_type"`
						Elements     []json.RawMessage `json:"elements"`
						Buttons      []json.RawMessage `json:"buttons"`
					} `json:"payload"`
				} `json:"attachment"`
				QuickReplies []json.RawMessage `json:"quick_replies"`
			} `json:"message"`
		}
		if err := json.Unmarshal(c.Body, &b); err != nil {
			t.Fatal(err)
		}
		s := "text"
		if a := b.Message.Attachment; a != nil {
			s = a.Type
			if a.Type == "template" {
				s += ":" + a.Payload.TemplateType
				if n := len(a.Payload.Elements); n > 0 {
					s += strings.Repeat("+", n-1)
				}
				if len(a.Payload.Buttons) > 0 {
					s += "*"
				}
			}
		}
		if len(b.Message.QuickReplies) > 0 {
			s += "+qr"
		}
		if c.Slow {
			s += " (slow)"
		}
		out = append(out, s)
	}
	return out
}

var standard = campaign.Recipient{Address: "7100000000000001", Route: campaign.RouteStandard, WindowUntil: now.Add(time.Hour)}

func TestRenderFewestMessages(t *testing.T) {
	long := "**New on the blog**\n" + strings.Repeat("a post worth reading ", 40)
	url := campaign.Button{Text: "Read", URL: "https://blog.example.com/"}
	img := []campaign.Media{{Kind: campaign.Image, URL: "https://blog.example.com/a.jpg"}}
	cases := []struct {
		name string
		m    campaign.Message
		want string
	}{
		{"text", campaign.Message{Text: "Hello *there*"}, "text"},
		{"text and buttons", campaign.Message{Text: "Hello", Buttons: []campaign.Button{url}}, "template:button*"},
		{"long text and buttons", campaign.Message{Text: long, Buttons: []campaign.Button{url}}, "text|template:button*"},
		{"image card", campaign.Message{Text: "Sale\n-20% on everything", Media: img, Buttons: []campaign.Button{url}}, "template:generic"},
		{"long text, image, buttons", campaign.Message{Text: long, Media: img, Buttons: []campaign.Button{url}}, "text|template:generic"},
		{"long text and image", campaign.Message{Text: long, Media: img}, "image|text"},
		{"image alone", campaign.Message{Media: img}, "image"},
		{"video", campaign.Message{Text: "Watch", Media: []campaign.Media{{Kind: campaign.Video, URL: "https://x.example/v.mp4"}}}, "video (slow)|text"},
		{"gallery", campaign.Message{Text: "Three", Media: []campaign.Media{
			{Kind: campaign.Image, URL: "https://x.example/1.jpg"}, {Kind: campaign.Image, URL: "https://x.example/2.jpg"},
			{Kind: campaign.Image, URL: "https://x.example/3.jpg"}}}, "template:generic++"},
		{"quick replies", campaign.Message{Text: long, Buttons: []campaign.Button{url}, QuickReplies: []campaign.Button{{Text: "Yes", Callback: "Y"}}},
			"text|template:button*+qr"},
	}
	c := newTest(t, Config{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
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
			for _, call := range calls {
				if call.Method != "100000000000001/messages" || call.Chat != standard.Address {
					t.Fatalf("call %s to %s", call.Method, call.Chat)
				}
				if !strings.Contains(string(call.Body), `"messaging_type":"UPDATE"`) {
					t.Fatalf("standard route body: %s", call.Body)
				}
			}
		})
	}
}

func TestRenderPlainTextKeepsLinks(t *testing.T) {
	c := newTest(t, Config{})
	calls, err := c.Prepare(standard, campaign.Message{Text: `**Hi** [our post](https://blog.example.com/a?x=1&y=2) \*literal\*`})
	if err != nil {
		t.Fatal(err)
	}
	var b sendBody
	json.Unmarshal(calls[0].Body, &b)
	if want := "Hi our post (https://blog.example.com/a?x=1&y=2) *literal*"; b.Message.Text != want {
		t.Fatalf("text %q, want %q", b.Message.Text, want)
	}
}

func TestLintLimits(t *testing.T) {
	c := newTest(t, Config{})
	var qr []campaign.Button
	for range 14 {
		qr = append(qr, campaign.Button{Text: "Yes", Callback: "Y"})
	}
	m := campaign.Message{
		Text:         strings.Repeat("é", 2001),
		Media:        []campaign.Media{{Kind: campaign.Image, URL: "AgACAgIAAxkBAAIB"}},
		Buttons:      []campaign.Button{{Text: "A button title that is too long", URL: "https://x.example/"}, {Text: "Go", Callback: strings.Repeat("p", 1001)}, {Text: "FTP", URL: "ftp://x.example/"}},
		QuickReplies: qr,
	}
	got := map[string]bool{}
	for _, p := range c.Lint(m) {
		got[p.Field] = true
	}
	for _, f := range []string{"message.text", "message.image", "message.buttons.0.text", "message.buttons.1.callback", "message.buttons.2.url", "message.quick_replies"} {
		if !got[f] {
			t.Errorf("no problem for %s (got %v)", f, got)
		}
	}
	if _, err := c.Prepare(standard, m); !errors.Is(err, campaign.ErrInvalidMessage) {
		t.Fatalf("Prepare of an invalid message: %v", err)
	}
}

func TestPrepareRoutes(t *testing.T) {
	m := campaign.Message{Text: strings.Repeat("long text ", 80), Media: []campaign.Media{{Kind: campaign.Image, URL: "https://x.example/1.jpg"}},
		Buttons: []campaign.Button{{Text: "Shop", URL: "https://shop.example/"}}}
	notAllowed := func(t *testing.T, err error, reason string) {
		t.Helper()
		var se *campaign.SendError
		if !errors.As(err, &se) || se.Kind != campaign.NotAllowed || se.Reason != reason {
			t.Fatalf("got %v, want NotAllowed %s", err, reason)
		}
	}
	c := newTest(t, Config{})
	t.Run("window edges", func(t *testing.T) {
		to := standard
		to.WindowUntil = now.Add(time.Minute) // last wrote 23h59m ago
		if _, err := c.Prepare(to, m); err != nil {
			t.Fatal(err)
		}
		to.WindowUntil = now.Add(-time.Minute) // 24h01m ago
		_, err := c.Prepare(to, m)
		notAllowed(t, err, campaign.ReasonOutsideWindow)
		to.WindowUntil = now
		_, err = c.Prepare(to, m)
		notAllowed(t, err, campaign.ReasonOutsideWindow)
	})
	t.Run("tag", func(t *testing.T) {
		calls, err := c.Prepare(campaign.Recipient{Address: "7", Route: campaign.RouteTag, Tag: "ACCOUNT_UPDATE"}, m)
		if err != nil {
			t.Fatal(err)
		}
		for _, call := range calls {
			if !strings.Contains(string(call.Body), `"messaging_type":"MESSAGE_TAG","tag":"ACCOUNT_UPDATE"`) {
				t.Fatalf("tag body: %s", call.Body)
			}
		}
	})
	t.Run("recurring is one message to the token", func(t *testing.T) {
		calls, err := c.Prepare(campaign.Recipient{Address: "7", Route: campaign.RouteRecurring, Token: "nmt_1"}, m)
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) != 1 || !strings.Contains(string(calls[0].Body), `"recipient":{"notification_messages_token":"nmt_1"}`) ||
			strings.Contains(string(calls[0].Body), "messaging_type") {
			t.Fatalf("recurring calls: %d, %s", len(calls), calls[0].Body)
		}
		if got := shape(t, calls); got[0] != "template:generic" {
			t.Fatalf("recurring shape %v, want the card", got)
		}
		_, err = c.Prepare(campaign.Recipient{Address: "7", Route: campaign.RouteRecurring}, m)
		notAllowed(t, err, "optin_stopped")
	})
	t.Run("marketing", func(t *testing.T) {
		_, err := c.Prepare(campaign.Recipient{Address: "7", Route: campaign.RouteMarketing, Token: "nmt_1"}, m)
		notAllowed(t, err, "no_route")
		mc := newTest(t, Config{AdAccountID: "act_42"})
		calls, err := mc.Prepare(campaign.Recipient{Address: "7", Route: campaign.RouteMarketing, Token: "nmt_1"}, m)
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) != 1 || calls[0].Method != "act_42/messages" || !strings.Contains(string(calls[0].Body), `"page_id":"100000000000001"`) {
			t.Fatalf("marketing call %s: %s", calls[0].Method, calls[0].Body)
		}
	})
	t.Run("not a messenger route", func(t *testing.T) {
		if _, err := c.Prepare(campaign.Recipient{Address: "7", Route: campaign.RouteBot}, m); !errors.Is(err, campaign.ErrInvalidMessage) {
			t.Fatalf("bot route: %v", err)
		}
	})
}

func TestClassify(t *testing.T) {
	cases := []struct {
		code, sub int
		transient bool
		kind      campaign.ErrKind
		reason    string
	}{
		{4, 0, false, campaign.RateLimited, "rate_limited"},
		{32, 0, false, campaign.RateLimited, "rate_limited"},
		{613, 0, false, campaign.RateLimited, "rate_limited"},
		{10, 2018278, false, campaign.NotAllowed, "outside_window"},
		{10, 2018065, false, campaign.Rejected, "not_allowed"},
		{551, 1545041, false, campaign.RecipientBlocked, "blocked"},
		{2, 0, true, campaign.Retryable, "unexpected_error"},
		{100, 0, false, campaign.Rejected, "invalid"},
		{100, 2018001, false, campaign.RecipientInvalid, "user_not_found"},
		{190, 0, false, campaign.Fatal, "invalid_token"},
		{200, 0, false, campaign.Fatal, "permission"},
		{230, 0, false, campaign.Fatal, "permission"},
		{1, 0, false, campaign.Retryable, "server_error"},
		{12345, 0, false, campaign.Rejected, "rejected"},
	}
	for _, tc := range cases {
		e := classify(tc.code, tc.sub, "Meta's words", tc.transient, 30*time.Second)
		if e.Kind != tc.kind || e.Reason != tc.reason {
			t.Errorf("code %d/%d: %v %s, want %v %s", tc.code, tc.sub, e.Kind, e.Reason, tc.kind, tc.reason)
		}
		if e.Kind == campaign.RateLimited && e.RetryAfter != 30*time.Second {
			t.Errorf("code %d: retry after %v", tc.code, e.RetryAfter)
		}
		if tc.code == 2 && e.MaxRetries != 1 {
			t.Errorf("code 2 retries %d times, want once", e.MaxRetries)
		}
		if !strings.Contains(e.Error(), "Meta's words") {
			t.Errorf("code %d: error %q lost Meta's message", tc.code, e.Error())
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{APIURL: "graph.facebook.com"},
		{APIVersion: "25"},
		{PageID: "my-page"},
		{AdAccountID: "act_abc"},
		{Rate: 301},
		{PageToken: "has space"},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
	c, _ := New(Config{})
	if err := c.Ready(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "HERALD_MESSENGER_PAGE_TOKEN") {
		t.Fatalf("Ready without a page: %v", err)
	}
}

func TestLegacyRegion(t *testing.T) {
	for tz, want := range map[string]bool{"Europe/Rome": true, "Europe/London": true, "Australia/Sydney": true, "Asia/Tokyo": true,
		"Asia/Seoul": true, "Europe/Zurich": false, "America/New_York": false, "": false, "Europe/Oslo": false} {
		if LegacyRegion(tz) != want {
			t.Errorf("LegacyRegion(%q) = %v", tz, !want)
		}
	}
}
