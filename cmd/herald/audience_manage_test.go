package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/channels/sandbox"
)

// audienceHeader is the header of the CSV files these tests write.
const audienceHeader = "channel,address,name,locale,timezone,tags,consent_at,consent_source,consent_ref,consent_proof\n"

// writeRows writes an audience CSV of rows (audienceHeader's columns) to rel.
func (b *bundle) writeRows(t *testing.T, rel string, rows ...string) string {
	t.Helper()
	return b.write(t, rel, audienceHeader+strings.Join(rows, "\n")+"\n")
}

// listed runs `audience list --output json` with args and keys the result by channel:address.
type listedSub struct {
	ID      int64    `json:"id"`
	Channel string   `json:"channel"`
	Address string   `json:"address"`
	Name    string   `json:"name"`
	Tags    []string `json:"tags"`
	Status  string   `json:"status"`
}

func (b *bundle) listed(t *testing.T, args ...string) map[string]listedSub {
	t.Helper()
	out := map[string]listedSub{}
	for _, s := range decode[[]listedSub](t, b.must(t, 0, append([]string{"audience", "list", "--output", "json"}, args...)...).stdout) {
		out[s.Channel+":"+s.Address] = s
	}
	return out
}

// refused runs herald, wants exit 2 with every one of msgs in stderr, and
// wants the audience unchanged.
func (b *bundle) refused(t *testing.T, msgs []string, args ...string) {
	t.Helper()
	before := b.must(t, 0, "audience", "export", "--output", "json").stdout
	r := b.herald(t, args...)
	if r.code != 2 {
		t.Errorf("herald %s: want exit 2, got %s", strings.Join(args, " "), r)
		return
	}
	for _, m := range msgs {
		if !strings.Contains(r.stderr, m) {
			t.Errorf("herald %s: stderr lacks %q:\n%s", strings.Join(args, " "), m, r.stderr)
		}
	}
	if after := b.must(t, 0, "audience", "export", "--output", "json").stdout; after != before {
		t.Errorf("herald %s changed the audience:\nbefore %s\nafter %s", strings.Join(args, " "), before, after)
	}
}

func TestAudienceShow(t *testing.T) {
	t.Parallel()
	b := setupMessenger(t)
	b.importAudience(t)
	b.must(t, 0, "audience", "import", b.writeRows(t, "twin.csv",
		"telegram,555,Tg Twin,en,UTC,blog,2026-03-01T10:00:00Z,telegram_start,blog,/start blog",
		"messenger,555,Fb Twin,en,UTC,blog,2026-03-02T10:00:00Z,messenger_optin,blog,opt-in"))
	b.must(t, 0, "audience", "unsubscribe", "100000001")

	r := b.must(t, 0, "audience", "show", "100000001")
	for _, want := range []string{"telegram 100000001", "Alice Rossi", "unsubscribed", "blog, promo", "Europe/Rome",
		"2026-01-10T09:15:00Z via telegram_start", "start=blog",
		"2026-01-10T09:15:00Z subscribed via telegram_start (ref start=blog)", "subscribed → unsubscribed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show: no %q in\n%s", want, r.stdout)
		}
	}

	type shown struct {
		Channel, Address, Name, Status string
		Consent                        struct{ At, Source, Ref string }
		History                        []struct{ Kind, Previous, Source, Ref, At string }
	}
	rec := decode[shown](t, b.must(t, 0, "audience", "show", "555", "--channel", "messenger", "--output", "json").stdout)
	if rec.Channel != "messenger" || rec.Name != "Fb Twin" || rec.Consent.Source != "messenger_optin" || rec.Consent.At != "2026-03-02T10:00:00Z" ||
		len(rec.History) != 1 || rec.History[0].Kind != "subscribed" || rec.History[0].Source != "messenger_optin" {
		t.Errorf("show --output json: %+v", rec)
	}

	for _, c := range []struct {
		name string
		args []string
		msgs []string
	}{
		{"unknown address", []string{"audience", "show", "999"}, []string{"no subscriber 999", "herald audience list"}},
		{"unknown on that channel", []string{"audience", "show", "100000001", "--channel", "messenger"}, []string{"no subscriber 100000001 on messenger"}},
		{"ambiguous address", []string{"audience", "show", "555"}, []string{"555 is a subscriber on telegram and messenger", "--channel"}},
		{"unknown channel", []string{"audience", "show", "555", "--channel", "whatsapp"}, []string{`--channel "whatsapp": use telegram or messenger`}},
		{"no address", []string{"audience", "show"}, []string{"accepts 1 arg"}},
	} {
		t.Run(c.name, func(t *testing.T) { b.refused(t, c.msgs, c.args...) })
	}
}

