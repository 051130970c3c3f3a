// Package sqlite is herald's embedded store: one SQLite file in WAL mode,
// written through a single connection with BEGIN IMMEDIATE and read through a
// small pool. It uses modernc.org/sqlite, a pure-Go driver, so herald builds
// without cgo. The logic is store/sqlstore's; this package opens the file,
// keeps its schema and writes the statements SQLite has its own way of.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/heraldcli/herald/store/sqlstore"
)

// Store is the SQLite store.
type Store = sqlstore.Store

//go:embed sql/*.sql
var sqlFiles embed.FS

// Dialect is SQLite's: batches are JSON read with json_each, and
// migrations are counted in PRAGMA user_version.
var Dialect = sqlstore.Dialect{
	Name:       "sqlite",
	Queries:    mustRead("sql/queries.sql"),
	Tags:       "json_each(s.tags)",
	ZoneDue:    "COALESCE((SELECT z.value FROM json_each(?) z WHERE z.key = s.timezone), 0)",
	Version:    "PRAGMA user_version",
	SetVersion: "PRAGMA user_version = %d",
}

func mustRead(name string) string {
	b, err := sqlFiles.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	return string(b)
}

// Open opens (creating if needed) the database at path and brings its schema
// up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	w, r, err := open(path)
	if err != nil {
		return nil, err
	}
	migrations, _ := fs.Sub(sqlFiles, "sql")
	if err := sqlstore.Migrate(ctx, w, Dialect, migrations); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s, err := sqlstore.New(ctx, w, r, Dialect)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// open returns the file's writer (one connection) and readers.
func open(path string) (w, r *sql.DB, err error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("create store folder: %w", err)
		}
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(ON)"
	// The writer syncs every commit (FULL): a "sending" mark must survive a
	// power cut, or its delivery could be sent again after the reboot.
	// Group commit keeps the syncs few.
	if w, err = sql.Open("sqlite", dsn+"&_pragma=synchronous(FULL)&_txlock=immediate"); err != nil {
		return nil, nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if r, err = sql.Open("sqlite", dsn); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	return w, r, nil
}
