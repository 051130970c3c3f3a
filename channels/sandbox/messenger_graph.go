package sandbox

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// graphPath splits a Graph API path, "/v25.0/me/messages", into its version and the rest,
// "me/messages"; ok is false when the path has no version segment.
func graphPath(p string) (version, rest string, ok bool) {
	if !strings.HasPrefix(p, "/v") {
		return "", "", false
	}
	version, rest, _ = strings.Cut(p[1:], "/")
	major, minor, found := strings.Cut(version[1:], ".")
	if !found || !isPSID(major) || !isPSID(minor) {
		return "", "", false
	}
	return version, rest, true
}

// graphRequest is a Graph API call's parameters: the query string's, then the body's.
// access_token and appsecret_proof are credentials, kept apart from params (and so out of
// Request.Fields).
type graphRequest struct {
	params map[string]any // top-level parameters; recipient and message decoded from JSON in forms
	format string
	token  string // from the Authorization header, access_token or the body
	proof  string // appsecret_proof
	err    *graphError
}

// serveGraphAPI answers the Graph API paths the Messenger half emulates.
func (s *Server) serveGraphAPI(w http.ResponseWriter, r *http.Request) {
	_, rest, _ := graphPath(r.URL.Path)
	m := s.msgr
	rec := Request{Channel: "messenger", Bot: m.pageID, Method: rest, Fields: []string{}, Time: s.now()}
	faults := s.faults.Load()
	if faults.ErrorRate > 0 && rand.Float64() < faults.ErrorRate {
		s.graphFail(w, r, &rec, &graphError{status: http.StatusInternalServerError, code: codeTransient, message: graphTransient, transient: true}, faults)
		return
	}
	req := decodeGraphRequest(w, r)
	rec.Format = req.format
	for name := range req.params {
		rec.Fields = append(rec.Fields, name)
	}
	slices.Sort(rec.Fields)
	if !m.tokenAccepted(req.token) {
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token" "`+graphInvalidToken+`"`)
		s.graphFail(w, r, &rec, &graphError{code: codeToken, message: graphInvalidToken}, faults)
		return
	}
	segments := strings.Split(rest, "/")
	object, edge := segments[0], ""
	if len(segments) > 1 {
		edge = segments[1]
	}
	verb := strings.ToLower(r.Method)
	marketing := strings.HasPrefix(object, "act_") && isPSID(object[len("act_"):])
	switch {
	case len(segments) > 2 || (edge != "" && edge != "messages" && edge != "messenger_profile") || object == "":
		s.graphFail(w, r, &rec, &graphError{code: codeUnknownPath, message: fmt.Sprintf(graphUnknownPath, "/"+rest)}, faults)
		return
	case object != "me" && object != m.pageID && !(marketing && edge == "messages"),
		edge == "" && r.Method != http.MethodGet,
		edge == "messages" && r.Method != http.MethodPost,
		edge == "messenger_profile" && r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodDelete:
		s.graphFail(w, r, &rec, &graphError{code: codeParam, subcode: subcodeUnsupported, message: fmt.Sprintf(graphUnsupported, verb, object)}, faults)
		return
	}
	if req.err != nil {
		s.graphFail(w, r, &rec, req.err, faults)
		return
	}
	if apiErr := m.checkProof(req); apiErr != nil {
		s.graphFail(w, r, &rec, apiErr, faults)
		return
	}
	if edge == "messenger_profile" {
		answer, apiErr := m.serveProfile(r.Method, req.params)
		if apiErr != nil {
			s.graphFail(w, r, &rec, apiErr, faults)
			return
		}
		body, _ := metaJSON(answer)
		s.finish(w, r, &rec, http.StatusOK, "", body, false, faults.Latency)
		return
	}
	if edge == "" {
		answer, apiErr := m.pageInfo(req.params)
		if apiErr != nil {
			s.graphFail(w, r, &rec, apiErr, faults)
			return
		}
		body, _ := metaJSON(answer)
		s.finish(w, r, &rec, http.StatusOK, "", body, false, faults.Latency)
		return
	}

	send, apiErr := parseSend(req.params, marketing, m.pageID)
	if apiErr == nil && !m.limits.take(s.now(), send.media) {
		apiErr = &graphError{code: codeRateLimit, message: graphRateLimit}
	}
	if apiErr == nil {
		apiErr = m.admit(send, s.now())
	}
	if apiErr != nil {
		s.graphFail(w, r, &rec, apiErr, faults)
		return
	}
	msg := send.msg
	msg.Channel, msg.Bot, msg.Chat, msg.Method = "messenger", m.pageID, send.psid, "messages"
	msg.MID = m.newMID()
	msg.Time = s.now()
	s.log.commit(&msg, 1)
	body, _ := metaJSON(sendAnswer{RecipientID: send.psid, MessageID: msg.MID})
	drop := faults.DropRate > 0 && rand.Float64() < faults.DropRate
	s.finish(w, r, &rec, http.StatusOK, "", body, drop, faults.Latency)
}

