package messenger

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

	"github.com/heraldcli/herald/channels/sandbox"
)

const (
	whTestSecret      = "app-secret-5f1d9c0e7a"
	whTestVerifyToken = "verify-token-b81e44"
	whTestPage        = "110000000000001"
	whTestPSID        = "24000000000000001"
	whTestPSID2       = "24000000000000002"
	whTestOptInToken  = "nmt_7d1b0c55aa31"
)

// whMs is a Unix-milliseconds time as ParseEvents returns it.
func whMs(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// whBodyOf wraps messaging items in one page entry, as Meta sends them.
func whBodyOf(items ...string) string {
	return `{"object":"page","entry":[{"id":"` + whTestPage + `","time":1767225600900,"messaging":[` + strings.Join(items, ",") + `]}]}`
}

// whItemOf is one messaging item from the test person to the test page.
func whItemOf(fields string) string {
	return `{"sender":{"id":"` + whTestPSID + `"},"recipient":{"id":"` + whTestPage + `"},"timestamp":1767225600123,` + fields + `}`
}

// whEv is the skeleton of an event from the test person at the items' timestamp.
func whEv(kind EventKind) Event {
	return Event{Kind: kind, PageID: whTestPage, PSID: whTestPSID, At: whMs(1767225600123)}
}

func whWith(ev Event, change func(*Event)) Event { change(&ev); return ev }

// whParseCases are realistic bodies (shapes from Meta's webhook reference, "/" and non-ASCII
// escaped as Meta escapes them) and the events herald reads from them. They are the seed
// corpus of FuzzParseEvents too.
var whParseCases = []struct {
	name string
	body string
	want []Event
}{
	{
		name: "message with text",
		body: whBodyOf(whItemOf(`"message":{"mid":"m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P","text":"caf\u00e9 \ud83d\ude00 https:\/\/example.com"}`)),
		want: []Event{whWith(whEv(EventMessage), func(e *Event) {
			e.MID, e.Text = "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P", "café 😀 https://example.com"
		})},
	},
	{
		name: "message with quick reply",
		body: whBodyOf(whItemOf(`"message":{"mid":"m_1","text":"Yes please","quick_reply":{"payload":"SUBSCRIBE_DAILY"}}`)),
		want: []Event{whWith(whEv(EventMessage), func(e *Event) { e.MID, e.Text, e.Payload = "m_1", "Yes please", "SUBSCRIBE_DAILY" })},
	},
	{
		name: "message with an attachment and no text",
		body: whBodyOf(whItemOf(`"message":{"mid":"m_2","attachments":[{"type":"image","payload":{"url":"https:\/\/scontent.xx.fbcdn.net\/v\/t1.jpg"}}]}`)),
		want: []Event{whWith(whEv(EventMessage), func(e *Event) { e.MID = "m_2" })},
	},
	{
		name: "message sent from an ad",
		body: whBodyOf(whItemOf(`"message":{"mid":"m_3","text":"Is it in stock?","referral":{"ref":"spring","ad_id":"120200000000000001","source":"ADS","type":"OPEN_THREAD","ads_context_data":{"ad_title":"Spring sale","photo_url":"https:\/\/example.com\/a.jpg","post_id":"1_2"}}}`)),
		want: []Event{whWith(whEv(EventMessage), func(e *Event) { e.MID, e.Text, e.Ref, e.Ad = "m_3", "Is it in stock?", "spring", true })},
	},
	{
		name: "message echo skipped",
		body: `{"object":"page","entry":[{"id":"` + whTestPage + `","time":1767225600900,"messaging":[{"sender":{"id":"` + whTestPage + `"},"recipient":{"id":"` + whTestPSID + `"},"timestamp":1767225600123,"message":{"is_echo":true,"app_id":1517776481860111,"metadata":"herald:run-1","mid":"m_4","text":"Our spring sale"}}]}]}`,
	},
	{
		name: "postback Get Started from an ad",
		body: whBodyOf(whItemOf(`"postback":{"mid":"m_5","title":"Get Started","payload":"GET_STARTED","referral":{"ref":"spring_sale","ad_id":"120200000000000001","source":"ADS","type":"OPEN_THREAD"}}`)),
		want: []Event{whWith(whEv(EventPostback), func(e *Event) { e.MID, e.Payload, e.Ref, e.Ad = "m_5", "GET_STARTED", "spring_sale", true })},
	},
	{
		name: "postback without referral",
		body: whBodyOf(whItemOf(`"postback":{"mid":"m_6","title":"Unsubscribe","payload":"UNSUBSCRIBE"}`)),
		want: []Event{whWith(whEv(EventPostback), func(e *Event) { e.MID, e.Payload = "m_6", "UNSUBSCRIBE" })},
	},
	{
		name: "referral from an m.me link",
		body: whBodyOf(whItemOf(`"referral":{"ref":"newsletter","source":"SHORTLINK","type":"OPEN_THREAD"}`)),
		want: []Event{whWith(whEv(EventReferral), func(e *Event) { e.Ref = "newsletter" })},
	},
	{
		name: "referral from an ad",
		body: whBodyOf(whItemOf(`"referral":{"ref":"","ad_id":"120200000000000002","source":"ADS","type":"OPEN_THREAD"}`)),
		want: []Event{whWith(whEv(EventReferral), func(e *Event) { e.Ad = true })},
	},
	{
		name: "notification_messages opt-in",
		body: whBodyOf(whItemOf(`"optin":{"type":"notification_messages","payload":"daily_deals","notification_messages_token":"` + whTestOptInToken + `","token_expiry_timestamp":1798761600000,"user_token_status":"NOT_REFRESHED","notification_messages_timezone":"Europe\/Paris","title":"Daily deals","notification_messages_frequency":"DAILY"}`)),
		want: []Event{whWith(whEv(EventOptIn), func(e *Event) {
			e.Payload, e.Token, e.ExpiresAt, e.Timezone = "daily_deals", whTestOptInToken, whMs(1798761600000), "Europe/Paris"
		})},
	},
	{
		name: "opt-in STOP_NOTIFICATIONS",
		body: whBodyOf(whItemOf(`"optin":{"type":"notification_messages","payload":"daily_deals","notification_messages_token":"` + whTestOptInToken + `","notification_messages_status":"STOP_NOTIFICATIONS"}`)),
		want: []Event{whWith(whEv(EventOptIn), func(e *Event) { e.Payload, e.Token, e.Status = "daily_deals", whTestOptInToken, OptInStop })},
	},
	{
		name: "opt-in STOP NOTIFICATIONS with a space",
		body: whBodyOf(whItemOf(`"optin":{"type":"notification_messages","notification_messages_token":"` + whTestOptInToken + `","notification_messages_status":"STOP NOTIFICATIONS"}`)),
		want: []Event{whWith(whEv(EventOptIn), func(e *Event) { e.Token, e.Status = whTestOptInToken, OptInStop })},
	},
	{
		name: "opt-in resume notifications, spaces and lower case",
		body: whBodyOf(whItemOf(`"optin":{"type":"notification_messages","notification_messages_token":"` + whTestOptInToken + `","notification_messages_status":"Resume Notifications"}`)),
		want: []Event{whWith(whEv(EventOptIn), func(e *Event) { e.Token, e.Status = whTestOptInToken, OptInResume })},
	},
	{
		name: "opt-in RESUME_NOTIFICATIONS",
		body: whBodyOf(whItemOf(`"optin":{"type":"notification_messages","notification_messages_token":"` + whTestOptInToken + `","notification_messages_status":"RESUME_NOTIFICATIONS"}`)),
		want: []Event{whWith(whEv(EventOptIn), func(e *Event) { e.Token, e.Status = whTestOptInToken, OptInResume })},
	},
	{
		name: "opt-in with an unknown status skipped",
		body: whBodyOf(whItemOf(`"optin":{"type":"notification_messages","notification_messages_token":"` + whTestOptInToken + `","notification_messages_status":"PAUSE_NOTIFICATIONS"}`)),
	},
	{
		name: "opt-ins without a token skipped",
		body: whBodyOf(
			whItemOf(`"optin":{"type":"notification_messages","payload":"daily_deals"}`),
			whItemOf(`"optin":{"type":"notification_messages","notification_messages_token":"","notification_messages_status":"STOP_NOTIFICATIONS"}`),
		),
	},
	{
		name: "other opt-in types skipped",
		body: whBodyOf(
			whItemOf(`"optin":{"type":"one_time_notif_req","payload":"back_in_stock","one_time_notif_token":"otn_1"}`),
			`{"recipient":{"id":"`+whTestPage+`"},"timestamp":1767225600123,"optin":{"ref":"checkout","user_ref":"u_1"}}`,
		),
	},
	{
		name: "delivery with mids",
		body: whBodyOf(whItemOf(`"delivery":{"mids":["m_a","m_b"],"watermark":1767225599000}`)),
		want: []Event{whWith(whEv(EventDelivery), func(e *Event) { e.Watermark, e.MIDs = whMs(1767225599000), []string{"m_a", "m_b"} })},
	},
	{
		name: "delivery without mids",
		body: whBodyOf(whItemOf(`"delivery":{"watermark":1767225599000}`)),
		want: []Event{whWith(whEv(EventDelivery), func(e *Event) { e.Watermark = whMs(1767225599000) })},
	},
	{
		name: "read",
		body: whBodyOf(whItemOf(`"read":{"watermark":1767225599500}`)),
		want: []Event{whWith(whEv(EventRead), func(e *Event) { e.Watermark = whMs(1767225599500) })},
	},
	{
		name: "events herald does not use skipped",
		body: whBodyOf(
			whItemOf(`"reaction":{"reaction":"love","emoji":"\u2764\ufe0f","action":"react","mid":"m_7"}`),
			whItemOf(`"message_edit":{"mid":"m_8","text":"edited","num_edit":1}`),
			whItemOf(`"account_linking":{"status":"linked","authorization_code":"x"}`),
		),
	},
	{
		name: "standby and feed entries skipped",
		body: `{"object":"page","entry":[` +
			`{"id":"` + whTestPage + `","time":1767225600900,"standby":[` + whItemOf(`"message":{"mid":"m_9","text":"to the inbox"}`) + `]},` +
			`{"id":"` + whTestPage + `","time":1767225600900,"changes":[{"field":"feed","value":{"item":"comment"}}]}]}`,
	},
	{
		name: "timestamp missing: entry time",
		body: whBodyOf(`{"sender":{"id":"` + whTestPSID + `"},"recipient":{"id":"` + whTestPage + `"},"message":{"mid":"m_10","text":"hi"}}`),
		want: []Event{whWith(whEv(EventMessage), func(e *Event) { e.At, e.MID, e.Text = whMs(1767225600900), "m_10", "hi" })},
	},
	{
		name: "entry id missing: recipient id",
		body: `{"object":"page","entry":[{"time":1767225600900,"messaging":[` + whItemOf(`"read":{"watermark":1767225599500}`) + `]}]}`,
		want: []Event{whWith(whEv(EventRead), func(e *Event) { e.Watermark = whMs(1767225599500) })},
	},
	{
		name: "items that cannot be read skipped, the others kept",
		body: whBodyOf(
			whItemOf(`"message":"hello"`),
			`{"sender":{"id":24000000000000001},"recipient":{"id":"`+whTestPage+`"},"timestamp":1767225600123,"message":{"text":"numeric id"}}`,
			`{"recipient":{"id":"`+whTestPage+`"},"timestamp":1767225600123,"message":{"text":"no sender"}}`,
			`"not an object"`,
			whItemOf(`"message":{"mid":"m_11","text":"kept"}`),
		),
		want: []Event{whWith(whEv(EventMessage), func(e *Event) { e.MID, e.Text = "m_11", "kept" })},
	},
	{
		name: "several items in several entries keep their order",
		body: `{"object":"page","entry":[` +
			`{"id":"` + whTestPage + `","time":1767225601000,"messaging":[` +
			whItemOf(`"message":{"mid":"m_12","text":"one"}`) + `,` +
			`{"sender":{"id":"` + whTestPSID2 + `"},"recipient":{"id":"` + whTestPage + `"},"timestamp":1767225600200,"postback":{"title":"Get Started","payload":"two"}}` + `]},` +
			`{"id":"220000000000002","time":1767225602000,"messaging":[` +
			`{"sender":{"id":"` + whTestPSID + `"},"recipient":{"id":"220000000000002"},"timestamp":1767225600300,"message":{"mid":"m_13","text":"three"}},` +
			`{"sender":{"id":"` + whTestPSID + `"},"recipient":{"id":"220000000000002"},"timestamp":1767225600400,"read":{"watermark":1767225600350}}` + `]}]}`,
		want: []Event{
			whWith(whEv(EventMessage), func(e *Event) { e.MID, e.Text = "m_12", "one" }),
			{Kind: EventPostback, PageID: whTestPage, PSID: whTestPSID2, At: whMs(1767225600200), Payload: "two"},
			{Kind: EventMessage, PageID: "220000000000002", PSID: whTestPSID, At: whMs(1767225600300), MID: "m_13", Text: "three"},
			{Kind: EventRead, PageID: "220000000000002", PSID: whTestPSID, At: whMs(1767225600400), Watermark: whMs(1767225600350)},
		},
	},
	{
		name: "no entries",
		body: `{"object":"page","entry":[]}`,
	},
}

func TestParseEvents(t *testing.T) {
	t.Parallel()
	for _, tc := range whParseCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseEvents([]byte(tc.body))
			if err != nil {
				t.Fatalf("ParseEvents: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseEvents:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseEventsRefusesWhatIsNotAPageWebhook(t *testing.T) {
	t.Parallel()
	cases := []struct{ body, wantErr string }{
		{``, "not a JSON object"},
		{`not json`, "not a JSON object"},
		{`{"object":"page","entry":[`, "not a JSON object"},
		{`[{"object":"page"}]`, "not a JSON object"},
		{`"page"`, "not a JSON object"},
		{`null`, `object missing: want "page"`},
		{`{"entry":[]}`, `object missing: want "page"`},
		{`{"object":"instagram","entry":[]}`, `object "instagram": want "page"`},
		{`{"object":5}`, `object 5: want "page"`},
		{`{"object":"page","entry":{"id":"1"}}`, "entry: want an array"},
	}
	for _, tc := range cases {
		events, err := ParseEvents([]byte(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || events != nil {
			t.Errorf("ParseEvents(%q) = %v, %v; want an error containing %q", tc.body, events, err, tc.wantErr)
		}
	}
}

func TestParseEventsBoundsWork(t *testing.T) {
	t.Parallel()
	read := whItemOf(`"read":{"watermark":1767225599500}`)
	many := make([]string, webhookMaxItems+10)
	for i := range many {
		many[i] = read
	}
	events, err := ParseEvents([]byte(whBodyOf(many...)))
	if err != nil || len(events) != webhookMaxItems {
		t.Errorf("%d items: got %d events, %v; want %d", len(many), len(events), err, webhookMaxItems)
	}

	entries := make([]string, webhookMaxEntries+10)
	for i := range entries {
		entries[i] = `{"id":"` + whTestPage + `","time":1767225600900,"messaging":[` + read + `]}`
	}
	events, err = ParseEvents([]byte(`{"object":"page","entry":[` + strings.Join(entries, ",") + `]}`))
	if err != nil || len(events) != webhookMaxEntries {
		t.Errorf("%d entries: got %d events, %v; want %d", len(entries), len(events), err, webhookMaxEntries)
	}

	mids := make([]string, webhookMaxMIDs+10)
	for i := range mids {
		mids[i] = fmt.Sprintf(`"m_%d"`, i)
	}
	events, err = ParseEvents([]byte(whBodyOf(whItemOf(`"delivery":{"watermark":1767225599000,"mids":[` + strings.Join(mids, ",") + `]}`))))
	if err != nil || len(events) != 1 || len(events[0].MIDs) != webhookMaxMIDs || events[0].MIDs[0] != "m_0" {
		t.Errorf("%d mids: got %v", len(mids), err)
	}
}

func whSign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestValidSignature(t *testing.T) {
	t.Parallel()
	body := []byte(whParseCases[0].body)
	good := whSign(body, whTestSecret)
	sha1Mac := hmac.New(sha1.New, []byte(whTestSecret))
	sha1Mac.Write(body)
	altered := bytes.Clone(body)
	altered[len(altered)/2] ^= 0x20
	cases := []struct {
		name           string
		body           []byte
		header, secret string
		want           bool
	}{
		{"valid", body, good, whTestSecret, true},
		{"valid, upper-case hex", body, "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), whTestSecret, true},
		{"empty body, valid", nil, whSign(nil, whTestSecret), whTestSecret, true},
		{"missing header", body, "", whTestSecret, false},
		{"wrong secret", body, whSign(body, "another-secret"), whTestSecret, false},
		{"empty secret", body, whSign(body, ""), "", false},
		{"sha1= (legacy X-Hub-Signature)", body, "sha1=" + hex.EncodeToString(sha1Mac.Sum(nil)), whTestSecret, false},
		{"no prefix", body, strings.TrimPrefix(good, "sha256="), whTestSecret, false},
		{"prefix upper case", body, "SHA256=" + strings.TrimPrefix(good, "sha256="), whTestSecret, false},
		{"bad hex", body, "sha256=" + strings.Repeat("zz", 32), whTestSecret, false},
		{"truncated hex", body, good[:len(good)-2], whTestSecret, false},
		{"odd-length hex", body, good[:len(good)-1], whTestSecret, false},
		{"extra hex", body, good + "00", whTestSecret, false},
		{"space after prefix", body, "sha256= " + strings.TrimPrefix(good, "sha256="), whTestSecret, false},
		{"body altered by one byte", altered, good, whTestSecret, false},
	}
	for _, tc := range cases {
		if got := ValidSignature(tc.body, tc.header, tc.secret); got != tc.want {
			t.Errorf("%s: ValidSignature = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// whLog is a goroutine-safe log sink.
type whLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *whLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *whLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// whBundle is what a webhook test needs: a Webhook behind a real HTTP server, the batches
// its Handle got, and its log.
type whBundle struct {
	wh  *Webhook
	url string
	log *whLog

	mu      sync.Mutex
	batches [][]Event
}

func (b *whBundle) handled() [][]Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.batches
}

// whSetup starts a Webhook configured by cfg (VerifyToken, AppSecret, Log and, when nil,
// Handle filled in: Handle records the batches). The log must never hold a secret or an
// opt-in token.
func whSetup(t *testing.T, cfg WebhookConfig) *whBundle {
	t.Helper()
	b := &whBundle{log: &whLog{}}
	if cfg.VerifyToken == "" {
		cfg.VerifyToken = whTestVerifyToken
	}
	if cfg.AppSecret == "" {
		cfg.AppSecret = whTestSecret
	}
	handle := cfg.Handle
	cfg.Handle = func(ctx context.Context, events []Event) {
		b.mu.Lock()
		b.batches = append(b.batches, events)
		b.mu.Unlock()
		if handle != nil {
			handle(ctx, events)
		}
	}
	cfg.Log = slog.New(slog.NewTextHandler(b.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b.wh = NewWebhook(cfg)
	srv := httptest.NewServer(b.wh)
	b.url = srv.URL + "/webhook/messenger"
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.wh.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		logged := b.log.String()
		for _, secret := range []string{cfg.AppSecret, cfg.VerifyToken, "nmt_"} {
			if strings.Contains(logged, secret) {
				t.Errorf("the log holds %q:\n%s", secret, logged)
			}
		}
	})
	return b
}

// whClient fails a test that the webhook does not answer in time rather than hang it.
var whClient = &http.Client{Timeout: 10 * time.Second}

// post sends body with the X-Hub-Signature-256 header sig (none when empty).
func (b *whBundle) post(t *testing.T, body []byte, sig string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return b.do(t, req, sig)
}

func (b *whBundle) do(t *testing.T, req *http.Request, sig string) int {
	t.Helper()
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	res, err := whClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// postSigned posts body signed with the test secret.
func (b *whBundle) postSigned(t *testing.T, body string) int {
	t.Helper()
	return b.post(t, []byte(body), whSign([]byte(body), whTestSecret))
}

// close closes the webhook, which handles what is queued first.
func (b *whBundle) close(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.wh.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestWebhookVerification(t *testing.T) {
	t.Parallel()
	b := whSetup(t, WebhookConfig{})
	cases := []struct {
		name   string
		query  url.Values
		status int
	}{
		{"good token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {whTestVerifyToken}, "hub.challenge": {"1158201444"}}, http.StatusOK},
		{"bad token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"guess"}, "hub.challenge": {"1158201444"}}, http.StatusForbidden},
		{"token with a suffix", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {whTestVerifyToken + "x"}, "hub.challenge": {"1"}}, http.StatusForbidden},
		{"missing token", url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1158201444"}}, http.StatusForbidden},
		{"missing mode", url.Values{"hub.verify_token": {whTestVerifyToken}, "hub.challenge": {"1158201444"}}, http.StatusForbidden},
		{"other mode", url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {whTestVerifyToken}, "hub.challenge": {"1158201444"}}, http.StatusForbidden},
	}
	for _, tc := range cases {
		res, err := whClient.Get(b.url + "?" + tc.query.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, res.StatusCode, tc.status)
			continue
		}
		if tc.status != http.StatusOK {
			if strings.Contains(string(body), "1158201444") {
				t.Errorf("%s: the challenge is echoed on a refusal: %q", tc.name, body)
			}
			continue
		}
		if string(body) != "1158201444" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: body %q, Content-Type %q; want the challenge as text/plain", tc.name, body, res.Header.Get("Content-Type"))
		}
	}
	if len(b.handled()) != 0 {
		t.Errorf("Handle called on GET")
	}
}

func TestWebhookVerificationWithoutToken(t *testing.T) {
	t.Parallel()
	wh := NewWebhook(WebhookConfig{Handle: func(context.Context, []Event) {}})
	t.Cleanup(func() { wh.Close(context.Background()) })
	srv := httptest.NewServer(wh)
	t.Cleanup(srv.Close)
	res, err := whClient.Get(srv.URL + "?hub.mode=subscribe&hub.verify_token=&hub.challenge=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("no VerifyToken configured, empty token given: status %d, want 403", res.StatusCode)
	}
}

func TestWebhookOtherMethods(t *testing.T) {
	t.Parallel()
	b := whSetup(t, WebhookConfig{})
	for _, method := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		req, _ := http.NewRequest(method, b.url, nil)
		res, err := whClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, POST" {
			t.Errorf("%s: status %d, Allow %q; want 405 with Allow: GET, POST", method, res.StatusCode, res.Header.Get("Allow"))
		}
	}
}

func TestWebhookRefusesBadSignatures(t *testing.T) {
	t.Parallel()
	b := whSetup(t, WebhookConfig{})
	body := []byte(whParseCases[0].body)
	good := whSign(body, whTestSecret)
	sha1Mac := hmac.New(sha1.New, []byte(whTestSecret))
	sha1Mac.Write(body)
	altered := bytes.Clone(body)
	altered[bytes.Index(altered, []byte("caf"))] = 'C'
	cases := []struct {
		name string
		body []byte
		sig  string
	}{
		{"missing", body, ""},
		{"wrong secret", body, whSign(body, "another-secret")},
		{"sha1=", body, "sha1=" + hex.EncodeToString(sha1Mac.Sum(nil))},
		{"no prefix", body, strings.TrimPrefix(good, "sha256=")},
		{"bad hex", body, "sha256=" + strings.Repeat("g", 64)},
		{"body altered by one byte after signing", altered, good},
	}
	for _, tc := range cases {
		if status := b.post(t, tc.body, tc.sig); status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", tc.name, status)
		}
	}
	b.close(t)
	if got := b.handled(); len(got) != 0 {
		t.Errorf("Handle called for unsigned bodies: %v", got)
	}
	logged := b.log.String()
	if n := strings.Count(logged, "level=WARN msg=\"messenger webhook: signature refused\""); n != len(cases) {
		t.Errorf("%d signature warnings logged, want %d:\n%s", n, len(cases), logged)
	}
	if strings.Contains(logged, "caf") || strings.Contains(logged, strings.TrimPrefix(good, "sha256=")) {
		t.Errorf("the log holds the body or the signature:\n%s", logged)
	}
}

func TestWebhookWithoutAppSecretRefusesEverything(t *testing.T) {
	t.Parallel()
	var calls int
	wh := NewWebhook(WebhookConfig{VerifyToken: whTestVerifyToken, Handle: func(context.Context, []Event) { calls++ }})
	srv := httptest.NewServer(wh)
	t.Cleanup(srv.Close)
	body := []byte(whParseCases[0].body)
	for _, sig := range []string{"", whSign(body, "")} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		if sig != "" {
			req.Header.Set("X-Hub-Signature-256", sig)
		}
		res, err := whClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("signature %q: status %d, want 403", sig, res.StatusCode)
		}
	}
	if err := wh.Close(context.Background()); err != nil || calls != 0 {
		t.Errorf("Close: %v; Handle called %d times", err, calls)
	}
}

// TestWebhookHandlesEveryKind posts every realistic body, signed, over HTTP: each is answered
// 200, and Handle gets, in order, one batch per body with events.
func TestWebhookHandlesEveryKind(t *testing.T) {
	t.Parallel()
	b := whSetup(t, WebhookConfig{})
	var want [][]Event
	for _, tc := range whParseCases {
		if status := b.postSigned(t, tc.body); status != http.StatusOK {
			t.Errorf("%s: status %d, want 200", tc.name, status)
		}
		if len(tc.want) > 0 {
			want = append(want, tc.want)
		}
	}
	b.close(t)
	if got := b.handled(); !reflect.DeepEqual(got, want) {
		t.Errorf("Handle got\n%+v\nwant\n%+v", got, want)
	}
}

func TestWebhookRefusesBodiesThatDoNotParse(t *testing.T) {
	t.Parallel()
	b := whSetup(t, WebhookConfig{})
	for _, body := range []string{`{"object":"page","entry":[`, `{"object":"instagram","entry":[]}`, ``} {
		if status := b.postSigned(t, body); status != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", body, status)
		}
	}
	b.close(t)
	if got := b.handled(); len(got) != 0 {
		t.Errorf("Handle called: %v", got)
	}
	if n := strings.Count(b.log.String(), "body refused"); n != 3 {
		t.Errorf("%d refusals logged, want 3:\n%s", n, b.log.String())
	}
}

func TestWebhookOversizeBody(t *testing.T) {
	t.Parallel()
	const max = 512
	b := whSetup(t, WebhookConfig{MaxBody: max})
	// A body of exactly n bytes.
	sized := func(n int) []byte {
		base := whBodyOf(whItemOf(`"message":{"mid":"m_1","text":""}`))
		pad := n - len(base)
		if pad < 0 {
			t.Fatalf("base body is %d bytes", len(base))
		}
		return []byte(strings.Replace(base, `"text":""`, `"text":"`+strings.Repeat("a", pad)+`"`, 1))
	}
	at, over := sized(max), sized(max+1)
	if status := b.post(t, at, whSign(at, whTestSecret)); status != http.StatusOK {
		t.Errorf("%d bytes: status %d, want 200", len(at), status)
	}
	if status := b.post(t, over, whSign(over, whTestSecret)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("%d bytes: status %d, want 413", len(over), status)
	}
	// Without Content-Length (chunked), the read itself is bounded.
	req, err := http.NewRequest(http.MethodPost, b.url, io.MultiReader(bytes.NewReader(over)))
	if err != nil {
		t.Fatal(err)
	}
	if status := b.do(t, req, whSign(over, whTestSecret)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("%d bytes chunked: status %d, want 413", len(over), status)
	}
	// A body declared too large is refused before a byte of it is read.
	u, err := url.Parse(b.url)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\nX-Hub-Signature-256: %s\r\n\r\n", u.Path, u.Host, whSign(over, whTestSecret))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("declared 100 MB, nothing sent: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("declared 100 MB: status %d, want 413", res.StatusCode)
	}
	b.close(t)
	if got := b.handled(); len(got) != 1 {
		t.Errorf("Handle got %d batches, want the one that fits", len(got))
	}
}

// whGate holds Handle until the test opens it (or Close gives up).
type whGate struct {
	started chan struct{}
	open    chan struct{}
	once    sync.Once
}

// whSetupGated is whSetup with a Handle held by a gate. The gate opens at the end of the
// test at the latest, so that a failing test ends instead of hanging.
func whSetupGated(t *testing.T, cfg WebhookConfig) (*whBundle, *whGate) {
	t.Helper()
	g := &whGate{started: make(chan struct{}, 100), open: make(chan struct{})}
	cfg.Handle = g.handle
	b := whSetup(t, cfg)
	t.Cleanup(g.release) // runs before whSetup's
	return b, g
}

func (g *whGate) release() { g.once.Do(func() { close(g.open) }) }

func (g *whGate) handle(ctx context.Context, _ []Event) {
	g.started <- struct{}{}
	select {
	case <-g.open:
	case <-ctx.Done():
	}
}

func (g *whGate) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("Handle was not called")
	}
}

func whMessageBody(text string) string {
	return whBodyOf(whItemOf(`"message":{"mid":"m_x","text":"` + text + `"}`))
}

func whTexts(batches [][]Event) []string {
	var texts []string
	for _, batch := range batches {
		for _, ev := range batch {
			texts = append(texts, ev.Text)
		}
	}
	return texts
}

func TestWebhookQueueFull(t *testing.T) {
	t.Parallel()
	b, gate := whSetupGated(t, WebhookConfig{Queue: 1})
	if status := b.postSigned(t, whMessageBody("a")); status != http.StatusOK {
		t.Fatalf("a: status %d", status)
	}
	gate.waitStarted(t) // the worker holds a; the queue is empty
	if status := b.postSigned(t, whMessageBody("b")); status != http.StatusOK {
		t.Fatalf("b: status %d", status)
	}
	if status := b.postSigned(t, whMessageBody("c")); status != http.StatusServiceUnavailable {
		t.Errorf("c, queue full: status %d, want 503", status)
	}
	// A body without events herald uses takes no room: still 200.
	if status := b.postSigned(t, whParseCases[4].body); status != http.StatusOK {
		t.Errorf("echo only, queue full: status %d, want 200", status)
	}
	gate.release()
	b.close(t)
	if got := whTexts(b.handled()); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("handled %q, want a then b", got)
	}
}

