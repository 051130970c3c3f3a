package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The Telegram half's inbound side: per bot, a queue of the updates waiting for it, which
// getUpdates hands out and confirms by offset, or which the sandbox posts one at a time, in
// order, to the webhook set with setWebhook, keeping each until the webhook answers 2xx.

// Telegram's values for receiving updates.
const (
	// firstUpdateID is about where a bot's update_ids start (each bot a little after it, so
	// that a test cannot take one bot's ids for another's).
	firstUpdateID          = 700_000_000
	maxUpdatesLimit        = 100
	maxPollTimeout         = 50 // seconds: the Bot API server's cap on getUpdates' timeout
	defaultMaxConnections  = 40
	maxWebhookConnections  = 100
	maxSecretTokenLength   = 256
	secretTokenHeader      = "X-Telegram-Bot-Api-Secret-Token"
	defaultWebhookTimeout  = 10 * time.Second
	defaultWebhookMinRetry = 50 * time.Millisecond
	defaultWebhookMaxRetry = time.Second
)

// notByDefault are the update types a bot receives only when it lists them in allowed_updates.
var notByDefault = []string{"chat_member", "message_reaction", "message_reaction_count"}

// WebhookDelivery tunes how the sandbox posts Telegram updates to a webhook set with
// setWebhook. Telegram retries a failed update for hours, with growing pauses; the sandbox
// retries sooner, so that tests of a failing webhook run fast.
type WebhookDelivery struct {
	// Timeout bounds one attempt, the webhook's answer included; 10 s when zero.
	Timeout time.Duration
	// MinBackoff is the pause after a failed attempt; it doubles after each further failure,
	// up to MaxBackoff, and starts over after a success. 50 ms and 1 s when zero.
	MinBackoff, MaxBackoff time.Duration
}

// telegramInbound is the inbound side's state, for every bot.
type telegramInbound struct {
	now         func() time.Time
	updateTypes []string // what allowed_updates may name, in the spec's order
	maxIssued   int      // how many issued updates each bot keeps for redelivery; 0: all
	delivery    WebhookDelivery
	transport   *http.Transport
	client      *http.Client
	seen        sync.Map // without Options.Tokens, the ids of the bots that called the Bot API or were named in an event

	mu      sync.Mutex
	bots    map[string]*botQueue
	users   map[int64]TelegramUser // the profile last injected for each user id
	stopped bool                   // by Close: no deliverer runs until Start
	seq     uint64                 // numbers queued updates, for the deliverer to confirm its own
	wg      sync.WaitGroup         // the deliverers
}

// botQueue is one bot's updates and how they reach it.
type botQueue struct {
	nextID  int64
	pending []*queuedUpdate // in the order they are handed out
	issued  []issuedUpdate  // every update given an id, for redelivery (bounded by maxIssued)
	allowed []string        // allowed_updates; nil means the default
	// wake is closed, and replaced, when an update is queued or the webhook changes.
	wake       chan struct{}
	poll       *longPoll   // the getUpdates call waiting, if any
	hook       *hookConfig // nil: polling mode
	deliverer  *hookRunner // posts to hook while it is set
	delivered  int64       // updates the webhook confirmed
	lastError  time.Time   // of the last failed webhook attempt, since the webhook was set
	lastReason string      // its last_error_message
}

type queuedUpdate struct {
	id  int64
	seq uint64
	raw []byte
	// redelivered marks a copy of an update already handed out, which getUpdates returns once
	// even though its offset had confirmed it; handedOut that it did.
	redelivered, handedOut bool
}

type issuedUpdate struct {
	id  int64
	raw []byte
}

// longPoll is a getUpdates call waiting for updates; another call or setWebhook ends it with
// a conflict.
type longPoll struct {
	ended    chan struct{}
	conflict string
}

// hookConfig is a webhook set with setWebhook.
type hookConfig struct {
	url            string
	secret         string
	ipAddress      string
	maxConnections int
	certificate    bool
}

// hookRunner is the goroutine posting a bot's updates to its webhook.
type hookRunner struct {
	cancel context.CancelFunc
}

