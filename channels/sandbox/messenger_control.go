package sandbox

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
)

// The Messenger half's control API, under /__sandbox/messenger/ (see controlRoutes):
//
//	GET    /__sandbox/messenger                  the page: id, name, webhook (never the secret), rates,
//	                                             Messenger profile
//	GET    /__sandbox/messenger/users            {"<psid>": user} for every person known
//	DELETE /__sandbox/messenger/users            forget them all
//	GET    /__sandbox/messenger/users/{psid}     the person (404 when unknown)
//	PUT    /__sandbox/messenger/users/{psid}     {"last_interaction":"2026-06-01T12:00:00Z","ad_referral":false,
//	                                             "unavailable":false,"tokens":[{"token":"nmt_1","status":"active",
//	                                             "expires":"…","timezone":"Europe/Rome","topic":"…","last_recurring":"…"}]}
//	DELETE /__sandbox/messenger/users/{psid}     forget the person
//	GET    /__sandbox/messenger/webhook          {"url":…,"app_secret_set":true}
//	PUT    /__sandbox/messenger/webhook          {"url":"http://…","app_secret":"…"} (app_secret kept when absent)
//	POST   /__sandbox/messenger/events           a MessengerEvent: update the state, post it to the webhook
//	GET    /__sandbox/messenger/rate             {"per_second":300,"media_per_second":10}
//	PUT    /__sandbox/messenger/rate             the same
func (s *Server) messengerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/__sandbox/messenger", s.serveMessengerPage)
	mux.HandleFunc("/__sandbox/messenger/users", s.serveMessengerUsers)
	mux.HandleFunc("/__sandbox/messenger/users/{psid}", s.serveMessengerUser)
	mux.HandleFunc("/__sandbox/messenger/webhook", s.serveMessengerWebhook)
	mux.HandleFunc("/__sandbox/messenger/events", s.serveMessengerEvents)
	mux.HandleFunc("/__sandbox/messenger/rate", s.serveMessengerRate)
}

// messengerRate is the control API's view of the page's rate limits.
type messengerRate struct {
	PerSecond      float64 `json:"per_second"`
	MediaPerSecond float64 `json:"media_per_second"`
}

func (c messengerRate) validate() error {
	for _, r := range []struct {
		name  string
		value float64
	}{{"per_second", c.PerSecond}, {"media_per_second", c.MediaPerSecond}} {
		if math.IsNaN(r.value) || math.IsInf(r.value, 0) || r.value < 0 {
			return fmt.Errorf("%s %v: want 0 (no limit) or more", r.name, r.value)
		}
	}
	return nil
}

func (s *Server) currentMessengerRate() messengerRate {
	perSecond, media := s.MessengerRate()
	return messengerRate{PerSecond: perSecond, MediaPerSecond: media}
}

func (s *Server) serveMessengerPage(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"page_id":   s.msgr.pageID,
		"page_name": s.msgr.pageName,
		"send_api":  graphEndpoints(s.msgr.pageID),
		"webhook":   s.msgr.webhookStatus(),
		"rate":      s.currentMessengerRate(),
		"profile":   s.MessengerProfile(),
	})
}

func (s *Server) serveMessengerUsers(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodDelete) {
		return
	}
	if r.Method == http.MethodDelete {
		s.msgr.mu.Lock()
		clear(s.msgr.users)
		clear(s.msgr.tokenOwner)
		s.msgr.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, s.MessengerUsers())
}

func (s *Server) serveMessengerUser(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodPut, http.MethodDelete) {
		return
	}
	psid := r.PathValue("psid")
	if !isPSID(psid) {
		controlError(w, http.StatusBadRequest, "messenger user %q: want a PSID, digits such as 24000000000000001", psid)
		return
	}
	switch r.Method {
	case http.MethodPut:
		var u MessengerUser
		if err := decodeControl(r, &u); err != nil {
			controlError(w, http.StatusBadRequest, "messenger user %s: %v", psid, err)
			return
		}
		if err := s.msgr.setUser(psid, u, s.now()); err != nil {
			controlError(w, http.StatusBadRequest, "messenger user %s: %v", psid, err)
			return
		}
	case http.MethodDelete:
		s.DeleteMessengerUser(psid)
		writeJSON(w, http.StatusOK, map[string]string{"deleted": psid})
		return
	}
	u, ok := s.MessengerUser(psid)
	if !ok {
		controlError(w, http.StatusNotFound, "messenger user %s: unknown; inject an event from them or PUT them", psid)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) serveMessengerWebhook(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodPut, http.MethodPost) {
		return
	}
	if r.Method != http.MethodGet {
		var body struct {
			URL       *string `json:"url"`
			AppSecret *string `json:"app_secret"`
		}
		if err := decodeControl(r, &body); err != nil {
			controlError(w, http.StatusBadRequest, "messenger webhook: %v", err)
			return
		}
		if body.URL == nil {
			controlError(w, http.StatusBadRequest, `messenger webhook: want a body such as {"url":"http://127.0.0.1:8080/webhook","app_secret":"…"} ("url":"" turns it off)`)
			return
		}
		if err := checkWebhookURL(*body.URL); err != nil {
			controlError(w, http.StatusBadRequest, "messenger webhook: %v", err)
			return
		}
		s.msgr.mu.Lock()
		s.msgr.webhookURL = *body.URL
		if body.AppSecret != nil {
			s.msgr.appSecret = *body.AppSecret
		}
		s.msgr.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, s.msgr.webhookStatus())
}

// injectFailure is the answer when the webhook could not be reached: the error, and what was
// done.
type injectFailure struct {
	Error string `json:"error"`
	InjectResult
}

func (s *Server) serveMessengerEvents(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodPost) {
		return
	}
	var ev MessengerEvent
	if err := decodeControl(r, &ev); err != nil {
		controlError(w, http.StatusBadRequest, "messenger event: %v", err)
		return
	}
	res, err := s.InjectMessenger(r.Context(), ev)
	switch {
	case errors.Is(err, ErrWebhookUnreachable):
		writeJSON(w, http.StatusBadGateway, injectFailure{Error: err.Error(), InjectResult: res})
	case err != nil:
		controlError(w, http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), "sandbox: "))
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

func (s *Server) serveMessengerRate(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodPut, http.MethodPost) {
		return
	}
	if r.Method != http.MethodGet {
		var c messengerRate
		if err := decodeControl(r, &c); err != nil {
			controlError(w, http.StatusBadRequest, "messenger rate: %v", err)
			return
		}
		if err := c.validate(); err != nil {
			controlError(w, http.StatusBadRequest, "messenger rate: %v", err)
			return
		}
		s.SetMessengerRate(c.PerSecond, c.MediaPerSecond)
	}
	writeJSON(w, http.StatusOK, s.currentMessengerRate())
}
