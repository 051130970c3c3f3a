package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
)

func inbound(addr, key string, at time.Time) audience.Inbound {
	return audience.Inbound{Channel: "telegram", Address: addr, Key: key, At: at}
}

func startSub(at time.Time, tags ...string) audience.Subscriber {
	return audience.Subscriber{Name: "Ada", Locale: "it", Tags: tags,
		Consent: audience.Consent{At: at, Source: "telegram_start", Ref: strings.Join(tags, "")}}
}

func testLifecycle(t *testing.T, s Store) {
	ctx := context.Background()
	// A new /start subscribes, with its consent and tags.
	ch := must(s.Subscribe(ctx, inbound("1", "u1", t0), startSub(t0, "blog")))(t)
	if ch.Previous != "" || ch.Subscriber.ID == 0 || ch.Subscriber.Status != audience.Subscribed ||
		!slices.Equal(ch.Subscriber.Tags, []string{"blog"}) || ch.Subscriber.Consent.Source != "telegram_start" ||
		!ch.Subscriber.LastInboundAt.Equal(t0) {
		t.Fatalf("new subscribe: %+v", ch)
	}
	// The same update again changes nothing.
	if _, err := s.Subscribe(ctx, inbound("1", "u1", t0), startSub(t0, "other")); !errors.Is(err, audience.ErrDuplicate) {
		t.Fatalf("duplicate update: %v", err)
	}
	// /stop unsubscribes once; a second /stop finds them unsubscribed.
	ch = must(s.Stop(ctx, inbound("1", "u2", t0.Add(time.Minute)), audience.Unsubscribed))(t)
	if ch.Previous != audience.Subscribed || ch.Subscriber.Status != audience.Unsubscribed {
		t.Fatalf("stop: %+v", ch)
	}
	ch = must(s.Stop(ctx, inbound("1", "u3", t0.Add(2*time.Minute)), audience.Unsubscribed))(t)
	if ch.Previous != audience.Unsubscribed {
		t.Fatalf("second stop: %+v", ch)
	}
	// No default reply to someone who stopped.
	if ch := must(s.Message(ctx, inbound("1", "u4", t0.Add(3*time.Minute)), time.Hour))(t); ch.Reply {
		t.Fatal("default reply claimed for an unsubscribed person")
	}
	// A new /start re-subscribes with the new consent; tags merge.
	ch = must(s.Subscribe(ctx, inbound("1", "u5", t0.Add(time.Hour)), startSub(t0.Add(time.Hour), "promo")))(t)
	if ch.Previous != audience.Unsubscribed || ch.Subscriber.Status != audience.Subscribed ||
		!slices.Equal(ch.Subscriber.Tags, []string{"blog", "promo"}) || ch.Subscriber.Consent.Ref != "promo" {
		t.Fatalf("re-subscribe: %+v", ch)
	}
	// The default reply: once per period.
	at := t0.Add(2 * time.Hour)
	if ch := must(s.Message(ctx, inbound("1", "m1", at), 24*time.Hour))(t); !ch.Reply {
		t.Fatal("first message: no reply claimed")
	}
	if ch := must(s.Message(ctx, inbound("1", "m2", at.Add(23*time.Hour)), 24*time.Hour))(t); ch.Reply {
		t.Fatal("second message within the period: reply claimed again")
	}
	if ch := must(s.Message(ctx, inbound("1", "m3", at.Add(25*time.Hour)), 24*time.Hour))(t); !ch.Reply {
		t.Fatal("message after the period: no reply")
	}
	// A stray message from a stranger: recorded, nobody to reply to.
	if ch := must(s.Message(ctx, inbound("999", "m4", at), time.Hour))(t); ch.Subscriber.ID != 0 || ch.Reply {
		t.Fatalf("stranger: %+v", ch)
	}
	// A block: no interaction, status blocked; the history has every step.
	ch = must(s.Stop(ctx, inbound("1", "b1", at.Add(48*time.Hour)), audience.Blocked))(t)
	if ch.Subscriber.Status != audience.Blocked || !ch.Subscriber.LastInboundAt.Equal(at.Add(25*time.Hour)) {
		t.Fatalf("block: %+v", ch.Subscriber)
	}
	var kinds []string
	for _, e := range must(s.History(ctx, ch.Subscriber.ID))(t) {
		kinds = append(kinds, string(e.Previous)+">"+string(e.Kind))
	}
	if want := []string{">subscribed", "subscribed>unsubscribed", "unsubscribed>subscribed", "subscribed>blocked"}; !slices.Equal(kinds, want) {
		t.Fatalf("history %v, want %v", kinds, want)
	}
	// Seen keys prune.
	if err := s.Seen(ctx, inbound("1", "x", at)); err != nil {
		t.Fatal(err)
	}
	if err := s.Seen(ctx, inbound("1", "x", at)); !errors.Is(err, audience.ErrDuplicate) {
		t.Fatalf("seen twice: %v", err)
	}
	if n := must(s.PruneSeen(ctx, at.Add(time.Second)))(t); n < 5 {
		t.Fatalf("pruned %d", n)
	}
	if err := s.Seen(ctx, inbound("1", "x", at)); err != nil {
		t.Fatalf("after prune: %v", err)
	}
	// Cursors.
	if v := must(s.Cursor(ctx, "telegram:1"))(t); v != 0 {
		t.Fatalf("unset cursor %d", v)
	}
	for _, v := range []int64{41, 42} {
		if err := s.SetCursor(ctx, "telegram:1", v, at); err != nil {
			t.Fatal(err)
		}
	}
	if v := must(s.Cursor(ctx, "telegram:1"))(t); v != 42 {
		t.Fatalf("cursor %d", v)
	}
}

