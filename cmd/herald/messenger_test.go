package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldcli/herald/channels/sandbox"
)

// PSIDs of the example audience's Messenger subscribers.
const (
	psidGiulia = "7100000000000001"
	psidHannah = "7100000000000002"
	psidIvo    = "7100000000000003"
	psidJorge  = "7100000000000004"
	psidKenji  = "7100000000000005"
)

// messengerBundle is a workspace with the whole example audience, a sandbox
// whose clock can be set back, and herald serve's webhook running against
// the workspace (the demo's, which is serve's inbound handler).
type messengerBundle struct {
	*bundle
	ago  atomic.Int64 // the sandbox clock runs this far behind
	hook *demoInbound
}

// setupMessengerHook is for tests about campaigns: the workspace has no
// automations, so the sandbox's message log holds campaign messages only.
func setupMessengerHook(t *testing.T, opts sandbox.Options) *messengerBundle {
	t.Helper()
	return setupMessengerHookWith(t, opts, false)
}

func setupMessengerHookWith(t *testing.T, opts sandbox.Options, automations bool) *messengerBundle {
	t.Helper()
	mb := &messengerBundle{}
	opts.Now = func() time.Time { return time.Now().Add(-time.Duration(mb.ago.Load())) }
	opts.Messenger.AppSecret = testAppSecret
	mb.bundle = setupMessenger(t, opts)
	if !automations {
		mb.withoutAutomations(t)
	}
	mb.importAudience(t)
	io, _, _ := TestStreams("", mb.envWith(nil))
	hook, err := startDemoInbound(context.Background(), io, mb.sb)
	if err != nil {
		t.Fatal(err)
	}
	// The sandbox signs with the app secret the workspace is configured with.
	mb.sb.SetMessengerWebhook(hookURL(hook), testAppSecret)
	t.Cleanup(hook.stop)
	mb.hook = hook
	return mb
}

