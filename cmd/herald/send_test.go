package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/heraldcli/herald/channels/sandbox"
	"github.com/heraldcli/herald/store/postgres/pgtest"
)

// The blog-digest campaign targets the example audience's six subscribers
// tagged blog; the sandbox makes one of them (Eve) a chat that blocked the bot.
const blockedChat = "100000005"

func TestSendHappyPath(t *testing.T) {
	t.Parallel()
	sendHappyPath(t, setup(t))
}

// TestPostgresHappyPath is the same on a PostgreSQL ledger.
func TestPostgresHappyPath(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env["HERALD_STORAGE_URL"] = pgtest.Database(t)
	sendHappyPath(t, b)
}

// TestPostgresNoSuchDatabase: a storage.url naming a database that does not
// exist is a configuration error (exit 2) that names it, password hidden.
func TestPostgresNoSuchDatabase(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := pgtest.Server(t)
	u.Path = "/herald_no_such_database"
	u.User = url.UserPassword(u.User.Username(), "hunter2")
	r := b.heraldEnv(t, map[string]string{"HERALD_STORAGE_URL": u.String()}, "audience", "list")
	if r.code != 2 || !strings.Contains(r.stderr, "herald_no_such_database") || !strings.Contains(r.stderr, "check storage.url") {
		t.Fatalf("want exit 2 naming the database: %s", r)
	}
	if strings.Contains(r.stderr, "hunter2") {
		t.Fatalf("the password is printed: %s", r.stderr)
	}
}

