// Package storetest is the conformance suite every herald store passes:
// store/sqlite and store/postgres. Call Exercise from a store's own
// tests with a function that opens a fresh, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/sources"
)

// Store is what a herald store implements.
type Store interface {
	campaign.Store
	audience.Store
	audience.LifecycleStore
}

// Opener returns a fresh, empty store for one test.
type Opener func(t testing.TB) Store

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// farFuture is a due time every planned delivery has reached.
var farFuture = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

func sub(ch, addr string, tags ...string) audience.Subscriber {
	return audience.Subscriber{Channel: ch, Address: addr, Name: "N" + addr, Locale: "en", Tags: tags,
		Status: audience.Subscribed, Consent: audience.Consent{At: t0.Add(-time.Hour), Source: "import", Ref: "a.csv"}}
}

// Exercise runs the whole suite.
func Exercise(t *testing.T, open Opener) {
	t.Run("Upsert", func(t *testing.T) { t.Parallel(); testUpsert(t, open(t)) })
	t.Run("SegmentMatchesReference", func(t *testing.T) { t.Parallel(); testSegments(t, open(t)) })
	t.Run("Plan", func(t *testing.T) { t.Parallel(); testPlan(t, open(t)) })
	t.Run("PlanConflicts", func(t *testing.T) { t.Parallel(); testPlanConflicts(t, open(t)) })
	t.Run("Lease", func(t *testing.T) { t.Parallel(); testLease(t, open(t)) })
	t.Run("Ledger", func(t *testing.T) { t.Parallel(); testLedger(t, open(t)) })
	t.Run("Cancel", func(t *testing.T) { t.Parallel(); testCancel(t, open(t)) })
	t.Run("RequeueUnknown", func(t *testing.T) { t.Parallel(); testRequeue(t, open(t)) })
	t.Run("MessengerRoutes", func(t *testing.T) { t.Parallel(); testMessengerRoutes(t, open(t)) })
	t.Run("WindowAndReceipts", func(t *testing.T) { t.Parallel(); testWindowAndReceipts(t, open(t)) })
	t.Run("Lifecycle", func(t *testing.T) { t.Parallel(); testLifecycle(t, open(t)) })
	t.Run("Manage", func(t *testing.T) { t.Parallel(); testManage(t, open(t)) })
	t.Run("Forget", func(t *testing.T) { t.Parallel(); testForget(t, open(t)) })
	t.Run("Links", func(t *testing.T) { t.Parallel(); testLinks(t, open(t)) })
	t.Run("AudienceEvents", func(t *testing.T) { t.Parallel(); testAudienceEvents(t, open(t)) })
	t.Run("StopMidRun", func(t *testing.T) { t.Parallel(); testStopMidRun(t, open(t)) })
	t.Run("Slots", func(t *testing.T) { t.Parallel(); testSlots(t, open(t)) })
	t.Run("Held", func(t *testing.T) { t.Parallel(); testHeld(t, open(t)) })
	t.Run("FrequencyCap", func(t *testing.T) { t.Parallel(); testFrequencyCap(t, open(t)) })
	t.Run("Consume", func(t *testing.T) { t.Parallel(); testConsume(t, open(t)) })
	t.Run("Products", func(t *testing.T) { t.Parallel(); testProducts(t, open(t)) })
}

