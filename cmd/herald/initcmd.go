package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/channels/sandbox"
	"github.com/heraldcli/herald/configs"
)

func newInitCmd(io *IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "init DIR",
		Short: "Create a workspace: herald.yaml, an example campaign and audience",
		Example: `  herald init mybrand
  cd mybrand && herald lint`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := configs.WriteWorkspace(a[0]); err != nil {
				return invalid(err)
			}
			fmt.Fprintf(io.Out, `Created workspace %s:
  herald.yaml                 settings (keep the bot token in HERALD_TELEGRAM_TOKEN), and the
                              welcome, goodbye and default reply herald serve sends (automations:)
  campaigns/blog-digest.yaml  a digest of an RSS feed
  campaigns/announcement.yaml a one-off message
  audience.csv                example subscribers with their consent
  feeds/blog.xml              a sample feed

Next:
  cd %s
  herald audience import audience.csv
  herald lint
  herald campaign preview blog-digest
`, a[0], a[0])
			return nil
		},
	}
}

func newDemoCmd(io *IOStreams) *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the example workspace against a local sandbox: import, send, report",
		Long: `Creates a temporary workspace from the example, starts the Telegram and Messenger
sandbox on a free loopback port, imports the sample audience, has some Messenger
users write to the page (through herald's signed webhook), sends the sample RSS
campaign to both channels, and prints the delivery report: who got it by which route,
and who Meta's rules made herald skip. No token, server or network needed.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return demoRun(cmd.Context(), io, keep)
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo workspace instead of deleting it")
	return cmd
}

func demoRun(ctx context.Context, io *IOStreams, keep bool) error {
	dir, err := os.MkdirTemp("", "herald-demo-")
	if err != nil {
		return err
	}
	if keep {
		defer fmt.Fprintf(io.Out, "\nThe demo workspace is kept in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	ws := filepath.Join(dir, "mybrand")
	if err := configs.WriteWorkspace(ws); err != nil {
		return err
	}
	// The sandbox's clock can be set back, so that some people's last
	// message to the page is days old.
	var ago atomic.Int64
	clock := func() time.Time { return time.Now().Add(-time.Duration(ago.Load())) }
	sb := sandbox.New(sandbox.Options{Now: clock, Messenger: sandbox.MessengerOptions{PageID: demoPageID, AppSecret: demoAppSecret}})
	url, err := sb.Start("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start sandbox: %w", err)
	}
	defer sb.Close()
	// One subscriber has blocked the bot, to show how herald handles it.
	sb.SetChat("100000005", sandbox.ChatBlocked)

	env := map[string]string{
		"HERALD_TELEGRAM_API_URL": url, "HERALD_TELEGRAM_TOKEN": sandboxToken, "HERALD_WORKSPACE": ws,
		"HERALD_MESSENGER_API_URL": url, "HERALD_MESSENGER_PAGE_ID": demoPageID, "HERALD_MESSENGER_PAGE_TOKEN": sandboxPageToken,
		"HERALD_MESSENGER_APP_SECRET": demoAppSecret, "HERALD_MESSENGER_VERIFY_TOKEN": "herald-demo",
	}
	demoIO := *io
	demoIO.InTTY = false
	demoIO.Getenv = func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return io.Getenv(k)
	}
	fmt.Fprintf(io.Out, "herald demo: a workspace from the example in %s, the Telegram and Messenger sandbox at %s\n", ws, url)
	step := func(args ...string) error {
		fmt.Fprintf(io.Out, "\n$ herald %s\n", strings.ReplaceAll(strings.Join(args, " "), ws+string(filepath.Separator), ""))
		if code := run(ctx, args, &demoIO); code != exitOK {
			return silentExit(code)
		}
		return nil
	}
	if err := step("audience", "import", filepath.Join(ws, "audience.csv")); err != nil {
		return err
	}
	// herald serve's webhook, in this process, receives what the people
	// do in Messenger, signed by the sandbox exactly as Meta signs it.
	hook, err := startDemoInbound(ctx, &demoIO, sb)
	if err != nil {
		return err
	}
	defer hook.stop()
	// A flyer's link, and what people do with it on Telegram: herald serve's
	// poller, in this process, receives it from the sandbox.
	if err := step("audience", "link", "--channel", "telegram", "--source", "flyer", "--tag", "flyer"); err != nil {
		return err
	}
	fmt.Fprintln(io.Out, "\nMeanwhile on Telegram (herald serve polls the sandbox for updates):")
	for _, ev := range []struct {
		event sandbox.TelegramEvent
		says  string
	}{
		{sandbox.TelegramEvent{Type: "message", ChatID: 100000008, Text: "/start flyer", From: &sandbox.TelegramUser{FirstName: "Lena", LanguageCode: "de"}},
			"Lena scans the flyer's QR code and taps Start: subscribed, tagged flyer, welcomed."},
		{sandbox.TelegramEvent{Type: "message", ChatID: 100000002, Text: "/stop"},
			"Bob sends /stop: unsubscribed, with one goodbye; the digest will skip him."},
	} {
		if err := hook.injectTelegram(ctx, ev.event); err != nil {
			return err
		}
		fmt.Fprintf(io.Out, "  %s\n", ev.says)
	}
	fmt.Fprintln(io.Out, "\nMeanwhile on Messenger (the sandbox posts each event to herald's webhook, signed):")
	for _, ev := range demoEvents {
		ago.Store(int64(ev.ago))
		err := hook.inject(ctx, ev.event)
		ago.Store(0)
		if err != nil {
			return err
		}
		fmt.Fprintf(io.Out, "  %s\n", ev.says)
	}
	fmt.Fprintln(io.Out, "  Jorge never wrote to the page.")
	replies := sb.Messages()
	fmt.Fprintf(io.Out, "\nherald answered by itself (automations: in herald.yaml), %d message(s):\n", len(replies))
	for _, m := range replies {
		first, _, _ := strings.Cut(m.Plain, "\n")
		fmt.Fprintf(io.Out, "  %s %s: %s\n", m.Channel, m.Chat, first)
	}
	for _, args := range [][]string{{"lint"}, {"campaign", "send", "blog-digest", "--dry-run"}, {"campaign", "send", "blog-digest", "--yes"}} {
		if err := step(args...); err != nil {
			return err
		}
	}
	// Receipts: Giulia's phone got the messages and Hannah read hers.
	fmt.Fprintln(io.Out, "\nOn Messenger, Giulia's phone reports delivery and Hannah reads the digest:")
	for _, ev := range []sandbox.MessengerEvent{{PSID: demoGiulia, Type: "delivery"}, {PSID: demoHannah, Type: "read"}} {
		if err := hook.inject(ctx, ev); err != nil {
			return err
		}
	}
	if err := step("report", "1"); err != nil {
		return err
	}
	if err := step("campaign", "send", "blog-digest", "--yes"); err != nil {
		return err
	}
	msgs := sb.Messages()[len(replies):]
	perChannel := map[string]int{}
	for _, m := range msgs {
		perChannel[m.Channel]++
	}
	fmt.Fprintf(io.Out, "\nThe campaign sent %d Telegram and %d Messenger message(s). The first of each:\n", perChannel["telegram"], perChannel["messenger"])
	for _, ch := range []string{"telegram", "messenger"} {
		for _, m := range msgs {
			if m.Channel != ch {
				continue
			}
			fmt.Fprintf(io.Out, "  %s, to %s (%s):\n", ch, m.Chat, demoVia(m))
			for line := range strings.Lines(m.Plain) {
				fmt.Fprintf(io.Out, "  │ %s", line)
			}
			fmt.Fprintln(io.Out)
			break
		}
	}
	fmt.Fprintln(io.Out, "\nThe second send found no new items and sent nothing: herald never sends an item twice.")
	if err := demoShop(ws, sb, step, io); err != nil {
		return err
	}
	fmt.Fprintln(io.Out, "\nNext: herald init mybrand, then herald sandbox to try your own campaigns.")
	return nil
}

// demoShop runs the example shop campaign: its first run records the
// catalog; a day later the feed has a price drop, a restock and a new
// product, which go out as product cards.
func demoShop(ws string, sb *sandbox.Server, step func(...string) error, io *IOStreams) error {
	fmt.Fprintln(io.Out, "\nThe shop (campaigns/shop-deals.yaml) reads a Google Merchant Center feed. Its first run only records the catalog:")
	if err := step("campaign", "send", "shop-deals", "--yes"); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(ws, "feeds", "shop.xml"), configs.ShopTomorrow, 0o644); err != nil {
		return err
	}
	fmt.Fprintln(io.Out, "\nA day later the shop's feed has changed. What would the next run announce?")
	if err := step("sources", "check", "shop-deals"); err != nil {
		return err
	}
	before := len(sb.Messages())
	if err := step("campaign", "send", "shop-deals", "--yes"); err != nil {
		return err
	}
	msgs := sb.Messages()[before:]
	for _, ch := range []string{"telegram", "messenger"} {
		// The first person (not a group) of the audience file who got them.
		chat := ""
		for _, m := range msgs {
			if m.Channel == ch && !strings.HasPrefix(m.Chat, "-") && (chat == "" || m.Chat < chat) {
				chat = m.Chat
			}
		}
		fmt.Fprintf(io.Out, "\nThe cards on %s, to %s:\n", ch, chat)
		for _, m := range msgs {
			if m.Channel != ch || m.Chat != chat {
				continue
			}
			switch {
			case len(m.Elements) > 0:
				for _, e := range m.Elements {
					fmt.Fprintf(io.Out, "  [carousel card] %s · %s · %s\n", e.Title, e.Subtitle, e.Image)
				}
			case m.Method == "sendPhoto":
				fmt.Fprintf(io.Out, "  [photo %s] %s\n", m.Media[0].URL, strings.ReplaceAll(m.Plain, "\n", " · "))
			default:
				fmt.Fprintf(io.Out, "  %s\n", strings.ReplaceAll(m.Plain, "\n", " · "))
			}
		}
	}
	return nil
}

func demoVia(m sandbox.Message) string {
	if m.Channel != "messenger" {
		return m.Method
	}
	return "route " + m.Route
}

// The demo's Messenger page and people.
const (
	demoPageID       = "100000000000001"
	demoAppSecret    = "herald-demo-app-secret"
	sandboxPageToken = "herald-sandbox-page-token"
	demoGiulia       = "7100000000000001"
	demoHannah       = "7100000000000002"
	demoIvo          = "7100000000000003"
	demoKenji        = "7100000000000005"
)

var demoEvents = []struct {
	event sandbox.MessengerEvent
	ago   time.Duration
	says  string
}{
	{sandbox.MessengerEvent{PSID: demoGiulia, Type: "message", Text: "Ciao! Any news on the blog?"}, 0,
		"Giulia writes to the page: her 24-hour window is open."},
	{sandbox.MessengerEvent{PSID: demoHannah, Type: "postback", Payload: "GET_STARTED", Title: "Get Started"}, time.Hour,
		"Hannah tapped Get Started an hour ago: her window is open too."},
	{sandbox.MessengerEvent{PSID: demoIvo, Type: "message", Text: "Thanks!"}, 3 * 24 * time.Hour,
		"Ivo last wrote 3 days ago: his window has closed."},
	{sandbox.MessengerEvent{PSID: demoKenji, Type: "optin", Payload: "blog-weekly", Timezone: "Asia/Tokyo"}, 3 * 24 * time.Hour,
		"Kenji (Tokyo) accepted marketing messages 3 days ago: a recurring notification, once per 48 hours, may reach him."},
}

// demoInbound is herald serve's webhook running inside herald demo.
type demoInbound struct {
	addr string
	a    *app
	in   *inbound
	srv  *http.Server
	sb   *sandbox.Server
	// cancel stops the Telegram poller.
	cancel context.CancelFunc
}

func startDemoInbound(ctx context.Context, io *IOStreams, sb *sandbox.Server) (*demoInbound, error) {
	a, err := openApp(ctx, &cobra.Command{}, &globalOptions{}, io, true)
	if err != nil {
		return nil, err
	}
	in, err := a.newInbound()
	if err != nil {
		a.Close()
		return nil, err
	}
	recvCtx, cancel := context.WithCancel(ctx)
	if _, err := in.start(recvCtx); err != nil {
		cancel()
		a.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		a.Close()
		return nil, err
	}
	d := &demoInbound{addr: ln.Addr().String(), a: a, in: in, srv: &http.Server{Handler: in.mux, ReadHeaderTimeout: 5 * time.Second}, sb: sb, cancel: cancel}
	go d.srv.Serve(ln)
	sb.SetMessengerWebhook("http://"+d.addr+"/webhooks/messenger", io.Getenv("HERALD_MESSENGER_APP_SECRET"))
	return d, nil
}

// inject has the sandbox post ev to the webhook and waits until herald has
// recorded it.
func (d *demoInbound) inject(ctx context.Context, ev sandbox.MessengerEvent) error {
	before := d.in.handled.Load()
	res, err := d.sb.InjectMessenger(ctx, ev)
	if err != nil {
		return err
	}
	if res.Status != http.StatusOK {
		return fmt.Errorf("the webhook answered %d to the sandbox's %s event", res.Status, ev.Type)
	}
	return d.handled(before, "messenger "+ev.Type)
}

// injectTelegram queues ev for the bot and waits until herald's poller has
// applied it.
func (d *demoInbound) injectTelegram(ctx context.Context, ev sandbox.TelegramEvent) error {
	before := d.in.handled.Load()
	if _, err := d.sb.InjectTelegram(ctx, ev); err != nil {
		return err
	}
	return d.handled(before, "telegram "+ev.Type)
}

// handled waits until herald has applied an event since the count before.
func (d *demoInbound) handled(before int64, what string) error {
	for deadline := time.Now().Add(10 * time.Second); d.in.handled.Load() == before; {
		if time.Now().After(deadline) {
			return fmt.Errorf("herald did not apply the %s event within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

func (d *demoInbound) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d.cancel()
	d.srv.Shutdown(ctx)
	d.in.close(ctx)
	d.a.Close()
}
