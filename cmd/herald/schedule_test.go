package main

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/store/sqlite"
)

// scheduleTestNow is "now" to every herald schedule test: Saturday
// 2026-03-07, noon UTC, the day before New York springs forward.
var scheduleTestNow = time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)

var fixScheduleClockOnce sync.Once

// fixScheduleClock makes herald schedule read scheduleTestNow. Every test
// sets the same clock, once, so parallel tests do not race on it.
func fixScheduleClock() {
	fixScheduleClockOnce.Do(func() { scheduleNow = func() time.Time { return scheduleTestNow } })
}

// scheduleSetup is setup with the clock fixed and the campaigns written as
// campaigns/<name>.yaml: a static Telegram message with the given extra
// YAML (a trigger, local_time, …).
func scheduleSetup(t *testing.T, campaigns map[string]string) *bundle {
	t.Helper()
	fixScheduleClock()
	b := setup(t)
	for name, extra := range campaigns {
		b.write(t, "campaigns/"+name+".yaml", "channels: [telegram]\nmode: static\nmessage:\n  text: Hello\n"+extra)
	}
	return b
}

// watchCampaign is a campaign that polls the example's feed.
const watchCampaign = `channels: [telegram]
source: {type: rss, url: feeds/blog.xml}
mode: digest
message:
  text: "{{ range .Items }}{{ .Title }} {{ end }}"
trigger:
  watch: 15m
`

func TestScheduleExplainDST(t *testing.T) {
	t.Parallel()
	b := scheduleSetup(t, map[string]string{
		"daily":       "trigger:\n  cron: \"30 2 * * *\"\n  timezone: America/New_York\n",
		"fallback":    "trigger:\n  cron: \"30 1 * * *\"\n  timezone: America/New_York\n",
		"london":      "trigger:\n  cron: \"30 1 * * *\"\n  timezone: Europe/London\n",
		"london-fall": "trigger:\n  cron: \"30 1 * * *\"\n  timezone: Europe/London\n",
	})
	tests := []struct {
		name, campaign, from, header string
		// want are the lines: a time, and the words its note must
		// contain after two spaces ("" when DST did not move it).
		want [][2]string
	}{
		{"New York spring forward", "daily", "2026-03-07", "daily: cron 30 2 * * * in America/New_York", [][2]string{
			{"2026-03-07T02:30:00-05:00", ""},
			{"2026-03-08T03:00:00-04:00", "02:30 does not exist on 2026-03-08"},
			{"2026-03-09T02:30:00-04:00", ""},
		}},
		{"New York fall back", "fallback", "2026-10-31", "fallback: cron 30 1 * * * in America/New_York", [][2]string{
			{"2026-10-31T01:30:00-04:00", ""},
			{"2026-11-01T01:30:00-04:00", "01:30 happens twice on 2026-11-01"},
			{"2026-11-02T01:30:00-05:00", ""},
		}},
		{"London spring forward", "london", "2026-03-28", "london: cron 30 1 * * * in Europe/London", [][2]string{
			{"2026-03-28T01:30:00Z", ""},
			{"2026-03-29T02:00:00+01:00", "01:30 does not exist on 2026-03-29"},
			{"2026-03-30T01:30:00+01:00", ""},
		}},
		{"London fall back", "london-fall", "2026-10-24", "london-fall: cron 30 1 * * * in Europe/London", [][2]string{
			{"2026-10-24T01:30:00+01:00", ""},
			{"2026-10-25T01:30:00+01:00", "01:30 happens twice on 2026-10-25"},
			{"2026-10-26T01:30:00Z", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := b.must(t, 0, "schedule", "explain", tt.campaign, "--from", tt.from, "--count", "3")
			lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("want %d lines, got %s", len(tt.want), r)
			}
			for i, w := range tt.want {
				at, note, _ := strings.Cut(lines[i], "  ")
				if at != w[0] || (w[1] == "") != (note == "") || !strings.Contains(note, w[1]) {
					t.Errorf("line %d: %q, want %s with a note containing %q", i+1, lines[i], w[0], w[1])
				}
			}
			if got := strings.TrimSuffix(r.stderr, "\n"); got != tt.header {
				t.Errorf("stderr %q, want the header %q", got, tt.header)
			}
		})
	}
}

