package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/channels/sandbox"
)

// loadCampaign is a static campaign for the subscribers tagged load.
const loadCampaign = `channels: [telegram]
audience: {tags_any: [load]}
mode: static
message:
  text: "Hello {{ .Subscriber.Name }}, this is **load**."
`

// fast lets a resume send at Telegram's paid broadcast rate, so tests do not
// wait on the free 30/s.
var fast = map[string]string{"HERALD_TELEGRAM_PAID_BROADCAST": "true", "HERALD_TELEGRAM_RATE": "1000"}

// TestCrashMidRun kills a herald process while it sends, then sends again:
// the new process takes the dead one's run over once its lease expires,
// records what was in flight as unknown, and sends only what was pending.
func TestCrashMidRun(t *testing.T) {
	t.Parallel()
	const n = 300
	b := setup(t)
	b.must(t, 0, "audience", "import", b.writeAudience(t, "load.csv", n, "load"))
	b.write(t, "campaigns/load.yaml", loadCampaign)
	// At 30/s with answers 100ms late, the run would take ten seconds with a
	// few requests in flight at any time.
	b.sb.SetFaults(sandbox.Faults{Latency: 100 * time.Millisecond})
	lease := map[string]string{leaseTTLEnv: "2s"}

	c := b.start(t, "", lease, "campaign", "send", "load", "--yes")
	eventually(t, 30*time.Second, "the child to send 40 messages", func() bool {
		if c.exited() {
			t.Fatalf("the child ended before it was killed: %s", c.wait(t, 0))
		}
		return len(b.sb.Messages()) >= 40
	})
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.done
	b.sb.SetFaults(sandbox.Faults{})
	atKill := len(b.sb.Messages())
	if atKill >= n {
		t.Fatalf("the child sent all %d messages before it was killed", atKill)
	}

	runs := b.runList(t)
	if len(runs) != 1 || runs[0]["state"] != "sending" {
		t.Fatalf("after the kill: want one run still sending, got %v", runs)
	}
	id := int64(runs[0]["run_id"].(float64))

	// The dead process's lease has up to 2s to run: until then the run is busy.
	var r result
	eventually(t, 30*time.Second, "the dead process's lease to expire", func() bool {
		r = b.heraldEnv(t, merge(lease, fast), "campaign", "send", "load", "--yes", "--output", "json")
		if r.code == 2 && strings.Contains(r.stderr, "is being sent by another herald process") {
			return false
		}
		return true
	})
	s := decode[summary](t, r.stdout)
	// Unknown outcomes above the default 5% failure rate exit 3; what matters
	// is that the run ended.
	if r.code != 0 && !(r.code == 3 && s.Counts.Unknown > 0 && strings.Contains(r.stderr, "failed or are unknown")) {
		t.Fatalf("send after the crash: %s", r)
	}
	if s.RunID != id || s.State != "done" || s.Counts.Targeted != n {
		t.Errorf("send after the crash: want run %d done with %d targeted, got %+v", id, n, s)
	}
	settled(t, s)
	if s.Counts.Unknown > 0 && !strings.Contains(r.stderr, fmt.Sprintf("%d deliveries were in flight when an earlier process stopped", s.Counts.Unknown)) {
		t.Errorf("stderr should say how many deliveries were recovered as unknown: %q", r.stderr)
	}
	if s.Counts.Failed != 0 || s.Counts.Skipped != 0 {
		t.Errorf("nothing should fail or be skipped: %+v", s.Counts)
	}

	msgs := b.sb.Messages()
	chatsOnce(t, msgs)
	if len(msgs) < s.Counts.Sent || len(msgs) > s.Counts.Sent+s.Counts.Unknown {
		t.Errorf("the sandbox got %d messages; the ledger says %d sent and %d unknown", len(msgs), s.Counts.Sent, s.Counts.Unknown)
	}
	if rep := b.report(t, id); rep.State != "done" || rep.Counts.Sent != s.Counts.Sent || rep.Counts.Unknown != s.Counts.Unknown {
		t.Errorf("report: %+v, send printed %+v", rep, s)
	}
	t.Logf("killed after %d messages; the run ended with %d sent and %d unknown; the sandbox got %d", atKill, s.Counts.Sent, s.Counts.Unknown, len(msgs))
}

