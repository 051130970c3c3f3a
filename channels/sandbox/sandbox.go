// Package sandbox is a local emulator of the Telegram Bot API and of the Messenger Platform's
// Send API, for herald's tests, `herald demo` and `herald sandbox`.
//
// Telegram: the methods herald sends with (getMe, sendMessage, sendPhoto, sendVideo,
// sendAudio, sendDocument, sendMediaGroup) under /bot<token>/<method>, answering with
// Telegram's status codes, bodies and error descriptions; chats that block the bot, are
// deactivated or migrate; rate limits answered with 429 and retry_after; and injected faults
// (5xx answers, latency, connections dropped after the message was sent).
//
// Telegram updates: each bot (by its id, the digits before the ':' of its token) has a queue
// of the updates injected for it with InjectTelegram (a user's message, with a bot_command
// entity for a /command; a block or unblock, as my_chat_member, which also sets the chat's
// state; a callback query; a raw update; a redelivery of an update already given, with the
// same update_id). update_ids count up by one per bot. As on Telegram, getUpdates hands them
// out and confirms those before its offset (a negative offset keeps the last -offset), takes
// a limit (clamped to 1-100) and a long-poll timeout (clamped to 50 s) that ends as soon as an
// update is queued, and remembers allowed_updates (by default every type but chat_member,
// message_reaction and message_reaction_count), which filters the updates queued after it;
// a second getUpdates ends a waiting one with 409, and so does setWebhook. setWebhook (url,
// secret_token, allowed_updates, drop_pending_updates, max_connections, ip_address,
// certificate) switches the bot to webhook mode: getUpdates answers 409, and the sandbox posts
// the updates to the URL one at a time, in order, as JSON with X-Telegram-Bot-Api-Secret-Token
// when a secret is set, keeping each until the webhook answers 2xx; any other answer (a
// redirect included), a connection error or no answer within WebhookDelivery.Timeout is
// recorded as getWebhookInfo's last_error_date and last_error_message ("Wrong response from
// the webhook: 403 Forbidden") and retried after a pause. Unlike Telegram, the sandbox takes
// http:// webhook URLs on any port, loopback included, and delivers on one connection whatever
// max_connections says. deleteWebhook returns to polling.
//
// The sandbox is stricter than Telegram, so that it is a contract check on herald's requests:
// a parameter the official spec (telegram_spec.json, generated from the Bot API 10.1 spec)
// does not define for the method is refused, so is an inline button with more than one
// action, a media group of one item, an "&" in parse_mode HTML text that starts no entity, and
// an update type in allowed_updates that the spec does not list.
//
// Messenger: one Facebook Page (MessengerOptions) under the Graph API paths /v<N>.<M>/…:
// GET me (the page's id and name) and POST <page>/messages (or me/messages) with a PSID
// recipient (messaging_type RESPONSE or UPDATE: the "standard" route; MESSAGE_TAG with a tag:
// "tag") or a notification_messages_token ("recurring"), and POST act_<ad account>/messages
// with a page_id ("marketing"). Answers use the Graph API's error envelope and codes: 190 for
// a bad token, 100 for a bad parameter or an unknown user, 551 for a person who is not
// available, 10 outside the messaging window (24 hours after the person's last message,
// postback, opt-in or referral, 7 days after a click-to-Messenger ad or for HUMAN_AGENT) and
// for a stopped, expired or (recurring, 1 per 48 hours) overused token, 613 past the page's
// rate limits. The sandbox keeps each person's state by PSID (MessengerUser); it learns of
// people from the events injected with InjectMessenger, which it delivers to the webhook as
// Meta does (signed with X-Hub-Signature-256), or from SetMessengerUser. As on the Telegram
// side, the contract is stricter than Meta's: a field herald's contract does not define is
// refused with code 100 naming it. Faults apply to both halves.
//
// Messenger also has the page's Messenger profile (GET, POST and DELETE
// <page>/messenger_profile): its greeting and Get Started button (MessengerProfile).
//
// A control API under /__sandbox/ lists what was sent and switches chat states, Messenger
// users, faults and rate limits, injects Telegram updates (POST /__sandbox/telegram/updates)
// and Messenger events, and shows how a bot receives its updates (GET
// /__sandbox/telegram/webhook); GET / is a page that shows each conversation. See
// Server.Handler.
package sandbox

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Server.
type Options struct {
	// Tokens lists the bot tokens accepted; empty means any well-formed token
	// ("<digits>:<[A-Za-z0-9_-]+>"). Any other token gets 401
	// {"ok":false,"error_code":401,"description":"Unauthorized"}.
	Tokens []string
	// Rate is the global messages/second per bot token before answering 429; 0 = unlimited.
	Rate float64
	// Burst is how many messages a bot token may send at once; 0 means one second's worth.
	Burst int
	// PaidRate is the messages/second per bot token for requests with allow_paid_broadcast,
	// which do not count against Rate; 0 means Telegram's 1000 when Rate is set.
	PaidRate float64
	// PerChat limits the messages to any one chat (Telegram: about 1/s, short bursts
	// tolerated); PerGroup those to a group or channel (Telegram: 20/minute, i.e.
	// Limit{PerSecond: 20.0 / 60, Burst: 20}). Both are off by default.
	PerChat, PerGroup Limit
	// LenientHTML accepts, as Telegram does, an "&" in parse_mode HTML text that starts no
	// entity. By default the sandbox refuses it: it means a value was not escaped.
	LenientHTML bool
	// MaxLog bounds how many messages and requests are kept (the oldest are forgotten);
	// 0 keeps everything.
	MaxLog int
	// Now is the clock for message dates, rate limits and Messenger's messaging windows;
	// time.Now by default.
	Now func() time.Time
	// WebhookDelivery tunes how Telegram updates are posted to a webhook set with setWebhook.
	WebhookDelivery WebhookDelivery
	// Messenger configures the Messenger half.
	Messenger MessengerOptions
}