// withoutAutomations removes the automations section (the example's last)
// from herald.yaml.
func (b *bundle) withoutAutomations(t *testing.T) {
	t.Helper()
	y, err := os.ReadFile(b.path("herald.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(y), "\nautomations:")
	if i < 0 {
		t.Fatal("herald.yaml has no automations section")
	}
	b.write(t, "herald.yaml", string(y[:i+1]))
}

func hookURL(d *demoInbound) string { return "http://" + d.addr + "/webhooks/messenger" }

// inject has the sandbox post ev, as if it happened ago, and waits until
// herald recorded it.
func (mb *messengerBundle) inject(t *testing.T, ago time.Duration, ev sandbox.MessengerEvent) {
	t.Helper()
	mb.ago.Store(int64(ago))
	defer mb.ago.Store(0)
	if err := mb.hook.inject(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
}

type routeRow struct {
	Channel   string `json:"channel"`
	Route     string `json:"route"`
	Targeted  int    `json:"targeted"`
	Sent      int    `json:"sent"`
	Delivered int    `json:"delivered"`
	Read      int    `json:"read"`
	Failed    int    `json:"failed"`
	Skipped   int    `json:"skipped"`
}

type routedSummary struct {
	summary
	Routes []routeRow `json:"routes"`
}

func routesOf(s routedSummary) map[string]routeRow {
	out := map[string]routeRow{}
	for _, r := range s.Routes {
		out[r.Channel+"/"+r.Route] = r
	}
	return out
}

// TestMessengerMixedAudience sends the example campaign to Telegram and
// Messenger subscribers: each Messenger subscriber by the first route Meta
// allows, or skipped with the reason; receipts move deliveries on.
func TestMessengerMixedAudience(t *testing.T) {
	t.Parallel()
	mb := setupMessengerHook(t, sandbox.Options{})
	mb.inject(t, 0, sandbox.MessengerEvent{PSID: psidGiulia, Type: "message", Text: "hi"})
	mb.inject(t, 2*time.Hour, sandbox.MessengerEvent{PSID: psidHannah, Type: "postback", Payload: "GET_STARTED"})
	mb.inject(t, 24*time.Hour+time.Minute, sandbox.MessengerEvent{PSID: psidIvo, Type: "message", Text: "old"})
	mb.inject(t, 3*24*time.Hour, sandbox.MessengerEvent{PSID: psidKenji, Type: "optin", Payload: "weekly", Timezone: "Europe/Rome"})
	// Jorge never wrote. Hannah has since become unavailable to the page.
	u, _ := mb.sb.MessengerUser(psidHannah)
	u.Unavailable = true
	mb.sb.SetMessengerUser(psidHannah, u)

	dry := decode[struct {
		Routes   []routeCount   `json:"routes"`
		Excluded []routeCount   `json:"excluded"`
		Counts   map[string]int `json:"counts"`
	}](t, mb.must(t, 0, "campaign", "send", "blog-digest", "--dry-run", "--output", "json").stdout)
	got := map[string]int{}
	for _, r := range dry.Routes {
		got[r.Channel+"/"+r.Route] = r.Count
	}
	if got["messenger/standard"] != 2 || got["messenger/recurring"] != 1 || got["telegram/bot"] != 6 || dry.Counts["outside_window"] != 2 {
		t.Fatalf("dry run routes %v, counts %v; want standard 2, recurring 1, bot 6, outside_window 2", got, dry.Counts)
	}
	if len(mb.sb.Messages()) != 0 {
		t.Fatal("the dry run sent something")
	}

	s := decode[routedSummary](t, mb.must(t, 0, "campaign", "send", "blog-digest", "--yes", "--output", "json").stdout)
	rs := routesOf(s)
	if r := rs["messenger/standard"]; r.Targeted != 2 || r.Sent != 1 || r.Failed != 1 {
		t.Errorf("standard route: %+v, want Giulia sent and Hannah failed (unavailable)", r)
	}
	if r := rs["messenger/recurring"]; r.Sent != 1 {
		t.Errorf("recurring route: %+v, want Kenji sent", r)
	}
	if r := rs["messenger/none"]; r.Skipped != 2 {
		t.Errorf("no route: %+v, want Ivo and Jorge skipped", r)
	}
	if r := rs["telegram/bot"]; r.Sent != 6 {
		t.Errorf("telegram: %+v", r)
	}
	perPSID := map[string][]sandbox.Message{}
	for _, m := range mb.sb.Messages() {
		if m.Channel == "messenger" {
			perPSID[m.Chat] = append(perPSID[m.Chat], m)
		}
	}
	if len(perPSID) != 2 || len(perPSID[psidIvo]) != 0 || len(perPSID[psidJorge]) != 0 {
		t.Fatalf("messenger recipients: %v", perPSID)
	}
	for _, m := range perPSID[psidGiulia] {
		if m.Route != "standard" || m.MessagingType != "UPDATE" {
			t.Errorf("Giulia got %+v, want standard/UPDATE", m)
		}
	}
	if k := perPSID[psidKenji]; len(k) != 1 || k[0].Route != "recurring" {
		t.Errorf("Kenji got %+v, want one recurring notification", k)
	}
	// Hannah is blocked now: never messaged again.
	list := decode[[]struct {
		Address string `json:"address"`
		Status  string `json:"status"`
	}](t, mb.must(t, 0, "audience", "list", "--output", "json").stdout)
	for _, x := range list {
		if x.Address == psidHannah && x.Status != "blocked" {
			t.Errorf("Hannah after code 551: %s, want blocked", x.Status)
		}
	}

	// Receipts: Giulia's delivery watermark, then her read; a duplicate
	// webhook is harmless.
	mb.inject(t, 0, sandbox.MessengerEvent{PSID: psidGiulia, Type: "delivery"})
	mb.inject(t, 0, sandbox.MessengerEvent{PSID: psidGiulia, Type: "delivery"})
	if r := routesOf(decode[routedSummary](t, mb.must(t, 0, "report", fmt.Sprint(s.RunID), "--output", "json").stdout))["messenger/standard"]; r.Delivered != 1 || r.Read != 0 {
		t.Errorf("after the delivery receipt: %+v", r)
	}
	mb.inject(t, 0, sandbox.MessengerEvent{PSID: psidGiulia, Type: "read"})
	if r := routesOf(decode[routedSummary](t, mb.must(t, 0, "report", fmt.Sprint(s.RunID), "--output", "json").stdout))["messenger/standard"]; r.Delivered != 1 || r.Read != 1 || r.Sent != 1 {
		t.Errorf("after the read receipt: %+v", r)
	}
}

// TestMessengerWindowCorrected: when Meta says the window closed (code
// 10/2018278) herald skips the delivery and records the window as closed.
func TestMessengerWindowCorrected(t *testing.T) {
	t.Parallel()
	mb := setupMessengerHook(t, sandbox.Options{})
	mb.inject(t, 0, sandbox.MessengerEvent{PSID: psidGiulia, Type: "message", Text: "hi"})
	// The sandbox (Meta) knows better: her last interaction is old.
	mb.sb.SetMessengerUser(psidGiulia, sandbox.MessengerUser{LastInteraction: time.Now().Add(-30 * time.Hour)})
	mb.write(t, "campaigns/sale.yaml", "channels: [messenger]\nmode: static\nmessage:\n  text: Sale today\n")
	s := decode[routedSummary](t, mb.must(t, 0, "campaign", "send", "sale", "--yes", "--output", "json").stdout)
	if r := routesOf(s)["messenger/standard"]; r.Skipped != 1 || r.Sent != 0 {
		t.Fatalf("standard route: %+v, want skipped", r)
	}
	if len(mb.sb.Messages()) != 0 {
		t.Fatal("the sandbox accepted a message outside the window")
	}
	// The next campaign does not even try.
	mb.write(t, "campaigns/sale2.yaml", "channels: [messenger]\nmode: static\nmessage:\n  text: Sale tomorrow\n")
	dry := mb.must(t, 0, "campaign", "send", "sale2", "--dry-run").stdout
	if !strings.Contains(dry, "skipped: outside_window  5") {
		t.Errorf("after the correction, the dry run should skip everyone:\n%s", dry)
	}
}

// TestMessengerRateLimitCodes: past the Page's rate Meta answers code 613;
// herald pauses the Page and retries, and everyone gets the message once.
func TestMessengerRateLimitCodes(t *testing.T) {
	t.Parallel()
	mb := setupMessengerHook(t, sandbox.Options{Messenger: sandbox.MessengerOptions{Rate: 20}})
	var subs strings.Builder
	subs.WriteString("channel,address,consent_at,consent_source\n")
	for i := range 30 {
		fmt.Fprintf(&subs, "messenger,72000000000%05d,2026-01-01T00:00:00Z,messenger_optin\n", i)
	}
	mb.write(t, "many.csv", subs.String())
	mb.must(t, 0, "audience", "import", mb.path("many.csv"))
	for i := range 30 {
		mb.inject(t, 0, sandbox.MessengerEvent{PSID: fmt.Sprintf("72000000000%05d", i), Type: "message", Text: "hi"})
	}
	mb.write(t, "campaigns/burst.yaml", "channels: [messenger]\naudience: {tags_none: [blog]}\nmode: static\nmessage:\n  text: Hello\n")
	r := mb.heraldEnv(t, map[string]string{"HERALD_MESSENGER_RATE": "300", "HERALD_MESSENGER_RATE_LIMIT_PAUSE": "100ms"},
		"campaign", "send", "burst", "--yes", "--output", "json")
	if r.code != 0 {
		t.Fatalf("send: %s", r)
	}
	s := decode[routedSummary](t, r.stdout)
	if rr := routesOf(s)["messenger/standard"]; rr.Sent != 30 {
		t.Fatalf("sent %+v, want all 30", rr)
	}
	limited := 0
	for _, q := range mb.sb.Requests() {
		if strings.Contains(q.Description, "(#613)") {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("the sandbox never answered 613: the test did not exercise the rate limit")
	}
	if n := len(chatsOnce(t, mb.sb.Messages())); n != 30 {
		t.Fatalf("%d recipients", n)
	}
}

// TestServeMessengerWebhook runs herald serve and talks to it as Meta does.
func TestServeMessengerWebhook(t *testing.T) {
	t.Parallel()
	b := setupMessenger(t)
	b.importAudience(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() { done <- b.heraldCtx(ctx, t, nil, "serve", "--addr", addr) }()
	base := "http://" + addr
	eventually(t, 5*time.Second, "serve answers /healthz", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz: %d", code)
	}
	if code, body := get("/webhooks/messenger?hub.mode=subscribe&hub.verify_token=" + testVerifyToken + "&hub.challenge=c42"); code != 200 || body != "c42" {
		t.Errorf("verification: %d %q", code, body)
	}
	if code, _ := get("/webhooks/messenger?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=c42"); code != 403 {
		t.Errorf("verification with a wrong token: %d, want 403", code)
	}
	body := `{"object":"page","entry":[{"id":"1","time":1,"messaging":[{"sender":{"id":"` + psidJorge +
		`"},"recipient":{"id":"1"},"timestamp":` + fmt.Sprint(time.Now().UnixMilli()) + `,"message":{"mid":"m_1","text":"hi"}}]}]}`
	post := func(secret string, body string) int {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(body))
		req, _ := http.NewRequest("POST", base+"/webhooks/messenger", strings.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("forged", body); code != 403 {
		t.Errorf("forged signature: %d, want 403", code)
	}
	if code := post(testAppSecret, body); code != 200 {
		t.Errorf("signed event: %d, want 200", code)
	}
	eventually(t, 5*time.Second, "Jorge's window opens", func() bool {
		list := decode[[]struct {
			Address     string `json:"address"`
			WindowUntil string `json:"window_until"`
		}](t, b.must(t, 0, "audience", "list", "--output", "json").stdout)
		for _, x := range list {
			if x.Address == psidJorge {
				return x.WindowUntil != ""
			}
		}
		return false
	})
	cancel()
	select {
	case r := <-done:
		if r.code != 0 || !strings.Contains(r.stderr, "stopped") {
			t.Errorf("serve after SIGTERM: %s", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestMessengerLifecycle: on Messenger, Get Started through an m.me link
// subscribes with the link's tags and sends the welcome, a message gets the
// default reply once, a stop keyword the goodbye once, and nothing follows.
func TestMessengerLifecycle(t *testing.T) {
	t.Parallel()
	mb := setupMessengerHookWith(t, sandbox.Options{}, true)
	mb.must(t, 0, "audience", "link", "--channel", "messenger", "--source", "flyer", "--tag", "print")
	const psid = "7100000000000099" // someone new
	mb.sb.SetMessengerUser(psid, sandbox.MessengerUser{})
	mb.inject(t, 0, sandbox.MessengerEvent{PSID: psid, Type: "postback", Payload: getStartedPayload, Title: "Get Started", Ref: "flyer"})
	mb.inject(t, 0, sandbox.MessengerEvent{PSID: psid, Type: "message", Text: "do you ship to Lisbon?"})
	mb.inject(t, 0, sandbox.MessengerEvent{PSID: psid, Type: "message", Text: "hello?"})
	mb.inject(t, 0, sandbox.MessengerEvent{PSID: psid, Type: "message", Text: "Stop"})
	mb.inject(t, 0, sandbox.MessengerEvent{PSID: psid, Type: "message", Text: "one more thing"})
	var got []string
	for _, m := range mb.sb.Messages() {
		if m.Channel == "messenger" && m.Chat == psid {
			got = append(got, m.Text)
		}
	}
	if len(got) != 3 || !strings.HasPrefix(got[0], "Hi there, welcome aboard!") ||
		!strings.HasPrefix(got[1], "Thanks for your message!") || !strings.HasPrefix(got[2], "You're unsubscribed") {
		t.Fatalf("messages to %s:\n%s", psid, strings.Join(got, "\n---\n"))
	}
	sub, ok := mb.subscriber(t, psid)
	if !ok || sub.Status != "unsubscribed" || sub.Consent.Source != "messenger_get_started" || sub.Consent.Ref != "flyer" ||
		!slices.Equal(sub.Tags, []string{"print"}) {
		t.Fatalf("subscriber: %+v (found %v)", sub, ok)
	}
}
