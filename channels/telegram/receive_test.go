package telegram_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/telegram"
)

// botCall is one request the fake Bot API received.
type botCall struct {
	Method, ContentType, Body string
}

type botAnswer struct {
	status int
	body   string
}

// fakeBotAPI stands in for Telegram where the sandbox has no such method yet: it records
// every call and answers each method as told (by default {"ok":true,"result":true}).
type fakeBotAPI struct {
	url string

	mu      sync.Mutex
	calls   []botCall
	answers map[string]botAnswer
}

func newFakeBotAPI(t *testing.T) *fakeBotAPI {
	t.Helper()
	f := &fakeBotAPI{answers: map[string]botAnswer{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		method, ok := strings.CutPrefix(r.URL.Path, "/bot"+secretToken+"/")
		if !ok || r.Method != http.MethodPost {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"ok":false,"error_code":404,"description":"Not Found"}`)
			return
		}
		f.mu.Lock()
		f.calls = append(f.calls, botCall{method, r.Header.Get("Content-Type"), string(body)})
		a, ok := f.answers[method]
		f.mu.Unlock()
		if !ok {
			a = botAnswer{http.StatusOK, `{"ok":true,"result":true}`}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *fakeBotAPI) answer(method string, status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[method] = botAnswer{status, body}
}

// taken returns the calls received so far and forgets them.
func (f *fakeBotAPI) taken() []botCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	calls := f.calls
	f.calls = nil
	return calls
}

const twoUpdates = `{"ok":true,"result":[` +
	`{"update_id":815640100,"message":{"message_id":1,"from":{"id":42,"is_bot":false,"first_name":"Ann"},"chat":{"id":42,"first_name":"Ann","type":"private"},"date":1767225600,"text":"/start x","entities":[{"offset":0,"length":6,"type":"bot_command"}]}},` +
	`{"update_id":"815640101"},` +
	`5,` +
	`{"update_id":815640103,"message":{"message_id":2,"chat":{"type":"private"},"date":1767225601,"text":"hi"}},` +
	`{"update_id":815640104,"edited_message":{"message_id":1,"chat":{"id":42,"type":"private"},"date":1767225600,"edit_date":1767225700,"text":"/start y"}}` +
	`]}`

func TestGetUpdates(t *testing.T) {
	t.Parallel()
	fake := newFakeBotAPI(t)
	ch := newChannel(t, fake.url)
	fake.answer("getUpdates", http.StatusOK, twoUpdates)
	got, err := ch.GetUpdates(context.Background(), 815640100, 30*time.Second, telegram.AllowedUpdates())
	if err != nil {
		t.Fatalf("GetUpdates: %v", err)
	}
	// One element that is not an update fails neither the batch nor the others.
	var result struct{ Result []json.RawMessage }
	json.Unmarshal([]byte(twoUpdates), &result)
	wantIDs := []int64{815640100, 0, 0, 815640103, 815640104}
	if len(got) != len(wantIDs) {
		t.Fatalf("got %d updates, want %d", len(got), len(wantIDs))
	}
	for i, u := range got {
		if u.ID != wantIDs[i] || string(u.Raw) != string(result.Result[i]) {
			t.Errorf("update %d: ID %d, raw %s; want %d, %s", i, u.ID, u.Raw, wantIDs[i], result.Result[i])
		}
	}
	// What the poller does with them: each parsed on its own.
	kinds := []string{}
	for _, raw := range got {
		u, err := telegram.ParseUpdate(raw.Raw)
		if u.ID != raw.ID {
			t.Errorf("ParseUpdate's ID %d, GetUpdates' %d", u.ID, raw.ID)
		}
		if err != nil {
			kinds = append(kinds, "error")
			continue
		}
		kinds = append(kinds, string(u.Kind))
	}
	if want := []string{"command", "error", "error", "error", "ignored"}; !slices.Equal(kinds, want) {
		t.Errorf("parsed kinds %v, want %v", kinds, want)
	}
	want := []botCall{{"getUpdates", "application/json", `{"offset":815640100,"timeout":30,"allowed_updates":["message","my_chat_member"]}`}}
	if calls := fake.taken(); !slices.Equal(calls, want) {
		t.Errorf("calls %+v, want %+v", calls, want)
	}
}

func TestGetUpdatesParameters(t *testing.T) {
	t.Parallel()
	fake := newFakeBotAPI(t)
	ch := newChannel(t, fake.url)
	fake.answer("getUpdates", http.StatusOK, `{"ok":true,"result":[]}`)
	cases := []struct {
		offset  int64
		timeout time.Duration
		allowed []string
		body    string
	}{
		{0, 0, nil, `{}`},
		{7, -time.Second, nil, `{"offset":7}`},
		{7, 1500 * time.Millisecond, nil, `{"offset":7,"timeout":2}`},
		{7, time.Millisecond, nil, `{"offset":7,"timeout":1}`},
		{7, 50 * time.Second, nil, `{"offset":7,"timeout":50}`},
		{7, time.Hour, nil, `{"offset":7,"timeout":50}`},
		{-1, 0, nil, `{"offset":-1}`},
		// An empty list is not nil: Telegram's default types, not the previous call's.
		{7, 0, []string{}, `{"offset":7,"allowed_updates":[]}`},
		{7, 0, []string{"message"}, `{"offset":7,"allowed_updates":["message"]}`},
	}
	for _, tc := range cases {
		got, err := ch.GetUpdates(context.Background(), tc.offset, tc.timeout, tc.allowed)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("GetUpdates(%d, %v, %q) = %v, %v; want no updates", tc.offset, tc.timeout, tc.allowed, got, err)
		}
		if calls := fake.taken(); len(calls) != 1 || calls[0].Body != tc.body {
			t.Errorf("GetUpdates(%d, %v, %q) sent %+v, want %s", tc.offset, tc.timeout, tc.allowed, calls, tc.body)
		}
	}
}

// deadlineRecorder is a RoundTripper that notes the deadline of each request's context.
type deadlineRecorder struct {
	mu        sync.Mutex
	deadlines []time.Duration // from when the request was made
}

func (d *deadlineRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if dl, ok := r.Context().Deadline(); ok {
		d.mu.Lock()
		d.deadlines = append(d.deadlines, time.Until(dl))
		d.mu.Unlock()
	} else {
		d.mu.Lock()
		d.deadlines = append(d.deadlines, -1)
		d.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestGetUpdatesWaitsLongEnough: the request may take the poll's timeout and a margin, and
// no longer; a shorter deadline of the caller's stays.
func TestGetUpdatesWaitsLongEnough(t *testing.T) {
	t.Parallel()
	fake := newFakeBotAPI(t)
	fake.answer("getUpdates", http.StatusOK, `{"ok":true,"result":[]}`)
	rec := &deadlineRecorder{}
	ch, err := telegram.New(telegram.Config{Token: secretToken, APIURL: fake.url, HTTPClient: &http.Client{Transport: rec}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, timeout := range []time.Duration{0, 25 * time.Second, 10 * time.Minute} {
		if _, err := ch.GetUpdates(ctx, 1, timeout, nil); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := ch.GetUpdates(short, 1, 30*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{10 * time.Second, 35 * time.Second, 60 * time.Second, 5 * time.Second}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.deadlines) != len(want) {
		t.Fatalf("deadlines %v", rec.deadlines)
	}
	for i, got := range rec.deadlines {
		if got > want[i] || got < want[i]-2*time.Second {
			t.Errorf("poll %d: deadline in %v, want %v", i, got, want[i])
		}
	}
}

func TestGetUpdatesErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		status   int
		body     string
		kind     campaign.ErrKind
		reason   string
		conflict bool
		mustSay  []string
	}{
		{"webhook set", http.StatusConflict,
			`{"ok":false,"error_code":409,"description":"Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}`,
			campaign.Fatal, "webhook_active", true, []string{"a webhook is set", "delete the webhook", "receive updates by webhook"}},
		{"another poller", http.StatusConflict,
			`{"ok":false,"error_code":409,"description":"Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}`,
			campaign.Fatal, "conflict", true, []string{"another program is polling this bot", "stop the other one"}},
		{"bad token", http.StatusUnauthorized, `{"ok":false,"error_code":401,"description":"Unauthorized"}`,
			campaign.Fatal, "unauthorized", false, []string{"telegram.token"}},
		{"wrong URL", http.StatusNotFound, `{"ok":false,"error_code":404,"description":"Not Found"}`,
			campaign.Fatal, "not_found", false, []string{"api_url"}},
		{"rate limited", http.StatusTooManyRequests, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}`,
			campaign.RateLimited, "rate_limited", false, nil},
		{"bad gateway", http.StatusBadGateway, `<html>502</html>`, campaign.Retryable, "server_error", false, nil},
		{"result not an array", http.StatusOK, `{"ok":true,"result":{"update_id":1}}`, campaign.Ambiguous, "bad_response", false, []string{"getUpdates"}},
		{"not the Bot API", http.StatusOK, `<html>proxy</html>`, campaign.Ambiguous, "bad_response", false, nil},
		{"answer too large", http.StatusOK, `{"ok":true,"result":[` + strings.Repeat(" ", 32<<20) + `]}`, campaign.Ambiguous, "answer_too_large", false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFakeBotAPI(t)
			fake.answer("getUpdates", tc.status, tc.body)
			got, err := newChannel(t, fake.url).GetUpdates(context.Background(), 1, 0, nil)
			se, ok := errors.AsType[*campaign.SendError](err)
			if got != nil || !ok || se.Kind != tc.kind || se.Reason != tc.reason {
				t.Fatalf("GetUpdates = %v, %#v; want a %v %s", got, err, tc.kind, tc.reason)
			}
			if errors.Is(err, telegram.ErrConflict) != tc.conflict {
				t.Errorf("errors.Is(%v, ErrConflict) = %v", err, !tc.conflict)
			}
			for _, s := range tc.mustSay {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not say %q", err, s)
				}
			}
			if strings.Contains(err.Error(), secretToken) {
				t.Errorf("the token is in %q", err)
			}
		})
	}
}

func TestSetWebhook(t *testing.T) {
	t.Parallel()
	fake := newFakeBotAPI(t)
	ch := newChannel(t, fake.url)
	const secret = "Zq3-hook_secret-9f8e7d6c5b4a"
	ctx := context.Background()
	if err := ch.SetWebhook(ctx, "https://herald.example.com/webhooks/telegram", secret, telegram.AllowedUpdates(), true); err != nil {
		t.Fatalf("SetWebhook: %v", err)
	}
	if err := ch.SetWebhook(ctx, "https://herald.example.com:8443/tg", secret, nil, false); err != nil {
		t.Fatalf("SetWebhook: %v", err)
	}
	want := []botCall{
		{"setWebhook", "application/json", `{"url":"https://herald.example.com/webhooks/telegram","secret_token":"` + secret + `","allowed_updates":["message","my_chat_member"],"drop_pending_updates":true}`},
		{"setWebhook", "application/json", `{"url":"https://herald.example.com:8443/tg","secret_token":"` + secret + `"}`},
	}
	if calls := fake.taken(); !slices.Equal(calls, want) {
		t.Errorf("calls\n %+v\nwant\n %+v", calls, want)
	}

	// Refused before calling Telegram, without showing the secret.
	for name, tc := range map[string]struct{ url, secret string }{
		"no URL":              {"", secret},
		"no secret":           {"https://a.example/x", ""},
		"secret too long":     {"https://a.example/x", strings.Repeat("s", 257)},
		"secret with a space": {"https://a.example/x", "two words"},
		"secret with a colon": {"https://a.example/x", "a:b"},
	} {
		err := ch.SetWebhook(ctx, tc.url, tc.secret, nil, false)
		if !errors.Is(err, telegram.ErrConfig) || (tc.secret != "" && strings.Contains(err.Error(), tc.secret)) {
			t.Errorf("%s: %v, want an ErrConfig without the secret", name, err)
		}
	}
	if calls := fake.taken(); len(calls) != 0 {
		t.Errorf("Telegram was called: %+v", calls)
	}

	// Telegram's refusals come back in its words; the secret never does.
	fake.answer("setWebhook", http.StatusBadRequest, `{"ok":false,"error_code":400,"description":"Bad Request: bad webhook: An HTTPS URL must be provided for webhook"}`)
	err := ch.SetWebhook(ctx, "http://herald.example.com/tg", secret, nil, false)
	if se, ok := errors.AsType[*campaign.SendError](err); !ok || se.Kind != campaign.Rejected || !strings.Contains(se.Message, "An HTTPS URL must be provided") {
		t.Errorf("HTTP URL: %#v", err)
	}
	fake.answer("setWebhook", http.StatusBadRequest, `{"ok":false,"error_code":400,"description":"Bad Request: secret token \"`+secret+`\" is invalid"}`)
	if err := ch.SetWebhook(ctx, "https://herald.example.com/tg", secret, nil, false); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("an answer quoting the secret: %v", err)
	}
	fake.answer("setWebhook", http.StatusOK, `{"ok":true,"result":false}`)
	if err := ch.SetWebhook(ctx, "https://herald.example.com/tg", secret, nil, false); err == nil {
		t.Error("result false: no error")
	}
}

func TestDeleteWebhook(t *testing.T) {
	t.Parallel()
	fake := newFakeBotAPI(t)
	ch := newChannel(t, fake.url)
	for _, drop := range []bool{false, true} {
		if err := ch.DeleteWebhook(context.Background(), drop); err != nil {
			t.Fatalf("DeleteWebhook(%v): %v", drop, err)
		}
	}
	want := []botCall{{"deleteWebhook", "application/json", `{}`}, {"deleteWebhook", "application/json", `{"drop_pending_updates":true}`}}
	if calls := fake.taken(); !slices.Equal(calls, want) {
		t.Errorf("calls %+v, want %+v", calls, want)
	}
	fake.answer("deleteWebhook", http.StatusUnauthorized, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
	if err := ch.DeleteWebhook(context.Background(), false); err == nil || strings.Contains(err.Error(), secretToken) {
		t.Errorf("401: %v", err)
	}
}

const webhookInfoSet = `{"ok":true,"result":{"url":"https://herald.example.com/webhooks/telegram","has_custom_certificate":false,` +
	`"pending_update_count":3,"ip_address":"203.0.113.7","last_error_date":1767225600,` +
	`"last_error_message":"Wrong response from the webhook: 503 Service Unavailable","max_connections":40,"allowed_updates":["message","my_chat_member"]}}`

const webhookInfoUnset = `{"ok":true,"result":{"url":"","has_custom_certificate":false,"pending_update_count":0}}`

func TestGetWebhookInfo(t *testing.T) {
	t.Parallel()
	fake := newFakeBotAPI(t)
	ch := newChannel(t, fake.url)
	cases := []struct {
		answer string
		want   telegram.WebhookInfo
	}{
		{webhookInfoSet, telegram.WebhookInfo{
			URL: "https://herald.example.com/webhooks/telegram", PendingUpdateCount: 3,
			LastErrorDate: time.Unix(1767225600, 0).UTC(), LastErrorMessage: "Wrong response from the webhook: 503 Service Unavailable",
			AllowedUpdates: []string{"message", "my_chat_member"},
		}},
		{webhookInfoUnset, telegram.WebhookInfo{}},
	}
	for _, tc := range cases {
		fake.answer("getWebhookInfo", http.StatusOK, tc.answer)
		got, err := ch.GetWebhookInfo(context.Background())
		if err != nil || got.URL != tc.want.URL || got.PendingUpdateCount != tc.want.PendingUpdateCount ||
			!got.LastErrorDate.Equal(tc.want.LastErrorDate) || got.LastErrorDate.Location() != time.UTC ||
			got.LastErrorMessage != tc.want.LastErrorMessage || !slices.Equal(got.AllowedUpdates, tc.want.AllowedUpdates) {
			t.Errorf("GetWebhookInfo = %+v, %v; want %+v", got, err, tc.want)
		}
	}
	if calls := fake.taken(); len(calls) != 2 || calls[0] != (botCall{"getWebhookInfo", "application/json", `{}`}) {
		t.Errorf("calls %+v", calls)
	}
	fake.answer("getWebhookInfo", http.StatusOK, `{"ok":true,"result":[]}`)
	if _, err := ch.GetWebhookInfo(context.Background()); err == nil {
		t.Error("a result that is not a WebhookInfo: no error")
	}
}

// TestReceivingCallsHideTheToken: when nothing answers, the transport's error (whose URL
// holds the token) reaches the caller without it.
func TestReceivingCallsHideTheToken(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ch := newChannel(t, "http://"+addr)
	ctx := context.Background()
	_, getErr := ch.GetUpdates(ctx, 1, 0, nil)
	_, infoErr := ch.GetWebhookInfo(ctx)
	_, meErr := ch.GetMe(ctx)
	for name, err := range map[string]error{
		"GetUpdates":     getErr,
		"SetWebhook":     ch.SetWebhook(ctx, "https://a.example/x", "s", nil, false),
		"DeleteWebhook":  ch.DeleteWebhook(ctx, false),
		"GetWebhookInfo": infoErr,
		"GetMe":          meErr,
	} {
		if se, ok := errors.AsType[*campaign.SendError](err); !ok || se.Kind != campaign.Retryable || se.Reason != "unreachable" {
			t.Errorf("%s: %#v, want Retryable unreachable", name, err)
		}
		if err != nil && strings.Contains(err.Error(), secretToken) {
			t.Errorf("%s: the token is in %q", name, err)
		}
	}
}
