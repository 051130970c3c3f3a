package telegram_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldcli/herald/channels/telegram"
)

const hookSecret = "hook-Secret_0f4e9a7b21c3"

// syncLog is a goroutine-safe log sink.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// handled is one call of Handle.
type handled struct {
	u   telegram.Update
	err error
}

// hookBundle is what a webhook test needs: a Webhook behind a real HTTP server, what its
// Handle got, and its log.
type hookBundle struct {
	wh  *telegram.Webhook
	url string
	log *syncLog

	mu    sync.Mutex
	calls []handled
}

func (b *hookBundle) handled() []handled {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.calls)
}

// hookSetup starts a Webhook configured by cfg, with Secret (when empty), Log and a Handle
// that records its calls (then calls cfg.Handle, if any) filled in. The log must never hold
// the secret.
func hookSetup(t *testing.T, cfg telegram.WebhookConfig) *hookBundle {
	t.Helper()
	b := &hookBundle{log: &syncLog{}}
	if cfg.Secret == "" {
		cfg.Secret = hookSecret
	}
	handle := cfg.Handle
	cfg.Handle = func(ctx context.Context, u telegram.Update, err error) {
		b.mu.Lock()
		b.calls = append(b.calls, handled{u, err})
		b.mu.Unlock()
		if handle != nil {
			handle(ctx, u, err)
		}
	}
	cfg.Log = slog.New(slog.NewTextHandler(b.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b.wh = telegram.NewWebhook(cfg)
	srv := httptest.NewServer(b.wh)
	b.url = srv.URL + "/webhooks/telegram"
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.wh.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if strings.Contains(b.log.String(), cfg.Secret) {
			t.Errorf("the log holds the secret:\n%s", b.log.String())
		}
	})
	return b
}

// hookClient fails a test that the webhook does not answer in time rather than hang it.
var hookClient = &http.Client{Timeout: 10 * time.Second}

// post sends body with the secret token header set to secret (none when empty).
func (b *hookBundle) post(t *testing.T, body, secret string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return b.do(t, req, secret)
}

func (b *hookBundle) do(t *testing.T, req *http.Request, secret string) int {
	t.Helper()
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	res, err := hookClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// postGood posts body with the right secret, as Telegram does.
func (b *hookBundle) postGood(t *testing.T, body string) int {
	t.Helper()
	return b.post(t, body, hookSecret)
}

func (b *hookBundle) close(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.wh.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// TestWebhookHandsOverUpdates posts every real-world update: each is answered 200, and
// Handle gets, in order, all but the ignored ones, as ParseUpdate reads them.
func TestWebhookHandsOverUpdates(t *testing.T) {
	t.Parallel()
	b := hookSetup(t, telegram.WebhookConfig{})
	fixtures := updateFixtures(t)
	var want []handled
	for _, name := range slices.Sorted(maps.Keys(fixtures)) {
		if status := b.postGood(t, string(fixtures[name])); status != http.StatusOK {
			t.Errorf("%s: status %d, want 200", name, status)
		}
		u, err := telegram.ParseUpdate(fixtures[name])
		if err != nil {
			t.Fatal(err)
		}
		if u.Kind != telegram.UpdateIgnored {
			want = append(want, handled{u, nil})
		}
	}
	b.close(t)
	if got := b.handled(); !reflect.DeepEqual(got, want) {
		t.Errorf("Handle got\n%+v\nwant\n%+v", got, want)
	}
	if logged := b.log.String(); strings.Contains(logged, "Bonjour") || strings.Contains(logged, "Amélie") {
		t.Errorf("the log holds what people wrote:\n%s", logged)
	}
}

func TestWebhookRefusesWithoutTheSecret(t *testing.T) {
	t.Parallel()
	b := hookSetup(t, telegram.WebhookConfig{})
	body := `{"update_id":1,"message":{"message_id":1,"chat":{"id":42,"type":"private"},"date":1767225600,"text":"forged"}}`
	for name, secret := range map[string]string{
		"missing":          "",
		"wrong":            "hook-Secret_0f4e9a7b21c4",
		"with a suffix":    hookSecret + "x",
		"a prefix":         hookSecret[:len(hookSecret)-1],
		"another case":     strings.ToUpper(hookSecret),
		"the secret twice": hookSecret + hookSecret,
	} {
		if status := b.post(t, body, secret); status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, status)
		}
	}
	// Two headers, one of them right.
	req, _ := http.NewRequest(http.MethodPost, b.url, strings.NewReader(body))
	req.Header.Add("X-Telegram-Bot-Api-Secret-Token", "guess")
	req.Header.Add("X-Telegram-Bot-Api-Secret-Token", hookSecret)
	if status := b.do(t, req, ""); status != http.StatusForbidden {
		t.Errorf("two secret headers: status %d, want 403", status)
	}
	// Malformed, without the secret: refused before the body is looked at.
	if status := b.post(t, `not an update`, "guess"); status != http.StatusForbidden {
		t.Errorf("malformed body, wrong secret: status %d, want 403", status)
	}
	// Refused before a byte of the body is read: 100 MB declared, none sent.
	u, _ := url.Parse(b.url)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\nX-Telegram-Bot-Api-Secret-Token: guess\r\n\r\n", u.Path, u.Host)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("declared 100 MB, nothing sent: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("declared 100 MB, wrong secret: status %d, want 403", res.StatusCode)
	}
	b.close(t)
	if got := b.handled(); len(got) != 0 {
		t.Errorf("Handle called without the secret: %+v", got)
	}
	logged := b.log.String()
	if n := strings.Count(logged, `msg="telegram webhook: secret token refused"`); n != 9 {
		t.Errorf("%d refusals logged, want 9:\n%s", n, logged)
	}
	if strings.Contains(logged, "malformed") || strings.Contains(logged, "guess") || strings.Contains(logged, "forged") {
		t.Errorf("the log shows a refused request was read:\n%s", logged)
	}
}

