package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Dialect is what differs between the databases herald stores in. The
// logic, and most statements, are shared; a dialect adds the statements
// it writes its own way and a few fragments the shared ones are built from.
type Dialect struct {
	Name string
	// Queries are the dialect's own named statements ("-- name: X"
	// sections), added to the shared ones in sql/queries.sql; a name may
	// not be defined twice.
	Queries string
	// Numbered says the database wants $1, $2… where the statements have
	// ? (or ?1, ?2…, which become $1, $2…).
	Numbered bool
	// Tags is a FROM item giving the tags of subscriber s (a JSON array)
	// as rows with one column, value.
	Tags string
	// ZoneDue is an expression that looks up s.timezone in the JSON
	// object given as its one parameter, or 0 when it is not there.
	ZoneDue string
	// Lock, when set, runs first in every write transaction. PostgreSQL
	// takes an advisory lock with it, so herald's write transactions run
	// one after the other, as SQLite's single writer makes them.
	Lock string
	// Version reads the schema version; SetVersion (a format with one %d)
	// records it, in the migration's transaction.
	Version, SetVersion string
}

// dialect is a Dialect ready for use: its statements parsed. They keep
// their ? placeholders until they run (db and Tx bind them), so a
// statement built from a named one is bound as a whole, once.
type dialect struct {
	Dialect
	queries map[string]string
	bound   sync.Map // statement → the same with numbered placeholders
}

func newDialect(d Dialect) (*dialect, error) {
	shared, err := sqlFiles.ReadFile("sql/queries.sql")
	if err != nil {
		return nil, err
	}
	out := &dialect{Dialect: d}
	if out.queries, err = parseQueries(string(shared), "sql/queries.sql", nil); err != nil {
		return nil, err
	}
	if out.queries, err = parseQueries(d.Queries, d.Name+" queries", out.queries); err != nil {
		return nil, err
	}
	return out, nil
}

// q returns the named statement.
func (d *dialect) q(name string) string {
	s, ok := d.queries[name]
	if !ok {
		panic("sqlstore: no query named " + name + " for " + d.Name)
	}
	return s
}

// bind rewrites a statement's placeholders for the database.
func (d *dialect) bind(query string) string {
	if !d.Numbered || !strings.Contains(query, "?") {
		return query
	}
	if b, ok := d.bound.Load(query); ok {
		return b.(string)
	}
	b := numberPlaceholders(query)
	d.bound.Store(query, b)
	return b
}

// numberPlaceholders turns ? into $1, $2… in order, and ?N into $N,
// outside quoted strings and identifiers.
func numberPlaceholders(query string) string {
	var b strings.Builder
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			if j > i+1 {
				b.WriteString("$" + query[i+1:j])
				i = j - 1
				continue
			}
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// db is a pool whose statements are bound for the dialect.
type db struct {
	*sql.DB
	d *dialect
}

func (c db) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.DB.ExecContext(ctx, c.d.bind(query), args...)
}

func (c db) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.DB.QueryContext(ctx, c.d.bind(query), args...)
}

func (c db) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.DB.QueryRowContext(ctx, c.d.bind(query), args...)
}

func (c db) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.DB.PrepareContext(ctx, c.d.bind(query))
}

func (c db) q(name string) string { return c.d.q(name) }

// Tx is a write transaction whose statements are bound for the dialect.
type Tx struct {
	*sql.Tx
	d *dialect
}

func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.d.bind(query), args...)
}

func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.d.bind(query), args...)
}

func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.d.bind(query), args...)
}

func (t *Tx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.Tx.PrepareContext(ctx, t.d.bind(query))
}

func (t *Tx) q(name string) string { return t.d.q(name) }

// begin starts a write transaction, taking the dialect's lock first.
func begin(ctx context.Context, w *sql.DB, d *dialect) (*Tx, error) {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	if d.Lock != "" {
		if _, err := tx.ExecContext(ctx, d.Lock); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("begin: %w", err)
		}
	}
	return &Tx{Tx: tx, d: d}, nil
}

// inTx runs fn in one write transaction.
func inTx(ctx context.Context, w *sql.DB, d *dialect, fn func(*Tx) error) error {
	tx, err := begin(ctx, w, d)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Migrate brings the schema up to date from the numbered files of
// migrations ("0001_init.sql", …), each in its own transaction with the
// version it reaches. Under the dialect's lock the version is read again,
// so two processes starting at once apply each file once.
func Migrate(ctx context.Context, w *sql.DB, d Dialect, migrations fs.FS) error {
	files, err := fs.Glob(migrations, "[0-9]*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	dl := &dialect{Dialect: d}
	for {
		done := false
		err := inTx(ctx, w, dl, func(tx *Tx) error {
			var version int
			if err := tx.QueryRowContext(ctx, d.Version).Scan(&version); err != nil {
				return fmt.Errorf("read schema version: %w", err)
			}
			if version > len(files) {
				return fmt.Errorf("the database has schema version %d but this herald knows only %d: upgrade herald", version, len(files))
			}
			if version == len(files) {
				done = true
				return nil
			}
			body, err := fs.ReadFile(migrations, files[version])
			if err != nil {
				return err
			}
			if _, err := tx.Tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("apply %s: %w", path.Base(files[version]), err)
			}
			_, err = tx.Tx.ExecContext(ctx, fmt.Sprintf(d.SetVersion, version+1))
			return err
		})
		if err != nil || done {
			return err
		}
	}
}
