package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/channels/sandbox"
)

// sandboxToken is the bot token herald demo uses against its sandbox.
const sandboxToken = "123456:herald-sandbox-token"

func newSandboxCmd(io *IOStreams) *cobra.Command {
	var addr string
	var rate float64
	var tokens []string
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a local emulator of the Telegram Bot API and Messenger Send API",
		Long: `Serves the Telegram Bot API methods herald uses and Messenger's Send API, with the
platforms' validation, limits and exact error bodies, on a loopback address. Messenger's
24-hour window is enforced from the events the sandbox has seen. A control API under
/__sandbox/ lists the messages it accepted, sets faults (blocked chats, 5xx, latency, 429
storms), and injects a Messenger user's message, postback, opt-in or receipt, posted to
herald serve's webhook signed as Meta signs it; the page at / shows every conversation.`,
		Example: `  herald sandbox --addr 127.0.0.1:8099
  # in another terminal, inside a workspace:
  HERALD_TELEGRAM_API_URL=http://127.0.0.1:8099 HERALD_TELEGRAM_TOKEN=123456:test herald campaign send blog-digest`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return &flagError{fmt.Errorf("--addr %q: use host:port, e.g. 127.0.0.1:8099", addr)}
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				fmt.Fprintf(io.ErrOut, "warning: %s is not a loopback address: the sandbox will be reachable from other machines\n", host)
			}
			sb := sandbox.New(sandbox.Options{Tokens: tokens, Rate: rate, Burst: int(rate)})
			url, err := sb.Start(addr)
			if err != nil {
				return fmt.Errorf("start sandbox: %w", err)
			}
			defer sb.Close()
			fmt.Fprintf(io.Out, "herald sandbox: Telegram Bot API at %s\n", url)
			fmt.Fprintf(io.Out, "  chats:        %s/\n", url)
			fmt.Fprintf(io.Out, "  messages:     %s/__sandbox/messages\n", url)
			fmt.Fprintf(io.Out, "  point herald: HERALD_TELEGRAM_API_URL=%s HERALD_TELEGRAM_TOKEN=%s\n", url, sandboxToken)
			fmt.Fprintf(io.Out, "                HERALD_MESSENGER_API_URL=%s HERALD_MESSENGER_PAGE_ID=%s HERALD_MESSENGER_PAGE_TOKEN=%s\n",
				url, sb.MessengerPageID(), sandboxPageToken)
			fmt.Fprintf(io.Out, "  webhook:      PUT %s/__sandbox/messenger/webhook {\"url\":\"http://127.0.0.1:8080/webhooks/messenger\",\"app_secret\":\"…\"}\n", url)
			fmt.Fprintf(io.Out, "  a user event: POST %s/__sandbox/messenger/events {\"psid\":\"7100000000000001\",\"type\":\"message\",\"text\":\"hi\"}\n", url)
			fmt.Fprintf(io.Out, "  a Telegram user: POST %s/__sandbox/telegram/updates {\"type\":\"message\",\"chat_id\":5001,\"text\":\"/start blog\"}\n", url)
			fmt.Fprintln(io.Out, "                  (herald serve polls it; type block/unblock, or message with /stop)")
			fmt.Fprintln(io.Out, "Ctrl-C stops it.")
			<-cmd.Context().Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8099", "listen address (loopback unless you mean otherwise)")
	cmd.Flags().Float64Var(&rate, "rate", 30, "messages per second per bot before answering 429 (0 for no limit)")
	cmd.Flags().StringSliceVar(&tokens, "token", nil, "accept only these bot tokens (default: any well-formed token)")
	return cmd
}
