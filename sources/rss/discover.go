package rss

import (
	"bytes"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// feedTypes are the <link type> values of feed autodiscovery.
var feedTypes = map[string]bool{
	"application/rss+xml":   true,
	"application/atom+xml":  true,
	"application/feed+json": true,
	"application/json":      true,
}

// feedLinks returns the feeds an HTML page advertises with
// <link rel="alternate" type="application/rss+xml" href="…">, resolved
// against base, at most 5. It is how a "not a feed" error can say which URL
// to use instead.
func feedLinks(page []byte, base *url.URL) []string {
	if !bytes.Contains(page, []byte("<link")) && !bytes.Contains(page, []byte("<LINK")) {
		return nil
	}
	var out []string
	z := html.NewTokenizer(bytes.NewReader(page))
	for len(out) < 5 {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch atom.Lookup(name) {
			case atom.Body:
				return out
			case atom.Link:
			default:
				continue
			}
			if !hasAttr {
				continue
			}
			var rel, typ, href string
			for {
				key, val, more := z.TagAttr()
				switch string(key) {
				case "rel":
					rel = strings.ToLower(string(val))
				case "type":
					typ = strings.ToLower(strings.TrimSpace(string(val)))
				case "href":
					href = string(val)
				}
				if !more {
					break
				}
			}
			if !slices.Contains(strings.Fields(rel), "alternate") || !feedTypes[typ] {
				continue
			}
			if u := resolveHTTP(base, href); u != "" && !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return out
}
