package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/channels/sandbox"
	"github.com/heraldcli/herald/configs"
)

// testMainEnv makes the test binary behave as herald itself, so tests can run
// herald as a separate process (and kill it).
const testMainEnv = "HERALD_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(testMainEnv) == "1" {
		os.Exit(Main(os.Args[1:], SystemStreams()))
	}
	os.Exit(m.Run())
}

// testToken is the bot token the tests use: distinctive, so that any output
// that leaks it is caught.
const testToken = "424242:herald-TEST-token_S3CR3T"

// The Messenger secrets the tests use, as distinctive as testToken.
const (
	testPageToken   = "EAAG-herald-TEST-page-token-S3CR3T"
	testAppSecret   = "herald-TEST-app-secret-S3CR3T"
	testVerifyToken = "herald-TEST-verify-S3CR3T"
)

// bundle is what a CLI test needs: a workspace written from the example, a
// sandbox on a loopback port, and the environment that points herald at both.
type bundle struct {
	dir string
	sb  *sandbox.Server
	url string
	env map[string]string
}

// result is one herald invocation's exit code and output.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s\n--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// setup writes the example workspace into a temporary folder and starts a
// sandbox (configured by opts, if given) for it. Its audience is the
// example's Telegram subscribers: the tests that count Telegram deliveries
// stay about Telegram. setupMessenger keeps the Messenger subscribers too.
func setup(t *testing.T, opts ...sandbox.Options) *bundle {
	t.Helper()
	b := setupMessenger(t, opts...)
	csv, err := os.ReadFile(b.path("audience.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for line := range strings.Lines(string(csv)) {
		if !strings.HasPrefix(line, "messenger,") {
			keep = append(keep, line)
		}
	}
	b.write(t, "audience.csv", strings.Join(keep, ""))
	return b
}

// setupMessenger is setup with the example's whole audience, Telegram and
// Messenger.
func setupMessenger(t *testing.T, opts ...sandbox.Options) *bundle {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ws")
	if err := configs.WriteWorkspace(dir); err != nil {
		t.Fatal(err)
	}
	var o sandbox.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	sb := sandbox.New(o)
	url, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return &bundle{dir: dir, sb: sb, url: url, env: map[string]string{
		"HERALD_WORKSPACE":              dir,
		"HERALD_TELEGRAM_API_URL":       url,
		"HERALD_TELEGRAM_TOKEN":         testToken,
		"HERALD_MESSENGER_API_URL":      url,
		"HERALD_MESSENGER_PAGE_ID":      sb.MessengerPageID(),
		"HERALD_MESSENGER_PAGE_TOKEN":   testPageToken,
		"HERALD_MESSENGER_APP_SECRET":   testAppSecret,
		"HERALD_MESSENGER_VERIFY_TOKEN": testVerifyToken,
	}}
}

// envWith is the bundle's environment with extra set on top ("" removes a key).
func (b *bundle) envWith(extra map[string]string) map[string]string {
	env := make(map[string]string, len(b.env)+len(extra))
	for k, v := range b.env {
		env[k] = v
	}
	for k, v := range extra {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	return env
}

// herald runs herald in-process with the bundle's environment.
func (b *bundle) herald(t *testing.T, args ...string) result {
	t.Helper()
	return b.heraldCtx(context.Background(), t, nil, args...)
}

// heraldEnv runs herald in-process with extra environment.
func (b *bundle) heraldEnv(t *testing.T, extra map[string]string, args ...string) result {
	t.Helper()
	return b.heraldCtx(context.Background(), t, extra, args...)
}

func (b *bundle) heraldCtx(ctx context.Context, t *testing.T, extra map[string]string, args ...string) result {
	t.Helper()
	io, out, errOut := TestStreams("", b.envWith(extra))
	code := run(ctx, args, io)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// heraldTTY runs herald as if stdin were a terminal where the user types stdin.
func (b *bundle) heraldTTY(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	io, out, errOut := TestStreams(stdin, b.envWith(nil))
	io.InTTY = true
	code := run(context.Background(), args, io)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// must runs herald and fails the test unless it exits with code.
func (b *bundle) must(t *testing.T, code int, args ...string) result {
	t.Helper()
	r := b.herald(t, args...)
	if r.code != code {
		t.Fatalf("herald %s: want exit %d, got %s", strings.Join(args, " "), code, r)
	}
	return r
}

// path is a file of the workspace.
func (b *bundle) path(rel string) string { return filepath.Join(b.dir, filepath.FromSlash(rel)) }

func (b *bundle) write(t *testing.T, rel, content string) string {
	t.Helper()
	p := b.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// importAudience imports the workspace's audience.csv.
func (b *bundle) importAudience(t *testing.T) {
	t.Helper()
	b.must(t, 0, "audience", "import", b.path("audience.csv"))
}

// summary is the JSON report of a run (send --output json, report --output json).
type summary struct {
	RunID    int64  `json:"run_id"`
	Campaign string `json:"campaign"`
	State    string `json:"state"`
	Trigger  string `json:"trigger"`
	Key      string `json:"idempotency_key"`
	Error    string `json:"error"`
	Items    []struct {
		Key   string `json:"key"`
		Title string `json:"title"`
		Link  string `json:"link"`
	} `json:"items"`
	Counts counts `json:"counts"`
}

type counts struct {
	Targeted int `json:"targeted"`
	Pending  int `json:"pending"`
	Sending  int `json:"sending"`
	Sent     int `json:"sent"`
	Failed   int `json:"failed"`
	Skipped  int `json:"skipped"`
	Unknown  int `json:"unknown"`
	Reasons  []struct {
		State  string `json:"state"`
		Reason string `json:"reason"`
		Count  int    `json:"count"`
	} `json:"reasons"`
}

// decode parses JSON output into a value of type T.
func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, s)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value in the output:\n%s", s)
	}
	return v
}

// report prints run id's report as JSON.
func (b *bundle) report(t *testing.T, id int64) summary {
	t.Helper()
	return decode[summary](t, b.must(t, 0, "report", fmt.Sprint(id), "--output", "json").stdout)
}

// runList is `herald run list --output json`.
func (b *bundle) runList(t *testing.T) []map[string]any {
	t.Helper()
	return decode[[]map[string]any](t, b.must(t, 0, "run", "list", "--output", "json").stdout)
}

// chatsOnce fails the test when the sandbox got more than one message for a
// chat, and returns how many chats got one.
func chatsOnce(t *testing.T, msgs []sandbox.Message) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range msgs {
		if seen[m.Chat] {
			t.Errorf("chat %s got more than one message", m.Chat)
		}
		seen[m.Chat] = true
	}
	return seen
}

// settled checks the ledger invariant: every delivery in exactly one
// terminal state.
func settled(t *testing.T, s summary) {
	t.Helper()
	c := s.Counts
	if c.Pending != 0 || c.Sending != 0 {
		t.Errorf("run %d: %d pending and %d sending deliveries left", s.RunID, c.Pending, c.Sending)
	}
	if sum := c.Sent + c.Failed + c.Skipped + c.Unknown; sum != c.Targeted {
		t.Errorf("run %d: sent %d + failed %d + skipped %d + unknown %d = %d, want targeted %d",
			s.RunID, c.Sent, c.Failed, c.Skipped, c.Unknown, sum, c.Targeted)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeAudience writes a CSV of n subscribers tagged tag to rel.
func (b *bundle) writeAudience(t *testing.T, rel string, n int, tag string) string {
	t.Helper()
	var sb strings.Builder
	sb.WriteString("channel,address,name,locale,timezone,tags,consent_at,consent_source,consent_ref\n")
	for i := range n {
		fmt.Fprintf(&sb, "telegram,%d,Member %d,en,UTC,%s,2026-01-10T09:15:00Z,import,load-%d\n", 300000000+i, i, tag, i)
	}
	return b.write(t, rel, sb.String())
}

// child is herald running as a separate process (the test binary, re-executed).
type child struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	err            error
}

// start runs herald in a child process with the bundle's environment plus
// extra, in folder dir (the test's own when "").
func (b *bundle) start(t *testing.T, dir string, extra map[string]string, args ...string) *child {
	t.Helper()
	c := &child{done: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], args...)
	c.cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HERALD_") {
			c.cmd.Env = append(c.cmd.Env, kv)
		}
	}
	c.cmd.Env = append(c.cmd.Env, testMainEnv+"=1")
	for k, v := range b.envWith(extra) {
		c.cmd.Env = append(c.cmd.Env, k+"="+v)
	}
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

// exited reports whether the child has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// wait waits for the child to end and returns its result.
func (c *child) wait(t *testing.T, within time.Duration) result {
	t.Helper()
	if !c.exited() {
		select {
		case <-c.done:
		case <-time.After(within):
			c.cmd.Process.Kill()
			<-c.done
			t.Fatalf("herald child did not finish within %s:\n%s\n%s", within, c.stdout.String(), c.stderr.String())
		}
	}
	return result{code: c.cmd.ProcessState.ExitCode(), stdout: c.stdout.String(), stderr: c.stderr.String()}
}
