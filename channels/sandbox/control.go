package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The control API, under /__sandbox/ (JSON in and out; errors are {"error": "..."}):
//
//	GET    /__sandbox/messages[?chat=ID][&channel=C][&after=SEQ][&render=1]
//	                                                           the messages sent (render adds "html");
//	                                                           chat is a chat id or a PSID, channel
//	                                                           telegram or messenger
//	DELETE /__sandbox/messages                                 forget them
//	GET    /__sandbox/requests                                 the Bot API and Graph API requests received
//	DELETE /__sandbox/requests                                 forget them
//	GET    /__sandbox/faults                                   the faults injected
//	POST   /__sandbox/faults     {"error_rate":0.2,"latency":"50ms","drop_rate":0}
//	GET    /__sandbox/chats                                    {"<chat>": "<state>"} for the chats not ok
//	GET    /__sandbox/chats/{id}                               {"chat": ID, "state": "..."}
//	POST   /__sandbox/chats/{id} {"state":"blocked"}            (or "migrated:-100…", "ok", …)
//	DELETE /__sandbox/chats[/{id}]                             back to ok
//	GET    /__sandbox/rate                                     the rate limits
//	POST   /__sandbox/rate       {"per_second":30,"burst":30}  (also paid_per_second, per_chat, per_group)
//	POST   /__sandbox/reset                                    Reset: forget messages and requests
//
// and the Telegram half's inbound side's, under /__sandbox/telegram/ (see telegramRoutes), and
// the Messenger half's, under /__sandbox/messenger/ (see messengerRoutes).
func (s *Server) controlRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", s.servePage)
	mux.HandleFunc("/__sandbox/{$}", s.serveIndex)
	mux.HandleFunc("/__sandbox/messages", s.serveMessages)
	mux.HandleFunc("/__sandbox/requests", s.serveRequests)
	mux.HandleFunc("/__sandbox/faults", s.serveFaults)
	mux.HandleFunc("/__sandbox/chats", s.serveChats)
	mux.HandleFunc("/__sandbox/chats/{id}", s.serveChat)
	mux.HandleFunc("/__sandbox/rate", s.serveRate)
	mux.HandleFunc("/__sandbox/reset", s.serveReset)
	s.telegramRoutes(mux)
	s.messengerRoutes(mux)
	mux.HandleFunc("/__sandbox/", func(w http.ResponseWriter, r *http.Request) {
		controlError(w, http.StatusNotFound, "no such control endpoint %s; GET /__sandbox/ lists them", r.URL.Path)
	})
	return mux
}

// MarshalJSON writes Latency as a Go duration string, e.g. "50ms".
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ErrorRate float64 `json:"error_rate"`
		Latency   string  `json:"latency"`
		DropRate  float64 `json:"drop_rate"`
	}{f.ErrorRate, f.Latency.String(), f.DropRate})
}

