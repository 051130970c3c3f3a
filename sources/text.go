package sources

import (
	"html"
	"strings"

	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// PlainText turns an HTML fragment into one line of plain text for a summary:
// tags are removed (with the content of <script>, <style> and other
// non-text elements), entities are decoded, and runs of whitespace (line
// breaks and paragraph boundaries included) become one space. The result is
// not escaped for any platform: "a < b & c" stays "a < b & c".
func PlainText(htmlText string) string {
	if !strings.ContainsAny(htmlText, "<&") {
		return collapseSpace(htmlText)
	}
	z := nethtml.NewTokenizer(strings.NewReader(htmlText))
	var b strings.Builder
	skipDepth := 0 // > 0 inside elements whose text is not content
	for {
		switch z.Next() {
		case nethtml.ErrorToken:
			return collapseSpace(b.String())
		case nethtml.TextToken:
			if skipDepth == 0 {
				b.Write(z.Text())
			}
		case nethtml.StartTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if nonTextElements[a] {
				skipDepth++
			} else if blockElements[a] {
				b.WriteByte(' ')
			}
		case nethtml.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if nonTextElements[a] {
				if skipDepth > 0 {
					skipDepth--
				}
			} else if blockElements[a] {
				b.WriteByte(' ')
			}
		case nethtml.SelfClosingTagToken:
			name, _ := z.TagName()
			if blockElements[atom.Lookup(name)] {
				b.WriteByte(' ')
			}
		}
	}
}

// nonTextElements hold no readable text.
var nonTextElements = map[atom.Atom]bool{
	atom.Script:   true,
	atom.Style:    true,
	atom.Noscript: true,
	atom.Template: true,
	atom.Head:     true,
	atom.Title:    true,
	atom.Svg:      true,
	atom.Math:     true,
	atom.Iframe:   true,
	atom.Object:   true,
	atom.Select:   true,
	atom.Textarea: true,
}

// blockElements separate words: "<p>a</p><p>b</p>" reads "a b", not "ab".
var blockElements = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true,
	atom.Br: true, atom.Dd: true, atom.Details: true, atom.Div: true, atom.Dl: true,
	atom.Dt: true, atom.Figcaption: true, atom.Figure: true, atom.Footer: true,
	atom.Form: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Header: true, atom.Hr: true, atom.Img: true,
	atom.Li: true, atom.Main: true, atom.Nav: true, atom.Ol: true, atom.P: true,
	atom.Pre: true, atom.Section: true, atom.Summary: true, atom.Table: true,
	atom.Td: true, atom.Th: true, atom.Tr: true, atom.Ul: true,
}

// PlainTitle turns a title-like field (a feed or item title, an author, a
// category) into one line of plain text. Titles are usually text but
// sometimes carry inline HTML, and a title about HTML can legitimately say
// "<script>": so only inline formatting tags (<b>, <em>, <a>, <span>, <br>…)
// are removed, anything else that looks like a tag ("<script>", "List<T>") is
// kept literally, entities (&amp;, &#39;…) are decoded, and whitespace is
// collapsed. Nothing is escaped: "*", "_", "[", "<" and "&" stay as they are.
func PlainTitle(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return collapseSpace(s)
	}
	type token struct {
		raw  string
		tag  atom.Atom // an inline element's start or end tag, else 0
		end  bool
		drop bool
	}
	var toks []token
	z := nethtml.NewTokenizer(strings.NewReader(s))
	for done := false; !done; {
		tt := z.Next()
		t := token{raw: string(z.Raw())}
		switch tt {
		case nethtml.ErrorToken:
			// At the end of input, Raw holds anything the tokenizer could
			// not finish, like the "<b" of "a<b": it is text here.
			done = true
		case nethtml.StartTagToken, nethtml.EndTagToken, nethtml.SelfClosingTagToken:
			name, _ := z.TagName()
			if a := atom.Lookup(name); inlineElements[a] {
				t.tag, t.end = a, tt == nethtml.EndTagToken
				// Void and self-closing tags need no partner.
				t.drop = a == atom.Br || a == atom.Wbr || tt == nethtml.SelfClosingTagToken
			}
		case nethtml.CommentToken:
			// A comment in a title is not meant to be read; an unterminated
			// one ("a <!-- b") is more likely text.
			t.drop = strings.HasSuffix(t.raw, "-->")
		}
		toks = append(toks, t)
	}
	// Formatting tags go only in matching pairs: "<b>Sale</b>" reads
	// "Sale", but "Use <b> for bold" and "AT&T <b>" keep their text.
	var open []int
	for i := range toks {
		t := &toks[i]
		if t.tag == 0 || t.drop {
			continue
		}
		if !t.end {
			open = append(open, i)
			continue
		}
		for j := len(open) - 1; j >= 0; j-- {
			if toks[open[j]].tag == t.tag {
				toks[open[j]].drop, t.drop = true, true
				open = open[:j]
				break
			}
		}
	}
	var b strings.Builder
	for _, t := range toks {
		switch {
		case t.drop && t.tag == atom.Br:
			b.WriteByte(' ')
		case !t.drop:
			b.WriteString(t.raw)
		}
	}
	return collapseSpace(DecodeEntities(b.String()))
}

// inlineElements are the formatting tags PlainTitle removes.
var inlineElements = map[atom.Atom]bool{
	atom.A: true, atom.Abbr: true, atom.B: true, atom.Bdi: true, atom.Bdo: true,
	atom.Big: true, atom.Br: true, atom.Cite: true, atom.Code: true, atom.Del: true,
	atom.Dfn: true, atom.Em: true, atom.Font: true, atom.I: true, atom.Ins: true,
	atom.Kbd: true, atom.Mark: true, atom.Q: true, atom.S: true, atom.Samp: true,
	atom.Small: true, atom.Span: true, atom.Strike: true, atom.Strong: true,
	atom.Sub: true, atom.Sup: true, atom.Time: true, atom.Tt: true, atom.U: true,
	atom.Var: true, atom.Wbr: true,
}

// DecodeEntities decodes HTML character references that are terminated by a
// semicolon (&amp; &eacute; &#233; &#xE9;) and leaves everything else alone,
// unlike html.UnescapeString, which also decodes legacy forms such as
// "&copy" and would turn "?a=1&copy=2" into "?a=1©=2".
func DecodeEntities(s string) string {
	i := strings.IndexByte(s, '&')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i:]
		end := entityEnd(s)
		if end < 0 {
			b.WriteByte('&')
			s = s[1:]
		} else {
			ref := s[:end+1]
			if dec := html.UnescapeString(ref); dec != ref {
				b.WriteString(dec)
			} else {
				b.WriteString(ref)
			}
			s = s[end+1:]
		}
		i = strings.IndexByte(s, '&')
	}
	b.WriteString(s)
	return b.String()
}

// entityEnd returns the index of the ';' closing the character reference
// that s starts with, or -1 when s does not start with one.
func entityEnd(s string) int {
	const maxRef = 40 // longer than the longest named reference
	j := 1
	if j < len(s) && s[j] == '#' {
		j++
		if j < len(s) && (s[j] == 'x' || s[j] == 'X') {
			j++
		}
	}
	start := j
	for j < len(s) && j < maxRef {
		c := s[j]
		switch {
		case c == ';':
			if j == start {
				return -1
			}
			return j
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			j++
		default:
			return -1
		}
	}
	return -1
}

// collapseSpace trims s and turns every run of white space into one space.
func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
