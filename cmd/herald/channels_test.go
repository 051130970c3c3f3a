package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldcli/herald/channels/sandbox"
)

type checkJSON struct {
	OK       bool `json:"ok"`
	Channels []struct {
		Channel  string   `json:"channel"`
		Status   string   `json:"status"`
		Account  string   `json:"account"`
		Details  []string `json:"details"`
		Problems []string `json:"problems"`
	} `json:"channels"`
}

func TestChannelsCheck(t *testing.T) {
	t.Parallel()
	b := setupMessenger(t, sandbox.Options{Tokens: []string{testToken}, Messenger: sandbox.MessengerOptions{PageTokens: []string{testPageToken}}})
	r := b.must(t, 0, "channels", "check")
	for _, want := range []string{"telegram: ok — bot @", "messenger: ok — Page", "no Get Started button: run herald channels setup messenger"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("check does not say %q:\n%s", want, r)
		}
	}
	// Setting up Messenger's presentation: then check sees it.
	r = b.must(t, 0, "channels", "setup", "messenger")
	if !strings.Contains(r.stdout, "greeting set: Hi {{user_first_name}}!") {
		t.Errorf("setup:\n%s", r)
	}
	p := b.sb.MessengerProfile()
	if p.GetStarted == nil || p.GetStarted.Payload != getStartedPayload || len(p.Greeting) != 1 || p.Greeting[0].Locale != "default" {
		t.Errorf("the sandbox's profile after setup: %+v", p)
	}
	if r := b.must(t, 0, "channels", "check"); !strings.Contains(r.stdout, "Get Started button set") {
		t.Errorf("check after setup:\n%s", r)
	}
	// Wrong credentials: exit 2, and what exactly is wrong, without the secrets.
	r = b.heraldEnv(t, map[string]string{"HERALD_TELEGRAM_TOKEN": "424242:wrong-token", "HERALD_MESSENGER_PAGE_ID": "999"}, "channels", "check", "--output", "json")
	if r.code != exitInvalid {
		t.Fatalf("check with a wrong token: %s", r)
	}
	res := decode[checkJSON](t, r.stdout)
	if res.OK || len(res.Channels) != 2 {
		t.Fatalf("check JSON: %+v", res)
	}
	tg, ms := res.Channels[0], res.Channels[1]
	if tg.Status != "problem" || len(tg.Problems) != 1 || !strings.Contains(tg.Problems[0], "401") {
		t.Errorf("telegram with a wrong token: %+v", tg)
	}
	if ms.Status != "problem" || len(ms.Problems) != 1 || !strings.Contains(ms.Problems[0], "but messenger.page_id is 999") {
		t.Errorf("messenger with another page id: %+v", ms)
	}
	for _, secret := range []string{"wrong-token", testPageToken, testAppSecret, testVerifyToken} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("check printed a secret %q", secret)
		}
	}
	// A half-configured webhook and no Telegram at all.
	r = b.heraldEnv(t, map[string]string{"HERALD_TELEGRAM_TOKEN": "", "HERALD_MESSENGER_VERIFY_TOKEN": ""}, "channels", "check")
	if r.code != exitInvalid || !strings.Contains(r.stdout, "telegram: not configured") ||
		!strings.Contains(r.stdout, "needs both messenger.app_secret") {
		t.Errorf("half-configured: %s", r)
	}
	if r := b.herald(t, "channels", "setup", "telegram"); r.code != exitInvalid || !strings.Contains(r.stderr, "@BotFather") {
		t.Errorf("setup telegram: %s", r)
	}
}

// TestLintAutomations: a broken automation is reported with herald.yaml's
// line, and exit 2; herald serve refuses to start with it.
func TestLintAutomations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	raw, err := os.ReadFile(b.path("herald.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	y := string(raw)
	y = strings.Replace(y, "Thanks for your message!", "Thanks {{ .Subscriber.Nmae }}!", 1)
	y = strings.Replace(y, "every: 24h", "every: 1s", 1)
	b.write(t, "herald.yaml", y)
	line := 0
	for i, l := range strings.Split(y, "\n") {
		if strings.Contains(l, "every: 1s") {
			line = i + 1
		}
	}
	r := b.herald(t, "lint")
	if r.code != exitInvalid || !strings.Contains(r.stdout, "herald.yaml:"+strconv.Itoa(line)+": automations.default_reply.every 1s") ||
		!strings.Contains(r.stdout, "Nmae") {
		t.Fatalf("lint of broken automations: %s", r)
	}
	if r := b.herald(t, "serve", "--addr", freeAddr(t)); r.code != exitInvalid || !strings.Contains(r.stderr, "automations.default_reply.every") {
		t.Fatalf("serve with broken automations: %s", r)
	}
}
