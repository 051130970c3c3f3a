package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/heraldcli/herald/channels/sandbox"
)

// TestResendUnknown: deliveries whose answer was lost are unknown and never
// sent again, until an operator asks for it explicitly.
func TestResendUnknown(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importAudience(t)
	// Every answer is lost after Telegram processed the message.
	b.sb.SetFaults(sandbox.Faults{DropRate: 1})
	r := b.herald(t, "campaign", "send", "blog-digest", "--yes", "--output", "json")
	s := decode[summary](t, r.stdout)
	if r.code != exitRunFailed || s.Counts.Unknown != s.Counts.Targeted || s.Counts.Targeted == 0 || s.State != "done" {
		t.Fatalf("first send: %v\n%+v", r, s)
	}
	first := len(b.sb.Messages())
	id := fmt.Sprint(s.RunID)

	// Not on a terminal and without --yes: refused, nothing changes.
	r = b.herald(t, "campaign", "resend-unknown", id)
	if r.code != exitInvalid || !strings.Contains(r.stderr, "may message these people twice") || !strings.Contains(r.stderr, "--yes") {
		t.Fatalf("without --yes: %v", r)
	}
	// On a terminal, "n" keeps it as it is.
	r = b.heraldTTY(t, "n\n", "campaign", "resend-unknown", id)
	if r.code != exitOK || !strings.Contains(r.stderr, "nothing resent") || b.report(t, s.RunID).Counts.Unknown != s.Counts.Targeted {
		t.Fatalf("answered n: %v", r)
	}

	b.sb.SetFaults(sandbox.Faults{})
	r = b.herald(t, "campaign", "resend-unknown", id, "--yes", "--output", "json")
	again := decode[summary](t, r.stdout)
	if r.code != exitOK || again.RunID != s.RunID || again.State != "done" || again.Counts.Sent != s.Counts.Targeted || again.Counts.Unknown != 0 {
		t.Fatalf("resend: %v\n%+v", r, again)
	}
	// Exactly what the operator chose: each of them once more.
	if got := len(b.sb.Messages()); got != first+s.Counts.Targeted {
		t.Fatalf("sandbox has %d messages, want %d", got, first+s.Counts.Targeted)
	}
	// Nothing unknown any more: nothing to do.
	r = b.herald(t, "campaign", "resend-unknown", id, "--yes")
	if r.code != exitOK || !strings.Contains(r.stderr, "nothing to resend") {
		t.Fatalf("second resend: %v", r)
	}
	if r := b.herald(t, "campaign", "resend-unknown", "999", "--yes"); r.code != exitInvalid {
		t.Fatalf("unknown run: %v", r)
	}
}