func newTelegramInbound(now func() time.Time, updateTypes []string, maxIssued int, d WebhookDelivery) *telegramInbound {
	if d.Timeout <= 0 {
		d.Timeout = defaultWebhookTimeout
	}
	if d.MinBackoff <= 0 {
		d.MinBackoff = defaultWebhookMinRetry
	}
	if d.MaxBackoff <= 0 {
		d.MaxBackoff = defaultWebhookMaxRetry
	}
	d.MaxBackoff = max(d.MaxBackoff, d.MinBackoff)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	return &telegramInbound{
		now: now, updateTypes: updateTypes, maxIssued: maxIssued, delivery: d, transport: transport,
		client: &http.Client{
			Transport: transport,
			Timeout:   d.Timeout,
			// Telegram counts a redirect as a wrong response.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		bots:  map[string]*botQueue{},
		users: map[int64]TelegramUser{},
	}
}

// queueLocked returns bot's queue, created when new.
func (in *telegramInbound) queueLocked(bot string) *botQueue {
	q, ok := in.bots[bot]
	if !ok {
		h := fnv.New32a()
		h.Write([]byte(bot))
		q = &botQueue{nextID: firstUpdateID + 1000 + int64(h.Sum32()%9000), wake: make(chan struct{})}
		in.bots[bot] = q
	}
	return q
}

// notify wakes whoever waits on the queue: a long poll, the deliverer.
func (q *botQueue) notify() {
	close(q.wake)
	q.wake = make(chan struct{})
}

// endPoll ends the waiting getUpdates call, if any, with a conflict.
func (q *botQueue) endPoll(conflict string) {
	if q.poll != nil {
		q.poll.conflict = conflict
		close(q.poll.ended)
		q.poll = nil
	}
}

// allows reports whether updates of type typ are queued for the bot.
func (in *telegramInbound) allows(q *botQueue, typ string) bool {
	if q.allowed == nil {
		return !slices.Contains(notByDefault, typ)
	}
	return slices.Contains(q.allowed, typ)
}

// defaultAllowed is the update types a bot receives when it did not say.
func (in *telegramInbound) defaultAllowed() []string {
	return slices.DeleteFunc(slices.Clone(in.updateTypes), func(t string) bool { return slices.Contains(notByDefault, t) })
}

// allowedList is the effective allowed_updates, in the spec's order.
func (in *telegramInbound) allowedList(q *botQueue) []string {
	var out []string
	for _, t := range in.updateTypes {
		if in.allows(q, t) {
			out = append(out, t)
		}
	}
	return out
}

// parseAllowed reads allowed_updates: nil when absent (keep the setting), empty for the
// default, else the types listed in the spec's order.
func (in *telegramInbound) parseAllowed(v any) (list []string, present bool, apiErr *apiError) {
	items, ok := v.([]any)
	if !ok {
		return nil, false, nil
	}
	named := map[string]bool{}
	for _, item := range items {
		name, _ := item.(string) // checkParams made sure
		if !slices.Contains(in.updateTypes, name) {
			return nil, true, badRequestf(descUpdateType, name, strings.Join(in.updateTypes, ", "))
		}
		named[name] = true
	}
	list = []string{}
	for _, t := range in.updateTypes {
		if named[t] {
			list = append(list, t)
		}
	}
	return list, true, nil
}

// setAllowedLocked applies allowed_updates; an empty list means the default, as for Telegram.
func (q *botQueue) setAllowedLocked(list []string) {
	if len(list) == 0 {
		q.allowed = nil
		return
	}
	q.allowed = list
}

// serveUpdates answers getUpdates, setWebhook, deleteWebhook and getWebhookInfo, whose
// parameters passed checkParams. description is the answer's, for the webhook methods.
func (s *Server) serveUpdates(ctx context.Context, method, bot string, req *botRequest) (result any, description string, apiErr *apiError) {
	for name, up := range req.uploads {
		if req.params[name] != up {
			return nil, "", badRequestf(descUnusedPart, name, name)
		}
	}
	switch method {
	case "getUpdates":
		result, apiErr = s.getUpdates(ctx, bot, req.params)
		return result, "", apiErr
	case "setWebhook":
		return s.setWebhook(bot, req.params)
	case "deleteWebhook":
		drop, _ := req.params["drop_pending_updates"].(bool)
		return true, s.deleteWebhook(bot, drop), nil
	default: // getWebhookInfo
		return s.webhookInfo(bot), "", nil
	}
}

// getUpdates confirms the updates before offset, then answers at once with the first limit
// updates waiting, or waits up to timeout seconds for one.
func (s *Server) getUpdates(ctx context.Context, bot string, p map[string]any) (any, *apiError) {
	in := s.inbound
	offset, _ := intValue(p["offset"])
	limit := int64(maxUpdatesLimit)
	if n, ok := intValue(p["limit"]); ok {
		limit = min(max(n, 1), maxUpdatesLimit) // Telegram clamps it
	}
	timeout, _ := intValue(p["timeout"])
	timeout = min(max(timeout, 0), maxPollTimeout)
	allowed, setAllowed, apiErr := in.parseAllowed(p["allowed_updates"])
	if apiErr != nil {
		return nil, apiErr
	}

	in.mu.Lock()
	q := in.queueLocked(bot)
	if q.hook != nil {
		in.mu.Unlock()
		return nil, &apiError{code: http.StatusConflict, description: descWebhookActive}
	}
	if setAllowed {
		q.setAllowedLocked(allowed)
	}
	switch {
	case offset > 0:
		q.pending = slices.DeleteFunc(q.pending, func(u *queuedUpdate) bool {
			return u.id < offset && (!u.redelivered || u.handedOut)
		})
	case offset < 0:
		// The last -offset updates; all before them are forgotten.
		if keep := -offset; keep > 0 && int64(len(q.pending)) > keep { // keep < 0: -MinInt64 overflowed
			q.pending = slices.Delete(q.pending, 0, len(q.pending)-int(keep))
		}
	}
	q.endPoll(descOtherGetUpdates)
	if len(q.pending) == 0 && timeout > 0 {
		poll := &longPoll{ended: make(chan struct{})}
		q.poll = poll
		timer := time.NewTimer(time.Duration(timeout) * time.Second)
		defer timer.Stop()
		for waiting := true; waiting && len(q.pending) == 0; {
			wake := q.wake
			in.mu.Unlock()
			select {
			case <-wake:
			case <-poll.ended:
			case <-ctx.Done(): // the client hung up: the answer goes nowhere
				waiting = false
			case <-timer.C:
				waiting = false
			}
			in.mu.Lock()
			if q.poll != poll { // ended by another getUpdates or by setWebhook
				in.mu.Unlock()
				return nil, &apiError{code: http.StatusConflict, description: poll.conflict}
			}
		}
		q.poll = nil
		if ctx.Err() != nil { // hand out nothing that nobody reads
			in.mu.Unlock()
			return rawJSON("[]"), nil
		}
	}
	n := min(int(limit), len(q.pending))
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, u := range q.pending[:n] {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(u.raw)
		u.handedOut = true
	}
	buf.WriteByte(']')
	in.mu.Unlock()
	return rawJSON(buf.Bytes()), nil
}

// rawJSON is JSON written as is into an answer.
type rawJSON []byte

// MarshalJSON implements json.Marshaler.
func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// setWebhook sets, changes or (with an empty url) removes the bot's webhook.
func (s *Server) setWebhook(bot string, p map[string]any) (any, string, *apiError) {
	in := s.inbound
	link, _ := p["url"].(string)
	link = strings.TrimSpace(link)
	drop, _ := p["drop_pending_updates"].(bool)
	if link == "" {
		return true, s.deleteWebhook(bot, drop), nil
	}
	if !strings.Contains(link, "://") {
		link = "https://" + link // as Telegram reads it
	}
	u, err := url.Parse(link)
	switch {
	case err != nil || u.Host == "" || u.Hostname() == "":
		return nil, "", badRequest(descWebhookURLInvalid)
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, "", badRequest(descWebhookHTTPS)
	}
	cfg := hookConfig{url: link, maxConnections: defaultMaxConnections}
	cfg.secret, _ = p["secret_token"].(string)
	if len(cfg.secret) > maxSecretTokenLength {
		return nil, "", badRequest(descSecretTooLong)
	}
	for i := 0; i < len(cfg.secret); i++ {
		if c := cfg.secret[i]; !isASCIIAlnum(c) && c != '_' && c != '-' {
			return nil, "", badRequest(descSecretChars)
		}
	}
	if n, ok := intValue(p["max_connections"]); ok {
		cfg.maxConnections = int(min(max(n, 1), maxWebhookConnections)) // Telegram clamps it
	}
	cfg.ipAddress, _ = p["ip_address"].(string)
	if cfg.ipAddress == "" && net.ParseIP(u.Hostname()) != nil {
		cfg.ipAddress = u.Hostname()
	}
	_, cfg.certificate = p["certificate"].(*upload)
	allowed, setAllowed, apiErr := in.parseAllowed(p["allowed_updates"])
	if apiErr != nil {
		return nil, "", apiErr
	}

	in.mu.Lock()
	defer in.mu.Unlock()
	q := in.queueLocked(bot)
	changed := q.hook == nil || *q.hook != cfg || drop ||
		setAllowed && !slices.Equal(q.allowed, allowedOrNil(allowed))
	if setAllowed {
		q.setAllowedLocked(allowed)
	}
	if !changed {
		return true, descWebhookAlreadySet, nil
	}
	if drop {
		q.pending = nil
	}
	if q.hook == nil || q.hook.url != cfg.url {
		q.lastError, q.lastReason = time.Time{}, ""
	}
	q.hook = &cfg
	q.endPoll(descSetWebhookConflict)
	in.startDelivererLocked(bot, q)
	q.notify()
	return true, descWebhookWasSet, nil
}

func allowedOrNil(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	return list
}

// deleteWebhook returns the bot to polling, dropping its updates if asked, and returns the
// answer's description.
func (s *Server) deleteWebhook(bot string, drop bool) string {
	in := s.inbound
	in.mu.Lock()
	defer in.mu.Unlock()
	q := in.queueLocked(bot)
	if drop {
		q.pending = nil
	}
	if q.hook == nil {
		return descWebhookAlreadyDeleted
	}
	q.hook = nil
	q.lastError, q.lastReason = time.Time{}, ""
	if q.deliverer != nil {
		q.deliverer.cancel()
		q.deliverer = nil
	}
	q.notify()
	return descWebhookWasDeleted
}

// tgWebhookInfo is getWebhookInfo's answer, fields in Telegram's order; the optional ones are
// present when Telegram shows them.
type tgWebhookInfo struct {
	URL                  string   `json:"url"`
	HasCustomCertificate bool     `json:"has_custom_certificate"`
	PendingUpdateCount   int      `json:"pending_update_count"`
	LastErrorDate        int64    `json:"last_error_date,omitempty"`
	LastErrorMessage     string   `json:"last_error_message,omitempty"`
	MaxConnections       int      `json:"max_connections,omitempty"`
	IPAddress            string   `json:"ip_address,omitempty"`
	AllowedUpdates       []string `json:"allowed_updates,omitempty"`
}

func (s *Server) webhookInfo(bot string) tgWebhookInfo {
	in := s.inbound
	in.mu.Lock()
	defer in.mu.Unlock()
	q := in.queueLocked(bot)
	info := tgWebhookInfo{PendingUpdateCount: len(q.pending)}
	if q.allowed != nil && !slices.Equal(q.allowed, in.defaultAllowed()) {
		info.AllowedUpdates = slices.Clone(q.allowed)
	}
	if q.hook == nil {
		return info
	}
	info.URL, info.HasCustomCertificate, info.MaxConnections = q.hook.url, q.hook.certificate, q.hook.maxConnections
	info.IPAddress = q.hook.ipAddress
	if info.IPAddress == "" {
		info.IPAddress = "<unknown>"
	}
	if !q.lastError.IsZero() {
		info.LastErrorDate, info.LastErrorMessage = q.lastError.Unix(), q.lastReason
	}
	return info
}

// startDelivererLocked starts posting the bot's updates to its webhook, in place of the
// goroutine that did, if any. in.mu is held.
func (in *telegramInbound) startDelivererLocked(bot string, q *botQueue) {
	if q.deliverer != nil {
		q.deliverer.cancel()
		q.deliverer = nil
	}
	if in.stopped {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &hookRunner{cancel: cancel}
	q.deliverer = r
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		defer cancel()
		in.deliver(ctx, r, q)
	}()
}

// deliver posts the bot's updates to its webhook, one at a time and in order, until ctx ends or
// another runner replaces r.
func (in *telegramInbound) deliver(ctx context.Context, r *hookRunner, q *botQueue) {
	backoff := in.delivery.MinBackoff
	for {
		in.mu.Lock()
		if ctx.Err() != nil || q.deliverer != r || q.hook == nil {
			in.mu.Unlock()
			return
		}
		if len(q.pending) == 0 {
			wake := q.wake
			in.mu.Unlock()
			select {
			case <-wake:
			case <-ctx.Done():
				return
			}
			continue
		}
		u, hook := q.pending[0], *q.hook
		in.mu.Unlock()

		reason := in.post(ctx, hook, u.raw)
		if reason != "" && ctx.Err() != nil {
			return // stopped, not failed
		}
		in.mu.Lock()
		if reason == "" {
			// Delivered, even when the webhook was deleted meanwhile.
			if i := slices.IndexFunc(q.pending, func(p *queuedUpdate) bool { return p.seq == u.seq }); i >= 0 {
				q.pending = slices.Delete(q.pending, i, i+1)
			}
			q.delivered++
			backoff = in.delivery.MinBackoff
			in.mu.Unlock()
			continue
		}
		if q.deliverer == r {
			q.lastError, q.lastReason = in.now(), reason
		}
		in.mu.Unlock()
		pause := time.NewTimer(backoff)
		select {
		case <-pause.C:
		case <-ctx.Done():
			pause.Stop()
			return
		}
		backoff = min(backoff*2, in.delivery.MaxBackoff)
	}
}

// post posts one update to the webhook and returns "" when it answered 2xx, else why not, as
// getWebhookInfo's last_error_message says it.
func (in *telegramInbound) post(ctx context.Context, hook hookConfig, body []byte) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.url, bytes.NewReader(body))
	if err != nil {
		return "Wrong webhook URL: " + err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	if hook.secret != "" {
		req.Header.Set(secretTokenHeader, hook.secret)
	}
	res, err := in.client.Do(req)
	if err != nil {
		return connectionProblem(err)
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return "Wrong response from the webhook: " + res.Status
	}
	return ""
}