// Message is a message the sandbox accepted: one per successful send call (a media group is
// one Message with one Media per item, a Messenger template one Message with its images and
// buttons).
type Message struct {
	// Seq numbers accepted messages in order across all chats, from 1; it keeps counting
	// across Reset.
	Seq int64 `json:"seq"`
	// ID is the message_id Telegram would give (the first item's for a media group); IDs
	// count per chat. Messenger messages are numbered the same way, per PSID.
	ID      int64  `json:"id"`
	Channel string `json:"channel"` // "telegram" or "messenger"
	// Bot is the bot's id: the digits before the ':' of its token; for Messenger, the page id.
	Bot string `json:"bot"`
	// Chat is the chat_id as sent: a number, or "@username" in lower case; for Messenger, the
	// recipient's PSID (the token's owner for a notification_messages_token).
	Chat string `json:"chat"`
	// Method is the Bot API method; "messages" for Messenger.
	Method string `json:"method"`
	// Text is the text or caption as sent (for a media group, the first item's caption; for a
	// Messenger button template its text, for a generic template the first element's title
	// and subtitle on two lines).
	Text      string `json:"text"`
	ParseMode string `json:"parse_mode,omitempty"`
	// Plain is what the recipient reads: Text with its markup parsed, as Telegram shows it.
	Plain   string    `json:"plain"`
	Media   []Media   `json:"media,omitempty"`
	Buttons []Button  `json:"buttons,omitempty"`
	Silent  bool      `json:"silent,omitempty"` // disable_notification
	Paid    bool      `json:"paid,omitempty"`   // allow_paid_broadcast
	Time    time.Time `json:"time"`

	// Messenger only.

	// MID is the message_id the Send API answered, "m_…".
	MID string `json:"mid,omitempty"`
	// MessagingType and Tag are the request's messaging_type and tag, as sent.
	MessagingType string `json:"messaging_type,omitempty"`
	Tag           string `json:"tag,omitempty"`
	// Route is how the message was allowed: "standard" (inside the messaging window),
	// "tag" (a message tag), "recurring" (a notification_messages_token) or "marketing"
	// (the Marketing Messages route, act_<id>/messages).
	Route string `json:"route,omitempty"`
	// NotificationType is notification_type as sent (REGULAR, SILENT_PUSH or NO_PUSH).
	NotificationType string `json:"notification_type,omitempty"`
	// QuickReplies are the quick replies' titles.
	QuickReplies []string `json:"quick_replies,omitempty"`
	// Elements are a generic template's elements (its cards), in order.
	Elements []Element `json:"elements,omitempty"`
}

// Element is one element of a Messenger generic template: a card of a carousel.
type Element struct {
	Title    string `json:"title"`
	Subtitle string `json:"subtitle,omitempty"`
	Image    string `json:"image,omitempty"` // image_url
	// Link is the default_action's URL: where tapping the card goes.
	Link string `json:"link,omitempty"`
	// Buttons are the element's own buttons (also in the Message's Buttons).
	Buttons []Button `json:"buttons,omitempty"`
}