// TestScheduleExplainExactly pins explain's output byte for byte, as a
// script reading it sees it.
func TestScheduleExplainExactly(t *testing.T) {
	t.Parallel()
	b := scheduleSetup(t, map[string]string{"daily": "trigger:\n  cron: \"30 2 * * *\"\n  timezone: America/New_York\n"})
	r := b.must(t, 0, "schedule", "explain", "daily", "--from", "2026-03-07", "--count", "3")
	want := "2026-03-07T02:30:00-05:00\n" +
		"2026-03-08T03:00:00-04:00  02:30 does not exist on 2026-03-08 in America/New_York (clocks jump from 02:00 to 03:00): runs at 03:00 EDT\n" +
		"2026-03-09T02:30:00-04:00\n"
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
}

func TestScheduleExplainJSON(t *testing.T) {
	t.Parallel()
	b := scheduleSetup(t, map[string]string{
		"daily":    "trigger:\n  cron: \"30 2 * * *\"\n  timezone: America/New_York\n",
		"fallback": "trigger:\n  cron: \"30 1 * * *\"\n  timezone: America/New_York\n",
	})
	tests := []struct {
		campaign, from string
		want           []explainSlot // notes: words the note contains
	}{
		{"daily", "2026-03-08", []explainSlot{
			// The wall time named does not exist: nominal has no offset.
			{At: "2026-03-08T03:00:00-04:00", Nominal: "2026-03-08T02:30:00", Note: "02:30 does not exist"},
			{At: "2026-03-09T02:30:00-04:00", Nominal: "2026-03-09T02:30:00"},
		}},
		{"fallback", "2026-11-01", []explainSlot{
			{At: "2026-11-01T01:30:00-04:00", Nominal: "2026-11-01T01:30:00", Note: "runs once, at the first 01:30"},
			{At: "2026-11-02T01:30:00-05:00", Nominal: "2026-11-02T01:30:00"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.campaign, func(t *testing.T) {
			t.Parallel()
			r := b.must(t, 0, "schedule", "explain", tt.campaign, "--from", tt.from, "--count", "2", "--output", "json")
			got := decode[explainJSON](t, r.stdout)
			if got.Campaign != tt.campaign || got.Timezone != "America/New_York" || !strings.HasPrefix(got.Trigger, "cron ") {
				t.Errorf("got campaign %q, timezone %q, trigger %q", got.Campaign, got.Timezone, got.Trigger)
			}
			if len(got.Slots) != len(tt.want) {
				t.Fatalf("want %d slots, got %+v", len(tt.want), got.Slots)
			}
			for i, w := range tt.want {
				s := got.Slots[i]
				if s.At != w.At || s.Nominal != w.Nominal || (w.Note == "") != (s.Note == "") || !strings.Contains(s.Note, w.Note) {
					t.Errorf("slot %d: %+v, want %+v (the note containing it)", i, s, w)
				}
			}
			if r.stderr != "" {
				t.Errorf("json output wrote to stderr: %s", r.stderr)
			}
		})
	}
}

func TestScheduleExplainFrom(t *testing.T) {
	t.Parallel()
	b := scheduleSetup(t, map[string]string{
		"daily":   "trigger:\n  cron: \"30 2 * * *\"\n  timezone: America/New_York\n",
		"evening": "trigger:\n  cron: \"0 22 * * *\"\n  timezone: America/New_York\n",
		"launch":  "trigger:\n  at: \"2026-12-01T09:00\"\n  timezone: Europe/Rome\n",
	})
	tests := []struct {
		name   string
		args   []string
		want   string
		stderr string // words stderr contains
	}{
		// From now (Saturday noon UTC), the Saturday slot has passed.
		{"default is now", []string{"daily", "--count", "2"},
			"2026-03-08T03:00:00-04:00  02:30 does not exist on 2026-03-08 in America/New_York (clocks jump from 02:00 to 03:00): runs at 03:00 EDT\n2026-03-09T02:30:00-04:00\n", ""},
		// A slot at --from itself is included.
		{"from an instant, included", []string{"daily", "--from", "2026-03-07T07:30:00Z", "--count", "1"},
			"2026-03-07T02:30:00-05:00\n", ""},
		{"from an instant, just after", []string{"daily", "--from", "2026-03-07T07:30:01Z", "--count", "1"},
			"2026-03-08T03:00:00-04:00  02:30 does not exist on 2026-03-08 in America/New_York (clocks jump from 02:00 to 03:00): runs at 03:00 EDT\n", ""},
		// A date is midnight in the campaign's zone, not in UTC: from
		// 2026-03-10T00:00Z (20:00 the day before in New York) the first
		// slot would be 2026-03-09's.
		{"a date is local midnight", []string{"evening", "--from", "2026-03-10", "--count", "1"},
			"2026-03-10T22:00:00-04:00\n", ""},
		{"at: its one slot", []string{"launch", "--count", "5"}, "2026-12-01T09:00:00+01:00\n", "launch: at 2026-12-01T09:00 in Europe/Rome"},
		{"at: passed", []string{"launch", "--from", "2026-12-02"}, "", "its one time has passed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := b.must(t, 0, append([]string{"schedule", "explain"}, tt.args...)...)
			if r.stdout != tt.want {
				t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, tt.want)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q does not say %q", r.stderr, tt.stderr)
			}
		})
	}
}

