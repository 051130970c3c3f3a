package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const testBot = "123456" // testToken's bot

// inject posts a Telegram event to the control API and returns what it queued.
func (b *bundle) inject(t *testing.T, body string) TelegramInjectResult {
	t.Helper()
	var raw json.RawMessage
	if status := b.control(t, http.MethodPost, "/__sandbox/telegram/updates", body, &raw); status != http.StatusOK {
		t.Fatalf("inject %s: %d %s", body, status, raw)
	}
	var res TelegramInjectResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// injectError posts a Telegram event the control API must refuse, and returns its error.
func (b *bundle) injectError(t *testing.T, body string) string {
	t.Helper()
	var e map[string]string
	if status := b.control(t, http.MethodPost, "/__sandbox/telegram/updates", body, &e); status != http.StatusBadRequest || e["error"] == "" {
		t.Fatalf("inject %s: %d %v, want 400 and an error", body, status, e)
	}
	return e["error"]
}

// updates calls getUpdates and returns the updates, each as the exact JSON answered.
func (b *bundle) updates(t *testing.T, body string) []json.RawMessage {
	t.Helper()
	r := b.post(t, "getUpdates", body)
	if r.status != http.StatusOK || !r.OK {
		t.Fatalf("getUpdates %s: %d %s", body, r.status, r.raw)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(r.Result, &list); err != nil {
		t.Fatalf("getUpdates result is not an array: %v\n%s", err, r.raw)
	}
	return list
}

// updateIDs returns the update_id of each update.
func updateIDs(t *testing.T, list []json.RawMessage) []int64 {
	t.Helper()
	ids := make([]int64, len(list))
	for i, raw := range list {
		var u struct {
			UpdateID int64 `json:"update_id"`
		}
		if err := json.Unmarshal(raw, &u); err != nil {
			t.Fatal(err)
		}
		ids[i] = u.UpdateID
	}
	return ids
}

// async calls a Bot API method in the background (t.Fatal must not run outside the test's
// goroutine); the answer arrives on the channel, with status 0 when the call failed.
func (b *bundle) async(ctx context.Context, method, body string) <-chan reply {
	out := make(chan reply, 1)
	go func() {
		r := reply{}
		defer func() { out <- r }()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.methodURL(method), strings.NewReader(body))
		if err != nil {
			r.raw = err.Error()
			return
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			r.raw = err.Error()
			return
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		r.raw = string(data)
		if err := json.Unmarshal(data, &r); err == nil {
			r.status = res.StatusCode
		}
	}()
	return out
}

// receive waits for a background call's answer.
func receive(t *testing.T, ch <-chan reply) reply {
	t.Helper()
	select {
	case r := <-ch:
		if r.status == 0 {
			t.Fatalf("call failed: %s", r.raw)
		}
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no answer in 10 s")
	}
	return reply{}
}

// waitFor waits until cond holds, checking it every few milliseconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestInjectMessageAndGetUpdates(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Tokens: []string{testToken}})
	message(t, b.post(t, "sendMessage", `{"chat_id":1001,"text":"welcome"}`)) // message 1 in the chat

	res := b.inject(t, `{"type":"message","chat_id":1001,"text":"/start blog","from":{"first_name":"Ada","last_name":"L","username":"ada","language_code":"it"}}`)
	if res.Bot != testBot || res.Delivery != DeliveryPolling || res.UpdateID < 700_000_000 {
		t.Errorf("inject = %+v", res)
	}
	list := b.updates(t, `{}`)
	if len(list) != 1 || !bytes.Equal(list[0], res.Update) {
		t.Fatalf("getUpdates = %s, want [%s]", list, res.Update)
	}
	var got struct {
		UpdateID int64 `json:"update_id"`
		Message  struct {
			MessageID int64 `json:"message_id"`
			From      map[string]any
			Chat      map[string]any
			Date      int64
			Text      string
			Entities  []entity
		}
	}
	if err := json.Unmarshal(list[0], &got); err != nil {
		t.Fatal(err)
	}
	wantFrom := map[string]any{"id": 1001.0, "is_bot": false, "first_name": "Ada", "last_name": "L", "username": "ada", "language_code": "it"}
	wantChat := map[string]any{"id": 1001.0, "first_name": "Ada", "last_name": "L", "username": "ada", "type": "private"}
	m := got.Message
	if got.UpdateID != res.UpdateID || m.MessageID != 2 || m.Date != b.clock.Now().Unix() || m.Text != "/start blog" ||
		!reflect.DeepEqual(m.From, wantFrom) || !reflect.DeepEqual(m.Chat, wantChat) ||
		!reflect.DeepEqual(m.Entities, []entity{{Type: "bot_command", Offset: 0, Length: 6}}) {
		t.Errorf("update %s", list[0])
	}

	// The profile is remembered; ids count on by one.
	next := b.inject(t, `{"type":"message","chat_id":1001,"text":"/start@sandbox_123456_bot x_1"}`)
	var again struct {
		Message struct {
			From struct {
				FirstName string `json:"first_name"`
			}
			Entities []entity
		}
	}
	json.Unmarshal(next.Update, &again)
	if next.UpdateID != res.UpdateID+1 || again.Message.From.FirstName != "Ada" ||
		!reflect.DeepEqual(again.Message.Entities, []entity{{Type: "bot_command", Length: len("/start@sandbox_123456_bot")}}) {
		t.Errorf("second update %d %s", next.UpdateID, next.Update)
	}
	// A user the sandbox never heard of gets a name.
	plain := b.inject(t, `{"type":"message","chat_id":77,"text":"hello /start"}`)
	if !strings.Contains(string(plain.Update), `"first_name":"Subscriber 77"`) || strings.Contains(string(plain.Update), "entities") {
		t.Errorf("plain message %s", plain.Update)
	}
	// getUpdates is recorded as the other methods are.
	reqs := b.srv.Requests()
	if last := reqs[len(reqs)-1]; last.Method != "getUpdates" || last.Status != 200 || last.Channel != "telegram" {
		t.Errorf("last request %+v", last)
	}
}

func TestCommandLength(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]int{
		"/start":                      6,
		"/start blog":                 6,
		"/start@herald_bot payload":   len("/start@herald_bot"),
		"/a":                          2,
		"/start\nsecond line":         6,
		"/":                           0,
		"/ start":                     0,
		"start":                       0,
		" /start":                     0,
		"/" + strings.Repeat("a", 65): 0,
		"/stop@":                      5,
	} {
		if got := commandLength(text); got != want {
			t.Errorf("commandLength(%q) = %d, want %d", text, got, want)
		}
	}
}

