package sandbox

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// delivery is one request a test webhook received.
type delivery struct {
	header http.Header
	body   []byte
}

// webhook starts a webhook that answers status and hands every request it gets to the channel.
func webhook(t *testing.T, status int) (string, chan delivery) {
	t.Helper()
	got := make(chan delivery, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivery{header: r.Header.Clone(), body: body}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/webhook/messenger", got
}

// verify checks a delivery's signature as a webhook must: HMAC-SHA256 of the raw body.
func verify(t *testing.T, d delivery, secret string) {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(d.body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := d.header.Get("X-Hub-Signature-256"); got != want {
		t.Errorf("X-Hub-Signature-256 %q, want %q", got, want)
	}
	if ct := d.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

// messaging decodes a webhook body's one messaging item, checking the envelope around it.
func messaging(t *testing.T, body []byte, now time.Time) map[string]any {
	t.Helper()
	var env struct {
		Object string `json:"object"`
		Entry  []struct {
			ID        string           `json:"id"`
			Time      int64            `json:"time"`
			Messaging []map[string]any `json:"messaging"`
		} `json:"entry"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("webhook body: %v\n%s", err, body)
	}
	if env.Object != "page" || len(env.Entry) != 1 || env.Entry[0].ID != DefaultMessengerPageID ||
		env.Entry[0].Time != now.UnixMilli() || len(env.Entry[0].Messaging) != 1 {
		t.Fatalf("webhook envelope: %s", body)
	}
	return env.Entry[0].Messaging[0]
}

// ms is a time as the webhook writes it: Unix milliseconds.
func ms(t time.Time) json.Number { return json.Number(strconv.FormatInt(t.UnixMilli(), 10)) }

func TestMessengerWebhookEvents(t *testing.T) {
	t.Parallel()
	const secret = "app-secret"
	url, got := webhook(t, http.StatusOK)
	b := setup(t, Options{Messenger: MessengerOptions{WebhookURL: url, AppSecret: secret}})
	now := b.clock.Now()
	ctx := t.Context()
	page := map[string]any{"id": DefaultMessengerPageID}
	sender := map[string]any{"id": testPSID}
	head := func(event string, v any) map[string]any {
		return map[string]any{"sender": sender, "recipient": page, "timestamp": ms(now), event: v}
	}

	// A message from an ad: the sandbox creates the person, opens a 7-day window, signs.
	res, err := b.srv.InjectMessenger(ctx, MessengerEvent{PSID: testPSID, Type: "message", Text: "Ciao, è qui? 🎉 </script>", Ad: true, Ref: "summer"})
	if err != nil {
		t.Fatal(err)
	}
	d := <-got
	verify(t, d, secret)
	if !res.Posted || res.Status != 200 || res.URL != url || !bytes.Equal(res.Body, d.body) || res.Signature != d.header.Get("X-Hub-Signature-256") {
		t.Errorf("result %+v", res)
	}
	// Meta's escaping: the signature holds over these bytes, not over a re-encoding.
	if !bytes.Contains(d.body, []byte(`"text":"Ciao, \u00e8 qui? \ud83c\udf89 <\/script>"`)) {
		t.Errorf("body not escaped as Meta does: %s", d.body)
	}
	wantEvent := head("message", map[string]any{"mid": res.MID, "text": "Ciao, è qui? 🎉 </script>",
		"referral": map[string]any{"ref": "summer", "ad_id": defaultAdID, "source": "ADS", "type": "OPEN_THREAD"}})
	if ev := messaging(t, d.body, now); !reflect.DeepEqual(ev, wantEvent) {
		t.Errorf("message event\n %v\nwant\n %v", ev, wantEvent)
	}
	if u, _ := b.srv.MessengerUser(testPSID); !u.LastInteraction.Equal(now) || !u.AdReferral || !reflect.DeepEqual(res.User, u) {
		t.Errorf("state after the message: %+v (result %+v)", u, res.User)
	}
	// The ad keeps the window open for 6 days.
	b.clock.Advance(6 * 24 * time.Hour)
	wantSent(t, b.graph(t, http.MethodPost, "/me/messages", "application/json", "t", `{"recipient":{"id":"`+testPSID+`"},"messaging_type":"RESPONSE","message":{"text":"x"}}`), testPSID)
	now = b.clock.Now()

	for _, tc := range []struct {
		ev   MessengerEvent
		want func(res InjectResult) map[string]any
	}{
		{MessengerEvent{PSID: testPSID, Type: "postback", Payload: "GET_STARTED"}, func(res InjectResult) map[string]any {
			return head("postback", map[string]any{"mid": res.MID, "title": "GET_STARTED", "payload": "GET_STARTED"})
		}},
		{MessengerEvent{PSID: testPSID, Type: "postback", Payload: "P", Title: "Start", Ad: true, AdID: "42"}, func(res InjectResult) map[string]any {
			return head("postback", map[string]any{"mid": res.MID, "title": "Start", "payload": "P",
				"referral": map[string]any{"ad_id": "42", "source": "ADS", "type": "OPEN_THREAD"}})
		}},
		{MessengerEvent{PSID: testPSID, Type: "message", Text: "Yes", Payload: "YES"}, func(res InjectResult) map[string]any {
			return head("message", map[string]any{"mid": res.MID, "text": "Yes", "quick_reply": map[string]any{"payload": "YES"}})
		}},
		{MessengerEvent{PSID: testPSID, Type: "referral", Ref: "qr-code"}, func(InjectResult) map[string]any {
			return head("referral", map[string]any{"ref": "qr-code", "source": "SHORTLINK", "type": "OPEN_THREAD"})
		}},
		{MessengerEvent{PSID: testPSID, Type: "optin", Payload: "weekly", Timezone: "Europe/Rome"}, func(res InjectResult) map[string]any {
			return head("optin", map[string]any{"type": "notification_messages", "payload": "weekly",
				"notification_messages_token": res.Token, "token_expiry_timestamp": ms(now.Add(365 * 24 * time.Hour)),
				"user_token_status": "NOT_REFRESHED", "notification_messages_timezone": "Europe/Rome"})
		}},
		{MessengerEvent{PSID: testPSID, Type: "optin", Status: "STOP_NOTIFICATIONS"}, func(res InjectResult) map[string]any {
			return head("optin", map[string]any{"type": "notification_messages", "payload": "weekly",
				"notification_messages_token": res.Token, "token_expiry_timestamp": ms(now.Add(365 * 24 * time.Hour)),
				"user_token_status": "NOT_REFRESHED", "notification_messages_timezone": "Europe/Rome",
				"notification_messages_status": "STOP_NOTIFICATIONS"})
		}},
		{MessengerEvent{PSID: testPSID, Type: "delivery", MIDs: []string{"m_1", "m_2"}}, func(InjectResult) map[string]any {
			return head("delivery", map[string]any{"mids": []any{"m_1", "m_2"}, "watermark": ms(now)})
		}},
		{MessengerEvent{PSID: testPSID, Type: "read", Watermark: 1700000000000}, func(InjectResult) map[string]any {
			return head("read", map[string]any{"watermark": json.Number("1700000000000")})
		}},
	} {
		res, err := b.srv.InjectMessenger(ctx, tc.ev)
		if err != nil {
			t.Fatalf("%+v: %v", tc.ev, err)
		}
		d := <-got
		verify(t, d, secret)
		if ev, want := messaging(t, d.body, now), tc.want(res); !reflect.DeepEqual(ev, want) {
			t.Errorf("%s event\n %v\nwant\n %v", tc.ev.Type, ev, want)
		}
	}
	u, _ := b.srv.MessengerUser(testPSID)
	if len(u.Tokens) != 1 || u.Tokens[0].Status != TokenStopped || u.Tokens[0].Topic != "weekly" || u.Tokens[0].Timezone != "Europe/Rome" {
		t.Errorf("tokens %+v", u.Tokens)
	}
	// The optins were the last interaction (delivery and read are not interactions), without an ad.
	if !u.LastInteraction.Equal(now) || u.AdReferral {
		t.Errorf("state %+v", u)
	}
	b.clock.Advance(25 * time.Hour)
	if _, err := b.srv.InjectMessenger(ctx, MessengerEvent{PSID: testPSID, Type: "read"}); err != nil {
		t.Fatal(err)
	}
	<-got
	wantGraphError(t, b.graph(t, http.MethodPost, "/me/messages", "application/json", "t", `{"recipient":{"id":"`+testPSID+`"},"messaging_type":"RESPONSE","message":{"text":"x"}}`),
		10, 2018278, graphOutsideWindow)
}

func TestMessengerWebhookDelivery(t *testing.T) {
	t.Parallel()
	t.Run("no webhook", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{})
		res, err := b.srv.InjectMessenger(t.Context(), MessengerEvent{PSID: testPSID, Type: "message", Text: "hi"})
		if err != nil || res.Posted || res.Status != 0 || len(res.Body) == 0 {
			t.Fatalf("%+v %v", res, err)
		}
		if _, ok := b.srv.MessengerUser(testPSID); !ok {
			t.Error("the state was not updated")
		}
	})
	t.Run("unsigned without a secret, status reported", func(t *testing.T) {
		t.Parallel()
		url, got := webhook(t, http.StatusForbidden)
		b := setup(t, Options{})
		b.srv.SetMessengerWebhook(url, "")
		res, err := b.srv.InjectMessenger(t.Context(), MessengerEvent{PSID: testPSID, Type: "message", Text: "hi"})
		d := <-got
		if err != nil || !res.Posted || res.Status != 403 || res.Signature != "" || d.header.Get("X-Hub-Signature-256") != "" {
			t.Errorf("%+v %v %v", res, err, d.header)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		url, _ := webhook(t, http.StatusOK)
		b := setup(t, Options{})
		dead := httptest.NewServer(http.NotFoundHandler())
		deadURL := dead.URL
		dead.Close()
		b.srv.SetMessengerWebhook(deadURL, "s")
		res, err := b.srv.InjectMessenger(t.Context(), MessengerEvent{PSID: testPSID, Type: "message", Text: "hi"})
		if !errors.Is(err, ErrWebhookUnreachable) || res.Posted {
			t.Errorf("%+v %v, want ErrWebhookUnreachable", res, err)
		}
		if _, ok := b.srv.MessengerUser(testPSID); !ok {
			t.Error("the state was not updated")
		}
		var failure map[string]any
		if status := b.control(t, "POST", "/__sandbox/messenger/events", `{"psid":"`+testPSID+`","type":"message","text":"hi"}`, &failure); status != 502 ||
			!strings.Contains(failure["error"].(string), "could not be reached") || failure["posted"] != false {
			t.Errorf("control: %d %v", status, failure)
		}
		b.control(t, "PUT", "/__sandbox/messenger/webhook", `{"url":"`+url+`"}`, nil)
		var ok InjectResult
		if status := b.control(t, "POST", "/__sandbox/messenger/events", `{"psid":"`+testPSID+`","type":"message","text":"hi"}`, &ok); status != 200 || !ok.Posted || ok.Signature == "" {
			t.Errorf("after PUT webhook (the secret kept): %d %+v", status, ok)
		}
	})
}

func TestMessengerControlEventsAndWebhook(t *testing.T) {
	t.Parallel()
	url, got := webhook(t, http.StatusOK)
	b := setup(t, Options{})
	var status map[string]any
	if code := b.control(t, "PUT", "/__sandbox/messenger/webhook", `{"url":"`+url+`","app_secret":"sek"}`, &status); code != 200 ||
		!reflect.DeepEqual(status, map[string]any{"url": url, "app_secret_set": true}) {
		t.Fatalf("PUT webhook: %d %v", code, status)
	}
	var raw string
	res, _ := http.Get(b.base + "/__sandbox/messenger/webhook")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	raw = string(body)
	if strings.Contains(raw, "sek") {
		t.Errorf("GET webhook echoes the secret: %s", raw)
	}
	var result InjectResult
	if code := b.control(t, "POST", "/__sandbox/messenger/events", `{"psid":"`+testPSID+`","type":"optin","timezone":"Asia/Tokyo"}`, &result); code != 200 || !result.Posted || result.Token == "" {
		t.Fatalf("POST events: %d %+v", code, result)
	}
	verify(t, <-got, "sek")
	if u := result.User; len(u.Tokens) != 1 || u.Tokens[0].Token != result.Token || u.Tokens[0].Timezone != "Asia/Tokyo" {
		t.Errorf("user in the result %+v", u)
	}

	var e map[string]string
	for _, bad := range []string{
		`{"psid":"abc","type":"message","text":"x"}`,
		`{"psid":"1","type":"echo"}`,
		`{"psid":"1","type":"message"}`,
		`{"psid":"1","type":"postback","title":"T"}`,
		`{"psid":"1","type":"read","text":"x"}`,
		`{"psid":"1","type":"optin","status":"STOP"}`,
		`{"psid":"1","type":"optin","status":"STOP_NOTIFICATIONS"}`, // no token to stop
		`{"psid":"1","type":"message","text":"x","ad_id":"9"}`,
		`{"psid":"1","type":"message","text":"x","colour":"red"}`,
	} {
		if code := b.control(t, "POST", "/__sandbox/messenger/events", bad, &e); code != 400 || !strings.HasPrefix(e["error"], "messenger event: ") {
			t.Errorf("POST events %s: %d %v, want 400", bad, code, e)
		}
	}
	if _, ok := b.srv.MessengerUser("1"); ok {
		t.Error("a refused event created its person")
	}
	select {
	case d := <-got:
		t.Errorf("a refused event was posted: %s", d.body)
	default:
	}
	for _, bad := range []string{`{"url":"ftp://x"}`, `{"app_secret":"x"}`, `{"url":"http://x","secret":"y"}`} {
		if code := b.control(t, "PUT", "/__sandbox/messenger/webhook", bad, &e); code != 400 {
			t.Errorf("PUT webhook %s: %d %v", bad, code, e)
		}
	}
	b.control(t, "PUT", "/__sandbox/messenger/webhook", `{"url":""}`, &status)
	if status["url"] != "" {
		t.Errorf("webhook off: %v", status)
	}
}

// FuzzMessengerSend checks that no Send API body makes the sandbox fail other than with a
// Graph API error or a send.
func FuzzMessengerSend(f *testing.F) {
	f.Add(`{"recipient":{"id":"` + testPSID + `"},"messaging_type":"UPDATE","message":{"text":"x"}}`)
	f.Add(`{"recipient":{"notification_messages_token":"t"},"message":{"attachment":{"type":"template","payload":{"template_type":"generic","elements":[{"title":"a","buttons":[{"type":"postback","title":"b","payload":"c"}]}]}}}}`)
	f.Add(`{"message":{"quick_replies":[1]}}`)
	srv := New(Options{})
	srv.SetMessengerUser(testPSID, MessengerUser{LastInteraction: time.Now()})
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/v25.0/me/messages", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer x")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		var answer struct {
			MessageID string          `json:"message_id"`
			Error     json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil || (answer.MessageID == "") == (answer.Error == nil) {
			t.Fatalf("%d %s for %s", w.Code, w.Body, body)
		}
	})
}
