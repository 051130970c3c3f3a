package main

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/channels/sandbox"
	"github.com/heraldcli/herald/store/postgres/pgtest"
)

// TestServeFiresSchedule: herald serve fires an at trigger once, logs the
// decision, and a restart does not fire it again.
func TestServeFiresSchedule(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(t, 0, "audience", "import", b.writeAudience(t, "load.csv", 5, "load"))
	at := time.Now().Add(time.Second).UTC().Format(time.RFC3339)
	b.write(t, "campaigns/launch.yaml", strings.Replace(loadCampaign, "mode: static", "mode: static\ntrigger: {at: \""+at+"\"}", 1))
	s := b.serve(t, fast)
	eventually(t, 20*time.Second, "the launch to be sent", func() bool { return len(b.sb.Messages()) == 5 })
	eventually(t, 10*time.Second, "the run to finish", func() bool {
		runs := b.runList(t)
		return len(runs) == 1 && runs[0]["state"] == "done"
	})
	s.stop()
	if log := s.stderr.String(); !strings.Contains(log, "schedule: fired") || !strings.Contains(log, "campaign=launch") {
		t.Errorf("serve's log does not record the decision:\n%s", log)
	}
	runs := b.runList(t)
	if runs[0]["trigger"] != "at" {
		t.Errorf("run: %v", runs[0])
	}

	// A restart sees the slot decided.
	s = b.serve(t, fast)
	time.Sleep(500 * time.Millisecond) // the scheduler's first step; nothing may happen in it
	s.stop()
	if n := len(b.runList(t)); n != 1 {
		t.Fatalf("%d runs after a restart, want 1", n)
	}
	chatsOnce(t, b.sb.Messages())
}

// TestServeReloadsCampaigns: on SIGHUP serve reads campaigns/ again, and
// schedules a campaign added since it started; a broken campaign is not
// loaded, is logged with its file and line, and serve goes on.
func TestServeReloadsCampaigns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(t, 0, "audience", "import", b.writeAudience(t, "load.csv", 5, "load"))
	s := b.serve(t, fast)
	at := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339)
	b.write(t, "campaigns/launch.yaml", strings.Replace(loadCampaign, "mode: static", "mode: static\ntrigger: {at: \""+at+"\"}", 1))
	s.sighup()
	eventually(t, 20*time.Second, "the launch to be sent", func() bool { return len(b.sb.Messages()) == 5 })
	if log := s.stderr.String(); !strings.Contains(log, "campaigns reloaded") || !strings.Contains(log, "added=launch") {
		t.Errorf("serve's log does not record the reload:\n%s", log)
	}

	b.write(t, "campaigns/bad.yaml", "channels: [telegram]\ntrigger: {cron: \"0 25 * * *\"}\nmessage: {text: hi}\n")
	s.sighup()
	eventually(t, 10*time.Second, "the refused reload to be logged", func() bool {
		return strings.Contains(s.stderr.String(), "campaigns not reloaded")
	})
	if log := s.stderr.String(); !strings.Contains(log, "campaigns/bad.yaml:2") {
		t.Errorf("the refused reload does not say where:\n%s", log)
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited %d after a refused reload", code)
	}
	chatsOnce(t, b.sb.Messages())
}

// TestServeRefusesBrokenCampaigns: a campaign that does not load stops serve
// from starting (exit 2, with the file and line), as lint would report it.
func TestServeRefusesBrokenCampaigns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.write(t, "campaigns/bad.yaml", "channels: [telegram]\ntrigger: {cron: \"0 25 * * *\"}\nmessage: {text: hi}\n")
	r := b.heraldEnv(t, nil, "serve", "--addr", freeAddr(t))
	if r.code != 2 || !strings.Contains(r.stderr, "campaigns/bad.yaml:2") || !strings.Contains(r.stderr, "trigger.cron") {
		t.Fatalf("serve with a broken campaign: %s", r)
	}
}