func TestInjectChoosesTheBot(t *testing.T) {
	t.Parallel()
	t.Run("one token", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{Tokens: []string{testToken}})
		if res := b.inject(t, `{"type":"message","chat_id":5,"text":"hi"}`); res.Bot != testBot {
			t.Errorf("bot %q", res.Bot)
		}
		if e := b.injectError(t, `{"bot":"999","type":"message","chat_id":5,"text":"hi"}`); !strings.Contains(e, "not the bot of any of Options.Tokens (123456)") {
			t.Errorf("error %q", e)
		}
	})
	t.Run("the bot named", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{})
		b.inject(t, `{"bot":"77","type":"message","chat_id":5,"text":"hi"}`)
		if res := b.inject(t, `{"type":"block","chat_id":5}`); res.Bot != "77" {
			t.Errorf("bot %q", res.Bot)
		}
	})
	t.Run("the bot that called", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{})
		if e := b.injectError(t, `{"type":"message","chat_id":5,"text":"hi"}`); !strings.Contains(e, `no bot has called the Bot API yet: give "bot"`) {
			t.Errorf("error %q", e)
		}
		b.post(t, "getMe", "")
		b.inject(t, `{"bot":"123456","type":"message","chat_id":5,"text":"hi"}`)
		if res := b.inject(t, `{"type":"message","chat_id":5,"text":"hi"}`); res.Bot != testBot {
			t.Errorf("bot %q", res.Bot)
		}
		b.token = "42:other"
		b.post(t, "getMe", "")
		if e := b.injectError(t, `{"type":"message","chat_id":5,"text":"hi"}`); !strings.Contains(e, `the sandbox knows 2 bots (42, 123456): give "bot"`) {
			t.Errorf("error %q", e)
		}
		if res := b.inject(t, `{"bot":"42","type":"message","chat_id":5,"text":"hi"}`); res.Bot != "42" {
			t.Errorf("bot %q", res.Bot)
		}
		var e map[string]string
		if status := b.control(t, http.MethodGet, "/__sandbox/telegram/webhook", "", &e); status != 400 || !strings.Contains(e["error"], "knows 2 bots") {
			t.Errorf("webhook without bot: %d %v", status, e)
		}
		if got := b.srv.TelegramWebhook(""); got.Bot != "" {
			t.Errorf("TelegramWebhook(\"\") with two bots = %+v", got)
		}
	})
}

func TestGetUpdatesOffsetAndLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Tokens: []string{testToken}})
	var ids []int64
	for i := range 3 {
		ids = append(ids, b.inject(t, fmt.Sprintf(`{"type":"message","chat_id":9,"text":"m%d"}`, i)).UpdateID)
	}
	if ids[1] != ids[0]+1 || ids[2] != ids[1]+1 {
		t.Fatalf("update ids %v do not count by one", ids)
	}
	if got := updateIDs(t, b.updates(t, `{"limit":2}`)); !reflect.DeepEqual(got, ids[:2]) {
		t.Errorf("limit 2: %v", got)
	}
	if got := updateIDs(t, b.updates(t, `{"limit":0}`)); !reflect.DeepEqual(got, ids[:1]) {
		t.Errorf("limit 0 (clamped to 1): %v", got)
	}
	// Not confirmed: the same again, until an offset confirms them.
	if got := updateIDs(t, b.updates(t, `{}`)); !reflect.DeepEqual(got, ids) {
		t.Errorf("without offset: %v", got)
	}
	if got := updateIDs(t, b.updates(t, fmt.Sprintf(`{"offset":%d}`, ids[1]+1))); !reflect.DeepEqual(got, ids[2:]) {
		t.Errorf("offset past the second: %v", got)
	}
	if n := b.srv.TelegramWebhook(testBot).PendingUpdateCount; n != 1 {
		t.Errorf("pending %d, want 1", n)
	}
	if got := b.updates(t, fmt.Sprintf(`{"offset":%d}`, ids[2]+1)); len(got) != 0 {
		t.Errorf("everything confirmed: %s", got)
	}
	// A negative offset keeps the last -offset updates and forgets the others.
	for i := range 3 {
		ids = append(ids, b.inject(t, fmt.Sprintf(`{"type":"message","chat_id":9,"text":"n%d"}`, i)).UpdateID)
	}
	if got := updateIDs(t, b.updates(t, `{"offset":-1}`)); !reflect.DeepEqual(got, ids[5:]) {
		t.Errorf("offset -1: %v", got)
	}
	if got := updateIDs(t, b.updates(t, `{"timeout":0}`)); !reflect.DeepEqual(got, ids[5:]) {
		t.Errorf("after offset -1: %v", got)
	}
	if got := updateIDs(t, b.updates(t, `{"offset":-9223372036854775808}`)); !reflect.DeepEqual(got, ids[5:]) {
		t.Errorf("the smallest offset: %v", got)
	}
	// Telegram caps limit at 100.
	for range 101 {
		if _, err := b.srv.InjectTelegram(t.Context(), TelegramEvent{Type: "message", ChatID: 9, Text: "many"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.updates(t, `{"limit":500}`); len(got) != 100 {
		t.Errorf("limit 500 gave %d updates, want 100", len(got))
	}
	b.updates(t, `{"offset":-1}`)
	ids = append(ids, b.srv.TelegramWebhook(testBot).NextUpdateID-1)
	// Form bodies, as some clients send them.
	r := b.postForm(t, "getUpdates", map[string][]string{"offset": {fmt.Sprint(ids[6] + 1)}, "limit": {"100"}})
	if r.status != 200 || string(r.Result) != "[]" {
		t.Errorf("form getUpdates: %d %s", r.status, r.raw)
	}
}

func TestGetUpdatesLongPoll(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Tokens: []string{testToken}})
	t.Run("wakes on an update", func(t *testing.T) {
		start := time.Now()
		poll := b.async(t.Context(), "getUpdates", `{"timeout":30}`)
		waitFor(t, "getUpdates waits", func() bool { return b.srv.TelegramWebhook(testBot).Polling })
		res := b.inject(t, `{"type":"message","chat_id":3,"text":"wake up"}`)
		r := receive(t, poll)
		var got []json.RawMessage
		json.Unmarshal(r.Result, &got)
		if r.status != 200 || len(got) != 1 || !bytes.Equal(got[0], res.Update) {
			t.Errorf("long poll: %d %s", r.status, r.raw)
		}
		if elapsed := time.Since(start); elapsed > 5*time.Second {
			t.Errorf("the long poll took %v", elapsed)
		}
		b.updates(t, fmt.Sprintf(`{"offset":%d}`, res.UpdateID+1))
	})
	t.Run("ends with its timeout", func(t *testing.T) {
		start := time.Now()
		if got := b.updates(t, `{"timeout":1}`); len(got) != 0 {
			t.Errorf("got %s", got)
		}
		if elapsed := time.Since(start); elapsed < 900*time.Millisecond {
			t.Errorf("answered after %v, want about 1 s", elapsed)
		}
	})
	t.Run("stops when the client hangs up", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		poll := b.async(ctx, "getUpdates", `{"timeout":30}`)
		waitFor(t, "getUpdates waits", func() bool { return b.srv.TelegramWebhook(testBot).Polling })
		cancel()
		<-poll
		waitFor(t, "getUpdates stops", func() bool { return !b.srv.TelegramWebhook(testBot).Polling })
	})
}

func TestGetUpdatesConflicts(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Tokens: []string{testToken}})

	first := b.async(t.Context(), "getUpdates", `{"timeout":30}`)
	waitFor(t, "the first getUpdates waits", func() bool { return b.srv.TelegramWebhook(testBot).Polling })
	second := b.async(t.Context(), "getUpdates", `{"timeout":30}`)
	wantError(t, receive(t, first), http.StatusConflict, descOtherGetUpdates)
	waitFor(t, "the second getUpdates waits", func() bool { return b.srv.TelegramWebhook(testBot).Polling })
	res := b.inject(t, `{"type":"message","chat_id":3,"text":"for the second"}`)
	if r := receive(t, second); r.status != 200 || !strings.Contains(r.raw, "for the second") {
		t.Errorf("second getUpdates: %d %s", r.status, r.raw)
	}
	b.updates(t, fmt.Sprintf(`{"offset":%d}`, res.UpdateID+1))

	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(hook.Close)
	waiting := b.async(t.Context(), "getUpdates", `{"timeout":30}`)
	waitFor(t, "getUpdates waits", func() bool { return b.srv.TelegramWebhook(testBot).Polling })
	if r := b.post(t, "setWebhook", map[string]any{"url": hook.URL}); !r.OK || r.raw != `{"ok":true,"result":true,"description":"Webhook was set"}` {
		t.Errorf("setWebhook: %s", r.raw)
	}
	wantError(t, receive(t, waiting), http.StatusConflict, descSetWebhookConflict)
	wantError(t, b.post(t, "getUpdates", `{}`), http.StatusConflict, descWebhookActive)
	if r := b.post(t, "deleteWebhook", `{}`); r.raw != `{"ok":true,"result":true,"description":"Webhook was deleted"}` {
		t.Errorf("deleteWebhook: %s", r.raw)
	}
	if got := b.updates(t, `{}`); len(got) != 0 {
		t.Errorf("after deleteWebhook: %s", got)
	}
}

