package sandbox

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	testPageToken = "EAAGpagetoken"
	testPSID      = "24000000000000001"
	graphVersion  = "/v25.0"
)

// graphReply is a Graph API answer.
type graphReply struct {
	status      int
	raw         string
	RecipientID string `json:"recipient_id"`
	MessageID   string `json:"message_id"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	Error       *struct {
		Message     string `json:"message"`
		Type        string `json:"type"`
		IsTransient bool   `json:"is_transient"`
		Code        int    `json:"code"`
		Subcode     int    `json:"error_subcode"`
		FBTraceID   string `json:"fbtrace_id"`
	} `json:"error"`
}

// setupMessenger starts a sandbox that accepts testPageToken, and knows testPSID, who wrote
// to the page a minute ago.
func setupMessenger(t *testing.T, opts MessengerOptions) *bundle {
	t.Helper()
	if opts.PageTokens == nil {
		opts.PageTokens = []string{testPageToken}
	}
	b := setup(t, Options{Messenger: opts})
	b.interacted(testPSID, time.Minute, false)
	return b
}

// interacted sets psid's last interaction ago before the sandbox's clock.
func (b *bundle) interacted(psid string, ago time.Duration, ad bool) {
	b.srv.SetMessengerUser(psid, MessengerUser{LastInteraction: b.clock.Now().Add(-ago), AdReferral: ad})
}

// send posts a JSON body to the Send API as the page, with the token in the header.
func (b *bundle) send(t *testing.T, body string) graphReply {
	t.Helper()
	return b.graph(t, http.MethodPost, "/me/messages", "application/json", testPageToken, body)
}

func (b *bundle) graph(t *testing.T, method, path, contentType, token, body string) graphReply {
	t.Helper()
	req, err := http.NewRequest(method, b.base+graphVersion+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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
	r := graphReply{status: res.StatusCode, raw: string(data)}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, path, err, data)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	return r
}

func wantGraphError(t *testing.T, r graphReply, code, subcode int, message string) {
	t.Helper()
	if r.status != http.StatusBadRequest || r.Error == nil || r.Error.Code != code || r.Error.Subcode != subcode ||
		r.Error.Message != message || r.Error.Type != "OAuthException" || len(r.Error.FBTraceID) != 11 {
		t.Errorf("got %d %s\nwant 400 code %d subcode %d %q", r.status, r.raw, code, subcode, message)
	}
	if subcode == 0 && strings.Contains(r.raw, "error_subcode") {
		t.Errorf("error_subcode present though 0: %s", r.raw)
	}
}

func wantSent(t *testing.T, r graphReply, psid string) {
	t.Helper()
	if r.status != http.StatusOK || r.Error != nil || r.RecipientID != psid || !strings.HasPrefix(r.MessageID, "m_") {
		t.Fatalf("got %d %s, want a message sent to %s", r.status, r.raw, psid)
	}
}

func TestMessengerSendSuccess(t *testing.T) {
	t.Parallel()
	text := func(s string) string {
		return `{"recipient":{"id":"` + testPSID + `"},"messaging_type":"UPDATE","message":{"text":` + s + `}}`
	}
	for _, tc := range []struct {
		name string
		body string
		want Message
	}{
		{"text", text(`"Hello & <welcome>"`),
			Message{Text: "Hello & <welcome>", Plain: "Hello & <welcome>", MessagingType: "UPDATE", Route: "standard"}},
		{"2000 characters beyond ASCII", text(`"` + strings.Repeat("é", 2000) + `"`),
			Message{Text: strings.Repeat("é", 2000), Plain: strings.Repeat("é", 2000), MessagingType: "UPDATE", Route: "standard"}},
		{"quick replies and metadata",
			`{"recipient":{"id":"` + testPSID + `"},"messaging_type":"RESPONSE","notification_type":"SILENT_PUSH","message":{"text":"Pick","metadata":"` + strings.Repeat("m", 999) + `",` +
				`"quick_replies":[{"content_type":"text","title":"Yes","payload":"Y"},{"content_type":"text","title":"No","payload":"N"}]}}`,
			Message{Text: "Pick", Plain: "Pick", MessagingType: "RESPONSE", Route: "standard", NotificationType: "SILENT_PUSH", QuickReplies: []string{"Yes", "No"}}},
		{"image with quick replies",
			`{"recipient":{"id":"` + testPSID + `"},"messaging_type":"UPDATE","message":{"attachment":{"type":"image","payload":{"url":"https://e.com/a.png","is_reusable":true}},` +
				`"quick_replies":[{"content_type":"text","title":"More","payload":"MORE"}]}}`,
			Message{MessagingType: "UPDATE", Route: "standard", Media: []Media{{Kind: "image", URL: "https://e.com/a.png", MessageID: 1}}, QuickReplies: []string{"More"}}},
		{"file",
			`{"recipient":{"id":"` + testPSID + `"},"messaging_type":"UPDATE","message":{"attachment":{"type":"file","payload":{"url":"http://e.com/a.pdf"}}}}`,
			Message{MessagingType: "UPDATE", Route: "standard", Media: []Media{{Kind: "file", URL: "http://e.com/a.pdf", MessageID: 1}}}},
		{"button template",
			`{"recipient":{"id":"` + testPSID + `"},"messaging_type":"UPDATE","message":{"attachment":{"type":"template","payload":{"template_type":"button","text":"New post",` +
				`"buttons":[{"type":"web_url","url":"https://e.com/p/1","title":"Read"},{"type":"postback","title":"Stop","payload":"STOP"}]}}}}`,
			Message{Text: "New post", Plain: "New post", MessagingType: "UPDATE", Route: "standard",
				Buttons: []Button{{Text: "Read", URL: "https://e.com/p/1"}, {Text: "Stop", Callback: "STOP", Row: 1}}}},
		{"generic template",
			`{"recipient":{"id":"` + testPSID + `"},"messaging_type":"UPDATE","message":{"attachment":{"type":"template","payload":{"template_type":"generic","elements":[` +
				`{"title":"Ten tips","subtitle":"and more","image_url":"https://e.com/1.jpg","default_action":{"type":"web_url","url":"https://e.com/1"},` +
				`"buttons":[{"type":"web_url","url":"https://e.com/1","title":"Read"}]},` +
				`{"title":"Second","buttons":[{"type":"postback","title":"Save","payload":"SAVE_2"}]}]}}}}`,
			Message{Text: "Ten tips\nand more", Plain: "Ten tips\nand more", MessagingType: "UPDATE", Route: "standard",
				Media:   []Media{{Kind: "image", URL: "https://e.com/1.jpg", Caption: "Ten tips", MessageID: 1}},
				Buttons: []Button{{Text: "Read", URL: "https://e.com/1"}, {Text: "Save", Callback: "SAVE_2", Row: 1}},
				Elements: []Element{
					{Title: "Ten tips", Subtitle: "and more", Image: "https://e.com/1.jpg", Link: "https://e.com/1", Buttons: []Button{{Text: "Read", URL: "https://e.com/1"}}},
					{Title: "Second", Buttons: []Button{{Text: "Save", Callback: "SAVE_2", Row: 1}}},
				}}},
		{"tag",
			`{"recipient":{"id":"` + testPSID + `"},"messaging_type":"MESSAGE_TAG","tag":"ACCOUNT_UPDATE","message":{"text":"Your plan renews"}}`,
			Message{Text: "Your plan renews", Plain: "Your plan renews", MessagingType: "MESSAGE_TAG", Tag: "ACCOUNT_UPDATE", Route: "tag"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setupMessenger(t, MessengerOptions{})
			r := b.send(t, tc.body)
			wantSent(t, r, testPSID)
			msgs := b.srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages recorded", len(msgs))
			}
			got := msgs[0]
			if got.MID != r.MessageID || !got.Time.Equal(b.clock.Now()) {
				t.Errorf("mid %q time %v, want %q %v", got.MID, got.Time, r.MessageID, b.clock.Now())
			}
			want := tc.want
			want.Seq, want.ID, want.Channel, want.Bot, want.Chat, want.Method = 1, 1, "messenger", DefaultMessengerPageID, testPSID, "messages"
			got.MID, got.Time = "", time.Time{}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("recorded\n %+v\nwant\n %+v", got, want)
			}
		})
	}
}

func TestMessengerSendForms(t *testing.T) {
	t.Parallel()
	b := setupMessenger(t, MessengerOptions{PageID: "555"})
	// Meta's curl examples: urlencoded, recipient and message JSON-encoded, the token in the query.
	form := url.Values{
		"recipient":      {`{"id":"` + testPSID + `"}`},
		"messaging_type": {"RESPONSE"},
		"message":        {`{"text":"hello, world"}`},
	}
	r := b.graph(t, http.MethodPost, "/555/messages?access_token="+testPageToken, "application/x-www-form-urlencoded", "", form.Encode())
	wantSent(t, r, testPSID)
	form.Set("access_token", testPageToken)
	r = b.graph(t, http.MethodPost, "/555/messages", "application/x-www-form-urlencoded", "", form.Encode())
	wantSent(t, r, testPSID)
	form.Set("message", `{"text":`)
	wantGraphError(t, b.graph(t, http.MethodPost, "/555/messages", "application/x-www-form-urlencoded", "", form.Encode()),
		100, 0, "(#100) param message must be a JSON-encoded object")

	// Another version, and the "OAuth" scheme.
	req, _ := http.NewRequest(http.MethodPost, b.base+"/v19.0/555/messages", strings.NewReader(`{"recipient":{"id":"`+testPSID+`"},"messaging_type":"UPDATE","message":{"text":"x"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "OAuth "+testPageToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("v19.0 with OAuth header: %d", res.StatusCode)
	}
	for _, m := range b.srv.Messages() {
		if m.Bot != "555" || m.Chat != testPSID || m.Channel != "messenger" {
			t.Errorf("recorded %+v", m)
		}
	}
	reqs := b.srv.Requests()
	if got := reqs[0]; got.Channel != "messenger" || got.Bot != "555" || got.Method != "555/messages" || got.Format != "form" ||
		!reflect.DeepEqual(got.Fields, []string{"message", "messaging_type", "recipient"}) || got.Status != 200 {
		t.Errorf("request log %+v", got)
	}
	if got := reqs[2]; got.Status != 400 || got.ErrorCode != 100 || got.Description != "(#100) param message must be a JSON-encoded object" {
		t.Errorf("request log of an error %+v", got)
	}
}

func TestMessengerPage(t *testing.T) {
	t.Parallel()
	b := setupMessenger(t, MessengerOptions{PageName: "Café Herald"})
	r := b.graph(t, http.MethodGet, "/me", "", testPageToken, "")
	if r.status != 200 || r.ID != DefaultMessengerPageID || r.Name != "Café Herald" {
		t.Errorf("GET me: %d %s", r.status, r.raw)
	}
	if want := `{"name":"Caf\u00e9 Herald","id":"` + DefaultMessengerPageID + `"}`; r.raw != want {
		t.Errorf("GET me answered %s, want Meta's escaping %s", r.raw, want)
	}
	r = b.graph(t, http.MethodGet, "/"+DefaultMessengerPageID+"?fields=id&access_token="+testPageToken, "", "", "")
	if r.status != 200 || r.raw != `{"id":"`+DefaultMessengerPageID+`"}` {
		t.Errorf("GET page?fields=id: %d %s", r.status, r.raw)
	}
	wantGraphError(t, b.graph(t, http.MethodGet, "/me?fields=name,likes", "", testPageToken, ""),
		100, 0, "(#100) Tried accessing nonexisting field (likes) on node type (Page)")
	wantGraphError(t, b.graph(t, http.MethodGet, "/42", "", testPageToken, ""),
		100, 33, fmt.Sprintf(graphUnsupported, "get", "42"))
}

func TestMessengerTokensAndPaths(t *testing.T) {
	t.Parallel()
	body := `{"recipient":{"id":"` + testPSID + `"},"messaging_type":"UPDATE","message":{"text":"x"}}`
	b := setupMessenger(t, MessengerOptions{})
	for _, token := range []string{"", "EAAGwrong"} {
		r := b.graph(t, http.MethodPost, "/me/messages", "application/json", token, body)
		wantGraphError(t, r, 190, 0, "Invalid OAuth access token - Cannot parse access token")
	}
	wantGraphError(t, b.graph(t, http.MethodGet, "/me", "", "", ""), 190, 0, "Invalid OAuth access token - Cannot parse access token")
	wantGraphError(t, b.graph(t, http.MethodPost, "/999/messages", "application/json", testPageToken, body),
		100, 33, "Unsupported post request. Object with ID '999' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api")
	wantGraphError(t, b.graph(t, http.MethodGet, "/me/messages", "", testPageToken, ""),
		100, 33, fmt.Sprintf(graphUnsupported, "get", "me"))
	wantGraphError(t, b.graph(t, http.MethodPost, "/me/feed", "application/json", testPageToken, body),
		2500, 0, "Unknown path components: /me/feed")
	wantGraphError(t, b.graph(t, http.MethodPost, "/me/messages", "text/plain", testPageToken, body),
		100, 0, `(#100) Unsupported Content-Type "text/plain": send application/json or application/x-www-form-urlencoded`)
	if n := len(b.srv.Messages()); n != 0 {
		t.Errorf("%d messages recorded", n)
	}

	// Without PageTokens, any non-empty token goes; a missing one never does.
	open := setup(t, Options{})
	open.interacted(testPSID, time.Minute, false)
	wantSent(t, open.graph(t, http.MethodPost, "/me/messages", "application/json", "anything", body), testPSID)
	wantGraphError(t, open.graph(t, http.MethodPost, "/me/messages", "application/json", "", body), 190, 0, graphInvalidToken)

	// appsecret_proof, when sent, must match the app secret.
	withSecret := setupMessenger(t, MessengerOptions{AppSecret: "s3cret"})
	proof := hexHMAC(sha256.New, "s3cret", []byte(testPageToken))
	wantSent(t, withSecret.graph(t, http.MethodPost, "/me/messages?appsecret_proof="+proof, "application/json", testPageToken, body), testPSID)
	wantGraphError(t, withSecret.graph(t, http.MethodPost, "/me/messages?appsecret_proof=00"+proof[2:], "application/json", testPageToken, body),
		100, 0, "Invalid appsecret_proof provided in the API argument")
}

func TestMessengerValidation(t *testing.T) {
	t.Parallel()
	b := setupMessenger(t, MessengerOptions{})
	to := `"recipient":{"id":"` + testPSID + `"},"messaging_type":"UPDATE",`
	withMessage := func(message string) string { return `{` + to + `"message":` + message + `}` }
	attachment := func(payload string) string {
		return withMessage(`{"attachment":{"type":"template","payload":` + payload + `}}`)
	}
	elements := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf(`{"title":"T%d"}`, i)
		}
		return attachment(`{"template_type":"generic","elements":[` + strings.Join(items, ",") + `]}`)
	}
	quickReplies := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf(`{"content_type":"text","title":"Q%d","payload":"P%d"}`, i, i)
		}
		return withMessage(`{"text":"x","quick_replies":[` + strings.Join(items, ",") + `]}`)
	}
	buttons := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = `{"type":"postback","title":"B","payload":"P"}`
		}
		return attachment(`{"template_type":"button","text":"x","buttons":[` + strings.Join(items, ",") + `]}`)
	}
	for _, tc := range []struct {
		body, want string
	}{
		{`{}`, "(#100) param recipient must be non-empty."},
		{`{"recipient":{},"messaging_type":"UPDATE","message":{"text":"x"}}`, "(#100) param recipient must be non-empty."},
		{`{"recipient":{"id":"` + testPSID + `","notification_messages_token":"t"},"message":{"text":"x"}}`, "(#100) param recipient must have exactly one of id and notification_messages_token"},
		{`{"recipient":{"id":"abc"},"messaging_type":"UPDATE","message":{"text":"x"}}`, `(#100) Param recipient[id] must be a valid ID string (e.g., "123")`},
		{`{"recipient":{"id":24000000000000001},"messaging_type":"UPDATE","message":{"text":"x"}}`, "(#100) param recipient[id] must be a string"},
		{`{"recipient":{"user_ref":"x"},"messaging_type":"UPDATE","message":{"text":"x"}}`, "(#100) param recipient[user_ref] is not a valid field"},
		{`{"recipient":{"id":"` + testPSID + `"},"message":{"text":"x"}}`, "(#100) param messaging_type must be non-empty."},
		{`{"recipient":{"id":"` + testPSID + `"},"messaging_type":"update","message":{"text":"x"}}`, `(#100) param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG} - got "update"`},
		{`{"recipient":{"id":"` + testPSID + `"},"messaging_type":"MESSAGE_TAG","message":{"text":"x"}}`, "(#100) param tag must be non-empty."},
		{`{"recipient":{"id":"` + testPSID + `"},"messaging_type":"MESSAGE_TAG","tag":"PROMO","message":{"text":"x"}}`, `(#100) param tag must be one of {CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE, ACCOUNT_UPDATE, HUMAN_AGENT} - got "PROMO"`},
		{`{` + to + `"tag":"ACCOUNT_UPDATE","message":{"text":"x"}}`, "(#100) param tag may only be sent with messaging_type MESSAGE_TAG"},
		{`{` + to + `"notification_type":"LOUD","message":{"text":"x"}}`, `(#100) param notification_type must be one of {REGULAR, SILENT_PUSH, NO_PUSH} - got "LOUD"`},
		{`{"recipient":{"notification_messages_token":"t"},"messaging_type":"MESSAGE_TAG","tag":"ACCOUNT_UPDATE","message":{"text":"x"}}`, "(#100) param tag may not be sent to a recipient[notification_messages_token]"},
		{`{` + to + `"persona_id":"1","message":{"text":"x"}}`, "(#100) param persona_id is not a valid field"},
		{`{` + to + `"message":"hi"}`, "(#100) param message must be a JSON object"},
		{`{` + to + `"page_id":"1","message":{"text":"x"}}`, "(#100) param page_id is not a valid field"},
		{withMessage(`{}`), "(#100) param message must have exactly one of text and attachment"},
		{withMessage(`{"text":"x","attachment":{}}`), "(#100) param message must have exactly one of text and attachment"},
		{withMessage(`{"text":""}`), "(#100) param message[text] must be non-empty."},
		{withMessage(`{"text":"` + strings.Repeat("é", 2001) + `"}`), "(#100) Length of param message[text] must be less than or equal to 2000"},
		{withMessage(`{"text":"x","metadata":"` + strings.Repeat("m", 1000) + `"}`), "(#100) Length of param message[metadata] must be less than 1000"},
		{withMessage(`{"text":"x","sticker_id":1}`), "(#100) param message[sticker_id] is not a valid field"},
		{quickReplies(14), "(#100) param message[quick_replies] must have from 1 to 13 items, got 14"},
		{quickReplies(0), "(#100) param message[quick_replies] must have from 1 to 13 items, got 0"},
		{withMessage(`{"text":"x","quick_replies":[{"content_type":"text","title":"` + strings.Repeat("q", 21) + `","payload":"P"}]}`), "(#100) Length of param message[quick_replies][0][title] must be less than or equal to 20"},
		{withMessage(`{"text":"x","quick_replies":[{"content_type":"text","title":"Q"}]}`), "(#100) param message[quick_replies][0][payload] must be non-empty."},
		{withMessage(`{"text":"x","quick_replies":[{"content_type":"user_email"}]}`), `(#100) param message[quick_replies][0][content_type] must be one of {text} - got "user_email"`},
		{withMessage(`{"text":"x","quick_replies":[{"content_type":"text","title":"Q","payload":"P","image_url":"https://e.com/i.png"}]}`), "(#100) param message[quick_replies][0][image_url] is not a valid field"},
		{withMessage(`{"attachment":{"type":"sticker","payload":{}}}`), `(#100) param message[attachment][type] must be one of {image, video, audio, file, template} - got "sticker"`},
		{withMessage(`{"attachment":{"type":"image","payload":{"url":"ftp://e.com/a.png"}}}`), `(#100) param message[attachment][payload][url] must be a valid URL with the http or https scheme, got "ftp://e.com/a.png"`},
		{withMessage(`{"attachment":{"type":"image","payload":{"attachment_id":"1"}}}`), "(#100) param message[attachment][payload][attachment_id] is not a valid field"},
		{withMessage(`{"attachment":{"type":"image","payload":{"url":"https://e.com/a.png","is_reusable":"yes"}}}`), "(#100) param message[attachment][payload][is_reusable] must be a boolean"},
		{withMessage(`{"attachment":{"type":"image"}}`), "(#100) param message[attachment][payload] must be non-empty."},
		{attachment(`{"template_type":"media"}`), `(#100) param message[attachment][payload][template_type] must be one of {button, generic} - got "media"`},
		{attachment(`{"template_type":"button","text":"` + strings.Repeat("x", 641) + `","buttons":[{"type":"postback","title":"B","payload":"P"}]}`), "(#100) Length of param message[attachment][payload][text] must be less than or equal to 640"},
		{buttons(4), "(#100) param message[attachment][payload][buttons] must have from 1 to 3 items, got 4"},
		{buttons(0), "(#100) param message[attachment][payload][buttons] must have from 1 to 3 items, got 0"},
		{attachment(`{"template_type":"button","text":"x"}`), "(#100) param message[attachment][payload][buttons] must be non-empty."},
		{attachment(`{"template_type":"button","text":"x","sharable":true,"buttons":[]}`), "(#100) param message[attachment][payload][sharable] is not a valid field"},
		{attachment(`{"template_type":"button","text":"x","buttons":[{"type":"phone_number","title":"Call","payload":"+1"}]}`), `(#100) param message[attachment][payload][buttons][0][type] must be one of {web_url, postback} - got "phone_number"`},
		{attachment(`{"template_type":"button","text":"x","buttons":[{"type":"web_url","title":"Go","url":"e.com"}]}`), `(#100) param message[attachment][payload][buttons][0][url] must be a valid URL with the http or https scheme, got "e.com"`},
		{attachment(`{"template_type":"button","text":"x","buttons":[{"type":"web_url","title":"Go","url":"https://e.com","payload":"P"}]}`), "(#100) param message[attachment][payload][buttons][0][payload] is not a valid field"},
		{attachment(`{"template_type":"button","text":"x","buttons":[{"type":"postback","title":"` + strings.Repeat("b", 21) + `","payload":"P"}]}`), "(#100) Length of param message[attachment][payload][buttons][0][title] must be less than or equal to 20"},
		{attachment(`{"template_type":"button","text":"x","buttons":[{"type":"postback","title":"B","payload":"` + strings.Repeat("p", 1001) + `"}]}`), "(#100) Length of param message[attachment][payload][buttons][0][payload] must be less than or equal to 1000"},
		{elements(11), "(#100) param message[attachment][payload][elements] must have from 1 to 10 items, got 11"},
		{attachment(`{"template_type":"generic","elements":[{"subtitle":"s"}]}`), "(#100) param message[attachment][payload][elements][0][title] must be non-empty."},
		{attachment(`{"template_type":"generic","elements":[{"title":"` + strings.Repeat("t", 81) + `"}]}`), "(#100) Length of param message[attachment][payload][elements][0][title] must be less than or equal to 80"},
		{attachment(`{"template_type":"generic","elements":[{"title":"t","subtitle":"` + strings.Repeat("s", 81) + `"}]}`), "(#100) Length of param message[attachment][payload][elements][0][subtitle] must be less than or equal to 80"},
		{attachment(`{"template_type":"generic","elements":[{"title":"t","image_url":""}]}`), `(#100) param message[attachment][payload][elements][0][image_url] must be a valid URL with the http or https scheme, got ""`},
		{attachment(`{"template_type":"generic","elements":[{"title":"t","default_action":{"type":"web_url","url":"https://e.com","webview_height_ratio":"tall"}}]}`), "(#100) param message[attachment][payload][elements][0][default_action][webview_height_ratio] is not a valid field"},
		{attachment(`{"template_type":"generic","elements":[{"title":"t"},{"title":"u","buttons":[{"type":"postback","title":"B","payload":"P","url":"x"}]}]}`), "(#100) param message[attachment][payload][elements][1][buttons][0][url] is not a valid field"},
		{attachment(`{"template_type":"generic","elements":["t"]}`), "(#100) param message[attachment][payload][elements][0] must be a JSON object"},
		{`{"recipient":`, "(#100) The request body is not a valid JSON object: unexpected EOF"},
	} {
		wantGraphError(t, b.send(t, tc.body), 100, 0, tc.want)
	}
	if n := len(b.srv.Messages()); n != 0 {
		t.Errorf("%d messages recorded", n)
	}
	// The limits themselves pass.
	wantSent(t, b.send(t, elements(10)), testPSID)
	wantSent(t, b.send(t, quickReplies(13)), testPSID)
	wantSent(t, b.send(t, buttons(3)), testPSID)
}

