// Package postgres is herald's store on PostgreSQL, for when one machine is
// no longer enough: several herald processes on several machines share one
// ledger, and a run's lease keeps each run with one of them. The logic is
// store/sqlstore's, the same as the embedded SQLite store's; this package
// connects (through pgx), keeps the schema, and writes the statements
// PostgreSQL has its own way of.
//
// Write transactions take one advisory lock first, so they run one after
// the other, exactly as SQLite's single writer runs them: every check a
// transaction makes (a run's lease, the campaign's active run, a source's
// generation) still holds when it commits. Reads do not take it.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/heraldcli/herald/store/sqlstore"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// lockKey is the advisory lock herald's write transactions take ("herald"
// in ASCII); other applications' locks on the database are not disturbed.
const lockKey = 0x686572616c64

// Dialect is PostgreSQL's.
var Dialect = sqlstore.Dialect{
	Name:       "postgres",
	Queries:    mustRead("sql/queries.sql"),
	Numbered:   true,
	Tags:       "jsonb_array_elements_text(s.tags::jsonb) AS t(value)",
	ZoneDue:    "COALESCE((?::jsonb ->> s.timezone)::bigint, 0)",
	Lock:       fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", lockKey),
	Version:    "SELECT version FROM herald_schema",
	SetVersion: "UPDATE herald_schema SET version = %d",
}

func mustRead(name string) string {
	b, err := sqlFiles.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	return string(b)
}

// Open connects to the database at dsn (postgres://user@host:port/db?…)
// and brings its schema up to date.
func Open(ctx context.Context, dsn string) (*sqlstore.Store, error) {
	where := Redact(dsn)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", where, err)
	}
	db.SetMaxOpenConns(8)
	if err := prepare(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", where, err)
	}
	s, err := sqlstore.New(ctx, db, db, Dialect)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", where, err)
	}
	return s, nil
}

// prepare makes the schema version's table if it is missing and migrates.
func prepare(ctx context.Context, db *sql.DB) error {
	if err := db.PingContext(ctx); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, Dialect.Lock+`;
CREATE TABLE IF NOT EXISTS herald_schema (version BIGINT NOT NULL);
INSERT INTO herald_schema (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM herald_schema)`); err != nil {
		return fmt.Errorf("make the schema version table: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	migrations, _ := fs.Sub(sqlFiles, "sql")
	return sqlstore.Migrate(ctx, db, Dialect, migrations)
}

// IsConfigError reports whether err says the URL itself is wrong (it does
// not parse, or names no such database, user or password), not that the
// server could not be reached.
func IsConfigError(err error) bool {
	var parseErr *pgconn.ParseConfigError
	if errors.As(err, &parseErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "3D000", "28000", "28P01": // invalid_catalog_name, invalid_authorization_specification, invalid_password
		return true
	}
	return false
}

// Redact returns dsn without its password, for messages.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "(the PostgreSQL URL)"
	}
	return u.Redacted()
}
