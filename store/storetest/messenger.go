package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
)

// routesAt plans a one-part run of every Messenger subscriber at now under
// policy and returns each address's route (with "skipped" for none), and
// checks that RouteCounts predicted the same.
func routesAt(t *testing.T, s Store, camp string, now time.Time, p campaign.RoutePolicy, parts int) map[string][]string {
	t.Helper()
	ctx := context.Background()
	req := campaign.PlanRequest{Campaign: camp, Channels: []string{"messenger", "telegram"}, Parts: parts, Routes: p, Now: now}
	predicted := map[string]int{}
	for _, rc := range must(s.RouteCounts(ctx, req))(t) {
		predicted[rc.Channel+"/"+rc.Route] += rc.Count
	}
	run := plan(t, s, req)
	c := must(s.Counts(ctx, run.ID))(t)
	planned := map[string]int{}
	for _, cc := range c.Channels {
		if cc.Route == campaign.RouteNone && (cc.State != campaign.Skipped || cc.Reason != campaign.ReasonOutsideWindow) {
			t.Errorf("route none planned as %s/%s, want skipped/outside_window", cc.State, cc.Reason)
		}
		if cc.Route != campaign.RouteNone && cc.State != campaign.Pending {
			t.Errorf("route %s planned as %s", cc.Route, cc.State)
		}
		if parts == 1 {
			planned[cc.Channel+"/"+cc.Route] += cc.Count
		}
	}
	if parts == 1 && !maps.Equal(predicted, planned) {
		t.Errorf("RouteCounts predicted %v, Plan planned %v", predicted, planned)
	}
	out := map[string][]string{}
	for _, cl := range must(s.Pending(ctx, run.ID, 0, 1000, farFuture))(t) {
		r := cl.Route
		if (r == campaign.RouteRecurring || r == campaign.RouteMarketing) && cl.Token == "" {
			t.Errorf("%s: route %s claimed without its token", cl.Subscriber.Address, r)
		}
		out[cl.Subscriber.Address] = append(out[cl.Subscriber.Address], fmt.Sprintf("%d:%s", cl.Seq, r))
	}
	// Finish the run so the next plan of the campaign is allowed.
	if _, err := s.CancelRun(ctx, run.ID, now); err != nil {
		t.Fatal(err)
	}
	return out
}