func TestWebhookWithoutSecretRefusesEverything(t *testing.T) {
	t.Parallel()
	calls := 0
	wh := telegram.NewWebhook(telegram.WebhookConfig{Handle: func(context.Context, telegram.Update, error) { calls++ }})
	srv := httptest.NewServer(wh)
	t.Cleanup(srv.Close)
	for _, secret := range []string{"", "anything"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"update_id":1}`))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		res, err := hookClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("no Secret configured, header %q: status %d, want 403", secret, res.StatusCode)
		}
	}
	if err := wh.Close(context.Background()); err != nil || calls != 0 {
		t.Errorf("Close: %v; Handle called %d times", err, calls)
	}
}

func TestWebhookOtherMethods(t *testing.T) {
	t.Parallel()
	b := hookSetup(t, telegram.WebhookConfig{})
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		req, _ := http.NewRequest(method, b.url, strings.NewReader(`{"update_id":1}`))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hookSecret)
		res, err := hookClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != http.MethodPost {
			t.Errorf("%s: status %d, Allow %q; want 405 with Allow: POST", method, res.StatusCode, res.Header.Get("Allow"))
		}
	}
}

// TestWebhookMalformedUpdates: answered 200 (Telegram would retry them for hours), logged,
// and handed to Handle with their error and whatever ID could be read.
func TestWebhookMalformedUpdates(t *testing.T) {
	t.Parallel()
	b := hookSetup(t, telegram.WebhookConfig{})
	for _, body := range []string{
		`{"update_id":77,"message":{"chat":{"type":"private"},"text":"no chat id, secret plans"}}`,
		`not an update`,
		``,
	} {
		if status := b.postGood(t, body); status != http.StatusOK {
			t.Errorf("%q: status %d, want 200", body, status)
		}
	}
	b.close(t)
	got := b.handled()
	if len(got) != 3 || got[0].u != (telegram.Update{ID: 77}) || got[1].u != (telegram.Update{}) || got[2].u != (telegram.Update{}) {
		t.Fatalf("Handle got %+v", got)
	}
	for i, h := range got {
		if h.err == nil {
			t.Errorf("call %d: no error", i)
		}
	}
	logged := b.log.String()
	if n := strings.Count(logged, "malformed update"); n != 3 || !strings.Contains(logged, "update_id=77") {
		t.Errorf("%d malformed updates logged, want 3, the first with its update_id:\n%s", n, logged)
	}
	if strings.Contains(logged, "secret plans") {
		t.Errorf("the log holds the message:\n%s", logged)
	}
}

func TestWebhookOversizeBody(t *testing.T) {
	t.Parallel()
	const max = 512
	b := hookSetup(t, telegram.WebhookConfig{MaxBody: max})
	sized := func(n int) string {
		base := `{"update_id":5,"message":{"message_id":1,"chat":{"id":42,"type":"private"},"date":1767225600,"text":""}}`
		return strings.Replace(base, `"text":""`, `"text":"`+strings.Repeat("a", n-len(base))+`"`, 1)
	}
	at, over := sized(max), sized(max+1)
	if status := b.postGood(t, at); status != http.StatusOK {
		t.Errorf("%d bytes: status %d, want 200", len(at), status)
	}
	if status := b.postGood(t, over); status != http.StatusRequestEntityTooLarge {
		t.Errorf("%d bytes: status %d, want 413", len(over), status)
	}
	// Without Content-Length (chunked), the read itself is bounded.
	req, _ := http.NewRequest(http.MethodPost, b.url, io.MultiReader(strings.NewReader(over)))
	if status := b.do(t, req, hookSecret); status != http.StatusRequestEntityTooLarge {
		t.Errorf("%d bytes chunked: status %d, want 413", len(over), status)
	}
	b.close(t)
	if got := b.handled(); len(got) != 1 || got[0].err != nil {
		t.Errorf("Handle got %+v, want the one update that fits", got)
	}
}

// hookGate holds Handle until the test opens it (or Close gives up).
type hookGate struct {
	started chan struct{}
	open    chan struct{}
	once    sync.Once
}

func hookSetupGated(t *testing.T, cfg telegram.WebhookConfig) (*hookBundle, *hookGate) {
	t.Helper()
	g := &hookGate{started: make(chan struct{}, 100), open: make(chan struct{})}
	cfg.Handle = func(ctx context.Context, _ telegram.Update, _ error) {
		g.started <- struct{}{}
		select {
		case <-g.open:
		case <-ctx.Done():
		}
	}
	b := hookSetup(t, cfg)
	t.Cleanup(g.release) // runs before hookSetup's
	return b, g
}

func (g *hookGate) release() { g.once.Do(func() { close(g.open) }) }

func (g *hookGate) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("Handle was not called")
	}
}

func textUpdate(id int) string {
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"chat":{"id":42,"type":"private"},"date":1767225600,"text":"m%d"}}`, id, id, id)
}

