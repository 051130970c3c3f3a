package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	// maxUpload is Telegram's limit on a request with uploads (50 MB), plus room for the
	// other parts; maxBody the sandbox's for other bodies.
	maxUpload = 50<<20 + 1<<20
	maxBody   = 10 << 20
	maxPart   = 1 << 20 // a multipart value
)

// botRequest is a Bot API call's parameters, decoded.
type botRequest struct {
	params  map[string]any
	uploads map[string]*upload // every file part, by part name
	format  string
}

// serveBotAPI answers POST (or GET) /bot<token>/<method>.
func (s *Server) serveBotAPI(w http.ResponseWriter, r *http.Request) {
	token, method, found := strings.Cut(strings.TrimPrefix(r.URL.Path, "/bot"), "/")
	rec := Request{Channel: "telegram", Bot: botID(token), Method: method, Fields: []string{}, Time: s.now()}
	faults := s.faults.Load()
	if faults.ErrorRate > 0 && rand.Float64() < faults.ErrorRate {
		e := &apiError{code: http.StatusInternalServerError, description: descInternal}
		if rand.IntN(2) == 1 {
			e = &apiError{code: http.StatusBadGateway, description: descBadGateway}
		}
		s.answerError(w, r, &rec, e, faults)
		return
	}
	if !s.tokenAccepted(token) {
		s.answerError(w, r, &rec, &apiError{code: http.StatusUnauthorized, description: descUnauthorized}, faults)
		return
	}
	m, ok := s.spec.method(method)
	if !found || !ok {
		s.answerError(w, r, &rec, &apiError{code: http.StatusNotFound, description: descNotFound}, faults)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		s.answerError(w, r, &rec, &apiError{code: http.StatusMethodNotAllowed, description: descMethodNotAllowed}, faults)
		return
	}
	req, apiErr := decodeRequest(w, r, m)
	if req != nil {
		rec.Format = req.format
		rec.Fields = fieldNames(req)
	}
	if apiErr == nil {
		apiErr = checkParams(m, req.params)
	}
	if apiErr != nil {
		s.answerError(w, r, &rec, apiErr, faults)
		return
	}

	if s.tokens == nil {
		s.inbound.sawBot(rec.Bot)
	}
	var result any
	var description string
	send := strings.HasPrefix(m.name, "send")
	switch {
	case m.name == "getMe":
		result = tgBotUser{tgUser: botUser(rec.Bot), CanJoinGroups: true}
	case !send:
		result, description, apiErr = s.serveUpdates(r.Context(), m.name, rec.Bot, req)
		if apiErr != nil {
			s.answerError(w, r, &rec, apiErr, faults)
			return
		}
	default:
		out, apiErr := s.prepareSend(m.name, req, rec.Bot)
		if apiErr == nil {
			apiErr = s.admit(out, rec.Bot)
		}
		if apiErr != nil {
			s.answerError(w, r, &rec, apiErr, faults)
			return
		}
		result = s.commit(out)
	}
	body, err := marshalAnswer(okBody{OK: true, Result: result, Description: description})
	if err != nil {
		s.answerError(w, r, &rec, &apiError{code: http.StatusInternalServerError, description: descInternal}, faults)
		return
	}
	drop := faults.DropRate > 0 && send && rand.Float64() < faults.DropRate
	s.finish(w, r, &rec, http.StatusOK, "", body, drop, faults.Latency)
}

type okBody struct {
	OK          bool   `json:"ok"`
	Result      any    `json:"result"`
	Description string `json:"description,omitempty"` // the webhook methods'
}

