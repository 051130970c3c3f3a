package messenger_test

import (
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/channeltest"
	"github.com/heraldcli/herald/channels/messenger"
	"github.com/heraldcli/herald/channels/sandbox"
)

// TestConformance runs the suite every channel passes.
func TestConformance(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Messenger: sandbox.MessengerOptions{PageTokens: []string{"good"}}})
	url, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	ch := func(token string) campaign.Channel {
		c, err := messenger.New(messenger.Config{PageID: sb.MessengerPageID(), PageToken: token, APIURL: url})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	now := time.Now()
	sb.SetMessengerUser("7000000000000200", sandbox.MessengerUser{LastInteraction: now})
	sb.SetMessengerUser("7000000000000300", sandbox.MessengerUser{LastInteraction: now, Unavailable: true})
	channeltest.Exercise(t, channeltest.Harness{
		Channel: ch("good"), BadToken: ch("bad"), Sandbox: sb,
		To: func(a string) campaign.Recipient {
			return campaign.Recipient{Address: a, Route: campaign.RouteStandard, WindowUntil: now.Add(time.Hour)}
		},
		Good: "7000000000000200", Blocked: "7000000000000300", Unknown: "7000000000000400",
		Throttle: func() { sb.SetMessengerRate(0.01, 0.01) },
	})
}
