package campaign_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/sandbox"
	"github.com/heraldcli/herald/channels/telegram"
	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/store/sqlite"
)

const goodToken = "4242:sandbox-token"

type bundle struct {
	sb     *sandbox.Server
	url    string
	store  *sqlite.Store
	engine *campaign.Engine
	items  []sources.Item
}

type setupOpts struct {
	subscribers int
	sandbox     sandbox.Options
	token       string
	rate        float64 // herald's own rate; default high so the sandbox limits
	send        campaign.SendOptions
}

// setup starts a sandbox over real HTTP, opens a real SQLite file and imports
// n subscribers with chat ids 1001, 1002, …
func setup(t *testing.T, o setupOpts) *bundle {
	t.Helper()
	ctx := context.Background()
	sb := sandbox.New(o.sandbox)
	url, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if o.token == "" {
		o.token = goodToken
	}
	if o.rate == 0 {
		o.rate = 1000
	}
	tg, err := telegram.New(telegram.Config{Token: o.token, APIURL: url, Rate: o.rate, PaidBroadcast: o.rate > 30})
	if err != nil {
		t.Fatal(err)
	}
	var subs []audience.Subscriber
	for i := range o.subscribers {
		subs = append(subs, audience.Subscriber{Channel: "telegram", Address: fmt.Sprint(1001 + i), Name: fmt.Sprintf("Sub <%d> & *co*", i),
			Tags: []string{"all"}, Status: audience.Subscribed, Consent: audience.Consent{At: time.Now().Add(-time.Hour), Source: "import"}})
	}
	if _, err := st.Upsert(ctx, subs, time.Now()); err != nil {
		t.Fatal(err)
	}
	if o.send.Backoff == 0 {
		o.send.Backoff = 5 * time.Millisecond
	}
	b := &bundle{sb: sb, url: url, store: st}
	b.engine = &campaign.Engine{
		Store:      st,
		Channels:   map[string]campaign.Channel{"telegram": tg},
		OpenSource: func(*campaign.SourceSpec) (campaign.Source, error) { return fakeSource{b}, nil },
		Send:       o.send,
	}
	return b
}

type fakeSource struct{ b *bundle }

func (f fakeSource) Fetch(context.Context, sources.Validators) (sources.Result, error) {
	return sources.Result{Items: f.b.items}, nil
}

