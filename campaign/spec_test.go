package campaign_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/audience"
	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/sources"
)

var known = []string{"telegram"}

func TestParseSpecErrorsNameFileAndLine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml string
		want       []string // each must appear in the error
	}{
		{"unknown top-level key", "channels: [telegram]\nmesage:\n  text: hi\n",
			[]string{`c.yaml:2: unknown key "mesage" in campaign`, "message"}},
		{"unknown nested key", "channels: [telegram]\nmessage:\n  text: hi\n  buttons:\n    - {text: a, link: b}\n",
			[]string{`c.yaml:5: unknown key "link" in message.buttons[]`}},
		{"wrong type", "channels: [telegram]\nmax_items: many\nmessage: {text: hi}\n",
			[]string{"c.yaml:2:", "many"}},
		{"bad yaml", "channels: [telegram\nmessage: {text: hi}\n", []string{"c.yaml:"}},
		{"unknown channel", "channels: [telegram, fax]\nmessage: {text: hi}\n", []string{`c.yaml:1: channels: unknown channel "fax"`}},
		{"no channels", "message: {text: hi}\n", []string{"c.yaml:", "list at least one channel"}},
		{"digest needs a source", "channels: [telegram]\nmode: digest\nmessage: {text: hi}\n", []string{"c.yaml:2: mode digest needs a source"}},
		{"bad mode", "channels: [telegram]\nmode: weekly\nmessage: {text: hi}\n", []string{`c.yaml:2: mode "weekly"`}},
		{"button needs one action", "channels: [telegram]\nmessage:\n  text: hi\n  buttons:\n    - {text: a, url: 'https://x', callback: y}\n",
			[]string{"c.yaml:5: message.buttons.0: a button needs exactly one of url or callback"}},
		{"template syntax error line", "channels: [telegram]\nmessage:\n  text: |\n    line one\n    {{ .Title\n",
			[]string{"c.yaml:5: message.text: template:"}},
		{"empty message", "channels: [telegram]\nmessage: {}\n", []string{"message needs text, media, or both"}},
		{"empty file", "", []string{"c.yaml:1: the campaign file is empty"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := campaign.ParseSpec("c.yaml", "c", []byte(tc.yaml), known)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, campaign.ErrInvalidSpec) {
				t.Errorf("error %v does not wrap ErrInvalidSpec", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseSpecDefaults(t *testing.T) {
	t.Parallel()
	s, err := campaign.ParseSpec("c.yaml", "blog", []byte("channels: [telegram]\nsource: {url: feed.xml}\nmessage: {text: hi}\n"), known)
	if err != nil {
		t.Fatal(err)
	}
	if s.Mode != campaign.Digest || s.MaxItems != campaign.DefaultMaxItems || s.Source.Type != "rss" || s.Backfill() != s.MaxItems {
		t.Fatalf("defaults: %+v", s)
	}
	if s.Line("message.text") != 3 || s.Line("source.url") != 2 {
		t.Fatalf("lines: %d %d", s.Line("message.text"), s.Line("source.url"))
	}
}

// fakeChannel records lint calls; only Lint is used here.
type lintOnly struct {
	campaign.Channel
	max int
}

func (l lintOnly) Lint(m campaign.Message) []campaign.Problem {
	if len(m.Text) > l.max {
		return []campaign.Problem{{Field: "message.text", Message: "too long"}}
	}
	return nil
}

func TestTemplatesEscapeEveryInterpolatedValue(t *testing.T) {
	t.Parallel()
	src := "channels: [telegram]\nsource: {url: f.xml}\nmessage:\n  text: |\n    **News** for {{ .Subscriber.Name }}\n    {{ range .Items }}- [{{ .Title }}]({{ .Link }})\n    {{ end }}{{ markdown \"_trusted_\" }}\n"
	s, err := campaign.ParseSpec("c.yaml", "c", []byte(src), known)
	if err != nil {
		t.Fatal(err)
	}
	items := []sources.Item{{Key: "1", Title: "<b>*bold*</b> & _x_ [y](z)", Link: "https://e.com/a_(b)"}}
	var got campaign.Message
	ch := recordChannel{msgs: &got}
	probs, err := s.Lint(map[string]campaign.Channel{"telegram": ch}, items, audience.Subscriber{Name: "*Eve*"}, time.Now())
	if err != nil || len(probs) != 0 {
		t.Fatalf("lint: %v %v", probs, err)
	}
	for _, want := range []string{`\*Eve\*`, `<b>\*bold\*</b> & \_x\_ \[y\]\(z\)`, `(https://e.com/a\_\(b\))`, "_trusted_", "**News**"} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("rendered %q lacks %q", got.Text, want)
		}
	}
}

type recordChannel struct {
	campaign.Channel
	msgs *campaign.Message
}

func (r recordChannel) Lint(m campaign.Message) []campaign.Problem { *r.msgs = m; return nil }

func TestLintReportsLineOfTheField(t *testing.T) {
	t.Parallel()
	src := "channels: [telegram]\nmode: static\nmessage:\n  text: |\n    {{ .Subscriber.Name }} hello there\n"
	s, err := campaign.ParseSpec("c.yaml", "c", []byte(src), known)
	if err != nil {
		t.Fatal(err)
	}
	probs, err := s.Lint(map[string]campaign.Channel{"telegram": lintOnly{max: 5}}, nil, campaign.SampleSubscriber(), time.Now())
	if err != nil || len(probs) != 1 || probs[0].Line != 4 || probs[0].Channel != "telegram" {
		t.Fatalf("problems %+v, err %v", probs, err)
	}
	// A field that does not exist is a template error at its line.
	s, err = campaign.ParseSpec("c.yaml", "c", []byte("channels: [telegram]\nmode: static\nmessage:\n  text: |\n    ok\n    {{ .Subscriber.Nmae }}\n"), known)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Lint(map[string]campaign.Channel{"telegram": lintOnly{max: 500}}, nil, campaign.SampleSubscriber(), time.Now())
	if err == nil || !strings.Contains(err.Error(), "c.yaml:6:") || !strings.Contains(err.Error(), "Nmae") {
		t.Fatalf("template field error: %v", err)
	}
}

func TestRunawayTemplateFailsFast(t *testing.T) {
	t.Parallel()
	s, err := campaign.ParseSpec("c.yaml", "c", []byte("channels: [telegram]\nmode: static\nmessage:\n  text: \"{{ range 1000000000 }}xxxxxxxx{{ end }}\"\n"), known)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Lint(map[string]campaign.Channel{"telegram": lintOnly{max: 4096}}, nil, campaign.SampleSubscriber(), time.Now())
	if err == nil || !strings.Contains(err.Error(), "c.yaml:4:") || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("runaway template: %v", err)
	}
}