type sendAnswer struct {
	RecipientID string `json:"recipient_id"`
	MessageID   string `json:"message_id"`
}

func (s *Server) graphFail(w http.ResponseWriter, r *http.Request, rec *Request, e *graphError, faults *Faults) {
	body, _ := metaJSON(e.body())
	rec.ErrorCode, rec.ErrorSubcode = e.code, e.subcode
	s.finish(w, r, rec, e.httpStatus(), e.message, body, false, faults.Latency)
}

func (m *messenger) tokenAccepted(token string) bool {
	if m.tokens != nil {
		return m.tokens[token]
	}
	return token != ""
}

// checkProof checks appsecret_proof, the hex HMAC-SHA256 of the access token keyed with the
// app secret, when the request carries one and the sandbox knows the secret.
func (m *messenger) checkProof(req *graphRequest) *graphError {
	m.mu.Lock()
	secret := m.appSecret
	m.mu.Unlock()
	if req.proof == "" || secret == "" {
		return nil
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(req.token))
	if !hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(strings.ToLower(req.proof))) {
		return &graphError{code: codeParam, message: graphSecretProof}
	}
	return nil
}

// pageInfo answers GET me: the page's id and, unless fields leaves it out, its name.
func (m *messenger) pageInfo(params map[string]any) (any, *graphError) {
	for name := range params {
		if name != "fields" {
			return nil, paramError(graphParamUnknown, name)
		}
	}
	type page struct {
		Name string `json:"name,omitempty"`
		ID   string `json:"id"`
	}
	fields, ok := params["fields"].(string)
	if !ok {
		return page{Name: m.pageName, ID: m.pageID}, nil
	}
	var p page
	p.ID = m.pageID
	for _, f := range strings.Split(fields, ",") {
		switch f = strings.TrimSpace(f); f {
		case "id":
		case "name":
			p.Name = m.pageName
		default:
			return nil, paramError(graphNoField, f)
		}
	}
	return p, nil
}

// admit applies the recipient's state to a send that passed validation: who they are, whether
// they are available, the messaging window or the token's status; a recurring send takes the
// token's 48 hours. It sets send.psid to the token's owner.
func (m *messenger) admit(send *outgoingMessenger, now time.Time) *graphError {
	m.mu.Lock()
	defer m.mu.Unlock()
	if send.token != "" {
		owner, ok := m.tokenOwner[send.token]
		if !ok {
			return &graphError{code: codeParam, message: graphInvalidNMT}
		}
		send.psid = owner
	}
	u, ok := m.users[send.psid]
	if !ok {
		return &graphError{code: codeParam, subcode: subcodeNoUser, message: graphNoUser}
	}
	if u.Unavailable {
		return &graphError{code: codeUnavailable, subcode: subcodeUnavailable, message: graphUnavailable}
	}
	outside := &graphError{code: codePermission, subcode: subcodeOutsideWindow, message: graphOutsideWindow}
	switch send.msg.Route {
	case routeStandard:
		window := standardWindow
		if u.AdReferral {
			window = adWindow
		}
		if !within(u.LastInteraction, window, now) {
			return outside
		}
	case routeTag:
		if send.msg.Tag == "HUMAN_AGENT" && !within(u.LastInteraction, humanAgentWindow, now) {
			return outside
		}
	case routeRecurring, routeMarketing:
		i := slices.IndexFunc(u.Tokens, func(t NotificationToken) bool { return t.Token == send.token })
		t := &u.Tokens[i]
		switch {
		case t.Status == TokenStopped:
			return &graphError{code: codePermission, subcode: subcodeTokenStopped, message: graphTokenStopped}
		case !now.Before(t.Expires):
			return &graphError{code: codePermission, subcode: subcodeTokenExpired, message: graphTokenExpired}
		case send.msg.Route == routeRecurring && within(t.LastRecurring, recurringSpacing, now):
			return &graphError{code: codePermission, subcode: subcodeRecurringCap,
				message: fmt.Sprintf(graphRecurringCap, t.LastRecurring.UTC().Format(time.RFC3339))}
		}
		if send.msg.Route == routeRecurring {
			t.LastRecurring = now
		}
	}
	return nil
}

// within reports whether now is less than window after since (never when since is zero).
func within(since time.Time, window time.Duration, now time.Time) bool {
	return !since.IsZero() && now.Before(since.Add(window))
}

