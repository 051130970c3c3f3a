package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/channels/sandbox"
)

// TestAudienceStats checks stats over the real weeks (stats reads the
// clock). A run that straddles Monday 00:00 in Rome cannot tell which week
// is which, so it is run again from scratch: the next one cannot straddle.
func TestAudienceStats(t *testing.T) {
	t.Parallel()
	for attempt := 1; !audienceStatsThisWeek(t); attempt++ {
		if attempt == 2 {
			t.Fatal("two runs in a row straddled a week boundary")
		}
	}
}

// audienceStatsThisWeek builds an audience history relative to this week
// and checks herald audience stats on it; it returns false, checking
// nothing, when a new week began before stats had answered.
func audienceStatsThisWeek(t *testing.T) bool {
	b := setup(t)
	b.env["HERALD_TIMEZONE"] = "Europe/Rome"
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	// The weeks are the real ones (stats reads the clock): consents are
	// placed inside them, relative to this week's Monday in Rome.
	monday := time.Now().In(rome)
	for monday.Weekday() != time.Monday {
		monday = monday.AddDate(0, 0, -1)
	}
	monday = time.Date(monday.Year(), monday.Month(), monday.Day(), 0, 0, 0, 0, rome)
	at := func(weeks, days int) string {
		return monday.AddDate(0, 0, 7*weeks+days).Add(10 * time.Hour).UTC().Format(time.RFC3339)
	}
	b.must(t, 0, "audience", "link", "--channel", "telegram", "--source", "spring", "--payload", "spring-promo", "--tag", "promo")
	b.must(t, 0, "audience", "import", b.writeRows(t, "history.csv",
		"telegram,101,Old A,en,UTC,blog,"+at(-10, 0)+",import,crm-2026,export",
		"telegram,102,Old B,en,UTC,blog,"+at(-10, 1)+",import,crm-2026,export",
		"telegram,108,Old H,en,UTC,,"+at(-10, 2)+",import,crm-2026,export",
		"telegram,103,C,en,UTC,promo,"+at(-3, 1)+",telegram_start,spring-promo,/start spring-promo",
		"telegram,104,D,en,UTC,promo;blog,"+at(-2, 1)+",telegram_start,spring-promo,/start spring-promo",
		"telegram,105,E,en,UTC,blog,"+at(-2, 2)+",telegram_start,blog,/start blog",
		"telegram,107,G,en,UTC,,"+at(-2, 3)+",telegram_start,blog,/start blog",
		"telegram,106,F,en,UTC,news,"+at(-1, 0)+",import,crm-2026-11,export"))
	// This week: 101 unsubscribes, 102 turns out to have blocked the bot,
	// 105 asks to be forgotten; 108 unsubscribes, then asks to be
	// forgotten too (leaving once).
	b.must(t, 0, "audience", "unsubscribe", "101", "108")
	b.must(t, 0, "audience", "forget", "108", "--yes")
	b.sb.SetChat("102", sandbox.ChatBlocked)
	b.must(t, 0, "campaign", "send", "blog-digest", "--yes")
	b.must(t, 0, "audience", "forget", "105", "--yes")
	res := decode[statsJSON](t, b.must(t, 0, "audience", "stats", "--weeks", "4", "--output", "json").stdout)
	text := b.must(t, 0, "audience", "stats").stdout // the default of 12 weeks, in text
	empty := decode[statsJSON](t, b.must(t, 0, "audience", "stats", "--weeks", "12", "--output", "json").stdout)
	if time.Since(monday) >= 7*24*time.Hour {
		return false
	}
	if res.Timezone != "Europe/Rome" || !res.Since.Equal(monday.AddDate(0, 0, -21)) || res.Subscribed != 4 {
		t.Errorf("stats: timezone %q, since %s (want %s), subscribed %d (want 4)", res.Timezone, res.Since, monday.AddDate(0, 0, -21), res.Subscribed)
	}
	wantSources := []sourceStats{
		{Channel: "telegram", Source: "import", Subscribed: 1, Unsubscribed: 1, Blocked: 1, Joined: 1},
		{Channel: "telegram", Source: "spring", Link: "spring-promo", Subscribed: 2, Joined: 2},
		// 105 was forgotten: their join still counts, without its ref.
		{Channel: "telegram", Source: "telegram_start", Joined: 1},
		{Channel: "telegram", Source: "telegram_start", Ref: "blog", Subscribed: 1, Joined: 1},
	}
	if !reflect.DeepEqual(res.Sources, wantSources) {
		t.Errorf("sources:\n got %+v\nwant %+v", res.Sources, wantSources)
	}
	pct := func(v float64) *float64 { return &v }
	var wantWeeks []weekStats
	for i, w := range []weekStats{
		{Joined: 1, Net: 1, AudienceStart: 3, AudienceEnd: 4, ChurnPct: pct(0)},
		{Joined: 3, Net: 3, AudienceStart: 4, AudienceEnd: 7, ChurnPct: pct(0)},
		{Joined: 1, Net: 1, AudienceStart: 7, AudienceEnd: 8, ChurnPct: pct(0)},
		{Unsubscribed: 2, Blocked: 1, OtherLeft: 1, Left: 4, Net: -4, AudienceStart: 8, AudienceEnd: 4, ChurnPct: pct(50)},
	} {
		start := monday.AddDate(0, 0, 7*(i-3))
		y, n := start.ISOWeek()
		w.Week, w.Start = fmt.Sprintf("%d-W%02d", y, n), start.Format(time.DateOnly)
		wantWeeks = append(wantWeeks, w)
	}
	if !reflect.DeepEqual(res.Weeks, wantWeeks) {
		t.Errorf("weeks:\n got %s\nwant %s", weeksString(res.Weeks), weeksString(wantWeeks))
	}

	// The same in text, and the default of 12 weeks.
	for _, want := range []string{"4 subscribed now", "link spring-promo", "ref blog", "50.0%", wantWeeks[3].Week, "(Europe/Rome; weeks start on Monday)"} {
		if !strings.Contains(text, want) {
			t.Errorf("stats text lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "-W"); n != 12 {
		t.Errorf("stats text: %d weeks, want 12:\n%s", n, text)
	}
	// A week that started with nobody has no churn.
	if w := empty.Weeks[0]; w.AudienceStart != 0 || w.ChurnPct != nil {
		t.Errorf("first of 12 weeks: %+v", w)
	}
	if last := empty.Weeks[11]; !reflect.DeepEqual(last, wantWeeks[3]) {
		t.Errorf("this week, of 12: %+v", last)
	}

	for _, weeks := range []string{"0", "521", "x"} {
		if r := b.herald(t, "audience", "stats", "--weeks", weeks); r.code != 2 || !strings.Contains(r.stderr, "--weeks") {
			t.Errorf("--weeks %s: %s", weeks, r)
		}
	}
	return true
}

func weeksString(ws []weekStats) string {
	var b strings.Builder
	for _, w := range ws {
		churn := "nil"
		if w.ChurnPct != nil {
			churn = fmt.Sprint(*w.ChurnPct)
		}
		fmt.Fprintf(&b, "\n  %s %s joined %d unsub %d blocked %d other %d left %d net %d audience %d→%d churn %s",
			w.Week, w.Start, w.Joined, w.Unsubscribed, w.Blocked, w.OtherLeft, w.Left, w.Net, w.AudienceStart, w.AudienceEnd, churn)
	}
	return b.String()
}
