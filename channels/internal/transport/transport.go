// Package transport is the HTTP plumbing herald's channels share: a client
// tuned for broadcasting, and a POST that knows whether a failed request
// may have reached the platform, so the dispatcher can tell a safe retry
// from an ambiguous outcome.
package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/heraldcli/herald/campaign"
)

// MaxResponseBytes bounds how much of an answer is read.
const MaxResponseBytes = 1 << 20

// NewClient returns an HTTP client for broadcasting: many idle connections
// per host, bounded dial and TLS handshakes, no overall timeout (each call
// carries its own deadline).
func NewClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
	}}
}

// Request is one call to a platform.
type Request struct {
	Method string // default POST
	URL    string
	// Header is set on the request as it is, not copied: it is read only,
	// and may be shared by concurrent requests (a client with a cookie jar
	// or a header-editing transport would need a copy).
	Header http.Header
	Body   []byte
	// Redact removes secrets from error text (the URL of a transport error
	// can carry a token).
	Redact func(string) string
	// MaxAnswer bounds how much of the answer is read; MaxResponseBytes when
	// 0 or less. Only calls whose answers are large by design (a batch of
	// updates) need more.
	MaxAnswer int64
}

// Do sends r and returns the answer's status and body (at most r.MaxAnswer
// bytes, MaxResponseBytes by default). Its error is a *campaign.SendError:
// Retryable when nothing of the request was written, Ambiguous when it was
// and the answer was lost, Fatal when the request cannot be built.
func Do(ctx context.Context, hc *http.Client, r Request) (status int, body []byte, err error) {
	redact := r.Redact
	if redact == nil {
		redact = func(s string) string { return s }
	}
	// wrote turns true as soon as any of the request is on the wire: from
	// then on a failure is ambiguous. The trace may run on another
	// goroutine (HTTP/2), hence the atomic.
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		WroteHeaders: func() { wrote.Store(true) },
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	}
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	var rd io.Reader
	if r.Body != nil {
		rd = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, r.URL, rd)
	if err != nil {
		return 0, nil, &campaign.SendError{Kind: campaign.Fatal, Reason: "config", Message: redact(err.Error())}
	}
	if r.Header != nil {
		req.Header = r.Header // read only, by the transport as by herald
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, transportError(err, wrote.Load(), redact)
	}
	defer resp.Body.Close()
	limit := r.MaxAnswer
	if limit <= 0 {
		limit = MaxResponseBytes
	}
	body, err = readAnswer(resp, limit)
	if err != nil {
		// The request arrived; only the answer was lost.
		return resp.StatusCode, nil, transportError(err, true, redact)
	}
	return resp.StatusCode, body, nil
}

// readAnswer reads at most limit bytes of the answer: in one allocation of
// the right size when the answer says its length, as the platforms' do.
func readAnswer(resp *http.Response, limit int64) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= limit {
		body := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit))
}

func transportError(err error, wrote bool, redact func(string) string) error {
	var ue interface{ Unwrap() error }
	inner := err
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		inner = ue.Unwrap() // *url.Error carries the URL, and the URL may carry a token
	}
	msg := redact(inner.Error())
	if !wrote {
		return &campaign.SendError{Kind: campaign.Retryable, Reason: "unreachable", Message: msg, Err: errors.New(msg)}
	}
	reason := "connection_lost"
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		reason = "timeout"
	}
	return &campaign.SendError{Kind: campaign.Ambiguous, Reason: reason, Message: msg, Err: errors.New(msg)}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
