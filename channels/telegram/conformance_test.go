package telegram_test

import (
	"testing"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/channeltest"
	"github.com/heraldcli/herald/channels/sandbox"
	"github.com/heraldcli/herald/channels/telegram"
)

// TestConformance runs the suite every channel passes.
func TestConformance(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Tokens: []string{"1:good"}})
	url, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	ch := func(token string) campaign.Channel {
		c, err := telegram.New(telegram.Config{Token: token, APIURL: url})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	sb.SetChat("300", sandbox.ChatBlocked)
	sb.SetChat("400", sandbox.ChatNotFound)
	channeltest.Exercise(t, channeltest.Harness{
		Channel: ch("1:good"), BadToken: ch("1:bad"), Sandbox: sb,
		To: func(a string) campaign.Recipient {
			return campaign.Recipient{Address: a, Route: campaign.RouteBot}
		},
		Good: "200", Blocked: "300", Unknown: "400",
		Throttle: func() { sb.SetRate(0.01, 1) },
	})
}
