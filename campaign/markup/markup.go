// Package markup parses herald's message text: a small Markdown subset that
// campaign authors write and that every channel renders to its platform
// (Telegram HTML, Messenger plain text).
//
// # Syntax
//
//	**bold**            bold
//	*italic* _italic_   italic
//	~~strike~~          strikethrough
//	`code`              inline code (a run of 1 or 2 backticks, closed by a run of the same length)
//	```lang             preformatted block (a run of 3 or more backticks, closed by a run of
//	code                the same length); an optional language on the opening line
//	```
//	[text](url)         link; text may hold bold, italic, strike and code
//	\*                  a backslash makes any ASCII punctuation character literal
//
// The rules, in the order they apply:
//
//   - A backslash followed by an ASCII punctuation character stands for that
//     character, literally, everywhere: in text, link text, link URLs, code
//     and preformatted blocks. To write a backslash before punctuation,
//     double it (\\). A backslash before anything else is a literal backslash.
//   - Backticks bind tightest. A run of N backticks opens a code span that
//     ends at the next run of exactly N unescaped backticks; there is no
//     formatting inside. N ≥ 3 makes a preformatted block: if the text up to
//     the first newline is empty or a single language word
//     ([A-Za-z0-9_+.#-]), that line is the language and is dropped; one
//     newline right before the closing run is dropped too. A run with no
//     closing run is literal text.
//   - [text](url) is a link when the ] is directly followed by ( and a URL
//     without spaces or control characters, ended by an unescaped ) (balanced
//     unescaped parentheses may appear inside the URL). Links do not nest:
//     an inner link wins and an unclosed outer [ is literal. A link whose
//     URL is not http(s)://, tg:// or mailto: keeps only its text. A link
//     with empty text shows its URL.
//   - Emphasis follows CommonMark's delimiter rules, simplified: a run of *
//     opens when it is followed by a non-space and closes when it is
//     preceded by a non-space (with CommonMark's punctuation refinements and
//     its "multiple of 3" rule); ** is bold, * italic, *** both. A single _
//     opens and closes italic only at a word boundary, so snake_case_words
//     and __init__ stay literal. ~~ (exactly two) is strikethrough; a single
//     ~ is literal. Emphasis inside link text stays inside it.
//   - Anything unmatched or unclosed is literal text; Parse never fails.
//   - Newlines, spaces and all other characters are kept exactly as they are.
//
// Template values must be passed through [Escape] before they are
// interpolated, so that Parse(Escape(x)) shows x literally.
package markup

import (
	"strconv"
	"strings"
)

// Kind is the kind of a Node.
type Kind int

const (
	// Text is literal text (Node.Text).
	Text Kind = iota
	// Bold is **bold** (Node.Children).
	Bold
	// Italic is *italic* or _italic_ (Node.Children).
	Italic
	// Strike is ~~strike~~ (Node.Children).
	Strike
	// Code is `code` (Node.Text).
	Code
	// Pre is a fenced block (Node.Text, and Node.Lang if one was given).
	Pre
	// Link is [text](url) (Node.Children and Node.URL).
	Link
)

var kindNames = [...]string{"Text", "Bold", "Italic", "Strike", "Code", "Pre", "Link"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Doc is a parsed message text.
type Doc struct {
	Nodes []Node
}

// Node is one element of a Doc.
type Node struct {
	Kind     Kind
	Text     string // Text, Code, Pre: the literal text
	URL      string // Link: the destination, always http(s)://, tg:// or mailto:
	Lang     string // Pre: the language given on the opening fence, or ""
	Children []Node // Bold, Italic, Strike, Link
}

// Visible returns the text as a reader sees it: formatting markers removed,
// links shown as their text only.
func (d Doc) Visible() string {
	var b strings.Builder
	writeText(&b, d.Nodes, false)
	return b.String()
}

// Plain returns the text for a channel without formatting: like Visible, but
// a link is shown as "text (url)", or as the URL alone when its text is the
// URL.
func (d Doc) Plain() string {
	var b strings.Builder
	writeText(&b, d.Nodes, true)
	return b.String()
}

func writeText(b *strings.Builder, nodes []Node, showURLs bool) {
	for _, n := range nodes {
		switch n.Kind {
		case Text, Code, Pre:
			b.WriteString(n.Text)
		case Link:
			if !showURLs {
				writeText(b, n.Children, false)
				continue
			}
			var inner strings.Builder
			writeText(&inner, n.Children, true)
			text := inner.String()
			if text == n.URL || text == "" {
				b.WriteString(n.URL)
				continue
			}
			b.WriteString(text)
			b.WriteString(" (")
			b.WriteString(n.URL)
			b.WriteString(")")
		default:
			writeText(b, n.Children, showURLs)
		}
	}
}
