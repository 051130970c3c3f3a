package main

import (
	"context"
	"strings"
	"testing"
)

// TestDemo runs herald demo, README's first command, and checks that it
// tells the story it promises.
func TestDemo(t *testing.T) {
	t.Parallel()
	io, out, errOut := TestStreams("", map[string]string{})
	if code := run(context.Background(), []string{"demo"}, io); code != exitOK {
		t.Fatalf("demo exited %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"https://t.me/sandbox_123456_bot?start=flyer",
		"telegram 100000008: Hi Lena, welcome aboard!",
		"telegram 100000002: You're unsubscribed",
		"messenger 7100000000000001: Thanks for your message!",
		"telegram   unsubscribed             1",
		"skipped  outside_window  2",
		"The second send found no new items and sent nothing",
		"A day later the shop's feed has changed.",
		"+  Trail Runner 2 (SH-1001)",
		"[photo https://shop.example.com/images/trail-runner-2.jpg] Trail Runner 2 · 99,00\u00a0€, was 129,00\u00a0€",
		"[carousel card] Camp Mug, Enamel — Édition Alpine · 14,50\u00a0€, new",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(errOut.String(), "level=ERROR") {
		t.Errorf("the demo logged errors:\n%s", errOut)
	}
}