// TestSendIdempotencyKeyTwoProcesses starts the same CI send twice at once
// (a job re-run while the first still sends): one run, each subscriber
// messaged once, and both processes report it with exit 0.
func TestSendIdempotencyKeyTwoProcesses(t *testing.T) {
	t.Parallel()
	sendTwiceAtOnce(t, setup(t))
}

// TestPostgresTwoProcesses is the same on a PostgreSQL ledger: two
// processes (two machines, as far as herald can tell) share one database.
func TestPostgresTwoProcesses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env["HERALD_STORAGE_URL"] = pgtest.Database(t)
	sendTwiceAtOnce(t, b)
	if _, err := os.Stat(b.path(".herald/herald.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a SQLite file was made beside the PostgreSQL ledger (%v)", err)
	}
}

func sendTwiceAtOnce(t *testing.T, b *bundle) {
	const n = 60
	b.must(t, 0, "audience", "import", b.writeAudience(t, "load.csv", n, "load"))
	b.write(t, "campaigns/load.yaml", loadCampaign)
	b.sb.SetFaults(sandbox.Faults{Latency: 20 * time.Millisecond})
	args := []string{"campaign", "send", "load", "--yes", "--idempotency-key", "3f9c2e1", "--output", "json"}
	// At the free 30/s the run takes two seconds: the second process
	// finds it being sent and waits for it.
	first := b.start(t, "", nil, args...)
	second := b.start(t, "", nil, args...)
	r1, r2 := first.wait(t, 60*time.Second), second.wait(t, 60*time.Second)
	for i, r := range []result{r1, r2} {
		if r.code != 0 {
			t.Fatalf("process %d: %s", i+1, r)
		}
		s := decode[summary](t, r.stdout)
		if s.State != "done" || s.Counts.Sent != n || s.Key != "3f9c2e1" {
			t.Errorf("process %d reported %+v", i+1, s)
		}
	}
	waited := strings.Contains(r1.stderr+r2.stderr, "is being sent by another herald process: waiting for it")
	t.Logf("the second process waited for the first: %v", waited)
	if runs := b.runList(t); len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	if got := len(chatsOnce(t, b.sb.Messages())); got != n {
		t.Fatalf("%d chats messaged, want %d", got, n)
	}
	// And a third, after both: the report again, nothing sent.
	r3 := b.heraldEnv(t, fast, args...)
	if r3.code != 0 || !strings.Contains(r3.stderr, `idempotency key "3f9c2e1" was already used`) {
		t.Fatalf("third: %s", r3)
	}
	if len(b.sb.Messages()) != n {
		t.Fatal("the third process sent something")
	}
}

// TestSendHoldsForLocalTime: a campaign with local_time sent by hand sends
// nothing before the subscribers' time, says so, and leaves the run waiting
// for herald serve.
func TestSendHoldsForLocalTime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(t, 0, "audience", "import", b.writeAudience(t, "load.csv", 4, "load"))
	later := time.Now().UTC().Add(3 * time.Hour).Format("15:04")
	b.write(t, "campaigns/load.yaml", strings.Replace(loadCampaign, "mode: static", "mode: static\nlocal_time: \""+later+"\"", 1))
	r := b.must(t, 0, "campaign", "send", "load", "--yes", "--output", "json")
	s := decode[summary](t, r.stdout)
	if s.State != "waiting" || s.Counts.Pending != 4 || s.Counts.Sent != 0 {
		t.Fatalf("summary: %+v", s)
	}
	if !strings.Contains(r.stderr, "4 deliveries held until their time") || !strings.Contains(r.stderr, "herald serve sends them") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if n := len(b.sb.Messages()); n != 0 {
		t.Fatalf("%d messages sent before their local time", n)
	}
	// The run is the campaign's active one: a second send resumes it, and
	// sends nothing either.
	r = b.must(t, 0, "campaign", "send", "load", "--yes", "--output", "json")
	if s2 := decode[summary](t, r.stdout); s2.RunID != s.RunID || s2.State != "waiting" || len(b.sb.Messages()) != 0 {
		t.Fatalf("second send: %+v", s2)
	}
}
