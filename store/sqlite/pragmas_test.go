package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// TestWriterIsDurable guards the settings the ledger's promises rest on.
func TestWriterIsDurable(t *testing.T) {
	t.Parallel()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var sync int
	var mode string
	var fk int
	if err := s.w.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	s.w.QueryRow("PRAGMA journal_mode").Scan(&mode)
	s.w.QueryRow("PRAGMA foreign_keys").Scan(&fk)
	if sync != 2 || mode != "wal" || fk != 1 {
		t.Fatalf("writer: synchronous=%d (want 2, FULL), journal_mode=%s (want wal), foreign_keys=%d", sync, mode, fk)
	}
}