func sendHappyPath(t *testing.T, b *bundle) {
	b.sb.SetChat(blockedChat, sandbox.ChatBlocked)

	imp := b.must(t, 0, "audience", "import", b.path("audience.csv"), "--output", "json")
	if got := decode[map[string]any](t, imp.stdout); got["imported"] != 7.0 || got["inserted"] != 7.0 {
		t.Errorf("import: want 7 imported and inserted, got %v", got)
	}
	lint := b.must(t, 0, "lint")
	if !strings.Contains(lint.stdout, "ok: herald.yaml and 3 campaign(s) pass") {
		t.Errorf("lint: %s", lint)
	}

	send := b.must(t, 0, "campaign", "send", "blog-digest", "--yes", "--output", "json")
	s := decode[summary](t, send.stdout)
	if s.RunID <= 0 || s.Campaign != "blog-digest" || s.State != "done" || s.Trigger != "manual" {
		t.Errorf("send: run_id %d campaign %q state %q trigger %q", s.RunID, s.Campaign, s.State, s.Trigger)
	}
	if len(s.Items) != 3 {
		t.Errorf("send: want the feed's 3 newest items (backfill 3), got %d", len(s.Items))
	}
	c := s.Counts
	if c.Targeted != 6 || c.Sent != 5 || c.Failed != 1 || c.Skipped != 0 || c.Unknown != 0 || c.Pending != 0 || c.Sending != 0 {
		t.Errorf("send counts: %+v", c)
	}
	if len(c.Reasons) != 1 || c.Reasons[0].State != "failed" || c.Reasons[0].Reason != "blocked" || c.Reasons[0].Count != 1 {
		t.Errorf("send reasons: want [failed blocked 1], got %+v", c.Reasons)
	}
	msgs := b.sb.Messages()
	if len(msgs) != c.Sent {
		t.Errorf("sandbox got %d messages, the report says %d sent", len(msgs), c.Sent)
	}
	chats := chatsOnce(t, msgs)
	for _, want := range []string{"100000001", "100000002", "100000004", "100000006", "-1001234567890"} {
		if !chats[want] {
			t.Errorf("chat %s got nothing", want)
		}
	}
	if chats[blockedChat] || chats["100000003"] {
		t.Errorf("the blocked chat or the subscriber outside the segment got a message: %v", chats)
	}
	for _, it := range s.Items {
		if !strings.Contains(msgs[0].Plain, it.Title) {
			t.Errorf("message lacks item %q:\n%s", it.Title, msgs[0].Plain)
		}
	}

	// report --output json prints the same object as send.
	rep := b.must(t, 0, "report", fmt.Sprint(s.RunID), "--output", "json")
	if sent, got := decode[map[string]any](t, send.stdout), decode[map[string]any](t, rep.stdout); !reflect.DeepEqual(sent, got) {
		t.Errorf("report --output json differs from send --output json:\nsend:   %s\nreport: %s", send.stdout, rep.stdout)
	}

	csvOut := b.must(t, 0, "report", fmt.Sprint(s.RunID), "--output", "csv")
	rows, err := csv.NewReader(strings.NewReader(csvOut.stdout)).ReadAll()
	if err != nil {
		t.Fatalf("report csv: %v\n%s", err, csvOut.stdout)
	}
	id := fmt.Sprint(s.RunID)
	wantRows := [][]string{
		{"run_id", "campaign", "state", "reason", "count", "channel", "route"},
		{id, "blog-digest", "targeted", "", "6", "", ""},
		{id, "blog-digest", "sent", "", "5", "", ""},
		{id, "blog-digest", "failed", "", "1", "", ""},
		{id, "blog-digest", "skipped", "", "0", "", ""},
		{id, "blog-digest", "unknown", "", "0", "", ""},
		{id, "blog-digest", "pending", "", "0", "", ""},
		{id, "blog-digest", "failed", "blocked", "1", "", ""},
		{id, "blog-digest", "failed", "blocked", "1", "telegram", "bot"},
		{id, "blog-digest", "sent", "", "5", "telegram", "bot"},
	}
	if !reflect.DeepEqual(rows, wantRows) {
		t.Errorf("report csv:\n got %q\nwant %q", rows, wantRows)
	}

	table := b.must(t, 0, "report", fmt.Sprint(s.RunID)).stdout
	for _, re := range []string{`(?m)^Run\s+` + id + ` \(blog-digest, manual\)$`, `(?m)^State\s+done$`, `(?m)^Targeted\s+6$`,
		`(?m)^Sent\s+5$`, `(?m)^Failed\s+1$`, `(?m)^\s+failed\s+blocked\s+1$`} {
		if !regexp.MustCompile(re).MatchString(table) {
			t.Errorf("report table does not match %s:\n%s", re, table)
		}
	}

	runs := b.runList(t)
	if len(runs) != 1 || runs[0]["run_id"] != float64(s.RunID) || runs[0]["campaign"] != "blog-digest" ||
		runs[0]["state"] != "done" || runs[0]["sent"] != 5.0 || runs[0]["failed"] != 1.0 || runs[0]["pending"] != 0.0 {
		t.Errorf("run list: %v", runs)
	}

	// The blocked answer updated the audience.
	list := decode[[]map[string]any](t, b.must(t, 0, "audience", "list", "--status", "blocked", "--output", "json").stdout)
	if len(list) != 1 || list[0]["address"] != blockedChat {
		t.Errorf("audience list --status blocked: %v", list)
	}

	// Nothing new: a second send records an empty run and sends nothing.
	again := b.must(t, 0, "campaign", "send", "blog-digest", "--yes", "--output", "json")
	s2 := decode[summary](t, again.stdout)
	if s2.RunID == s.RunID || s2.State != "done" || s2.Counts.Targeted != 0 || s2.Counts.Sent != 0 || len(s2.Items) != 0 {
		t.Errorf("second send: %+v", s2)
	}
	if n := len(b.sb.Messages()); n != c.Sent {
		t.Errorf("second send: the sandbox now has %d messages, want still %d", n, c.Sent)
	}
	text := b.must(t, 0, "campaign", "send", "blog-digest", "--yes")
	if !strings.Contains(text.stderr, "no new items in blog-digest's source") || !regexp.MustCompile(`(?m)^State\s+done$`).MatchString(text.stdout) {
		t.Errorf("third send (text): %s", text)
	}
	if runs := b.runList(t); len(runs) != 3 {
		t.Errorf("run list after three sends: %d runs, want 3", len(runs))
	}
}

func TestSendIdempotencyKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importAudience(t)

	first := b.must(t, 0, "campaign", "send", "blog-digest", "--idempotency-key", "abc", "--output", "json")
	s1 := decode[summary](t, first.stdout)
	if s1.State != "done" || s1.Key != "abc" || s1.Trigger != "ci" || s1.Counts.Sent != 6 {
		t.Errorf("first send: %+v", s1)
	}
	sent := len(b.sb.Messages())
	if sent != 6 {
		t.Errorf("sandbox got %d messages, want 6", sent)
	}

	second := b.must(t, 0, "campaign", "send", "blog-digest", "--idempotency-key", "abc", "--output", "json")
	s2 := decode[summary](t, second.stdout)
	if s2.RunID != s1.RunID || s2.State != "done" || s2.Counts.Sent != 6 {
		t.Errorf("second send with the same key: want run %d's report, got %+v", s1.RunID, s2)
	}
	if !strings.Contains(second.stderr, `idempotency key "abc" was already used by run `+fmt.Sprint(s1.RunID)) {
		t.Errorf("second send's stderr: %q", second.stderr)
	}
	if n := len(b.sb.Messages()); n != sent {
		t.Errorf("second send sent %d messages", n-sent)
	}
	if runs := b.runList(t); len(runs) != 1 {
		t.Errorf("run list: %d runs, want 1", len(runs))
	}

	// A new key with nothing new in the source: this process planned the
	// empty run, so it reports it as its own, not as someone else's.
	third := b.must(t, 0, "campaign", "send", "blog-digest", "--idempotency-key", "def", "--output", "json")
	s3 := decode[summary](t, third.stdout)
	if s3.RunID == s1.RunID || s3.State != "done" || s3.Key != "def" || s3.Counts.Sent != 0 {
		t.Errorf("third send with a new key: %+v", s3)
	}
	if strings.Contains(third.stderr, "was used by") || strings.Contains(third.stderr, "already used") {
		t.Errorf("third send's stderr calls its own run another's: %q", third.stderr)
	}
}

func TestSendAsksOnATerminal(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importAudience(t)
	const prompt = "Send blog-digest (3 item(s), 1 message(s) each) to 6 subscriber(s)? [y/N] "

	for _, answer := range []string{"n\n", "\n", ""} {
		r := b.heraldTTY(t, answer, "campaign", "send", "blog-digest")
		if r.code != 0 || !strings.Contains(r.stderr, prompt) || !strings.Contains(r.stderr, "nothing sent") || r.stdout != "" {
			t.Errorf("answer %q: want the question, then nothing sent; got %s", answer, r)
		}
	}
	if n := len(b.sb.Messages()); n != 0 {
		t.Fatalf("declined sends sent %d messages", n)
	}
	if runs := b.runList(t); len(runs) != 0 {
		t.Fatalf("declined sends recorded runs: %v", runs)
	}
	r := b.heraldTTY(t, "yes\n", "campaign", "send", "blog-digest")
	if r.code != 0 || !strings.Contains(r.stderr, prompt) || !regexp.MustCompile(`(?m)^Sent\s+6$`).MatchString(r.stdout) {
		t.Errorf("answer yes: %s", r)
	}
	if n := len(b.sb.Messages()); n != 6 {
		t.Errorf("the sandbox got %d messages, want 6", n)
	}
	// --yes never asks.
	r = b.heraldTTY(t, "", "campaign", "send", "announcement", "--yes")
	if r.code != 0 || strings.Contains(r.stderr, "?") {
		t.Errorf("--yes on a terminal: %s", r)
	}
}

