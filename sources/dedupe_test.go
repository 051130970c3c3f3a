package sources_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/heraldcli/herald/sources"
)

func TestNormalizeLink(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"https://example.com/post", "https://example.com/post"},
		{"  https://example.com/post  ", "https://example.com/post"},
		{"HTTPS://Example.COM/Post", "https://example.com/Post"}, // paths are case-sensitive
		{"http://example.com:80/a", "http://example.com/a"},
		{"https://example.com:443/a", "https://example.com/a"},
		{"http://example.com:443/a", "http://example.com:443/a"},
		{"https://example.com:8443/a", "https://example.com:8443/a"},
		{"https://example.com/a#comments", "https://example.com/a"},
		{"https://example.com/a/", "https://example.com/a"},
		{"https://example.com/a//", "https://example.com/a"},
		{"https://example.com/", "https://example.com/"},
		{"https://example.com", "https://example.com/"},
		{"https://example.com?b=2", "https://example.com/?b=2"},
		{"https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"},
		{"https://example.com/a?UTM_Campaign=x&id=7", "https://example.com/a?id=7"},
		{"https://example.com/a?fbclid=abc&gclid=def&p=1", "https://example.com/a?p=1"},
		{"https://example.com/a?z=1&a=2&m=3", "https://example.com/a?a=2&m=3&z=1"},
		{"https://example.com/a?b=2&&a=1&", "https://example.com/a?a=1&b=2"},
		{"https://example.com/a?q=caf%C3%A9+au+lait", "https://example.com/a?q=caf%C3%A9+au+lait"},
		{"https://example.com/a%20b/", "https://example.com/a%20b"},
		{"https://example.com/a?", "https://example.com/a"},
		{"/relative/path/", "/relative/path/"},
		{"mailto:shop@example.com", "mailto:shop@example.com"},
		{"not a url", "not a url"},
	}
	for _, tt := range tests {
		if got := sources.NormalizeLink(tt.in); got != tt.want {
			t.Errorf("NormalizeLink(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeLinkEquivalents(t *testing.T) {
	t.Parallel()
	same := []string{
		"https://shop.example.com/p/42?color=red&size=m",
		"HTTPS://SHOP.example.com:443/p/42/?size=m&color=red&utm_source=newsletter#reviews",
		"https://shop.example.com/p/42?fbclid=IwAR0&color=red&size=m",
	}
	want := sources.NormalizeLink(same[0])
	for _, s := range same[1:] {
		if got := sources.NormalizeLink(s); got != want {
			t.Errorf("NormalizeLink(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestDedupeKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                       string
		guid, link, title, content string
		want                       string
		wantPrefix                 string
	}{
		{name: "guid wins", guid: "  post-42 ", link: "https://example.com/a", want: "id:post-42"},
		{name: "guid that is a URL is kept as written", guid: "https://Example.com/a/?utm_source=x", want: "id:https://Example.com/a/?utm_source=x"},
		{name: "blank guid falls back to link", guid: " \t", link: "https://Example.com/a/?utm_source=rss", want: "link:https://example.com/a"},
		{name: "relative link is still a link", link: "/deals/1", want: "link:/deals/1"},
		{name: "no guid, no link: hash", title: "Closed Monday", content: "Staff training.", wantPrefix: "sha256:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sources.DedupeKey(tt.guid, tt.link, tt.title, tt.content)
			if tt.want != "" && got != tt.want {
				t.Errorf("DedupeKey = %q, want %q", got, tt.want)
			}
			if tt.wantPrefix != "" && !strings.HasPrefix(got, tt.wantPrefix) {
				t.Errorf("DedupeKey = %q, want prefix %q", got, tt.wantPrefix)
			}
		})
	}

	// The hash covers title and content.
	a := sources.DedupeKey("", "", "Sale", "today")
	if a != sources.DedupeKey("", "", "Sale", "today") {
		t.Error("hash key is not stable")
	}
	if a == sources.DedupeKey("", "", "Sale", "tomorrow") || a == sources.DedupeKey("", "", "Sales", "today") {
		t.Error("different title or content, same hash key")
	}
	if len(a) != len("sha256:")+64 {
		t.Errorf("hash key %q: want sha256: and 64 hex digits", a)
	}
	// A GUID can never be mistaken for a link key or a hash.
	if sources.DedupeKey("https://example.com/a", "", "", "") == sources.DedupeKey("", "https://example.com/a", "", "") {
		t.Error("guid and link keys collide")
	}
}

func FuzzNormalizeLink(f *testing.F) {
	for _, s := range []string{
		"https://example.com/a/?utm_source=x&b=2&a=1#frag",
		"HTTP://EXAMPLE.com:80",
		"https://user:pass@example.com:443//a//?&&",
		"http://[::1]:80/x",
		"https://example.com/%zz",
		"//example.com/a",
		"file:///etc/passwd",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := sources.NormalizeLink(s)
		if strings.TrimSpace(s) == "" {
			if n != "" {
				t.Fatalf("NormalizeLink(%q) = %q, want empty", s, n)
			}
			return
		}
		if n == "" {
			t.Fatalf("NormalizeLink(%q) is empty", s)
		}
		if again := sources.NormalizeLink(n); again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, again)
		}
		u, err := url.Parse(n)
		if err != nil || u.Hostname() == "" || u.Scheme == "" || u.Opaque != "" {
			return // left as it was: not an absolute URL
		}
		if u.Fragment != "" {
			t.Fatalf("NormalizeLink(%q) = %q keeps a fragment", s, n)
		}
		for name := range u.Query() {
			if l := strings.ToLower(name); strings.HasPrefix(l, "utm_") || l == "fbclid" || l == "gclid" {
				t.Fatalf("NormalizeLink(%q) = %q keeps tracking parameter %q", s, n, name)
			}
		}
	})
}

func FuzzDedupeKey(f *testing.F) {
	f.Add("guid-1", "https://example.com/a", "Title", "Content")
	f.Add("", "https://example.com/a?utm_source=x", "", "")
	f.Add("", "", "Title", "Body")
	f.Add(" ", "\t", "", "")
	f.Fuzz(func(t *testing.T, guid, link, title, content string) {
		k := sources.DedupeKey(guid, link, title, content)
		if k != sources.DedupeKey(guid, link, title, content) {
			t.Fatal("not deterministic")
		}
		switch {
		case strings.TrimSpace(guid) != "":
			if !strings.HasPrefix(k, "id:") {
				t.Fatalf("key %q for guid %q", k, guid)
			}
		case strings.TrimSpace(link) != "":
			if !strings.HasPrefix(k, "link:") || len(k) == len("link:") {
				t.Fatalf("key %q for link %q", k, link)
			}
		default:
			if !strings.HasPrefix(k, "sha256:") || len(k) != len("sha256:")+64 {
				t.Fatalf("key %q for title %q content %q", k, title, content)
			}
		}
	})
}
