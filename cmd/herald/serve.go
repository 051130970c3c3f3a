package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/messenger"
)

func newServeCmd(g *globalOptions, io *IOStreams) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the long-lived process: webhooks for inbound events, health checks",
		Long: `Listens on serve.addr (default 127.0.0.1:8080, loopback only) for:
  /webhooks/messenger   Meta's Messenger webhook: the verification GET, and signed
                        events (messages and postbacks keep each person's 24-hour
                        window, opt-ins store marketing tokens, delivery and read
                        receipts update the ledger)
  /healthz              200 while the process runs
  /readyz               200 while the database answers

Put a TLS-terminating reverse proxy in front of it to receive Meta's webhook, and set
messenger.app_secret and messenger.verify_token (HERALD_MESSENGER_APP_SECRET,
HERALD_MESSENGER_VERIFY_TOKEN). SIGTERM or Ctrl-C drains what was received and exits 0.`,
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
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return invalidf("serve: cannot listen on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: in.mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(io.ErrOut, "herald serve: listening on http://%s (webhooks: /webhooks/messenger; health: /healthz, /readyz)\n", ln.Addr())
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	err = errors.Join(srv.Shutdown(shut), in.close(shut))
	fmt.Fprintln(io.ErrOut, "herald serve: stopped")
	return err
}

// inbound receives the platforms' events and applies them to the store.
type inbound struct {
	a       *app
	mux     *http.ServeMux
	webhook *messenger.Webhook
	// handled counts the events applied, for herald demo and tests.
	handled atomic.Int64
}

// newInbound builds serve's routes. The Messenger webhook is mounted only
// when its secrets are set: without the app secret no event can be trusted.
func (a *app) newInbound() (*inbound, error) {
	in := &inbound{a: a, mux: http.NewServeMux()}
	in.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	in.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if _, err := a.store.Runs(ctx, campaign.RunFilter{Limit: 1}); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mc := a.ws.Config.Messenger
	switch {
	case mc.AppSecret != "" && mc.VerifyToken != "":
		in.webhook = messenger.NewWebhook(messenger.WebhookConfig{
			VerifyToken: mc.VerifyToken, AppSecret: mc.AppSecret, Handle: in.messengerEvents, Log: a.log,
		})
		in.mux.Handle("/webhooks/messenger", in.webhook)
	case mc.AppSecret != "" || mc.VerifyToken != "" || mc.PageToken != "":
		return nil, fmt.Errorf("%w: the Messenger webhook needs both messenger.app_secret (HERALD_MESSENGER_APP_SECRET) and messenger.verify_token (HERALD_MESSENGER_VERIFY_TOKEN)", errConfig)
	}
	return in, nil
}

func (in *inbound) close(ctx context.Context) error {
	if in.webhook == nil {
		return nil
	}
	return in.webhook.Close(ctx)
}

// messengerEvents applies Messenger webhook events. Each is idempotent: a
// redelivered webhook changes nothing.
func (in *inbound) messengerEvents(ctx context.Context, events []messenger.Event) {
	a := in.a
	for _, ev := range events {
		err := in.messengerEvent(ctx, ev)
		switch {
		case errors.Is(err, audience.ErrNoSubscriber):
			a.log.Debug("messenger event from a person who is not a subscriber", "kind", ev.Kind, "psid", ev.PSID)
		case err != nil:
			a.log.Error("messenger event not recorded", "kind", ev.Kind, "psid", ev.PSID, "err", err)
		default:
			a.log.Debug("messenger event recorded", "kind", ev.Kind, "psid", ev.PSID)
		}
		in.handled.Add(1)
	}
}

func (in *inbound) messengerEvent(ctx context.Context, ev messenger.Event) error {
	st := in.a.store
	const ch = audience.ChannelMessenger
	interact := func() error {
		window := audience.StandardWindow
		if ev.Ad {
			window = max(window, in.a.ws.Config.Messenger.AdReferralWindow)
		}
		return st.Interact(ctx, audience.Interaction{Channel: ch, Address: ev.PSID, At: ev.At, Window: window})
	}
	switch ev.Kind {
	case messenger.EventMessage, messenger.EventPostback, messenger.EventReferral:
		return interact()
	case messenger.EventOptIn:
		status := audience.OptInActive
		if ev.Status == messenger.OptInStop {
			status = audience.OptInStopped
		}
		o := audience.OptIn{Token: ev.Token, Status: status, ExpiresAt: ev.ExpiresAt, Timezone: ev.Timezone,
			Legacy: messenger.LegacyRegion(ev.Timezone), At: ev.At}
		if ev.Token != "" && ev.Status == "" {
			// A marketing opt-in is consent: someone new becomes a
			// subscriber; an existing subscriber keeps their status.
			sub := audience.Subscriber{Channel: ch, Address: ev.PSID, Status: audience.Subscribed, Tags: []string{},
				Consent: audience.Consent{At: ev.At, Source: "messenger_optin", Ref: ev.Payload}}
			if _, err := st.Upsert(ctx, []audience.Subscriber{sub}, ev.At); err != nil {
				return err
			}
		}
		if err := st.SetOptIn(ctx, ch, ev.PSID, o); err != nil {
			return err
		}
		return interact()
	case messenger.EventDelivery:
		_, err := st.Receipt(ctx, ch, ev.PSID, campaign.Delivered, ev.Watermark, ev.MIDs)
		return err
	case messenger.EventRead:
		_, err := st.Receipt(ctx, ch, ev.PSID, campaign.Read, ev.Watermark, nil)
		return err
	}
	return nil
}