func testMessengerRoutes(t *testing.T, s Store) {
	ctx := context.Background()
	var subs []audience.Subscriber
	for _, a := range []string{"in", "edge-in", "edge-out", "never", "legacy", "legacy-stopped", "legacy-expired", "global"} {
		subs = append(subs, sub("messenger", a))
	}
	subs = append(subs, sub("telegram", "42"))
	must(s.Upsert(ctx, subs, t0))(t)
	now := t0.Add(10 * 24 * time.Hour)
	interact := func(addr string, at time.Time, window time.Duration) {
		t.Helper()
		if err := s.Interact(ctx, audience.Interaction{Channel: "messenger", Address: addr, At: at, Window: window}); err != nil {
			t.Fatal(err)
		}
	}
	interact("in", now.Add(-time.Hour), audience.StandardWindow)
	interact("edge-in", now.Add(-(23*time.Hour + 59*time.Minute)), audience.StandardWindow)
	interact("edge-out", now.Add(-(24*time.Hour + time.Minute)), audience.StandardWindow)
	optin := func(addr string, o audience.OptIn) {
		t.Helper()
		if err := s.SetOptIn(ctx, "messenger", addr, o); err != nil {
			t.Fatal(err)
		}
	}
	optin("legacy", audience.OptIn{Token: "tok-legacy", Status: audience.OptInActive, Legacy: true, At: t0})
	optin("legacy-stopped", audience.OptIn{Token: "tok-stopped", Status: audience.OptInActive, Legacy: true, At: t0})
	optin("legacy-stopped", audience.OptIn{Status: audience.OptInStopped, At: t0.Add(time.Hour)})
	optin("legacy-expired", audience.OptIn{Token: "tok-expired", Status: audience.OptInActive, Legacy: true, At: t0, ExpiresAt: now.Add(-time.Second)})
	optin("global", audience.OptIn{Token: "tok-global", Status: audience.OptInActive, At: t0, ExpiresAt: now.Add(30 * 24 * time.Hour)})
	if err := s.SetOptIn(ctx, "messenger", "nobody", audience.OptIn{Token: "x", Status: audience.OptInActive, At: t0}); !errors.Is(err, audience.ErrNoSubscriber) {
		t.Fatalf("SetOptIn of nobody: %v", err)
	}
	if err := s.Interact(ctx, audience.Interaction{Channel: "messenger", Address: "nobody", At: t0}); !errors.Is(err, audience.ErrNoSubscriber) {
		t.Fatalf("Interact of nobody: %v", err)
	}

	want := func(got map[string][]string, exp map[string]string) {
		t.Helper()
		for addr, route := range exp {
			if g := got[addr]; len(g) != 1 || g[0] != "0:"+route {
				t.Errorf("%s: routed %v, want %s", addr, g, route)
			}
		}
		for addr := range got {
			if _, ok := exp[addr]; !ok {
				t.Errorf("%s: routed %v, want skipped outside_window", addr, got[addr])
			}
		}
	}
	// Promotional, no marketing API: the window, then legacy recurring.
	got := routesAt(t, s, "promo", now, campaign.RoutePolicy{}, 1)
	want(got, map[string]string{"in": "standard", "edge-in": "standard", "legacy": "recurring", "42": "bot"})
	// The recurring notification used up legacy's 48 hours: a second
	// campaign an hour later cannot take it, one 48 hours later can.
	got = routesAt(t, s, "promo2", now.Add(time.Hour), campaign.RoutePolicy{}, 1)
	want(got, map[string]string{"in": "standard", "42": "bot"}) // edge-in's window closed at now+1m
	got = routesAt(t, s, "promo3", now.Add(campaign.RecurringInterval), campaign.RoutePolicy{}, 1)
	want(got, map[string]string{"legacy": "recurring", "42": "bot"})
	// With the Marketing Messages API: the non-legacy token goes that way.
	later := now.Add(2 * campaign.RecurringInterval)
	got = routesAt(t, s, "promo4", later, campaign.RoutePolicy{Marketing: true}, 1)
	want(got, map[string]string{"legacy": "recurring", "global": "marketing", "42": "bot"})
	// Utility: everyone outside the window gets the tag, never a token route.
	got = routesAt(t, s, "utility", now, campaign.RoutePolicy{Tag: "ACCOUNT_UPDATE"}, 1)
	want(got, map[string]string{"in": "standard", "edge-in": "standard", "edge-out": "tag", "never": "tag",
		"legacy": "tag", "legacy-stopped": "tag", "legacy-expired": "tag", "global": "tag", "42": "bot"})
	// Mode each: a recurring notification carries one part; the rest wait
	// for the window (skipped), the window's subscribers get every part.
	got = routesAt(t, s, "each", later.Add(campaign.RecurringInterval), campaign.RoutePolicy{}, 2)
	if g := got["legacy"]; len(g) != 1 || g[0] != "0:recurring" {
		t.Errorf("legacy in mode each: %v, want only part 0 by recurring", g)
	}

	// Interactions only move forward: a replayed old event changes nothing.
	interact("in", now.Add(-48*time.Hour), audience.StandardWindow)
	var in audience.Subscriber
	for _, x := range list(t, s, audience.Filter{Channels: []string{"messenger"}}) {
		if x.Address == "in" {
			in = x
		}
	}
	if !in.LastInboundAt.Equal(now.Add(-time.Hour)) || !in.WindowUntil.Equal(now.Add(23*time.Hour)) {
		t.Fatalf("after a replayed old interaction: last %v, window until %v", in.LastInboundAt, in.WindowUntil)
	}
	// An ad click opens seven days.
	interact("never", now.Add(-5*24*time.Hour), audience.AdReferralWindow)
	got = routesAt(t, s, "ad", now, campaign.RoutePolicy{}, 1)
	if g := got["never"]; len(g) != 1 || g[0] != "0:standard" {
		t.Errorf("ad referral 5 days ago: %v, want standard", g)
	}
	// An older opt-in event never overwrites a newer one.
	optin("global", audience.OptIn{Status: audience.OptInStopped, At: t0.Add(-time.Hour)})
	got = routesAt(t, s, "promo5", later.Add(time.Minute), campaign.RoutePolicy{Marketing: true}, 1)
	if g := got["global"]; len(g) != 1 || g[0] != "0:marketing" {
		t.Errorf("a stale STOP switched the token off: %v", g)
	}
}

