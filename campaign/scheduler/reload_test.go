package scheduler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/campaign/scheduler"
)

// TestReload changes the campaigns of a running scheduler: an edited
// campaign sends its new text, a new one is scheduled, a removed one stops,
// one whose cron changed fires at its new times, a slot of its new cron
// already past at the reload is missed (catchup: skip), and no slot fires
// twice.
func TestReload(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	b := setup(t, start)
	spec := func(name, cron, text string) *campaign.Spec {
		return parse(t, name, fmt.Sprintf("channels: [telegram]\nmode: static\ntrigger: {cron: %q}\nmessage: {text: %q}\n", cron, text))
	}
	s := b.scheduler(t, spec("hourly", "0 * * * *", "old hourly"), spec("gone", "30 * * * *", "gone"),
		spec("daily", "0 12 * * *", "daily"), spec("moved", "15 * * * *", "moved"))
	fired, skipped := map[string][]time.Time{}, map[string][]time.Time{}
	step := func(at string) {
		t.Helper()
		now, err := time.Parse("15:04", at)
		if err != nil {
			t.Fatal(err)
		}
		b.clock.Set(start.Add(now.Sub(time.Date(0, 1, 1, 8, 0, 0, 0, time.UTC))))
		ds := s.Step(context.Background())
		for _, d := range only(ds, scheduler.Fired) {
			fired[d.Campaign] = append(fired[d.Campaign], d.Slot)
		}
		for _, d := range only(ds, scheduler.Skipped) {
			skipped[d.Campaign] = append(skipped[d.Campaign], d.Slot)
		}
	}
	step("08:00")
	step("08:15")
	step("08:30")
	if len(fired["gone"]) != 1 || len(fired["moved"]) != 1 {
		t.Fatalf("before the reload: %v", fired)
	}
	s.Reload([]*campaign.Spec{spec("hourly", "0 * * * *", "new hourly"), spec("added", "15 * * * *", "added"),
		spec("daily", "0 10 * * *", "daily"),
		parse(t, "moved", "channels: [telegram]\nmode: static\ntrigger: {cron: \"20 * * * *\", catchup: skip}\nmessage: {text: moved}\n")})
	for _, at := range []string{"08:40", "09:00", "09:15", "09:20", "09:30", "10:00", "10:00", "10:15"} {
		step(at)
	}
	want := map[string]int{"gone": 1, "hourly": 2, "added": 2, "daily": 1, "moved": 2}
	for name, n := range want {
		if len(fired[name]) != n || len(b.runs(t, name)) != n+len(skipped[name]) {
			t.Errorf("%s fired %v (%d runs), want %d", name, fired[name], len(b.runs(t, name)), n)
		}
	}
	if got := fired["daily"]; len(got) == 1 && got[0] != start.Add(2*time.Hour) {
		t.Errorf("daily, retimed to 10:00, fired for %s", got[0])
	}
	at := func(hm string) time.Time {
		h, _ := time.Parse("15:04", hm)
		return start.Add(h.Sub(time.Date(0, 1, 1, 8, 0, 0, 0, time.UTC)))
	}
	if got := fired["moved"]; len(got) != 2 || got[1] != at("09:20") || len(skipped["moved"]) != 1 || skipped["moved"][0] != at("08:20") {
		t.Errorf("moved fired %v, skipped %v; want 08:15 and 09:20, 08:20 missed", got, skipped["moved"])
	}
	texts := map[string]int{}
	for _, m := range b.sb.Messages() {
		texts[strings.TrimSpace(m.Plain)]++
	}
	// Two subscribers: gone once; hourly at 09:00 and 10:00 with its new text.
	if texts["old hourly"] != 0 || texts["new hourly"] != 4 || texts["gone"] != 2 || texts["added"] != 4 || texts["daily"] != 2 || texts["moved"] != 4 {
		t.Errorf("messages sent: %v", texts)
	}
}

// A campaign removed by a reload while its run is being sent, and put back
// before the send ends, is not sent a second time by the scheduler.
func TestReloadWhileSending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	b := setup(t, start)
	news := parse(t, "news", static("trigger: {cron: \"0 9 * * *\"}\n"))
	var held []func() // dispatches, held until the test runs them
	s := &scheduler.Scheduler{Engine: b.engine, Campaigns: []*campaign.Spec{news}, Now: b.clock.Now,
		Go: func(f func()) { held = append(held, f) }}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	b.clock.Set(start.Add(time.Hour))
	if ds := only(s.Step(ctx), scheduler.Fired); len(ds) != 1 || len(held) != 1 {
		t.Fatalf("09:00: fired %+v, %d dispatches", ds, len(held))
	}
	s.Reload(nil)
	s.Step(ctx)
	s.Reload([]*campaign.Spec{news})
	for _, after := range []time.Duration{61 * time.Minute, 63 * time.Minute} { // past checkEvery
		b.clock.Set(start.Add(after))
		if ds := s.Step(ctx); len(only(ds, scheduler.Resumed)) != 0 || len(held) != 1 {
			t.Fatalf("while the send goes on: %+v, %d dispatches", ds, len(held))
		}
	}
	held[0]()
	if ds := s.Step(ctx); len(only(ds, scheduler.Resumed)) != 0 || len(held) != 1 {
		t.Fatalf("after the send: %+v, %d dispatches", ds, len(held))
	}
	if runs := b.runs(t, "news"); len(runs) != 1 || runs[0].State != campaign.RunDone {
		t.Fatalf("runs: %+v", runs)
	}
	chats := b.perChat()
	if len(chats) != 2 || chats["1001"] != 1 || chats["1002"] != 1 {
		t.Fatalf("messages per chat: %v", chats)
	}
}
