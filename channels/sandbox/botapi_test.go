package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestGetMe(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	for _, r := range []reply{
		b.post(t, "getMe", ""),
		b.do(t, http.MethodGet, b.methodURL("getMe"), "", nil),
		b.do(t, http.MethodPost, b.methodURL("GETME"), "", nil), // method names are case-insensitive
	} {
		me := message(t, r)
		if me["id"] != 123456.0 || me["is_bot"] != true || me["username"] != "sandbox_123456_bot" {
			t.Errorf("getMe = %s", r.raw)
		}
	}
	if len(b.srv.Messages()) != 0 {
		t.Error("getMe recorded a message")
	}
}

func TestSendSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		body   string
		// check inspects the answer's result (a Message, or an array for a media group) and
		// the message recorded.
		check func(t *testing.T, result json.RawMessage, m Message)
	}{
		{"text", "sendMessage", `{"chat_id":42,"text":"hello"}`, func(t *testing.T, result json.RawMessage, m Message) {
			var got struct {
				MessageID int64 `json:"message_id"`
				Date      int64 `json:"date"`
				Text      string
				From      struct{ ID int64 }
				Chat      struct {
					ID   int64
					Type string
				}
			}
			json.Unmarshal(result, &got)
			if got.MessageID != 1 || got.Text != "hello" || got.Chat.ID != 42 || got.Chat.Type != "private" || got.From.ID != 123456 || got.Date == 0 {
				t.Errorf("result %s", result)
			}
			if m.Chat != "42" || m.Text != "hello" || m.Plain != "hello" || m.Method != "sendMessage" || m.Channel != "telegram" || m.Bot != "123456" || m.ID != 1 {
				t.Errorf("recorded %+v", m)
			}
		}},
		{"HTML with keyboard, silent and paid", "sendMessage", `{"chat_id":"-1001234567890","text":"<b>New</b> &amp; <a href=\"https://example.com/p\">hot</a>",` +
			`"parse_mode":"HTML","disable_notification":true,"allow_paid_broadcast":true,"link_preview_options":{"is_disabled":true},` +
			`"reply_markup":{"inline_keyboard":[[{"text":"Read","url":"https://example.com/p"},{"text":"Later","callback_data":"later:1"}],[{"text":"App","url":"tg://resolve?domain=x"}]]}}`,
			func(t *testing.T, result json.RawMessage, m Message) {
				var got struct {
					Text     string
					Entities []entity
					Chat     struct{ Type string }
					Markup   map[string]any `json:"reply_markup"`
				}
				json.Unmarshal(result, &got)
				wantEnts := []entity{{Type: "bold", Offset: 0, Length: 3}, {Type: "text_link", Offset: 6, Length: 3, URL: "https://example.com/p"}}
				if got.Text != "New & hot" || !reflect.DeepEqual(got.Entities, wantEnts) || got.Chat.Type != "supergroup" || got.Markup == nil {
					t.Errorf("result %s", result)
				}
				wantButtons := []Button{{Text: "Read", URL: "https://example.com/p"}, {Text: "Later", Callback: "later:1"}, {Text: "App", URL: "tg://resolve?domain=x", Row: 1}}
				if m.Plain != "New & hot" || m.ParseMode != "HTML" || !m.Silent || !m.Paid || !reflect.DeepEqual(m.Buttons, wantButtons) {
					t.Errorf("recorded %+v", m)
				}
			}},
		{"4096 characters counted in UTF-16", "sendMessage", fmt.Sprintf(`{"chat_id":1,"text":%q}`, strings.Repeat("😀", 2048)), nil},
		{"channel by username", "sendMessage", `{"chat_id":"@HeraldNews","text":"hi"}`, func(t *testing.T, result json.RawMessage, m Message) {
			var got struct {
				From       any
				SenderChat struct{ Type, Username string } `json:"sender_chat"`
				Chat       struct {
					ID   int64
					Type string
				}
			}
			json.Unmarshal(result, &got)
			if got.From != nil || got.SenderChat.Type != "channel" || got.Chat.Type != "channel" || got.Chat.ID > -1000000000000 {
				t.Errorf("result %s", result)
			}
			if m.Chat != "@heraldnews" {
				t.Errorf("recorded chat %q", m.Chat)
			}
		}},
		{"photo by URL with caption", "sendPhoto", `{"chat_id":7,"photo":"https://example.com/cat.jpg","caption":"<i>Cat</i>","parse_mode":"HTML","has_spoiler":true}`,
			func(t *testing.T, result json.RawMessage, m Message) {
				var got struct {
					Photo           []tgPhotoSize
					Caption         string
					CaptionEntities []entity `json:"caption_entities"`
					Spoiler         bool     `json:"has_media_spoiler"`
				}
				json.Unmarshal(result, &got)
				if len(got.Photo) != 2 || got.Photo[1].FileID == "" || got.Caption != "Cat" || len(got.CaptionEntities) != 1 || !got.Spoiler {
					t.Errorf("result %s", result)
				}
				if m.Text != "<i>Cat</i>" || m.Plain != "Cat" || !reflect.DeepEqual(m.Media, []Media{{Kind: "photo", URL: "https://example.com/cat.jpg", MessageID: 1}}) {
					t.Errorf("recorded %+v", m)
				}
			}},
		{"video by file_id", "sendVideo", `{"chat_id":7,"video":"BAACAgIAAxkBAAIBZ2ZfakeVideoFileID","duration":12,"width":640,"height":360}`,
			func(t *testing.T, result json.RawMessage, m Message) {
				var got struct{ Video tgVideo }
				json.Unmarshal(result, &got)
				if got.Video.FileID != "BAACAgIAAxkBAAIBZ2ZfakeVideoFileID" || got.Video.Duration != 12 || got.Video.Width != 640 {
					t.Errorf("result %s", result)
				}
			}},
		{"audio", "sendAudio", `{"chat_id":7,"audio":"https://example.com/a.mp3","title":"Jingle","performer":"Herald"}`,
			func(t *testing.T, result json.RawMessage, m Message) {
				var got struct{ Audio tgAudio }
				json.Unmarshal(result, &got)
				if got.Audio.Title != "Jingle" || got.Audio.Performer != "Herald" || got.Audio.FileName != "a.mp3" {
					t.Errorf("result %s", result)
				}
			}},
		{"document with a keyboard", "sendDocument", `{"chat_id":7,"document":"https://example.com/price-list.pdf","caption":"Prices",` +
			`"reply_markup":{"inline_keyboard":[[{"text":"Shop","url":"https://example.com"}]]},"allow_paid_broadcast":false}`,
			func(t *testing.T, result json.RawMessage, m Message) {
				var got struct{ Document tgDocument }
				json.Unmarshal(result, &got)
				if got.Document.FileName != "price-list.pdf" || got.Document.MimeType != "application/pdf" {
					t.Errorf("result %s", result)
				}
				if len(m.Buttons) != 1 || m.Media[0].Kind != "document" || m.Plain != "Prices" {
					t.Errorf("recorded %+v", m)
				}
			}},
		{"media group", "sendMediaGroup", `{"chat_id":7,"media":[{"type":"photo","media":"https://example.com/1.jpg","caption":"<b>Two</b> cats","parse_mode":"HTML"},` +
			`{"type":"video","media":"https://example.com/2.mp4"}]}`,
			func(t *testing.T, result json.RawMessage, m Message) {
				var got []struct {
					MessageID    int64  `json:"message_id"`
					MediaGroupID string `json:"media_group_id"`
					Caption      string
					Photo        []tgPhotoSize
					Video        *tgVideo
				}
				json.Unmarshal(result, &got)
				if len(got) != 2 || got[0].MessageID != 1 || got[1].MessageID != 2 || got[0].MediaGroupID == "" ||
					got[0].MediaGroupID != got[1].MediaGroupID || got[0].Caption != "Two cats" || got[0].Photo == nil || got[1].Video == nil {
					t.Errorf("result %s", result)
				}
				want := []Media{{Kind: "photo", URL: "https://example.com/1.jpg", Caption: "<b>Two</b> cats", MessageID: 1},
					{Kind: "video", URL: "https://example.com/2.mp4", MessageID: 2}}
				if m.ID != 1 || m.Plain != "Two cats" || !reflect.DeepEqual(m.Media, want) {
					t.Errorf("recorded %+v", m)
				}
			}},
		{"documents together", "sendMediaGroup", `{"chat_id":7,"media":[{"type":"document","media":"https://example.com/a.pdf"},{"type":"document","media":"https://example.com/b.pdf"}]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, Options{})
			r := b.post(t, tt.method, tt.body)
			if r.status != http.StatusOK || !r.OK {
				t.Fatalf("got %d %s", r.status, r.raw)
			}
			msgs := b.srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages recorded, want 1", len(msgs))
			}
			if tt.check != nil {
				tt.check(t, r.Result, msgs[0])
			}
		})
	}
}

func TestMessageIDsCountPerChat(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	var ids []float64
	for _, chat := range []int{1, 1, 2, 1} {
		ids = append(ids, message(t, b.post(t, "sendMessage", map[string]any{"chat_id": chat, "text": "x"}))["message_id"].(float64))
	}
	if !reflect.DeepEqual(ids, []float64{1, 2, 1, 3}) {
		t.Errorf("message ids %v, want [1 2 1 3]", ids)
	}
	r := b.post(t, "sendMessage", `{"chat_id":1,"text":"re","reply_parameters":{"message_id":2}}`)
	if reply := message(t, r)["reply_to_message"].(map[string]any); reply["message_id"] != 2.0 {
		t.Errorf("reply_to_message %v", reply)
	}
	seqs := []int64{}
	for _, m := range b.srv.Messages() {
		seqs = append(seqs, m.Seq)
	}
	if !reflect.DeepEqual(seqs, []int64{1, 2, 3, 4, 5}) {
		t.Errorf("seqs %v", seqs)
	}
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()
	photo := `{"type":"photo","media":"https://example.com/1.jpg"}`
	tests := []struct {
		name, method, body string
		want               string // every one is a 400
	}{
		{"unknown field", "sendMessage", `{"chat_id":1,"text":"hi","colour":"red"}`, `Bad Request: unknown field "colour"`},
		{"missing chat_id", "sendMessage", `{"text":"hi"}`, `Bad Request: field "chat_id" is required`},
		{"missing text", "sendMessage", `{"chat_id":1}`, `Bad Request: field "text" is required`},
		{"empty text", "sendMessage", `{"chat_id":1,"text":""}`, "Bad Request: message text is empty"},
		{"text of tags only", "sendMessage", `{"chat_id":1,"text":"<b></b>","parse_mode":"HTML"}`, "Bad Request: message text is empty"},
		{"blank text", "sendMessage", `{"chat_id":1,"text":" \n "}`, "Bad Request: text must be non-empty"},
		{"text too long", "sendMessage", fmt.Sprintf(`{"chat_id":1,"text":%q}`, strings.Repeat("x", 4097)), "Bad Request: message is too long"},
		{"text too long in UTF-16", "sendMessage", fmt.Sprintf(`{"chat_id":1,"text":%q}`, strings.Repeat("😀", 2048)+"x"), "Bad Request: message is too long"},
		{"text too long after parsing", "sendMessage", fmt.Sprintf(`{"chat_id":1,"text":%q,"parse_mode":"HTML"}`, "<b>"+strings.Repeat("x", 4097)+"</b>"), "Bad Request: message is too long"},
		{"unknown tag", "sendMessage", `{"chat_id":1,"text":"abc<foo>x</foo>","parse_mode":"HTML"}`, `Bad Request: can't parse entities: Unsupported start tag "foo" at byte offset 3`},
		{"unclosed tag", "sendMessage", `{"chat_id":1,"text":"<b>x","parse_mode":"html"}`, `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`},
		{"bare ampersand", "sendMessage", `{"chat_id":1,"text":"AT&T","parse_mode":"HTML"}`, `Bad Request: can't parse entities: Character '&' at byte offset 2 must be escaped as "&amp;"`},
		{"MarkdownV2", "sendMessage", `{"chat_id":1,"text":"*x*","parse_mode":"MarkdownV2"}`, `Bad Request: parse_mode "MarkdownV2" is not emulated by the sandbox: use HTML`},
		{"unknown parse_mode", "sendMessage", `{"chat_id":1,"text":"x","parse_mode":"bbcode"}`, "Bad Request: unsupported parse_mode"},
		{"empty chat_id", "sendMessage", `{"chat_id":"","text":"x"}`, "Bad Request: chat_id is empty"},
		{"chat_id not a chat", "sendMessage", `{"chat_id":"not_a_chat","text":"x"}`, "Bad Request: chat not found"},
		{"chat_id zero", "sendMessage", `{"chat_id":0,"text":"x"}`, "Bad Request: chat not found"},
		{"chat_id of the wrong type", "sendMessage", `{"chat_id":true,"text":"x"}`, `Bad Request: field "chat_id" must be of type Integer or String`},
		{"chat_id not an integer", "sendMessage", `{"chat_id":1.5,"text":"x"}`, `Bad Request: field "chat_id" must be of type Integer or String`},
		{"text of the wrong type", "sendMessage", `{"chat_id":1,"text":5}`, `Bad Request: field "text" must be of type String`},
		{"text button", "sendMessage", `{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"b"}]]}}`,
			"Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"},
		{"empty callback_data", "sendMessage", `{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"b","callback_data":""}]]}}`,
			"Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"},
		{"callback_data over 64 bytes", "sendMessage", fmt.Sprintf(`{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"b","callback_data":%q}]]}}`, strings.Repeat("é", 33)),
			"Bad Request: BUTTON_DATA_INVALID"},
		{"two actions", "sendMessage", `{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"b","url":"https://e.com","callback_data":"c"}]]}}`,
			`Bad Request: can't parse inline keyboard button: exactly one of the optional fields must be used, found "url" and "callback_data"`},
		{"ftp button", "sendMessage", `{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"b","url":"ftp://example.com"}]]}}`,
			"Bad Request: inline keyboard button URL 'ftp://example.com' is invalid: Unsupported URL protocol"},
		{"URL without a protocol", "sendMessage", `{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"b","url":"not-a-url"}]]}}`,
			"Bad Request: inline keyboard button URL 'not-a-url' is invalid: Wrong HTTP URL"},
		{"empty button text", "sendMessage", `{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"","url":"https://e.com"}]]}}`,
			"Bad Request: BUTTON_TEXT_INVALID"},
		{"pay button", "sendMessage", `{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"b","pay":true}]]}}`, "Bad Request: BUTTON_TYPE_INVALID"},
		{"web app over http", "sendMessage", `{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"b","web_app":{"url":"http://e.com"}}]]}}`,
			"Bad Request: inline keyboard button Web App URL 'http://e.com' is invalid: Only HTTPS links are allowed"},
		{"unknown button field", "sendMessage", `{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"b","url":"https://e.com","colour":"red"}]]}}`,
			`Bad Request: unknown field "reply_markup.inline_keyboard[0][0].colour"`},
		{"button without text", "sendMessage", `{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"callback_data":"c"}]]}}`,
			`Bad Request: can't parse inline keyboard button: Can't find field "text"`},
		{"button text of the wrong type", "sendMessage", `{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"text":1,"callback_data":"c"}]]}}`,
			`Bad Request: can't parse inline keyboard button: Field "text" must be of type String`},
		{"inline_keyboard not an array", "sendMessage", `{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":"bad"}}`, `Bad Request: field "inline_keyboard" must be of type Array`},
		{"unrecognizable markup", "sendMessage", `{"chat_id":1,"text":"x","reply_markup":{"buttons":[]}}`, "Bad Request: can't parse reply keyboard markup JSON object"},
		{"link preview flag of the wrong type", "sendMessage", `{"chat_id":1,"text":"x","link_preview_options":{"is_disabled":"yes"}}`, `Bad Request: field "is_disabled" must be of type Boolean`},
		{"unknown link preview field", "sendMessage", `{"chat_id":1,"text":"x","link_preview_options":{"disabled":true}}`, `Bad Request: unknown field "link_preview_options.disabled"`},
		{"link preview URL", "sendMessage", `{"chat_id":1,"text":"x","link_preview_options":{"url":"not-a-url"}}`, "Bad Request: WEBPAGE_URL_INVALID"},
		{"reply to a missing message", "sendMessage", `{"chat_id":1,"text":"x","reply_parameters":{"message_id":999}}`, "Bad Request: message to be replied not found"},
		{"reply without message_id", "sendMessage", `{"chat_id":1,"text":"x","reply_parameters":{"quote":"q"}}`, `Bad Request: can't find field "message_id"`},
		{"entity past the text", "sendMessage", `{"chat_id":1,"text":"hello","entities":[{"type":"bold","offset":100,"length":1}]}`,
			"Bad Request: entity begins after the end of the text at UTF-16 offset 100"},
		{"entity ending past the text", "sendMessage", `{"chat_id":1,"text":"hello","entities":[{"type":"bold","offset":0,"length":100}]}`,
			"Bad Request: entity beginning at UTF-16 offset 0 ends after the end of the text at UTF-16 offset 100"},
		{"unknown entity type", "sendMessage", `{"chat_id":1,"text":"hello","entities":[{"type":"blink","offset":0,"length":1}]}`,
			"Bad Request: can't parse MessageEntity: Unsupported type specified"},
		{"text_link without url", "sendMessage", `{"chat_id":1,"text":"hello","entities":[{"type":"text_link","offset":0,"length":1}]}`,
			`Bad Request: can't parse MessageEntity: Can't find field "url"`},
		{"form value of the wrong type", "sendMessage", `{"chat_id":1,"text":"x","disable_notification":"yes"}`, `Bad Request: field "disable_notification" must be of type Boolean`},
		{"not JSON", "sendMessage", `{"chat_id":1,`, "Bad Request: can't parse JSON object"},
		{"getMe takes nothing", "getMe", `{"x":1}`, `Bad Request: unknown field "x"`},

		{"missing photo", "sendPhoto", `{"chat_id":1}`, `Bad Request: field "photo" is required`},
		{"photo neither URL nor file_id", "sendPhoto", `{"chat_id":1,"photo":"cat.jpg"}`, "Bad Request: wrong file identifier/HTTP URL specified"},
		{"caption too long", "sendPhoto", fmt.Sprintf(`{"chat_id":1,"photo":"https://e.com/1.jpg","caption":%q}`, strings.Repeat("x", 1025)), "Bad Request: message caption is too long"},
		{"attach without a part", "sendDocument", `{"chat_id":1,"document":"attach://file"}`, "Bad Request: wrong file identifier/HTTP URL specified"},
		{"spoiler on audio", "sendAudio", `{"chat_id":1,"audio":"https://e.com/a.mp3","has_spoiler":true}`, `Bad Request: unknown field "has_spoiler"`},

		{"empty media group", "sendMediaGroup", `{"chat_id":1,"media":[]}`, "Bad Request: there are no messages to send"},
		{"media group of one", "sendMediaGroup", `{"chat_id":1,"media":[` + photo + `]}`,
			"Bad Request: wrong number of messages in the media group: 1, send 2-10 items or use the method for a single file"},
		{"media group of eleven", "sendMediaGroup", `{"chat_id":1,"media":[` + strings.TrimSuffix(strings.Repeat(photo+",", 11), ",") + `]}`,
			"Bad Request: too many messages to send as an album"},
		{"document with a photo", "sendMediaGroup", `{"chat_id":1,"media":[` + photo + `,{"type":"document","media":"https://e.com/a.pdf"}]}`,
			"Bad Request: document can't be mixed with other media types"},
		{"audio with a photo", "sendMediaGroup", `{"chat_id":1,"media":[{"type":"audio","media":"https://e.com/a.mp3"},` + photo + `]}`,
			"Bad Request: audio can't be mixed with other media types"},
		{"media group with a keyboard", "sendMediaGroup", `{"chat_id":1,"media":[` + photo + `,` + photo + `],"reply_markup":{"inline_keyboard":[[{"text":"b","url":"https://e.com"}]]}}`,
			`Bad Request: unknown field "reply_markup"`},
		{"animation in a group", "sendMediaGroup", `{"chat_id":1,"media":[` + photo + `,{"type":"animation","media":"https://e.com/a.gif"}]}`,
			`Bad Request: can't parse InputMedia: type "animation" can't be used in sendMediaGroup`},
		{"unknown media type", "sendMediaGroup", `{"chat_id":1,"media":[` + photo + `,{"type":"sticker","media":"https://e.com/a.webp"}]}`,
			`Bad Request: can't parse InputMedia: type "sticker" is unsupported`},
		{"media without a type", "sendMediaGroup", `{"chat_id":1,"media":[` + photo + `,{"media":"https://e.com/a.jpg"}]}`,
			`Bad Request: can't parse InputMedia: Can't find field "type"`},
		{"unknown media field", "sendMediaGroup", `{"chat_id":1,"media":[` + photo + `,{"type":"photo","media":"https://e.com/a.jpg","colour":1}]}`,
			`Bad Request: unknown field "media[1].colour"`},
		{"media item caption too long", "sendMediaGroup", fmt.Sprintf(`{"chat_id":1,"media":[`+photo+`,{"type":"photo","media":"https://e.com/a.jpg","caption":%q}]}`, strings.Repeat("x", 1025)),
			"Bad Request: message caption is too long"},
		{"media item attached without a part", "sendMediaGroup", `{"chat_id":1,"media":[` + photo + `,{"type":"photo","media":"attach://p"}]}`,
			"Bad Request: can't parse InputMedia: media not found"},
		{"caption placement differs", "sendMediaGroup", `{"chat_id":1,"media":[` + photo + `,{"type":"photo","media":"https://e.com/a.jpg","show_caption_above_media":true}]}`,
			"Bad Request: parameter show_caption_above_media must be the same for all messages"},
		{"media not an array", "sendMediaGroup", `{"chat_id":1,"media":{"type":"photo"}}`, `Bad Request: field "media" must be of type Array`},
	}
	b := setup(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.post(t, tt.method, tt.body)
			wantError(t, r, http.StatusBadRequest, tt.want)
			if want := fmt.Sprintf(`{"ok":false,"error_code":400,"description":%s}`, jsonString(tt.want)); r.raw != want {
				t.Errorf("body\n %s\nwant\n %s", r.raw, want)
			}
		})
	}
	if n := len(b.srv.Messages()); n != 0 {
		t.Errorf("%d refused messages were recorded", n)
	}
}

