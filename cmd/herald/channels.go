package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/messenger"
	"github.com/heraldcli/herald/reporting"
)

func newChannelsCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "channels",
		Short: "Check each channel's credentials, and set up Messenger's presentation",
	}
	cmd.AddCommand(newChannelsCheckCmd(g, io), newChannelsSetupCmd(g, io))
	return cmd
}

// channelCheck is what herald channels check found about one channel.
type channelCheck struct {
	Channel string `json:"channel"`
	// Status is ok, problem or not_configured.
	Status   string   `json:"status"`
	Account  string   `json:"account,omitempty"`
	Details  []string `json:"details"`
	Problems []string `json:"problems"`
}

func (c *channelCheck) problem(format string, args ...any) {
	c.Problems = append(c.Problems, fmt.Sprintf(format, args...))
}

func newChannelsCheckCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Verify every configured channel's credentials and say exactly what is wrong",
		Long: `Calls each configured channel once, sending nothing to anyone:
  telegram   getMe (is the token right, which bot is it) and getWebhookInfo (is a webhook
             set where herald serve expects it, are updates piling up, the last delivery error)
  messenger  the Page the token belongs to (is it messenger.page_id's), the webhook secrets,
             and the Page's greeting and Get Started button (herald channels setup messenger)

Exits 0 when every configured channel is usable, 2 when one is not, and says what to fix.`,
		Example: `  herald channels check
  herald channels check --output json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd.Context(), cmd, g, io, false)
			if err != nil {
				return err
			}
			defer a.Close()
			checks := []channelCheck{a.checkTelegram(cmd.Context()), a.checkMessenger(cmd.Context())}
			ok := true
			for _, c := range checks {
				ok = ok && c.Status != "problem"
			}
			if output == "json" {
				if err := reporting.WriteJSON(io.Out, map[string]any{"ok": ok, "channels": checks}); err != nil {
					return err
				}
			} else {
				for _, c := range checks {
					head := c.Channel + ": " + strings.ReplaceAll(c.Status, "_", " ")
					if c.Account != "" {
						head += " — " + c.Account
					}
					fmt.Fprintln(io.Out, head)
					for _, d := range c.Details {
						fmt.Fprintln(io.Out, "  "+d)
					}
					for _, p := range c.Problems {
						fmt.Fprintln(io.Out, "  problem: "+p)
					}
				}
			}
			if !ok {
				return silentExit(exitInvalid)
			}
			return nil
		},
	}
	outputFlag(cmd, &output, "text", "json")
	return cmd
}

// checkTimeout bounds each channel's checks.
const checkTimeout = 20 * time.Second

func (a *app) checkTelegram(ctx context.Context) channelCheck {
	c := channelCheck{Channel: "telegram", Details: []string{}, Problems: []string{}}
	tc := a.ws.Config.Telegram
	if tc.Token == "" {
		c.Status = "not_configured"
		c.Details = append(c.Details, "set HERALD_TELEGRAM_TOKEN (from @BotFather) to send and receive on Telegram")
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	me, err := a.telegram.GetMe(ctx)
	if err != nil {
		c.Status = "problem"
		c.problem("%s", a.telegram.Redact(callProblem("telegram.api_url "+tc.APIURL, err)))
		return c
	}
	c.Account = fmt.Sprintf("bot @%s (id %d)", me.Username, me.ID)
	c.Status = "ok"
	info, err := a.telegram.GetWebhookInfo(ctx)
	if err != nil {
		c.Status = "problem"
		c.problem("getWebhookInfo: %s", a.telegram.Redact(err.Error()))
		return c
	}
	switch {
	case tc.WebhookURL == "" && info.URL == "":
		c.Details = append(c.Details, "updates: long polling (herald serve)")
	case tc.WebhookURL == "":
		c.Details = append(c.Details, fmt.Sprintf("updates: a webhook is set (%s); herald serve polls, and will remove it when it starts (or set telegram.webhook_url)", info.URL))
	case info.URL == tc.WebhookURL:
		c.Details = append(c.Details, "updates: webhook "+info.URL)
	case info.URL == "":
		c.Details = append(c.Details, "updates: no webhook set yet; herald serve sets "+tc.WebhookURL+" when it starts")
	default:
		c.Details = append(c.Details, fmt.Sprintf("updates: the webhook is %s, not telegram.webhook_url %s; herald serve replaces it when it starts", info.URL, tc.WebhookURL))
	}
	if info.PendingUpdateCount > 0 {
		c.Details = append(c.Details, fmt.Sprintf("%d update(s) waiting for herald serve", info.PendingUpdateCount))
	}
	if info.LastErrorMessage != "" {
		msg := fmt.Sprintf("Telegram's last webhook delivery failed at %s: %s", info.LastErrorDate.Format(time.RFC3339), info.LastErrorMessage)
		if info.URL != "" && info.PendingUpdateCount > 0 {
			c.Status = "problem"
			c.problem("%s (is herald serve running, and does the proxy reach it?)", msg)
		} else {
			c.Details = append(c.Details, msg)
		}
	}
	return c
}

func (a *app) checkMessenger(ctx context.Context) channelCheck {
	c := channelCheck{Channel: "messenger", Details: []string{}, Problems: []string{}}
	mc := a.ws.Config.Messenger
	if mc.PageToken == "" && mc.PageID == "" && mc.AppSecret == "" && mc.VerifyToken == "" {
		c.Status = "not_configured"
		c.Details = append(c.Details, "set messenger.page_id and HERALD_MESSENGER_PAGE_TOKEN to send on Messenger")
		return c
	}
	c.Status = "ok"
	if mc.PageToken == "" {
		c.Status = "problem"
		c.problem("messenger.page_token is not set (HERALD_MESSENGER_PAGE_TOKEN): a Page access token from your Meta app")
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	page, err := a.messenger.GetPage(ctx)
	if err != nil {
		c.Status = "problem"
		c.problem("%s", a.messenger.Redact(callProblem("messenger.api_url "+mc.APIURL, err)))
		return c
	}
	c.Account = fmt.Sprintf("Page %q (id %s)", page.Name, page.ID)
	switch {
	case mc.PageID == "":
		c.Status = "problem"
		c.problem("messenger.page_id is not set: set it to %s, the Page this token belongs to", page.ID)
	case mc.PageID != page.ID:
		c.Status = "problem"
		c.problem("the Page token belongs to Page %s (%s), but messenger.page_id is %s: use that Page's token, or set page_id to %s", page.ID, page.Name, mc.PageID, page.ID)
	}
	switch {
	case mc.AppSecret != "" && mc.VerifyToken != "":
		c.Details = append(c.Details, "webhook: app secret and verify token set (herald serve: /webhooks/messenger)")
	case mc.AppSecret == "" && mc.VerifyToken == "":
		c.Details = append(c.Details, "webhook: not set up; herald serve receives no Messenger events (set messenger.app_secret and messenger.verify_token)")
	default:
		c.Status = "problem"
		c.problem("the webhook needs both messenger.app_secret (HERALD_MESSENGER_APP_SECRET) and messenger.verify_token (HERALD_MESSENGER_VERIFY_TOKEN)")
	}
	prof, err := a.messenger.GetProfile(ctx)
	switch {
	case err != nil:
		c.Details = append(c.Details, "presentation: could not be read: "+a.messenger.Redact(err.Error()))
	case prof.GetStartedPayload == "":
		c.Details = append(c.Details, "presentation: no Get Started button: run herald channels setup messenger")
	case prof.GetStartedPayload != getStartedPayload:
		c.Details = append(c.Details, fmt.Sprintf("presentation: the Get Started button sends %q, which herald does not treat as a start: run herald channels setup messenger", prof.GetStartedPayload))
	default:
		c.Details = append(c.Details, fmt.Sprintf("presentation: Get Started button set; greeting %q", prof.Greeting))
	}
	return c
}

// callProblem explains a failed credentials check.
func callProblem(where string, err error) string {
	var se *campaign.SendError
	if errors.As(err, &se) {
		switch se.Kind {
		case campaign.Fatal:
			return se.Message
		case campaign.Retryable, campaign.Ambiguous:
			return fmt.Sprintf("could not reach %s: %s (is the URL right, is the network up?)", where, se.Error())
		}
		return se.Error()
	}
	return err.Error()
}

func newChannelsSetupCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "setup messenger",
		Short: "Set the Page's Messenger greeting and Get Started button",
		Long: `Sets what people see before they first write to the Page: the greeting