func testManage(t *testing.T, s Store) {
	ctx := context.Background()
	must(s.Upsert(ctx, []audience.Subscriber{sub("telegram", "1", "blog"), sub("telegram", "2", "blog", "vip"),
		sub("telegram", "3"), sub("messenger", "4", "blog")}, t0))(t)
	if n := must(s.Retag(ctx, audience.Filter{Segment: audience.Segment{TagsAny: []string{"blog"}}}, []string{"spring"}, []string{"vip"}, t0))(t); n != 3 {
		t.Fatalf("retagged %d", n)
	}
	if got := must(s.Subscriber(ctx, "telegram", "2"))(t).Tags; !slices.Equal(got, []string{"blog", "spring"}) {
		t.Fatalf("tags %v", got)
	}
	// Again: nothing changes.
	if n := must(s.Retag(ctx, audience.Filter{Segment: audience.Segment{TagsAny: []string{"blog"}}}, []string{"spring"}, nil, t0))(t); n != 0 {
		t.Fatalf("retagged again %d", n)
	}
	if n := must(s.SetStatuses(ctx, audience.Filter{Channels: []string{"telegram"}, Addresses: []string{"1", "3", "nope"}}, audience.Unsubscribed, t0))(t); n != 2 {
		t.Fatalf("unsubscribed %d", n)
	}
	if n := must(s.SetStatuses(ctx, audience.Filter{Addresses: []string{"1"}}, audience.Unsubscribed, t0))(t); n != 0 {
		t.Fatalf("unsubscribed again %d", n)
	}
	if _, err := s.Subscriber(ctx, "telegram", "nope"); !errors.Is(err, audience.ErrNoSubscriber) {
		t.Fatalf("missing subscriber: %v", err)
	}
}