// connectionProblem words a failed attempt as Telegram's last_error_message does.
func connectionProblem(err error) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "Connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "Connection reset by peer"
	case errors.As(err, &dnsErr):
		return "Failed to resolve host: " + dnsErr.Err
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "Read timeout expired"
	}
	return "Connection error: " + err.Error()
}

// stop stops every deliverer and waits for them; the webhooks stay set, for resume.
func (in *telegramInbound) stop() {
	in.mu.Lock()
	in.stopped = true
	for _, q := range in.bots {
		if q.deliverer != nil {
			q.deliverer.cancel()
			q.deliverer = nil
		}
	}
	in.mu.Unlock()
	in.wg.Wait()
	in.transport.CloseIdleConnections()
}

// resume restarts the deliverers of the webhooks set.
func (in *telegramInbound) resume() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.stopped = false
	for bot, q := range in.bots {
		if q.hook != nil && q.deliverer == nil {
			in.startDelivererLocked(bot, q)
		}
	}
}

// enqueue queues an update of type typ (none for a raw update, which is not filtered) built by
// build with its update_id, unless the bot's allowed_updates leaves typ out: build then gets
// id 0, and the update is not queued.
func (in *telegramInbound) enqueue(bot, typ string, build func(id int64) ([]byte, error)) (TelegramInjectResult, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	q := in.queueLocked(bot)
	res := TelegramInjectResult{Bot: bot, Delivery: DeliveryPolling}
	if q.hook != nil {
		res.Delivery = DeliveryWebhook
	}
	if typ != "" && !in.allows(q, typ) {
		raw, err := build(0)
		res.Update, res.Delivery = raw, DeliveryFiltered
		return res, err
	}
	id := q.nextID
	raw, err := build(id)
	if err != nil {
		return TelegramInjectResult{}, err
	}
	q.nextID++
	q.push(in, id, raw, false)
	q.issued = appendBounded(q.issued, issuedUpdate{id: id, raw: raw}, in.maxIssued)
	res.UpdateID, res.Update = id, raw
	return res, nil
}