(automations.greeting in herald.yaml, at most 160 characters; it may use
{{user_first_name}}) and a Get Started button. Tapping Get Started subscribes the person
and sends the welcome (herald serve), as /start does on Telegram; an m.me link made
with herald audience link carries its source and tags through it.`,
		Example: `  herald channels setup messenger`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if a[0] != "messenger" {
				return &flagError{fmt.Errorf("herald channels setup %s: only messenger has a presentation to set up (Telegram's is set with @BotFather)", a[0])}
			}
			app, err := openApp(cmd.Context(), cmd, g, io, false)
			if err != nil {
				return err
			}
			defer app.Close()
			if err := app.messenger.Ready(); err != nil {
				return err
			}
			if _, err := app.replies(); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), checkTimeout)
			defer cancel()
			greeting := strings.TrimSpace(app.ws.Config.Automations.Greeting)
			if err := app.messenger.SetProfile(ctx, messenger.Profile{Greeting: greeting, GetStartedPayload: getStartedPayload}); err != nil {
				return fmt.Errorf("messenger: setting the Page's presentation: %w", err)
			}
			got, err := app.messenger.GetProfile(ctx)
			if err != nil {
				return fmt.Errorf("messenger: reading the presentation back: %w", err)
			}
			if got.GetStartedPayload != getStartedPayload || (greeting != "" && got.Greeting != greeting) {
				return fmt.Errorf("messenger: Meta accepted the presentation but reads back greeting %q and Get Started %q", got.Greeting, got.GetStartedPayload)
			}
			fmt.Fprintln(io.Out, "messenger: Get Started button set")
			if greeting != "" {
				fmt.Fprintf(io.Out, "messenger: greeting set: %s\n", greeting)
			} else {
				fmt.Fprintln(io.Out, "messenger: no greeting (add automations.greeting to herald.yaml to show one)")
			}
			return nil
		},
	}
	return cmd
}