// tokenAccepted reports whether the sandbox takes a bot token: one of Options.Tokens, or any
// well-formed one when none are listed.
func (s *Server) tokenAccepted(token string) bool {
	if s.tokens != nil {
		return s.tokens[token]
	}
	id, secret, ok := strings.Cut(token, ":")
	if !ok || id == "" || secret == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	for i := 0; i < len(secret); i++ {
		if c := secret[i]; !isASCIIAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// marshalAnswer encodes a Bot API answer, leaving <, > and & as they are, as Telegram does.
func marshalAnswer(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func (s *Server) answerError(w http.ResponseWriter, r *http.Request, rec *Request, e *apiError, faults *Faults) {
	body, _ := marshalAnswer(e.body())
	s.finish(w, r, rec, e.code, e.description, body, false, faults.Latency)
}

// finish records the request, waits out the injected latency, and answers — or, for a dropped
// answer, closes the connection without a word.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, rec *Request, status int, description string, body []byte, drop bool, latency time.Duration) {
	rec.Status, rec.Description = status, description
	if drop {
		rec.Status, rec.Description = 0, "dropped: processed, then the connection was closed without an answer"
	}
	s.log.addRequest(*rec)
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // closes the stream without an answer
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func fieldNames(req *botRequest) []string {
	names := make([]string, 0, len(req.params)+len(req.uploads))
	for name := range req.params {
		names = append(names, name)
	}
	for name := range req.uploads {
		if _, ok := req.params[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// formats names the body formats in Request.Format.
var formats = map[string]string{
	"application/json":                  "json",
	"application/x-www-form-urlencoded": "form",
	"multipart/form-data":               "multipart",
}

// decodeRequest reads a call's parameters from the query string and a JSON, urlencoded or
// multipart body, turning form values into the types the spec gives them.
func decodeRequest(w http.ResponseWriter, r *http.Request, m *objectSpec) (*botRequest, *apiError) {
	req := &botRequest{params: map[string]any{}}
	if r.URL.RawQuery != "" {
		query, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return req, badRequestf(descMalformedBody, err)
		}
		req.format = "query"
		if apiErr := setFormValues(req, m, query); apiErr != nil {
			return req, apiErr
		}
	}
	contentType := r.Header.Get("Content-Type")
	if contentType == "" {
		// Only an empty body may come without a type.
		if r.Body != nil && r.Body != http.NoBody {
			var probe [1]byte
			if n, _ := io.ReadFull(r.Body, probe[:]); n > 0 {
				return req, badRequestf(descContentType, "")
			}
		}
		return req, nil
	}
	mediaType, mediaParams, err := mime.ParseMediaType(contentType)
	if err != nil {
		return req, badRequestf(descContentType, contentType)
	}
	if r.Body == nil || r.Body == http.NoBody {
		if format, ok := formats[mediaType]; ok {
			req.format = format
			return req, nil
		}
	}
	switch mediaType {
	case "application/json":
		req.format = "json"
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return req, nil // an empty body
			}
			return req, bodyError(err, descBodyJSON)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return req, badRequest(descBodyJSON)
		}
		for k, v := range obj {
			req.params[k] = v
		}
	case "application/x-www-form-urlencoded":
		req.format = "form"
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			return req, bodyError(err, fmt.Sprintf(descMalformedBody, err))
		}
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return req, badRequestf(descMalformedBody, err)
		}
		if apiErr := setFormValues(req, m, form); apiErr != nil {
			return req, apiErr
		}
	case "multipart/form-data":
		req.format = "multipart"
		if apiErr := readMultipart(w, r, m, mediaParams["boundary"], req); apiErr != nil {
			return req, apiErr
		}
	default:
		return req, badRequestf(descContentType, contentType)
	}
	return req, nil
}

func bodyError(err error, description string) *apiError {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &apiError{code: http.StatusRequestEntityTooLarge, description: descTooLarge}
	}
	return badRequest(description)
}

func setFormValues(req *botRequest, m *objectSpec, form url.Values) *apiError {
	for name, values := range form {
		v, apiErr := formValue(m, name, values[0])
		if apiErr != nil {
			return apiErr
		}
		req.params[name] = v
	}
	return nil
}

// readMultipart reads value parts as form values and file parts as uploads; a file part named
// after a parameter that takes an InputFile is that parameter's value.
func readMultipart(w http.ResponseWriter, r *http.Request, m *objectSpec, boundary string, req *botRequest) *apiError {
	if boundary == "" {
		return badRequestf(descMalformedBody, "multipart/form-data without a boundary")
	}
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, maxUpload), boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return bodyError(err, fmt.Sprintf(descMalformedBody, err))
		}
		name := part.FormName()
		if name == "" {
			part.Close()
			continue
		}
		if part.FileName() != "" {
			n, err := io.Copy(io.Discard, part)
			if err != nil {
				return bodyError(err, fmt.Sprintf(descMalformedBody, err))
			}
			if req.uploads == nil {
				req.uploads = map[string]*upload{}
			}
			req.uploads[name] = &upload{part: name, filename: part.FileName(), size: n}
			continue
		}
		raw, err := io.ReadAll(io.LimitReader(part, maxPart+1))
		if err != nil {
			return bodyError(err, fmt.Sprintf(descMalformedBody, err))
		}
		if len(raw) > maxPart {
			return badRequestf(descMalformedBody, "part "+strconv.Quote(name)+" is larger than 1 MB")
		}
		v, apiErr := formValue(m, name, string(raw))
		if apiErr != nil {
			return apiErr
		}
		req.params[name] = v
	}
	for name, up := range req.uploads {
		if _, set := req.params[name]; set {
			continue
		}
		if f, ok := m.fields[name]; ok && slices.ContainsFunc(f.types, func(t typeRef) bool { return t.kind == kindInputFile }) {
			req.params[name] = up
		}
	}
	return nil
}
