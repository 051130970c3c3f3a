package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/store/sqlite"
)

// TestMigrateFromVersion2 upgrades a database written by the previous
// schema: its subscribers keep their data and get a history, and the
// tombstone key is made.
func TestMigrateFromVersion2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "herald.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"sql/0001_init.sql", "sql/0002_messenger.sql"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	consent := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	stopped := consent.Add(48 * time.Hour)
	_, err = db.ExecContext(ctx, `INSERT INTO subscribers (channel, address, name, tags, status, consent_at, consent_source, consent_ref, created_at, updated_at)
		VALUES ('telegram', '1', 'Ada', '["blog"]', 'unsubscribed', ?, 'telegram_start', 'blog', ?, ?)`, consent.UnixMilli(), consent.UnixMilli(), stopped.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA user_version = 2"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sub, err := s.Subscriber(ctx, "telegram", "1")
	if err != nil {
		t.Fatal(err)
	}
	if sub.Name != "Ada" || sub.Status != audience.Unsubscribed || !slices.Equal(sub.Tags, []string{"blog"}) {
		t.Fatalf("after the upgrade: %+v", sub)
	}
	hist, err := s.History(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Kind != audience.Subscribed || !hist[0].At.Equal(consent) || hist[0].Ref != "blog" ||
		hist[1].Kind != audience.Unsubscribed || hist[1].Previous != audience.Subscribed || !hist[1].At.Equal(stopped) {
		t.Fatalf("history after the upgrade: %+v", hist)
	}
	// The new tables work, and forgetting uses the key the migration made.
	if err := s.Forget(ctx, "telegram", "1", stopped.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	st, err := s.Upsert(ctx, []audience.Subscriber{{Channel: "telegram", Address: "1", Status: audience.Subscribed,
		Consent: audience.Consent{At: consent, Source: "import"}}}, stopped.Add(2*time.Hour))
	if err != nil || st.Forgotten != 1 {
		t.Fatalf("re-import after forget: %+v %v", st, err)
	}
}
