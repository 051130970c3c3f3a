package sandbox

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html"
	"net/http"
	"slices"
	"strings"
	"unicode/utf16"
)

var (
	//go:embed web/index.html
	pageHTML string
	//go:embed web/app.js
	pageJS string
	//go:embed web/style.css
	pageCSS string
)

// page is the web page, self-contained, and its Content-Security-Policy, which allows only its
// own script and style (by hash) and requests to the sandbox itself: message text reaches the
// page as HTML the sandbox rendered and escaped, and nothing in it can run.
var page, pageCSP = func() (string, string) {
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	body := strings.Replace(pageHTML, "/*STYLE*/", pageCSS, 1)
	body = strings.Replace(body, "/*SCRIPT*/", pageJS, 1)
	csp := "default-src 'none'; script-src " + hash(pageJS) + "; style-src " + hash(pageCSS) +
		"; img-src http: https: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return body, csp
}()

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.Write([]byte(page))
}

// renderMessageHTML renders a message's text as the recipient sees it, as safe HTML: every
// character escaped, and the formatting Telegram shows as a fixed set of tags.
func renderMessageHTML(m *Message) string {
	if strings.EqualFold(m.ParseMode, "html") {
		if f, err := parseHTML(m.Text, false); err == nil {
			return renderEntities(f.text, f.entities)
		}
	}
	return html.EscapeString(m.Plain)
}

// renderEntities writes text with its entities as HTML. Entities that overlap without nesting
// (possible when given explicitly) are closed and reopened around each other.
func renderEntities(text string, ents []entity) string {
	if len(ents) == 0 {
		return html.EscapeString(text)
	}
	units := utf16.Encode([]rune(text))
	n := len(units)
	var kept []entity
	points := []int{n}
	for _, e := range ents {
		start, end := min(max(e.Offset, 0), n), min(max(e.Offset+e.Length, 0), n)
		if end > start {
			e.Offset, e.Length = start, end-start
			kept = append(kept, e)
			points = append(points, start, end)
		}
	}
	sortEntities(kept)
	slices.Sort(points)
	points = slices.Compact(points)

	var b strings.Builder
	var open []entity
	pos, next := 0, 0
	for _, p := range points {
		if p > pos {
			b.WriteString(html.EscapeString(string(utf16.Decode(units[pos:p]))))
			pos = p
		}
		// Close from the outermost entity that ends here, reopening those inside it that go on.
		if i := slices.IndexFunc(open, func(e entity) bool { return e.Offset+e.Length <= p }); i >= 0 {
			for j := len(open) - 1; j >= i; j-- {
				b.WriteString(endTag(open[j]))
			}
			inner := slices.Clone(open[i+1:])
			open = open[:i]
			for _, e := range inner {
				if e.Offset+e.Length > p {
					b.WriteString(startTag(e))
					open = append(open, e)
				}
			}
		}
		for ; next < len(kept) && kept[next].Offset == p; next++ {
			b.WriteString(startTag(kept[next]))
			open = append(open, kept[next])
		}
	}
	return b.String()
}

func startTag(e entity) string {
	switch e.Type {
	case "bold":
		return "<b>"
	case "italic":
		return "<i>"
	case "underline":
		return "<u>"
	case "strikethrough":
		return "<s>"
	case "spoiler":
		return `<span class="spoiler">`
	case "code":
		return "<code>"
	case "pre":
		return "<pre>"
	case "blockquote":
		return "<blockquote>"
	case "expandable_blockquote":
		return `<blockquote class="expandable">`
	case "text_link":
		if isHTTPURL(e.URL) {
			return `<a href="` + html.EscapeString(e.URL) + `" rel="noopener noreferrer nofollow" target="_blank">`
		}
		return `<span class="link" title="` + html.EscapeString(e.URL) + `">`
	}
	return `<span class="` + strings.ReplaceAll(e.Type, "_", "-") + `">`
}

func endTag(e entity) string {
	switch e.Type {
	case "bold":
		return "</b>"
	case "italic":
		return "</i>"
	case "underline":
		return "</u>"
	case "strikethrough":
		return "</s>"
	case "code":
		return "</code>"
	case "pre":
		return "</pre>"
	case "blockquote", "expandable_blockquote":
		return "</blockquote>"
	case "text_link":
		if isHTTPURL(e.URL) {
			return "</a>"
		}
	}
	return "</span>"
}
