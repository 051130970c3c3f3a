package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// How an update reaches its bot (TelegramInjectResult.Delivery, TelegramWebhookInfo.Delivery).
const (
	DeliveryPolling = "polling" // handed out by getUpdates
	DeliveryWebhook = "webhook" // posted to the webhook set with setWebhook
	// DeliveryFiltered is an update the bot's allowed_updates leaves out: as on Telegram, it is
	// not queued, and gets no update_id.
	DeliveryFiltered = "filtered"
)

// TelegramEvent is something a Telegram user does that the bot hears of, for InjectTelegram.
type TelegramEvent struct {
	// Bot is the id of the bot told, the digits before the ':' of its token; it may be left
	// empty when the sandbox knows one bot only (Options.Tokens lists one bot; without
	// Options.Tokens, one bot called the Bot API or was named in an event).
	Bot string `json:"bot,omitempty"`
	// Type is:
	//   - "message": the user ChatID writes Text to the bot in their private chat. A text
	//     that starts with a command ("/start", "/start@name_bot payload") carries a
	//     bot_command entity at offset 0 (commands further in are not marked). A message from
	//     a chat in state no_conversation or not_found turns it ok; from a chat that blocked
	//     the bot or is deactivated, it is refused (inject "unblock" first, as Telegram sends
	//     my_chat_member before the message of a user who restarts the bot).
	//   - "block", "unblock": the user blocks the bot (my_chat_member, member → kicked; the
	//     chat's state becomes blocked, so sends fail with 403 "Forbidden: bot was blocked by
	//     the user") or unblocks it (kicked → member; the state becomes ok).
	//   - "callback_query": the user taps an inline button with callback data Data, on the
	//     bot's message MessageID when given (which must be in the message log, with that
	//     button when it has callback buttons).
	//   - "raw": Update, any JSON object, is queued as given, except that update_id is set;
	//     allowed_updates does not filter it.
	//   - "redeliver": the update UpdateID, already given, is queued again exactly as it was,
	//     as Telegram does when it is not sure the bot got it; allowed_updates does not filter
	//     it, and getUpdates returns it once even though an offset had confirmed it.
	Type   string `json:"type"`
	ChatID int64  `json:"chat_id,omitempty"`
	Text   string `json:"text,omitempty"`
	// From is the user's profile; the one last given for ChatID when nil ("Subscriber <id>"
	// when none was).
	From *TelegramUser `json:"from,omitempty"`
	// Data is a callback query's callback_data; MessageID the message its button is on.
	Data      string `json:"data,omitempty"`
	MessageID int64  `json:"message_id,omitempty"`
	// Update is a raw update, a JSON object.
	Update json.RawMessage `json:"update,omitempty"`
	// UpdateID is the update to redeliver.
	UpdateID int64 `json:"update_id,omitempty"`
}

