package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestControlMessages(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.post(t, "sendMessage", `{"chat_id":1,"text":"one"}`)
	b.post(t, "sendMessage", `{"chat_id":2,"text":"two"}`)
	b.post(t, "sendMessage", `{"chat_id":"@News","text":"three"}`)

	var all []Message
	if status := b.control(t, "GET", "/__sandbox/messages", "", &all); status != 200 || len(all) != 3 {
		t.Fatalf("GET messages: %d, %d messages", status, len(all))
	}
	if !reflect.DeepEqual(all, b.srv.Messages()) {
		t.Errorf("GET messages differs from Messages():\n%+v\n%+v", all, b.srv.Messages())
	}
	var some []Message
	b.control(t, "GET", "/__sandbox/messages?chat=2", "", &some)
	if len(some) != 1 || some[0].Text != "two" {
		t.Errorf("?chat=2: %+v", some)
	}
	b.control(t, "GET", "/__sandbox/messages?chat=@NEWS", "", &some)
	if len(some) != 1 || some[0].Text != "three" {
		t.Errorf("?chat=@NEWS: %+v", some)
	}
	b.control(t, "GET", "/__sandbox/messages?after=2", "", &some)
	if len(some) != 1 || some[0].Seq != 3 {
		t.Errorf("?after=2: %+v", some)
	}
	var deleted map[string]int
	if status := b.control(t, "DELETE", "/__sandbox/messages", "", &deleted); status != 200 || deleted["deleted"] != 3 {
		t.Errorf("DELETE messages: %d %v", status, deleted)
	}
	b.control(t, "GET", "/__sandbox/messages", "", &some)
	if len(some) != 0 || some == nil {
		t.Errorf("after DELETE: %#v, want []", some)
	}
	for _, bad := range []string{"?chat=abc", "?after=-1", "?render=maybe"} {
		var e map[string]string
		if status := b.control(t, "GET", "/__sandbox/messages"+bad, "", &e); status != 400 || e["error"] == "" {
			t.Errorf("%s: %d %v, want 400 with an error", bad, status, e)
		}
	}
}

func TestControlFaults(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	var got map[string]any
	if status := b.control(t, "POST", "/__sandbox/faults", `{"error_rate":0.2,"latency":"50ms","drop_rate":0}`, &got); status != 200 {
		t.Fatalf("POST faults: %d %v", status, got)
	}
	want := map[string]any{"error_rate": 0.2, "latency": "50ms", "drop_rate": 0.0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("POST faults answered %v, want %v", got, want)
	}
	if f := b.srv.CurrentFaults(); f != (Faults{ErrorRate: 0.2, Latency: 50 * time.Millisecond}) {
		t.Errorf("faults set %+v", f)
	}
	b.control(t, "GET", "/__sandbox/faults", "", &got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GET faults %v, want %v", got, want)
	}
	b.control(t, "POST", "/__sandbox/faults", `{"latency":1000000}`, nil)
	if f := b.srv.CurrentFaults(); f != (Faults{Latency: time.Millisecond}) {
		t.Errorf("latency in nanoseconds: %+v", f)
	}
	for _, bad := range []string{`{"error_rate":2}`, `{"drop_rate":-0.1}`, `{"latency":"soon"}`, `{"latency":"-1s"}`, `{"errors":1}`, ``, `[1]`, `{} {}`} {
		var e map[string]string
		if status := b.control(t, "POST", "/__sandbox/faults", bad, &e); status != 400 || !strings.HasPrefix(e["error"], "faults: ") {
			t.Errorf("POST faults %s: %d %v, want 400", bad, status, e)
		}
	}
}

func TestControlChats(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	var got map[string]any
	if status := b.control(t, "POST", "/__sandbox/chats/42", `{"state":"blocked"}`, &got); status != 200 || got["state"] != "blocked" {
		t.Fatalf("POST chat: %d %v", status, got)
	}
	b.control(t, "POST", "/__sandbox/chats/-100777", `{"state":"migrated:-1001234567890"}`, nil)
	b.control(t, "POST", "/__sandbox/chats/@Gone", `{"state":"kicked"}`, nil)
	var chats map[string]ChatState
	b.control(t, "GET", "/__sandbox/chats", "", &chats)
	want := map[string]ChatState{"42": ChatBlocked, "-100777": "migrated:-1001234567890", "@gone": ChatKicked}
	if !reflect.DeepEqual(chats, want) {
		t.Errorf("GET chats %v, want %v", chats, want)
	}
	wantError(t, b.post(t, "sendMessage", `{"chat_id":42,"text":"x"}`), 403, "Forbidden: bot was blocked by the user")

	b.control(t, "DELETE", "/__sandbox/chats/42", "", &got)
	if got["state"] != "ok" {
		t.Errorf("DELETE chat: %v", got)
	}
	b.control(t, "POST", "/__sandbox/chats/-100777", `{"state":"ok"}`, nil)
	chats = nil
	b.control(t, "GET", "/__sandbox/chats", "", &chats)
	if !reflect.DeepEqual(chats, map[string]ChatState{"@gone": ChatKicked}) {
		t.Errorf("GET chats %v", chats)
	}
	chats = nil
	b.control(t, "DELETE", "/__sandbox/chats", "", &chats)
	if len(chats) != 0 {
		t.Errorf("DELETE chats %v", chats)
	}
	for _, bad := range []struct{ path, body string }{
		{"/__sandbox/chats/42", `{"state":"asleep"}`},
		{"/__sandbox/chats/42", `{"state":"migrated:soon"}`},
		{"/__sandbox/chats/42", `{}`},
		{"/__sandbox/chats/42", `{"state":"blocked","why":"x"}`},
		{"/__sandbox/chats/not-a-chat", `{"state":"blocked"}`},
	} {
		var e map[string]string
		if status := b.control(t, "POST", bad.path, bad.body, &e); status != 400 || e["error"] == "" {
			t.Errorf("POST %s %s: %d %v, want 400", bad.path, bad.body, status, e)
		}
	}
}

