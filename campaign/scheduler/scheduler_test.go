package scheduler_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/campaign/scheduler"
	"github.com/heraldcli/herald/channels/sandbox"
	"github.com/heraldcli/herald/channels/telegram"
	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/store/sqlite"
)

// clock is the injected time: tests move it, nothing sleeps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// bundle is a real SQLite file, the sandbox over real HTTP and an engine
// sending to it, all on one injected clock.
type bundle struct {
	clock  *clock
	sb     *sandbox.Server
	store  *sqlite.Store
	engine *campaign.Engine
	dir    string
}

type sub struct {
	chat, tz string
	tags     []string
}

func setup(t *testing.T, start time.Time, subs ...sub) *bundle {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: start}
	sb := sandbox.New(sandbox.Options{Now: c.Now})
	url, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tg, err := telegram.New(telegram.Config{Token: "4242:sandbox", APIURL: url, Rate: 1000, PaidBroadcast: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) == 0 {
		subs = []sub{{chat: "1001"}, {chat: "1002"}}
	}
	var list []audience.Subscriber
	for _, s := range subs {
		list = append(list, audience.Subscriber{Channel: "telegram", Address: s.chat, Name: "N" + s.chat, Timezone: s.tz,
			Tags: s.tags, Status: audience.Subscribed, Consent: audience.Consent{At: start.Add(-24 * time.Hour), Source: "import"}})
	}
	if _, err := st.Upsert(ctx, list, start.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	b := &bundle{clock: c, sb: sb, store: st, dir: dir}
	b.engine = &campaign.Engine{
		Store:    st,
		Channels: map[string]campaign.Channel{"telegram": tg},
		Now:      c.Now,
		Location: time.UTC,
		Send:     campaign.SendOptions{Backoff: time.Millisecond},
	}
	return b
}

func parse(t *testing.T, name, yaml string) *campaign.Spec {
	t.Helper()
	s, err := campaign.ParseSpec(name+".yaml", name, []byte(yaml), []string{"telegram"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// scheduler returns a scheduler over the bundle's engine that sends each
// run inline (Step returns when it is sent), started at the clock's time.
func (b *bundle) scheduler(t *testing.T, specs ...*campaign.Spec) *scheduler.Scheduler {
	t.Helper()
	s := &scheduler.Scheduler{Engine: b.engine, Campaigns: specs, Now: b.clock.Now, Go: func(f func()) { f() }}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// runs lists the campaign's runs, oldest first.
func (b *bundle) runs(t *testing.T, name string) []campaign.Run {
	t.Helper()
	rs, err := b.store.Runs(context.Background(), campaign.RunFilter{Campaign: name})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return rs
}

func (b *bundle) perChat() map[string]int {
	out := map[string]int{}
	for _, m := range b.sb.Messages() {
		out[m.Chat]++
	}
	return out
}

func only(ds []scheduler.Decision, action string) []scheduler.Decision {
	var out []scheduler.Decision
	for _, d := range ds {
		if d.Action == action {
			out = append(out, d)
		}
	}
	return out
}

func static(trigger string) string {
	return "channels: [telegram]\nmode: static\n" + trigger + "message:\n  text: \"Hello {{ .Subscriber.Name }}\"\n"
}

// TestDSTWeek steps a daily schedule every ten minutes through a week
// across each DST transition of four zones, with a second scheduler on the
// same database stepping at the same times and a restart in the middle:
// every day fires exactly once, none is skipped, and the day DST moves the
// slot it fires at the first valid time (a gap) or the first occurrence (a
// repeated hour).
func TestDSTWeek(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, zone, cron string
		from             string    // the week starts at this local midnight
		moved            time.Time // the expected instant of the transition day's slot
	}{
		{"NewYork/spring", "America/New_York", "30 2 * * *", "2026-03-05", time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},
		{"NewYork/fall", "America/New_York", "30 1 * * *", "2026-10-29", time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)},
		{"London/spring", "Europe/London", "30 1 * * *", "2026-03-26", time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		{"London/fall", "Europe/London", "30 1 * * *", "2026-10-22", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)},
		{"LordHowe/spring", "Australia/Lord_Howe", "15 2 * * *", "2026-10-01", time.Date(2026, 10, 3, 15, 30, 0, 0, time.UTC)},
		{"LordHowe/fall", "Australia/Lord_Howe", "45 1 * * *", "2026-04-02", time.Date(2026, 4, 4, 14, 45, 0, 0, time.UTC)},
		// Brazil has had no DST since 2019: its last transitions.
		{"SaoPaulo/spring", "America/Sao_Paulo", "30 0 * * *", "2018-11-01", time.Date(2018, 11, 4, 3, 0, 0, 0, time.UTC)},
		{"SaoPaulo/fall", "America/Sao_Paulo", "30 23 * * *", "2018-02-14", time.Date(2018, 2, 18, 1, 30, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			day, err := time.ParseInLocation("2006-01-02", tc.from, loc)
			if err != nil {
				t.Fatal(err)
			}
			b := setup(t, day)
			spec := parse(t, "daily", static(fmt.Sprintf("trigger: {cron: %q, timezone: %s}\n", tc.cron, tc.zone)))
			a, other := b.scheduler(t, spec), b.scheduler(t, spec)
			var fired []scheduler.Decision
			end := day.AddDate(0, 0, 7)
			for now := day; now.Before(end); now = now.Add(10 * time.Minute) {
				b.clock.Set(now)
				fired = append(fired, only(a.Step(context.Background()), scheduler.Fired)...)
				fired = append(fired, only(other.Step(context.Background()), scheduler.Fired)...)
				if now.Equal(day.AddDate(0, 0, 3)) {
					a = b.scheduler(t, spec) // a restart halfway
				}
			}
			if len(fired) != 7 {
				t.Fatalf("fired %d times in 7 days: %+v", len(fired), fired)
			}
			days := map[string]bool{}
			sawMoved := false
			for i, d := range fired {
				local := d.Slot.In(loc)
				days[local.Format("2006-01-02")] = true
				if i > 0 && !d.Slot.After(fired[i-1].Slot) {
					t.Errorf("slot %d (%s) is not after the previous one", i, d.Slot)
				}
				if d.Slot.Equal(tc.moved) {
					sawMoved = true
					if d.Reason == "" {
						t.Errorf("the slot DST moved fired without a note")
					}
				}
			}
			if !sawMoved {
				t.Errorf("no slot at %s (%s); fired: %+v", tc.moved, tc.moved.In(loc), fired)
			}
			// The gap day's slot fires on the day before the next local
			// midnight; a calendar day may only lack a slot if DST moved
			// its slot onto it from the day before.
			if len(days) < 6 {
				t.Errorf("slots fell on %d distinct days: %v", len(days), days)
			}
			runs := b.runs(t, "daily")
			if len(runs) != 7 {
				t.Fatalf("%d runs recorded, want 7", len(runs))
			}
			for _, r := range runs {
				if r.State != campaign.RunDone || r.Slot.IsZero() {
					t.Errorf("run %d: %s, slot %v", r.ID, r.State, r.Slot)
				}
			}
			for chat, n := range b.perChat() {
				if n != 7 {
					t.Errorf("chat %s got %d messages, want 7", chat, n)
				}
			}
		})
	}
}

// TestCatchup: herald is down for three daily slots and starts again late.
func TestCatchup(t *testing.T) {
	t.Parallel()
	day1 := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	back := day1.AddDate(0, 0, 3).Add(90 * time.Minute) // day 4, 10:30
	cases := []struct {
		name    string
		trigger string
		// want is the state of the slots of days 2, 3 and 4.
		want       [3]campaign.RunState
		wantReason [3]string
	}{
		{"latest within max_delay", `{cron: "0 9 * * *", catchup: latest, max_delay: 2h}`,
			[3]campaign.RunState{campaign.RunSkipped, campaign.RunSkipped, campaign.RunDone}, [3]string{"only the latest", "only the latest", ""}},
		{"latest beyond max_delay", `{cron: "0 9 * * *", catchup: latest, max_delay: 1h}`,
			[3]campaign.RunState{campaign.RunSkipped, campaign.RunSkipped, campaign.RunSkipped}, [3]string{"only the latest", "only the latest", "more than max_delay 1h0m0s"}},
		{"skip", `{cron: "0 9 * * *", catchup: skip, max_delay: 12h}`,
			[3]campaign.RunState{campaign.RunSkipped, campaign.RunSkipped, campaign.RunSkipped}, [3]string{"catchup: skip", "catchup: skip", "catchup: skip"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, day1.Add(-time.Hour))
			spec := parse(t, "daily", static("trigger: "+tc.trigger+"\n"))
			s := b.scheduler(t, spec)
			b.clock.Set(day1)
			if got := only(s.Step(context.Background()), scheduler.Fired); len(got) != 1 {
				t.Fatalf("day 1: fired %v", got)
			}
			// Down until day 4, 10:30.
			b.clock.Set(back)
			s = b.scheduler(t, spec)
			s.Step(context.Background())
			runs := b.runs(t, "daily")
			if len(runs) != 4 {
				t.Fatalf("%d runs, want 4 (day 1 and three slots decided): %+v", len(runs), runs)
			}
			for i, r := range runs[1:] {
				wantSlot := day1.AddDate(0, 0, i+1)
				if !r.Slot.Equal(wantSlot) || r.State != tc.want[i] || !strings.Contains(r.Error, tc.wantReason[i]) {
					t.Errorf("day %d: slot %s state %s reason %q; want %s %s %q", i+2, r.Slot, r.State, r.Error, wantSlot, tc.want[i], tc.wantReason[i])
				}
			}
			// Nothing is decided twice: stepping on, and restarting, adds
			// only day 5.
			b.clock.Set(day1.AddDate(0, 0, 4))
			s = b.scheduler(t, spec)
			s.Step(context.Background())
			if runs := b.runs(t, "daily"); len(runs) != 5 || runs[4].State != campaign.RunDone {
				t.Fatalf("after day 5: %d runs, last %+v", len(runs), runs[len(runs)-1])
			}
		})
	}
}

// TestNoOverlap: a slot that comes while the previous run still sends is
// recorded skipped with that reason; the one after it fires.
func TestNoOverlap(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 6, 1, 8, 59, 0, 0, time.UTC)
	b := setup(t, start)
	spec := parse(t, "hourly", static("trigger: {cron: \"0 * * * *\"}\n"))
	var held []func()
	s := &scheduler.Scheduler{Engine: b.engine, Campaigns: []*campaign.Spec{spec}, Now: b.clock.Now,
		Go: func(f func()) { held = append(held, f) }}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.clock.Set(start.Add(time.Minute))
	first := only(s.Step(context.Background()), scheduler.Fired)
	if len(first) != 1 || len(held) != 1 {
		t.Fatalf("9:00: fired %v, %d dispatches", first, len(held))
	}
	b.clock.Set(start.Add(61 * time.Minute))
	ds := s.Step(context.Background())
	skipped := only(ds, scheduler.Skipped)
	if len(skipped) != 1 || !strings.Contains(skipped[0].Reason, fmt.Sprintf("run %d of the campaign is still sending", first[0].RunID)) {
		t.Fatalf("10:00 while 9:00 sends: %+v", ds)
	}
	if len(held) != 1 {
		t.Fatalf("a second dispatch started: %d", len(held))
	}
	held[0]()
	b.clock.Set(start.Add(121 * time.Minute))
	if got := only(s.Step(context.Background()), scheduler.Fired); len(got) != 1 || len(held) != 2 {
		t.Fatalf("11:00 after 9:00 finished: fired %v", got)
	}
	held[1]()
	runs := b.runs(t, "hourly")
	if len(runs) != 3 || runs[0].State != campaign.RunDone || runs[1].State != campaign.RunSkipped || runs[2].State != campaign.RunDone {
		t.Fatalf("runs: %+v", runs)
	}
	for chat, n := range b.perChat() {
		if n != 2 {
			t.Errorf("chat %s got %d messages, want 2", chat, n)
		}
	}
}

// panicky is a channel that panics on every call.
type panicky struct{ campaign.Channel }

func (panicky) Do(context.Context, campaign.Call) ([]string, error) { panic("adapter bug") }

type panicSource struct{}

func (panicSource) Fetch(context.Context, sources.Validators) (sources.Result, error) {
	panic("parser bug")
}

// TestPanicIsRecovered: a panic while preparing one campaign and one while
// sending another are recovered, recorded on the slot and the run, and the
// scheduler and the other campaigns go on.
func TestPanicIsRecovered(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 6, 1, 8, 59, 0, 0, time.UTC)
	b := setup(t, start)
	b.engine.OpenSource = func(*campaign.SourceSpec) (campaign.Source, error) { return panicSource{}, nil }
	sourced := parse(t, "sourced", "channels: [telegram]\nsource: {url: feed.xml}\ntrigger: {cron: \"0 9 * * *\"}\nmessage:\n  text: \"{{ .Item.Title }}\"\n")
	fine := parse(t, "fine", static("trigger: {cron: \"0 9 * * *\"}\n"))
	s := b.scheduler(t, sourced, fine)
	b.clock.Set(start.Add(time.Minute))
	ds := s.Step(context.Background())
	if sk := only(ds, scheduler.Skipped); len(sk) != 1 || sk[0].Campaign != "sourced" || !strings.Contains(sk[0].Reason, "herald crashed: parser bug") {
		t.Fatalf("decisions: %+v", ds)
	}
	if f := only(ds, scheduler.Fired); len(f) != 1 || f[0].Campaign != "fine" {
		t.Fatalf("the other campaign did not fire: %+v", ds)
	}
	if runs := b.runs(t, "sourced"); len(runs) != 1 || runs[0].State != campaign.RunSkipped || !strings.Contains(runs[0].Error, "parser bug") {
		t.Fatalf("the crash is not recorded on the slot: %+v", runs)
	}

	// A panic in the middle of sending aborts that run only.
	tg := b.engine.Channels["telegram"]
	b.engine.Channels["telegram"] = panicky{tg}
	b.clock.Set(start.Add(24*time.Hour + time.Minute))
	s.Step(context.Background())
	runs := b.runs(t, "fine")
	last := runs[len(runs)-1]
	if last.State != campaign.RunAborted || !strings.Contains(last.Error, "adapter bug") {
		t.Fatalf("run after the panic: %+v", last)
	}
	// Fixed; the aborted run is left for a person to resume or cancel, and
	// the next slot says why it cannot run.
	b.engine.Channels["telegram"] = tg
	b.clock.Set(start.Add(48*time.Hour + time.Minute))
	ds = s.Step(context.Background())
	sk := only(ds, scheduler.Skipped)
	if len(sk) != 2 || sk[0].Campaign != "fine" || !strings.Contains(sk[0].Reason, fmt.Sprintf("run %d of the campaign is still aborted", last.ID)) {
		t.Fatalf("day 3: %+v", ds)
	}
}
