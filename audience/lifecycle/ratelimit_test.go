package lifecycle_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/heraldcli/herald/audience/lifecycle"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/sandbox"
)

// Automatic replies and campaign runs go through one account: they share
// its rate limiter, so a 429 to a reply pauses the runs and the other
// replies, which then do not call the platform at all.
func TestRepliesShareTheAccountsRateLimit(t *testing.T) {
	ctx := context.Background()
	// One message an hour: the second call gets a 429 asking for about an hour.
	sb, st, tg := start(t, sandbox.Options{Rate: 1.0 / 3600, Burst: 1})
	engine := &campaign.Engine{Store: st, Channels: map[string]campaign.Channel{"telegram": tg},
		Send: campaign.SendOptions{MaxPause: time.Minute}}
	h := &lifecycle.Handler{Store: st, Channels: engine.Channels, Limiter: engine.Limiter, MaxWait: time.Minute,
		Replies: lifecycle.Replies{Welcome: reply(t, "welcome", "Welcome, {{ .Subscriber.Name }}")}}
	welcome := func(chat string) lifecycle.Result {
		t.Helper()
		res, err := h.Handle(ctx, lifecycle.Event{Kind: lifecycle.Start, Channel: "telegram", Address: chat, Key: "start-" + chat,
			At: time.Now(), Consent: "telegram_start", Name: "Ada"})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	rateLimited := func(err error) bool {
		var se *campaign.SendError
		return errors.As(err, &se) && se.Kind == campaign.RateLimited
	}

	if res := welcome("1001"); res.Sent != "welcome" {
		t.Fatalf("first welcome: %+v", res)
	}
	res := welcome("1002")
	if res.Action != "subscribed" || res.Sent != "" || !rateLimited(res.SendError) {
		t.Fatalf("second welcome, refused for an hour: %+v", res)
	}
	if p := engine.Limiter("telegram").PausedFor(); p < 30*time.Minute {
		t.Fatalf("the 429 to a reply paused the account for %s, want about an hour", p)
	}
	calls := len(sb.Requests())

	// Another reply waits for the pause, longer than MaxWait: not sent, and
	// the platform is not asked.
	if res := welcome("1003"); res.Action != "subscribed" || res.Sent != "" || !rateLimited(res.SendError) {
		t.Fatalf("third welcome, during the pause: %+v", res)
	}
	// A run on the same account is paused before it sends anything.
	spec, err := campaign.ParseSpec("news.yaml", "news", []byte("channels: [telegram]\nmode: static\nmessage: {text: News}\n"), []string{"telegram"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := engine.Prepare(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	run, err := engine.Plan(ctx, d, "manual", "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.Dispatch(ctx, spec, run, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Ending != campaign.RateLimitPaused || out.Run.State != campaign.RunPaused || out.Counts.Pending != 3 || out.Counts.Sent != 0 {
		t.Fatalf("run during the pause: ending %s, state %s, %+v", out.Ending, out.Run.State, out.Counts)
	}
	if n := len(sb.Requests()); n != calls {
		t.Fatalf("the platform got %d more calls during the pause", n-calls)
	}
}
