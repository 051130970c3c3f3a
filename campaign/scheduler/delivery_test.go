package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/campaign/scheduler"
)

// arrivals is when each chat got its messages, per the sandbox's clock.
func (b *bundle) arrivals() map[string][]time.Time {
	out := map[string][]time.Time{}
	for _, m := range b.sb.Messages() {
		out[m.Chat] = append(out[m.Chat], m.Time.UTC())
	}
	return out
}

// stepEvery steps s from the clock's time to end (exclusive).
func (b *bundle) stepEvery(s *scheduler.Scheduler, every time.Duration, end time.Time) []scheduler.Decision {
	var out []scheduler.Decision
	for now := b.clock.Now(); now.Before(end); now = now.Add(every) {
		b.clock.Set(now)
		out = append(out, s.Step(context.Background())...)
	}
	return out
}

// TestLocalTime: one run reaches each subscriber at 09:00 in their own time
// zone; a subscriber without one gets the campaign's.
func TestLocalTime(t *testing.T) {
	t.Parallel()
	fire := time.Date(2026, 5, 31, 22, 0, 0, 0, time.UTC) // 00:00 in Rome
	b := setup(t, fire.Add(-time.Minute),
		sub{chat: "81", tz: "Asia/Tokyo"}, sub{chat: "1", tz: "America/New_York"}, sub{chat: "39"}, sub{chat: "61", tz: "Australia/Lord_Howe"})
	spec := parse(t, "morning", static("trigger: {cron: \"0 0 * * *\", timezone: Europe/Rome}\nlocal_time: \"09:00\"\n"))
	s := b.scheduler(t, spec)
	b.clock.Set(fire)
	fired := only(s.Step(context.Background()), scheduler.Fired)
	if len(fired) != 1 {
		t.Fatal("the slot did not fire")
	}
	run := b.runs(t, "morning")[0]
	if run.State != campaign.RunWaiting {
		t.Fatalf("run after the first dispatch: %s (%s)", run.State, run.Error)
	}
	resumed := only(b.stepEvery(s, 10*time.Minute, fire.Add(17*time.Hour)), scheduler.Resumed)
	want := map[string]time.Time{
		"81": time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),    // 09:00 JST
		"39": time.Date(2026, 6, 1, 7, 0, 0, 0, time.UTC),    // 09:00 CEST (the campaign's zone)
		"1":  time.Date(2026, 6, 1, 13, 0, 0, 0, time.UTC),   // 09:00 EDT
		"61": time.Date(2026, 5, 31, 22, 30, 0, 0, time.UTC), // 09:00 +10:30, Lord Howe's standard time
	}
	got := b.arrivals()
	for chat, at := range want {
		if len(got[chat]) != 1 || !got[chat][0].Equal(at) {
			t.Errorf("chat %s got messages at %v, want once at %s", chat, got[chat], at)
		}
	}
	if len(resumed) != 4 {
		t.Errorf("resumed %d times, want once per time zone: %+v", len(resumed), resumed)
	}
	if r := b.runs(t, "morning")[0]; r.State != campaign.RunDone {
		t.Errorf("run at the end: %s", r.State)
	}
}

// TestQuietHours: deliveries that would arrive inside the subscriber's
// quiet hours are held until they end; the others go at once.
func TestQuietHours(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 14, 0, 0, 0, time.UTC) // 23:00 in Tokyo, 15:00 in London, 10:00 in New York
	b := setup(t, now.Add(-time.Minute),
		sub{chat: "81", tz: "Asia/Tokyo"}, sub{chat: "44", tz: "Europe/London"}, sub{chat: "1", tz: "America/New_York"})
	spec := parse(t, "promo", static("trigger: {at: \"2026-06-01T14:00:00Z\"}\nquiet_hours: \"21:00-08:00\"\n"))
	s := b.scheduler(t, spec)
	b.clock.Set(now)
	if fired := only(s.Step(context.Background()), scheduler.Fired); len(fired) != 1 {
		t.Fatal("the at trigger did not fire")
	}
	b.stepEvery(s, 30*time.Minute, now.Add(24*time.Hour))
	got := b.arrivals()
	want := map[string]time.Time{
		"44": now,
		"1":  now,
		"81": time.Date(2026, 6, 1, 23, 0, 0, 0, time.UTC), // 08:00 in Tokyo
	}
	for chat, at := range want {
		if len(got[chat]) != 1 || !got[chat][0].Equal(at) {
			t.Errorf("chat %s got messages at %v, want once at %s", chat, got[chat], at)
		}
	}
}

// TestFrequencyCap: a cap of one promotional message a day across two
// campaigns; a utility campaign is not capped.
func TestFrequencyCap(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 6, 1, 8, 30, 0, 0, time.UTC)
	b := setup(t, start, sub{chat: "1001", tags: []string{"news"}}, sub{chat: "1002"})
	b.engine.FrequencyCap = &campaign.FrequencyCap{Max: 1, Per: 24 * time.Hour}
	news := parse(t, "news", static("trigger: {cron: \"0 9 * * *\"}\naudience: {tags_any: [news]}\n"))
	promo := parse(t, "promo", static("trigger: {cron: \"0 10 * * *\"}\n"))
	orders := parse(t, "orders", static("trigger: {cron: \"0 11 * * *\"}\npurpose: utility\ntag: POST_PURCHASE_UPDATE\n"))
	s := b.scheduler(t, news, promo, orders)
	b.stepEvery(s, 30*time.Minute, start.Add(25*time.Hour))

	counts := func(name string) []campaign.Counts {
		var out []campaign.Counts
		for _, r := range b.runs(t, name) {
			c, err := b.store.Counts(context.Background(), r.ID)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
		return out
	}
	capped := func(c campaign.Counts) int {
		for _, r := range c.Reasons {
			if r.State == campaign.Skipped && r.Reason == campaign.ReasonFrequencyCap {
				return r.Count
			}
		}
		return 0
	}
	// Day 1: news reaches 1001; promo then reaches only 1002; the utility
	// message reaches both. Day 2 (09:00): the cap's day has passed.
	n, p, o := counts("news"), counts("promo"), counts("orders")
	if len(n) != 2 || len(p) != 1 || len(o) != 1 {
		t.Fatalf("runs: news %d, promo %d, orders %d", len(n), len(p), len(o))
	}
	if n[0].Sent != 1 || p[0].Sent != 1 || capped(p[0]) != 1 || o[0].Sent != 2 || capped(o[0]) != 0 || n[1].Sent != 1 || capped(n[1]) != 0 {
		t.Fatalf("news %+v\npromo %+v\norders %+v", n, p, o)
	}
	msgs := b.arrivals()
	if len(msgs["1001"]) != 3 || len(msgs["1002"]) != 2 {
		t.Fatalf("messages per chat: %v", msgs)
	}
	for _, r := range b.runs(t, "promo") {
		if r.State != campaign.RunDone {
			t.Errorf("promo run %d: %s", r.ID, r.State)
		}
	}
}
