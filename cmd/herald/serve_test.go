package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/channels/sandbox"
)

// served is a herald serve running in-process.
type served struct {
	t      *testing.T
	addr   string
	cancel context.CancelFunc
	done   chan int
	stderr *SyncBuffer
	reload chan struct{} // SIGHUP
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serve starts herald serve with the bundle's environment plus extra and
// waits until it answers /healthz.
func (b *bundle) serve(t *testing.T, extra map[string]string) *served {
	t.Helper()
	return b.serveAt(t, freeAddr(t), extra)
}

// stop sends serve the equivalent of SIGTERM and returns its exit code.
func (s *served) stop() int {
	s.cancel()
	select {
	case code, ok := <-s.done:
		if ok {
			close(s.done)
			if code != 0 {
				s.t.Errorf("serve exited %d:\n%s", code, s.stderr.String())
			}
		}
		return code
	case <-time.After(20 * time.Second):
		s.t.Fatal("serve did not stop within 20s of its signal")
		return -1
	}
}

// sighup sends serve the equivalent of SIGHUP.
func (s *served) sighup() {
	s.t.Helper()
	select {
	case s.reload <- struct{}{}:
	case <-time.After(10 * time.Second):
		s.t.Fatal("serve did not take SIGHUP within 10s")
	}
}

// tg injects a Telegram event from chat into the sandbox.
func (b *bundle) tg(t *testing.T, ev sandbox.TelegramEvent) sandbox.TelegramInjectResult {
	t.Helper()
	if ev.Bot == "" {
		ev.Bot = strings.SplitN(testToken, ":", 2)[0]
	}
	res, err := b.sb.InjectTelegram(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// textsTo is what the bot sent chat, in order, as the person reads it.
func (b *bundle) textsTo(chat string) []string {
	var out []string
	for _, m := range b.sb.Messages() {
		if m.Channel == "telegram" && m.Chat == chat {
			out = append(out, m.Plain)
		}
	}
	return out
}

func countPrefix(texts []string, prefix string) int {
	n := 0
	for _, s := range texts {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

type subscriberJSON struct {
	Channel string   `json:"channel"`
	Address string   `json:"address"`
	Name    string   `json:"name"`
	Locale  string   `json:"locale"`
	Tags    []string `json:"tags"`
	Status  string   `json:"status"`
	Consent struct {
		Source string `json:"source"`
		Ref    string `json:"ref"`
		Proof  string `json:"proof"`
	} `json:"consent"`
}

func (b *bundle) subscriber(t *testing.T, addr string) (subscriberJSON, bool) {
	t.Helper()
	for _, s := range decode[[]subscriberJSON](t, b.must(t, 0, "audience", "list", "--output", "json").stdout) {
		if s.Address == addr {
			return s, true
		}
	}
	return subscriberJSON{}, false
}

// TestServeTelegramLifecycle drives herald serve's Telegram polling through
// the sandbox: /start with a payload, a duplicate update, stray messages,
// /stop, a block, a malformed update and a restart.
func TestServeTelegramLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.serve(t, nil)
	const ada = "5001"
	from := &sandbox.TelegramUser{FirstName: "Ada", LastName: "Lovelace", LanguageCode: "it"}

	start := b.tg(t, sandbox.TelegramEvent{Type: "message", ChatID: 5001, Text: "/start spring-promo", From: from})
	eventually(t, 10*time.Second, "the welcome", func() bool { return len(b.textsTo(ada)) == 1 })
	if got := b.textsTo(ada)[0]; !strings.HasPrefix(got, "Hi Ada Lovelace, welcome aboard!") {
		t.Errorf("welcome reads %q", got)
	}
	sub, ok := b.subscriber(t, ada)
	if !ok || sub.Status != "subscribed" || !slices.Equal(sub.Tags, []string{"spring-promo"}) || sub.Consent.Source != "telegram_start" ||
		sub.Consent.Ref != "spring-promo" || sub.Name != "Ada Lovelace" || sub.Locale != "it" ||
		!strings.Contains(sub.Consent.Proof, strconv.FormatInt(start.UpdateID, 10)) {
		t.Errorf("after /start: %+v (found %v)", sub, ok)
	}

	// Telegram delivers the /start again, then a stray message: the message
	// gets the default reply, the duplicate nothing.
	b.tg(t, sandbox.TelegramEvent{Type: "redeliver", UpdateID: start.UpdateID})
	b.tg(t, sandbox.TelegramEvent{Type: "message", ChatID: 5001, Text: "is there a discount?"})
	eventually(t, 10*time.Second, "the default reply", func() bool { return len(b.textsTo(ada)) >= 2 })
	b.tg(t, sandbox.TelegramEvent{Type: "message", ChatID: 5001, Text: "hello??"})
	// A malformed update is skipped; the /stop after it is applied.
	b.tg(t, sandbox.TelegramEvent{Type: "raw", Update: []byte(`{"message":{"chat":"not an object","text":42}}`)})
	b.tg(t, sandbox.TelegramEvent{Type: "message", ChatID: 5001, Text: "/stop"})
	eventually(t, 10*time.Second, "the goodbye", func() bool { return len(b.textsTo(ada)) >= 3 })
	b.tg(t, sandbox.TelegramEvent{Type: "message", ChatID: 5001, Text: "STOP"})
	b.tg(t, sandbox.TelegramEvent{Type: "message", ChatID: 5001, Text: "are you there?"})
	// Someone else blocks the bot after subscribing.
	const bo = "5002"
	b.tg(t, sandbox.TelegramEvent{Type: "message", ChatID: 5002, Text: "/start", From: &sandbox.TelegramUser{FirstName: "Bo"}})
	b.tg(t, sandbox.TelegramEvent{Type: "block", ChatID: 5002})
	eventually(t, 10*time.Second, "Bo blocked", func() bool {
		sub, _ := b.subscriber(t, bo)
		return sub.Status == "blocked"
	})
	texts := b.textsTo(ada)
	if len(texts) != 3 || countPrefix(texts, "Hi Ada") != 1 || countPrefix(texts, "Thanks for your message") != 1 ||
		countPrefix(texts, "You're unsubscribed") != 1 {
		t.Errorf("Ada got:\n%s", strings.Join(texts, "\n---\n"))
	}
	if sub, _ := b.subscriber(t, ada); sub.Status != "unsubscribed" {
		t.Errorf("Ada after /stop: %s", sub.Status)
	}
	if !strings.Contains(s.stderr.String(), "malformed update skipped") {
		t.Errorf("the malformed update was not logged:\n%s", s.stderr)
	}

	// A campaign now reaches neither Ada (stopped) nor Bo (blocked).
	b.importAudience(t)
	before := len(b.sb.Messages())
	b.must(t, 0, "campaign", "send", "announcement", "--yes")
	for _, m := range b.sb.Messages()[before:] {
		if m.Chat == ada || m.Chat == bo {
			t.Errorf("the campaign reached %s", m.Chat)
		}
	}

	// Restart: the poller resumes after the last update it handled, and
	// an update that came while it was down is handled once.
	s.stop()
	last := b.tg(t, sandbox.TelegramEvent{Type: "message", ChatID: 5003, Text: "/start", From: &sandbox.TelegramUser{FirstName: "Cy"}})
	b.tg(t, sandbox.TelegramEvent{Type: "redeliver", UpdateID: start.UpdateID})
	s2 := b.serve(t, nil)
	eventually(t, 10*time.Second, "Cy's welcome", func() bool { return len(b.textsTo("5003")) == 1 })
	if want := "offset=" + strconv.FormatInt(last.UpdateID, 10); !strings.Contains(s2.stderr.String(), want) {
		t.Errorf("the restarted poller did not resume at %s:\n%s", want, s2.stderr)
	}
	s2.stop()
	if n := len(b.textsTo(ada)); n != 3 {
		t.Errorf("Ada got %d messages after the restart, want 3", n)
	}
	if n := len(b.textsTo("5003")); n != 1 {
		t.Errorf("Cy got %d welcomes", n)
	}
}

// TestServeTelegramWebhook: with telegram.webhook_url herald sets the
// webhook with its secret, receives updates on it, and refuses a request
// without the secret.
func TestServeTelegramWebhook(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const secret = "whsec_0123456789abcdef"
	addr := freeAddr(t)
	extra := map[string]string{"HERALD_TELEGRAM_WEBHOOK_URL": "http://" + addr + "/webhooks/telegram", "HERALD_TELEGRAM_WEBHOOK_SECRET": secret}
	s := b.serveAt(t, addr, extra) // the address the webhook URL names
	info := b.sb.TelegramWebhook(strings.SplitN(testToken, ":", 2)[0])
	if info.URL != "http://"+addr+"/webhooks/telegram" || !info.HasSecretToken {
		t.Fatalf("webhook after serve started: %+v", info)
	}
	b.tg(t, sandbox.TelegramEvent{Type: "message", ChatID: 6001, Text: "/start blog"})
	eventually(t, 10*time.Second, "the welcome", func() bool { return len(b.textsTo("6001")) == 1 })
	post := func(header string) int {
		req, _ := http.NewRequest("POST", "http://"+addr+"/webhooks/telegram",
			strings.NewReader(`{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":6002,"type":"private"},"from":{"id":6002,"is_bot":false,"first_name":"X"},"text":"/start"}}`))
		if header != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("forged"); code != http.StatusForbidden {
		t.Errorf("forged secret: %d, want 403", code)
	}
	if code := post(""); code != http.StatusForbidden {
		t.Errorf("no secret: %d, want 403", code)
	}
	if _, ok := b.subscriber(t, "6002"); ok {
		t.Error("a forged update subscribed someone")
	}
	if strings.Contains(s.stderr.String(), secret) {
		t.Error("serve printed the webhook secret")
	}
}

// serveAt is serve on a given address.
func (b *bundle) serveAt(t *testing.T, addr string, extra map[string]string) *served {
	t.Helper()
	s := &served{t: t, addr: addr, done: make(chan int, 1), reload: make(chan struct{})}
	io, _, errOut := TestStreams("", b.envWith(extra))
	s.stderr, io.Reload = errOut, s.reload
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- run(ctx, []string{"serve", "--addr", s.addr, "--log-level", "info"}, io) }()
	eventually(t, 10*time.Second, "serve answers /healthz", func() bool {
		resp, err := http.Get("http://" + s.addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	t.Cleanup(func() { s.stop() })
	return s
}

// TestServeStopDuringSend: a /stop that arrives while a campaign is sending
// to the person stops their delivery; they get the goodbye and nothing after
// it.
func TestServeStopDuringSend(t *testing.T) {
	t.Parallel()
	b := setup(t)
	csv := "channel,address,name,locale,consent_at,consent_source\n"
	for i := 10; i <= 19; i++ {
		csv += fmt.Sprintf("telegram,2000000%d,Sub %d,it,2026-01-01T00:00:00Z,telegram_start\n", i, i)
	}
	b.must(t, 0, "audience", "import", b.write(t, "more.csv", csv))
	s := b.serve(t, nil)
	defer s.stop()
	// The announcement goes to the ten Italian speakers, one a second.
	done := make(chan result, 1)
	go func() {
		done <- b.heraldEnv(t, map[string]string{"HERALD_TELEGRAM_RATE": "1"}, "campaign", "send", "announcement", "--yes")
	}()
	eventually(t, 10*time.Second, "the send starts", func() bool { return len(b.sb.Messages()) > 0 })
	// Someone the campaign has not reached yet says /stop.
	target := ""
	for i := 19; i >= 10 && target == ""; i-- {
		if addr := fmt.Sprintf("2000000%d", i); len(b.textsTo(addr)) == 0 {
			target = addr
		}
	}
	id, _ := strconv.ParseInt(target, 10, 64)
	b.tg(t, sandbox.TelegramEvent{Type: "message", ChatID: id, Text: "/stop"})
	eventually(t, 10*time.Second, "the goodbye", func() bool { return countPrefix(b.textsTo(target), "You're unsubscribed") == 1 })
	select {
	case r := <-done:
		t.Fatalf("the send ended before the stop was applied; the test proves nothing:\n%s", r)
	default:
	}
	r := <-done
	if r.code != 0 {
		t.Fatalf("send: %s", r)
	}
	// Nothing of the campaign after the goodbye. (Had the campaign's message
	// left between the /stop and its processing, it would come before.)
	texts := b.textsTo(target)
	bye := slices.IndexFunc(texts, func(s string) bool { return strings.HasPrefix(s, "You're unsubscribed") })
	if bye != len(texts)-1 {
		t.Fatalf("%s got %q: nothing may follow the goodbye\nserve:\n%s", target, texts, s.stderr)
	}
	if bye == 0 && !strings.Contains(r.stdout, "unsubscribed") {
		t.Errorf("the report does not say who stopped:\n%s", r.stdout)
	}
}