func TestMessengerRecipients(t *testing.T) {
	t.Parallel()
	b := setupMessenger(t, MessengerOptions{})
	body := func(psid string) string {
		return `{"recipient":{"id":"` + psid + `"},"messaging_type":"MESSAGE_TAG","tag":"ACCOUNT_UPDATE","message":{"text":"x"}}`
	}
	wantGraphError(t, b.send(t, body("24000000000000999")), 100, 2018001, "(#100) No matching user found")
	b.srv.SetMessengerUser("24000000000000002", MessengerUser{LastInteraction: b.clock.Now(), Unavailable: true})
	wantGraphError(t, b.send(t, body("24000000000000002")), 551, 1545041, "(#551) This person isn't available right now.")
	b.srv.DeleteMessengerUser(testPSID)
	wantGraphError(t, b.send(t, body(testPSID)), 100, 2018001, "(#100) No matching user found")
	if n := len(b.srv.Messages()); n != 0 {
		t.Errorf("%d messages recorded", n)
	}
}

func TestMessengerWindow(t *testing.T) {
	t.Parallel()
	standard := `{"recipient":{"id":"` + testPSID + `"},"messaging_type":"RESPONSE","message":{"text":"x"}}`
	tagged := func(tag string) string {
		return `{"recipient":{"id":"` + testPSID + `"},"messaging_type":"MESSAGE_TAG","tag":"` + tag + `","message":{"text":"x"}}`
	}
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name   string
		ago    time.Duration // since the last interaction; 0: never
		ad     bool
		body   string
		inside bool
	}{
		{"23h59m", 23*time.Hour + 59*time.Minute, false, standard, true},
		{"exactly 24h", day, false, standard, false},
		{"24h01m", day + time.Minute, false, standard, false},
		{"never interacted", 0, false, standard, false},
		{"ad referral 6 days", 6 * day, true, standard, true},
		{"ad referral 7 days 1 minute", 7*day + time.Minute, true, standard, false},
		{"HUMAN_AGENT 6 days", 6 * day, false, tagged("HUMAN_AGENT"), true},
		{"HUMAN_AGENT 7 days 1 minute", 7*day + time.Minute, false, tagged("HUMAN_AGENT"), false},
		{"ACCOUNT_UPDATE 30 days", 30 * day, false, tagged("ACCOUNT_UPDATE"), true},
		{"CONFIRMED_EVENT_UPDATE never", 0, false, tagged("CONFIRMED_EVENT_UPDATE"), true},
		{"POST_PURCHASE_UPDATE 2 days", 2 * day, false, tagged("POST_PURCHASE_UPDATE"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setupMessenger(t, MessengerOptions{})
			u := MessengerUser{AdReferral: tc.ad}
			if tc.ago > 0 {
				u.LastInteraction = b.clock.Now().Add(-tc.ago)
			}
			b.srv.SetMessengerUser(testPSID, u)
			r := b.send(t, tc.body)
			if tc.inside {
				wantSent(t, r, testPSID)
			} else {
				wantGraphError(t, r, 10, 2018278, "(#10) This message is sent outside of allowed window.")
			}
		})
	}

	t.Run("the window moves with the clock", func(t *testing.T) {
		t.Parallel()
		b := setupMessenger(t, MessengerOptions{})
		b.interacted(testPSID, 0, false)
		b.clock.Advance(23*time.Hour + 59*time.Minute)
		wantSent(t, b.send(t, standard), testPSID)
		b.clock.Advance(2 * time.Minute)
		wantGraphError(t, b.send(t, standard), 10, 2018278, graphOutsideWindow)
		wantSent(t, b.send(t, tagged("POST_PURCHASE_UPDATE")), testPSID)
	})
}

