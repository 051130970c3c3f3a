package sandbox

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMessengerPageID is the page the sandbox emulates when MessengerOptions.PageID is empty.
const DefaultMessengerPageID = "100000000000001"

const defaultMessengerPageName = "Herald Sandbox"

// The Messenger Platform's time limits.
const (
	standardWindow   = 24 * time.Hour     // after the person's last interaction
	adWindow         = 7 * 24 * time.Hour // after an interaction that came from a click-to-Messenger ad
	humanAgentWindow = 7 * 24 * time.Hour // for the HUMAN_AGENT tag
	recurringSpacing = 48 * time.Hour     // between two recurring notification messages to a token
	tokenLifetime    = 365 * 24 * time.Hour
)

// MessengerOptions configures the Messenger half of a Server: the one Facebook Page it
// emulates.
type MessengerOptions struct {
	// PageID is the page's id, which the Send API accepts in its path (besides "me");
	// DefaultMessengerPageID when empty.
	PageID string
	// PageName is what GET /v<N>.<M>/me answers as the page's name; "Herald Sandbox" when empty.
	PageName string
	// PageTokens lists the page access tokens accepted; empty means any non-empty token. Any
	// other token, and a missing one, gets code 190.
	PageTokens []string
	// AppSecret signs the webhook events (X-Hub-Signature-256) and checks appsecret_proof
	// when a request carries one. Without it, events are posted unsigned.
	AppSecret string
	// WebhookURL is where injected events are posted; none when empty. New panics when it is
	// not an http(s) URL.
	WebhookURL string
	// Rate is the page's Send API calls/second (Meta: 300), MediaRate those with an audio or
	// video attachment (Meta: 10), which count against Rate too; 0 = unlimited. Past them a
	// send is answered with code 613.
	Rate, MediaRate float64
}

// MessengerUser is what the sandbox knows of a person who talks to the page, by PSID.
type MessengerUser struct {
	// LastInteraction is the time of the person's last message, postback, opt-in or referral;
	// zero when they never interacted (a standard-route message is then outside the window).
	LastInteraction time.Time `json:"last_interaction,omitzero"`
	// AdReferral tells that the last interaction came from a click-to-Messenger ad, which
	// keeps the window open for 7 days instead of 24 hours.
	AdReferral bool `json:"ad_referral"`
	// Unavailable makes every send to the person fail with code 551.
	Unavailable bool `json:"unavailable"`
	// Tokens are the person's notification_messages_tokens, oldest first.
	Tokens []NotificationToken `json:"tokens,omitempty"`
}

// TokenStatus is whether a notification_messages_token may be sent to.
type TokenStatus string

// The statuses of a notification_messages_token.
const (
	TokenActive  TokenStatus = "active"  // may be sent to, until it expires
	TokenStopped TokenStatus = "stopped" // the person chose STOP_NOTIFICATIONS
)

// NotificationToken is a notification_messages_token a person gave the page by opting in.
type NotificationToken struct {
	Token string `json:"token"`
	// Status is TokenActive when empty in SetMessengerUser.
	Status TokenStatus `json:"status"`
	// Expires is when the token stops working; a year from now when zero in
	// SetMessengerUser.
	Expires  time.Time `json:"expires"`
	Timezone string    `json:"timezone,omitempty"`
	// Topic is the opt-in's payload.
	Topic string `json:"topic,omitempty"`
	// LastRecurring is when the last message on the recurring route was sent with the token,
	// which may send one per 48 hours.
	LastRecurring time.Time `json:"last_recurring,omitzero"`
}

// messenger is the Messenger half's state.
type messenger struct {
	pageID   string
	pageName string
	tokens   map[string]bool // nil: any non-empty token
	limits   pageLimits
	midSeq   atomic.Uint64

	mu         sync.Mutex
	users      map[string]*MessengerUser
	tokenOwner map[string]string // notification_messages_token → PSID
	webhookURL string
	appSecret  string
	profile    MessengerProfile
}

func newMessenger(opts MessengerOptions) *messenger {
	m := &messenger{
		pageID: opts.PageID, pageName: opts.PageName,
		users: map[string]*MessengerUser{}, tokenOwner: map[string]string{},
		webhookURL: opts.WebhookURL, appSecret: opts.AppSecret,
	}
	if m.pageID == "" {
		m.pageID = DefaultMessengerPageID
	}
	if m.pageName == "" {
		m.pageName = defaultMessengerPageName
	}
	if len(opts.PageTokens) > 0 {
		m.tokens = make(map[string]bool, len(opts.PageTokens))
		for _, t := range opts.PageTokens {
			m.tokens[t] = true
		}
	}
	if err := checkWebhookURL(opts.WebhookURL); err != nil {
		panic("sandbox: Options.Messenger.WebhookURL: " + err.Error())
	}
	m.limits.set(opts.Rate, opts.MediaRate)
	return m
}