// Media is a photo, video, audio file or document of a message.
type Media struct {
	// Kind is, for Telegram, "photo", "video", "audio", "document" or "live_photo"; for
	// Messenger, the attachment's type: "image", "video", "audio" or "file" (a generic
	// template's element images are "image", captioned with the element's title).
	Kind string `json:"kind"`
	// URL is the file as sent: an http(s) URL, a file_id, or "upload:<filename>" for a file
	// uploaded with the request.
	URL string `json:"url"`
	// Caption is the item's caption as sent, in a media group.
	Caption   string `json:"caption,omitempty"`
	MessageID int64  `json:"message_id"`
}

// Button is an inline keyboard button, or a Messenger template's button: a web_url button
// has a URL, a postback button its payload in Callback. Messenger stacks buttons, one per
// row (counting on across a generic template's elements).
type Button struct {
	Text     string `json:"text"`
	URL      string `json:"url,omitempty"`
	Callback string `json:"callback,omitempty"` // callback_data
	Row      int    `json:"row"`                // from 0
}

// ChatState is how a chat answers the bot.
type ChatState string

const (
	ChatOK             ChatState = "ok" // the default for every chat
	ChatBlocked        ChatState = "blocked"
	ChatDeactivated    ChatState = "deactivated"
	ChatKicked         ChatState = "kicked"
	ChatNotFound       ChatState = "not_found"
	ChatNoConversation ChatState = "no_conversation"
)

const migratedPrefix = "migrated:"

// ChatMigrated is the state of a group upgraded to the supergroup newChatID.
func ChatMigrated(newChatID int64) ChatState {
	return ChatState(migratedPrefix + strconv.FormatInt(newChatID, 10))
}

// Validate returns an error that says what is wrong when s is not a chat state.
func (s ChatState) Validate() error {
	switch s {
	case ChatOK, ChatBlocked, ChatDeactivated, ChatKicked, ChatNotFound, ChatNoConversation:
		return nil
	}
	if rest, ok := strings.CutPrefix(string(s), migratedPrefix); ok {
		if id, err := strconv.ParseInt(rest, 10, 64); err == nil && id != 0 {
			return nil
		}
		return fmt.Errorf("chat state %q: want migrated:<new chat id>, e.g. migrated:-1001234567890", s)
	}
	return fmt.Errorf("chat state %q: want one of ok, blocked, deactivated, kicked, not_found, no_conversation or migrated:<new chat id>", s)
}

// Faults are failures the sandbox injects into Bot API answers.
type Faults struct {
	// ErrorRate is the fraction of requests answered 500 or 502 before being processed (and
	// so not recorded).
	ErrorRate float64 `json:"error_rate"`
	// Latency delays every answer, after the request was processed.
	Latency time.Duration `json:"latency"`
	// DropRate is the fraction of accepted sends that are processed and recorded and then
	// get no answer: the connection is closed, an ambiguous outcome for the client.
	DropRate float64 `json:"drop_rate"`
}

// Request is a Bot API or Graph API request the sandbox received.
type Request struct {
	Seq     int64  `json:"seq"`
	Channel string `json:"channel"` // "telegram" or "messenger"
	// Bot is the bot's id, the digits before the ':' of its token; for Messenger, the page id.
	Bot string `json:"bot"`
	// Method is as in the URL: the Bot API method, or the Graph API path after the version,
	// e.g. "me/messages" or "act_123/messages".
	Method string `json:"method"`
	// Format is how the parameters came: "json", "form", "multipart" or "query".
	Format string `json:"format,omitempty"`
	// Fields are the names of the top-level parameters present, sorted.
	Fields      []string `json:"fields"`
	Status      int      `json:"status"`
	Description string   `json:"description,omitempty"` // the error's, when not ok
	// ErrorCode and ErrorSubcode are a Graph API error's code and error_subcode.
	ErrorCode    int       `json:"error_code,omitempty"`
	ErrorSubcode int       `json:"error_subcode,omitempty"`
	Time         time.Time `json:"time"`
}

// Server is the sandbox. It is safe for concurrent use.
type Server struct {
	spec        *apiSpec
	now         func() time.Time
	tokens      map[string]bool
	lenientHTML bool
	limits      *limits
	faults      atomic.Pointer[Faults]
	chats       atomic.Pointer[map[string]ChatState] // copy on write; only non-ok states
	chatsMu     sync.Mutex                           // serializes writers of chats
	log         messageLog
	inbound     *telegramInbound
	msgr        *messenger
	mux         *http.ServeMux

	srvMu    sync.Mutex
	srv      *http.Server
	serveErr chan error
}

