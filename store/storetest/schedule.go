package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
)

// finish sends every pending delivery of run due at at as sent and
// releases the run in state.
func finish(t *testing.T, s Store, run campaign.Run, at time.Time, state campaign.RunState) {
	t.Helper()
	ctx := context.Background()
	must(s.AcquireRun(ctx, run.ID, "me", at, time.Minute))(t)
	var ids []int64
	for _, cl := range must(s.Pending(ctx, run.ID, 0, 1000, at))(t) {
		ids = append(ids, cl.DeliveryID)
	}
	res := must(s.Apply(ctx, campaign.Batch{RunID: run.ID, At: at, Sending: ids}))(t)
	var outs []campaign.Outcome
	for _, id := range res.Marked {
		outs = append(outs, campaign.Outcome{DeliveryID: id, Marked: true, State: campaign.Sent})
	}
	must(s.Apply(ctx, campaign.Batch{RunID: run.ID, At: at, Outcomes: outs}))(t)
	if err := s.ReleaseRun(ctx, run.ID, "me", state, "", at); err != nil {
		t.Fatal(err)
	}
}

// testSlots: a (campaign, slot) is decided once, whether it was sent or
// skipped, and LastSlot remembers the latest.
func testSlots(t *testing.T, s Store) {
	ctx := context.Background()
	must(s.Upsert(ctx, []audience.Subscriber{sub("telegram", "1")}, t0))(t)
	if last := must(s.LastSlot(ctx, "c"))(t); !last.IsZero() {
		t.Fatalf("LastSlot before any: %v", last)
	}
	slot := t0.Add(time.Hour)
	req := campaign.PlanRequest{Campaign: "c", Trigger: "cron", Channels: []string{"telegram"}, Parts: 1, Slot: slot}
	run := plan(t, s, req)
	if !run.Slot.Equal(slot) || run.Trigger != "cron" {
		t.Fatalf("planned run: %+v", run)
	}
	finish(t, s, run, slot, campaign.RunDone)
	// The same slot again, as a restart or a second instance would: refused.
	_, err := s.Plan(ctx, req)
	var rc *campaign.RunConflict
	if !errors.Is(err, campaign.ErrDuplicateSlot) || !errors.As(err, &rc) || rc.Run.ID != run.ID {
		t.Fatalf("second plan of a slot: %v", err)
	}
	if _, err := s.SkipSlot(ctx, campaign.SlotSkip{Campaign: "c", Trigger: "cron", Slot: slot, Reason: "x", Now: slot}); !errors.Is(err, campaign.ErrDuplicateSlot) {
		t.Fatalf("skip of a sent slot: %v", err)
	}
	// A slot is per campaign.
	plan(t, s, campaign.PlanRequest{Campaign: "d", Trigger: "cron", Channels: []string{"telegram"}, Parts: 1, Slot: slot})

	next := slot.Add(24 * time.Hour)
	skipped := must(s.SkipSlot(ctx, campaign.SlotSkip{Campaign: "c", Trigger: "cron", Slot: next, Reason: "missed", Now: next.Add(3 * time.Hour)}))(t)
	if skipped.State != campaign.RunSkipped || skipped.Error != "missed" || !skipped.Slot.Equal(next) || skipped.FinishedAt.IsZero() {
		t.Fatalf("skipped slot: %+v", skipped)
	}
	if _, err := s.Plan(ctx, campaign.PlanRequest{Campaign: "c", Trigger: "cron", Channels: []string{"telegram"}, Parts: 1, Slot: next, Now: next}); !errors.Is(err, campaign.ErrDuplicateSlot) {
		t.Fatalf("plan of a skipped slot: %v", err)
	}
	// A skipped slot is not an active run, and counts as the last slot.
	if _, err := s.ActiveRun(ctx, "c"); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("ActiveRun after a skip: %v", err)
	}
	if last := must(s.LastSlot(ctx, "c"))(t); !last.Equal(next) {
		t.Fatalf("LastSlot = %v, want %v", last, next)
	}
	// Manual runs carry no slot.
	manual := plan(t, s, campaign.PlanRequest{Campaign: "c", Channels: []string{"telegram"}, Parts: 1})
	if !manual.Slot.IsZero() {
		t.Fatalf("manual run has a slot: %v", manual.Slot)
	}
	if last := must(s.LastSlot(ctx, "c"))(t); !last.Equal(next) {
		t.Fatalf("LastSlot after a manual run = %v", last)
	}
}

