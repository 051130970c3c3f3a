package sqlstore

import (
	"embed"
	"fmt"
	"strings"
)

// sqlFiles holds the statements every dialect shares.
//
//go:embed sql/queries.sql
var sqlFiles embed.FS

// parseQueries adds the "-- name: X" sections of src (from file) to into.
func parseQueries(src, file string, into map[string]string) (map[string]string, error) {
	if into == nil {
		into = map[string]string{}
	}
	var name string
	var body strings.Builder
	flush := func() {
		if name != "" {
			into[name] = strings.TrimSuffix(strings.TrimSpace(body.String()), ";")
		}
		body.Reset()
	}
	for line := range strings.Lines(src) {
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "-- name:"); ok {
			flush()
			name = strings.TrimSpace(n)
			if _, dup := into[name]; dup {
				return nil, fmt.Errorf("%s: query %q defined twice", file, name)
			}
			continue
		}
		if name != "" && !strings.HasPrefix(strings.TrimSpace(line), "--") {
			body.WriteString(line)
		}
	}
	flush()
	return into, nil
}
