package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

func newServeCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the long-lived process: schedules, watched sources, inbound events, automatic replies",
		Long: `Runs the campaigns that have a trigger: cron and at slots fire exactly once each
(a restart, a DST change or a second herald on the same database cannot fire a slot
twice; missed slots follow the campaign's catchup and max_delay), watched sources are
polled politely and their new items sent, and deliveries held for local_time or
quiet_hours go out when they fall due. Each decision is logged; herald schedule list
shows what comes next.

Receives what people do and applies it to the audience: /start (or Messenger's Get
Started, or a marketing opt-in) subscribes them and sends the welcome, /stop or a stop
keyword unsubscribes them and sends the goodbye once, blocking the bot marks them
blocked, and any other message gets the default reply at most once per period
(automations: in herald.yaml). Each event is applied once, even if delivered twice.

Telegram is long-polled with getUpdates (no public URL needed; the position is stored,
so a restart neither loses nor replays updates), or, with telegram.webhook_url and
telegram.webhook_secret, received on /webhooks/telegram (herald calls setWebhook with
the secret; a request without it is refused with 403).

Listens on serve.addr (default 127.0.0.1:8080, loopback only) for:
  /webhooks/telegram    Telegram's webhook, when telegram.webhook_url is set
  /webhooks/messenger   Meta's Messenger webhook: the verification GET, and signed
                        events (messages, postbacks, opt-ins, delivery and read receipts)
  /healthz              200 while the process runs
  /readyz               200 while the database answers

Put a TLS-terminating reverse proxy in front of it to receive webhooks, and set
messenger.app_secret and messenger.verify_token (HERALD_MESSENGER_APP_SECRET,
HERALD_MESSENGER_VERIFY_TOKEN). SIGTERM or Ctrl-C drains what was received and exits 0.

SIGHUP (systemctl reload herald) reads campaigns/ again without stopping anything: an
edited campaign's next runs use the new file, and keeps its place in its schedule unless
its cron, at, watch or timezone changed; a new campaign is scheduled, a removed one no
longer runs. If any campaign is broken, none is reloaded and the error is logged.
herald.yaml (automations, channels, serve.addr) is read at start only: restart for it.`,
		Example: `  herald serve
  herald serve --addr 127.0.0.1:9000`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveRun(cmd.Context(), cmd, g, io, addr)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen address (overrides serve.addr; default 127.0.0.1:8080)")
	return cmd
}

func serveRun(ctx context.Context, cmd *cobra.Command, g *globalOptions, io *IOStreams, addr string) error {
	if g.logLevel == "" {
		g.logLevel = "info" // serve's log is the record of what it decided
	}
	// SIGHUP (systemctl reload) reads the campaigns again; caught from the
	// start, as its default would end a herald still starting.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	a, err := openApp(ctx, cmd, g, io, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if addr == "" {
		addr = a.ws.Config.Serve.Addr
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return &flagError{fmt.Errorf("--addr %q: use host:port, e.g. 127.0.0.1:8080", addr)}
	}
	in, err := a.newInbound()
	if err != nil {
		return err
	}
	sched, err := a.newScheduler()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return invalidf("serve: cannot listen on %s: %v", addr, err)
	}
	recvCtx, stopRecv := context.WithCancel(ctx)
	defer stopRecv()
	fatal, err := in.start(recvCtx)
	if err != nil {
		ln.Close()
		return err
	}
	schedDone := make(chan error, 1)
	go func() { schedDone <- sched.Run(recvCtx) }()
	srv := &http.Server{Handler: in.mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(io.ErrOut, "herald serve: listening on http://%s (%s; health: /healthz, /readyz)\n", ln.Addr(), in.describe())
	var failed error
	for failed == nil && ctx.Err() == nil {
		select {
		case err := <-served:
			failed = fmt.Errorf("serve: %w", err)
		case failed = <-fatal:
		case err := <-schedDone:
			failed = fmt.Errorf("scheduler: %w", err)
		case <-hup:
			a.reloadCampaigns(sched)
		case <-io.Reload:
			a.reloadCampaigns(sched)
		case <-ctx.Done():
		}
	}
	stopRecv()
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	err = errors.Join(failed, srv.Shutdown(shut), in.close(shut))
	sched.Wait() // dispatches stop claiming and record what was in flight
	fmt.Fprintln(io.ErrOut, "herald serve: stopped")
	return err
}