// TestSendShowsProgressOnATerminal: a progress bar on a terminal's stderr,
// none when stderr is not one.
func TestSendShowsProgressOnATerminal(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importAudience(t)
	io, out, errOut := TestStreams("", b.envWith(nil))
	io.ErrTTY = true
	if code := run(context.Background(), []string{"campaign", "send", "blog-digest", "--yes"}, io); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	// The bar counts out of the 6 pending (it redraws at most every 100 ms).
	if !strings.Contains(errOut.String(), "sending blog-digest") || !strings.Contains(errOut.String(), "/6,") {
		t.Errorf("no progress bar on a terminal: %q", errOut)
	}
	r := b.must(t, 0, "campaign", "send", "announcement", "--yes")
	if strings.Contains(r.stderr, "sending announcement") {
		t.Errorf("a progress bar without a terminal: %q", r.stderr)
	}
}

func TestSendHostileFeedIsEscaped(t *testing.T) {
	t.Parallel()
	b := setup(t) // the sandbox refuses HTML with an unescaped "&" or tag
	titles := []string{`<script>alert(1)</script> & *x* _y_ [z](w)`, "AT&T <Admin> ~~no~~ `code` **bold** &amp;"}
	b.write(t, "feeds/hostile.xml", `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Hostile</title><link>https://example.com/</link><description>x</description>
<item><title>&lt;script&gt;alert(1)&lt;/script&gt; &amp; *x* _y_ [z](w)</title><link>https://example.com/1?a=1&amp;b=2</link>
<guid isPermaLink="false">h1</guid><pubDate>Fri, 20 Nov 2026 09:00:00 GMT</pubDate></item>
<item><title>AT&amp;T &lt;Admin&gt; ~~no~~ `+"`code`"+` **bold** &amp;amp;amp;</title><link>https://example.com/2</link>
<guid isPermaLink="false">h2</guid><pubDate>Thu, 19 Nov 2026 09:00:00 GMT</pubDate></item>
<item><title>AT&amp;T &lt;b&gt;</title><link>https://example.com/3</link>
<guid isPermaLink="false">h3</guid><pubDate>Wed, 18 Nov 2026 09:00:00 GMT</pubDate></item>
</channel></rss>
`)
	b.write(t, "campaigns/hostile.yaml", `channels: [telegram]
audience: {tags_any: [blog]}
source: {type: rss, url: feeds/hostile.xml, backfill: 5}
mode: digest
message:
  text: |
    **Hostile** *feed* for {{ .Subscriber.Name }}
    {{ range .Items }}- [{{ .Title }}]({{ .Link }})
    {{ .Title }}
    {{ end }}
`)
	b.importAudience(t)
	b.must(t, 0, "lint", "hostile")

	s := decode[summary](t, b.must(t, 0, "campaign", "send", "hostile", "--yes", "--output", "json").stdout)
	if s.State != "done" || s.Counts.Targeted != 6 || s.Counts.Sent != 6 || s.Counts.Failed != 0 {
		t.Fatalf("send: %+v", s)
	}
	msgs := b.sb.Messages()
	if len(msgs) != 6 {
		t.Fatalf("sandbox got %d messages, want 6", len(msgs))
	}
	chatsOnce(t, msgs)
	for _, m := range msgs {
		for _, title := range titles {
			if n := strings.Count(m.Plain, title); n != 2 {
				t.Errorf("chat %s: want the title %q twice (link and text), found %d times in:\n%s", m.Chat, title, n, m.Plain)
			}
		}
		if m.Chat == "100000004" && !strings.Contains(m.Plain, "for Dmitri <Admin> & Co") {
			t.Errorf("the subscriber's name is not shown literally:\n%s", m.Plain)
		}
		// Titles may carry inline HTML: sources.PlainTitle drops formatting
		// tags that come in pairs, but a lone "<b>" is text, shown as it is
		// and never turned into formatting.
		if lines := strings.Split(m.Plain, "\n"); !slices.Contains(lines, "- AT&T <b>") || !slices.Contains(lines, "AT&T <b>") {
			t.Errorf("chat %s: want the title \"AT&T <b>\" shown literally, in the link and the text:\n%s", m.Chat, m.Plain)
		}
		if !strings.Contains(m.Text, "<b>Hostile</b> <i>feed</i>") || strings.Count(m.Text, "<b>") != 1 ||
			strings.Contains(m.Text, "<script>") || strings.Contains(m.Text, "<Admin>") {
			t.Errorf("chat %s: the markup is not the template's alone:\n%s", m.Chat, m.Text)
		}
	}
}