// testHeld: deliveries planned with due times come out of Pending only once
// due, in due order, and the run waits in between.
func testHeld(t *testing.T, s Store) {
	ctx := context.Background()
	a, b, c := sub("telegram", "1"), sub("telegram", "2"), sub("telegram", "3")
	a.Timezone, b.Timezone = "Asia/Tokyo", "America/New_York" // c has none
	must(s.Upsert(ctx, []audience.Subscriber{a, b, c}, t0))(t)
	due := map[string]time.Time{"Asia/Tokyo": t0.Add(2 * time.Hour), "America/New_York": t0.Add(5 * time.Hour), "": t0.Add(-time.Minute)}
	var asked []string
	run := plan(t, s, campaign.PlanRequest{Campaign: "c", Channels: []string{"telegram"}, Parts: 1,
		DueAt: func(tz string) time.Time { asked = append(asked, tz); return due[tz] }})
	if len(asked) != 3 {
		t.Fatalf("DueAt asked for %q, want each of the 3 time zones once", asked)
	}
	addrs := func(at time.Time) []string {
		var out []string
		for _, cl := range must(s.Pending(ctx, run.ID, 0, 10, at))(t) {
			out = append(out, cl.Subscriber.Address)
		}
		return out
	}
	if got := addrs(t0); len(got) != 1 || got[0] != "3" {
		t.Fatalf("due now: %v, want only the subscriber without a time zone", got)
	}
	if got := addrs(t0.Add(2 * time.Hour)); len(got) != 2 || got[0] != "3" || got[1] != "1" {
		t.Fatalf("due at +2h: %v, want 3 then 1 (planned in due order)", got)
	}
	finish(t, s, run, t0, campaign.RunWaiting)
	if next := must(s.NextDue(ctx, run.ID))(t); !next.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("NextDue = %v", next)
	}
	// A waiting run is the campaign's active run, and can be taken again.
	if r := must(s.ActiveRun(ctx, "c"))(t); r.ID != run.ID || r.State != campaign.RunWaiting {
		t.Fatalf("ActiveRun: %+v", r)
	}
	if _, err := s.Plan(ctx, campaign.PlanRequest{Campaign: "c", Trigger: "manual", Channels: []string{"telegram"}, Parts: 1, Now: t0}); !errors.Is(err, campaign.ErrRunActive) {
		t.Fatalf("plan while one waits: %v", err)
	}
	finish(t, s, run, t0.Add(5*time.Hour), campaign.RunDone)
	if next := must(s.NextDue(ctx, run.ID))(t); !next.IsZero() {
		t.Fatalf("NextDue after all sent = %v", next)
	}
	if c := must(s.Counts(ctx, run.ID))(t); c.Sent != 3 {
		t.Fatalf("counts: %+v", c)
	}
}

// testFrequencyCap: across runs, a subscriber reached cap times within the
// period is skipped; the parts of one run count once; utility runs (no
// cap in the batch) pass; old contacts expire and can be pruned.
func testFrequencyCap(t *testing.T, s Store) {
	ctx := context.Background()
	must(s.Upsert(ctx, []audience.Subscriber{sub("telegram", "1"), sub("telegram", "2")}, t0))(t)
	limit := &campaign.FrequencyCap{Max: 2, Per: 24 * time.Hour}
	send := func(camp string, parts int, at time.Time, capped *campaign.FrequencyCap, only ...string) campaign.Counts {
		t.Helper()
		run := plan(t, s, campaign.PlanRequest{Campaign: camp, Channels: []string{"telegram"}, Parts: parts, Now: at,
			Segment: audience.Segment{}})
		must(s.AcquireRun(ctx, run.ID, "me", at, time.Minute))(t)
		var ids []int64
		for _, cl := range must(s.Pending(ctx, run.ID, 0, 100, at))(t) {
			if len(only) == 0 || cl.Subscriber.Address == only[0] {
				ids = append(ids, cl.DeliveryID)
			}
		}
		res := must(s.Apply(ctx, campaign.Batch{RunID: run.ID, At: at, Sending: ids, Cap: capped}))(t)
		var outs []campaign.Outcome
		for _, id := range res.Marked {
			outs = append(outs, campaign.Outcome{DeliveryID: id, Marked: true, State: campaign.Sent})
		}
		must(s.Apply(ctx, campaign.Batch{RunID: run.ID, At: at, Outcomes: outs}))(t)
		if err := s.ReleaseRun(ctx, run.ID, "me", campaign.RunPaused, "", at); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CancelRun(ctx, run.ID, at); err != nil { // ends it; skips what was left out
			t.Fatal(err)
		}
		return must(s.Counts(ctx, run.ID))(t)
	}
	capped := func(c campaign.Counts) int {
		for _, r := range c.Reasons {
			if r.State == campaign.Skipped && r.Reason == campaign.ReasonFrequencyCap {
				return r.Count
			}
		}
		return 0
	}
	if c := send("a", 2, t0, limit); c.Sent != 4 || capped(c) != 0 {
		t.Fatalf("first run (two parts each): %+v", c)
	}
	if c := send("b", 1, t0.Add(time.Hour), limit, "1"); c.Sent != 1 || capped(c) != 0 {
		t.Fatalf("second run, subscriber 1 only: %+v", c)
	}
	// Subscriber 1 had two runs in 24h: capped; 2 had one: sent.
	if c := send("c", 1, t0.Add(2*time.Hour), limit); c.Sent != 1 || capped(c) != 1 {
		t.Fatalf("third run: %+v", c)
	}
	// Without a cap (a utility campaign) nobody is held back.
	if c := send("u", 1, t0.Add(3*time.Hour), nil); c.Sent != 2 || capped(c) != 0 {
		t.Fatalf("utility run: %+v", c)
	}
	// A day after the first contacts, subscriber 1 has one left in the window.
	if c := send("d", 1, t0.Add(24*time.Hour+time.Minute), limit); c.Sent != 2 || capped(c) != 0 {
		t.Fatalf("a day later: %+v", c)
	}
	if n := must(s.PruneContacts(ctx, t0.Add(90*time.Minute)))(t); n != 3 {
		t.Fatalf("pruned %d contacts, want 3 (run a for both, run b for 1)", n)
	}
}