func testForget(t *testing.T, s Store) {
	ctx := context.Background()
	must(s.Upsert(ctx, []audience.Subscriber{sub("telegram", "1", "blog"), sub("telegram", "2")}, t0))(t)
	run := plan(t, s, campaign.PlanRequest{Campaign: "c", Channels: []string{"telegram"}, Parts: 1, Now: t0})
	before := must(s.Counts(ctx, run.ID))(t)
	gone := t0.Add(time.Hour)
	if err := s.Forget(ctx, "telegram", "1", gone); err != nil {
		t.Fatal(err)
	}
	if err := s.Forget(ctx, "telegram", "1", gone); !errors.Is(err, audience.ErrNoSubscriber) {
		t.Fatalf("forget twice: %v", err)
	}
	// Nothing of the person is left: no row has their address or name.
	for _, x := range list(t, s, audience.Filter{}) {
		if x.Address == "1" || x.Name == "N1" || (x.Status == audience.Forgotten && (len(x.Tags) > 0 || x.Consent.Source != "")) {
			t.Fatalf("forgotten data kept: %+v", x)
		}
	}
	if n := len(list(t, s, audience.Filter{Statuses: []audience.Status{audience.Forgotten}})); n != 1 {
		t.Fatalf("%d tombstones", n)
	}
	// Past runs keep their counts.
	if after := must(s.Counts(ctx, run.ID))(t); after.Targeted != before.Targeted || after.Pending != before.Pending {
		t.Fatalf("counts changed: %+v → %+v", before, after)
	}
	// A re-import with the old consent is refused; with newer consent it is taken.
	st := must(s.Upsert(ctx, []audience.Subscriber{sub("telegram", "1", "blog")}, gone.Add(time.Minute)))(t)
	if st.Forgotten != 1 || st.Inserted != 0 {
		t.Fatalf("re-import of a forgotten person: %+v", st)
	}
	fresh := sub("telegram", "1")
	fresh.Consent.At = gone.Add(time.Minute)
	if st := must(s.Upsert(ctx, []audience.Subscriber{fresh}, gone.Add(2*time.Minute)))(t); st.Inserted != 1 {
		t.Fatalf("import with new consent: %+v", st)
	}
	// Forgotten again: one tombstone remains.
	if err := s.Forget(ctx, "telegram", "1", gone.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := len(list(t, s, audience.Filter{Statuses: []audience.Status{audience.Forgotten}})); n != 1 {
		t.Fatalf("%d tombstones after a second forget", n)
	}
	// …and an import carrying the second consent is refused again.
	if st := must(s.Upsert(ctx, []audience.Subscriber{fresh}, gone.Add(2*time.Hour)))(t); st.Forgotten != 1 {
		t.Fatalf("re-import after the second forget: %+v", st)
	}
	// A new /start is new consent.
	if ch := must(s.Subscribe(ctx, inbound("1", "s", gone.Add(3*time.Hour)), startSub(gone.Add(3*time.Hour))))(t); ch.Previous != "" {
		t.Fatalf("start after forget: %+v", ch)
	}
}

func testLinks(t *testing.T, s Store) {
	ctx := context.Background()
	l := audience.Link{Channel: "telegram", Payload: "spring-promo", Source: "spring-promo", Tags: []string{"promo", "a"},
		URL: "https://t.me/bot?start=spring-promo", CreatedAt: t0}
	got := must(s.SaveLink(ctx, l))(t)
	if !slices.Equal(got.Tags, []string{"a", "promo"}) {
		t.Fatalf("saved %+v", got)
	}
	if again := must(s.SaveLink(ctx, l))(t); !again.CreatedAt.Equal(t0) {
		t.Fatalf("saved again %+v", again)
	}
	l.Tags = []string{"other"}
	if old, err := s.SaveLink(ctx, l); !errors.Is(err, audience.ErrLinkTaken) || !slices.Equal(old.Tags, []string{"a", "promo"}) {
		t.Fatalf("conflicting link: %+v %v", old, err)
	}
	if _, err := s.Link(ctx, "messenger", "spring-promo"); !errors.Is(err, audience.ErrNoLink) {
		t.Fatalf("missing link: %v", err)
	}
	if n := len(must(s.Links(ctx))(t)); n != 1 {
		t.Fatalf("%d links", n)
	}
}

func testAudienceEvents(t *testing.T, s Store) {
	ctx := context.Background()
	must(s.Upsert(ctx, []audience.Subscriber{sub("telegram", "1"), sub("telegram", "2")}, t0))(t)
	week := t0.Add(7 * 24 * time.Hour)
	must(s.Subscribe(ctx, inbound("3", "a", week), startSub(week, "promo")))(t)
	must(s.Stop(ctx, inbound("1", "b", week.Add(time.Hour)), audience.Unsubscribed))(t)
	must(s.Stop(ctx, inbound("1", "c", week.Add(2*time.Hour)), audience.Blocked))(t) // not a second leave
	var got []string
	before := must(s.Events(ctx, week, func(e audience.HistoryEvent) error {
		got = append(got, string(e.Previous)+">"+string(e.Kind)+":"+e.Ref)
		return nil
	}))(t)
	if before != 2 {
		t.Fatalf("audience before the week: %d", before)
	}
	if want := []string{">subscribed:promo", "subscribed>unsubscribed:", "unsubscribed>blocked:"}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	counts := must(s.SourceCounts(ctx))(t)
	found := false
	for _, c := range counts {
		if c.Source == "telegram_start" && c.Ref == "promo" && c.Status == audience.Subscribed && c.Count == 1 {
			found = true
		}
	}
	if !found {
		t.Fatalf("source counts %+v", counts)
	}
}

// testStopMidRun: a subscriber who stops after their delivery was read for
// sending is skipped when it is marked, never sent.
func testStopMidRun(t *testing.T, s Store) {
	ctx := context.Background()
	must(s.Upsert(ctx, []audience.Subscriber{sub("telegram", "1"), sub("telegram", "2")}, t0))(t)
	run := plan(t, s, campaign.PlanRequest{Campaign: "c", Channels: []string{"telegram"}, Parts: 1, Now: t0})
	claims := must(s.Pending(ctx, run.ID, 0, 10, farFuture))(t)
	must(s.Stop(ctx, inbound("2", "stop", t0), audience.Unsubscribed))(t)
	res := must(s.Apply(ctx, campaign.Batch{RunID: run.ID, At: t0, Sending: []int64{claims[0].DeliveryID, claims[1].DeliveryID}}))(t)
	if !slices.Equal(res.Marked, []int64{claims[0].DeliveryID}) || !slices.Equal(res.Stopped, []int64{claims[1].DeliveryID}) {
		t.Fatalf("apply: %+v", res)
	}
	c := must(s.Counts(ctx, run.ID))(t)
	if c.Skipped != 1 || c.Sending != 1 ||
		!slices.Equal(c.Reasons, []campaign.ReasonCount{{State: campaign.Skipped, Reason: string(audience.Unsubscribed), Count: 1}}) {
		t.Fatalf("counts %+v", c)
	}
	// Under a frequency cap the stop still wins: the reason is the stop. (A
	// cap of 0 holds back everyone else.)
	must(s.Upsert(ctx, []audience.Subscriber{sub("telegram", "3")}, t0))(t)
	run2 := plan(t, s, campaign.PlanRequest{Campaign: "d", Channels: []string{"telegram"}, Parts: 1, Now: t0})
	claims = must(s.Pending(ctx, run2.ID, 0, 10, farFuture))(t)
	must(s.Stop(ctx, inbound("3", "stop-3", t0), audience.Unsubscribed))(t)
	var ids []int64
	for _, cl := range claims {
		ids = append(ids, cl.DeliveryID)
	}
	res = must(s.Apply(ctx, campaign.Batch{RunID: run2.ID, At: t0, Sending: ids, Cap: &campaign.FrequencyCap{Max: 0, Per: time.Hour}}))(t)
	if len(res.Marked) != 0 || len(res.Stopped) != 2 {
		t.Fatalf("apply with a cap: %+v", res)
	}
	c = must(s.Counts(ctx, run2.ID))(t)
	slices.SortFunc(c.Reasons, func(a, b campaign.ReasonCount) int { return cmpStr(a.Reason, b.Reason) })
	if want := []campaign.ReasonCount{{State: campaign.Skipped, Reason: campaign.ReasonFrequencyCap, Count: 1},
		{State: campaign.Skipped, Reason: string(audience.Unsubscribed), Count: 1}}; !slices.Equal(c.Reasons, want) {
		t.Fatalf("reasons with a cap: %+v", c.Reasons)
	}
}
