package telegram

import (
	"strings"
	"unicode/utf8"

	"github.com/heraldcli/herald/campaign/markup"
)

// HTML renders d for parse_mode "HTML": <b>, <i>, <s>, <code>, <pre> (with
// <code class="language-x"> inside when the block names a language) and
// <a href>. Text is escaped (< > &), attribute values too (< > & ").
//
// The text is cleaned the way Telegram cleans every message, so that the
// HTML holds exactly the characters Telegram will keep: invalid UTF-8
// becomes U+FFFD, control characters other than newline become spaces,
// carriage returns and the characters Telegram deletes (U+2028–U+202E,
// U+030A, U+0333, U+033F) are removed. Tags that would enclose no text are
// left out, a tag already open is not repeated inside itself, and code
// inside a link is rendered as plain text, because Telegram would otherwise
// keep only one of the two.
func HTML(d markup.Doc) string {
	var b strings.Builder
	w := htmlWriter{b: &b}
	w.nodes(d.Nodes)
	return b.String()
}

// TextLength is the length Telegram gives the text of HTML(d), as it
// checks it against its limits (4096 for a message, 1024 for a caption): in
// UTF-16 code units, after cleaning (see HTML) and after trimming spaces and
// newlines at both ends. Like Telegram, it keeps leading whitespace that
// starts a code block, a code span or a link. A result of 0 means Telegram
// would refuse the text as empty.
func TextLength(d markup.Doc) int {
	return utf16Units(visibleForTelegram(d))
}

var (
	htmlTextEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	htmlAttrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
)

type htmlWriter struct {
	b      *strings.Builder
	open   [markup.Link + 1]bool // the formatting tags currently open
	inLink bool
}

func (w *htmlWriter) nodes(nodes []markup.Node) {
	for _, n := range nodes {
		w.node(n)
	}
}

func (w *htmlWriter) node(n markup.Node) {
	switch n.Kind {
	case markup.Text:
		w.text(n.Text)
	case markup.Code, markup.Pre:
		text := cleanForTelegram(n.Text)
		switch {
		case text == "":
		case w.inLink:
			htmlTextEscaper.WriteString(w.b, text)
		case n.Kind == markup.Code:
			w.b.WriteString("<code>")
			htmlTextEscaper.WriteString(w.b, text)
			w.b.WriteString("</code>")
		case n.Lang != "":
			w.b.WriteString(`<pre><code class="language-`)
			htmlAttrEscaper.WriteString(w.b, n.Lang)
			w.b.WriteString(`">`)
			htmlTextEscaper.WriteString(w.b, text)
			w.b.WriteString("</code></pre>")
		default:
			w.b.WriteString("<pre>")
			htmlTextEscaper.WriteString(w.b, text)
			w.b.WriteString("</pre>")
		}
	case markup.Bold, markup.Italic, markup.Strike:
		if w.open[n.Kind] {
			w.nodes(n.Children)
			return
		}
		switch n.Kind {
		case markup.Bold:
			w.wrap("<b>", "</b>", n)
		case markup.Italic:
			w.wrap("<i>", "</i>", n)
		default:
			w.wrap("<s>", "</s>", n)
		}
	case markup.Link:
		if w.inLink { // Parse never nests links; keep the text if a caller does
			w.nodes(n.Children)
			return
		}
		var start strings.Builder
		start.WriteString(`<a href="`)
		htmlAttrEscaper.WriteString(&start, cleanForTelegram(n.URL))
		start.WriteString(`">`)
		w.inLink = true
		w.wrap(start.String(), "</a>", n)
		w.inLink = false
	}
}

// wrap writes n's children between start and end, or nothing when they
// render to nothing: Telegram drops an empty entity anyway.
func (w *htmlWriter) wrap(start, end string, n markup.Node) {
	mark := w.b.Len()
	w.b.WriteString(start)
	inner := w.b.Len()
	w.open[n.Kind] = true
	w.nodes(n.Children)
	w.open[n.Kind] = false
	if w.b.Len() == inner {
		s := w.b.String()[:mark]
		w.b.Reset()
		w.b.WriteString(s)
		return
	}
	w.b.WriteString(end)
}

func (w *htmlWriter) text(s string) {
	htmlTextEscaper.WriteString(w.b, cleanForTelegram(s))
}

// visibleForTelegram is the text Telegram keeps for HTML(d). It follows
// TDLib's fix_formatted_text: trailing spaces and newlines are removed;
// leading ones are removed up to the first entity, and since bold, italic
// and strikethrough entities are first moved past their own leading
// whitespace, only a code, pre or link entity can stop the trimming.
func visibleForTelegram(d markup.Doc) string {
	v := visibleWriter{firstKept: -1}
	v.nodes(d.Nodes)
	text := v.b.String()
	end := len(text)
	for end > 0 && (text[end-1] == ' ' || text[end-1] == '\n') {
		end--
	}
	if end == 0 {
		return ""
	}
	lead := 0
	for text[lead] == ' ' || text[lead] == '\n' {
		lead++
	}
	if v.firstKept >= 0 && v.firstKept < lead {
		lead = v.firstKept
	}
	return text[lead:end]
}

type visibleWriter struct {
	b strings.Builder
	// firstKept is where the first entity that Telegram does not move past
	// its leading whitespace begins, or -1.
	firstKept int
	inLink    bool
}

func (v *visibleWriter) nodes(nodes []markup.Node) {
	for _, n := range nodes {
		switch n.Kind {
		case markup.Text:
			v.b.WriteString(cleanForTelegram(n.Text))
		case markup.Code, markup.Pre:
			start := v.b.Len()
			v.b.WriteString(cleanForTelegram(n.Text))
			if !v.inLink {
				v.kept(start)
			}
		case markup.Link:
			if v.inLink {
				v.nodes(n.Children)
				continue
			}
			start := v.b.Len()
			v.inLink = true
			v.nodes(n.Children)
			v.inLink = false
			if linkKeptByTelegram(n.URL) {
				v.kept(start)
			}
		default:
			v.nodes(n.Children)
		}
	}
}

// kept records an entity that began at start, if it holds any text.
func (v *visibleWriter) kept(start int) {
	if v.b.Len() > start && (v.firstKept < 0 || start < v.firstKept) {
		v.firstKept = start
	}
}

// linkKeptByTelegram reports whether Telegram keeps a link entity for url.
// It accepts http(s) and tg links; other schemes (mailto:) keep their text
// and lose the link.
func linkKeptByTelegram(url string) bool {
	u := strings.ToLower(url)
	return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "tg:")
}

// cleanForTelegram does to s what Telegram does to every text (TDLib's
// clean_input_string), and replaces invalid UTF-8, which Telegram refuses.
func cleanForTelegram(s string) string {
	if !needsTelegramCleaning(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s { // invalid bytes arrive as U+FFFD
		switch {
		case r == '\r', r >= 0x2028 && r <= 0x202E, r == 0x030A, r == 0x0333, r == 0x033F:
		case r < 0x20 && r != '\n':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsTelegramCleaning(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 && c != '\n':
			return true
		case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && s[i+2] >= 0xA8 && s[i+2] <= 0xAE:
			return true
		case c == 0xCC && i+1 < len(s) && (s[i+1] == 0x8A || s[i+1] == 0xB3 || s[i+1] == 0xBF):
			return true
		}
	}
	return !utf8.ValidString(s)
}

// utf16Units is the length of s in UTF-16 code units, as Telegram counts.
func utf16Units(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}