func TestAudienceTag(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importAudience(t)

	for _, c := range []struct {
		name string
		args []string
		msgs []string
	}{
		{"no selector", []string{"audience", "tag", "vip"}, []string{"no subscribers selected", "--all"}},
		{"untag without selector", []string{"audience", "untag", "blog"}, []string{"no subscribers selected"}},
		{"all and a segment", []string{"audience", "tag", "vip", "--all", "--locale", "it"}, []string{"--all selects every subscriber"}},
		{"tag with a space", []string{"audience", "tag", "very important", "--all"}, []string{`tag "very important"`, "spaces, commas or semicolons"}},
		{"tag with a comma", []string{"audience", "tag", "a,b", "--all"}, []string{`tag "a,b"`}},
		{"tag with a semicolon", []string{"audience", "tag", "a;b", "--all"}, []string{`tag "a;b"`}},
		{"empty tag", []string{"audience", "tag", "", "--all"}, []string{`tag ""`}},
		{"no tag", []string{"audience", "tag", "--all"}, []string{"requires at least 1 arg"}},
		{"unknown address", []string{"audience", "tag", "vip", "--address", "100000001", "--address", "999"}, []string{"no subscriber 999", "nothing was changed"}},
		{"bad status", []string{"audience", "tag", "vip", "--status", "gone"}, []string{`--status "gone"`}},
		{"forgotten status", []string{"audience", "tag", "vip", "--status", "forgotten"}, []string{`--status "forgotten"`}},
		{"bad channel", []string{"audience", "tag", "vip", "--channel", "sms"}, []string{`--channel "sms"`}},
	} {
		t.Run(c.name, func(t *testing.T) { b.refused(t, c.msgs, c.args...) })
	}

	r := b.must(t, 0, "audience", "tag", "vip", "italian", "--locale", "it")
	if strings.TrimSpace(r.stdout) != "tagged 2 subscriber(s) with vip, italian" {
		t.Errorf("tag --locale it: %s", r)
	}
	// Again: nothing changes.
	if r := b.must(t, 0, "audience", "tag", "vip", "--locale", "it", "--output", "json"); decode[changedJSON](t, r.stdout).Changed != 0 {
		t.Errorf("tag again: %s", r)
	}
	b.must(t, 0, "audience", "tag", "vip", "--address", "100000002")
	got := b.listed(t, "--tags-all", "vip,italian")
	if len(got) != 2 || !slices.Equal(got["telegram:100000001"].Tags, []string{"blog", "italian", "promo", "vip"}) || got["telegram:100000003"].ID == 0 {
		t.Errorf("after tag: %+v", got)
	}
	if got := b.listed(t, "--tags-any", "vip"); len(got) != 3 {
		t.Errorf("tagged vip: %d, want 3", len(got))
	}
	r = b.must(t, 0, "audience", "untag", "vip", "italian", "--tags-any", "promo")
	if strings.TrimSpace(r.stdout) != "removed vip, italian from 2 subscriber(s)" {
		t.Errorf("untag: %s", r)
	}
	if got := b.listed(t, "--tags-any", "vip"); len(got) != 1 || got["telegram:100000002"].ID == 0 {
		t.Errorf("after untag: %+v", got)
	}
	if r := b.must(t, 0, "audience", "tag", "everyone", "--all", "--output", "json"); decode[changedJSON](t, r.stdout).Changed != 7 {
		t.Errorf("tag --all: %s", r)
	}
}

