package sqlstore

import "testing"

func TestNumberPlaceholders(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"a = ?1 OR b = ?1 AND c = ?12", "a = $1 OR b = $1 AND c = $12"},
		{"a = '?' AND b = ? AND \"x?\" = ?", "a = '?' AND b = $1 AND \"x?\" = $2"},
		{"a = 'it''s ?' AND b = ?", "a = 'it''s ?' AND b = $1"},
	} {
		if got := numberPlaceholders(c.in); got != c.want {
			t.Errorf("numberPlaceholders(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzNumberPlaceholders(f *testing.F) {
	f.Add("a = ? AND b = '?' AND c = ?3")
	f.Fuzz(func(t *testing.T, q string) {
		out := numberPlaceholders(q)
		// Outside quotes no ? is left; inside, nothing changes.
		for i, quote := 0, byte(0); i < len(out); i++ {
			switch c := out[i]; {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '\'' || c == '"':
				quote = c
			case c == '?':
				t.Fatalf("%q → %q keeps a ?", q, out)
			}
		}
	})
}
