// Package pgtest gives tests an empty PostgreSQL database of their own on
// the server HERALD_TEST_POSTGRES_DSN names (CI sets it; without it the
// tests that need one are skipped).
package pgtest

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// EnvDSN names the variable with the server's URL.
const EnvDSN = "HERALD_TEST_POSTGRES_DSN"

var count atomic.Int64

// Server returns the URL of the test server, as EnvDSN gives it, and skips
// t when none is configured.
func Server(t testing.TB) *url.URL {
	t.Helper()
	base := os.Getenv(EnvDSN)
	if base == "" {
		t.Skip(EnvDSN + " is not set: no PostgreSQL to test against")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvDSN, err)
	}
	return u
}

// Database creates an empty database for t and returns its URL; it is
// dropped when t ends. It skips t when no server is configured.
func Database(t testing.TB) string {
	t.Helper()
	u := Server(t)
	base := u.String()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("herald_test_%d_%d", os.Getpid(), count.Add(1))
	if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create a test database (the user of %s needs CREATEDB): %v", EnvDSN, err)
	}
	t.Cleanup(func() {
		if admin, err := sql.Open("pgx", base); err == nil {
			admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			admin.Close()
		}
	})
	u.Path = "/" + name
	return u.String()
}