func TestScheduleErrors(t *testing.T) {
	t.Parallel()
	b := scheduleSetup(t, map[string]string{"daily": "trigger:\n  cron: \"30 2 * * *\"\n"})
	b.write(t, "campaigns/watcher.yaml", watchCampaign)
	tests := []struct {
		name  string
		args  []string
		want  string
		usage bool // a flag error: it points to --help
	}{
		{"unknown campaign", []string{"explain", "nope"}, `no campaign "nope" in`, false},
		{"no trigger", []string{"explain", "announcement"}, "campaign announcement has no trigger: it runs only with herald campaign send", false},
		{"watch", []string{"explain", "watcher"}, "campaign watcher polls its source every 15m0s: it has no slots to explain", false},
		{"bad --from", []string{"explain", "daily", "--from", "next monday"}, `--from "next monday": write a date (2026-03-07: midnight in the campaign's time zone) or an RFC 3339 time`, true},
		{"--from with no zone", []string{"explain", "daily", "--from", "2026-03-07T09:00"}, "or an RFC 3339 time", true},
		{"--count 0", []string{"explain", "daily", "--count", "0"}, "--count 0: use 1 to 1000", true},
		{"--count 1001", []string{"explain", "daily", "--count", "1001"}, "--count 1001: use 1 to 1000", true},
		{"no campaign named", []string{"explain"}, "accepts 1 arg(s)", true},
		{"bad output", []string{"list", "--output", "yaml"}, `--output "yaml": use text, json`, true},
		{"unknown subcommand", []string{"lsit"}, `unknown command "lsit" for "herald schedule" (did you mean list?)`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := b.must(t, 2, append([]string{"schedule"}, tt.args...)...)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, r)
			}
			if usage := strings.Contains(r.stderr, "--help' for usage"); usage != tt.usage {
				t.Errorf("usage hint %v, want %v:\n%s", usage, tt.usage, r)
			}
			if r.stdout != "" {
				t.Errorf("an error wrote to stdout:\n%s", r)
			}
		})
	}
}

func TestScheduleListBrokenCampaign(t *testing.T) {
	t.Parallel()
	b := scheduleSetup(t, map[string]string{"daily": "trigger:\n  cron: \"30 25 * * *\"\n"})
	r := b.must(t, 2, "schedule", "list")
	for _, want := range []string{"fix the campaigns first (herald lint checks them)", "the hour field \"25\" is not valid"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, r)
		}
	}
}

// TestScheduleListManualOnly lists the example workspace, whose campaigns
// have no trigger.
func TestScheduleListManualOnly(t *testing.T) {
	t.Parallel()
	b := scheduleSetup(t, nil)
	r := b.must(t, 0, "schedule", "list")
	want := `NAME          TRIGGER  TIMEZONE  NEXT  LAST RUN
announcement  manual   -         -     -
blog-digest   manual   -         -     -
shop-deals    manual   -         -     -
`
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	rows := decode[[]scheduleRow](t, b.must(t, 0, "schedule", "list", "--output", "json").stdout)
	if len(rows) != 3 {
		t.Fatalf("want 3 campaigns, got %+v", rows)
	}
	for _, row := range rows {
		if row.Kind != "manual" || row.Trigger != "manual" || row.Timezone != "" || len(row.Next) != 0 || len(row.Notes) != 0 || row.LastRun != nil {
			t.Errorf("%s: %+v, want a manual campaign with no next fire and no run", row.Campaign, row)
		}
	}
}