const ignoredUpdate = `{"update_id":999,"edited_message":{"message_id":1,"chat":{"id":42,"type":"private"},"date":1767225600,"text":"x"}}`

func handledIDs(calls []handled) []int64 {
	var ids []int64
	for _, c := range calls {
		ids = append(ids, c.u.ID)
	}
	return ids
}

func TestWebhookQueueFullThenClosed(t *testing.T) {
	t.Parallel()
	b, gate := hookSetupGated(t, telegram.WebhookConfig{Queue: 1})
	if status := b.postGood(t, textUpdate(1)); status != http.StatusOK {
		t.Fatalf("1: status %d", status)
	}
	gate.waitStarted(t) // the worker holds 1; the queue is empty
	if status := b.postGood(t, textUpdate(2)); status != http.StatusOK {
		t.Fatalf("2: status %d", status)
	}
	if status := b.postGood(t, textUpdate(3)); status != http.StatusServiceUnavailable {
		t.Errorf("3, queue full: status %d, want 503", status)
	}
	// An update herald ignores takes no room: still 200.
	if status := b.postGood(t, ignoredUpdate); status != http.StatusOK {
		t.Errorf("ignored update, queue full: status %d, want 200", status)
	}
	closed := make(chan error, 1)
	go func() { closed <- b.wh.Close(context.Background()) }()
	// Once Close has begun every update is refused, so that Telegram keeps it for later.
	deadline := time.Now().Add(10 * time.Second)
	for b.postGood(t, ignoredUpdate) != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("updates still accepted after Close")
		}
		time.Sleep(time.Millisecond)
	}
	if status := b.postGood(t, textUpdate(4)); status != http.StatusServiceUnavailable {
		t.Errorf("after Close: status %d, want 503", status)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while Handle was held", err)
	default:
	}
	gate.release()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := handledIDs(b.handled()); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("handled %v, want 1 then 2", got)
	}
	if !strings.Contains(b.log.String(), "queue full") {
		t.Errorf("the full queue is not logged:\n%s", b.log.String())
	}
}

func TestWebhookCloseGivesUp(t *testing.T) {
	t.Parallel()
	b, gate := hookSetupGated(t, telegram.WebhookConfig{})
	b.postGood(t, textUpdate(1))
	b.postGood(t, textUpdate(2))
	gate.waitStarted(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.wh.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close with an ended ctx: %v, want context.Canceled", err)
	}
	// Handle's ctx ended, so the held call returns; 2 is dropped, and that is logged.
	b.close(t)
	if got := handledIDs(b.handled()); !slices.Equal(got, []int64{1}) {
		t.Errorf("handled %v, want only 1", got)
	}
	if !strings.Contains(b.log.String(), "dropped_updates=1") {
		t.Errorf("the dropped update is not logged:\n%s", b.log.String())
	}
}

func TestWebhookSurvivesAPanickingHandle(t *testing.T) {
	t.Parallel()
	b := hookSetup(t, telegram.WebhookConfig{Handle: func(_ context.Context, u telegram.Update, _ error) {
		if u.ID%2 == 1 {
			panic("handler bug")
		}
	}})
	for id := 1; id <= 4; id++ {
		if status := b.postGood(t, textUpdate(id)); status != http.StatusOK {
			t.Fatalf("%d: status %d", id, status)
		}
	}
	b.close(t)
	if got := handledIDs(b.handled()); !slices.Equal(got, []int64{1, 2, 3, 4}) {
		t.Errorf("Handle got %v", got)
	}
	logged := b.log.String()
	if n := strings.Count(logged, "Handle panicked"); n != 2 || !strings.Contains(logged, "update_id=3") {
		t.Errorf("%d panics logged, want 2 with their update_id:\n%s", n, logged)
	}
}
