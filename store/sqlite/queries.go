package sqlite

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// queries holds the named statements of sql/queries.sql.
var queries = mustLoadQueries()

func mustLoadQueries() map[string]string {
	b, err := sqlFiles.ReadFile("sql/queries.sql")
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	q, err := parseQueries(string(b))
	if err != nil {
		panic(err)
	}
	return q
}

// parseQueries splits a file of "-- name: X" sections into statements.
func parseQueries(src string) (map[string]string, error) {
	out := map[string]string{}
	var name string
	var body strings.Builder
	flush := func() {
		if name != "" {
			out[name] = strings.TrimSuffix(strings.TrimSpace(body.String()), ";")
		}
		body.Reset()
	}
	for line := range strings.Lines(src) {
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "-- name:"); ok {
			flush()
			name = strings.TrimSpace(n)
			if _, dup := out[name]; dup {
				return nil, fmt.Errorf("queries.sql: query %q defined twice", name)
			}
			continue
		}
		if name != "" && !strings.HasPrefix(strings.TrimSpace(line), "--") {
			body.WriteString(line)
		}
	}
	flush()
	return out, nil
}

func q(name string) string {
	s, ok := queries[name]
	if !ok {
		panic("sqlite: no query named " + name)
	}
	return s
}

// migrations returns the numbered schema files in order.
func migrations() ([]string, error) {
	names, err := fs.Glob(sqlFiles, "sql/[0-9]*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}
