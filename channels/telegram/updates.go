package telegram

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// UpdateKind is what herald makes of a Bot API update.
type UpdateKind string

// The kinds of update ParseUpdate returns.
const (
	// UpdateCommand is a message in a private chat that starts with a bot command:
	// /start, /start <payload>, /stop, …
	UpdateCommand UpdateKind = "command"
	// UpdateText is any other message in a private chat: text, or a photo, sticker, voice
	// note… (Text holds the caption, or nothing).
	UpdateText UpdateKind = "text"
	// UpdateBlocked says the bot can no longer post to the chat: a user blocked it, or it
	// was removed from a group or channel (my_chat_member, new status kicked or left).
	UpdateBlocked UpdateKind = "blocked"
	// UpdateMember says the bot can post to the chat again, or for the first time: a user
	// unblocked it, or it was added to a group or channel (my_chat_member, new status
	// member, administrator, or restricted while still a member).
	UpdateMember UpdateKind = "member"
	// UpdateIgnored is an update herald does not act on: edited messages, group messages,
	// channel posts, callback queries, and types herald does not know. Only its ID is set.
	UpdateIgnored UpdateKind = "ignored"
)

// Update is herald's view of one Bot API update.
type Update struct {
	ID   int64 // update_id; 0 only when unreadable
	Kind UpdateKind
	// ChatID is the chat's id in decimal (the address herald sends to); ChatType its type:
	// "private" for Command and Text, any type for Blocked and Member.
	ChatID   string
	ChatType string
	// The user who wrote, or who blocked, removed or added the bot (message.from,
	// my_chat_member.from). In a private chat UserID is the ChatID.
	UserID                                      int64
	FirstName, LastName, Username, LanguageCode string
	// Text is the message's text, or its caption; empty for a sticker or a photo without
	// caption, and for Blocked and Member.
	Text string
	// Command is a command's name, lower-case, without '/' and without "@botname"; Payload
	// the text after the command, trimmed ("/start@MyBot ref_42" → "start", "ref_42").
	Command, Payload string
	At               time.Time // message.date or my_chat_member.date, UTC; zero if absent or absurd
}