// jsonString is s as Telegram writes it in JSON: quoted, <, > and & left as they are.
func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

func TestLenientHTML(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{LenientHTML: true})
	m := message(t, b.post(t, "sendMessage", `{"chat_id":1,"text":"AT&T &nbsp;","parse_mode":"HTML"}`))
	if m["text"] != "AT&T &nbsp;" {
		t.Errorf("text %q, want it as Telegram shows it", m["text"])
	}
}

func TestChatStates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		chat   string
		state  ChatState
		status int
		desc   string
	}{
		{"1", ChatBlocked, 403, "Forbidden: bot was blocked by the user"},
		{"2", ChatDeactivated, 403, "Forbidden: user is deactivated"},
		{"-3", ChatKicked, 403, "Forbidden: bot was kicked from the group chat"},
		{"-1001234567890", ChatKicked, 403, "Forbidden: bot was kicked from the supergroup chat"},
		{"4", ChatNotFound, 400, "Bad Request: chat not found"},
		{"5", ChatNoConversation, 403, "Forbidden: bot can't initiate conversation with a user"},
		{"-6", ChatMigrated(-1009876543210), 400, "Bad Request: group chat was upgraded to a supergroup chat"},
		{"@Closed_Channel", ChatKicked, 403, "Forbidden: bot was kicked from the channel chat"},
	}
	b := setup(t, Options{})
	for _, tt := range tests {
		b.srv.SetChat(tt.chat, tt.state)
	}
	for _, tt := range tests {
		t.Run(string(tt.state)+" "+tt.chat, func(t *testing.T) {
			var chatID any = json.Number(tt.chat)
			if strings.HasPrefix(tt.chat, "@") {
				chatID = tt.chat
			}
			r := b.post(t, "sendMessage", map[string]any{"chat_id": chatID, "text": "hi"})
			wantError(t, r, tt.status, tt.desc)
			if strings.HasPrefix(string(tt.state), "migrated:") {
				want := `{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1009876543210}}`
				if r.raw != want {
					t.Errorf("body %s\nwant %s", r.raw, want)
				}
			}
		})
	}
	if n := len(b.srv.Messages()); n != 0 {
		t.Errorf("%d refused messages were recorded", n)
	}
	// Back to ok; the new supergroup of a migrated group is reachable.
	b.srv.SetChat("1", ChatOK)
	message(t, b.post(t, "sendMessage", `{"chat_id":1,"text":"back"}`))
	message(t, b.post(t, "sendMessage", `{"chat_id":-1009876543210,"text":"moved"}`))
}