// push queues an update and wakes the bot's poller or deliverer.
func (q *botQueue) push(in *telegramInbound, id int64, raw []byte, redelivered bool) {
	in.seq++
	q.pending = append(q.pending, &queuedUpdate{id: id, seq: in.seq, raw: raw, redelivered: redelivered})
	q.notify()
}

// redeliver queues again, as it was, an update the bot was given.
func (in *telegramInbound) redeliver(bot string, id int64) (TelegramInjectResult, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	q := in.queueLocked(bot)
	issued := lastN(q.issued, in.maxIssued)
	i := slices.IndexFunc(issued, func(u issuedUpdate) bool { return u.id == id })
	if i < 0 {
		if len(issued) == 0 {
			return TelegramInjectResult{}, fmt.Errorf("update_id %d: bot %s was given no update yet", id, bot)
		}
		return TelegramInjectResult{}, fmt.Errorf("update_id %d: not an update bot %s was given (the sandbox keeps update_ids %d to %d)",
			id, bot, issued[0].id, issued[len(issued)-1].id)
	}
	raw := issued[i].raw
	q.push(in, id, raw, true)
	res := TelegramInjectResult{Bot: bot, UpdateID: id, Update: raw, Delivery: DeliveryPolling}
	if q.hook != nil {
		res.Delivery = DeliveryWebhook
	}
	return res, nil
}