func TestWebhookCloseDrainsTheQueue(t *testing.T) {
	t.Parallel()
	b, gate := whSetupGated(t, WebhookConfig{})
	for _, text := range []string{"a", "b", "c"} {
		if status := b.postSigned(t, whMessageBody(text)); status != http.StatusOK {
			t.Fatalf("%s: status %d", text, status)
		}
	}
	gate.waitStarted(t)
	closed := make(chan error, 1)
	go func() { closed <- b.wh.Close(context.Background()) }()
	// Once Close has begun, POSTs are refused; it does not return before the queue is handled.
	deadline := time.Now().Add(10 * time.Second)
	for b.postSigned(t, whMessageBody("late")) != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("POST still accepted after Close")
		}
		time.Sleep(time.Millisecond)
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
	// The polling POSTs accepted before Close began come after a, b and c.
	got := whTexts(b.handled())
	if len(got) < 3 || !reflect.DeepEqual(got[:3], []string{"a", "b", "c"}) || slices.ContainsFunc(got[3:], func(s string) bool { return s != "late" }) {
		t.Errorf("handled %q, want a, b, c, then only late ones", got)
	}
	if status := b.postSigned(t, whMessageBody("after")); status != http.StatusServiceUnavailable {
		t.Errorf("after Close: status %d, want 503", status)
	}
	if err := b.wh.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestWebhookCloseGivesUp(t *testing.T) {
	t.Parallel()
	b, gate := whSetupGated(t, WebhookConfig{})
	b.postSigned(t, whMessageBody("a"))
	b.postSigned(t, whMessageBody("b"))
	gate.waitStarted(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.wh.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close with an ended ctx: %v, want context.Canceled", err)
	}
	// Handle's ctx ended, so the held call returns; b is dropped and that is logged.
	b.close(t)
	if got := whTexts(b.handled()); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("handled %q, want only a", got)
	}
	if !strings.Contains(b.log.String(), "dropped_bodies=1") {
		t.Errorf("the dropped body is not logged:\n%s", b.log.String())
	}
}