func TestSetChatRejectsAnInvalidState(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("SetChat accepted an invalid state")
		}
	}()
	New(Options{}).SetChat("1", "asleep")
}

func TestTokens(t *testing.T) {
	t.Parallel()
	const unauthorized = `{"ok":false,"error_code":401,"description":"Unauthorized"}`
	t.Run("any well-formed token", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{})
		for _, token := range []string{"nocolon", "abc:def", "123:", ":abc", "123:bad*token"} {
			b.token = token
			if r := b.post(t, "getMe", ""); r.status != 401 || r.raw != unauthorized {
				t.Errorf("token %q: got %d %s", token, r.status, r.raw)
			}
		}
	})
	t.Run("listed tokens", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{Tokens: []string{"42:good"}})
		b.token = "42:good"
		message(t, b.post(t, "sendMessage", `{"chat_id":1,"text":"x"}`))
		b.token = testToken
		if r := b.post(t, "sendMessage", `{"chat_id":1,"text":"x"}`); r.status != 401 || r.raw != unauthorized {
			t.Errorf("got %d %s", r.status, r.raw)
		}
	})
}

func TestUnknownMethod(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	for _, path := range []string{"/bot" + testToken + "/sendTelepathy", "/bot" + testToken, "/bot" + testToken + "/sendMessage/extra"} {
		r := b.do(t, http.MethodPost, b.base+path, "application/json", strings.NewReader(`{}`))
		if r.status != 404 || r.raw != `{"ok":false,"error_code":404,"description":"Not Found"}` {
			t.Errorf("%s: got %d %s", path, r.status, r.raw)
		}
	}
}