// must(f())(t) fails the test when f returned an error.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func list(t *testing.T, s Store, f audience.Filter) []audience.Subscriber {
	t.Helper()
	var out []audience.Subscriber
	if err := s.Subscribers(context.Background(), f, func(x audience.Subscriber) error { out = append(out, x); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func testUpsert(t *testing.T, s Store) {
	ctx := context.Background()
	st := must(s.Upsert(ctx, []audience.Subscriber{sub("telegram", "1", "blog"), sub("telegram", "2")}, t0))(t)
	if st.Inserted != 2 || st.Updated != 0 {
		t.Fatalf("first import: %+v", st)
	}
	// Same rows again: unchanged, never duplicated.
	st = must(s.Upsert(ctx, []audience.Subscriber{sub("telegram", "1", "blog"), sub("telegram", "2")}, t0))(t)
	if st.Inserted != 0 || st.Unchanged != 2 {
		t.Fatalf("re-import: %+v", st)
	}
	if err := s.SetStatus(ctx, "telegram", "2", audience.Unsubscribed, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, "telegram", "404", audience.Unsubscribed, t0); !errors.Is(err, audience.ErrNoSubscriber) {
		t.Fatalf("SetStatus on nobody: %v", err)
	}
	// Tags merge, status is kept: an import never re-subscribes anyone.
	changed := sub("telegram", "2", "promo")
	changed.Name = "Renamed"
	st = must(s.Upsert(ctx, []audience.Subscriber{changed, sub("telegram", "1", "news")}, t0.Add(time.Minute)))(t)
	if st.Updated != 2 || st.KeptStatus != 1 {
		t.Fatalf("update: %+v", st)
	}
	all := list(t, s, audience.Filter{})
	if len(all) != 2 {
		t.Fatalf("got %d subscribers, want 2", len(all))
	}
	if !slices.Equal(all[0].Tags, []string{"blog", "news"}) || all[1].Name != "Renamed" || all[1].Status != audience.Unsubscribed {
		t.Fatalf("after update: %+v", all)
	}
	if !all[0].Consent.At.Equal(t0.Add(-time.Hour)) || all[0].Consent.Source != "import" || all[0].Consent.Ref != "a.csv" {
		t.Fatalf("consent not kept: %+v", all[0].Consent)
	}
}

// testSegments checks the store's segment queries against audience.Segment.Matches.
func testSegments(t *testing.T, s Store) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	tags := []string{"a", "b", "c", "d"}
	locales := []string{"en", "it", "de"}
	pick := func() []string {
		var out []string
		for _, tg := range tags {
			if r.IntN(3) == 0 {
				out = append(out, tg)
			}
		}
		return out
	}
	var subs []audience.Subscriber
	for i := range 300 {
		x := sub([]string{"telegram", "messenger"}[i%2], fmt.Sprint(1000+i), pick()...)
		x.Locale = locales[r.IntN(len(locales))]
		subs = append(subs, x)
	}
	must(s.Upsert(ctx, subs, t0))(t)
	for i, x := range subs {
		if i%7 == 0 {
			if err := s.SetStatus(ctx, x.Channel, x.Address, audience.Blocked, t0); err != nil {
				t.Fatal(err)
			}
		}
	}
	stored := list(t, s, audience.Filter{})
	for range 60 {
		seg := audience.Segment{TagsAny: pick(), TagsAll: pick()[:0], TagsNone: pick()}
		if r.IntN(2) == 0 {
			seg.TagsAll = pick()
		}
		if r.IntN(2) == 0 {
			seg.Locales = []string{locales[r.IntN(3)]}
		}
		f := audience.Filter{Segment: seg, Channels: []string{"telegram"}, Statuses: []audience.Status{audience.Subscribed}}
		var want []int64
		for _, x := range stored {
			if seg.Matches(x) && x.Channel == "telegram" && x.Status == audience.Subscribed {
				want = append(want, x.ID)
			}
		}
		var got []int64
		for _, x := range list(t, s, f) {
			got = append(got, x.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("segment %+v: store selected %v, reference %v", seg, got, want)
		}
		counts := must(s.SegmentCounts(ctx, []string{"telegram"}, seg))(t)
		n := 0
		for _, c := range counts {
			if c.Status == audience.Subscribed {
				n += c.Count
			}
		}
		if n != len(want) {
			t.Fatalf("SegmentCounts %+v: %d subscribed, want %d", seg, n, len(want))
		}
		first, err := s.FirstInSegment(ctx, []string{"telegram"}, seg)
		switch {
		case len(want) == 0 && !errors.Is(err, campaign.ErrNotFound):
			t.Fatalf("FirstInSegment of an empty segment: %v", err)
		case len(want) > 0 && (err != nil || first.ID != want[0]):
			t.Fatalf("FirstInSegment = %d, %v; want %d", first.ID, err, want[0])
		}
	}
}

func plan(t *testing.T, s Store, req campaign.PlanRequest) campaign.Run {
	t.Helper()
	if req.Trigger == "" {
		req.Trigger = "manual"
	}
	if req.Now.IsZero() {
		req.Now = t0
	}
	return must(s.Plan(context.Background(), req))(t)
}

func testPlan(t *testing.T, s Store) {
	ctx := context.Background()
	must(s.Upsert(ctx, []audience.Subscriber{sub("telegram", "1", "blog"), sub("telegram", "2", "blog"), sub("telegram", "3")}, t0))(t)
	if err := s.SetStatus(ctx, "telegram", "2", audience.Unsubscribed, t0); err != nil {
		t.Fatal(err)
	}
	st := must(s.SourceState(ctx, "blog", "feed.xml"))(t)
	if st.Initialized {
		t.Fatal("source state initialized before any run")
	}
	items := []sources.Item{{Key: "id:a", Title: "A <&>"}, {Key: "id:b", Title: "B"}}
	run := plan(t, s, campaign.PlanRequest{
		Campaign: "blog", Channels: []string{"telegram"}, Segment: audience.Segment{TagsAny: []string{"blog"}},
		Parts: 2, Items: items, Seen: []string{"id:a", "id:b", "id:old"},
		Source: &campaign.SourceState{URL: "feed.xml", Validators: sources.Validators{ETag: `"v1"`}},
	})
	if run.ID == 0 || run.State != campaign.RunSending || run.Campaign != "blog" || len(run.Items) != 2 || run.Items[0].Title != "A <&>" {
		t.Fatalf("planned run: %+v", run)
	}
	c := must(s.Counts(ctx, run.ID))(t)
	if c.Targeted != 2 || c.Pending != 2 { // subscriber 1, two parts; 2 unsubscribed; 3 not in segment
		t.Fatalf("counts: %+v", c)
	}
	unseen := must(s.Unseen(ctx, "blog", []string{"id:a", "id:c", "id:old"}))(t)
	if !unseen["id:c"] || unseen["id:a"] || unseen["id:old"] || len(unseen) != 1 {
		t.Fatalf("unseen: %v", unseen)
	}
	// "New" is per campaign.
	if u := must(s.Unseen(ctx, "other", []string{"id:a"}))(t); !u["id:a"] {
		t.Fatal("another campaign sees blog's items as seen")
	}
	st = must(s.SourceState(ctx, "blog", "feed.xml"))(t)
	if !st.Initialized || st.Validators.ETag != `"v1"` {
		t.Fatalf("source state: %+v", st)
	}
	claims := must(s.Pending(ctx, run.ID, 0, 10, farFuture))(t)
	if len(claims) != 2 || claims[0].Seq != 0 || claims[1].Seq != 1 || claims[0].Subscriber.Address != "1" ||
		!slices.Equal(claims[0].Subscriber.Tags, []string{"blog"}) {
		t.Fatalf("pending: %+v", claims)
	}
	got := must(s.Run(ctx, run.ID))(t)
	if got.ID != run.ID || got.Trigger != "manual" || !got.CreatedAt.Equal(t0) {
		t.Fatalf("Run: %+v", got)
	}
	if _, err := s.Run(ctx, 9999); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("Run(9999): %v", err)
	}
}

func testPlanConflicts(t *testing.T, s Store) {
	ctx := context.Background()
	must(s.Upsert(ctx, []audience.Subscriber{sub("telegram", "1")}, t0))(t)
	req := campaign.PlanRequest{Campaign: "c", Channels: []string{"telegram"}, Parts: 1, IdempotencyKey: "sha1"}
	first := plan(t, s, req)
	_, err := s.Plan(ctx, campaign.PlanRequest{Campaign: "c", Channels: []string{"telegram"}, Parts: 1, Trigger: "manual", Now: t0})
	var rc *campaign.RunConflict
	if !errors.Is(err, campaign.ErrRunActive) || !errors.As(err, &rc) || rc.Run.ID != first.ID {
		t.Fatalf("second plan while one is active: %v", err)
	}
	if r := must(s.ActiveRun(ctx, "c"))(t); r.ID != first.ID {
		t.Fatalf("ActiveRun = %d", r.ID)
	}
	must(s.AcquireRun(ctx, first.ID, "me", t0, time.Minute))(t)
	if err := s.ReleaseRun(ctx, first.ID, "me", campaign.RunDone, "", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ActiveRun(ctx, "c"); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("ActiveRun after done: %v", err)
	}
	_, err = s.Plan(ctx, req)
	if !errors.Is(err, campaign.ErrDuplicateKey) || !errors.As(err, &rc) || rc.Run.ID != first.ID {
		t.Fatalf("same idempotency key: %v", err)
	}
	if r := must(s.RunByKey(ctx, "c", "sha1"))(t); r.ID != first.ID || r.State != campaign.RunDone || r.FinishedAt.IsZero() {
		t.Fatalf("RunByKey: %+v", r)
	}
	// The key is per campaign; zero parts targets nobody.
	other := plan(t, s, campaign.PlanRequest{Campaign: "d", Channels: []string{"telegram"}, Parts: 0, IdempotencyKey: "sha1"})
	if c := must(s.Counts(ctx, other.ID))(t); c.Targeted != 0 {
		t.Fatalf("zero parts targeted %d", c.Targeted)
	}
	runs := must(s.Runs(ctx, campaign.RunFilter{}))(t)
	if len(runs) != 2 || runs[0].ID != other.ID {
		t.Fatalf("Runs newest first: %+v", runs)
	}
	if runs := must(s.Runs(ctx, campaign.RunFilter{Campaign: "c", Limit: 5}))(t); len(runs) != 1 {
		t.Fatalf("Runs of c: %d", len(runs))
	}
}

func testLease(t *testing.T, s Store) {
	ctx := context.Background()
	must(s.Upsert(ctx, []audience.Subscriber{sub("telegram", "1"), sub("telegram", "2"), sub("telegram", "3")}, t0))(t)
	run := plan(t, s, campaign.PlanRequest{Campaign: "c", Channels: []string{"telegram"}, Parts: 1})
	if n := must(s.AcquireRun(ctx, run.ID, "A", t0, time.Minute))(t); n != 0 {
		t.Fatalf("recovered %d on a fresh run", n)
	}
	claims := must(s.Pending(ctx, run.ID, 0, 10, farFuture))(t)
	marked := must(s.Apply(ctx, campaign.Batch{RunID: run.ID, At: t0, Sending: []int64{claims[0].DeliveryID, claims[1].DeliveryID}}))(t).Marked
	if len(marked) != 2 {
		t.Fatalf("marked %v", marked)
	}
	// B may not take the run while A's lease is live…
	if _, err := s.AcquireRun(ctx, run.ID, "B", t0.Add(30*time.Second), time.Minute); !errors.Is(err, campaign.ErrRunBusy) {
		t.Fatalf("acquire during a live lease: %v", err)
	}
	if err := s.RenewRun(ctx, run.ID, "B", t0, time.Minute); !errors.Is(err, campaign.ErrRunBusy) {
		t.Fatalf("renew by a non-owner: %v", err)
	}
	if err := s.RenewRun(ctx, run.ID, "A", t0.Add(30*time.Second), time.Minute); err != nil {
		t.Fatal(err)
	}
	// …and after it expires, A's sending rows become unknown, never pending.
	n := must(s.AcquireRun(ctx, run.ID, "B", t0.Add(2*time.Minute), time.Minute))(t)
	if n != 2 {
		t.Fatalf("recovered %d, want 2", n)
	}
	c := must(s.Counts(ctx, run.ID))(t)
	if c.Unknown != 2 || c.Pending != 1 || c.Sending != 0 {
		t.Fatalf("after recovery: %+v", c)
	}
	if err := s.ReleaseRun(ctx, run.ID, "A", campaign.RunDone, "", t0); !errors.Is(err, campaign.ErrRunBusy) {
		t.Fatalf("release by the old owner: %v", err)
	}
	if err := s.ReleaseRun(ctx, run.ID, "B", campaign.RunPaused, "interrupted", t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	r := must(s.Run(ctx, run.ID))(t)
	if r.State != campaign.RunPaused || r.Error != "interrupted" {
		t.Fatalf("released run: %+v", r)
	}
	// A paused run with no owner is taken at once.
	must(s.AcquireRun(ctx, run.ID, "C", t0.Add(3*time.Minute), time.Minute))(t)
	if err := s.ReleaseRun(ctx, run.ID, "C", campaign.RunDone, "", t0.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireRun(ctx, run.ID, "D", t0.Add(5*time.Minute), time.Minute); !errors.Is(err, campaign.ErrRunFinished) {
		t.Fatalf("acquire a done run: %v", err)
	}
}

func testLedger(t *testing.T, s Store) {
	ctx := context.Background()
	var subs []audience.Subscriber
	for i := range 5 {
		subs = append(subs, sub("telegram", fmt.Sprint(-100-i)))
	}
	must(s.Upsert(ctx, subs, t0))(t)
	run := plan(t, s, campaign.PlanRequest{Campaign: "c", Channels: []string{"telegram"}, Parts: 1})
	must(s.AcquireRun(ctx, run.ID, "A", t0, time.Minute))(t)
	page1 := must(s.Pending(ctx, run.ID, 0, 3, farFuture))(t)
	page2 := must(s.Pending(ctx, run.ID, page1[2].DeliveryID, 3, farFuture))(t)
	if len(page1) != 3 || len(page2) != 2 {
		t.Fatalf("pages %d and %d", len(page1), len(page2))
	}
	var ids []int64
	for _, c := range append(page1, page2...) {
		ids = append(ids, c.DeliveryID)
	}
	marked := must(s.Apply(ctx, campaign.Batch{RunID: run.ID, At: t0, Sending: ids}))(t).Marked
	if len(marked) != 5 {
		t.Fatalf("marked %d", len(marked))
	}
	// A second mark of the same rows moves nothing: no row is sent twice.
	if again := must(s.Apply(ctx, campaign.Batch{RunID: run.ID, At: t0, Sending: ids}))(t).Marked; len(again) != 0 {
		t.Fatalf("marked again: %v", again)
	}
	at := t0.Add(time.Second)
	all := append(page1, page2...)
	outs := []campaign.Outcome{
		{DeliveryID: ids[0], Marked: true, State: campaign.Sent, MessageIDs: []string{"11", "12"}},
		{DeliveryID: ids[1], Marked: true, State: campaign.Failed, Reason: "blocked", Error: "Forbidden: bot was blocked by the user",
			SubscriberID: all[1].Subscriber.ID, SubscriberStatus: audience.Blocked},
		{DeliveryID: ids[2], Marked: true, State: campaign.Sent, SubscriberID: all[2].Subscriber.ID, NewAddress: "-1009999"},
		{DeliveryID: ids[3], Marked: true, State: campaign.Unknown, Reason: "timeout"},
		{DeliveryID: ids[4], Marked: true, State: campaign.Pending},
		// An unmarked outcome (a skip decided before marking) never
		// overwrites a delivery that is no longer pending.
		{DeliveryID: ids[0], State: campaign.Skipped, Reason: "unsubscribed"},
	}
	must(s.Apply(ctx, campaign.Batch{RunID: run.ID, At: at, Outcomes: outs}))(t)
	c := must(s.Counts(ctx, run.ID))(t)
	if c.Targeted != 5 || c.Sent != 2 || c.Failed != 1 || c.Unknown != 1 || c.Pending != 1 {
		t.Fatalf("counts: %+v", c)
	}
	wantReasons := []campaign.ReasonCount{{State: campaign.Failed, Reason: "blocked", Count: 1}, {State: campaign.Unknown, Reason: "timeout", Count: 1}}
	slices.SortFunc(c.Reasons, func(a, b campaign.ReasonCount) int { return cmpStr(string(a.State), string(b.State)) })
	if !slices.Equal(c.Reasons, wantReasons) {
		t.Fatalf("reasons: %+v", c.Reasons)
	}
	if !c.FirstSentAt.Equal(at) || !c.LastSentAt.Equal(at) {
		t.Fatalf("sent span: %v–%v", c.FirstSentAt, c.LastSentAt)
	}
	byAddr := map[string]audience.Subscriber{}
	for _, x := range list(t, s, audience.Filter{}) {
		byAddr[x.Address] = x
	}
	if byAddr["-101"].Status != audience.Blocked {
		t.Fatalf("blocked subscriber: %+v", byAddr["-101"])
	}
	if _, ok := byAddr["-1009999"]; !ok {
		t.Fatalf("migrated address not recorded: %v", byAddr)
	}
	// A reverted delivery is pending again for a resume.
	if p := must(s.Pending(ctx, run.ID, 0, 10, farFuture))(t); len(p) != 1 || p[0].DeliveryID != ids[4] {
		t.Fatalf("pending after revert: %+v", p)
	}
	// An unmarked outcome applies to a pending delivery; a marked one may
	// replace unknown (a takeover recovered it, the first owner knew better).
	must(s.Apply(ctx, campaign.Batch{RunID: run.ID, At: at, Outcomes: []campaign.Outcome{
		{DeliveryID: ids[4], State: campaign.Skipped, Reason: "unsubscribed"},
		{DeliveryID: ids[3], Marked: true, State: campaign.Sent, MessageIDs: []string{"13"}},
	}}))(t)
	c = must(s.Counts(ctx, run.ID))(t)
	if c.Sent != 3 || c.Skipped != 1 || c.Unknown != 0 || c.Pending != 0 {
		t.Fatalf("counts after late outcomes: %+v", c)
	}
	// The late sent outcome leaves no trace of the timeout it replaced.
	wantReasons = []campaign.ReasonCount{{State: campaign.Failed, Reason: "blocked", Count: 1}, {State: campaign.Skipped, Reason: "unsubscribed", Count: 1}}
	slices.SortFunc(c.Reasons, func(a, b campaign.ReasonCount) int { return cmpStr(string(a.State), string(b.State)) })
	if !slices.Equal(c.Reasons, wantReasons) {
		t.Fatalf("reasons after late outcomes: %+v", c.Reasons)
	}
	if id := must(s.AddressOwner(ctx, "telegram", "-1009999"))(t); id != all[2].Subscriber.ID {
		t.Fatalf("AddressOwner = %d, want %d", id, all[2].Subscriber.ID)
	}
	if _, err := s.AddressOwner(ctx, "telegram", "-1"); !errors.Is(err, campaign.ErrNotFound) {
		t.Fatalf("AddressOwner of nobody: %v", err)
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testCancel(t *testing.T, s Store) {
	ctx := context.Background()
	must(s.Upsert(ctx, []audience.Subscriber{sub("telegram", "1"), sub("telegram", "2")}, t0))(t)
	run := plan(t, s, campaign.PlanRequest{Campaign: "c", Channels: []string{"telegram"}, Parts: 1})
	must(s.AcquireRun(ctx, run.ID, "A", t0, time.Minute))(t)
	if _, err := s.CancelRun(ctx, run.ID, t0); !errors.Is(err, campaign.ErrRunBusy) {
		t.Fatalf("cancel while sending: %v", err)
	}
	if err := s.ReleaseRun(ctx, run.ID, "A", campaign.RunPaused, "interrupted", t0); err != nil {
		t.Fatal(err)
	}
	n := must(s.CancelRun(ctx, run.ID, t0))(t)
	if n != 2 {
		t.Fatalf("cancel skipped %d", n)
	}
	c := must(s.Counts(ctx, run.ID))(t)
	if c.Skipped != 2 || c.Pending != 0 {
		t.Fatalf("after cancel: %+v", c)
	}
	if r := must(s.Run(ctx, run.ID))(t); r.State != campaign.RunCancelled {
		t.Fatalf("state %s", r.State)
	}
	// A cancelled run no longer blocks a new one.
	plan(t, s, campaign.PlanRequest{Campaign: "c", Channels: []string{"telegram"}, Parts: 1})
}

// finishWithUnknowns plans a run of camp to every subscriber, sends it as
// owner "A" with the first delivery sent and the rest unknown, and marks it done.
func finishWithUnknowns(t *testing.T, s Store, camp string) campaign.Run {
	t.Helper()
	ctx := context.Background()
	run := plan(t, s, campaign.PlanRequest{Campaign: camp, Channels: []string{"telegram"}, Parts: 1})
	must(s.AcquireRun(ctx, run.ID, "A", t0, time.Minute))(t)
	claims := must(s.Pending(ctx, run.ID, 0, 10, farFuture))(t)
	var ids []int64
	var outs []campaign.Outcome
	for i, c := range claims {
		ids = append(ids, c.DeliveryID)
		st := campaign.Unknown
		if i == 0 {
			st = campaign.Sent
		}
		outs = append(outs, campaign.Outcome{DeliveryID: c.DeliveryID, Marked: true, State: st, Reason: "timeout"})
	}
	must(s.Apply(ctx, campaign.Batch{RunID: run.ID, At: t0, Sending: ids}))(t)
	must(s.Apply(ctx, campaign.Batch{RunID: run.ID, At: t0, Outcomes: outs}))(t)
	if err := s.ReleaseRun(ctx, run.ID, "A", campaign.RunDone, "", t0); err != nil {
		t.Fatal(err)
	}
	return run
}

func testRequeue(t *testing.T, s Store) {
	ctx := context.Background()
	must(s.Upsert(ctx, []audience.Subscriber{sub("telegram", "1"), sub("telegram", "2"), sub("telegram", "3")}, t0))(t)
	run := finishWithUnknowns(t, s, "c")
	// While another run of the campaign is unfinished, a done run stays done.
	other := plan(t, s, campaign.PlanRequest{Campaign: "c", Channels: []string{"telegram"}, Parts: 1})
	if _, err := s.RequeueUnknown(ctx, run.ID, t0); !errors.Is(err, campaign.ErrRunActive) {
		t.Fatalf("requeue beside an active run: %v", err)
	}
	must(s.CancelRun(ctx, other.ID, t0))(t)
	if _, err := s.RequeueUnknown(ctx, other.ID, t0); !errors.Is(err, campaign.ErrRunFinished) {
		t.Fatalf("requeue a cancelled run: %v", err)
	}
	if n := must(s.RequeueUnknown(ctx, run.ID, t0))(t); n != 2 {
		t.Fatalf("requeued %d, want 2", n)
	}
	c := must(s.Counts(ctx, run.ID))(t)
	r := must(s.Run(ctx, run.ID))(t)
	if c.Pending != 2 || c.Unknown != 0 || c.Sent != 1 || r.State != campaign.RunPaused || !r.FinishedAt.IsZero() {
		t.Fatalf("after requeue: %+v, run %+v", c, r)
	}
	// While someone sends it, no.
	must(s.AcquireRun(ctx, run.ID, "B", t0, time.Minute))(t)
	if _, err := s.RequeueUnknown(ctx, run.ID, t0); !errors.Is(err, campaign.ErrRunBusy) {
		t.Fatalf("requeue during a live lease: %v", err)
	}
	if err := s.ReleaseRun(ctx, run.ID, "B", campaign.RunDone, "", t0); err != nil {
		t.Fatal(err)
	}
	// Nothing unknown: nothing changes, the run stays done.
	if n := must(s.RequeueUnknown(ctx, run.ID, t0))(t); n != 0 {
		t.Fatalf("requeued %d of nothing", n)
	}
	if r := must(s.Run(ctx, run.ID))(t); r.State != campaign.RunDone {
		t.Fatalf("state %s", r.State)
	}
}
