package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriterIsDurable guards the settings the ledger's promises rest on.
func TestWriterIsDurable(t *testing.T) {
	t.Parallel()
	w, r, err := open(filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	var sync int
	var mode string
	var fk int
	if err := w.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	w.QueryRow("PRAGMA journal_mode").Scan(&mode)
	w.QueryRow("PRAGMA foreign_keys").Scan(&fk)
	if sync != 2 || mode != "wal" || fk != 1 {
		t.Fatalf("writer: synchronous=%d (want 2, FULL), journal_mode=%s (want wal), foreign_keys=%d", sync, mode, fk)
	}
}

// TestReceiptsUseTheirIndex guards that a receipt reads one subscriber's
// Messenger deliveries, not the whole ledger.
func TestReceiptsUseTheirIndex(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "herald.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, r, err := open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, name := range []string{"ReceiptByWatermark", "ReceiptByMids"} {
		rows, err := w.Query("EXPLAIN QUERY PLAN "+s.Query(name), "read", "p", "read", "[]")
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if !strings.Contains(strings.Join(plan, "\n"), "deliveries_receipts") {
			t.Errorf("%s does not use deliveries_receipts:\n%s", name, strings.Join(plan, "\n"))
		}
	}
}