func TestMessengerNotificationTokens(t *testing.T) {
	t.Parallel()
	b := setupMessenger(t, MessengerOptions{})
	ctx := t.Context()
	res, err := b.srv.InjectMessenger(ctx, MessengerEvent{PSID: testPSID, Type: "optin", Payload: "weekly", Timezone: "Europe/Rome"})
	if err != nil {
		t.Fatal(err)
	}
	token := res.Token
	if !strings.HasPrefix(token, "nmt_") || res.Posted {
		t.Fatalf("optin: %+v", res)
	}
	recurring := `{"recipient":{"notification_messages_token":"` + token + `"},"message":{"text":"This week"}}`
	marketing := `{"page_id":"` + DefaultMessengerPageID + `","recipient":{"notification_messages_token":"` + token + `"},"message":{"text":"Sale"}}`
	sendMarketing := func() graphReply {
		return b.graph(t, http.MethodPost, "/act_1234/messages", "application/json", testPageToken, marketing)
	}

	// Outside the 24-hour window, the token still works, once per 48 hours.
	b.clock.Advance(72 * time.Hour)
	wantSent(t, b.send(t, recurring), testPSID)
	const capMessage = "(#10) Only one message per 48 hours may be sent with a notification_messages_token: the last one was sent at 2026-06-04T12:00:00Z."
	b.clock.Advance(47 * time.Hour)
	wantGraphError(t, b.send(t, recurring), 10, 2018453, capMessage)
	// The Marketing Messages route has no such cap.
	wantSent(t, sendMarketing(), testPSID)
	wantSent(t, sendMarketing(), testPSID)
	b.clock.Advance(time.Hour)
	wantSent(t, b.send(t, recurring), testPSID)

	msgs := b.srv.Messages()
	if len(msgs) != 4 || msgs[0].Route != "recurring" || msgs[1].Route != "marketing" || msgs[0].Chat != testPSID || msgs[1].MessagingType != "" {
		t.Errorf("recorded %+v", msgs)
	}

	// STOP and RESUME switch the token.
	if _, err := b.srv.InjectMessenger(ctx, MessengerEvent{PSID: testPSID, Type: "optin", Status: "STOP_NOTIFICATIONS"}); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(49 * time.Hour)
	const stopped = "(#10) This person has stopped notification messages from your Page: the notification_messages_token's status is STOP_NOTIFICATIONS."
	wantGraphError(t, b.send(t, recurring), 10, 2018451, stopped)
	wantGraphError(t, sendMarketing(), 10, 2018451, stopped)
	if u, _ := b.srv.MessengerUser(testPSID); len(u.Tokens) != 1 || u.Tokens[0].Status != TokenStopped {
		t.Errorf("after STOP: %+v", u)
	}
	if _, err := b.srv.InjectMessenger(ctx, MessengerEvent{PSID: testPSID, Type: "optin", Status: "RESUME_NOTIFICATIONS"}); err != nil {
		t.Fatal(err)
	}
	wantSent(t, b.send(t, recurring), testPSID)

	// A year after the opt-in, the token has expired.
	b.clock.Advance(365 * 24 * time.Hour)
	wantGraphError(t, b.send(t, recurring), 10, 2018452, "(#10) The notification_messages_token has expired: ask the person to opt in again.")
	wantGraphError(t, sendMarketing(), 10, 2018452, graphTokenExpired)

	// Unknown tokens, and a marketing message's page and recipient.
	wantGraphError(t, b.send(t, `{"recipient":{"notification_messages_token":"nmt_nope"},"message":{"text":"x"}}`), 100, 0, "(#100) Invalid notification_messages_token")
	wantGraphError(t, b.graph(t, http.MethodPost, "/act_1234/messages", "application/json", testPageToken,
		`{"page_id":"42","recipient":{"notification_messages_token":"`+token+`"},"message":{"text":"x"}}`), 100, 33, fmt.Sprintf(graphUnsupported, "post", "42"))
	wantGraphError(t, b.graph(t, http.MethodPost, "/act_1234/messages", "application/json", testPageToken,
		`{"page_id":"`+DefaultMessengerPageID+`","recipient":{"id":"`+testPSID+`"},"message":{"text":"x"}}`), 100, 0, graphMarketingByPSID)
	wantGraphError(t, b.graph(t, http.MethodPost, "/act_1234/messages", "application/json", testPageToken,
		`{"recipient":{"notification_messages_token":"`+token+`"},"message":{"text":"x"}}`), 100, 0, "(#100) param page_id must be non-empty.")
	wantGraphError(t, b.graph(t, http.MethodPost, "/act_1234/messages", "application/json", testPageToken,
		`{"page_id":"`+DefaultMessengerPageID+`","messaging_type":"UPDATE","recipient":{"notification_messages_token":"`+token+`"},"message":{"text":"x"}}`), 100, 0, "(#100) param messaging_type is not a valid field")

	// An unavailable person's tokens fail too.
	u, _ := b.srv.MessengerUser(testPSID)
	u.Unavailable = true
	u.Tokens[0].Expires = b.clock.Now().Add(time.Hour)
	b.srv.SetMessengerUser(testPSID, u)
	wantGraphError(t, sendMarketing(), 551, 1545041, graphUnavailable)
}