func TestFormAndMultipartBodies(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	t.Run("urlencoded with JSON-encoded fields", func(t *testing.T) {
		r := b.postForm(t, "sendMessage", url.Values{
			"chat_id": {"-100123"}, "text": {"<b>hi</b>"}, "parse_mode": {"HTML"}, "disable_notification": {"true"},
			"reply_markup": {`{"inline_keyboard":[[{"text":"Go","url":"https://example.com"}]]}`},
		})
		if m := message(t, r); m["text"] != "hi" {
			t.Errorf("result %s", r.raw)
		}
	})
	t.Run("urlencoded with invalid JSON", func(t *testing.T) {
		r := b.postForm(t, "sendMessage", url.Values{"chat_id": {"1"}, "text": {"x"}, "reply_markup": {"{"}})
		wantError(t, r, 400, "Bad Request: can't parse reply keyboard markup JSON object")
	})
	t.Run("urlencoded boolean", func(t *testing.T) {
		r := b.postForm(t, "sendMessage", url.Values{"chat_id": {"1"}, "text": {"x"}, "protect_content": {"maybe"}})
		wantError(t, r, 400, `Bad Request: field "protect_content" must be of type Boolean`)
	})
	t.Run("query string", func(t *testing.T) {
		r := b.do(t, http.MethodGet, b.methodURL("sendMessage")+"?chat_id=5&text=from+the+query", "", nil)
		if m := message(t, r); m["text"] != "from the query" {
			t.Errorf("result %s", r.raw)
		}
	})
	t.Run("uploaded photo", func(t *testing.T) {
		r := b.postMultipart(t, "sendPhoto", map[string]string{"chat_id": "9", "caption": "fresh"}, map[string]string{"photo": "JPEG bytes"})
		message(t, r)
		msgs := b.srv.Messages()
		if got := msgs[len(msgs)-1].Media; len(got) != 1 || got[0].URL != "upload:photo.bin" {
			t.Errorf("media %+v", got)
		}
	})
	t.Run("empty upload", func(t *testing.T) {
		r := b.postMultipart(t, "sendDocument", map[string]string{"chat_id": "9"}, map[string]string{"document": ""})
		wantError(t, r, 400, "Bad Request: file must be non-empty")
	})
	t.Run("media group of attached files", func(t *testing.T) {
		r := b.postMultipart(t, "sendMediaGroup", map[string]string{"chat_id": "9",
			"media": `[{"type":"photo","media":"attach://one"},{"type":"photo","media":"attach://two","caption":"2"}]`},
			map[string]string{"one": "1", "two": "2"})
		var items []map[string]any
		if err := json.Unmarshal(r.Result, &items); err != nil || len(items) != 2 {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
	})
	t.Run("file part nothing uses", func(t *testing.T) {
		r := b.postMultipart(t, "sendMessage", map[string]string{"chat_id": "9", "text": "x"}, map[string]string{"stray": "x"})
		wantError(t, r, 400, `Bad Request: unknown field "stray": the file part is neither a parameter nor attached with attach://stray`)
	})
	t.Run("unsupported content type", func(t *testing.T) {
		r := b.do(t, http.MethodPost, b.methodURL("sendMessage"), "text/plain", strings.NewReader("hello"))
		wantError(t, r, 400, `Bad Request: unsupported Content-Type "text/plain": send application/json, application/x-www-form-urlencoded or multipart/form-data`)
	})
}

func TestRequestsLog(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.post(t, "sendMessage", `{"chat_id":1,"text":"x","parse_mode":"HTML"}`)
	b.post(t, "sendMessage", `{"chat_id":1,"txt":"x"}`)
	b.postForm(t, "getMe", nil)
	got := b.srv.Requests()
	want := []Request{
		{Seq: 1, Channel: "telegram", Bot: "123456", Method: "sendMessage", Format: "json", Fields: []string{"chat_id", "parse_mode", "text"}, Status: 200},
		{Seq: 2, Channel: "telegram", Bot: "123456", Method: "sendMessage", Format: "json", Fields: []string{"chat_id", "txt"}, Status: 400, Description: `Bad Request: unknown field "txt"`},
		{Seq: 3, Channel: "telegram", Bot: "123456", Method: "getMe", Format: "form", Fields: []string{}, Status: 200},
	}
	for i := range got {
		got[i].Time = time.Time{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Requests() =\n %+v\nwant\n %+v", got, want)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Rate: 1, Burst: 2})
	send := func(chat int) reply { return b.post(t, "sendMessage", map[string]any{"chat_id": chat, "text": "x"}) }
	message(t, send(1))
	message(t, send(2))
	r := send(3)
	want := `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`
	if r.status != 429 || r.raw != want {
		t.Fatalf("got %d %s\nwant 429 %s", r.status, r.raw, want)
	}
	if n := len(b.srv.Messages()); n != 2 {
		t.Errorf("%d messages recorded, want 2: a 429 records nothing", n)
	}
	b.clock.Advance(time.Second)
	message(t, send(3))

	// retry_after comes from the bucket: at 0.1 message/s the next one is 10 s away.
	b.srv.SetRate(0.1, 1)
	message(t, send(4))
	b.clock.Advance(2500 * time.Millisecond)
	if r := send(5); r.status != 429 || r.Params.RetryAfter != 8 || r.Desc != "Too Many Requests: retry after 8" {
		t.Errorf("got %d %s, want retry after 8", r.status, r.raw)
	}
	// Paid broadcasts have their own, larger bucket.
	if r := b.post(t, "sendMessage", `{"chat_id":5,"text":"x","allow_paid_broadcast":true}`); r.status != 200 {
		t.Errorf("paid broadcast: got %d %s", r.status, r.raw)
	}
	b.srv.SetRate(0, 0)
	for i := range 50 {
		message(t, send(i+10))
	}
}

func TestGroupAndChatLimits(t *testing.T) {
	t.Parallel()
	t.Run("per group", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{PerGroup: Limit{PerSecond: 20.0 / 60, Burst: 20}})
		for range 20 {
			message(t, b.post(t, "sendMessage", `{"chat_id":-1001,"text":"x"}`))
		}
		if r := b.post(t, "sendMessage", `{"chat_id":-1001,"text":"x"}`); r.status != 429 || r.Params.RetryAfter != 3 {
			t.Errorf("21st message to a group: got %d %s, want 429 retry after 3", r.status, r.raw)
		}
		for range 30 {
			message(t, b.post(t, "sendMessage", `{"chat_id":1001,"text":"x"}`)) // private chats have no group limit
		}
	})
	t.Run("per chat", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{PerChat: Limit{PerSecond: 1, Burst: 3}})
		for range 3 {
			message(t, b.post(t, "sendMessage", `{"chat_id":77,"text":"x"}`))
		}
		if r := b.post(t, "sendMessage", `{"chat_id":77,"text":"x"}`); r.status != 429 || r.Params.RetryAfter != 1 {
			t.Errorf("4th message to a chat: got %d %s, want 429 retry after 1", r.status, r.raw)
		}
		message(t, b.post(t, "sendMessage", `{"chat_id":78,"text":"x"}`)) // other chats are not held up
	})
}

