package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/govalues/decimal"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/sources"
	"github.com/heraldcli/herald/sources/catalog"
)

// testProducts: product states are written with a run (or a consume),
// per campaign and catalog URL, exactly as given: decimal prices keep
// their digits and times their millisecond.
func testProducts(t *testing.T, s Store) {
	ctx := context.Background()
	dropAt := t0.Add(-36 * time.Hour).Truncate(time.Millisecond)
	a := catalog.State{Key: "id:a", Price: decimal.MustParse("15.10"), Currency: "EUR", Availability: sources.InStock,
		RefPrice: decimal.MustParse("20.00"), DropAt: dropAt}
	b := catalog.State{Key: "id:b", Price: decimal.MustParse("1200"), Currency: "JPY", Availability: sources.OutOfStock,
		RefPrice: decimal.MustParse("1200")}
	if got := must(s.ProductStates(ctx, "shop", "cat.csv"))(t); len(got) != 0 {
		t.Fatalf("product states before any run: %v", got)
	}
	src := &campaign.SourceState{URL: "cat.csv", Products: []catalog.State{a, b}}
	plan(t, s, campaign.PlanRequest{Campaign: "shop", Source: src, Now: t0})
	got := must(s.ProductStates(ctx, "shop", "cat.csv"))(t)
	if len(got) != 2 || got["id:a"].Price.String() != "15.10" || got["id:a"].RefPrice.String() != "20.00" ||
		!got["id:a"].DropAt.Equal(dropAt) || !got["id:a"].BackAt.IsZero() || got["id:b"].Currency != "JPY" ||
		got["id:b"].Availability != sources.OutOfStock {
		t.Fatalf("product states after the run: %+v", got)
	}
	if other := must(s.ProductStates(ctx, "other", "cat.csv"))(t); len(other) != 0 {
		t.Fatalf("another campaign sees the shop's product states: %v", other)
	}

	// A consume updates one product and leaves the other as it was.
	b.Availability, b.BackAt = sources.InStock, t0.Add(time.Hour)
	gen := must(s.SourceState(ctx, "shop", "cat.csv"))(t).Generation
	stale := &campaign.SourceState{URL: "cat.csv", Products: []catalog.State{{Key: "id:a", Price: decimal.MustParse("1.00"), RefPrice: decimal.MustParse("1.00")}}, Generation: gen - 1}
	if err := s.Consume(ctx, "shop", nil, stale, t0.Add(time.Hour)); !errors.Is(err, campaign.ErrSourceChanged) {
		t.Fatalf("a consume of a stale state: %v, want ErrSourceChanged", err)
	}
	if err := s.Consume(ctx, "shop", nil, &campaign.SourceState{URL: "cat.csv", Products: []catalog.State{b}, Generation: gen}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got = must(s.ProductStates(ctx, "shop", "cat.csv"))(t)
	if got["id:b"].Availability != sources.InStock || !got["id:b"].BackAt.Equal(b.BackAt) || got["id:a"].Price.String() != "15.10" {
		t.Fatalf("product states after a consume: %+v", got)
	}
}
