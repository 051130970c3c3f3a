package storetest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
)

// BenchApply measures the ledger's two writes per delivery the way the
// dispatcher makes them: each commit marks a batch of deliveries sending and
// records the outcomes of the batch before it, durably. st must be empty.
func BenchApply(b *testing.B, st Store) {
	const n, batch = 20_000, 38
	ctx := context.Background()
	now := time.Now()
	subs := make([]audience.Subscriber, n)
	for i := range subs {
		subs[i] = audience.Subscriber{Channel: "telegram", Address: strconv.Itoa(100_000 + i), Status: audience.Subscribed,
			Consent: audience.Consent{At: now.Add(-time.Hour), Source: "import"}}
	}
	if _, err := st.Upsert(ctx, subs, now); err != nil {
		b.Fatal(err)
	}
	spec, err := campaign.ParseSpec("b.yaml", "b", []byte("channels: [telegram]\nmode: static\nmessage: {text: hi}\n"), []string{"telegram"})
	if err != nil {
		b.Fatal(err)
	}
	e := &campaign.Engine{Store: st}
	var run campaign.Run
	var ids, prev []int64
	replan := func() {
		if run.ID != 0 {
			// Every outcome recorded: all sent but the last batch, still sending.
			c, err := st.Counts(ctx, run.ID)
			if err != nil || c.Sent != n-len(ids)-len(prev) || c.Sending != len(prev) {
				b.Fatalf("after %d batches: %+v, %v", n/batch, c, err)
			}
			if _, err := st.CancelRun(ctx, run.ID, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		d, err := e.Prepare(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		if run, err = e.Plan(ctx, d, "manual", ""); err != nil {
			b.Fatal(err)
		}
		ids = ids[:0]
		for after := int64(0); ; {
			cl, err := st.Pending(ctx, run.ID, after, 1000, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			if len(cl) == 0 {
				break
			}
			for _, c := range cl {
				ids = append(ids, c.DeliveryID)
			}
			after = ids[len(ids)-1]
		}
	}
	replan()
	done := 0
	b.ResetTimer()
	for b.Loop() {
		if len(ids) < batch {
			b.StopTimer()
			replan()
			prev = nil
			b.StartTimer()
		}
		bt := campaign.Batch{RunID: run.ID, At: time.Now(), Sending: ids[:batch:batch]}
		for _, id := range prev {
			bt.Outcomes = append(bt.Outcomes, campaign.Outcome{DeliveryID: id, Marked: true, State: campaign.Sent, MessageIDs: []string{strconv.FormatInt(id, 10)}})
		}
		res, err := st.Apply(ctx, bt)
		if err != nil || len(res.Marked) != batch {
			b.Fatalf("marked %d of %d: %v", len(res.Marked), batch, err)
		}
		prev, ids = ids[:batch], ids[batch:]
		done += batch
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(done), "ns/delivery")
}