// listCampaigns are the campaigns TestScheduleList* list, in a workspace
// whose timezone is Europe/London.
var listCampaigns = map[string]string{
	"daily":  "trigger:\n  cron: \"30 2 * * *\"\n  timezone: America/New_York\nlocal_time: \"09:00\"\nquiet_hours: \"21:00-08:00\"\n",
	"launch": "trigger:\n  at: \"2026-12-01T09:00\"\n  timezone: Europe/Rome\n",
	"past":   "trigger:\n  at: \"2026-01-01T09:00\"\n",
	"weekly": "trigger:\n  cron: \"0 9 * * MON\"\n",
}

func listSetup(t *testing.T) *bundle {
	t.Helper()
	b := scheduleSetup(t, listCampaigns)
	b.write(t, "campaigns/watcher.yaml", watchCampaign)
	b.env["HERALD_TIMEZONE"] = "Europe/London"
	return b
}

func TestScheduleList(t *testing.T) {
	t.Parallel()
	b := listSetup(t)
	r := b.must(t, 0, "schedule", "list")
	lines := strings.Split(r.stdout, "\n")
	// The note's wording is the schedule package's: check its gist, then
	// pin the rest of the output byte for byte.
	for i, l := range lines {
		if note, ok := strings.CutPrefix(l, "* daily: "); ok {
			if !strings.Contains(note, "02:30 does not exist on 2026-03-08 in America/New_York") {
				t.Errorf("footnote %q does not explain the 2026-03-08 slot", l)
			}
			lines[i] = "* daily: NOTE"
		}
	}
	want := `NAME          TRIGGER              TIMEZONE          NEXT                                                                              LAST RUN
announcement  manual               -                 -                                                                                 -
blog-digest   manual               -                 -                                                                                 -
daily         cron 30 2 * * *      America/New_York  2026-03-08T03:00:00-04:00*, 2026-03-09T02:30:00-04:00, 2026-03-10T02:30:00-04:00  -
launch        at 2026-12-01T09:00  Europe/Rome       2026-12-01T09:00:00+01:00                                                         -
past          at 2026-01-01T09:00  Europe/London     -                                                                                 -
shop-deals    manual               -                 -                                                                                 -
watcher       watch every 15m0s    -                 every 15m0s                                                                       -
weekly        cron 0 9 * * MON     Europe/London     2026-03-09T09:00:00Z, 2026-03-16T09:00:00Z, 2026-03-23T09:00:00Z                  -
* daily: NOTE
daily: deliveries leave at 09:00 in each subscriber's time zone (local_time); none leave during 21:00-08:00 (quiet_hours)
`
	if got := strings.Join(lines, "\n"); got != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
	}
}

func TestScheduleListJSON(t *testing.T) {
	t.Parallel()
	b := listSetup(t)
	rows := decode[[]scheduleRow](t, b.must(t, 0, "schedule", "list", "--output", "json").stdout)
	type fires struct {
		kind, trigger, zone string
		next                []string
		noted               []bool // which next fires have a note
		localTime, quiet    string
	}
	want := map[string]fires{
		"announcement": {kind: "manual", trigger: "manual"},
		"blog-digest":  {kind: "manual", trigger: "manual"},
		"daily": {"cron", "cron 30 2 * * *", "America/New_York",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"}, []bool{true, false, false},
			"09:00", "21:00-08:00"},
		"launch":  {"at", "at 2026-12-01T09:00", "Europe/Rome", []string{"2026-12-01T09:00:00+01:00"}, []bool{false}, "", ""},
		"past":    {kind: "at", trigger: "at 2026-01-01T09:00", zone: "Europe/London"},
		"watcher": {kind: "watch", trigger: "watch every 15m0s"},
		"weekly": {"cron", "cron 0 9 * * MON", "Europe/London",
			[]string{"2026-03-09T09:00:00Z", "2026-03-16T09:00:00Z", "2026-03-23T09:00:00Z"}, []bool{false, false, false}, "", ""},
	}
	var names []string
	for _, row := range rows {
		names = append(names, row.Campaign)
		w, ok := want[row.Campaign]
		if !ok {
			continue
		}
		noted := make([]bool, len(row.Notes))
		for i, n := range row.Notes {
			noted[i] = n != ""
		}
		if row.Kind != w.kind || row.Trigger != w.trigger || row.Timezone != w.zone || !slices.Equal(row.Next, w.next) ||
			!slices.Equal(noted, w.noted) || row.LocalTime != w.localTime || row.QuietHours != w.quiet || row.LastRun != nil {
			t.Errorf("%s: %+v\nwant %+v", row.Campaign, row, w)
		}
		if row.Next == nil || row.Notes == nil {
			t.Errorf("%s: next and notes are null, want arrays", row.Campaign)
		}
	}
	if wantNames := []string{"announcement", "blog-digest", "daily", "launch", "past", "shop-deals", "watcher", "weekly"}; !slices.Equal(names, wantNames) {
		t.Errorf("campaigns %v, want %v (sorted by name)", names, wantNames)
	}
}