func TestMessengerRateLimit(t *testing.T) {
	t.Parallel()
	b := setupMessenger(t, MessengerOptions{Rate: 2, MediaRate: 1})
	text := `{"recipient":{"id":"` + testPSID + `"},"messaging_type":"UPDATE","message":{"text":"x"}}`
	video := `{"recipient":{"id":"` + testPSID + `"},"messaging_type":"UPDATE","message":{"attachment":{"type":"video","payload":{"url":"https://e.com/v.mp4"}}}}`
	image := `{"recipient":{"id":"` + testPSID + `"},"messaging_type":"UPDATE","message":{"attachment":{"type":"image","payload":{"url":"https://e.com/i.png"}}}}`
	wantSent(t, b.send(t, text), testPSID)
	wantSent(t, b.send(t, text), testPSID)
	wantGraphError(t, b.send(t, text), 613, 0, "(#613) Calls to this api have exceeded the rate limit.")
	b.clock.Advance(time.Second)
	wantSent(t, b.send(t, video), testPSID)
	wantGraphError(t, b.send(t, video), 613, 0, graphRateLimit)
	wantSent(t, b.send(t, image), testPSID) // images are not media for the rate
	if n := len(b.srv.Messages()); n != 4 {
		t.Errorf("%d messages recorded, want 4: a 613 records nothing", n)
	}

	// The control API changes the rates.
	var rate messengerRate
	if status := b.control(t, "PUT", "/__sandbox/messenger/rate", `{"per_second":0,"media_per_second":0}`, &rate); status != 200 || rate != (messengerRate{}) {
		t.Fatalf("PUT rate: %d %+v", status, rate)
	}
	for range 20 {
		wantSent(t, b.send(t, video), testPSID)
	}
	b.control(t, "PUT", "/__sandbox/messenger/rate", `{"per_second":1,"media_per_second":0}`, &rate)
	wantSent(t, b.send(t, video), testPSID)
	wantGraphError(t, b.send(t, text), 613, 0, graphRateLimit)
	if status := b.control(t, "GET", "/__sandbox/messenger/rate", "", &rate); status != 200 || rate != (messengerRate{PerSecond: 1}) {
		t.Errorf("GET rate: %d %+v", status, rate)
	}
	var e map[string]string
	for _, bad := range []string{`{"per_second":-1}`, `{"burst":3}`, ``} {
		if status := b.control(t, "PUT", "/__sandbox/messenger/rate", bad, &e); status != 400 || !strings.HasPrefix(e["error"], "messenger rate: ") {
			t.Errorf("PUT rate %s: %d %v", bad, status, e)
		}
	}
}

