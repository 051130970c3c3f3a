package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/internal/transport"
)

// TestDoReadsAnswers: an answer is read whole whether or not it says its
// length, cut at the limit, and a connection lost mid-answer is ambiguous
// (the request arrived).
func TestDoReadsAnswers(t *testing.T) {
	long := strings.Repeat("x", 5000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sized":
			w.Header().Set("Content-Length", fmt.Sprint(len(long)))
			fmt.Fprint(w, long)
		case "/chunked":
			w.(http.Flusher).Flush() // no length: chunked
			fmt.Fprint(w, long)
		case "/cut":
			// Promise more than is sent, then hang up.
			conn, buf, _ := w.(http.Hijacker).Hijack()
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(long), long[:100])
			buf.Flush()
			conn.Close()
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	for _, c := range []struct {
		path  string
		limit int64
		want  int
	}{{"/sized", 0, len(long)}, {"/chunked", 0, len(long)}, {"/sized", 1000, 1000}, {"/chunked", 1000, 1000}} {
		status, body, err := transport.Do(ctx, srv.Client(), transport.Request{URL: srv.URL + c.path, Body: []byte("{}"), MaxAnswer: c.limit})
		if err != nil || status != http.StatusOK || len(body) != c.want || strings.Trim(string(body), "x") != "" {
			t.Errorf("%s (limit %d): %d, %d bytes, %v; want %d bytes", c.path, c.limit, status, len(body), err, c.want)
		}
	}
	_, _, err := transport.Do(ctx, srv.Client(), transport.Request{URL: srv.URL + "/cut", Body: []byte("{}")})
	var se *campaign.SendError
	if !errors.As(err, &se) || se.Kind != campaign.Ambiguous || se.Reason != "connection_lost" {
		t.Errorf("answer cut short: %v", err)
	}
}

// TestDoNothingWritten: a request that never reached the server may be
// retried.
func TestDoNothingWritten(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens: the dial is refused
	_, _, err = transport.Do(context.Background(), http.DefaultClient, transport.Request{URL: "http://" + addr + "/x", Body: []byte("{}")})
	var se *campaign.SendError
	if !errors.As(err, &se) || se.Kind != campaign.Retryable || se.Reason != "unreachable" {
		t.Errorf("refused dial: %v", err)
	}
}