// sawBot notes that bot called the Bot API.
func (in *telegramInbound) sawBot(bot string) {
	if _, ok := in.seen.Load(bot); !ok {
		in.seen.Store(bot, true)
	}
}

// webhookState is the control API's and TelegramWebhook's view of a bot's queue.
func (in *telegramInbound) webhookState(bot string) TelegramWebhookInfo {
	in.mu.Lock()
	defer in.mu.Unlock()
	q := in.queueLocked(bot)
	info := TelegramWebhookInfo{
		Bot: bot, Delivery: DeliveryPolling, AllowedUpdates: in.allowedList(q),
		PendingUpdateCount: len(q.pending), Delivered: q.delivered, Polling: q.poll != nil,
		NextUpdateID: q.nextID,
	}
	if q.hook != nil {
		info.Delivery, info.URL, info.HasSecretToken = DeliveryWebhook, q.hook.url, q.hook.secret != ""
		info.HasCustomCertificate, info.MaxConnections = q.hook.certificate, q.hook.maxConnections
		info.LastErrorDate, info.LastErrorMessage = q.lastError, q.lastReason
	}
	return info
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// knownBots returns the ids of the bots the sandbox knows: those of Options.Tokens, or else
// those that called the Bot API or were named in an injected event, sorted.
func (s *Server) knownBots() []string {
	var bots []string
	if s.tokens != nil {
		for t := range s.tokens {
			if id := botID(t); !slices.Contains(bots, id) {
				bots = append(bots, id)
			}
		}
	} else {
		s.inbound.seen.Range(func(k, _ any) bool {
			bots = append(bots, k.(string))
			return true
		})
	}
	slices.SortFunc(bots, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	return bots
}

// resolveBot checks a bot id given to the control API, or picks the one bot the sandbox knows
// when it is empty.
func (s *Server) resolveBot(bot string) (string, error) {
	known := s.knownBots()
	if bot != "" {
		if !isDigits(bot) {
			return "", fmt.Errorf("bot %q: want the bot's id, the digits before the ':' of its token", bot)
		}
		if s.tokens != nil && !slices.Contains(known, bot) {
			return "", fmt.Errorf("bot %s: not the bot of any of Options.Tokens (%s)", bot, strings.Join(known, ", "))
		}
		return bot, nil
	}
	switch len(known) {
	case 1:
		return known[0], nil
	case 0:
		return "", errors.New(`bot: no bot has called the Bot API yet: give "bot", the digits before the ':' of its token`)
	}
	return "", fmt.Errorf(`bot: the sandbox knows %d bots (%s): give "bot"`, len(known), strings.Join(known, ", "))
}