// UnmarshalJSON reads Latency as a Go duration string ("50ms") or a number of nanoseconds, and
// refuses unknown fields.
func (f *Faults) UnmarshalJSON(data []byte) error {
	var raw struct {
		ErrorRate float64         `json:"error_rate"`
		Latency   json.RawMessage `json:"latency"`
		DropRate  float64         `json:"drop_rate"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	var latency time.Duration
	if len(raw.Latency) > 0 && string(raw.Latency) != "null" {
		var text string
		if err := json.Unmarshal(raw.Latency, &text); err == nil {
			d, err := time.ParseDuration(text)
			if err != nil {
				return fmt.Errorf("latency %q: want a duration such as \"50ms\" or \"1.5s\"", text)
			}
			latency = d
		} else {
			var ns int64
			if err := json.Unmarshal(raw.Latency, &ns); err != nil {
				return fmt.Errorf("latency %s: want a duration such as \"50ms\"", raw.Latency)
			}
			latency = time.Duration(ns)
		}
	}
	*f = Faults{ErrorRate: raw.ErrorRate, Latency: latency, DropRate: raw.DropRate}
	return nil
}

func (f Faults) validate() error {
	for _, rate := range []struct {
		name  string
		value float64
	}{{"error_rate", f.ErrorRate}, {"drop_rate", f.DropRate}} {
		if math.IsNaN(rate.value) || rate.value < 0 || rate.value > 1 {
			return fmt.Errorf("%s %v: want a fraction from 0 to 1", rate.name, rate.value)
		}
	}
	if f.Latency < 0 || f.Latency > 10*time.Minute {
		return fmt.Errorf("latency %s: want from 0 to 10m", f.Latency)
	}
	return nil
}

// rateConfig is the control API's view of the rate limits.
type rateConfig struct {
	PerSecond     float64 `json:"per_second"`
	Burst         int     `json:"burst"`
	PaidPerSecond float64 `json:"paid_per_second"`
	PerChat       Limit   `json:"per_chat"`
	PerGroup      Limit   `json:"per_group"`
}

func (c rateConfig) validate() error {
	for _, l := range []struct {
		name string
		Limit
	}{{"", Limit{c.PerSecond, c.Burst}}, {"paid_", Limit{PerSecond: c.PaidPerSecond}}, {"per_chat.", c.PerChat}, {"per_group.", c.PerGroup}} {
		if math.IsNaN(l.PerSecond) || math.IsInf(l.PerSecond, 0) || l.PerSecond < 0 {
			return fmt.Errorf("%sper_second %v: want 0 (no limit) or more", l.name, l.PerSecond)
		}
		if l.Burst < 0 {
			return fmt.Errorf("%sburst %d: want 0 (one second's worth) or more", l.name, l.Burst)
		}
	}
	return nil
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"bot_api":   "POST /bot<token>/<method>: getMe, sendMessage, sendPhoto, sendVideo, sendAudio, sendDocument, sendMediaGroup, getUpdates, setWebhook, deleteWebhook, getWebhookInfo",
		"spec":      s.spec.version,
		"graph_api": "Messenger, page " + s.msgr.pageID + ": " + graphEndpoints(s.msgr.pageID),
		"control": []string{
			"GET|DELETE /__sandbox/messages (?chat=ID|PSID&channel=telegram|messenger&after=SEQ&render=1)",
			"GET|DELETE /__sandbox/requests",
			"GET|POST /__sandbox/faults {\"error_rate\":0.2,\"latency\":\"50ms\",\"drop_rate\":0}",
			"GET|DELETE /__sandbox/chats, GET|POST|DELETE /__sandbox/chats/{id} {\"state\":\"blocked\"}",
			"GET|POST /__sandbox/rate {\"per_second\":30,\"burst\":30,\"paid_per_second\":0,\"per_chat\":{...},\"per_group\":{...}}",
			"POST /__sandbox/reset (keeps chat states, Telegram updates and webhooks, Messenger users, faults and rate limits)",
			"POST /__sandbox/telegram/updates {\"bot\":\"123456\",\"type\":\"message\",\"chat_id\":1001,\"text\":\"/start blog\",\"from\":{\"first_name\":\"Ada\",\"username\":\"ada\",\"language_code\":\"it\"}} (types: message, block, unblock, callback_query, raw {\"update\":{...}}, redeliver {\"update_id\":N}; bot may be left out when the sandbox knows one)",
			"GET /__sandbox/telegram/webhook?bot=123456 (polling or webhook, pending updates, last error)",
			"GET /__sandbox/messenger",
			"GET|DELETE /__sandbox/messenger/users, GET|PUT|DELETE /__sandbox/messenger/users/{psid} {\"last_interaction\":\"2026-06-01T12:00:00Z\",\"ad_referral\":false,\"unavailable\":false,\"tokens\":[...]}",
			"GET|PUT /__sandbox/messenger/webhook {\"url\":\"http://...\",\"app_secret\":\"...\"}",
			"POST /__sandbox/messenger/events {\"psid\":\"24000000000000001\",\"type\":\"message\",\"text\":\"hi\"} (types: message, postback, referral, optin, delivery, read)",
			"GET|PUT /__sandbox/messenger/rate {\"per_second\":300,\"media_per_second\":10}",
		},
	})
}

// renderedMessage is a message with its text rendered as safe HTML, for the web page.
type renderedMessage struct {
	Message
	HTML string `json:"html"`
}

func (s *Server) serveMessages(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodDelete) {
		return
	}
	if r.Method == http.MethodDelete {
		writeJSON(w, http.StatusOK, map[string]int{"deleted": s.log.clearMessages()})
		return
	}
	q := r.URL.Query()
	// chat is a Telegram chat id, written as Message.Chat writes it, or a PSID, as sent.
	rawChat, chat := q.Get("chat"), ""
	if rawChat != "" {
		if _, err := parseChatID(chatParam(rawChat)); err != nil && !isPSID(rawChat) {
			controlError(w, http.StatusBadRequest, "chat %q: want a chat id such as 12345, -1001234567890 or @channel, or a PSID", rawChat)
			return
		}
		chat = normalizeChatKey(rawChat)
	}
	channel := q.Get("channel")
	if channel != "" && channel != "telegram" && channel != "messenger" {
		controlError(w, http.StatusBadRequest, "channel %q: want telegram or messenger", channel)
		return
	}
	var after int64
	if a := q.Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			controlError(w, http.StatusBadRequest, "after %q: want the seq of the last message seen, e.g. 0", a)
			return
		}
		after = n
	}
	render := q.Get("render")
	if render != "" && render != "0" && render != "1" && render != "true" && render != "false" {
		controlError(w, http.StatusBadRequest, "render %q: want 1 or 0", render)
		return
	}
	w.Header().Set("X-Sandbox-Epoch", strconv.FormatInt(s.log.currentEpoch(), 10))
	msgs := s.log.messages(func(m *Message) bool {
		return m.Seq > after && (rawChat == "" || m.Chat == chat || m.Chat == rawChat) &&
			(channel == "" || m.Channel == channel)
	})
	if render == "1" || render == "true" {
		out := make([]renderedMessage, len(msgs))
		for i := range msgs {
			out[i] = renderedMessage{Message: msgs[i], HTML: renderMessageHTML(&msgs[i])}
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	writeJSON(w, http.StatusOK, msgs)
}

// chatParam turns a chat id from a URL into what parseChatID reads.
func chatParam(id string) any {
	if strings.HasPrefix(id, "@") {
		return id
	}
	return json.Number(id)
}

func (s *Server) serveRequests(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodDelete) {
		return
	}
	if r.Method == http.MethodDelete {
		writeJSON(w, http.StatusOK, map[string]int{"deleted": s.log.clearRequests()})
		return
	}
	writeJSON(w, http.StatusOK, s.Requests())
}

func (s *Server) serveFaults(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodPost, http.MethodPut) {
		return
	}
	if r.Method != http.MethodGet {
		var f Faults
		if err := decodeControl(r, &f); err != nil {
			controlError(w, http.StatusBadRequest, "faults: %v", err)
			return
		}
		if err := f.validate(); err != nil {
			controlError(w, http.StatusBadRequest, "faults: %v", err)
			return
		}
		s.SetFaults(f)
	}
	writeJSON(w, http.StatusOK, s.CurrentFaults())
}

func (s *Server) serveChats(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodDelete) {
		return
	}
	if r.Method == http.MethodDelete {
		s.chatsMu.Lock()
		s.chats.Store(&map[string]ChatState{})
		s.chatsMu.Unlock()
	}
	writeJSON(w, http.StatusOK, s.Chats())
}

func (s *Server) serveChat(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete) {
		return
	}
	id := r.PathValue("id")
	if _, err := parseChatID(chatParam(id)); err != nil {
		controlError(w, http.StatusBadRequest, "chat %q: want a chat id such as 12345, -1001234567890 or @channel", id)
		return
	}
	key := normalizeChatKey(id)
	switch r.Method {
	case http.MethodPost, http.MethodPut:
		var body struct {
			State ChatState `json:"state"`
		}
		if err := decodeControl(r, &body); err != nil {
			controlError(w, http.StatusBadRequest, "chat %s: %v", id, err)
			return
		}
		if body.State == "" {
			controlError(w, http.StatusBadRequest, `chat %s: want a body such as {"state":"blocked"}`, id)
			return
		}
		if err := body.State.Validate(); err != nil {
			controlError(w, http.StatusBadRequest, "chat %s: %v", id, err)
			return
		}
		s.SetChat(key, body.State)
	case http.MethodDelete:
		s.SetChat(key, ChatOK)
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": key, "state": s.chatState(key)})
}

func (s *Server) serveRate(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodPost, http.MethodPut) {
		return
	}
	if r.Method != http.MethodGet {
		var c rateConfig
		if err := decodeControl(r, &c); err != nil {
			controlError(w, http.StatusBadRequest, "rate: %v", err)
			return
		}
		if err := c.validate(); err != nil {
			controlError(w, http.StatusBadRequest, "rate: %v", err)
			return
		}
		s.limits.set(func(l *limits) {
			l.global = Limit{PerSecond: c.PerSecond, Burst: c.Burst}
			l.paid = Limit{PerSecond: c.PaidPerSecond}
			l.perChat, l.perGroup = c.PerChat, c.PerGroup
		})
	}
	global, paid, perChat, perGroup := s.limits.get()
	writeJSON(w, http.StatusOK, rateConfig{PerSecond: global.PerSecond, Burst: global.Burst,
		PaidPerSecond: paid.PerSecond, PerChat: perChat, PerGroup: perGroup})
}

func (s *Server) serveReset(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodPost) {
		return
	}
	s.Reset()
	writeJSON(w, http.StatusOK, map[string]bool{"reset": true})
}

// decodeControl reads a control request's JSON body into v, refusing unknown fields.
func decodeControl(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("the body is empty: want a JSON object")
		}
		return fmt.Errorf("invalid JSON body: %v", err)
	}
	if dec.More() {
		return errors.New("invalid JSON body: more than one value")
	}
	return nil
}

func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	controlError(w, http.StatusMethodNotAllowed, "%s %s: allowed methods are %s", r.Method, r.URL.Path, strings.Join(methods, ", "))
	return false
}

func controlError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// writeJSON answers v as JSON, without escaping <, > and & so that text reads as sent (the
// answer is served as application/json, never as HTML).
func writeJSON(w http.ResponseWriter, status int, v any) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		body.Reset()
		body.WriteString(`{"error":"encode the answer"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body.Bytes())
}