func TestMessengerFaults(t *testing.T) {
	t.Parallel()
	body := `{"recipient":{"id":"` + testPSID + `"},"messaging_type":"UPDATE","message":{"text":"x"}}`
	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		b := setupMessenger(t, MessengerOptions{})
		b.srv.SetFaults(Faults{ErrorRate: 1})
		r := b.send(t, body)
		if r.status != 500 || r.Error == nil || r.Error.Code != 2 || !r.Error.IsTransient || r.Error.Type != "OAuthException" ||
			r.Error.Message != "An unexpected error has occurred. Please retry your request later." {
			t.Errorf("got %d %s", r.status, r.raw)
		}
		if !strings.HasPrefix(r.raw, `{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","is_transient":true,"code":2,"fbtrace_id":"`) {
			t.Errorf("envelope %s", r.raw)
		}
		if n := len(b.srv.Messages()); n != 0 {
			t.Errorf("%d messages recorded: a 500 comes before processing", n)
		}
	})
	t.Run("drop", func(t *testing.T) {
		t.Parallel()
		b := setupMessenger(t, MessengerOptions{})
		b.srv.SetFaults(Faults{DropRate: 1})
		req, _ := http.NewRequest(http.MethodPost, b.base+"/v25.0/me/messages", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testPageToken)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("got an answer %d, want the connection closed", res.StatusCode)
		}
		if msgs := b.srv.Messages(); len(msgs) != 1 || msgs[0].Text != "x" {
			t.Errorf("messages %+v, want the dropped one recorded", msgs)
		}
		if reqs := b.srv.Requests(); len(reqs) != 1 || reqs[0].Status != 0 || reqs[0].Channel != "messenger" {
			t.Errorf("requests %+v", reqs)
		}
	})
}

