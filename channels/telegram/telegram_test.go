package telegram_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/sandbox"
	"github.com/heraldcli/herald/channels/telegram"
)

const secretToken = "777:super-secret-token-value"

func newChannel(t *testing.T, url string) *telegram.Channel {
	t.Helper()
	ch, err := telegram.New(telegram.Config{Token: secretToken, APIURL: url})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func sendText(t *testing.T, ch *telegram.Channel, to string) error {
	t.Helper()
	calls, err := ch.Prepare(campaign.Recipient{Address: to}, campaign.Message{Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ch.Do(context.Background(), calls[0])
	return err
}

// TestErrorsAreClassified drives every error of PLATFORMS.md's table
// through the sandbox over HTTP and checks what herald makes of it.
func TestErrorsAreClassified(t *testing.T) {
	t.Parallel()
	sb := sandbox.New(sandbox.Options{Tokens: []string{secretToken}})
	url, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	cases := []struct {
		state  sandbox.ChatState
		kind   campaign.ErrKind
		reason string
	}{
		{sandbox.ChatBlocked, campaign.RecipientBlocked, "blocked"},
		{sandbox.ChatDeactivated, campaign.RecipientBlocked, "blocked"},
		{sandbox.ChatKicked, campaign.RecipientBlocked, "blocked"},
		{sandbox.ChatNotFound, campaign.RecipientInvalid, "chat_not_found"},
		{sandbox.ChatNoConversation, campaign.NoConsent, "no_consent"},
		{sandbox.ChatMigrated(-100777), campaign.Migrated, "chat_migrated"},
	}
	ch := newChannel(t, url)
	for i, tc := range cases {
		chat := string(rune('1'+i)) + "00"
		sb.SetChat(chat, tc.state)
		err := sendText(t, ch, chat)
		var se *campaign.SendError
		if !errors.As(err, &se) || se.Kind != tc.kind || se.Reason != tc.reason {
			t.Errorf("%s: got %#v", tc.state, err)
			continue
		}
		if tc.kind == campaign.Migrated && se.NewAddress != "-100777" {
			t.Errorf("migrated to %q", se.NewAddress)
		}
	}
	// 401: a bad token aborts, and its value appears nowhere.
	bad, _ := telegram.New(telegram.Config{Token: "777:wrong-token", APIURL: url})
	err = sendText(t, bad, "1")
	var se *campaign.SendError
	if !errors.As(err, &se) || se.Kind != campaign.Fatal || !strings.Contains(se.Error(), "token") || strings.Contains(se.Error(), "wrong-token") {
		t.Errorf("401: %v", err)
	}
	// 429 with retry_after.
	sb.SetRate(1, 1)
	var limited *campaign.SendError
	for range 5 {
		if err := sendText(t, ch, "5000"); errors.As(err, &limited) {
			break
		}
	}
	if limited == nil || limited.Kind != campaign.RateLimited || limited.RetryAfter < time.Second {
		t.Errorf("429: %#v", limited)
	}
	sb.SetRate(0, 0)
	// 5xx is retryable: Telegram never processed it.
	sb.SetFaults(sandbox.Faults{ErrorRate: 1})
	if err := sendText(t, ch, "6000"); !errors.As(err, &se) || se.Kind != campaign.Retryable || se.Reason != "server_error" {
		t.Errorf("5xx: %v", err)
	}
	// A dropped answer after the request was processed is ambiguous.
	sb.SetFaults(sandbox.Faults{DropRate: 1})
	if err := sendText(t, ch, "7000"); !errors.As(err, &se) || se.Kind != campaign.Ambiguous {
		t.Errorf("drop: %v", err)
	}
}

// TestTransportErrorsTellSentFromNotSent: a request that was never written
// may be retried; one written and then lost may not.
func TestTransportErrorsTellSentFromNotSent(t *testing.T) {
	t.Parallel()
	// Nothing listens: the dial fails, the request was never written.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ch := newChannel(t, "http://"+addr)
	err = sendText(t, ch, "1")
	var se *campaign.SendError
	if !errors.As(err, &se) || se.Kind != campaign.Retryable || se.Reason != "unreachable" {
		t.Fatalf("refused connection: %#v", err)
	}
	if strings.Contains(err.Error(), secretToken) {
		t.Fatalf("the token leaked into %q", err)
	}
	// The server reads the request and never answers: a timeout after
	// writing is unknown, never retried.
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(stop) }) // runs first: frees the handler
	ch = newChannel(t, hang.URL)
	calls, _ := ch.Prepare(campaign.Recipient{Address: "1"}, campaign.Message{Text: "x"})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = ch.Do(ctx, calls[0])
	if !errors.As(err, &se) || se.Kind != campaign.Ambiguous || se.Reason != "timeout" {
		t.Fatalf("timeout after write: %#v", err)
	}
	if strings.Contains(err.Error(), secretToken) {
		t.Fatalf("the token leaked into %q", err)
	}
	// A 200 with a body that is not the Bot API's: ambiguous, not success.
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>proxy</html>")) }))
	t.Cleanup(garbage.Close)
	ch = newChannel(t, garbage.URL)
	if err := sendText(t, ch, "1"); !errors.As(err, &se) || se.Kind != campaign.Ambiguous {
		t.Fatalf("garbage 200: %#v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]telegram.Config{
		"bad url":             {Token: "1:a", APIURL: "ftp://x"},
		"rate above the free": {Token: "1:a", Rate: 100},
		"rate above paid":     {Token: "1:a", Rate: 5000, PaidBroadcast: true},
		"token with a slash":  {Token: "1:a/b"},
	} {
		if _, err := telegram.New(cfg); !errors.Is(err, telegram.ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	ch, err := telegram.New(telegram.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Ready(); !errors.Is(err, telegram.ErrConfig) || !strings.Contains(err.Error(), "HERALD_TELEGRAM_TOKEN") {
		t.Errorf("no token: %v", err)
	}
}

func TestLintCatchesTelegramLimits(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, "http://127.0.0.1:1")
	cases := map[string]struct {
		m     campaign.Message
		field string
	}{
		"too long":          {campaign.Message{Text: strings.Repeat("é", 4097)}, "message.text"},
		"empty":             {campaign.Message{Text: "  "}, "message.text"},
		"callback too long": {campaign.Message{Text: "x", Buttons: []campaign.Button{{Text: "b", Callback: strings.Repeat("x", 65)}}}, "message.buttons.0.callback"},
		"bad button url":    {campaign.Message{Text: "x", Buttons: []campaign.Button{{Text: "b", URL: "javascript:alert(1)"}}}, "message.buttons.0.url"},
		"bad media":         {campaign.Message{Media: []campaign.Media{{Kind: campaign.Image, URL: "not a url"}}}, "message.image"},
		"album buttons":     {campaign.Message{Media: []campaign.Media{{Kind: campaign.Image, URL: "https://a/1"}, {Kind: campaign.Image, URL: "https://a/2"}}, Buttons: []campaign.Button{{Text: "b", URL: "https://a"}}}, "message.text"},
	}
	for name, tc := range cases {
		probs := ch.Lint(tc.m)
		if len(probs) == 0 || probs[0].Field != tc.field {
			t.Errorf("%s: %+v", name, probs)
		}
	}
	// 4096 characters of formatted text are fine even when the markup is longer.
	if probs := ch.Lint(campaign.Message{Text: "**" + strings.Repeat("a", 4096) + "**"}); len(probs) != 0 {
		t.Errorf("4096 visible characters: %+v", probs)
	}
}
