package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/store/postgres"
	"github.com/heraldcli/herald/store/postgres/pgtest"
	"github.com/heraldcli/herald/store/sqlstore"
	"github.com/heraldcli/herald/store/storetest"
)

func open(t testing.TB) storetest.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) { storetest.Exercise(t, open) }

// BenchmarkApply is the ledger's cost per delivery on PostgreSQL.
func BenchmarkApply(b *testing.B) { storetest.BenchApply(b, open(b)) }

// TestProcessesShareOneLedger: several herald processes (here, stores) on
// one database, all starting at once. The schema is made once, and of
// every race that matters only one wins: planning the campaign's run, and
// taking its lease.
func TestProcessesShareOneLedger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Database(t)
	const n = 6
	stores := make([]*sqlstore.Store, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range stores {
		wg.Go(func() {
			stores[i], errs[i] = postgres.Open(ctx, dsn)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	now := time.Now()
	if _, err := stores[0].Upsert(ctx, []audience.Subscriber{{Channel: "telegram", Address: "1",
		Consent: audience.Consent{At: now, Source: "import"}}}, now); err != nil {
		t.Fatal(err)
	}

	runs := make([]campaign.Run, n)
	for i, s := range stores {
		wg.Go(func() {
			runs[i], errs[i] = s.Plan(ctx, campaign.PlanRequest{Campaign: "c", Trigger: "ci", IdempotencyKey: "k",
				Channels: []string{"telegram"}, Parts: 1, Now: now})
		})
	}
	wg.Wait()
	planned := 0
	for i, err := range errs {
		var conflict *campaign.RunConflict
		switch {
		case err == nil:
			planned++
		case errors.As(err, &conflict) && conflict.Run.ID == runs[i].ID:
		default:
			t.Fatalf("store %d: %v", i, err)
		}
	}
	if planned != 1 {
		t.Fatalf("%d stores planned the run, want 1", planned)
	}
	for _, r := range runs[1:] {
		if r.ID != runs[0].ID {
			t.Fatalf("the stores saw runs %d and %d", runs[0].ID, r.ID)
		}
	}

	acquired := 0
	for i, s := range stores {
		wg.Go(func() {
			_, errs[i] = s.AcquireRun(ctx, runs[0].ID, "owner"+string(rune('A'+i)), now, time.Minute)
		})
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case err == nil:
			acquired++
		case !errors.Is(err, campaign.ErrRunBusy):
			t.Fatalf("store %d: %v", i, err)
		}
	}
	if acquired != 1 {
		t.Fatalf("%d stores took the run's lease, want 1", acquired)
	}
}

func TestOpenErrorHidesThePassword(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://herald:s3cret-pw@127.0.0.1:1/nowhere?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("opened a database on port 1")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("the error shows the password: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("the error does not say which server: %v", err)
	}
}

// TestConfigErrors: a URL that does not parse is the URL's fault; a server
// that cannot be reached is not.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := postgres.Open(ctx, "postgres://herald:pw@127.0.0.1:5432/db?connect_timeout=abc")
	if err == nil || !postgres.IsConfigError(err) || strings.Contains(err.Error(), ":pw@") {
		t.Errorf("unparseable URL: IsConfigError false or password shown: %v", err)
	}
	_, err = postgres.Open(ctx, "postgres://herald:pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	if err == nil || postgres.IsConfigError(err) {
		t.Errorf("unreachable server counted as a bad URL: %v", err)
	}
}
