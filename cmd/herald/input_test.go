package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInvalidInputSendsNothing: every kind of bad input exits 2 with a
// message that says where the problem is, before anything is sent or recorded.
func TestInvalidInputSendsNothing(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name    string
		files   map[string]string // workspace files to write
		args    []string          // default: campaign send bad --yes
		want    []string          // in stderr
		lintToo bool              // herald lint must report it too (on stdout)
	}{
		{
			name: "campaign with an unknown key",
			files: map[string]string{"campaigns/bad.yaml": `channels: [telegram]
mode: static
mesage:
  text: hi
`},
			want:    []string{"bad.yaml:3", "mesage"},
			lintToo: true,
		},
		{
			name: "template error",
			files: map[string]string{"campaigns/bad.yaml": `channels: [telegram]
mode: static
message:
  text: |
    Hello {{ .Subscriber.Name
`},
			want:    []string{"bad.yaml:5"},
			lintToo: true,
		},
		{
			name:  "herald.yaml with an unknown key",
			files: map[string]string{"herald.yaml": "telegram:\n  rate: 30\n  tokn: x\n"},
			args:  []string{"campaign", "send", "blog-digest", "--yes"},
			want:  []string{"herald.yaml:3", "tokn"},
		},
		{
			name: "a static text above Telegram's limit",
			files: map[string]string{"campaigns/bad.yaml": `channels: [telegram]
mode: static
message:
  text: "` + long + `"
`},
			want:    []string{"bad.yaml:4", "4096", "nothing was sent"},
			lintToo: true,
		},
		{
			name: "a digest that renders above Telegram's limit",
			files: map[string]string{"campaigns/bad.yaml": `channels: [telegram]
source: {type: rss, url: feeds/blog.xml, backfill: 5}
mode: digest
message:
  text: |
    {{ range .Items }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ .Summary }}{{ end }}
`},
			want:    []string{"bad.yaml:5", "4096", "nothing was sent"},
			lintToo: true,
		},
		{
			name: "unknown campaign",
			args: []string{"campaign", "send", "nope", "--yes"},
			want: []string{`no campaign "nope"`, "announcement, blog-digest"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.importAudience(t)
			originals := map[string]string{} // restored for the checks after
			for rel, content := range tt.files {
				if old, err := os.ReadFile(b.path(rel)); err == nil {
					originals[rel] = string(old)
				}
				b.write(t, rel, content)
			}
			args := tt.args
			if args == nil {
				args = []string{"campaign", "send", "bad", "--yes"}
			}
			r := b.herald(t, args...)
			if r.code != 2 {
				t.Fatalf("want exit 2, got %s", r)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "--help") {
				t.Errorf("bad input is not a usage mistake: %s", r.stderr)
			}
			if n := len(b.sb.Messages()); n != 0 {
				t.Errorf("the sandbox got %d messages", n)
			}
			for rel, content := range originals {
				b.write(t, rel, content)
			}
			if runs := b.runList(t); len(runs) != 0 {
				t.Errorf("runs were recorded: %v", runs)
			}
			if tt.lintToo {
				l := b.herald(t, "lint")
				if l.code != 2 || !strings.Contains(l.stdout, tt.want[0]) {
					t.Errorf("lint: want exit 2 naming %s, got %s", tt.want[0], l)
				}
			}
		})
	}
}

func TestImportRefusesBadRows(t *testing.T) {
	t.Parallel()
	b := setup(t)
	csvPath := b.write(t, "bad.csv", `channel,address,name,consent_at,consent_source
telegram,111,Ann,2026-01-10T09:15:00Z,telegram_start
telegram,222,Ben,yesterday,telegram_start
telegram,333,Cat,2026-01-11T09:15:00Z,telegram_start
telegram,444,Dan,,
telegram,555,Eva,2026-01-12T09:15:00Z,import
`)
	r := b.herald(t, "audience", "import", csvPath)
	if r.code != 2 {
		t.Fatalf("want exit 2, got %s", r)
	}
	for _, w := range []string{"2 row(s) refused; nothing was imported", "bad.csv:3: consent_at \"yesterday\"", "bad.csv:5:", "--skip-invalid"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "bad.csv:2:") || strings.Contains(r.stderr, "bad.csv:4:") || strings.Contains(r.stderr, "bad.csv:6:") {
		t.Errorf("a valid row was reported: %s", r.stderr)
	}
	if list := b.must(t, 0, "audience", "list", "--output", "json"); strings.TrimSpace(list.stdout) != "[]" {
		t.Errorf("audience list after a refused import: %s", list.stdout)
	}

	r = b.must(t, 0, "audience", "import", csvPath, "--skip-invalid", "--output", "json")
	got := decode[struct {
		Rows     int `json:"rows"`
		Imported int `json:"imported"`
		Refused  []struct {
			Line   int    `json:"line"`
			Column string `json:"column"`
		} `json:"refused"`
	}](t, r.stdout)
	if got.Rows != 5 || got.Imported != 3 || len(got.Refused) < 2 || got.Refused[0].Line != 3 || got.Refused[len(got.Refused)-1].Line != 5 {
		t.Errorf("import --skip-invalid: %+v", got)
	}
	list := decode[[]map[string]any](t, b.must(t, 0, "audience", "list", "--output", "json").stdout)
	var addrs []string
	for _, s := range list {
		addrs = append(addrs, s["address"].(string))
	}
	if strings.Join(addrs, ",") != "111,333,555" {
		t.Errorf("audience after --skip-invalid: %v", addrs)
	}
}

func TestInitAndUsageErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dir := filepath.Join(t.TempDir(), "mybrand")

	r := b.must(t, 0, "init", dir)
	if !strings.Contains(r.stdout, "Created workspace "+dir) {
		t.Errorf("init: %s", r)
	}
	for _, f := range []string{"herald.yaml", "campaigns/blog-digest.yaml", "campaigns/announcement.yaml", "audience.csv", "feeds/blog.xml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("init did not create %s: %v", f, err)
		}
	}
	// The new workspace works.
	l := b.heraldEnv(t, map[string]string{"HERALD_WORKSPACE": dir}, "lint")
	if l.code != 0 {
		t.Errorf("lint in the new workspace: %s", l)
	}
	r = b.herald(t, "init", dir)
	if r.code != 2 || !strings.Contains(r.stderr, "already holds a herald workspace") {
		t.Errorf("init into a workspace: want exit 2, got %s", r)
	}

	for _, args := range [][]string{
		{"report", "1", "--output", "yaml"},
		{"campaign", "send", "blog-digest", "--output", "yaml"},
		{"campaign", "send", "blog-digest", "--no-such-flag"},
		{"campaign", "send"},
		{"report", "x"},
		{"campaign", "resume", "1", "--max-failure-rate", "5"},
		{"campaign", "sned", "blog-digest"}, // cobra alone prints help and exits 0
		{"campagn", "send", "blog-digest"},  // cobra alone exits 1
		{"run", "lst"},
	} {
		r := b.herald(t, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "--help' for usage.") {
			t.Errorf("herald %s: want exit 2 and the usage hint, got %s", strings.Join(args, " "), r)
		}
	}
	r = b.herald(t, "campaign", "sned", "blog-digest")
	if !strings.Contains(r.stderr, `unknown command "sned" for "herald campaign" (did you mean send?)`) || r.stdout != "" {
		t.Errorf("campaign sned: %s", r)
	}
	r = b.must(t, 0, "campaign")
	if !strings.Contains(r.stdout, "Available Commands:") || !strings.Contains(r.stdout, "resume") {
		t.Errorf("campaign alone should print its help: %s", r)
	}
	r = b.herald(t, "report", "1", "--output", "yaml")
	if !strings.Contains(r.stderr, `--output "yaml": use table, json, csv`) || !strings.Contains(r.stderr, "Run 'herald report --help' for usage.") {
		t.Errorf("report --output yaml: %s", r)
	}

	r = b.heraldEnv(t, map[string]string{leaseTTLEnv: "soon"}, "run", "list")
	if r.code != 2 || !strings.Contains(r.stderr, `HERALD_LEASE_TTL "soon"`) {
		t.Errorf("a bad HERALD_LEASE_TTL: %s", r)
	}

	// No workspace: --workspace or HERALD_WORKSPACE naming a folder without one.
	empty := t.TempDir()
	for _, extra := range []map[string]string{{"HERALD_WORKSPACE": empty}} {
		r := b.heraldEnv(t, extra, "campaign", "send", "blog-digest", "--yes")
		if r.code != 2 || !strings.Contains(r.stderr, "has no herald.yaml") || !strings.Contains(r.stderr, "herald init") {
			t.Errorf("HERALD_WORKSPACE without a workspace: %s", r)
		}
	}
	r = b.heraldEnv(t, map[string]string{"HERALD_WORKSPACE": ""}, "report", "1", "--workspace", empty)
	if r.code != 2 || !strings.Contains(r.stderr, empty+" has no herald.yaml") {
		t.Errorf("--workspace without a workspace: %s", r)
	}
	// Neither: herald looks upward from the current folder (a child process,
	// so the test's own folder stays put).
	c := b.start(t, empty, map[string]string{"HERALD_WORKSPACE": ""}, "run", "list").wait(t, 30*time.Second)
	if c.code != 2 || !strings.Contains(c.stderr, "no herald.yaml in") || !strings.Contains(c.stderr, "herald init mybrand") {
		t.Errorf("no workspace anywhere: %s", c)
	}
}

// TestBadSourceIsInvalidInput: a campaign whose source is a page, a missing
// file or a 404 exits 2 and says what it got; nothing is sent or recorded.
func TestBadSourceIsInvalidInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importAudience(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/gone.xml" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><html><title>Our blog</title></html>"))
	}))
	t.Cleanup(srv.Close)
	b.write(t, "feeds/page.xml", "<!doctype html><html><body>not a feed</body></html>")
	for name, tc := range map[string]struct{ url, want string }{
		"html file":    {"feeds/page.xml", "not a feed"},
		"missing file": {"feeds/nope.xml", "no such file"},
		"html page":    {srv.URL + "/blog", "not a feed: got HTTP 200 text/html"},
		"404":          {srv.URL + "/gone.xml", "404"},
	} {
		camp := "src-" + strings.ReplaceAll(name, " ", "-")
		b.write(t, "campaigns/"+camp+".yaml", "channels: [telegram]\nsource: {url: \""+tc.url+"\"}\nmessage: {text: \"{{ .Item.Title }}\"}\n")
		for _, args := range [][]string{{"campaign", "send", camp, "--yes"}, {"campaign", "preview", camp}} {
			r := b.herald(t, args...)
			if r.code != exitInvalid || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("%s: %v: exit %d, stderr %q; want 2 and %q", name, args, r.code, r.stderr, tc.want)
			}
		}
	}
	if n := len(b.sb.Messages()); n != 0 {
		t.Fatalf("the sandbox received %d messages", n)
	}
	if runs := b.runList(t); len(runs) != 0 {
		t.Fatalf("runs were recorded: %v", runs)
	}
}