func testWindowAndReceipts(t *testing.T, s Store) {
	ctx := context.Background()
	must(s.Upsert(ctx, []audience.Subscriber{sub("messenger", "p1"), sub("messenger", "p2")}, t0))(t)
	for _, a := range []string{"p1", "p2"} {
		if err := s.Interact(ctx, audience.Interaction{Channel: "messenger", Address: a, At: t0, Window: audience.StandardWindow}); err != nil {
			t.Fatal(err)
		}
	}
	run := plan(t, s, campaign.PlanRequest{Campaign: "r", Channels: []string{"messenger"}, Parts: 3, Now: t0.Add(time.Minute)})
	must(s.AcquireRun(ctx, run.ID, "A", t0, time.Minute))(t)
	claims := must(s.Pending(ctx, run.ID, 0, 10, farFuture))(t)
	if len(claims) != 6 {
		t.Fatalf("%d claims", len(claims))
	}
	var ids []int64
	for _, c := range claims {
		ids = append(ids, c.DeliveryID)
		if c.Subscriber.WindowUntil.IsZero() {
			t.Fatalf("claim without the window: %+v", c.Subscriber)
		}
	}
	must(s.Apply(ctx, campaign.Batch{RunID: run.ID, At: t0, Sending: ids}))(t)
	var p1, p2 []int64
	for _, c := range claims {
		if c.Subscriber.Address == "p1" {
			p1 = append(p1, c.DeliveryID)
		} else {
			p2 = append(p2, c.DeliveryID)
		}
	}
	sent := func(id int64, mid string, at time.Time) {
		must(s.Apply(ctx, campaign.Batch{RunID: run.ID, At: at, Outcomes: []campaign.Outcome{
			{DeliveryID: id, Marked: true, State: campaign.Sent, MessageIDs: []string{mid}}}}))(t)
	}
	t1 := t0.Add(2 * time.Minute)
	sent(p1[0], "m_a", t1)
	sent(p1[1], "m_b", t1.Add(time.Second))
	sent(p1[2], "m_c", t1.Add(2*time.Second))
	// p2's second part: Meta says the window had closed.
	sent(p2[0], "m_d", t1)
	closedAt := t1.Add(time.Second)
	must(s.Apply(ctx, campaign.Batch{RunID: run.ID, At: closedAt, Outcomes: []campaign.Outcome{
		{DeliveryID: p2[1], Marked: true, State: campaign.Skipped, Reason: campaign.ReasonOutsideWindow,
			SubscriberID: claims[0].Subscriber.ID + 1, CloseWindow: true}}}))(t)

	// The delivery watermark covers the first two of p1's messages.
	n := must(s.Receipt(ctx, "messenger", "p1", campaign.Delivered, t1.Add(time.Second), nil))(t)
	if n != 2 {
		t.Fatalf("delivery watermark moved %d, want 2", n)
	}
	// A duplicate webhook is harmless.
	if n := must(s.Receipt(ctx, "messenger", "p1", campaign.Delivered, t1.Add(time.Second), nil))(t); n != 0 {
		t.Fatalf("a duplicate delivery receipt moved %d", n)
	}
	// Read by message id; read never goes back to delivered.
	if n := must(s.Receipt(ctx, "messenger", "p1", campaign.Read, time.Time{}, []string{"m_a", "m_zz"}))(t); n != 1 {
		t.Fatalf("read by mid moved %d, want 1", n)
	}
	if n := must(s.Receipt(ctx, "messenger", "p1", campaign.Delivered, t1.Add(time.Hour), nil))(t); n != 1 {
		t.Fatalf("a later delivery watermark moved %d, want only m_c", n)
	}
	// Another subscriber's receipts and Telegram are untouched.
	if n := must(s.Receipt(ctx, "telegram", "p1", campaign.Read, t1.Add(time.Hour), nil))(t); n != 0 {
		t.Fatalf("telegram receipt moved %d", n)
	}
	c := must(s.Counts(ctx, run.ID))(t)
	states := map[campaign.DeliveryState]int{}
	for _, cc := range c.Channels {
		states[cc.State] += cc.Count
	}
	if states[campaign.Read] != 1 || states[campaign.Delivered] != 2 || states[campaign.Sent] != 1 || c.Sent != 4 {
		t.Fatalf("after receipts: %v (sent %d)", states, c.Sent)
	}
	// The closed window is recorded: the next plan skips p2.
	for _, x := range list(t, s, audience.Filter{Channels: []string{"messenger"}}) {
		if x.Address == "p2" && !x.WindowUntil.Equal(closedAt) {
			t.Fatalf("p2's window until %v, want closed at %v", x.WindowUntil, closedAt)
		}
	}
}
