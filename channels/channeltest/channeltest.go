// Package channeltest is the conformance suite every herald channel passes
// against the sandbox over real HTTP: what the dispatcher relies on a
// channel to do, from rendering to classifying each kind of failure.
package channeltest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/sandbox"
)

// Harness is one channel wired to a sandbox.
type Harness struct {
	Channel campaign.Channel
	// BadToken is the same channel with credentials the sandbox refuses.
	BadToken campaign.Channel
	Sandbox  *sandbox.Server
	// To addresses a recipient the way the planner would.
	To func(address string) campaign.Recipient
	// Good accepts messages; Blocked has blocked the sender; Unknown is
	// an address the platform does not know.
	Good, Blocked, Unknown string
	// Throttle sets the sandbox's rate for the channel to almost nothing.
	Throttle func()
}

// Exercise runs the suite. It changes the sandbox's faults and rates.
func Exercise(t *testing.T, h Harness) {
	ctx := context.Background()
	msg := campaign.Message{
		Text:    "**Hello** [friend](https://example.com/a?b=1&c=2) & <co>",
		Media:   []campaign.Media{{Kind: campaign.Image, URL: "https://example.com/a.jpg"}},
		Buttons: []campaign.Button{{Text: "Open", URL: "https://example.com/"}, {Text: "Stop", Callback: "stop"}},
	}
	send := func(addr string) ([]string, error) {
		t.Helper()
		calls, err := h.Channel.Prepare(h.To(addr), msg)
		if err != nil {
			t.Fatalf("Prepare: %v", err)
		}
		var ids []string
		for _, c := range calls {
			got, err := h.Channel.Do(ctx, c)
			if err != nil {
				return ids, err
			}
			ids = append(ids, got...)
		}
		return ids, nil
	}
	kind := func(t *testing.T, err error, want campaign.ErrKind) *campaign.SendError {
		t.Helper()
		var se *campaign.SendError
		if !errors.As(err, &se) || se.Kind != want {
			t.Fatalf("error %v, want kind %d", err, want)
		}
		if se.Reason == "" {
			t.Fatalf("error %v has no reason code", err)
		}
		return se
	}

	t.Run("Name", func(t *testing.T) {
		if h.Channel.Name() == "" {
			t.Fatal("no name")
		}
	})
	t.Run("LintAcceptsAndRefuses", func(t *testing.T) {
		if p := h.Channel.Lint(msg); len(p) > 0 {
			t.Fatalf("a valid message: %v", p)
		}
		long := msg
		long.Text = strings.Repeat("x", 10000)
		bad := false
		for _, p := range h.Channel.Lint(long) {
			bad = bad || p.Field == "message.text"
		}
		if !bad {
			t.Fatal("10,000 characters of text passed lint")
		}
		if _, err := h.Channel.Prepare(h.To(h.Good), long); !errors.Is(err, campaign.ErrInvalidMessage) {
			t.Fatalf("Prepare of what lint refuses: %v", err)
		}
	})
	t.Run("Sends", func(t *testing.T) {
		h.Sandbox.Reset()
		ids, err := send(h.Good)
		if err != nil || len(ids) == 0 {
			t.Fatalf("send: ids %v, %v", ids, err)
		}
		msgs := h.Sandbox.Messages()
		if len(msgs) == 0 || msgs[0].Chat != h.Good {
			t.Fatalf("the sandbox recorded %+v", msgs)
		}
		// What the person reads: escaped values arrive literally.
		all := ""
		for _, m := range msgs {
			all += m.Plain
		}
		if !strings.Contains(all, "& <co>") {
			t.Fatalf("the recipient reads %q", all)
		}
	})
	t.Run("Blocked", func(t *testing.T) {
		_, err := send(h.Blocked)
		kind(t, err, campaign.RecipientBlocked)
	})
	t.Run("UnknownAddress", func(t *testing.T) {
		_, err := send(h.Unknown)
		kind(t, err, campaign.RecipientInvalid)
	})
	t.Run("BadCredentialsAbort", func(t *testing.T) {
		calls, err := h.BadToken.Prepare(h.To(h.Good), msg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.BadToken.Do(ctx, calls[0])
		kind(t, err, campaign.Fatal)
	})
	t.Run("ServerErrorsAreRetryable", func(t *testing.T) {
		h.Sandbox.SetFaults(sandbox.Faults{ErrorRate: 1})
		defer h.Sandbox.SetFaults(sandbox.Faults{})
		_, err := send(h.Good)
		kind(t, err, campaign.Retryable)
	})
	t.Run("LostAnswersAreAmbiguous", func(t *testing.T) {
		h.Sandbox.SetFaults(sandbox.Faults{DropRate: 1})
		defer h.Sandbox.SetFaults(sandbox.Faults{})
		_, err := send(h.Good)
		kind(t, err, campaign.Ambiguous)
	})
	t.Run("RateLimited", func(t *testing.T) {
		h.Throttle()
		var err error
		for range 20 {
			if _, err = send(h.Good); err != nil {
				break
			}
		}
		kind(t, err, campaign.RateLimited)
	})
}