func TestAllowedUpdates(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Tokens: []string{testToken}})
	info := func() map[string]any {
		t.Helper()
		var m map[string]any
		json.Unmarshal(b.post(t, "getWebhookInfo", "").Result, &m)
		return m
	}
	if m := info(); m["allowed_updates"] != nil || m["url"] != "" || m["has_custom_certificate"] != false {
		t.Errorf("getWebhookInfo by default: %v", m)
	}
	if def := b.srv.TelegramWebhook(testBot).AllowedUpdates; !slices.Contains(def, "message") || !slices.Contains(def, "my_chat_member") ||
		slices.Contains(def, "chat_member") || slices.Contains(def, "message_reaction") || slices.Contains(def, "message_reaction_count") {
		t.Errorf("default allowed_updates %v", def)
	}

	b.updates(t, `{"allowed_updates":["callback_query"]}`)
	filtered := b.inject(t, `{"type":"message","chat_id":4,"text":"unheard"}`)
	if filtered.Delivery != DeliveryFiltered || filtered.UpdateID != 0 || strings.Contains(string(filtered.Update), "update_id") {
		t.Errorf("filtered message: %+v %s", filtered, filtered.Update)
	}
	tap := b.inject(t, `{"type":"callback_query","chat_id":4,"data":"yes"}`)
	raw := b.inject(t, `{"type":"raw","update":{"message":{"text":"raw updates are not filtered"}}}`)
	// allowed_updates is remembered.
	if got := updateIDs(t, b.updates(t, `{}`)); !reflect.DeepEqual(got, []int64{tap.UpdateID, raw.UpdateID}) {
		t.Errorf("with allowed_updates [callback_query]: %v", got)
	}
	if m := info(); !reflect.DeepEqual(m["allowed_updates"], []any{"callback_query"}) {
		t.Errorf("getWebhookInfo allowed_updates %v", m["allowed_updates"])
	}
	// An empty list is the default again.
	b.updates(t, fmt.Sprintf(`{"offset":%d,"allowed_updates":[]}`, raw.UpdateID+1))
	if res := b.inject(t, `{"type":"message","chat_id":4,"text":"heard"}`); res.Delivery != DeliveryPolling || res.UpdateID != raw.UpdateID+1 {
		t.Errorf("message after allowed_updates []: %+v", res)
	}
	if m := info(); m["allowed_updates"] != nil {
		t.Errorf("getWebhookInfo shows the default: %v", m["allowed_updates"])
	}
	wantError(t, b.post(t, "getUpdates", `{"allowed_updates":["messages"]}`), 400,
		fmt.Sprintf(descUpdateType, "messages", strings.Join(b.srv.spec.updateTypes, ", ")))
	wantError(t, b.post(t, "getUpdates", `{"allowed_updates":"message"}`), 400, `Bad Request: field "allowed_updates" must be of type Array`)
}

func TestBlockAndUnblock(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Tokens: []string{testToken}})
	message(t, b.post(t, "sendMessage", `{"chat_id":1001,"text":"hi"}`))

	block := b.inject(t, `{"type":"block","chat_id":1001,"from":{"first_name":"Ada","username":"ada"}}`)
	var got struct {
		UpdateID     int64 `json:"update_id"`
		MyChatMember struct {
			Chat          map[string]any
			From          map[string]any
			Date          int64
			OldChatMember map[string]any `json:"old_chat_member"`
			NewChatMember map[string]any `json:"new_chat_member"`
		} `json:"my_chat_member"`
	}
	if err := json.Unmarshal(block.Update, &got); err != nil {
		t.Fatal(err)
	}
	bot := map[string]any{"id": 123456.0, "is_bot": true, "first_name": "Herald Sandbox", "username": "sandbox_123456_bot"}
	u := got.MyChatMember
	if got.UpdateID != block.UpdateID || u.Date != b.clock.Now().Unix() ||
		!reflect.DeepEqual(u.Chat, map[string]any{"id": 1001.0, "first_name": "Ada", "username": "ada", "type": "private"}) ||
		!reflect.DeepEqual(u.From, map[string]any{"id": 1001.0, "is_bot": false, "first_name": "Ada", "username": "ada"}) ||
		!reflect.DeepEqual(u.OldChatMember, map[string]any{"user": bot, "status": "member"}) ||
		!reflect.DeepEqual(u.NewChatMember, map[string]any{"user": bot, "status": "kicked", "until_date": 0.0}) {
		t.Errorf("block update %s", block.Update)
	}
	if st := b.srv.Chats()["1001"]; st != ChatBlocked {
		t.Errorf("chat state %q after block", st)
	}
	wantError(t, b.post(t, "sendMessage", `{"chat_id":1001,"text":"still there?"}`), 403, descBlocked)
	if e := b.injectError(t, `{"type":"message","chat_id":1001,"text":"hi"}`); !strings.Contains(e, "inject an unblock first") {
		t.Errorf("message from a blocked chat: %q", e)
	}
	if e := b.injectError(t, `{"type":"block","chat_id":1001}`); !strings.Contains(e, "chat 1001 blocked the bot already") {
		t.Errorf("second block: %q", e)
	}

	unblock := b.inject(t, `{"type":"unblock","chat_id":1001}`)
	if !strings.Contains(string(unblock.Update), `"old_chat_member":{"user":{"id":123456,"is_bot":true,"first_name":"Herald Sandbox","username":"sandbox_123456_bot"},"status":"kicked","until_date":0},"new_chat_member":{"user":{"id":123456,"is_bot":true,"first_name":"Herald Sandbox","username":"sandbox_123456_bot"},"status":"member"}`) ||
		!strings.Contains(string(unblock.Update), `"first_name":"Ada"`) {
		t.Errorf("unblock update %s", unblock.Update)
	}
	if st := b.srv.Chats()["1001"]; st != "" {
		t.Errorf("chat state %q after unblock", st)
	}
	message(t, b.post(t, "sendMessage", `{"chat_id":1001,"text":"welcome back"}`))
	if e := b.injectError(t, `{"type":"unblock","chat_id":1001}`); !strings.Contains(e, "has not blocked the bot") {
		t.Errorf("second unblock: %q", e)
	}
	if got := updateIDs(t, b.updates(t, `{}`)); !reflect.DeepEqual(got, []int64{block.UpdateID, unblock.UpdateID}) {
		t.Errorf("getUpdates %v", got)
	}

	// A user who never started the bot can, by writing to it.
	b.srv.SetChat("2002", ChatNoConversation)
	wantError(t, b.post(t, "sendMessage", `{"chat_id":2002,"text":"hi"}`), 403, descNoConversation)
	b.inject(t, `{"type":"message","chat_id":2002,"text":"/start"}`)
	message(t, b.post(t, "sendMessage", `{"chat_id":2002,"text":"hi"}`))
}

