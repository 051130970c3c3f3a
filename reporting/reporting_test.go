package reporting_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/reporting"
	"github.com/heraldcli/herald/sources"
)

func sample() reporting.Summary {
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	run := campaign.Run{ID: 7, Campaign: "blog", Trigger: "manual", State: campaign.RunDone, CreatedAt: t0,
		StartedAt: t0, FinishedAt: t0.Add(10 * time.Second),
		Items: []sources.Item{{Key: "id:1", Title: "Post <1> & *one*", Link: "https://e.com/1", Published: t0}}}
	c := campaign.Counts{Targeted: 100, Sent: 90, Failed: 6, Skipped: 3, Unknown: 1,
		Reasons:     []campaign.ReasonCount{{State: campaign.Skipped, Reason: "unsubscribed", Count: 3}, {State: campaign.Failed, Reason: "blocked", Count: 6}},
		FirstSentAt: t0.Add(time.Second), LastSentAt: t0.Add(10 * time.Second)}
	return reporting.Build(run, c, t0.Add(time.Hour))
}

func TestBuild(t *testing.T) {
	t.Parallel()
	s := sample()
	if s.DurationSeconds != 10 || s.SendRate != 10 || len(s.Items) != 1 || s.Counts.Reasons[0].Reason != "blocked" {
		t.Fatalf("%+v", s)
	}
	// An unfinished run's duration runs to now; no sends, no rate.
	run := campaign.Run{ID: 1, StartedAt: time.Unix(100, 0)}
	s = reporting.Build(run, campaign.Counts{}, time.Unix(160, 0))
	if s.DurationSeconds != 60 || s.SendRate != 0 || s.Items == nil || s.Counts.Reasons == nil {
		t.Fatalf("%+v", s)
	}
}

func TestRenderings(t *testing.T) {
	t.Parallel()
	s := sample()
	var js bytes.Buffer
	if err := reporting.WriteJSON(&js, s); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	counts := back["counts"].(map[string]any)
	for _, k := range []string{"targeted", "sent", "failed", "skipped", "unknown", "reasons"} {
		if _, ok := counts[k]; !ok {
			t.Errorf("JSON counts lack %q: %s", k, js.String())
		}
	}
	if back["run_id"].(float64) != 7 || back["state"] != "done" || back["campaign"] != "blog" {
		t.Errorf("JSON: %s", js.String())
	}
	var tb bytes.Buffer
	reporting.WriteTable(&tb, s)
	for _, w := range []string{"Run        7 (blog, manual)", "Sent       90", "failed   blocked       6", "Post <1> & *one*", "Send rate  10.0/s"} {
		if !strings.Contains(tb.String(), w) {
			t.Errorf("table lacks %q:\n%s", w, tb.String())
		}
	}
	var cs bytes.Buffer
	reporting.WriteCSV(&cs, s)
	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil || len(rows) != 9 || rows[0][0] != "run_id" || rows[2][2] != "sent" || rows[2][4] != "90" {
		t.Fatalf("CSV %v %v", rows, err)
	}
	var rl bytes.Buffer
	reporting.WriteRunsCSV(&rl, []reporting.RunRow{reporting.Row(s)})
	if !strings.Contains(rl.String(), "7,blog,done,manual,2026-11-20T09:00:00Z,100,90,6,3,1,0,10,10") {
		t.Errorf("runs CSV: %s", rl.String())
	}
}