// TestInterruptPausesAndResumes cancels a send (what Ctrl-C does): calls in
// flight finish and are recorded, the rest stay pending, and resume sends them.
func TestInterruptPausesAndResumes(t *testing.T) {
	t.Parallel()
	const n = 120
	b := setup(t)
	b.must(t, 0, "audience", "import", b.writeAudience(t, "load.csv", n, "load"))
	b.write(t, "campaigns/load.yaml", loadCampaign)
	b.sb.SetFaults(sandbox.Faults{Latency: 100 * time.Millisecond})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan result, 1)
	go func() { done <- b.heraldCtx(ctx, t, nil, "campaign", "send", "load", "--yes") }()
	eventually(t, 30*time.Second, "10 messages", func() bool {
		select {
		case r := <-done:
			t.Fatalf("send ended before it was interrupted: %s", r)
		default:
		}
		return len(b.sb.Messages()) >= 10
	})
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("send did not stop within 30s of the interrupt")
	}
	b.sb.SetFaults(sandbox.Faults{})
	if r.code != 130 {
		t.Fatalf("interrupted send: want exit 130, got %s", r)
	}
	runs := b.runList(t)
	if len(runs) != 1 {
		t.Fatalf("run list: %v", runs)
	}
	id := int64(runs[0]["run_id"].(float64))
	if !strings.Contains(r.stderr, fmt.Sprintf("resume it with: herald campaign resume %d", id)) {
		t.Errorf("stderr should say how to resume: %q", r.stderr)
	}
	rep := b.report(t, id)
	c := rep.Counts
	if rep.State != "paused" || c.Pending == 0 || c.Sending != 0 || c.Unknown != 0 || c.Targeted != n ||
		c.Sent+c.Pending != n {
		t.Errorf("report after the interrupt: want paused, some pending, none sending or unknown, got %+v", rep)
	}
	if got := len(b.sb.Messages()); got != c.Sent {
		t.Errorf("the sandbox got %d messages, the ledger says %d sent", got, c.Sent)
	}

	res := b.heraldEnv(t, fast, "campaign", "resume", fmt.Sprint(id), "--output", "json")
	if res.code != 0 {
		t.Fatalf("resume: %s", res)
	}
	s := decode[summary](t, res.stdout)
	if s.RunID != id || s.State != "done" || s.Counts.Sent != n || s.Counts.Unknown != 0 {
		t.Errorf("resume: %+v", s)
	}
	settled(t, s)
	msgs := b.sb.Messages()
	if len(chatsOnce(t, msgs)) != n || len(msgs) != n {
		t.Errorf("the sandbox got %d messages for %d subscribers", len(msgs), n)
	}

	// Resuming a finished run sends nothing.
	again := b.heraldEnv(t, fast, "campaign", "resume", fmt.Sprint(id))
	if again.code != 0 || !strings.Contains(again.stderr, "has finished (done): nothing to resume") || len(b.sb.Messages()) != n {
		t.Errorf("resume of a finished run: %s", again)
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestSignalStopsChild sends SIGINT to a herald process, as Ctrl-C does: it
// finishes the calls in flight, pauses the run and exits 130.
func TestSignalStopsChild(t *testing.T) {
	t.Parallel()
	const n = 60
	b := setup(t)
	b.must(t, 0, "audience", "import", b.writeAudience(t, "load.csv", n, "load"))
	b.write(t, "campaigns/load.yaml", loadCampaign)
	b.sb.SetFaults(sandbox.Faults{Latency: 100 * time.Millisecond})

	c := b.start(t, "", nil, "campaign", "send", "load", "--yes")
	eventually(t, 30*time.Second, "the child to send 5 messages", func() bool {
		if c.exited() {
			t.Fatalf("the child ended before it was interrupted: %s", c.wait(t, 0))
		}
		return len(b.sb.Messages()) >= 5
	})
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r := c.wait(t, 30*time.Second)
	if r.code != 130 || !strings.Contains(r.stderr, "stopping: finishing the messages in flight") ||
		!strings.Contains(r.stderr, "resume it with: herald campaign resume 1") {
		t.Fatalf("SIGINT: want exit 130 and how to resume, got %s", r)
	}
	rep := b.report(t, 1)
	if rep.State != "paused" || rep.Counts.Pending == 0 || rep.Counts.Sending != 0 || rep.Counts.Unknown != 0 {
		t.Errorf("report after SIGINT: %+v", rep)
	}
	if got := len(b.sb.Messages()); got != rep.Counts.Sent {
		t.Errorf("the sandbox got %d messages, the ledger says %d sent", got, rep.Counts.Sent)
	}
}