func TestAudienceUnsubscribe(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importAudience(t)

	for _, c := range []struct {
		name string
		args []string
		msgs []string
	}{
		{"no selector", []string{"audience", "unsubscribe"}, []string{"no subscribers selected"}},
		{"unknown address", []string{"audience", "unsubscribe", "100000001", "999"}, []string{"no subscriber 999", "nothing was changed"}},
		{"forgotten status", []string{"audience", "unsubscribe", "--status", "forgotten"}, []string{`--status "forgotten"`}},
	} {
		t.Run(c.name, func(t *testing.T) { b.refused(t, c.msgs, c.args...) })
	}

	if r := b.must(t, 0, "audience", "unsubscribe", "100000001", "--address", "100000002"); strings.TrimSpace(r.stdout) != "unsubscribed 2 subscriber(s)" {
		t.Errorf("unsubscribe two: %s", r)
	}
	if r := b.must(t, 0, "audience", "unsubscribe", "100000001", "--output", "json"); decode[changedJSON](t, r.stdout).Changed != 0 {
		t.Errorf("unsubscribe again: %s", r)
	}

	// Segment-wide on a terminal: asks; "n" changes nothing.
	r := b.heraldTTY(t, "n\n", "audience", "unsubscribe", "--locale", "it")
	if r.code != 0 || !strings.Contains(r.stderr, "Unsubscribe 1 subscriber(s) (--locale it)?") || !strings.Contains(r.stderr, "nothing changed") {
		t.Errorf("declined: %s", r)
	}
	if got := b.listed(t, "--status", "unsubscribed"); len(got) != 2 {
		t.Errorf("after declining: %d unsubscribed, want 2", len(got))
	}
	r = b.heraldTTY(t, "y\n", "audience", "unsubscribe", "--locale", "it")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "unsubscribed 1 subscriber(s)" {
		t.Errorf("confirmed: %s", r)
	}
	// --yes, or not a terminal: no question.
	r = b.heraldTTY(t, "", "audience", "unsubscribe", "--tags-any", "news", "--yes")
	if r.code != 0 || strings.Contains(r.stderr, "?") || strings.TrimSpace(r.stdout) != "unsubscribed 1 subscriber(s)" {
		t.Errorf("--yes: %s", r)
	}
	// By default only subscribed people change: a blocked one stays blocked.
	b.sb.SetChat("100000006", sandbox.ChatBlocked)
	b.must(t, 0, "campaign", "send", "blog-digest", "--yes")
	if r := b.must(t, 0, "audience", "unsubscribe", "100000006", "--output", "json"); decode[changedJSON](t, r.stdout).Changed != 0 {
		t.Errorf("unsubscribe a blocked person: %s", r)
	}
	if r := b.must(t, 0, "audience", "unsubscribe", "--tags-any", "blog", "--output", "json"); decode[changedJSON](t, r.stdout).Changed != 2 {
		t.Errorf("unsubscribe --tags-any blog: %s", r)
	}
	if got := b.listed(t, "--status", "blocked"); len(got) != 1 || got["telegram:100000006"].ID == 0 {
		t.Errorf("blocked after unsubscribing blog: %+v", got)
	}
	got := b.listed(t, "--status", "unsubscribed")
	want := []string{"telegram:100000001", "telegram:100000002", "telegram:100000003", "telegram:100000004", "telegram:100000005", "telegram:-1001234567890"}
	for _, k := range want {
		if got[k].ID == 0 {
			t.Errorf("%s not unsubscribed: %+v", k, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("unsubscribed %d, want %d", len(got), len(want))
	}
}

func TestAudienceExport(t *testing.T) {
	t.Parallel()
	b := setupMessenger(t)
	b.importAudience(t)
	b.must(t, 0, "audience", "unsubscribe", "100000001")

	type event struct {
		Kind, Previous, Source, Ref string
		At                          time.Time
	}
	type record struct {
		ID                             int64
		Channel, Address, Name, Locale string
		Timezone, Status               string
		Tags                           []string
		Consent                        struct{ At, Source, Ref, Proof string }
		CreatedAt                      time.Time `json:"created_at"`
		UpdatedAt                      time.Time `json:"updated_at"`
		History                        []event
		LastInboundAt                  *time.Time `json:"last_inbound_at"`
	}
	all := decode[[]record](t, b.must(t, 0, "audience", "export", "--output", "json").stdout)
	if len(all) != 12 {
		t.Fatalf("export json: %d records, want 12", len(all))
	}
	recs := decode[[]record](t, b.must(t, 0, "audience", "export", "--address", "100000001", "--output", "json").stdout)
	if len(recs) != 1 {
		t.Fatalf("export --address: %+v", recs)
	}
	r := recs[0]
	if r.Channel != "telegram" || r.Name != "Alice Rossi" || r.Locale != "it" || r.Timezone != "Europe/Rome" || r.Status != "unsubscribed" ||
		!slices.Equal(r.Tags, []string{"blog", "promo"}) || r.Consent.At != "2026-01-10T09:15:00Z" || r.Consent.Source != "telegram_start" ||
		r.Consent.Ref != "start=blog" || r.CreatedAt.IsZero() || r.UpdatedAt.Before(r.CreatedAt) {
		t.Errorf("export record: %+v", r)
	}
	if len(r.History) != 2 || r.History[0].Kind != "subscribed" || r.History[0].Source != "telegram_start" || r.History[0].Ref != "start=blog" ||
		!r.History[0].At.Equal(time.Date(2026, 1, 10, 9, 15, 0, 0, time.UTC)) ||
		r.History[1].Kind != "unsubscribed" || r.History[1].Previous != "subscribed" {
		t.Errorf("export history: %+v", r.History)
	}

	// CSV: one row per subscriber, every column, the history in one.
	rows, err := csv.NewReader(strings.NewReader(b.must(t, 0, "audience", "export", "--channel", "messenger").stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || !slices.Equal(rows[0], exportColumns) {
		t.Fatalf("export csv: %q", rows)
	}
	if got := rows[1][1:12]; !slices.Equal(got, []string{"messenger", "7100000000000001", "Giulia Verdi", "it", "Europe/Rome", "blog",
		"subscribed", "2026-02-20T10:00:00Z", "messenger_optin", "ref=blog", ""}) {
		t.Errorf("export csv row: %q", got)
	}
	if h := rows[1][16]; h != "2026-02-20T10:00:00Z subscribed via messenger_optin (ref ref=blog)" {
		t.Errorf("export csv history: %q", h)
	}

	// --file: written whole, readable by its owner only.
	path := filepath.Join(t.TempDir(), "alice.json")
	res := b.must(t, 0, "audience", "export", "--address", "100000001", "--output", "json", "--file", path)
	if res.stdout != "" || !strings.Contains(res.stderr, "1 subscriber(s) exported to "+path) {
		t.Errorf("export --file: %s", res)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := decode[[]record](t, string(data)); len(got) != 1 || got[0].Address != "100000001" {
		t.Errorf("export file: %s", data)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("export file mode %v, want 0600", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("export left temporary files: %v", entries)
	}

	// Nobody: an empty array, and a CSV with its header only.
	if got := b.must(t, 0, "audience", "export", "--tags-any", "nobody", "--output", "json").stdout; got != "[]\n" {
		t.Errorf("empty export json: %q", got)
	}
	b.refused(t, []string{"no subscriber 999"}, "audience", "export", "--address", "999")
	b.refused(t, []string{`--output "xml"`}, "audience", "export", "--output", "xml")
	b.refused(t, []string{"cannot write"}, "audience", "export", "--file", filepath.Join(t.TempDir(), "missing", "x.csv"))
}

func TestAudienceForget(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importAudience(t)
	run := decode[summary](t, b.must(t, 0, "campaign", "send", "blog-digest", "--yes", "--output", "json").stdout)
	before := b.report(t, run.RunID).Counts

	// Off a terminal, forget needs --yes; unknown people are refused.
	b.refused(t, []string{"Forgetting telegram 100000001 (Alice Rossi)", "cannot be undone", "Pass --yes"}, "audience", "forget", "100000001")
	b.refused(t, []string{"no subscriber 999", "herald audience list"}, "audience", "forget", "999", "--yes")
	// On a terminal it asks; "n" changes nothing.
	if r := b.heraldTTY(t, "n\n", "audience", "forget", "100000001"); r.code != 0 || !strings.Contains(r.stderr, "Forget them? [y/N]") ||
		!strings.Contains(r.stderr, "nothing changed") {
		t.Errorf("forget declined: %s", r)
	}
	b.must(t, 0, "audience", "show", "100000001")

	r := b.heraldTTY(t, "y\n", "audience", "forget", "100000001")
	if r.code != 0 {
		t.Fatalf("forget: %s", r)
	}
	for _, want := range []string{"forgot telegram 100000001", "anonymised tombstone", "past reports", "refused unless it carries consent given after"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("forget output lacks %q:\n%s", want, r.stdout)
		}
	}
	forgotAt := time.Now()

	// No trace of them anywhere the audience is listed or exported.
	for _, args := range [][]string{
		{"audience", "list", "--output", "json"}, {"audience", "list", "--output", "csv"}, {"audience", "list", "--status", "forgotten", "--output", "json"},
		{"audience", "export", "--output", "json"}, {"audience", "export", "--status", "subscribed,unsubscribed,blocked,invalid"},
	} {
		out := b.must(t, 0, args...).stdout
		if strings.Contains(out, "100000001") || strings.Contains(out, "Alice") || strings.Contains(out, "Rossi") {
			t.Errorf("herald %s still shows the forgotten person:\n%s", strings.Join(args, " "), out)
		}
	}
	tombs := decode[[]map[string]any](t, b.must(t, 0, "audience", "list", "--status", "forgotten", "--output", "json").stdout)
	if len(tombs) != 1 || tombs[0]["name"] != nil || len(tombs[0]["tags"].([]any)) != 0 || !strings.HasPrefix(tombs[0]["address"].(string), "forgotten:") {
		t.Errorf("tombstones: %v", tombs)
	}
	if len(b.listed(t)) != 6 {
		t.Errorf("list: the tombstone is listed without --status forgotten")
	}
	b.refused(t, []string{"no subscriber 100000001"}, "audience", "show", "100000001")
	b.refused(t, []string{"no subscriber 100000001"}, "audience", "forget", "100000001", "--yes")

	// The past report keeps its counts.
	if after := b.report(t, run.RunID).Counts; fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("report changed: before %+v, after %+v", before, after)
	}

	// Re-importing the original file does not bring them back.
	imp := decode[importJSON](t, b.must(t, 0, "audience", "import", b.path("audience.csv"), "--output", "json").stdout)
	if imp.Forgotten != 1 || imp.Imported != 6 || imp.Inserted != 0 {
		t.Errorf("re-import json: %+v", imp)
	}
	text := b.must(t, 0, "audience", "import", b.path("audience.csv")).stdout
	if !strings.Contains(text, "1 forgotten") || !strings.Contains(text, "1 row(s) belong to people who asked to be forgotten and carry no newer consent: not imported") {
		t.Errorf("re-import text: %s", text)
	}
	if got := b.listed(t); got["telegram:100000001"].ID != 0 || len(got) != 6 {
		t.Errorf("re-import brought them back: %+v", got)
	}

	// Consent given after they were forgotten subscribes them again, as new.
	time.Sleep(5 * time.Millisecond)
	again := forgotAt.Add(2 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	imp = decode[importJSON](t, b.must(t, 0, "audience", "import", b.writeRows(t, "again.csv",
		"telegram,100000001,Alice,it,Europe/Rome,blog,"+again+",telegram_start,blog,/start blog"), "--output", "json").stdout)
	if imp.Inserted != 1 || imp.Forgotten != 0 {
		t.Errorf("import with new consent: %+v", imp)
	}
	if got := b.listed(t); got["telegram:100000001"].Name != "Alice" || len(got) != 7 {
		t.Errorf("after new consent: %+v", got)
	}
}

// TestAudienceLink makes links and counts who came through them.
func TestAudienceLink(t *testing.T) {
	t.Parallel()
	b := setup(t)

	r := b.must(t, 0, "audience", "link", "--channel", "telegram", "--source", "spring-promo", "--tag", "promo", "--tag", "spring")
	if got := strings.TrimSpace(r.stdout); got != "https://t.me/sandbox_424242_bot?start=spring-promo" {
		t.Errorf("telegram link: %s", r)
	}
	if !strings.Contains(r.stderr, `source "spring-promo" and tags promo, spring`) {
		t.Errorf("telegram link stderr: %s", r.stderr)
	}
	// Again, the same: the same link, not a conflict.
	l := decode[linkJSON](t, b.must(t, 0, "audience", "link", "--channel", "telegram", "--source", "spring-promo", "--tag", "spring,promo",
		"--output", "json").stdout)
	if l.New || l.URL != "https://t.me/sandbox_424242_bot?start=spring-promo" || l.Source != "spring-promo" || !slices.Equal(l.Tags, []string{"promo", "spring"}) {
		t.Errorf("same link again: %+v", l)
	}
	l = decode[linkJSON](t, b.must(t, 0, "audience", "link", "--channel", "messenger", "--source", "Website footer", "--payload", "site",
		"--output", "json").stdout)
	if !l.New || l.URL != "https://m.me/"+b.sb.MessengerPageID()+"?ref=site" || l.Source != "Website footer" || len(l.Tags) != 0 {
		t.Errorf("messenger link: %+v", l)
	}

	long := strings.Repeat("x", 65)
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		msgs []string
	}{
		{"payload with a space", nil, []string{"--channel", "telegram", "--source", "x", "--payload", "a b"}, []string{`--payload "a b"`, "1 to 64 letters, digits, _ or -"}},
		{"source as payload", nil, []string{"--channel", "telegram", "--source", "Spring flyer"}, []string{`--payload "Spring flyer"`, "defaults to --source"}},
		{"payload too long", nil, []string{"--channel", "telegram", "--source", "x", "--payload", long}, []string{`--payload "` + long + `"`}},
		{"payload taken", nil, []string{"--channel", "telegram", "--source", "autumn", "--payload", "spring-promo"},
			[]string{`payload "spring-promo" on telegram already means source "spring-promo" with tags promo, spring`, "pick another --payload"}},
		{"other tags", nil, []string{"--channel", "telegram", "--source", "spring-promo"}, []string{"already means", "pick another --payload"}},
		{"no channel", nil, []string{"--source", "x"}, []string{"--channel is required"}},
		{"bad channel", nil, []string{"--channel", "sms", "--source", "x"}, []string{`--channel "sms"`}},
		{"no source", nil, []string{"--channel", "telegram"}, []string{"--source is required"}},
		{"bad tag", nil, []string{"--channel", "telegram", "--source", "x", "--tag", "a;b"}, []string{`--tag "a;b"`}},
		{"qr not png", nil, []string{"--channel", "telegram", "--source", "x", "--qr", "x.jpg"}, []string{"--qr x.jpg", "PNG"}},
		{"messenger without page id", map[string]string{"HERALD_MESSENGER_PAGE_ID": ""}, []string{"--channel", "messenger", "--source", "x"},
			[]string{"messenger.page_id is not set"}},
		{"telegram without token", map[string]string{"HERALD_TELEGRAM_TOKEN": ""}, []string{"--channel", "telegram", "--source", "x"},
			[]string{"telegram.token is not set"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := b.heraldEnv(t, c.env, append([]string{"audience", "link"}, c.args...)...)
			if r.code != 2 {
				t.Fatalf("want exit 2, got %s", r)
			}
			for _, m := range c.msgs {
				if !strings.Contains(r.stderr, m) {
					t.Errorf("stderr lacks %q:\n%s", m, r.stderr)
				}
			}
			if strings.Contains(r.stderr+r.stdout, testToken) {
				t.Errorf("the token leaked: %s", r)
			}
		})
	}
	links := decode[[]linkCounts](t, b.must(t, 0, "audience", "links", "--output", "json").stdout)
	if len(links) != 2 {
		t.Fatalf("refused links were recorded: %+v", links)
	}

	// People come through the links; links counts them.
	b.must(t, 0, "audience", "import", b.writeRows(t, "came.csv",
		"telegram,1,A,en,UTC,promo,2026-03-01T10:00:00Z,telegram_start,spring-promo,/start spring-promo",
		"telegram,2,B,en,UTC,promo,2026-03-02T10:00:00Z,telegram_start,spring-promo,/start spring-promo",
		"telegram,3,C,en,UTC,,2026-03-03T10:00:00Z,telegram_start,other,/start other",
		"messenger,4,D,en,UTC,,2026-03-04T10:00:00Z,messenger_optin,site,m.me ref"))
	b.must(t, 0, "audience", "unsubscribe", "2")
	links = decode[[]linkCounts](t, b.must(t, 0, "audience", "links", "--output", "json").stdout)
	got := map[string][3]int{}
	for _, l := range links {
		got[l.Channel+":"+l.Payload] = [3]int{l.Subscribed, l.Left, l.Brought}
	}
	if want := map[string][3]int{"telegram:spring-promo": {1, 1, 2}, "messenger:site": {1, 0, 1}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("links counts: %v, want %v", got, want)
	}
	if only := decode[[]linkCounts](t, b.must(t, 0, "audience", "links", "--channel", "messenger", "--output", "json").stdout); len(only) != 1 {
		t.Errorf("links --channel messenger: %+v", only)
	}
	table := b.must(t, 0, "audience", "links").stdout
	if !strings.Contains(table, "SUBSCRIBED") || !strings.Contains(table, "https://t.me/sandbox_424242_bot?start=spring-promo") {
		t.Errorf("links table:\n%s", table)
	}
}

// TestAudienceLinkQR decodes the QR code herald writes.
func TestAudienceLinkQR(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dir := t.TempDir()
	for _, c := range []struct{ channel, payload, file string }{
		{"telegram", "flyer-2026", "flyer.png"},
		{"messenger", strings.Repeat("Ab9_-", 12) + "abcd", "long.PNG"}, // 64 characters: the longest payload
	} {
		path := filepath.Join(dir, c.file)
		l := decode[linkJSON](t, b.must(t, 0, "audience", "link", "--channel", c.channel, "--source", "Spring flyer", "--payload", c.payload,
			"--qr", path, "--output", "json").stdout)
		if l.QR != path {
			t.Errorf("qr: %+v", l)
		}
		if got := decodeQR(t, path); got != l.URL || !strings.HasSuffix(got, "="+c.payload) {
			t.Errorf("QR code of %s says %q, want %q", c.file, got, l.URL)
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("qr file: %v %v", st, err)
		}
	}
	r := b.herald(t, "audience", "link", "--channel", "telegram", "--source", "x", "--qr", filepath.Join(dir, "missing", "x.png"))
	if r.code != 2 || !strings.Contains(r.stderr, "cannot write") {
		t.Errorf("qr into a missing folder: %s", r)
	}
}