func TestControlRateRequestsAndReset(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	var rate rateConfig
	body := `{"per_second":1,"burst":1,"paid_per_second":0,"per_chat":{"per_second":0,"burst":0},"per_group":{"per_second":0.5,"burst":2}}`
	if status := b.control(t, "POST", "/__sandbox/rate", body, &rate); status != 200 {
		t.Fatalf("POST rate: %d", status)
	}
	want := rateConfig{PerSecond: 1, Burst: 1, PerGroup: Limit{PerSecond: 0.5, Burst: 2}}
	if rate != want {
		t.Errorf("POST rate answered %+v, want %+v", rate, want)
	}
	message(t, b.post(t, "sendMessage", `{"chat_id":1,"text":"x"}`))
	if r := b.post(t, "sendMessage", `{"chat_id":1,"text":"x"}`); r.status != 429 {
		t.Errorf("over the rate set: %d %s", r.status, r.raw)
	}
	b.control(t, "GET", "/__sandbox/rate", "", &rate)
	if rate != want {
		t.Errorf("GET rate %+v", rate)
	}
	var e map[string]string
	if status := b.control(t, "POST", "/__sandbox/rate", `{"per_second":-1}`, &e); status != 400 {
		t.Errorf("negative rate: %d %v", status, e)
	}

	var reqs []Request
	b.control(t, "GET", "/__sandbox/requests", "", &reqs)
	if len(reqs) != 2 || reqs[1].Status != 429 {
		t.Errorf("GET requests %+v", reqs)
	}
	var reset map[string]bool
	if status := b.control(t, "POST", "/__sandbox/reset", "", &reset); status != 200 || !reset["reset"] {
		t.Errorf("POST reset: %d %v", status, reset)
	}
	if len(b.srv.Messages()) != 0 || len(b.srv.Requests()) != 0 {
		t.Error("reset kept messages or requests")
	}
	b.srv.SetRate(0, 0)
	if id := message(t, b.post(t, "sendMessage", `{"chat_id":1,"text":"x"}`))["message_id"]; id != 1.0 {
		t.Errorf("message_id after Reset = %v, want 1", id)
	}
}

func TestControlRouting(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	var e map[string]string
	if status := b.control(t, "GET", "/__sandbox/nothing", "", &e); status != 404 || e["error"] == "" {
		t.Errorf("unknown endpoint: %d %v", status, e)
	}
	if status := b.control(t, "PATCH", "/__sandbox/messages", "", &e); status != 405 || e["error"] == "" {
		t.Errorf("wrong method: %d %v", status, e)
	}
	var index map[string]any
	if status := b.control(t, "GET", "/__sandbox/", "", &index); status != 200 || index["spec"] != "Bot API 10.1" {
		t.Errorf("index: %d %v", status, index)
	}
}

func TestWebPage(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	res, err := http.Get(b.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	page := string(body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !strings.Contains(page, "<title>herald sandbox</title>") || strings.Contains(page, "/*SCRIPT*/") {
		t.Error("the page is not assembled")
	}
	// Self-contained: no external scripts, styles or links.
	if regexp.MustCompile(`(?i)<(script|link|img)[^>]+(src|href)=`).MatchString(page) {
		t.Error("the page loads an asset")
	}
	// The CSP allows exactly the page's own script, by hash.
	script := regexp.MustCompile(`(?s)<script>(.*)</script>`).FindStringSubmatch(page)
	sum := sha256.Sum256([]byte(script[1]))
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q does not pin the script", csp)
	}
	if res, _ := http.Get(b.base + "/nothing"); res.StatusCode != 404 {
		t.Errorf("GET /nothing: %d", res.StatusCode)
	}
}

func TestWebPageEscapes(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.post(t, "sendMessage", `{"chat_id":1,"text":"<b>&lt;script&gt;alert(1)&lt;/script&gt;</b> <a href=\"https://e.com/&quot;onclick=&quot;x\">a</a>","parse_mode":"HTML"}`)
	b.post(t, "sendMessage", `{"chat_id":1,"text":"<img src=x onerror=alert(1)> & \"quotes\""}`)
	var msgs []renderedMessage
	b.control(t, "GET", "/__sandbox/messages?render=1", "", &msgs)
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	want := []string{
		`<b>&lt;script&gt;alert(1)&lt;/script&gt;</b> <a href="https://e.com/%22onclick=%22x" rel="noopener noreferrer nofollow" target="_blank">a</a>`,
		`&lt;img src=x onerror=alert(1)&gt; &amp; &#34;quotes&#34;`,
	}
	for i, m := range msgs {
		if m.HTML != want[i] {
			t.Errorf("html\n %s\nwant\n %s", m.HTML, want[i])
		}
	}
}
