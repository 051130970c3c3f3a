package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"mime"
	"path"
	"strconv"
	"strings"
)

// The Bot API objects the sandbox answers with, in the fields' usual order.

type tgUser struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name,omitempty"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
}

// tgBotUser is getMe's answer.
type tgBotUser struct {
	tgUser
	CanJoinGroups           bool `json:"can_join_groups"`
	CanReadAllGroupMessages bool `json:"can_read_all_group_messages"`
	SupportsInlineQueries   bool `json:"supports_inline_queries"`
	CanConnectToBusiness    bool `json:"can_connect_to_business"`
	HasMainWebApp           bool `json:"has_main_web_app"`
}

type tgChat struct {
	ID        int64  `json:"id"`
	Title     string `json:"title,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Username  string `json:"username,omitempty"`
	Type      string `json:"type"`
}

type tgPhotoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int64  `json:"file_size,omitempty"`
}

type tgVideo struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int64  `json:"width"`
	Height       int64  `json:"height"`
	Duration     int64  `json:"duration"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
}

type tgAudio struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Duration     int64  `json:"duration"`
	Performer    string `json:"performer,omitempty"`
	Title        string `json:"title,omitempty"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
}

type tgDocument struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
}

type tgReplyTo struct {
	MessageID int64  `json:"message_id"`
	Date      int64  `json:"date"`
	Chat      tgChat `json:"chat"`
}

type tgMessage struct {
	MessageID             int64         `json:"message_id"`
	From                  *tgUser       `json:"from,omitempty"`
	SenderChat            *tgChat       `json:"sender_chat,omitempty"`
	Date                  int64         `json:"date"`
	Chat                  tgChat        `json:"chat"`
	ReplyToMessage        *tgReplyTo    `json:"reply_to_message,omitempty"`
	HasProtectedContent   bool          `json:"has_protected_content,omitempty"`
	MediaGroupID          string        `json:"media_group_id,omitempty"`
	Text                  string        `json:"text,omitempty"`
	Entities              []entity      `json:"entities,omitempty"`
	LinkPreviewOptions    any           `json:"link_preview_options,omitempty"`
	Audio                 *tgAudio      `json:"audio,omitempty"`
	Document              *tgDocument   `json:"document,omitempty"`
	Photo                 []tgPhotoSize `json:"photo,omitempty"`
	Video                 *tgVideo      `json:"video,omitempty"`
	Caption               string        `json:"caption,omitempty"`
	CaptionEntities       []entity      `json:"caption_entities,omitempty"`
	ShowCaptionAboveMedia bool          `json:"show_caption_above_media,omitempty"`
	HasMediaSpoiler       bool          `json:"has_media_spoiler,omitempty"`
	ReplyMarkup           any           `json:"reply_markup,omitempty"`
}

// chatRef is a chat as a chat_id names it.
type chatRef struct {
	key      string // as Message.Chat: the id in decimal, or "@username" in lower case
	id       int64
	username string
	kind     string // "private", "group", "supergroup" or "channel"
}

// isGroup reports whether the chat has the group limit (20 messages a minute).
func (c chatRef) isGroup() bool { return c.kind != "private" }

const supergroupIDs = -1_000_000_000_000 // supergroup and channel ids are -100xxxxxxxxxx

func chatFromID(id int64) chatRef {
	c := chatRef{key: strconv.FormatInt(id, 10), id: id, kind: "private"}
	switch {
	case id <= supergroupIDs:
		c.kind = "supergroup"
	case id < 0:
		c.kind = "group"
	}
	return c
}

// chatFromUsername is a public channel: Telegram resolves the @username to its id, which the
// sandbox derives from the name so that it is stable.
func chatFromUsername(name string) chatRef {
	name = strings.ToLower(name)
	h := fnv.New64a()
	h.Write([]byte(name))
	id := supergroupIDs - int64(h.Sum64()%1_000_000_000)
	return chatRef{key: "@" + name, id: id, username: name, kind: "channel"}
}

func (c chatRef) object() tgChat {
	o := tgChat{ID: c.id, Type: c.kind}
	switch c.kind {
	case "private":
		o.FirstName = "Subscriber " + c.key
	case "channel":
		o.Title, o.Username = "@"+c.username, c.username
	default:
		o.Title = strings.ToUpper(c.kind[:1]) + c.kind[1:] + " " + c.key
	}
	return o
}

// botID is the bot's id from its token: the digits before the ':'.
func botID(token string) string {
	id, _, _ := strings.Cut(token, ":")
	return id
}

func botUser(bot string) tgUser {
	id, err := strconv.ParseInt(bot, 10, 64)
	if err != nil {
		id = 1
	}
	return tgUser{ID: id, IsBot: true, FirstName: "Herald Sandbox", Username: "sandbox_" + bot + "_bot"}
}

// fileRef is a file a request names: an upload, a URL or a file_id.
type fileRef struct {
	display string // Media.URL
	fileID  string // set when the request named a file_id
	name    string // the file's name, for documents and audio files
	size    int64
}

// Telegram's file ids begin with a few bytes that say what the file is.
var fileIDPrefixes = map[string]string{
	"photo": "AgACAgIAAxkBAA", "video": "BAACAgIAAxkBAA", "audio": "CQACAgIAAxkBAA",
	"document": "BQACAgIAAxkBAA", "live_photo": "AgACAgIAAxkBAA",
}

// ids returns the file_id and file_unique_id Telegram would give the file: the file_id it was
// sent by, or stable ones derived from the URL or upload.
func (f fileRef) ids(kind, variant string) (fileID, uniqueID string) {
	sum := sha256.Sum256([]byte(kind + "\x00" + variant + "\x00" + f.display))
	unique := "AQAD" + base64.RawURLEncoding.EncodeToString(sum[:9])
	if f.fileID != "" && variant == "" {
		return f.fileID, unique
	}
	return fileIDPrefixes[kind] + base64.RawURLEncoding.EncodeToString(sum[:]), unique
}

// fakeSize is a plausible size for a file the sandbox never fetched.
func (f fileRef) fakeSize() int64 {
	if f.size > 0 {
		return f.size
	}
	sum := sha256.Sum256([]byte(f.display))
	return 20_000 + int64(binary.BigEndian.Uint32(sum[:4])%2_000_000)
}

func mimeTypeOf(name, fallback string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		t, _, _ = strings.Cut(t, ";")
		return t
	}
	return fallback
}