func TestCallbackQuery(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Tokens: []string{testToken}})
	message(t, b.post(t, "sendMessage", `{"chat_id":8,"text":"Read it?","reply_markup":{"inline_keyboard":[[{"text":"Later","callback_data":"later:1"},{"text":"Open","url":"https://example.com"}]]}}`))

	res := b.inject(t, `{"type":"callback_query","chat_id":8,"data":"later:1","message_id":1}`)
	var got struct {
		CallbackQuery struct {
			ID           string
			From         struct{ ID int64 }
			ChatInstance string `json:"chat_instance"`
			Data         string
			Message      struct {
				MessageID int64 `json:"message_id"`
				From      struct {
					IsBot bool `json:"is_bot"`
				}
				Chat   struct{ ID int64 }
				Text   string
				Markup json.RawMessage `json:"reply_markup"`
			}
		} `json:"callback_query"`
	}
	if err := json.Unmarshal(res.Update, &got); err != nil {
		t.Fatal(err)
	}
	cq := got.CallbackQuery
	if cq.ID == "" || cq.From.ID != 8 || cq.ChatInstance == "" || cq.Data != "later:1" || cq.Message.MessageID != 1 ||
		!cq.Message.From.IsBot || cq.Message.Chat.ID != 8 || cq.Message.Text != "Read it?" ||
		string(cq.Message.Markup) != `{"inline_keyboard":[[{"callback_data":"later:1","text":"Later"},{"text":"Open","url":"https://example.com"}]]}` {
		t.Errorf("callback query %s", res.Update)
	}
	if e := b.injectError(t, `{"type":"callback_query","chat_id":8,"data":"never","message_id":1}`); !strings.Contains(e, "no button with that callback_data") {
		t.Errorf("unknown data: %q", e)
	}
	if e := b.injectError(t, `{"type":"callback_query","chat_id":8,"data":"later:1","message_id":7}`); !strings.Contains(e, "sent no message 7 to chat 8") {
		t.Errorf("unknown message: %q", e)
	}
	if res := b.inject(t, `{"type":"callback_query","chat_id":8,"data":"anything"}`); strings.Contains(string(res.Update), `"message"`) {
		t.Errorf("a callback query without message_id: %s", res.Update)
	}
}

func TestRawAndRedeliveredUpdates(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Tokens: []string{testToken}})

	raw := b.inject(t, `{"type":"raw","update":{"message": {"text":"<odd> & \u00e9"}, "update_id": 5, "weird":[1, 2]}}`)
	want := fmt.Sprintf(`{"update_id":%d,"message":{"text":"<odd> & \u00e9"},"weird":[1,2]}`, raw.UpdateID)
	if string(raw.Update) != want {
		t.Errorf("raw update %s\nwant %s", raw.Update, want)
	}
	list := b.updates(t, `{}`)
	if len(list) != 1 || string(list[0]) != want {
		t.Errorf("getUpdates %s", list)
	}
	msg := b.inject(t, `{"type":"message","chat_id":6,"text":"twice"}`)
	if got := updateIDs(t, b.updates(t, fmt.Sprintf(`{"offset":%d}`, raw.UpdateID+1))); !reflect.DeepEqual(got, []int64{msg.UpdateID}) {
		t.Fatalf("getUpdates %v", got)
	}
	next := b.inject(t, `{"type":"message","chat_id":6,"text":"after"}`)

	// The redelivered update comes again, as it was, once, although the offset confirmed it.
	again := b.inject(t, fmt.Sprintf(`{"type":"redeliver","update_id":%d}`, msg.UpdateID))
	if again.UpdateID != msg.UpdateID || !bytes.Equal(again.Update, msg.Update) || again.Delivery != DeliveryPolling {
		t.Errorf("redeliver %+v", again)
	}
	list = b.updates(t, fmt.Sprintf(`{"offset":%d}`, msg.UpdateID+1))
	if got := updateIDs(t, list); !reflect.DeepEqual(got, []int64{next.UpdateID, msg.UpdateID}) || !bytes.Equal(list[1], msg.Update) {
		t.Errorf("getUpdates after redeliver: %v", got)
	}
	if got := b.updates(t, fmt.Sprintf(`{"offset":%d}`, next.UpdateID+1)); len(got) != 0 {
		t.Errorf("once confirmed: %s", got)
	}
	if e := b.injectError(t, `{"type":"redeliver","update_id":12}`); !strings.Contains(e, "update_id 12: not an update bot 123456 was given") {
		t.Errorf("redeliver of an unknown update: %q", e)
	}
}

func TestTelegramControlErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Tokens: []string{testToken}})
	tests := []struct{ body, want string }{
		{``, "the body is empty"},
		{`{"type":"message","chat_id":1,"text":"x","colour":"red"}`, `unknown field "colour"`},
		{`{"type":"poke","chat_id":1}`, `type "poke": want message, block, unblock, callback_query, raw or redeliver`},
		{`{"chat_id":1,"text":"x"}`, `type "": want message`},
		{`{"type":"message","chat_id":1}`, "text: a message needs a text"},
		{`{"type":"message","text":"x"}`, "chat_id 0: want the user's id"},
		{`{"type":"message","chat_id":-1001234567890,"text":"x"}`, "chat_id -1001234567890: want the user's id"},
		{`{"type":"message","chat_id":1,"text":"` + strings.Repeat("x", 4097) + `"}`, "text: 4097 characters (UTF-16), Telegram allows 4096"},
		{`{"type":"block","chat_id":1,"text":"x"}`, "text: a block event does not take it"},
		{`{"type":"message","chat_id":1,"text":"x","update_id":3}`, "update_id: a message event does not take it"},
		{`{"type":"callback_query","chat_id":1}`, `data "": a callback query needs callback data of 1 to 64 bytes`},
		{`{"type":"raw"}`, `update: a raw event needs "update", a JSON object`},
		{`{"type":"raw","update":[1]}`, `update: a raw event needs "update", a JSON object`},
		{`{"type":"redeliver"}`, "update_id: a redeliver event needs the update_id"},
		{`{"type":"message","chat_id":1,"text":"x","from":{"username":"a b"}}`, `from.username "a b"`},
		{`{"type":"message","chat_id":1,"text":"x","from":{"language_code":"it_IT!"}}`, `from.language_code "it_IT!"`},
		{`{"type":"message","chat_id":1,"text":"x","from":{"nick":"x"}}`, `unknown field "nick"`},
		{`{"bot":"abc","type":"message","chat_id":1,"text":"x"}`, `bot "abc": want the bot's id`},
	}
	for _, tt := range tests {
		if e := b.injectError(t, tt.body); !strings.Contains(e, tt.want) {
			t.Errorf("%s:\ngot  %q\nwant %q", tt.body, e, tt.want)
		}
	}
	if b.srv.TelegramWebhook(testBot).PendingUpdateCount != 0 {
		t.Error("a refused event was queued")
	}
	var e map[string]string
	if status := b.control(t, http.MethodGet, "/__sandbox/telegram/updates", "", &e); status != 405 {
		t.Errorf("GET updates: %d %v", status, e)
	}
	if status := b.control(t, http.MethodGet, "/__sandbox/telegram/webhook?bot=x1", "", &e); status != 400 || !strings.Contains(e["error"], `bot "x1"`) {
		t.Errorf("webhook?bot=x1: %d %v", status, e)
	}
	var index map[string]any
	b.control(t, http.MethodGet, "/__sandbox/", "", &index)
	if s := fmt.Sprint(index); !strings.Contains(s, "/__sandbox/telegram/updates") || !strings.Contains(s, "/__sandbox/telegram/webhook") || !strings.Contains(s, "getUpdates") {
		t.Errorf("the index lacks the Telegram updates: %s", s)
	}
	if _, err := b.srv.InjectTelegram(canceled(), TelegramEvent{Type: "message", ChatID: 1, Text: "x"}); err == nil {
		t.Error("InjectTelegram with an ended context succeeded")
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// hookRecorder is a webhook that records what it gets and answers with the status the test
// sets (200 by default).
type hookRecorder struct {
	srv    *httptest.Server
	status atomic.Int32
	got    chan hookHit
}

type hookHit struct {
	header http.Header
	body   string
}

func newHookRecorder(t *testing.T) *hookRecorder {
	t.Helper()
	h := &hookRecorder{got: make(chan hookHit, 1024)} // room for many fast retries
	h.status.Store(http.StatusOK)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.got <- hookHit{header: r.Header.Clone(), body: string(body)}
		w.WriteHeader(int(h.status.Load()))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookRecorder) next(t *testing.T) hookHit {
	t.Helper()
	select {
	case hit := <-h.got:
		return hit
	case <-time.After(10 * time.Second):
		t.Fatal("the webhook got nothing in 10 s")
	}
	return hookHit{}
}

// fastRetries retries failed webhook deliveries at once, for tests.
var fastRetries = WebhookDelivery{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}

func TestWebhookDelivery(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Tokens: []string{testToken}, WebhookDelivery: fastRetries})
	hook := newHookRecorder(t)
	hook.status.Store(http.StatusForbidden)
	before := b.inject(t, `{"type":"message","chat_id":1,"text":"queued before the webhook"}`)

	secret := strings.Repeat("s3cr3t_-X", 29)[:256]
	if r := b.post(t, "setWebhook", map[string]any{"url": hook.srv.URL + "/tg", "secret_token": secret, "max_connections": 5}); r.Desc != descWebhookWasSet {
		t.Fatalf("setWebhook: %s", r.raw)
	}
	first := hook.next(t)
	if first.body != string(before.Update) || first.header.Get(secretTokenHeader) != secret || first.header.Get("Content-Type") != "application/json" {
		t.Errorf("first attempt: %v %s", first.header, first.body)
	}
	waitFor(t, "the error is recorded", func() bool { return b.srv.TelegramWebhook(testBot).LastErrorMessage != "" })
	var info tgWebhookInfo
	json.Unmarshal(b.post(t, "getWebhookInfo", `{}`).Result, &info)
	if info.URL != hook.srv.URL+"/tg" || info.PendingUpdateCount != 1 || info.LastErrorMessage != "Wrong response from the webhook: 403 Forbidden" ||
		info.LastErrorDate != b.clock.Now().Unix() || info.MaxConnections != 5 || info.IPAddress != "127.0.0.1" || info.HasCustomCertificate {
		t.Errorf("getWebhookInfo while failing: %+v", info)
	}
	if res := b.inject(t, `{"type":"message","chat_id":1,"text":"second"}`); res.Delivery != DeliveryWebhook {
		t.Errorf("delivery %q", res.Delivery)
	}
	third := b.inject(t, `{"type":"block","chat_id":1}`)

	hook.status.Store(http.StatusOK)
	var bodies []string
	for hit := hook.next(t); ; hit = hook.next(t) {
		if hit.body == string(before.Update) && len(bodies) == 0 {
			continue // a retry that still failed, or the one that succeeded
		}
		bodies = append(bodies, hit.body)
		if hit.body == string(third.Update) {
			break
		}
	}
	if len(bodies) != 2 || !strings.Contains(bodies[0], `"text":"second"`) {
		t.Errorf("delivered after the first, in order: %q", bodies)
	}
	waitFor(t, "every update is confirmed", func() bool { return b.srv.TelegramWebhook(testBot).PendingUpdateCount == 0 })
	state := b.srv.TelegramWebhook(testBot)
	if state.Delivered != 3 || state.Delivery != DeliveryWebhook || !state.HasSecretToken || state.Polling ||
		state.LastErrorMessage == "" || !state.LastErrorDate.Equal(b.clock.Now()) {
		t.Errorf("TelegramWebhook %+v", state)
	}
	var control TelegramWebhookInfo
	if status := b.control(t, http.MethodGet, "/__sandbox/telegram/webhook", "", &control); status != 200 || !reflect.DeepEqual(control, state) {
		t.Errorf("GET /__sandbox/telegram/webhook: %d %+v\nwant %+v", status, control, state)
	}
	if r := b.post(t, "setWebhook", map[string]any{"url": hook.srv.URL + "/tg", "secret_token": secret, "max_connections": 5}); r.Desc != descWebhookAlreadySet {
		t.Errorf("setWebhook again: %s", r.raw)
	}

	// A redelivered update reaches the webhook twice, with the same update_id.
	again := b.inject(t, fmt.Sprintf(`{"type":"redeliver","update_id":%d}`, third.UpdateID))
	if hit := hook.next(t); hit.body != string(third.Update) || again.Delivery != DeliveryWebhook {
		t.Errorf("redelivered %s", hit.body)
	}
}

func TestWebhookFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) },
			"Wrong response from the webhook: 302 Found"},
		{"server error", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) },
			"Wrong response from the webhook: 502 Bad Gateway"},
		{"no answer in time", func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body) // else the server does not notice that the client hung up
			<-r.Context().Done()
		},
			"Read timeout expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			delivery := fastRetries
			delivery.Timeout = 50 * time.Millisecond
			b := setup(t, Options{Tokens: []string{testToken}, WebhookDelivery: delivery})
			hook := httptest.NewServer(tt.handler)
			t.Cleanup(hook.Close)
			b.post(t, "setWebhook", map[string]any{"url": hook.URL})
			b.inject(t, `{"type":"message","chat_id":1,"text":"x"}`)
			waitFor(t, "an error", func() bool { return b.srv.TelegramWebhook(testBot).LastErrorMessage != "" })
			if got := b.srv.TelegramWebhook(testBot); got.LastErrorMessage != tt.want || got.PendingUpdateCount != 1 {
				t.Errorf("got %+v, want last error %q", got, tt.want)
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		b := setup(t, Options{Tokens: []string{testToken}, WebhookDelivery: fastRetries})
		closed := httptest.NewServer(http.NotFoundHandler())
		closed.Close()
		b.post(t, "setWebhook", map[string]any{"url": closed.URL})
		b.inject(t, `{"type":"message","chat_id":1,"text":"x"}`)
		waitFor(t, "an error", func() bool { return b.srv.TelegramWebhook(testBot).LastErrorMessage != "" })
		if got := b.srv.TelegramWebhook(testBot).LastErrorMessage; got != "Connection refused" {
			t.Errorf("last error %q", got)
		}
	})
}

func TestDeleteWebhook(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Tokens: []string{testToken}, WebhookDelivery: fastRetries})
	hook := newHookRecorder(t)
	hook.status.Store(http.StatusServiceUnavailable)
	b.post(t, "setWebhook", map[string]any{"url": hook.srv.URL})
	first := b.inject(t, `{"type":"message","chat_id":1,"text":"one"}`)
	b.inject(t, `{"type":"message","chat_id":1,"text":"two"}`)
	hook.next(t)

	// Without drop_pending_updates, the updates wait for getUpdates.
	if r := b.post(t, "deleteWebhook", `{}`); r.Desc != descWebhookWasDeleted {
		t.Errorf("deleteWebhook: %s", r.raw)
	}
	var info tgWebhookInfo
	json.Unmarshal(b.post(t, "getWebhookInfo", "").Result, &info)
	if !reflect.DeepEqual(info, tgWebhookInfo{PendingUpdateCount: 2}) {
		t.Errorf("getWebhookInfo after deleteWebhook: %+v", info)
	}
	if got := updateIDs(t, b.updates(t, `{}`)); len(got) != 2 || got[0] != first.UpdateID {
		t.Errorf("getUpdates %v", got)
	}

	// With it, they are gone.
	b.post(t, "setWebhook", map[string]any{"url": hook.srv.URL})
	hook.next(t)
	if r := b.post(t, "deleteWebhook", `{"drop_pending_updates":true}`); r.Desc != descWebhookWasDeleted {
		t.Errorf("deleteWebhook: %s", r.raw)
	}
	if r := b.post(t, "deleteWebhook", `{}`); r.Desc != descWebhookAlreadyDeleted {
		t.Errorf("deleteWebhook again: %s", r.raw)
	}
	if got := b.updates(t, `{}`); len(got) != 0 {
		t.Errorf("getUpdates after drop_pending_updates: %s", got)
	}
	// setWebhook with an empty url deletes it too, and drop_pending_updates drops on setWebhook.
	b.inject(t, `{"type":"message","chat_id":1,"text":"three"}`)
	hook.status.Store(http.StatusOK)
	b.post(t, "setWebhook", map[string]any{"url": hook.srv.URL, "drop_pending_updates": true})
	if r := b.post(t, "setWebhook", `{"url":""}`); r.Desc != descWebhookWasDeleted {
		t.Errorf("setWebhook with an empty url: %s", r.raw)
	}
	if got := b.srv.TelegramWebhook(testBot); got.PendingUpdateCount != 0 || got.Delivery != DeliveryPolling || got.Delivered != 0 {
		t.Errorf("after setWebhook with drop_pending_updates: %+v", got)
	}
}

func TestSetWebhookValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Tokens: []string{testToken}})
	tests := []struct {
		body string
		want string
	}{
		{`{"url":"https://example.com/hook","secret_token":"` + strings.Repeat("a", 257) + `"}`, descSecretTooLong},
		{`{"url":"https://example.com/hook","secret_token":"not secret!"}`, descSecretChars},
		{`{"url":"https://example.com/hook","secret_token":"sécret"}`, descSecretChars},
		{`{"url":"ftp://example.com/hook"}`, descWebhookHTTPS},
		{`{"url":"https://"}`, descWebhookURLInvalid},
		{`{"url":"https://example.com/hook","colour":"red"}`, `Bad Request: unknown field "colour"`},
		{`{"secret_token":"abc"}`, `Bad Request: field "url" is required`},
		{`{"url":"https://example.com/hook","max_connections":"many"}`, `Bad Request: field "max_connections" must be of type Integer`},
	}
	for _, tt := range tests {
		wantError(t, b.post(t, "setWebhook", tt.body), 400, tt.want)
	}
	wantError(t, b.post(t, "getWebhookInfo", `{"url":"x"}`), 400, `Bad Request: unknown field "url"`)
	wantError(t, b.post(t, "deleteWebhook", `{"drop":true}`), 400, `Bad Request: unknown field "drop"`)
	wantError(t, b.post(t, "getUpdates", `{"offset":"next"}`), 400, `Bad Request: field "offset" must be of type Integer`)
	if got := b.srv.TelegramWebhook(testBot); got.Delivery != DeliveryPolling {
		t.Errorf("a refused setWebhook set it: %+v", got)
	}

	// A certificate upload is reported; a scheme-less URL is read as https, as Telegram does.
	r := b.postMultipart(t, "setWebhook", map[string]string{"url": "example.com/hook", "max_connections": "1000"}, map[string]string{"certificate": "PEM"})
	if r.Desc != descWebhookWasSet {
		t.Fatalf("setWebhook with a certificate: %s", r.raw)
	}
	var info tgWebhookInfo
	json.Unmarshal(b.post(t, "getWebhookInfo", "").Result, &info)
	if info.URL != "https://example.com/hook" || !info.HasCustomCertificate || info.MaxConnections != 100 || info.IPAddress != "<unknown>" {
		t.Errorf("getWebhookInfo %+v", info)
	}
	wantError(t, b.postMultipart(t, "setWebhook", map[string]string{"url": "https://example.com"}, map[string]string{"key": "PEM"}), 400,
		`Bad Request: unknown field "key": the file part is neither a parameter nor attached with attach://key`)
	b.post(t, "deleteWebhook", "")
}

// TestCloseStopsDeliveries checks that Close ends a delivery in flight and that none follow.
func TestCloseStopsDeliveries(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var hits atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(release)
		hook.Close()
	})
	srv := New(Options{Tokens: []string{testToken}, WebhookDelivery: fastRetries})
	base, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{srv: srv, base: base, token: testToken}
	b.post(t, "setWebhook", map[string]any{"url": hook.URL})
	b.inject(t, `{"type":"message","chat_id":1,"text":"x"}`)
	waitFor(t, "a delivery is in flight", func() bool { return hits.Load() == 1 })

	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for the webhook")
	}
	if got := srv.TelegramWebhook(testBot); got.PendingUpdateCount != 1 || got.Delivery != DeliveryWebhook {
		t.Errorf("after Close: %+v", got)
	}
	if _, err := srv.InjectTelegram(context.Background(), TelegramEvent{Type: "message", ChatID: 1, Text: "y"}); err != nil {
		t.Fatal(err)
	}
	// Served through Handler after Close, setWebhook starts no delivery either.
	hook2 := newHookRecorder(t)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/bot"+testToken+"/setWebhook?url="+hook2.srv.URL, nil))
	if rec.Code != 200 {
		t.Fatalf("setWebhook after Close: %d %s", rec.Code, rec.Body)
	}
	srv.inbound.mu.Lock()
	running := srv.inbound.bots[testBot].deliverer != nil
	srv.inbound.mu.Unlock()
	if running || hits.Load() != 1 {
		t.Errorf("after Close, a deliverer runs (%v) or the webhook got more requests (%d)", running, hits.Load())
	}

	// Start again: the webhook set gets the updates waiting.
	if _, err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if first, second := hook2.next(t), hook2.next(t); !strings.Contains(first.body, `"text":"x"`) || !strings.Contains(second.body, `"text":"y"`) {
		t.Errorf("after Start: %s then %s", first.body, second.body)
	}
}

// FuzzWithUpdateID checks that a raw update keeps every member as given, update_id first.
func FuzzWithUpdateID(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"message":{"text":"x"}}`, `{"update_id":5,"a":[1, 2 ],"b":null}`, `{"a":1,"a":2}`,
		`{"\u00e9":"<&>"}`, `{"a":1} {}`, `[1]`, `{"a":}`, `{"update_id":"x","update_id":{}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := withUpdateID(raw, 700000001)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(out, []byte(`{"update_id":700000001`)) {
			t.Fatalf("%s: update_id is not first: %s", raw, out)
		}
		var in, got map[string]any
		if err := json.Unmarshal(raw, &in); err != nil {
			t.Fatalf("%s is not a JSON object (%v), yet accepted as %s", raw, err, out)
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: the update is not a JSON object: %v\n%s", raw, err, out)
		}
		if got["update_id"] != 700000001.0 {
			t.Fatalf("%s: update_id %v", raw, got["update_id"])
		}
		delete(in, "update_id")
		delete(got, "update_id")
		if !reflect.DeepEqual(in, got) {
			t.Fatalf("%s: members changed: %s", raw, out)
		}
	})
}