func spec(t *testing.T, yaml string) *campaign.Spec {
	t.Helper()
	s, err := campaign.ParseSpec("c.yaml", "c", []byte(yaml), []string{"telegram"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const staticSpec = "channels: [telegram]\nmode: static\nmessage:\n  text: \"Hello **{{ .Subscriber.Name }}**\"\n"

// plan prepares and plans one run of s, without sending it.
func (b *bundle) plan(t *testing.T, ctx context.Context, s *campaign.Spec) campaign.Run {
	t.Helper()
	d, err := b.engine.Prepare(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Problems) > 0 {
		t.Fatalf("lint: %+v", d.Problems)
	}
	run, err := b.engine.Plan(ctx, d, "manual", "")
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// send plans and dispatches one run of s.
func (b *bundle) send(t *testing.T, ctx context.Context, s *campaign.Spec) campaign.Result {
	t.Helper()
	res, err := b.engine.Dispatch(ctx, s, b.plan(t, ctx, s), nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// perChat counts the sandbox's accepted messages per chat.
func (b *bundle) perChat() map[string]int {
	out := map[string]int{}
	for _, m := range b.sb.Messages() {
		out[m.Chat]++
	}
	return out
}

// assertNoneTwice fails if any chat got more than want messages.
func (b *bundle) assertNoneTwice(t *testing.T, want int) {
	t.Helper()
	for chat, n := range b.perChat() {
		if n > want {
			t.Errorf("chat %s got %d messages, want at most %d", chat, n, want)
		}
	}
}

func reason(c campaign.Counts, state campaign.DeliveryState, r string) int {
	for _, rc := range c.Reasons {
		if rc.State == state && rc.Reason == r {
			return rc.Count
		}
	}
	return 0
}

func TestDispatchSendsEveryoneOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{subscribers: 120})
	res := b.send(t, context.Background(), spec(t, staticSpec))
	c := res.Counts
	if res.Ending != campaign.Completed || res.Run.State != campaign.RunDone || c.Targeted != 120 || c.Sent != 120 {
		t.Fatalf("ending %s, run %+v, counts %+v", res.Ending, res.Run, c)
	}
	if got := len(b.sb.Messages()); got != 120 {
		t.Fatalf("sandbox accepted %d messages, want 120", got)
	}
	b.assertNoneTwice(t, 1)
	m := b.sb.Messages()[0]
	if !strings.HasPrefix(m.Plain, "Hello Sub <") || !strings.Contains(m.Plain, "& *co*") {
		t.Fatalf("hostile names must arrive literally, got %q (sent %q)", m.Plain, m.Text)
	}
}

func TestDispatch429StormDeliversAllNoneTwice(t *testing.T) {
	t.Parallel()
	// The sandbox allows 40/s with a burst of 10; herald is told 1000/s, so
	// it runs into 429 retry_after and must pause the bot and retry.
	b := setup(t, setupOpts{subscribers: 80, sandbox: sandbox.Options{Rate: 40, Burst: 10, PaidRate: 40}})
	res := b.send(t, context.Background(), spec(t, staticSpec))
	if res.Counts.Sent != 80 || res.Ending != campaign.Completed {
		t.Fatalf("counts %+v, ending %s", res.Counts, res.Ending)
	}
	rejected := 0
	for _, r := range b.sb.Requests() {
		if r.Status == 429 {
			rejected++
		}
	}
	if rejected == 0 {
		t.Fatal("the sandbox never answered 429: the test did not exercise the storm")
	}
	if got := len(b.sb.Messages()); got != 80 {
		t.Fatalf("sandbox accepted %d, want 80", got)
	}
	b.assertNoneTwice(t, 1)
}

func TestDispatchRecipientErrorsUpdateTheAudience(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{subscribers: 8})
	b.sb.SetChat("1001", sandbox.ChatBlocked)
	b.sb.SetChat("1002", sandbox.ChatDeactivated)
	b.sb.SetChat("1003", sandbox.ChatNotFound)
	b.sb.SetChat("1004", sandbox.ChatNoConversation)
	b.sb.SetChat("1005", sandbox.ChatMigrated(-1009999))
	res := b.send(t, context.Background(), spec(t, staticSpec))
	c := res.Counts
	if c.Sent != 4 || c.Failed != 4 || reason(c, campaign.Failed, "blocked") != 2 ||
		reason(c, campaign.Failed, "chat_not_found") != 1 || reason(c, campaign.Failed, "no_consent") != 1 {
		t.Fatalf("counts %+v", c)
	}
	status := map[string]audience.Status{}
	b.store.Subscribers(context.Background(), audience.Filter{}, func(s audience.Subscriber) error {
		status[s.Address] = s.Status
		return nil
	})
	want := map[string]audience.Status{"1001": audience.Blocked, "1002": audience.Blocked, "1003": audience.Invalid,
		"1004": audience.Subscribed, "-1009999": audience.Subscribed, "1006": audience.Subscribed}
	for addr, st := range want {
		if status[addr] != st {
			t.Errorf("subscriber %s: %s, want %s (all: %v)", addr, status[addr], st, status)
		}
	}
	if b.perChat()["-1009999"] != 1 {
		t.Errorf("the migrated group did not get its message at the new id: %v", b.perChat())
	}
	// A second run skips nobody it should not and messages nobody blocked.
	b.sb.Reset()
	res = b.send(t, context.Background(), spec(t, staticSpec))
	if res.Counts.Targeted != 5 || b.perChat()["1001"] != 0 {
		t.Fatalf("second run: %+v, chats %v", res.Counts, b.perChat())
	}
}

func TestDispatchInvalidTokenAbortsThenResumes(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{subscribers: 30, token: "4242:wrong", sandbox: sandbox.Options{Tokens: []string{goodToken}}})
	s := spec(t, staticSpec)
	res := b.send(t, context.Background(), s)
	if res.Ending != campaign.Aborted || res.Run.State != campaign.RunAborted || !strings.Contains(res.Reason, "token") {
		t.Fatalf("ending %s, state %s, reason %q", res.Ending, res.Run.State, res.Reason)
	}
	if c := res.Counts; c.Pending != 30 || c.Failed != 0 || c.Sent != 0 {
		t.Fatalf("an invalid token must fail nobody: %+v", c)
	}
	// With the token fixed, the same run resumes and finishes.
	tg, _ := telegram.New(telegram.Config{Token: goodToken, APIURL: b.url, Rate: 1000, PaidBroadcast: true})
	b.engine.Channels["telegram"] = tg
	res, err := b.engine.Dispatch(context.Background(), s, res.Run, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.State != campaign.RunDone || res.Counts.Sent != 30 {
		t.Fatalf("after resume: %s %+v", res.Run.State, res.Counts)
	}
	b.assertNoneTwice(t, 1)
}

func TestDispatchHonoursUnsubscribeAtClaimTime(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{subscribers: 10})
	ctx := context.Background()
	s := spec(t, staticSpec)
	run := b.plan(t, ctx, s)
	// Planned, then two people say stop before their turn.
	b.store.SetStatus(ctx, "telegram", "1003", audience.Unsubscribed, time.Now())
	b.store.SetStatus(ctx, "telegram", "1007", audience.Blocked, time.Now())
	res, err := b.engine.Dispatch(ctx, s, run, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Counts
	if c.Sent != 8 || reason(c, campaign.Skipped, "unsubscribed") != 1 || reason(c, campaign.Skipped, "blocked") != 1 {
		t.Fatalf("counts %+v", c)
	}
	if n := b.perChat(); n["1003"] != 0 || n["1007"] != 0 {
		t.Fatalf("messaged someone who said stop: %v", n)
	}
}

func TestDispatchRetries5xxAndRecordsDropsAsUnknown(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{subscribers: 200, send: campaign.SendOptions{MaxRetries: 8, RequestTimeout: 5 * time.Second}})
	b.sb.SetFaults(sandbox.Faults{ErrorRate: 0.3, DropRate: 0.1})
	res := b.send(t, context.Background(), spec(t, staticSpec))
	c := res.Counts
	if c.Sent+c.Unknown+c.Failed != 200 || c.Pending != 0 || c.Sending != 0 {
		t.Fatalf("every delivery must end in one terminal state: %+v", c)
	}
	if c.Unknown == 0 {
		t.Fatal("drops produced no unknown outcomes: the test did not exercise them")
	}
	// 5xx are retried (the request never took effect); drops are not
	// retried (it did): the sandbox saw nobody twice.
	b.assertNoneTwice(t, 1)
	if got := len(b.sb.Messages()); got != c.Sent+c.Unknown {
		t.Fatalf("sandbox accepted %d, ledger says sent %d + unknown %d", got, c.Sent, c.Unknown)
	}
}

func TestDispatchStopLeavesTheRestPendingAndResumeFinishes(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{subscribers: 60, send: campaign.SendOptions{Workers: 4}})
	b.sb.SetFaults(sandbox.Faults{Latency: 20 * time.Millisecond})
	s := spec(t, staticSpec)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	run := b.plan(t, ctx, s)
	res, err := b.engine.Dispatch(ctx, s, run, func(done, total int) {
		if done >= 10 {
			once.Do(cancel)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Counts
	if res.Ending != campaign.Interrupted || res.Run.State != campaign.RunPaused || c.Sending != 0 || c.Unknown != 0 || c.Pending == 0 {
		t.Fatalf("stop: ending %s, state %s, counts %+v", res.Ending, res.Run.State, c)
	}
	if got := len(b.sb.Messages()); got != c.Sent {
		t.Fatalf("in-flight requests must finish and be recorded: sandbox %d, sent %d", got, c.Sent)
	}
	res, err = b.engine.Dispatch(context.Background(), s, res.Run, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.State != campaign.RunDone || res.Counts.Sent != 60 {
		t.Fatalf("after resume: %s %+v", res.Run.State, res.Counts)
	}
	b.assertNoneTwice(t, 1)
}

func TestDispatchLongRetryAfterPausesTheRun(t *testing.T) {
	t.Parallel()
	// 1 message/s with a burst of 1: the second gets retry_after ≥ 1s,
	// longer than MaxPause.
	b := setup(t, setupOpts{subscribers: 5, sandbox: sandbox.Options{Rate: 1, Burst: 1, PaidRate: 1},
		send: campaign.SendOptions{MaxPause: 100 * time.Millisecond, Workers: 1}})
	res := b.send(t, context.Background(), spec(t, staticSpec))
	if res.Ending != campaign.RateLimitPaused || res.Run.State != campaign.RunPaused || res.Counts.Pending == 0 {
		t.Fatalf("ending %s state %s counts %+v", res.Ending, res.Run.State, res.Counts)
	}
	if res.Counts.Sent+res.Counts.Pending != 5 {
		t.Fatalf("a refused request is pending, not lost: %+v", res.Counts)
	}
}

// A pause is the account's, not the run's: after one campaign's run is
// told to wait an hour, another campaign's run on the same engine (herald
// serve runs many) is paused before it calls the platform at all.
func TestDispatchPauseHoldsTheAccountsOtherRuns(t *testing.T) {
	t.Parallel()
	// One message an hour: the second call gets retry_after of about an hour.
	b := setup(t, setupOpts{subscribers: 3, sandbox: sandbox.Options{Rate: 1.0 / 3600, Burst: 1, PaidRate: 1.0 / 3600},
		send: campaign.SendOptions{MaxPause: time.Minute, Workers: 1}})
	first := b.send(t, context.Background(), spec(t, staticSpec))
	if first.Ending != campaign.RateLimitPaused || first.Counts.Sent != 1 || first.Counts.Pending != 2 {
		t.Fatalf("first run: ending %s, %+v", first.Ending, first.Counts)
	}
	calls := len(b.sb.Requests())
	other, err := campaign.ParseSpec("other.yaml", "other", []byte(staticSpec), []string{"telegram"})
	if err != nil {
		t.Fatal(err)
	}
	second := b.send(t, context.Background(), other)
	if second.Ending != campaign.RateLimitPaused || second.Run.State != campaign.RunPaused || second.Counts.Pending != 3 ||
		!strings.Contains(second.Reason, "asked herald to wait") {
		t.Fatalf("second run: ending %s (%s), state %s, %+v", second.Ending, second.Reason, second.Run.State, second.Counts)
	}
	if n := len(b.sb.Requests()); n != calls {
		t.Fatalf("the second run called the platform %d times during the pause", n-calls)
	}
}

// pausing is a channel whose account, after its first call, is paused
// for an hour: another run's or a reply's 429.
type pausing struct {
	campaign.Channel
	once  sync.Once
	pause func()
}

func (p *pausing) Do(ctx context.Context, c campaign.Call) ([]string, error) {
	ids, err := p.Channel.Do(ctx, c)
	p.once.Do(p.pause)
	return ids, err
}

// A long pause that comes between two parts of a message (a photo, then
// the text too long for its caption) is not waited out: the delivery is
// recorded unknown (its photo is out), the run paused, nobody else sent.
func TestDispatchLongPauseBetweenParts(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{subscribers: 2, send: campaign.SendOptions{Workers: 1, MaxPause: time.Minute}})
	b.engine.Channels["telegram"] = &pausing{Channel: b.engine.Channels["telegram"],
		pause: func() { b.engine.Limiter("telegram").Pause(time.Hour) }}
	s := spec(t, fmt.Sprintf("channels: [telegram]\nmode: static\nmessage:\n  image: https://example.com/a.jpg\n  text: %q\n",
		strings.Repeat("long text ", 120)))
	done := make(chan campaign.Result, 1)
	go func() { done <- b.send(t, context.Background(), s) }()
	var res campaign.Result
	select {
	case res = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the run waits out the hour's pause")
	}
	if res.Ending != campaign.RateLimitPaused || res.Counts.Unknown != 1 || res.Counts.Pending != 1 ||
		!slices.Contains(res.Counts.Reasons, campaign.ReasonCount{State: campaign.Unknown, Reason: "rate_limited", Count: 1}) {
		t.Fatalf("ending %s (%s), %+v", res.Ending, res.Reason, res.Counts)
	}
	if got := b.sb.Messages(); len(got) != 1 || got[0].Method != "sendPhoto" {
		t.Fatalf("sent %+v, want the first subscriber's photo only", got)
	}
}

func TestEachModeSendsItemsInOrderAndOnlyNewOnes(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{subscribers: 4})
	now := time.Now()
	b.items = []sources.Item{ // newest first, as sources return them
		{Key: "c", Title: "Third", Published: now},
		{Key: "b", Title: "Second", Published: now.Add(-time.Hour)},
		{Key: "a", Title: "First", Published: now.Add(-2 * time.Hour)},
	}
	s := spec(t, "channels: [telegram]\nsource: {url: x, backfill: 3}\nmode: each\nmax_items: 2\nmessage: {text: \"{{ .Item.Title }}\"}\n")
	res := b.send(t, context.Background(), s)
	if res.Counts.Sent != 8 || len(res.Run.Items) != 2 {
		t.Fatalf("first run: %+v items %d", res.Counts, len(res.Run.Items))
	}
	byChat := map[string][]string{}
	for _, m := range b.sb.Messages() {
		byChat[m.Chat] = append(byChat[m.Chat], m.Plain)
	}
	for chat, got := range byChat {
		if strings.Join(got, ",") != "First,Second" {
			t.Errorf("chat %s got %v, want oldest first and max_items 2", chat, got)
		}
	}
	// The third item waited; the next run sends it and nothing else.
	b.sb.Reset()
	res = b.send(t, context.Background(), s)
	if res.Counts.Sent != 4 || len(res.Run.Items) != 1 || res.Run.Items[0].Key != "c" {
		t.Fatalf("second run: %+v %+v", res.Counts, res.Run.Items)
	}
	// Nothing new: a run with nobody targeted, done.
	res = b.send(t, context.Background(), s)
	if res.Counts.Targeted != 0 || res.Run.State != campaign.RunDone {
		t.Fatalf("third run: %+v %s", res.Counts, res.Run.State)
	}
}

// TestMigratedGroupAlreadySubscribedGetsOneMessage: an old group id that
// Telegram says moved to an id that is already another subscriber must not
// send the group a second copy, this run or the next.
func TestMigratedGroupAlreadySubscribedGetsOneMessage(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{subscribers: 3})
	ctx := context.Background()
	_, err := b.store.Upsert(ctx, []audience.Subscriber{{Channel: "telegram", Address: "-1009999", Name: "Group", Tags: []string{"all"},
		Status: audience.Subscribed, Consent: audience.Consent{At: time.Now().Add(-time.Hour), Source: "import"}}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.sb.SetChat("1002", sandbox.ChatMigrated(-1009999))
	s := spec(t, staticSpec)
	for run := 1; run <= 2; run++ {
		b.sb.Reset()
		res := b.send(t, ctx, s)
		if n := b.perChat()["-1009999"]; n != 1 {
			t.Fatalf("run %d: the group got %d messages, want 1 (%+v)", run, n, res.Counts)
		}
		b.assertNoneTwice(t, 1)
		if run == 1 && reason(res.Counts, campaign.Skipped, "migrated_duplicate") != 1 {
			t.Fatalf("run 1: %+v", res.Counts)
		}
	}
	var old audience.Subscriber
	b.store.Subscribers(ctx, audience.Filter{}, func(s audience.Subscriber) error {
		if s.Address == "1002" {
			old = s
		}
		return nil
	})
	if old.Status != audience.Invalid {
		t.Fatalf("the old group entry: %+v", old)
	}
}

// TestStopDuringRateLimitWaitLeavesRefusedDeliveriesPending: a stop while
// deliveries wait out Telegram's retry_after must not send them afterwards;
// the refused ones go back to pending for a resume.
func TestStopDuringRateLimitWaitLeavesRefusedDeliveriesPending(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{subscribers: 6, sandbox: sandbox.Options{Rate: 0.2, Burst: 1, PaidRate: 0.2},
		send: campaign.SendOptions{Workers: 6, MaxPause: time.Minute}})
	s := spec(t, staticSpec)
	ctx, cancel := context.WithCancel(context.Background())
	run := b.plan(t, ctx, s)
	go func() {
		// Stop once the sandbox has refused someone with a 429.
		for {
			for _, r := range b.sb.Requests() {
				if r.Status == 429 {
					cancel()
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	res, err := b.engine.Dispatch(ctx, s, run, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Counts
	if res.Ending != campaign.Interrupted || c.Pending == 0 || c.Sending != 0 || c.Unknown != 0 {
		t.Fatalf("ending %s, counts %+v: refused deliveries must be pending, not sent after the stop", res.Ending, c)
	}
	if got := len(b.sb.Messages()); got != c.Sent {
		t.Fatalf("sandbox accepted %d, ledger says %d sent", got, c.Sent)
	}
}

// TestDispatchReportsProgress: the first report, before any delivery, gives
// the total; then every settled delivery is reported once, up to the total.
func TestDispatchReportsProgress(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{subscribers: 50})
	s := spec(t, staticSpec)
	run := b.plan(t, context.Background(), s)
	var mu sync.Mutex
	var reports [][2]int
	res, err := b.engine.Dispatch(context.Background(), s, run, func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if len(reports) == 0 && len(b.sb.Messages()) != 0 {
			t.Error("the first report came after a delivery")
		}
		reports = append(reports, [2]int{done, total})
	})
	if err != nil || res.Counts.Sent != 50 {
		t.Fatalf("%+v, %v", res.Counts, err)
	}
	if len(reports) != 51 || reports[0] != [2]int{0, 50} {
		t.Fatalf("%d reports, first %v; want 51, first [0 50]", len(reports), reports[0])
	}
	seen := map[int]bool{}
	for _, r := range reports[1:] {
		if r[1] != 50 || r[0] < 1 || r[0] > 50 || seen[r[0]] {
			t.Fatalf("report %v (reports %v)", r, reports)
		}
		seen[r[0]] = true
	}
}
