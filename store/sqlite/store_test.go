package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/heraldcli/herald/store/sqlite"
	"github.com/heraldcli/herald/store/storetest"
)

func open(t testing.TB) storetest.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) { storetest.Exercise(t, open) }

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "herald.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SourceState(ctx, "c", "u"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path) // migrations are idempotent
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}