func TestMessengerMessagesLog(t *testing.T) {
	t.Parallel()
	b := setupMessenger(t, MessengerOptions{})
	// A Telegram chat with the same number as the PSID: counted and filtered apart.
	message(t, b.post(t, "sendMessage", `{"chat_id":`+testPSID+`,"text":"telegram"}`))
	wantSent(t, b.send(t, `{"recipient":{"id":"`+testPSID+`"},"messaging_type":"UPDATE","message":{"text":"messenger 1"}}`), testPSID)
	wantSent(t, b.send(t, `{"recipient":{"id":"`+testPSID+`"},"messaging_type":"UPDATE","message":{"text":"messenger 2"}}`), testPSID)
	msgs := b.srv.Messages()
	if msgs[0].ID != 1 || msgs[1].ID != 1 || msgs[2].ID != 2 {
		t.Errorf("ids %d %d %d, want 1 1 2: counted per channel and chat", msgs[0].ID, msgs[1].ID, msgs[2].ID)
	}
	var got []Message
	b.control(t, "GET", "/__sandbox/messages?channel=messenger", "", &got)
	if len(got) != 2 || got[0].Text != "messenger 1" || got[0].Route != "standard" || got[0].MessagingType != "UPDATE" {
		t.Errorf("?channel=messenger: %+v", got)
	}
	b.control(t, "GET", "/__sandbox/messages?chat="+testPSID+"&channel=telegram", "", &got)
	if len(got) != 1 || got[0].Text != "telegram" {
		t.Errorf("?chat&channel=telegram: %+v", got)
	}
	b.control(t, "GET", "/__sandbox/messages?chat="+testPSID, "", &got)
	if len(got) != 3 {
		t.Errorf("?chat=PSID: %d messages", len(got))
	}
	var e map[string]string
	if status := b.control(t, "GET", "/__sandbox/messages?channel=whatsapp", "", &e); status != 400 {
		t.Errorf("?channel=whatsapp: %d %v", status, e)
	}
	var rendered []renderedMessage
	b.control(t, "GET", "/__sandbox/messages?render=1&channel=messenger", "", &rendered)
	if len(rendered) != 2 || rendered[0].HTML != "messenger 1" {
		t.Errorf("rendered %+v", rendered)
	}

	// Reset forgets the logs and keeps the users.
	b.srv.Reset()
	if len(b.srv.Messages()) != 0 || len(b.srv.Requests()) != 0 {
		t.Error("Reset kept messages or requests")
	}
	if _, ok := b.srv.MessengerUser(testPSID); !ok {
		t.Error("Reset forgot the Messenger user")
	}
	wantSent(t, b.send(t, `{"recipient":{"id":"`+testPSID+`"},"messaging_type":"UPDATE","message":{"text":"again"}}`), testPSID)
	if m := b.srv.Messages(); m[0].ID != 1 {
		t.Errorf("id after Reset %d, want 1", m[0].ID)
	}
}