func TestWebhookSurvivesAPanickingHandle(t *testing.T) {
	t.Parallel()
	b := whSetup(t, WebhookConfig{Handle: func(_ context.Context, events []Event) {
		if events[0].Text == "boom" {
			panic("handler bug")
		}
	}})
	for _, text := range []string{"boom", "after", "boom", "again"} {
		if status := b.postSigned(t, whMessageBody(text)); status != http.StatusOK {
			t.Fatalf("%s: status %d", text, status)
		}
	}
	b.close(t)
	if got := whTexts(b.handled()); !reflect.DeepEqual(got, []string{"boom", "after", "boom", "again"}) {
		t.Errorf("Handle got %q", got)
	}
	if n := strings.Count(b.log.String(), "Handle panicked"); n != 2 {
		t.Errorf("%d panics logged, want 2:\n%s", n, b.log.String())
	}
}

// TestWebhookWithSandbox has the sandbox, which signs and escapes as Meta does, post events
// to the webhook over HTTP.
func TestWebhookWithSandbox(t *testing.T) {
	t.Parallel()
	b := whSetup(t, WebhookConfig{})
	sb := sandbox.New(sandbox.Options{})
	t.Cleanup(func() { sb.Close() })
	sb.SetMessengerWebhook(b.url, whTestSecret)
	page := sb.MessengerPageID()
	ctx := context.Background()

	inject := func(ev sandbox.MessengerEvent) sandbox.InjectResult {
		t.Helper()
		res, err := sb.InjectMessenger(ctx, ev)
		if err != nil || res.Status != http.StatusOK {
			t.Fatalf("inject %s: status %d, %v", ev.Type, res.Status, err)
		}
		return res
	}
	inject(sandbox.MessengerEvent{PSID: whTestPSID, Type: "message", Text: "Ça marche / 👍", Payload: "YES"})
	inject(sandbox.MessengerEvent{PSID: whTestPSID, Type: "postback", Payload: "GET_STARTED", Ad: true, Ref: "spring"})
	inject(sandbox.MessengerEvent{PSID: whTestPSID, Type: "referral", Ref: "newsletter"})
	optin := inject(sandbox.MessengerEvent{PSID: whTestPSID, Type: "optin", Payload: "deals", Timezone: "Europe/Paris"})
	inject(sandbox.MessengerEvent{PSID: whTestPSID, Type: "optin", Status: "STOP_NOTIFICATIONS"})
	inject(sandbox.MessengerEvent{PSID: whTestPSID, Type: "delivery", Watermark: 1767225599000, MIDs: []string{"m_a"}})
	inject(sandbox.MessengerEvent{PSID: whTestPSID, Type: "read", Watermark: 1767225599500})

	sb.SetMessengerWebhook(b.url, "not-the-app-secret")
	if res, err := sb.InjectMessenger(ctx, sandbox.MessengerEvent{PSID: whTestPSID, Type: "message", Text: "forged"}); err != nil || res.Status != http.StatusForbidden {
		t.Errorf("signed with another secret: status %d, %v; want 403", res.Status, err)
	}
	b.close(t)

	var got []Event
	for _, batch := range b.handled() {
		got = append(got, batch...)
	}
	if len(got) != 7 {
		t.Fatalf("got %d events, want 7: %+v", len(got), got)
	}
	for _, ev := range got {
		if ev.PageID != page || ev.PSID != whTestPSID || ev.At.IsZero() {
			t.Errorf("%s: page %q, PSID %q, at %v", ev.Kind, ev.PageID, ev.PSID, ev.At)
		}
	}
	check := func(i int, kind EventKind, ok bool) {
		t.Helper()
		if got[i].Kind != kind || !ok {
			t.Errorf("event %d: %+v, want a %s", i, got[i], kind)
		}
	}
	check(0, EventMessage, got[0].Text == "Ça marche / 👍" && got[0].Payload == "YES")
	check(1, EventPostback, got[1].Payload == "GET_STARTED" && got[1].Ref == "spring" && got[1].Ad)
	check(2, EventReferral, got[2].Ref == "newsletter" && !got[2].Ad)
	check(3, EventOptIn, got[3].Token == optin.Token && got[3].Token != "" && got[3].Status == "" &&
		got[3].Payload == "deals" && got[3].Timezone == "Europe/Paris" && got[3].ExpiresAt.After(got[3].At))
	check(4, EventOptIn, got[4].Token == optin.Token && got[4].Status == OptInStop)
	check(5, EventDelivery, got[5].Watermark.Equal(whMs(1767225599000)) && reflect.DeepEqual(got[5].MIDs, []string{"m_a"}))
	check(6, EventRead, got[6].Watermark.Equal(whMs(1767225599500)))
}