// isPSID reports whether id looks like a page-scoped id: 1 to 20 digits.
func isPSID(id string) bool {
	if id == "" || len(id) > 20 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// SetMessengerUser creates or replaces the person psid (digits, as Meta's PSIDs are), filling
// a token's empty Status with TokenActive and its zero Expires with a year from now. It panics
// when psid is not digits, a token is empty, has an unknown status, appears twice or belongs
// to another person.
func (s *Server) SetMessengerUser(psid string, u MessengerUser) {
	if err := s.msgr.setUser(psid, u, s.now()); err != nil {
		panic("sandbox: SetMessengerUser: " + err.Error())
	}
}

// DeleteMessengerUser forgets the person psid: sends to them fail with "No matching user
// found" until they are injected or set again.
func (s *Server) DeleteMessengerUser(psid string) {
	s.msgr.mu.Lock()
	defer s.msgr.mu.Unlock()
	s.msgr.deleteUserLocked(psid)
}

// MessengerUsers returns a copy of every person the sandbox knows, by PSID.
func (s *Server) MessengerUsers() map[string]MessengerUser {
	s.msgr.mu.Lock()
	defer s.msgr.mu.Unlock()
	out := make(map[string]MessengerUser, len(s.msgr.users))
	for psid, u := range s.msgr.users {
		out[psid] = u.clone()
	}
	return out
}

// MessengerUser returns the person psid and whether the sandbox knows them.
func (s *Server) MessengerUser(psid string) (MessengerUser, bool) {
	s.msgr.mu.Lock()
	defer s.msgr.mu.Unlock()
	u, ok := s.msgr.users[psid]
	if !ok {
		return MessengerUser{}, false
	}
	return u.clone(), true
}

// SetMessengerWebhook sets where injected events are posted (none when url is empty) and the
// app secret they are signed with (unsigned when empty). It panics when url is neither empty
// nor an http(s) URL.
func (s *Server) SetMessengerWebhook(url, appSecret string) {
	if err := checkWebhookURL(url); err != nil {
		panic("sandbox: SetMessengerWebhook: " + err.Error())
	}
	s.msgr.mu.Lock()
	defer s.msgr.mu.Unlock()
	s.msgr.webhookURL, s.msgr.appSecret = url, appSecret
}

// SetMessengerRate sets the page's Send API calls/second and those for audio and video
// attachments (0 = unlimited); buckets restart full.
func (s *Server) SetMessengerRate(perSecond, mediaPerSecond float64) {
	s.msgr.limits.set(perSecond, mediaPerSecond)
}

// MessengerRate returns the rates SetMessengerRate sets.
func (s *Server) MessengerRate() (perSecond, mediaPerSecond float64) {
	return s.msgr.limits.get()
}

// MessengerPageID returns the id of the page the sandbox emulates.
func (s *Server) MessengerPageID() string { return s.msgr.pageID }

func checkWebhookURL(link string) error {
	if link != "" && !isHTTPURL(link) {
		return fmt.Errorf("webhook URL %q: want an http(s) URL such as http://127.0.0.1:8080/webhook/messenger", link)
	}
	return nil
}

func (u *MessengerUser) clone() MessengerUser {
	c := *u
	c.Tokens = slices.Clone(u.Tokens)
	return c
}

func (u *MessengerUser) validate() error {
	seen := map[string]bool{}
	for i, t := range u.Tokens {
		switch {
		case t.Token == "":
			return fmt.Errorf("tokens[%d]: the token is empty", i)
		case t.Status != "" && t.Status != TokenActive && t.Status != TokenStopped:
			return fmt.Errorf("tokens[%d]: status %q: want active or stopped", i, t.Status)
		case seen[t.Token]:
			return fmt.Errorf("tokens[%d]: token %q appears twice", i, t.Token)
		}
		seen[t.Token] = true
	}
	return nil
}

func (m *messenger) setUser(psid string, u MessengerUser, now time.Time) error {
	if !isPSID(psid) {
		return fmt.Errorf("PSID %q: want digits, e.g. 24000000000000001", psid)
	}
	if err := u.validate(); err != nil {
		return err
	}
	u = u.clone()
	for i := range u.Tokens {
		t := &u.Tokens[i]
		if t.Status == "" {
			t.Status = TokenActive
		}
		if t.Expires.IsZero() {
			t.Expires = now.Add(tokenLifetime)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range u.Tokens {
		if owner, ok := m.tokenOwner[t.Token]; ok && owner != psid {
			return fmt.Errorf("token %q belongs to PSID %s", t.Token, owner)
		}
	}
	m.deleteUserLocked(psid)
	m.users[psid] = &u
	for _, t := range u.Tokens {
		m.tokenOwner[t.Token] = psid
	}
	return nil
}

func (m *messenger) deleteUserLocked(psid string) {
	if old, ok := m.users[psid]; ok {
		for _, t := range old.Tokens {
			delete(m.tokenOwner, t.Token)
		}
		delete(m.users, psid)
	}
}

// userLocked returns the person psid, created when new.
func (m *messenger) userLocked(psid string) *MessengerUser {
	u, ok := m.users[psid]
	if !ok {
		u = &MessengerUser{}
		m.users[psid] = u
	}
	return u
}

// newMID makes a Messenger message id: "m_" and URL-safe base64, unique in the server.
func (m *messenger) newMID() string {
	var b [20]byte
	binary.BigEndian.PutUint64(b[:8], m.midSeq.Add(1))
	binary.BigEndian.PutUint64(b[8:16], rand.Uint64())
	binary.BigEndian.PutUint32(b[16:], rand.Uint32())
	return "m_" + base64.RawURLEncoding.EncodeToString(b[:])
}