func TestMessengerControlUsers(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	var u map[string]any
	body := `{"last_interaction":"2026-06-01T11:00:00Z","ad_referral":true,"tokens":[{"token":"nmt_a","timezone":"Europe/Rome"},{"token":"nmt_b","status":"stopped","expires":"2026-07-01T00:00:00Z"}]}`
	if status := b.control(t, "PUT", "/__sandbox/messenger/users/"+testPSID, body, &u); status != 200 {
		t.Fatalf("PUT user: %d %v", status, u)
	}
	want := MessengerUser{
		LastInteraction: time.Date(2026, 6, 1, 11, 0, 0, 0, time.UTC), AdReferral: true,
		Tokens: []NotificationToken{
			{Token: "nmt_a", Status: TokenActive, Expires: b.clock.Now().Add(365 * 24 * time.Hour), Timezone: "Europe/Rome"},
			{Token: "nmt_b", Status: TokenStopped, Expires: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)},
		},
	}
	got, ok := b.srv.MessengerUser(testPSID)
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("stored\n %+v\nwant\n %+v", got, want)
	}
	var fromGet MessengerUser
	if status := b.control(t, "GET", "/__sandbox/messenger/users/"+testPSID, "", &fromGet); status != 200 || !reflect.DeepEqual(fromGet, want) {
		t.Errorf("GET user: %d %+v", status, fromGet)
	}
	var all map[string]MessengerUser
	b.control(t, "GET", "/__sandbox/messenger/users", "", &all)
	if !reflect.DeepEqual(all, map[string]MessengerUser{testPSID: want}) {
		t.Errorf("GET users %+v", all)
	}
	var raw map[string]any
	b.control(t, "PUT", "/__sandbox/messenger/users/24000000000000002", `{"unavailable":true}`, &raw)
	if _, has := raw["last_interaction"]; has || raw["unavailable"] != true {
		t.Errorf("a user who never interacted: %v, want no last_interaction", raw)
	}
	// The sandbox sends with a token set through the control API.
	b.clock.Advance(48 * time.Hour)
	wantSent(t, b.graph(t, http.MethodPost, "/me/messages", "application/json", "any", `{"recipient":{"notification_messages_token":"nmt_a"},"message":{"text":"x"}}`), testPSID)

	var e map[string]string
	for _, bad := range []struct{ path, body string }{
		{"/__sandbox/messenger/users/abc", `{}`},
		{"/__sandbox/messenger/users/" + testPSID, `{"window":"open"}`},
		{"/__sandbox/messenger/users/" + testPSID, `{"tokens":[{"token":""}]}`},
		{"/__sandbox/messenger/users/" + testPSID, `{"tokens":[{"token":"t","status":"paused"}]}`},
		{"/__sandbox/messenger/users/" + testPSID, `{"tokens":[{"token":"t"},{"token":"t"}]}`},
		{"/__sandbox/messenger/users/" + testPSID, `{"last_interaction":"yesterday"}`},
		{"/__sandbox/messenger/users/24000000000000003", `{"tokens":[{"token":"nmt_a"}]}`}, // testPSID's
	} {
		if status := b.control(t, "PUT", bad.path, bad.body, &e); status != 400 || e["error"] == "" {
			t.Errorf("PUT %s %s: %d %v, want 400", bad.path, bad.body, status, e)
		}
	}
	if status := b.control(t, "GET", "/__sandbox/messenger/users/24000000000000009", "", &e); status != 404 {
		t.Errorf("GET an unknown user: %d %v", status, e)
	}
	b.control(t, "DELETE", "/__sandbox/messenger/users/"+testPSID, "", nil)
	if _, ok := b.srv.MessengerUser(testPSID); ok {
		t.Error("DELETE kept the user")
	}
	all = nil
	b.control(t, "DELETE", "/__sandbox/messenger/users", "", &all)
	if len(all) != 0 {
		t.Errorf("DELETE users: %v", all)
	}
	// nmt_a was forgotten with its owner: another person may take it now.
	b.srv.SetMessengerUser("24000000000000003", MessengerUser{Tokens: []NotificationToken{{Token: "nmt_a"}}})

	defer func() {
		if recover() == nil {
			t.Error("SetMessengerUser with a bad PSID did not panic")
		}
	}()
	b.srv.SetMessengerUser("not-a-psid", MessengerUser{})
}

func TestMessengerControlIndex(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Messenger: MessengerOptions{PageID: "777", AppSecret: "hidden", WebhookURL: "http://127.0.0.1:1/hook", Rate: 300, MediaRate: 10}})
	var page map[string]any
	if status := b.control(t, "GET", "/__sandbox/messenger", "", &page); status != 200 || page["page_id"] != "777" {
		t.Fatalf("GET messenger: %d %v", status, page)
	}
	if !reflect.DeepEqual(page["webhook"], map[string]any{"url": "http://127.0.0.1:1/hook", "app_secret_set": true}) ||
		!reflect.DeepEqual(page["rate"], map[string]any{"per_second": 300.0, "media_per_second": 10.0}) {
		t.Errorf("GET messenger: %v", page)
	}
	var index map[string]any
	b.control(t, "GET", "/__sandbox/", "", &index)
	if !strings.Contains(fmt.Sprint(index["graph_api"]), "777") {
		t.Errorf("index: %v", index)
	}
}