// The Update object, as far as herald reads it. Its parts are kept raw until herald knows
// which it acts on, so that a field herald does not use cannot fail the update.
type (
	tgUpdate struct {
		UpdateID     json.RawMessage `json:"update_id"`
		Message      json.RawMessage `json:"message"`
		MyChatMember json.RawMessage `json:"my_chat_member"`
	}
	tgChat struct {
		ID        int64  `json:"id"`
		Type      string `json:"type"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Username  string `json:"username"`
	}
	tgUser struct {
		ID           int64  `json:"id"`
		FirstName    string `json:"first_name"`
		LastName     string `json:"last_name"`
		Username     string `json:"username"`
		LanguageCode string `json:"language_code"`
	}
	tgMessage struct {
		Date     int64      `json:"date"`
		Chat     *tgChat    `json:"chat"`
		From     *tgUser    `json:"from"`
		Text     string     `json:"text"`
		Caption  string     `json:"caption"`
		Entities []tgEntity `json:"entities"`
	}
	tgEntity struct {
		Type   string `json:"type"`
		Offset int    `json:"offset"`
	}
	tgMemberUpdate struct {
		Chat          *tgChat `json:"chat"`
		From          *tgUser `json:"from"`
		Date          int64   `json:"date"`
		NewChatMember *struct {
			Status   string `json:"status"`
			IsMember bool   `json:"is_member"`
		} `json:"new_chat_member"`
	}
)

// ParseUpdate reads one Update object of the Bot API (an element of getUpdates' result, or
// the body of a webhook request).
//
// Its error, when the update is malformed, says what is wrong: not a JSON object, update_id
// missing or not a positive integer, a message or my_chat_member that is not an object, has
// a field of the wrong type, or has no chat.id or chat.type (my_chat_member: no from.id or
// new_chat_member.status either). Even then the returned Update carries the ID when update_id could
// be read, so that a poller can move past the update; every other field is zero. ParseUpdate
// does not panic.
func ParseUpdate(raw []byte) (Update, error) {
	up, id, err := readUpdate(raw)
	if err != nil {
		return Update{ID: id}, err
	}
	var u Update
	switch {
	case present(up.Message):
		u, err = messageUpdate(up.Message)
	case present(up.MyChatMember):
		u, err = memberUpdate(up.MyChatMember)
	default:
		u.Kind = UpdateIgnored
	}
	if err != nil {
		return Update{ID: id}, fmt.Errorf("telegram update %d: %w", id, err)
	}
	u.ID = id
	return u, nil
}

// readUpdate decodes the outer object and its update_id. id is 0 when update_id is not
// readable.
func readUpdate(raw []byte) (up tgUpdate, id int64, err error) {
	if trimmed := bytes.TrimLeft(raw, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return up, 0, errors.New("telegram update: not a JSON object")
	}
	if err := json.Unmarshal(raw, &up); err != nil {
		return up, 0, errors.New("telegram update: not valid JSON")
	}
	if !present(up.UpdateID) {
		return up, 0, errors.New("telegram update: no update_id")
	}
	if json.Unmarshal(up.UpdateID, &id) != nil || id <= 0 {
		return up, 0, errors.New("telegram update: update_id is not a positive integer")
	}
	return up, id, nil
}

// updateID is the update_id of raw, or 0 when it is not readable.
func updateID(raw []byte) int64 {
	_, id, _ := readUpdate(raw)
	return id
}

// present reports whether a field was sent: absent and null fields are alike.
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

func messageUpdate(raw json.RawMessage) (Update, error) {
	var m tgMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Update{}, decodeError("message", err)
	}
	if err := checkChat("message", m.Chat); err != nil {
		return Update{}, err
	}
	if m.Chat.Type != "private" {
		return Update{Kind: UpdateIgnored}, nil
	}
	u := Update{
		Kind:     UpdateText,
		ChatID:   strconv.FormatInt(m.Chat.ID, 10),
		ChatType: m.Chat.Type,
		At:       unixTime(m.Date),
		Text:     m.Text,
	}
	if m.From != nil && m.From.ID != 0 {
		u.setUser(m.From)
	} else {
		// Telegram always names the sender in a private chat, whose id is the chat's.
		u.UserID, u.FirstName, u.LastName, u.Username = m.Chat.ID, m.Chat.FirstName, m.Chat.LastName, m.Chat.Username
	}
	if u.Text == "" {
		u.Text = m.Caption
	} else if name, payload, ok := command(m.Text, m.Entities); ok {
		u.Kind, u.Command, u.Payload = UpdateCommand, name, payload
	}
	return u, nil
}

func memberUpdate(raw json.RawMessage) (Update, error) {
	var m tgMemberUpdate
	if err := json.Unmarshal(raw, &m); err != nil {
		return Update{}, decodeError("my_chat_member", err)
	}
	if err := checkChat("my_chat_member", m.Chat); err != nil {
		return Update{}, err
	}
	switch {
	case m.From == nil || m.From.ID == 0:
		return Update{}, errors.New("my_chat_member: no from.id")
	case m.NewChatMember == nil || m.NewChatMember.Status == "":
		return Update{}, errors.New("my_chat_member: no new_chat_member.status")
	}
	var kind UpdateKind
	switch status := m.NewChatMember.Status; {
	case status == "kicked" || status == "left":
		kind = UpdateBlocked
	case status == "member" || status == "administrator" || (status == "restricted" && m.NewChatMember.IsMember):
		kind = UpdateMember
	default:
		// "restricted" without being a member, "creator", or a status Telegram adds later:
		// nothing herald acts on. A send to a chat the bot has left fails as blocked anyway.
		return Update{Kind: UpdateIgnored}, nil
	}
	u := Update{
		Kind:     kind,
		ChatID:   strconv.FormatInt(m.Chat.ID, 10),
		ChatType: m.Chat.Type,
		At:       unixTime(m.Date),
	}
	u.setUser(m.From)
	return u, nil
}

// checkChat says what the chat of an update part lacks: every chat has an id and a type.
func checkChat(part string, c *tgChat) error {
	switch {
	case c == nil || c.ID == 0:
		return errors.New(part + ": no chat.id")
	case c.Type == "":
		return errors.New(part + ": no chat.type")
	}
	return nil
}

func (u *Update) setUser(from *tgUser) {
	u.UserID, u.FirstName, u.LastName, u.Username, u.LanguageCode = from.ID, from.FirstName, from.LastName, from.Username, from.LanguageCode
}

// command reads a bot command at the start of text: one the Bot API marked with a
// bot_command entity at offset 0, or, when the message carries no entities, text starting
// with '/'. Its grammar is Telegram's: '/', a name of A-Z a-z 0-9 _, then optionally
// '@' and the bot's username; whatever follows is the payload.
func command(text string, entities []tgEntity) (name, payload string, ok bool) {
	if !strings.HasPrefix(text, "/") {
		return "", "", false
	}
	if len(entities) > 0 {
		marked := false
		for _, e := range entities {
			if e.Type == "bot_command" && e.Offset == 0 {
				marked = true
				break
			}
		}
		if !marked {
			return "", "", false
		}
	}
	rest := text[1:]
	n := wordLen(rest)
	if n == 0 {
		return "", "", false
	}
	name, rest = strings.ToLower(rest[:n]), rest[n:]
	if strings.HasPrefix(rest, "@") {
		if m := wordLen(rest[1:]); m > 0 {
			rest = rest[1+m:]
		}
	}
	return name, strings.TrimSpace(rest), true
}

// wordLen is the length of the run of A-Z a-z 0-9 _ at the start of s.
func wordLen(s string) int {
	i := 0
	for i < len(s) && isWordByte(s[i]) {
		i++
	}
	return i
}

func isWordByte(c byte) bool {
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// maxUnixTime is the last second of year 9999: a later date is nonsense, and a time.Time
// beyond it has no RFC 3339 form.
const maxUnixTime = 253402300799

// unixTime is the time of a Unix-seconds date, UTC; zero when absent (0), negative or
// beyond year 9999.
func unixTime(secs int64) time.Time {
	if secs <= 0 || secs > maxUnixTime {
		return time.Time{}
	}
	return time.Unix(secs, 0).UTC()
}

// decodeError says which field of an update part has the wrong JSON type, without quoting
// the update (it may hold a person's message).
func decodeError(part string, err error) error {
	te, ok := errors.AsType[*json.UnmarshalTypeError](err)
	if !ok {
		return fmt.Errorf("%s: not a JSON object", part)
	}
	where := part
	if te.Field != "" {
		where += "." + te.Field
	}
	got, _, _ := strings.Cut(te.Value, " ") // "number 1.5" → "number"
	return fmt.Errorf("%s: a JSON %s where %s is expected", where, got, jsonKind(te.Type))
}

// jsonKind names what a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}