// TestScheduleListLastRun shows a campaign's last run: one sent by hand
// (no slot: its creation time), then a slot the scheduler skipped.
func TestScheduleListLastRun(t *testing.T) {
	t.Parallel()
	b := scheduleSetup(t, map[string]string{"daily": "trigger:\n  cron: \"30 2 * * *\"\n  timezone: America/New_York\n"})
	b.importAudience(t)
	sent := decode[summary](t, b.must(t, 0, "campaign", "send", "daily", "--yes", "--output", "json").stdout)
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}

	lastRun := func(t *testing.T) *scheduledRun {
		t.Helper()
		rows := decode[[]scheduleRow](t, b.must(t, 0, "schedule", "list", "--output", "json").stdout)
		for _, row := range rows {
			if row.Campaign == "daily" {
				return row.LastRun
			}
			if row.LastRun != nil {
				t.Errorf("%s was never sent, yet has a last run: %+v", row.Campaign, row.LastRun)
			}
		}
		t.Fatal("daily is not listed")
		return nil
	}
	lr := lastRun(t)
	if lr == nil || lr.ID != sent.RunID || lr.State != campaign.RunDone || lr.Slot != nil || lr.Error != "" {
		t.Fatalf("last run %+v, want run %d done without a slot", lr, sent.RunID)
	}
	created, err := time.Parse(time.RFC3339, lr.CreatedAt)
	if err != nil {
		t.Fatalf("created_at %q: %v", lr.CreatedAt, err)
	}
	if _, off := created.Zone(); time.Since(created) > time.Hour || off != zoneOffset(created, newYork) {
		t.Errorf("created_at %s: want the send's time, in New York", lr.CreatedAt)
	}
	if r := b.must(t, 0, "schedule", "list"); !strings.Contains(r.stdout, "  #"+itoa(sent.RunID)+" done "+lr.CreatedAt+"\n") {
		t.Errorf("the text does not show run %d done at %s:\n%s", sent.RunID, lr.CreatedAt, r.stdout)
	}

	// The scheduler records a slot it does not send as a skipped run.
	st, err := sqlite.Open(context.Background(), b.path(".herald/herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	skipped, err := st.SkipSlot(context.Background(), campaign.SlotSkip{Campaign: "daily", Trigger: "cron",
		Slot: time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), Reason: "missed: herald was not running", Now: scheduleTestNow})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	lr = lastRun(t)
	if lr == nil || lr.ID != skipped.ID || lr.State != campaign.RunSkipped || lr.Slot == nil ||
		*lr.Slot != "2026-03-08T03:00:00-04:00" || lr.Error != "missed: herald was not running" {
		t.Errorf("last run %+v, want run %d skipped at slot 2026-03-08T03:00:00-04:00 with its reason", lr, skipped.ID)
	}
	if r := b.must(t, 0, "schedule", "list"); !strings.Contains(r.stdout, "  #"+itoa(skipped.ID)+" skipped 2026-03-08T03:00:00-04:00\n") {
		t.Errorf("the text does not show the skipped slot:\n%s", r.stdout)
	}
}

func zoneOffset(t time.Time, loc *time.Location) int {
	_, off := t.In(loc).Zone()
	return off
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