// decodeGraphRequest reads a call's token and parameters from the Authorization header, the
// query string and a JSON or urlencoded body. Errors with the parameters are kept in req.err,
// to be answered after the token was checked.
func decodeGraphRequest(w http.ResponseWriter, r *http.Request) *graphRequest {
	req := &graphRequest{params: map[string]any{}}
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, token, _ := strings.Cut(auth, " ")
		if strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "OAuth") {
			req.token = strings.TrimSpace(token)
		}
		req.token = cmp.Or(req.token, "\x00malformed") // a malformed header is a bad token
	}
	if r.URL.RawQuery != "" {
		query, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			req.err = paramError(graphQuery, err)
			return req
		}
		req.format = "query"
		req.setForm(query)
	}
	contentType := r.Header.Get("Content-Type")
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return req
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil && contentType != "" {
		req.err = paramError(graphContentType, contentType)
		return req
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			req.err = &graphError{status: http.StatusRequestEntityTooLarge, code: codeParam, message: graphTooLarge}
		} else {
			req.err = paramError(graphBodyJSON, err)
		}
		return req
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return req
	}
	switch mediaType {
	case "application/json":
		req.format = "json"
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			req.err = paramError(graphBodyJSON, err)
			return req
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			req.err = paramError(graphBodyJSON, "more than one value")
			return req
		}
		for name, v := range obj {
			req.set(name, v)
		}
	case "application/x-www-form-urlencoded":
		req.format = "form"
		form, err := url.ParseQuery(string(body))
		if err != nil {
			req.err = paramError(graphBodyJSON, err)
			return req
		}
		req.setForm(form)
	default:
		req.err = paramError(graphContentType, contentType)
	}
	return req
}

// setForm sets urlencoded parameters; recipient and message are JSON-encoded objects, as in
// Meta's curl examples.
func (req *graphRequest) setForm(form url.Values) {
	for name, values := range form {
		if len(values) > 1 {
			req.fail(paramError(graphParamTwice, name))
			continue
		}
		var v any = values[0]
		if name == "recipient" || name == "message" {
			dec := json.NewDecoder(strings.NewReader(values[0]))
			dec.UseNumber()
			var obj map[string]any
			if err := dec.Decode(&obj); err != nil || dec.More() {
				req.fail(paramError(graphParamJSON, name))
				continue
			}
			v = obj
		}
		req.set(name, v)
	}
}

func (req *graphRequest) set(name string, v any) {
	switch name {
	case "access_token", "appsecret_proof":
		text, ok := v.(string)
		if !ok {
			req.fail(paramError(graphParamType, name, "a string"))
			return
		}
		if name == "appsecret_proof" {
			req.proof = text
		} else if req.token == "" {
			req.token = text
		}
		return
	}
	if _, dup := req.params[name]; dup {
		req.fail(paramError(graphParamTwice, name))
		return
	}
	req.params[name] = v
}

func (req *graphRequest) fail(e *graphError) {
	if req.err == nil {
		req.err = e
	}
}

// metaJSON encodes v as the Graph API does (PHP's json_encode): "/" escaped as "\/" and every
// character beyond ASCII as \uXXXX (UTF-16), so that a webhook must verify its signature over
// the bytes received, not over a re-encoding.
func metaJSON(v any) ([]byte, error) {
	raw, err := marshalAnswer(v)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(raw) + len(raw)/8)
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '/':
			out.WriteString(`\/`)
			i++
		case c < utf8.RuneSelf:
			out.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			i += size
			if r > 0xFFFF {
				r -= 0x10000
				fmt.Fprintf(&out, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			} else {
				fmt.Fprintf(&out, `\u%04x`, r)
			}
		}
	}
	return out.Bytes(), nil
}

// pageLimits are the page's token buckets: every send, and audio and video sends.
type pageLimits struct {
	mu          sync.Mutex
	all, media  Limit
	allB, medB  bucket
	initialized bool
}

func (l *pageLimits) set(perSecond, mediaPerSecond float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all, l.media = Limit{PerSecond: perSecond}, Limit{PerSecond: mediaPerSecond}
	l.initialized = false // new limits start with full buckets
}

func (l *pageLimits) get() (perSecond, mediaPerSecond float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.PerSecond, l.media.PerSecond
}

// take takes a send from the buckets that apply, or from none when one is empty.
func (l *pageLimits) take(now time.Time, media bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.initialized {
		l.allB = bucket{tokens: l.all.burst(), last: now, limit: l.all}
		l.medB = bucket{tokens: l.media.burst(), last: now, limit: l.media}
		l.initialized = true
	}
	refill := func(b *bucket) bool {
		if !b.limit.enabled() {
			return true
		}
		if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
			b.tokens = math.Min(b.limit.burst(), b.tokens+elapsed*b.limit.PerSecond)
			b.last = now
		}
		return b.tokens >= 1
	}
	if !refill(&l.allB) || (media && !refill(&l.medB)) {
		return false
	}
	if l.all.enabled() {
		l.allB.tokens--
	}
	if media && l.media.enabled() {
		l.medB.tokens--
	}
	return true
}