// New returns a sandbox configured by opts. It panics when opts.Messenger.WebhookURL is set
// and is not an http(s) URL.
func New(opts Options) *Server {
	spec, err := loadSpec()
	if err != nil {
		panic("sandbox: " + err.Error()) // the embedded spec is tested; this is a build defect
	}
	s := &Server{
		spec:        spec,
		now:         opts.Now,
		lenientHTML: opts.LenientHTML,
		limits:      newLimits(Limit{PerSecond: opts.Rate, Burst: opts.Burst}, Limit{PerSecond: opts.PaidRate}, opts.PerChat, opts.PerGroup),
		log:         messageLog{max: opts.MaxLog, nextID: map[string]int64{}},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if len(opts.Tokens) > 0 {
		s.tokens = make(map[string]bool, len(opts.Tokens))
		for _, t := range opts.Tokens {
			s.tokens[t] = true
		}
	}
	s.inbound = newTelegramInbound(s.now, spec.updateTypes, opts.MaxLog, opts.WebhookDelivery)
	s.faults.Store(&Faults{})
	s.chats.Store(&map[string]ChatState{})
	s.msgr = newMessenger(opts.Messenger)
	s.mux = s.controlRoutes()
	return s
}

// Handler serves everything: the Bot API under /bot<token>/<method>, the Graph API (Messenger)
// under /v<N>.<M>/, the control API under /__sandbox/ and the web page at /.
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP implements http.Handler; see Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/bot") {
		s.serveBotAPI(w, r)
		return
	}
	if _, _, ok := graphPath(r.URL.Path); ok {
		s.serveGraphAPI(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Start listens on addr (e.g. "127.0.0.1:0"), serves in the background and returns the base
// URL to point a Bot API or Graph API client at, e.g. "http://127.0.0.1:41234". It fails when addr cannot
// be listened on or the server was already started.
func (s *Server) Start(addr string) (baseURL string, err error) {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.srv != nil {
		return "", errors.New("sandbox: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("sandbox: listen on %s: %w", addr, err)
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.serveErr = make(chan error, 1)
	s.inbound.resume()
	go func(srv *http.Server) { s.serveErr <- srv.Serve(ln) }(s.srv)
	tcp := ln.Addr().(*net.TCPAddr)
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1" // listening everywhere, loopback included
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port)), nil
}

// Close stops a started server, closing its connections, and stops posting Telegram updates to
// webhooks (call it also when serving with Handler once a bot set a webhook); the webhooks
// stay set, and deliveries resume on Start. It returns the error serving ended with, if it was
// not the close itself.
func (s *Server) Close() error {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	s.inbound.stop()
	if s.srv == nil {
		return nil
	}
	err := s.srv.Close()
	if serveErr := <-s.serveErr; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	s.srv = nil
	return err
}

// Messages returns every accepted message, in acceptance order.
func (s *Server) Messages() []Message { return s.log.messages(nil) }

// Requests returns every Bot API and Graph API request received, in order, with the fields it
// carried and the status it was answered with.
func (s *Server) Requests() []Request { return s.log.requestList() }

// Reset forgets the messages and requests received and restarts message ids; settings (chat
// states, faults, rate limits) stay, and so do the Telegram bots' updates and webhooks, and the
// Messenger half's state: its users (their windows, tokens and the 48-hour spacing of recurring
// sends), webhook, profile and rate limits.
func (s *Server) Reset() { s.log.reset() }

// SetChat sets how chatID ("123", "-1001234567890" or "@channel") answers the bot. It panics
// when st is not valid (see ChatState.Validate).
func (s *Server) SetChat(chatID string, st ChatState) {
	if err := st.Validate(); err != nil {
		panic("sandbox: SetChat: " + err.Error())
	}
	key := normalizeChatKey(chatID)
	s.chatsMu.Lock()
	defer s.chatsMu.Unlock()
	old := *s.chats.Load()
	next := make(map[string]ChatState, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	if st == ChatOK || st == "" {
		delete(next, key)
	} else {
		next[key] = st
	}
	s.chats.Store(&next)
}

// Chats returns the chats whose state is not ok.
func (s *Server) Chats() map[string]ChatState {
	cur := *s.chats.Load()
	out := make(map[string]ChatState, len(cur))
	for k, v := range cur {
		out[k] = v
	}
	return out
}

func (s *Server) chatState(key string) ChatState {
	if st, ok := (*s.chats.Load())[key]; ok {
		return st
	}
	return ChatOK
}

// SetFaults replaces the faults injected.
func (s *Server) SetFaults(f Faults) { s.faults.Store(&f) }

// CurrentFaults returns the faults injected.
func (s *Server) CurrentFaults() Faults { return *s.faults.Load() }

// SetRate sets the global messages/second per bot token and its burst (0: one second's
// worth); perSecond 0 removes the limit. Buckets restart full.
func (s *Server) SetRate(perSecond float64, burst int) {
	s.limits.set(func(l *limits) { l.global = Limit{PerSecond: perSecond, Burst: burst} })
}

// SetChatLimits sets the per-chat and per-group limits (the zero Limit turns one off).
func (s *Server) SetChatLimits(perChat, perGroup Limit) {
	s.limits.set(func(l *limits) { l.perChat, l.perGroup = perChat, perGroup })
}

// normalizeChatKey writes a chat id as Message.Chat does: a number in decimal, a username in
// lower case.
func normalizeChatKey(id string) string {
	id = strings.TrimSpace(id)
	if strings.HasPrefix(id, "@") {
		return strings.ToLower(id)
	}
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		return strconv.FormatInt(n, 10)
	}
	return id
}

// messageLog holds what was received. Its lock is held only to append and copy.
type messageLog struct {
	mu       sync.Mutex
	max      int
	seq      int64
	reqSeq   int64
	epoch    int64
	msgs     []Message
	requests []Request
	nextID   map[string]int64 // the last message_id given per chat (see idKey)
}

// idKey is the key of a message's chat in nextID: Telegram chat ids and Messenger PSIDs are
// both numbers, and count apart.
func idKey(channel, chat string) string {
	if channel == "messenger" {
		return "messenger\x00" + chat
	}
	return chat
}

// lastID returns the last message id given in a chat.
func (l *messageLog) lastID(chat string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nextID[chat]
}

// takeID gives the next message id in a Telegram chat to a message the sandbox does not keep:
// one a user sent the bot.
func (l *messageLog) takeID(chat string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nextID[chat]++
	return l.nextID[chat]
}

// commit gives a message its ids (n consecutive ones in its chat, one per media item when
// n > 1) and keeps it.
func (l *messageLog) commit(m *Message, n int) (firstID int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := idKey(m.Channel, m.Chat)
	firstID = l.nextID[key] + 1
	l.nextID[key] += int64(n)
	l.seq++
	m.Seq, m.ID = l.seq, firstID
	for i := range m.Media {
		m.Media[i].MessageID = firstID + int64(min(i, n-1))
	}
	l.msgs = appendBounded(l.msgs, *m, l.max)
	return firstID
}

func (l *messageLog) addRequest(r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqSeq++
	r.Seq = l.reqSeq
	l.requests = appendBounded(l.requests, r, l.max)
}

// messages returns a copy of the messages keep accepts (all when keep is nil).
func (l *messageLog) messages(keep func(*Message) bool) []Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	msgs := lastN(l.msgs, l.max)
	out := make([]Message, 0, len(msgs))
	for i := range msgs {
		if keep == nil || keep(&msgs[i]) {
			out = append(out, msgs[i])
		}
	}
	return out
}

func (l *messageLog) requestList() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Request{}, lastN(l.requests, l.max)...)
}

// appendBounded appends v and, when max > 0, forgets the oldest elements beyond max — in
// batches, so that appending stays cheap; lastN hides the excess meanwhile.
func appendBounded[T any](s []T, v T, max int) []T {
	s = append(s, v)
	if max > 0 && len(s) > max+max/2 {
		s = append(s[:0:0], s[len(s)-max:]...)
	}
	return s
}

func lastN[T any](s []T, n int) []T {
	if n > 0 && len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (l *messageLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs, l.requests = nil, nil
	clear(l.nextID)
	l.epoch++
}

func (l *messageLog) clearMessages() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(lastN(l.msgs, l.max))
	l.msgs = nil
	l.epoch++
	return n
}

func (l *messageLog) clearRequests() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(lastN(l.requests, l.max))
	l.requests = nil
	return n
}

func (l *messageLog) currentEpoch() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epoch
}