func TestSendInvalidTokenAbortsAndResumes(t *testing.T) {
	t.Parallel()
	const good, bad = "4242:good-token-Zq9", "4242:bad-token-Xw7"
	b := setup(t, sandbox.Options{Tokens: []string{good}})
	b.env["HERALD_TELEGRAM_TOKEN"] = bad
	b.importAudience(t)

	r := b.herald(t, "campaign", "send", "blog-digest", "--yes", "--output", "json")
	if r.code != 3 {
		t.Fatalf("send with a rejected token: want exit 3, got %s", r)
	}
	if !strings.Contains(r.stderr, "bot token") || !strings.Contains(r.stderr, "401") ||
		!strings.Contains(r.stderr, "resume it with: herald campaign resume") {
		t.Errorf("stderr should explain the token problem and how to resume: %q", r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, bad) || strings.Contains(r.stdout+r.stderr, "bad-token") {
		t.Errorf("the token leaked: %s", r)
	}
	s := decode[summary](t, r.stdout)
	if s.State != "aborted" {
		t.Errorf("send: state %q, want aborted", s.State)
	}
	if n := len(b.sb.Messages()); n != 0 {
		t.Errorf("the sandbox accepted %d messages with a bad token", n)
	}

	rep := b.report(t, s.RunID)
	if rep.State != "aborted" || rep.Counts.Targeted != 6 || rep.Counts.Pending != 6 || rep.Counts.Sending != 0 ||
		rep.Counts.Sent+rep.Counts.Failed+rep.Counts.Skipped+rep.Counts.Unknown != 0 {
		t.Errorf("report after abort: want aborted with all 6 pending, got %+v", rep)
	}
	if !strings.Contains(rep.Error, "token") || strings.Contains(rep.Error, bad) {
		t.Errorf("the run's error should name the token problem without the token: %q", rep.Error)
	}

	// A dry run says it would resume the aborted run, in the format asked for.
	dry := b.must(t, 0, "campaign", "send", "blog-digest", "--dry-run", "--output", "json")
	if d := decode[map[string]any](t, dry.stdout); d["dry_run"] != true || d["resumes_run"] != float64(s.RunID) ||
		d["state"] != "aborted" || d["counts"].(map[string]any)["pending"] != 6.0 {
		t.Errorf("dry run of an aborted campaign: %s", dry.stdout)
	}

	b.env["HERALD_TELEGRAM_TOKEN"] = good
	r = b.must(t, 0, "campaign", "send", "blog-digest", "--yes", "--output", "json")
	resumed := decode[summary](t, r.stdout)
	if resumed.RunID != s.RunID || resumed.State != "done" || resumed.Counts.Sent != 6 || resumed.Error != "" {
		t.Errorf("send with the right token should resume run %d to done, got %+v", s.RunID, resumed)
	}
	settled(t, resumed)
	if len(chatsOnce(t, b.sb.Messages())) != 6 {
		t.Errorf("sandbox: want 6 chats, got %d messages", len(b.sb.Messages()))
	}
	if runs := b.runList(t); len(runs) != 1 {
		t.Errorf("run list: %d runs, want 1", len(runs))
	}
}

// TestSecretsNeverPrinted runs every command that talks about the bot, in
// success and in failure, and looks for the token in everything it printed.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	b := setupMessenger(t)
	b.sb.SetChat(blockedChat, sandbox.ChatBlocked)
	b.write(t, "campaigns/static.yaml", "channels: [telegram]\nmode: static\nmessage:\n  text: Hi {{ .Subscriber.Name }}\n")
	secretParts := []string{testToken, strings.SplitN(testToken, ":", 2)[1], testPageToken, testAppSecret, testVerifyToken}
	var outputs []string
	call := func(extra map[string]string, code int, args ...string) result {
		t.Helper()
		r := b.heraldEnv(t, extra, args...)
		if r.code != code {
			t.Errorf("herald %s: want exit %d, got %s", strings.Join(args, " "), code, r)
		}
		outputs = append(outputs, fmt.Sprintf("herald %s\n%s", strings.Join(args, " "), r))
		return r
	}
	debug := "--log-level=debug"
	call(nil, 0, "audience", "import", b.path("audience.csv"), debug)
	call(nil, 0, "lint", debug)
	call(nil, 0, "lint", "--output", "json")
	call(nil, 0, "campaign", "preview", "blog-digest", debug)
	call(nil, 0, "campaign", "preview", "blog-digest", "--output", "json")
	call(nil, 0, "campaign", "send", "blog-digest", "--dry-run", "--output", "json")
	call(nil, 0, "campaign", "send", "blog-digest", "--yes", debug)
	call(nil, 0, "report", "1", "--output", "json")
	call(nil, 0, "report", "1", "--output", "csv")
	call(nil, 0, "report", "1")
	call(nil, 0, "run", "list")
	call(nil, 0, "audience", "list", "--output", "csv")

	// Failures: connections dropped after the request (unknown outcomes,
	// whose errors carry the request URL), a token Telegram refuses, a token
	// with characters a token cannot have, a bad API URL.
	b.sb.SetFaults(sandbox.Faults{DropRate: 1})
	r := call(nil, 3, "campaign", "send", "static", "--yes", debug)
	if !strings.Contains(r.stderr, "failed or are unknown") {
		t.Errorf("dropped connections should end in unknown deliveries above the failure rate: %s", r)
	}
	b.sb.SetFaults(sandbox.Faults{})
	call(nil, 0, "report", "2")
	b.write(t, "campaigns/static2.yaml", "channels: [telegram]\nmode: static\nmessage:\n  text: Hello again\n")
	strict := setup(t, sandbox.Options{Tokens: []string{"1:other"}})
	call(map[string]string{"HERALD_TELEGRAM_API_URL": strict.url}, 3, "campaign", "send", "static2", "--yes", debug)
	call(map[string]string{"HERALD_TELEGRAM_TOKEN": testToken + " x"}, 2, "campaign", "send", "static2", "--yes")
	call(map[string]string{"HERALD_TELEGRAM_TOKEN": testToken + "/x"}, 2, "lint")
	call(nil, 2, "campaign", "send", "static2", "--yes", "--telegram-api-url", "ftp://127.0.0.1/")
	call(nil, 2, "campaign", "send", "nope", "--yes")
	// Messenger: a Page token Meta refuses aborts the run (exit 3).
	b.write(t, "campaigns/account.yaml", "channels: [messenger]\npurpose: utility\ntag: ACCOUNT_UPDATE\nmode: static\nmessage:\n  text: Your account changed\n")
	strictM := setup(t, sandbox.Options{Messenger: sandbox.MessengerOptions{PageTokens: []string{"other"}}})
	r = call(map[string]string{"HERALD_MESSENGER_API_URL": strictM.url}, 3, "campaign", "send", "account", "--yes", debug)
	if !strings.Contains(r.stderr, "page_token") {
		t.Errorf("a refused Page token should say which setting to fix: %s", r)
	}
	call(nil, 0, "campaign", "preview", "account", "--channel", "messenger", debug)

	for _, out := range outputs {
		for _, secret := range secretParts {
			if strings.Contains(out, secret) {
				t.Errorf("a secret (%.12s…) was printed by:\n%s", secret, out)
			}
		}
	}
}