// TelegramUser is a Telegram user's profile, as updates show it.
type TelegramUser struct {
	FirstName    string `json:"first_name,omitempty"`
	LastName     string `json:"last_name,omitempty"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
}

// TelegramInjectResult is what InjectTelegram queued.
type TelegramInjectResult struct {
	Bot string `json:"bot"`
	// UpdateID is the update's update_id; 0 when it was filtered.
	UpdateID int64 `json:"update_id,omitempty"`
	// Update is the exact JSON queued: what getUpdates returns in its array, or the body
	// posted to the webhook.
	Update json.RawMessage `json:"update"`
	// Delivery is DeliveryPolling, DeliveryWebhook or DeliveryFiltered.
	Delivery string `json:"delivery"`
}

// TelegramWebhookInfo is how a bot receives its updates: getWebhookInfo's facts, and more.
type TelegramWebhookInfo struct {
	Bot string `json:"bot"`
	// Delivery is DeliveryPolling (no webhook set) or DeliveryWebhook.
	Delivery string `json:"delivery"`
	// URL is the webhook's; empty in polling mode.
	URL string `json:"url"`
	// HasSecretToken tells that setWebhook gave a secret_token (it is not shown).
	HasSecretToken       bool `json:"has_secret_token"`
	HasCustomCertificate bool `json:"has_custom_certificate"`
	MaxConnections       int  `json:"max_connections,omitempty"`
	// AllowedUpdates are the update types the bot receives.
	AllowedUpdates []string `json:"allowed_updates"`
	// PendingUpdateCount is how many updates wait: not yet confirmed by getUpdates' offset, or
	// not yet answered 2xx by the webhook.
	PendingUpdateCount int `json:"pending_update_count"`
	// Delivered counts the updates the webhook answered 2xx.
	Delivered int64 `json:"delivered"`
	// LastErrorDate and LastErrorMessage are the last failed webhook attempt's, e.g. "Wrong
	// response from the webhook: 403 Forbidden"; zero when none failed since it was set.
	LastErrorDate    time.Time `json:"last_error_date,omitzero"`
	LastErrorMessage string    `json:"last_error_message,omitempty"`
	// Polling tells that a getUpdates call is waiting for updates now.
	Polling bool `json:"polling"`
	// NextUpdateID is the update_id of the next update queued.
	NextUpdateID int64 `json:"next_update_id"`
}

// telegramEventFields are the TelegramEvent fields each type takes, besides bot and type.
var telegramEventFields = map[string][]string{
	"message":        {"chat_id", "text", "from"},
	"block":          {"chat_id", "from"},
	"unblock":        {"chat_id", "from"},
	"callback_query": {"chat_id", "from", "data", "message_id"},
	"raw":            {"update"},
	"redeliver":      {"update_id"},
}

const telegramEventTypes = "message, block, unblock, callback_query, raw or redeliver"

// Telegram's limits on what a user sends, and the sandbox's on profiles.
const (
	maxNameLength    = 64 // first_name, last_name
	maxLanguageCode  = 35
	maxCommandLength = 64
	maxBotNameInCmd  = 32
)

func (ev *TelegramEvent) validate() error {
	allowed, ok := telegramEventFields[ev.Type]
	if !ok {
		return fmt.Errorf("type %q: want %s", ev.Type, telegramEventTypes)
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"chat_id", ev.ChatID != 0}, {"text", ev.Text != ""}, {"from", ev.From != nil}, {"data", ev.Data != ""},
		{"message_id", ev.MessageID != 0}, {"update", len(ev.Update) > 0}, {"update_id", ev.UpdateID != 0},
	} {
		if f.set && !slices.Contains(allowed, f.name) {
			return fmt.Errorf("%s: a %s event does not take it", f.name, ev.Type)
		}
	}
	if slices.Contains(allowed, "chat_id") && ev.ChatID <= 0 {
		return fmt.Errorf("chat_id %d: want the user's id, a positive number such as 1001 (a user's private chat has the user's id)", ev.ChatID)
	}
	switch ev.Type {
	case "message":
		switch {
		case ev.Text == "":
			return errors.New("text: a message needs a text")
		case !utf8.ValidString(ev.Text):
			return errors.New("text: not valid UTF-8")
		case TextLength(ev.Text) > maxTextLength:
			return fmt.Errorf("text: %d characters (UTF-16), Telegram allows %d", TextLength(ev.Text), maxTextLength)
		}
	case "callback_query":
		if ev.Data == "" || len(ev.Data) > maxCallbackData {
			return fmt.Errorf("data %q: a callback query needs callback data of 1 to %d bytes", ev.Data, maxCallbackData)
		}
		if ev.MessageID < 0 {
			return fmt.Errorf("message_id %d: want the id of the bot's message with the button", ev.MessageID)
		}
	case "raw":
		if len(bytes.TrimSpace(ev.Update)) == 0 || bytes.TrimSpace(ev.Update)[0] != '{' {
			return errors.New(`update: a raw event needs "update", a JSON object`)
		}
	case "redeliver":
		if ev.UpdateID <= 0 {
			return errors.New(`update_id: a redeliver event needs the update_id of an update already given`)
		}
	}
	if ev.From != nil {
		return ev.From.validate()
	}
	return nil
}

func (u *TelegramUser) validate() error {
	switch {
	case utf8.RuneCountInString(u.FirstName) > maxNameLength:
		return fmt.Errorf("from.first_name: longer than %d characters", maxNameLength)
	case utf8.RuneCountInString(u.LastName) > maxNameLength:
		return fmt.Errorf("from.last_name: longer than %d characters", maxNameLength)
	case u.Username != "" && (len(u.Username) > 32 || strings.IndexFunc(u.Username, func(r rune) bool { return r > 0x7f || !isASCIIAlnum(byte(r)) && r != '_' }) >= 0):
		return fmt.Errorf("from.username %q: want up to 32 characters of A-Z, a-z, 0-9 and _, without the @", u.Username)
	}
	if u.LanguageCode != "" {
		ok := len(u.LanguageCode) <= maxLanguageCode
		for i := 0; ok && i < len(u.LanguageCode); i++ {
			ok = isASCIIAlnum(u.LanguageCode[i]) || u.LanguageCode[i] == '-'
		}
		if !ok {
			return fmt.Errorf("from.language_code %q: want an IETF language tag such as it or en-US", u.LanguageCode)
		}
	}
	return nil
}

// The updates the sandbox makes, fields in Telegram's order.
type (
	tgUpdate struct {
		UpdateID      int64                `json:"update_id,omitempty"`
		Message       *tgMessage           `json:"message,omitempty"`
		CallbackQuery *tgCallbackQuery     `json:"callback_query,omitempty"`
		MyChatMember  *tgChatMemberUpdated `json:"my_chat_member,omitempty"`
	}
	tgCallbackQuery struct {
		ID           string     `json:"id"`
		From         tgUser     `json:"from"`
		Message      *tgMessage `json:"message,omitempty"`
		ChatInstance string     `json:"chat_instance"`
		Data         string     `json:"data"`
	}
	tgChatMemberUpdated struct {
		Chat          tgChat       `json:"chat"`
		From          tgUser       `json:"from"`
		Date          int64        `json:"date"`
		OldChatMember tgChatMember `json:"old_chat_member"`
		NewChatMember tgChatMember `json:"new_chat_member"`
	}
	tgChatMember struct {
		User      tgUser `json:"user"`
		Status    string `json:"status"`
		UntilDate *int64 `json:"until_date,omitempty"` // 0 for a user kicked for ever
	}
)

// InjectTelegram makes a Telegram user cause ev (see TelegramEvent) and queues the update the
// bot gets for it: getUpdates hands it out, or the sandbox posts it to the bot's webhook in the
// background. The sandbox updates its own state first: a block or unblock sets the chat's
// state, a message takes the chat's next message_id. Dates are the sandbox's clock.
//
// It returns an error that says what is wrong with ev (nothing is changed then), or ctx's
// error when ctx has ended.
func (s *Server) InjectTelegram(ctx context.Context, ev TelegramEvent) (TelegramInjectResult, error) {
	if err := ctx.Err(); err != nil {
		return TelegramInjectResult{}, err
	}
	if err := ev.validate(); err != nil {
		return TelegramInjectResult{}, fmt.Errorf("sandbox: telegram event: %w", err)
	}
	bot, err := s.resolveBot(ev.Bot)
	if err != nil {
		return TelegramInjectResult{}, fmt.Errorf("sandbox: telegram event: %w", err)
	}
	in := s.inbound
	if s.tokens == nil {
		in.sawBot(bot)
	}
	var res TelegramInjectResult
	switch ev.Type {
	case "raw":
		res, err = in.enqueue(bot, "", func(id int64) ([]byte, error) { return withUpdateID(ev.Update, id) })
	case "redeliver":
		res, err = in.redeliver(bot, ev.UpdateID)
	default:
		res, err = s.injectUserEvent(bot, ev)
	}
	if err != nil {
		return TelegramInjectResult{}, fmt.Errorf("sandbox: telegram event: %w", err)
	}
	return res, nil
}

// injectUserEvent makes and queues a message, block, unblock or callback query.
func (s *Server) injectUserEvent(bot string, ev TelegramEvent) (TelegramInjectResult, error) {
	in := s.inbound
	chat := chatFromID(ev.ChatID)
	state := s.chatState(chat.key)
	in.mu.Lock()
	profile, known := in.users[ev.ChatID]
	if ev.From != nil {
		profile = *ev.From
	}
	in.mu.Unlock()
	if profile.FirstName == "" {
		profile.FirstName = chat.object().FirstName
	}
	user := tgUser{ID: ev.ChatID, FirstName: profile.FirstName, LastName: profile.LastName, Username: profile.Username, LanguageCode: profile.LanguageCode}
	chatObject := tgChat{ID: ev.ChatID, FirstName: profile.FirstName, LastName: profile.LastName, Username: profile.Username, Type: "private"}
	date := s.now().Unix()

	var update tgUpdate
	var typ string
	switch ev.Type {
	case "message", "callback_query":
		switch state {
		case ChatBlocked:
			return TelegramInjectResult{}, fmt.Errorf("chat %s blocked the bot: inject an unblock first (Telegram sends my_chat_member before the message of a user who restarts the bot)", chat.key)
		case ChatDeactivated:
			return TelegramInjectResult{}, fmt.Errorf("chat %s: the user is deactivated and writes no more; set the chat ok first", chat.key)
		}
		if ev.Type == "message" {
			typ = "message"
			msg := &tgMessage{From: &user, Date: date, Chat: chatObject, Text: ev.Text}
			if n := commandLength(ev.Text); n > 0 {
				msg.Entities = []entity{{Type: "bot_command", Offset: 0, Length: n}}
			}
			msg.MessageID = s.log.takeID(chat.key)
			update.Message = msg
		} else {
			typ = "callback_query"
			cq, err := s.callbackQuery(bot, chat, chatObject, user, ev)
			if err != nil {
				return TelegramInjectResult{}, err
			}
			update.CallbackQuery = cq
		}
		if state == ChatNoConversation || state == ChatNotFound {
			s.SetChat(chat.key, ChatOK) // the user talks to the bot now
		}
	case "block", "unblock":
		typ = "my_chat_member"
		old, next := "member", "kicked"
		if ev.Type == "unblock" {
			old, next = next, old
			if state != ChatBlocked {
				return TelegramInjectResult{}, fmt.Errorf("chat %s has not blocked the bot (its state is %s): nothing to unblock", chat.key, state)
			}
			s.SetChat(chat.key, ChatOK)
		} else {
			switch state {
			case ChatBlocked:
				return TelegramInjectResult{}, fmt.Errorf("chat %s blocked the bot already", chat.key)
			case ChatDeactivated:
				return TelegramInjectResult{}, fmt.Errorf("chat %s: the user is deactivated and blocks nothing; set the chat ok first", chat.key)
			}
			s.SetChat(chat.key, ChatBlocked)
		}
		forever := int64(0)
		member := func(status string) tgChatMember {
			m := tgChatMember{User: botUser(bot), Status: status}
			if status == "kicked" {
				m.UntilDate = &forever
			}
			return m
		}
		update.MyChatMember = &tgChatMemberUpdated{Chat: chatObject, From: user, Date: date,
			OldChatMember: member(old), NewChatMember: member(next)}
	}
	if ev.From != nil || !known {
		in.mu.Lock()
		in.users[ev.ChatID] = profile
		in.mu.Unlock()
	}
	return in.enqueue(bot, typ, func(id int64) ([]byte, error) {
		update.UpdateID = id
		return marshalAnswer(update)
	})
}

// callbackQuery makes the callback query of a tap on a button with ev.Data, on the bot's
// message ev.MessageID when given.
func (s *Server) callbackQuery(bot string, chat chatRef, chatObject tgChat, user tgUser, ev TelegramEvent) (*tgCallbackQuery, error) {
	h := fnv.New64a()
	h.Write([]byte(bot + ":" + chat.key))
	cq := &tgCallbackQuery{
		ID:           strconv.FormatUint(rand.Uint64(), 10),
		From:         user,
		ChatInstance: strconv.FormatInt(int64(h.Sum64()), 10),
		Data:         ev.Data,
	}
	if ev.MessageID == 0 {
		return cq, nil
	}
	var sent *Message
	for _, m := range s.log.messages(func(m *Message) bool {
		return m.Channel == "telegram" && m.Bot == bot && m.Chat == chat.key &&
			(m.ID == ev.MessageID || slices.ContainsFunc(m.Media, func(md Media) bool { return md.MessageID == ev.MessageID }))
	}) {
		sent = &m
	}
	if sent == nil {
		return nil, fmt.Errorf("message_id %d: bot %s sent no message %d to chat %s that the sandbox remembers", ev.MessageID, bot, ev.MessageID, chat.key)
	}
	var rows [][]map[string]string
	hasCallbacks := false
	for _, b := range sent.Buttons {
		for len(rows) <= b.Row {
			rows = append(rows, nil)
		}
		button := map[string]string{"text": b.Text}
		if b.URL != "" {
			button["url"] = b.URL
		} else {
			button["callback_data"] = b.Callback
			hasCallbacks = true
		}
		rows[b.Row] = append(rows[b.Row], button)
	}
	if hasCallbacks && !slices.ContainsFunc(sent.Buttons, func(b Button) bool { return b.URL == "" && b.Callback == ev.Data }) {
		return nil, fmt.Errorf("data %q: message %d has no button with that callback_data", ev.Data, ev.MessageID)
	}
	botFrom := botUser(bot)
	msg := &tgMessage{MessageID: ev.MessageID, From: &botFrom, Date: sent.Time.Unix(), Chat: chatObject}
	if sent.Method == "sendMessage" {
		msg.Text = sent.Plain
	} else if sent.Plain != "" {
		msg.Caption = sent.Plain
	}
	if len(rows) > 0 {
		msg.ReplyMarkup = map[string]any{"inline_keyboard": rows}
	}
	cq.Message = msg
	return cq, nil
}

// commandLength returns the length of the bot command text starts with ("/start",
// "/start@name_bot"), in UTF-16 code units (the command is ASCII); 0 when it starts with none.
func commandLength(text string) int {
	if !strings.HasPrefix(text, "/") {
		return 0
	}
	isCommandChar := func(c byte) bool { return isASCIIAlnum(c) || c == '_' }
	n := 1
	for n < len(text) && n <= maxCommandLength && isCommandChar(text[n]) {
		n++
	}
	if n == 1 || n < len(text) && isCommandChar(text[n]) {
		return 0 // no command, or one too long
	}
	if n < len(text) && text[n] == '@' {
		end := n + 1
		for end < len(text) && end-n-1 < maxBotNameInCmd && isCommandChar(text[end]) {
			end++
		}
		if end > n+1 {
			n = end
		}
	}
	return n
}

// withUpdateID writes a raw update as a compact JSON object with update_id first, replacing the
// one it had, and its other members as given.
func withUpdateID(raw json.RawMessage, id int64) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New(`update: want a JSON object`)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"update_id":` + strconv.FormatInt(id, 10))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("update: invalid JSON: %v", err)
		}
		key := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("update: invalid JSON: %v", err)
		}
		if key == "update_id" {
			continue
		}
		name, _ := marshalAnswer(key)
		buf.WriteByte(',')
		buf.Write(name)
		buf.WriteByte(':')
		if err := json.Compact(&buf, value); err != nil {
			return nil, fmt.Errorf("update: invalid JSON: %v", err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("update: invalid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("update: more than one JSON value")
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// TelegramWebhook returns how bot (its id, the digits before the ':' of its token; or "" for
// the one bot the sandbox knows) receives its updates. It returns the zero TelegramWebhookInfo
// when bot is empty and the sandbox knows no bot or several, or bot is not digits.
func (s *Server) TelegramWebhook(bot string) TelegramWebhookInfo {
	bot, err := s.resolveBot(bot)
	if err != nil {
		return TelegramWebhookInfo{}
	}
	return s.inbound.webhookState(bot)
}

// The Telegram half's control API, under /__sandbox/telegram/ (see controlRoutes):
//
//	POST /__sandbox/telegram/updates      a TelegramEvent: queue the update it makes
//	GET  /__sandbox/telegram/webhook?bot=ID  how the bot receives updates (TelegramWebhookInfo)
func (s *Server) telegramRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/__sandbox/telegram/updates", s.serveTelegramUpdates)
	mux.HandleFunc("/__sandbox/telegram/webhook", s.serveTelegramWebhook)
}

func (s *Server) serveTelegramUpdates(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodPost) {
		return
	}
	var ev TelegramEvent
	if err := decodeControl(r, &ev); err != nil {
		controlError(w, http.StatusBadRequest, "telegram event: %v", err)
		return
	}
	res, err := s.InjectTelegram(r.Context(), ev)
	if err != nil {
		controlError(w, http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), "sandbox: "))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) serveTelegramWebhook(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet) {
		return
	}
	bot, err := s.resolveBot(r.URL.Query().Get("bot"))
	if err != nil {
		controlError(w, http.StatusBadRequest, "telegram webhook: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, s.inbound.webhookState(bot))
}
