package lifecycle_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/audience/lifecycle"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/sandbox"
	"github.com/heraldcli/herald/channels/telegram"
	"github.com/heraldcli/herald/store/sqlite"
)

const token = "777:lifecycle-test"

type fixture struct {
	h   *lifecycle.Handler
	st  *sqlite.Store
	sb  *sandbox.Server
	now time.Time
	seq int
}

func reply(t *testing.T, name, text string) *campaign.Reply {
	t.Helper()
	r, err := campaign.NewReply("herald.yaml", name, nil, campaign.MessageSpec{Text: text}, []string{"telegram"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	sb, st, tg := start(t, sandbox.Options{})
	h := &lifecycle.Handler{Store: st, Channels: map[string]campaign.Channel{"telegram": tg}, Replies: lifecycle.Replies{
		Welcome:      reply(t, "welcome", "Welcome, {{ .Subscriber.Name }}! Tags: {{ join \",\" .Subscriber.Tags }}"),
		Goodbye:      reply(t, "goodbye", "Goodbye"),
		Default:      reply(t, "default_reply", "We'll answer soon"),
		DefaultEvery: 24 * time.Hour,
		StopKeywords: []string{"ARRÊT"},
	}}
	return &fixture{h: h, st: st, sb: sb, now: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
}

// start starts a sandbox with opts and opens a store and a Telegram channel
// on it, all closed with the test.
func start(t *testing.T, opts sandbox.Options) (*sandbox.Server, *sqlite.Store, *telegram.Channel) {
	t.Helper()
	sb := sandbox.New(opts)
	url, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tg, err := telegram.New(telegram.Config{Token: token, APIURL: url})
	if err != nil {
		t.Fatal(err)
	}
	return sb, st, tg
}

// event handles one event from chat 1001, each with a new key unless key is given.
func (f *fixture) event(t *testing.T, kind lifecycle.Kind, text, payload string, key ...string) lifecycle.Result {
	t.Helper()
	f.seq++
	f.now = f.now.Add(time.Minute)
	ev := lifecycle.Event{Kind: kind, Channel: "telegram", Address: "1001", Key: "777:" + string(rune('a'+f.seq)), At: f.now,
		Text: text, Payload: payload, Consent: "telegram_start", Name: "Ada", Locale: "it"}
	if len(key) > 0 {
		ev.Key = key[0]
	}
	res, err := f.h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (f *fixture) texts() []string {
	var out []string
	for _, m := range f.sb.Messages() {
		out = append(out, strings.SplitN(m.Plain, "!", 2)[0])
	}
	return out
}

func TestLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.st.SaveLink(ctx, audience.Link{Channel: "telegram", Payload: "spring", Source: "spring", Tags: []string{"promo"}, CreatedAt: f.now}); err != nil {
		t.Fatal(err)
	}
	if r := f.event(t, lifecycle.Start, "/start spring", "spring", "dup"); r.Action != "subscribed" || r.Sent != "welcome" {
		t.Fatalf("start: %+v", r)
	}
	// Telegram delivers the same update again: nothing happens.
	if r := f.event(t, lifecycle.Start, "/start spring", "spring", "dup"); r.Action != "duplicate" || r.Sent != "" {
		t.Fatalf("duplicate start: %+v", r)
	}
	sub, err := f.st.Subscriber(ctx, "telegram", "1001")
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != audience.Subscribed || !slices.Equal(sub.Tags, []string{"promo"}) || sub.Consent.Source != "telegram_start" || sub.Consent.Ref != "spring" {
		t.Fatalf("subscriber after start: %+v", sub)
	}
	// Two stray messages in a day: one default reply.
	if r := f.event(t, lifecycle.Message, "hello?", ""); r.Sent != "default_reply" {
		t.Fatalf("first message: %+v", r)
	}
	if r := f.event(t, lifecycle.Message, "anyone?", ""); r.Sent != "" {
		t.Fatalf("second message: %+v", r)
	}
	// A stop keyword of the workspace, in another case: unsubscribed, goodbye once.
	if r := f.event(t, lifecycle.Message, "  arrêt! ", ""); r.Action != "unsubscribed" || r.Sent != "goodbye" {
		t.Fatalf("stop keyword: %+v", r)
	}
	if r := f.event(t, lifecycle.Stop, "/stop", ""); r.Action != "unsubscribed" || r.Sent != "" {
		t.Fatalf("second stop: %+v", r)
	}
	// Nothing after the goodbye, whatever they write.
	f.now = f.now.Add(48 * time.Hour)
	if r := f.event(t, lifecycle.Message, "hello again", ""); r.Sent != "" {
		t.Fatalf("message after goodbye: %+v", r)
	}
	// Blocked: no message; unblocking alone does not re-subscribe.
	if r := f.event(t, lifecycle.Blocked, "", ""); r.Action != "blocked" || r.Sent != "" {
		t.Fatalf("block: %+v", r)
	}
	if r := f.event(t, lifecycle.Unblocked, "", ""); r.Action != "ignored" {
		t.Fatalf("unblock: %+v", r)
	}
	if sub, _ := f.st.Subscriber(ctx, "telegram", "1001"); sub.Status != audience.Blocked {
		t.Fatalf("after unblock: %s", sub.Status)
	}
	// A new /start with a hand-made payload: back, tagged with it.
	if r := f.event(t, lifecycle.Start, "/start blog", "blog"); r.Action != "resubscribed" || r.Sent != "welcome" {
		t.Fatalf("re-start: %+v", r)
	}
	if sub, _ := f.st.Subscriber(ctx, "telegram", "1001"); !slices.Equal(sub.Tags, []string{"blog", "promo"}) {
		t.Fatalf("tags after re-start: %v", sub.Tags)
	}
	want := []string{"Welcome, Ada", "We'll answer soon", "Goodbye", "Welcome, Ada"}
	if got := f.texts(); !slices.Equal(got, want) {
		t.Fatalf("messages sent:\n%q\nwant\n%q", got, want)
	}
}

// A reply to someone who blocked the bot meanwhile marks them blocked.
func TestReplyToBlockedMarksBlocked(t *testing.T) {
	f := newFixture(t)
	f.sb.SetChat("1001", sandbox.ChatBlocked)
	r := f.event(t, lifecycle.Start, "/start", "")
	if r.Sent != "" || r.SendError == nil {
		t.Fatalf("start to a blocked chat: %+v", r)
	}
	sub, err := f.st.Subscriber(context.Background(), "telegram", "1001")
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != audience.Blocked {
		t.Fatalf("status %s", sub.Status)
	}
}

// A person who never started and writes: no reply, nothing recorded about them.
func TestStrangerGetsNothing(t *testing.T) {
	f := newFixture(t)
	if r := f.event(t, lifecycle.Message, "hi", ""); r.Action != "unknown_person" || r.Sent != "" {
		t.Fatalf("stranger: %+v", r)
	}
	if r := f.event(t, lifecycle.Stop, "/stop", ""); r.Action != "unknown_person" || r.Sent != "" {
		t.Fatalf("stranger stop: %+v", r)
	}
	if n := len(f.sb.Messages()); n != 0 {
		t.Fatalf("%d messages sent", n)
	}
}

// PayloadRE is Telegram's deep-link rule (core.telegram.org/bots/features#deep-linking).
func TestPayloadRE(t *testing.T) {
	for s, want := range map[string]bool{
		"a": true, "blog-2026_spring": true, strings.Repeat("Z9", 32): true, "-_-": true,
		"": false, strings.Repeat("a", 65): false, "a b": false, "a+b": false, "a=b": false,
		"été": false, "a.b": false, "a/b": false, "%20": false, "a\n": false,
	} {
		if got := lifecycle.PayloadRE.MatchString(s); got != want {
			t.Errorf("PayloadRE.MatchString(%q) = %v, want %v", s, got, want)
		}
	}
}