// testConsume: a watched source's existing items are recorded seen without
// a run; waiting-since survives until a run consumes the source.
func testConsume(t *testing.T, s Store) {
	ctx := context.Background()
	src := &campaign.SourceState{URL: "feed.xml"}
	if err := s.Consume(ctx, "w", []string{"k1", "k2"}, src, t0); err != nil {
		t.Fatal(err)
	}
	if u := must(s.Unseen(ctx, "w", []string{"k1", "k2", "k3"}))(t); len(u) != 1 || !u["k3"] {
		t.Fatalf("unseen after consume: %v", u)
	}
	if st := must(s.SourceState(ctx, "w", "feed.xml"))(t); !st.Initialized || !st.WaitingSince.IsZero() {
		t.Fatalf("source state: %+v", st)
	}
	since := t0.Add(time.Hour)
	if err := s.SetWaitingSince(ctx, "w", "feed.xml", since); err != nil {
		t.Fatal(err)
	}
	if st := must(s.SourceState(ctx, "w", "feed.xml"))(t); !st.WaitingSince.Equal(since) {
		t.Fatalf("waiting since: %+v", st)
	}
	// A run or a consume of the state as read at an older generation (a
	// second process read it before the first consumed it) writes
	// nothing: no run, no seen keys.
	stale := *src
	if _, err := s.Plan(ctx, campaign.PlanRequest{Campaign: "w", Seen: []string{"k3"}, Source: &stale, Parts: 1, Now: since}); !errors.Is(err, campaign.ErrSourceChanged) {
		t.Fatalf("a plan with a stale source state: %v, want ErrSourceChanged", err)
	}
	if err := s.Consume(ctx, "w", []string{"k3"}, &stale, since); !errors.Is(err, campaign.ErrSourceChanged) {
		t.Fatalf("a consume with a stale source state: %v, want ErrSourceChanged", err)
	}
	if u := must(s.Unseen(ctx, "w", []string{"k3"}))(t); !u["k3"] {
		t.Fatal("a stale plan or consume marked k3 seen")
	}
	if runs := must(s.Runs(ctx, campaign.RunFilter{Campaign: "w"}))(t); len(runs) != 0 {
		t.Fatalf("a stale plan created runs: %+v", runs)
	}
	st := must(s.SourceState(ctx, "w", "feed.xml"))(t)
	src.Generation = st.Generation
	plan(t, s, campaign.PlanRequest{Campaign: "w", Seen: []string{"k3"}, Source: src, Now: since.Add(time.Hour)})
	if st := must(s.SourceState(ctx, "w", "feed.xml"))(t); !st.WaitingSince.IsZero() || st.Generation != src.Generation+1 {
		t.Fatalf("a run did not clear waiting since, or move the generation on: %+v", st)
	}
}
