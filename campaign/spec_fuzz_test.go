package campaign_test

import (
	"errors"
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign"
)

// FuzzParseSpec: any campaign file either parses or fails with SpecErrors
// that carry the file name; parsing and linting a spec never panics.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		staticSpec,
		"channels: [telegram]\nsource: {url: f.xml, backfill: 2}\nmode: each\nmax_items: 3\nmessage:\n  text: |\n    {{ range .Items }}[{{ .Title }}]({{ .Link }}){{ end }}\n  gallery: [\"{{ .Item.Image }}\", b]\n  buttons:\n    - {text: a, url: \"{{ .Item.Link }}\"}\n",
		"channels: [telegram]\nmessage: {text: \"{{ template \\\"x\\\" }}\"}\n",
		"channels: [telegram]\nmessage: {text: \"{{ define \\\"x\\\" }}y{{ end }}{{ template \\\"x\\\" . }}\"}\n",
		"a: [\n", "- 1\n", "channels: {x: 1}\n", "max_items: 1e9\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		s, err := campaign.ParseSpec("f.yaml", "f", []byte(src), []string{"telegram"})
		if err != nil {
			var es campaign.SpecErrors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not SpecErrors: %T %v", err, err)
			}
			for _, e := range es {
				if e.File != "f.yaml" || e.Msg == "" {
					t.Fatalf("bad error %+v", e)
				}
			}
			return
		}
		s.Lint(map[string]campaign.Channel{"telegram": recordChannel{msgs: new(campaign.Message)}},
			campaign.SampleItems(3), campaign.SampleSubscriber(), time.Unix(0, 0))
	})
}
