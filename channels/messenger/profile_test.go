package messenger_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/messenger"
)

const profileToken = "EAAGprofile-page-token-0123456789"

// graphRequest is one request the fake Graph API received.
type graphRequest struct {
	method, path, query, auth, contentType, body string
}

// profileBundle is a Channel pointed at a fake Graph API that records every request and
// answers with answer.
type profileBundle struct {
	ch  *messenger.Channel
	srv *httptest.Server

	mu       sync.Mutex
	requests []graphRequest
	status   int
	answer   string
}

func (b *profileBundle) answerWith(status int, body string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.status, b.answer = status, body
}

func (b *profileBundle) received() []graphRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]graphRequest(nil), b.requests...)
}

func profileSetup(t *testing.T) *profileBundle {
	t.Helper()
	b := &profileBundle{status: http.StatusOK, answer: `{"result":"success"}`}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.requests = append(b.requests, graphRequest{r.Method, r.URL.Path, r.URL.RawQuery,
			r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(body)})
		status, answer := b.status, b.answer
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(b.srv.Close)
	ch, err := messenger.New(messenger.Config{PageID: "110000000000001", PageToken: profileToken, APIURL: b.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	b.ch = ch
	return b
}

func TestSetProfile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		p    messenger.Profile
		body string
	}{
		{"greeting and get started", messenger.Profile{Greeting: "Hello {{user_first_name}}! Deals every Friday.", GetStartedPayload: "GET_STARTED"},
			`{"greeting":[{"locale":"default","text":"Hello {{user_first_name}}! Deals every Friday."}],"get_started":{"payload":"GET_STARTED"}}`},
		{"greeting only", messenger.Profile{Greeting: "Bienvenue <chez> nous & merci"},
			`{"greeting":[{"locale":"default","text":"Bienvenue \u003cchez\u003e nous \u0026 merci"}]}`},
		{"get started only", messenger.Profile{GetStartedPayload: `{"src":"profile"}`},
			`{"get_started":{"payload":"{\"src\":\"profile\"}"}}`},
		{"greeting of 160 characters", messenger.Profile{Greeting: strings.Repeat("é", 160)},
			`{"greeting":[{"locale":"default","text":"` + strings.Repeat("é", 160) + `"}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := profileSetup(t)
			if err := b.ch.SetProfile(context.Background(), tc.p); err != nil {
				t.Fatalf("SetProfile: %v", err)
			}
			got := b.received()
			want := graphRequest{http.MethodPost, "/v25.0/me/messenger_profile", "", "Bearer " + profileToken, "application/json", tc.body}
			if len(got) != 1 || got[0] != want {
				t.Errorf("requests:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestSetProfileRefusesWhatMetaWould(t *testing.T) {
	t.Parallel()
	b := profileSetup(t)
	for name, p := range map[string]messenger.Profile{
		"nothing to set":       {},
		"greeting too long":    {Greeting: strings.Repeat("é", 161)},
		"payload too long":     {Greeting: "hi", GetStartedPayload: strings.Repeat("p", 1001)},
		"payload too long too": {GetStartedPayload: strings.Repeat("ü", 1001)},
	} {
		if err := b.ch.SetProfile(context.Background(), p); !errors.Is(err, messenger.ErrConfig) {
			t.Errorf("%s: %v, want an error wrapping ErrConfig", name, err)
		}
	}
	if got := b.received(); len(got) != 0 {
		t.Errorf("Meta was called: %+v", got)
	}
}

func TestGetProfile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, answer string
		want         messenger.Profile
	}{
		{"both set",
			`{"data":[{"greeting":[{"locale":"default","text":"Hello {{user_first_name}}!"}],"get_started":{"payload":"GET_STARTED"}}]}`,
			messenger.Profile{Greeting: "Hello {{user_first_name}}!", GetStartedPayload: "GET_STARTED"}},
		{"several locales: the default one",
			`{"data":[{"greeting":[{"locale":"fr_FR","text":"Bonjour"},{"locale":"default","text":"Hello"},{"locale":"en_US","text":"Hi"}]}]}`,
			messenger.Profile{Greeting: "Hello"}},
		{"get started only", `{"data":[{"get_started":{"payload":"START"}}]}`, messenger.Profile{GetStartedPayload: "START"}},
		{"nothing set", `{"data":[]}`, messenger.Profile{}},
		{"nothing set, an empty element", `{"data":[{}]}`, messenger.Profile{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := profileSetup(t)
			b.answerWith(http.StatusOK, tc.answer)
			got, err := b.ch.GetProfile(context.Background())
			if err != nil || got != tc.want {
				t.Errorf("GetProfile = %+v, %v; want %+v", got, err, tc.want)
			}
			want := graphRequest{http.MethodGet, "/v25.0/me/messenger_profile", "fields=greeting,get_started", "Bearer " + profileToken, "", ""}
			if reqs := b.received(); len(reqs) != 1 || reqs[0] != want {
				t.Errorf("requests:\n got %+v\nwant %+v", reqs, want)
			}
		})
	}
}

// TestProfileErrors: both calls classify Meta's errors as the Send API's are, and the Page
// token appears in none of them, even when Meta's own message quotes it.
func TestProfileErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		answer string
		kind   campaign.ErrKind
		reason string
	}{
		{"invalid token", http.StatusBadRequest,
			`{"error":{"message":"Invalid OAuth access token - Cannot parse access token ` + profileToken + `","type":"OAuthException","code":190,"fbtrace_id":"A1"}}`,
			campaign.Fatal, "invalid_token"},
		{"permission missing", http.StatusForbidden,
			`{"error":{"message":"(#200) Requires pages_messaging permission to manage the object","type":"OAuthException","code":200,"fbtrace_id":"A2"}}`,
			campaign.Fatal, "permission"},
		{"profile rate limit", http.StatusBadRequest,
			`{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613,"fbtrace_id":"A3"}}`,
			campaign.RateLimited, "rate_limited"},
		{"invalid parameter", http.StatusBadRequest,
			`{"error":{"message":"(#100) Invalid keys \"colour\" were found in param \"fields\".","type":"OAuthException","code":100,"fbtrace_id":"A4"}}`,
			campaign.Rejected, "invalid"},
		{"server error without envelope", http.StatusBadGateway, `<html>bad gateway</html>`, campaign.Retryable, "server_error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := profileSetup(t)
			b.answerWith(tc.status, tc.answer)
			_, getErr := b.ch.GetProfile(context.Background())
			setErr := b.ch.SetProfile(context.Background(), messenger.Profile{Greeting: "hi"})
			for call, err := range map[string]error{"GetProfile": getErr, "SetProfile": setErr} {
				se, ok := errors.AsType[*campaign.SendError](err)
				if !ok || se.Kind != tc.kind || se.Reason != tc.reason {
					t.Errorf("%s: %#v, want %v %s", call, err, tc.kind, tc.reason)
					continue
				}
				if strings.Contains(err.Error(), profileToken) {
					t.Errorf("%s: the token is in %q", call, err)
				}
			}
		})
	}
}

func TestProfileUnreadableAnswers(t *testing.T) {
	t.Parallel()
	b := profileSetup(t)
	for _, answer := range []string{`<html>proxy</html>`, `{"result":"failure"}`, `{}`} {
		b.answerWith(http.StatusOK, answer)
		if err := b.ch.SetProfile(context.Background(), messenger.Profile{Greeting: "hi"}); err == nil {
			t.Errorf("SetProfile, answer %s: no error", answer)
		}
	}
	for _, answer := range []string{`<html>proxy</html>`, `{}`, `{"data":{"greeting":[]}}`, `{"data":[{"greeting":"hi"}]}`} {
		b.answerWith(http.StatusOK, answer)
		if p, err := b.ch.GetProfile(context.Background()); err == nil {
			t.Errorf("GetProfile, answer %s: %+v, no error", answer, p)
		}
	}
}

func TestProfileTransportErrorsHoldNoToken(t *testing.T) {
	t.Parallel()
	b := profileSetup(t)
	b.srv.Close() // nothing answers any more
	_, getErr := b.ch.GetProfile(context.Background())
	setErr := b.ch.SetProfile(context.Background(), messenger.Profile{GetStartedPayload: "GET_STARTED"})
	for call, err := range map[string]error{"GetProfile": getErr, "SetProfile": setErr} {
		if se, ok := errors.AsType[*campaign.SendError](err); !ok || se.Kind != campaign.Retryable {
			t.Errorf("%s against a closed server: %#v, want a Retryable SendError", call, err)
		}
		if err != nil && strings.Contains(err.Error(), profileToken) {
			t.Errorf("%s: the token is in %q", call, err)
		}
	}
}