func TestFaults(t *testing.T) {
	t.Parallel()
	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{})
		b.srv.SetFaults(Faults{ErrorRate: 1})
		seen := map[int]bool{}
		for range 40 {
			r := b.post(t, "sendMessage", `{"chat_id":1,"text":"x"}`)
			switch r.raw {
			case `{"ok":false,"error_code":500,"description":"Internal Server Error"}`, `{"ok":false,"error_code":502,"description":"Bad Gateway"}`:
				seen[r.status] = true
			default:
				t.Fatalf("got %d %s", r.status, r.raw)
			}
		}
		if !seen[500] || !seen[502] {
			t.Errorf("statuses seen %v, want 500 and 502", seen)
		}
		if n := len(b.srv.Messages()); n != 0 {
			t.Errorf("%d messages recorded: a 5xx comes before processing", n)
		}
	})
	t.Run("drop", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{})
		b.srv.SetFaults(Faults{DropRate: 1})
		res, err := http.Post(b.methodURL("sendMessage"), "application/json", strings.NewReader(`{"chat_id":1,"text":"x"}`))
		if err == nil {
			res.Body.Close()
			t.Fatalf("got an answer %d, want the connection closed", res.StatusCode)
		}
		msgs := b.srv.Messages()
		if len(msgs) != 1 || msgs[0].Text != "x" {
			t.Errorf("messages %+v, want the dropped one recorded", msgs)
		}
		if reqs := b.srv.Requests(); len(reqs) != 1 || reqs[0].Status != 0 {
			t.Errorf("requests %+v", reqs)
		}
	})
	t.Run("latency", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{})
		b.srv.SetFaults(Faults{Latency: 60 * time.Millisecond})
		start := time.Now()
		message(t, b.post(t, "sendMessage", `{"chat_id":1,"text":"x"}`))
		if elapsed := time.Since(start); elapsed < 60*time.Millisecond {
			t.Errorf("answered in %s, want at least 60ms", elapsed)
		}
	})
}

// BenchmarkSendMessage measures the sandbox's throughput over loopback HTTP.
func BenchmarkSendMessage(b *testing.B) {
	srv := New(Options{MaxLog: 100_000})
	base, err := srv.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: transport}
	body := `{"chat_id":12345,"text":"<b>New post</b>: <a href=\"https://example.com/p/1\">Ten tips</a> &amp; more","parse_mode":"HTML",` +
		`"reply_markup":{"inline_keyboard":[[{"text":"Read","url":"https://example.com/p/1"}]]}}`
	target := base + "/bot" + testToken + "/sendMessage"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := client.Post(target, "application/json", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			var r struct{ OK bool }
			json.NewDecoder(res.Body).Decode(&r)
			res.Body.Close()
			if !r.OK {
				b.Error("not ok")
				return
			}
		}
	})
}
