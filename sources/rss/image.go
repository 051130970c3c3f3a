package rss

import (
	"net/url"
	"path"
	"strings"

	"github.com/mmcdole/gofeed"
	ext "github.com/mmcdole/gofeed/extensions"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// pickImage returns the item's image as an absolute http(s) URL, taking the
// first usable one of: an image enclosure, a media:content image, a
// media:thumbnail, an itunes:image, the image gofeed found (JSON Feed's
// image / banner_image), then the first <img> of the content and of the
// description. "" when there is none.
func pickImage(fi *gofeed.Item, base *url.URL) string {
	var candidates []string
	for _, enc := range fi.Enclosures {
		if enc != nil && isImage(enc.URL, enc.Type, "") {
			candidates = append(candidates, enc.URL)
		}
	}
	media := fi.Extensions["media"]
	contents := mediaElements(media, "content")
	for _, c := range contents {
		if isImage(c.Attrs["url"], c.Attrs["type"], c.Attrs["medium"]) {
			candidates = append(candidates, c.Attrs["url"])
		}
	}
	for _, t := range mediaElements(media, "thumbnail") {
		candidates = append(candidates, t.Attrs["url"])
	}
	for _, c := range contents {
		for _, t := range c.Children["thumbnail"] {
			candidates = append(candidates, t.Attrs["url"])
		}
	}
	if fi.ITunesExt != nil {
		candidates = append(candidates, fi.ITunesExt.Image)
	}
	for _, img := range fi.Extensions["itunes"]["image"] {
		candidates = append(candidates, img.Attrs["href"], img.Value)
	}
	if fi.Image != nil && !inHTML(fi.Image.URL, fi.Content, fi.Description) {
		// For RSS, gofeed's own pick may be the first <img> of the content,
		// which firstImg below handles better (it skips tracking pixels).
		candidates = append(candidates, fi.Image.URL)
	}
	for _, c := range candidates {
		if u := resolveHTTP(base, c); u != "" {
			return u
		}
	}
	for _, doc := range []string{fi.Content, fi.Description} {
		if u := firstImg(doc, base); u != "" {
			return u
		}
	}
	return ""
}

// mediaElements returns the Media RSS elements called name, at the top of
// the item and inside media:group, in document order within each.
func mediaElements(media map[string][]ext.Extension, name string) []ext.Extension {
	out := append([]ext.Extension(nil), media[name]...)
	for _, g := range media["group"] {
		out = append(out, g.Children[name]...)
	}
	return out
}

// imageExtensions are the file types herald can send as a picture.
var imageExtensions = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true, ".avif": true,
}

// isImage tells from a MIME type, a Media RSS medium or, when neither says,
// the file extension whether rawURL is an image.
func isImage(rawURL, mimeType, medium string) bool {
	if strings.TrimSpace(rawURL) == "" {
		return false
	}
	mimeType = strings.ToLower(strings.TrimSpace(mimeType))
	medium = strings.ToLower(strings.TrimSpace(medium))
	switch {
	case medium == "image" || strings.HasPrefix(mimeType, "image/"):
		return true
	case medium != "":
		return false
	case mimeType != "" && mimeType != "application/octet-stream" && mimeType != "binary/octet-stream":
		return false
	}
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return false
	}
	return imageExtensions[strings.ToLower(path.Ext(u.Path))]
}

// firstImg returns the first <img src> of an HTML fragment that resolves to
// an http(s) URL and is not a tracking pixel.
func firstImg(fragment string, base *url.URL) string {
	if !strings.Contains(fragment, "<") {
		return ""
	}
	z := html.NewTokenizer(strings.NewReader(fragment))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if atom.Lookup(name) != atom.Img || !hasAttr {
				continue
			}
			var src, width, height string
			for {
				key, val, more := z.TagAttr()
				switch string(key) {
				case "src":
					src = string(val)
				case "width":
					width = string(val)
				case "height":
					height = string(val)
				}
				if !more {
					break
				}
			}
			if isPixel(width) || isPixel(height) {
				continue
			}
			if u := resolveHTTP(base, src); u != "" {
				return u
			}
		}
	}
}

// isPixel reports a 0 or 1 pixel dimension, the mark of a tracking image.
func isPixel(dim string) bool {
	dim = strings.TrimSuffix(strings.TrimSpace(dim), "px")
	return dim == "0" || dim == "1"
}

// inHTML reports whether u appears in any of docs, as written or escaped.
func inHTML(u string, docs ...string) bool {
	if u == "" {
		return false
	}
	escaped := html.EscapeString(u)
	for _, d := range docs {
		if strings.Contains(d, u) || strings.Contains(d, escaped) {
			return true
		}
	}
	return false
}
