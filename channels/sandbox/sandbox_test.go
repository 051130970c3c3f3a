package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const testToken = "123456:TEST-token_ok"

// bundle is what a test needs: a sandbox serving on a loopback port.
type bundle struct {
	srv   *Server
	base  string
	token string
	clock *fakeClock
}

// setup starts a sandbox with opts on 127.0.0.1 and a fake clock (unless opts.Now is set).
func setup(t *testing.T, opts Options) *bundle {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	srv := New(opts)
	base, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &bundle{srv: srv, base: base, token: testToken, clock: clock}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// reply is a Bot API answer.
type reply struct {
	status int
	raw    string
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Code   int             `json:"error_code"`
	Desc   string          `json:"description"`
	Params struct {
		RetryAfter int   `json:"retry_after"`
		MigrateTo  int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

func (b *bundle) methodURL(method string) string { return b.base + "/bot" + b.token + "/" + method }

// post sends a JSON body (a string is sent as is) to a Bot API method.
func (b *bundle) post(t *testing.T, method string, body any) reply {
	t.Helper()
	raw, ok := body.(string)
	if !ok {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		raw = string(data)
	}
	return b.do(t, http.MethodPost, b.methodURL(method), "application/json", strings.NewReader(raw))
}

func (b *bundle) postForm(t *testing.T, method string, form url.Values) reply {
	t.Helper()
	return b.do(t, http.MethodPost, b.methodURL(method), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

// postMultipart sends values and files (part name → content; the file name is part+".bin").
func (b *bundle) postMultipart(t *testing.T, method string, values map[string]string, files map[string]string) reply {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range values {
		w.WriteField(k, v)
	}
	for name, content := range files {
		fw, err := w.CreateFormFile(name, name+".bin")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(content))
	}
	w.Close()
	return b.do(t, http.MethodPost, b.methodURL(method), w.FormDataContentType(), &buf)
}

func (b *bundle) do(t *testing.T, method, target, contentType string, body io.Reader) reply {
	t.Helper()
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: res.StatusCode, raw: string(data)}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, target, err, data)
	}
	if res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type %q, want application/json", res.Header.Get("Content-Type"))
	}
	return r
}

// control calls the control API and decodes its JSON answer into out (when not nil).
func (b *bundle) control(t *testing.T, method, path string, body string, out any) int {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, data)
		}
	}
	return res.StatusCode
}

func wantError(t *testing.T, r reply, status int, description string) {
	t.Helper()
	if r.status != status || r.OK || r.Code != status || r.Desc != description {
		t.Errorf("got %d %s\nwant %d %q", r.status, r.raw, status, description)
	}
}

// message decodes a successful answer's single Message.
func message(t *testing.T, r reply) map[string]any {
	t.Helper()
	if r.status != http.StatusOK || !r.OK {
		t.Fatalf("got %d %s, want ok", r.status, r.raw)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Result, &m); err != nil {
		t.Fatalf("result is not a Message: %v\n%s", err, r.raw)
	}
	return m
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	srv := New(Options{})
	if err := srv.Close(); err != nil {
		t.Errorf("Close before Start: %v", err)
	}
	base, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("base URL %q", base)
	}
	if _, err := srv.Start("127.0.0.1:0"); err == nil {
		t.Error("a second Start succeeded")
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Error("still serving after Close")
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestMaxLog(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{MaxLog: 3})
	for i := range 10 {
		message(t, b.post(t, "sendMessage", map[string]any{"chat_id": 1, "text": fmt.Sprint(i)}))
	}
	var texts []string
	for _, m := range b.srv.Messages() {
		texts = append(texts, m.Text)
	}
	if !reflect.DeepEqual(texts, []string{"7", "8", "9"}) {
		t.Errorf("kept %v, want the last 3", texts)
	}
	if n := len(b.srv.Requests()); n != 3 {
		t.Errorf("kept %d requests, want 3", n)
	}
}

// TestConcurrentSends checks that ids stay unique and ordered under concurrent sends (run it
// with -race).
func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				// Not b.post: it may call t.Fatal, which must not run outside the test's goroutine.
				body := fmt.Sprintf(`{"chat_id":5,"text":"%d-%d"}`, w, i)
				res, err := http.Post(b.methodURL("sendMessage"), "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Errorf("status %d", res.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	msgs := b.srv.Messages()
	if len(msgs) != workers*each {
		t.Fatalf("%d messages, want %d", len(msgs), workers*each)
	}
	for i, m := range msgs {
		if m.Seq != int64(i+1) || m.ID != int64(i+1) {
			t.Fatalf("message %d has seq %d and id %d, want both %d", i, m.Seq, m.ID, i+1)
		}
	}
}
