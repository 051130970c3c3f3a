package markup

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Parse parses src (see the package documentation for the syntax). It never
// fails: whatever does not form valid markup is kept as literal text.
func Parse(src string) Doc {
	// Each special byte makes at most two items (the text before it and
	// itself): sizing the list once spares the parse its regrowth.
	specials := 0
	for i := 0; i < len(src); i++ {
		if isSpecial(src[i]) {
			specials++
		}
	}
	p := parser{src: src, items: make([]item, 0, 2*specials+1)}
	p.run()
	return Doc{Nodes: normalize(resolveEmphasis(p.items))}
}

// Parsing works like CommonMark's inline parser, in two steps. The scan
// turns src into a flat list of items: finished nodes (text, code, links),
// emphasis delimiter runs, and [ brackets. A link is finished when its ]
// is scanned, by resolving the emphasis inside its brackets. Emphasis in
// the rest of the list is resolved at the end.

type itemKind int

const (
	itemNode itemKind = iota
	itemDelim
	itemBracket
)

type item struct {
	kind itemKind
	node Node // itemNode
	// itemDelim: a run of ch; count is what is left of it, orig its length.
	ch                byte
	count, orig       int
	canOpen, canClose bool
}

type parser struct {
	src      string
	pos      int
	text     strings.Builder // literal text not yet added to items
	items    []item
	brackets []int // indexes in items of the [ not yet closed
	// The brackets[:inactive] were open when a link was formed, so they
	// cannot start a link any more (links do not nest).
	inactive int
	// noCloser[n] = p: no run of exactly n backticks starts at or after p.
	noCloser map[int]int
	parens   []int32 // see matchParens; computed when first needed
}

func (p *parser) run() {
	src := p.src
	for p.pos < len(src) {
		c := src[p.pos]
		switch c {
		case '\\':
			if p.pos+1 < len(src) && isASCIIPunct(src[p.pos+1]) {
				p.text.WriteByte(src[p.pos+1])
				p.pos += 2
			} else {
				p.text.WriteByte(c)
				p.pos++
			}
		case '`':
			p.code()
		case '*', '_', '~':
			p.delim(c)
		case '[':
			p.flush()
			p.brackets = append(p.brackets, len(p.items))
			p.items = append(p.items, item{kind: itemBracket})
			p.pos++
		case ']':
			p.closeBracket()
		default:
			// Copy the whole run of ordinary bytes at once.
			end := p.pos + 1
			for end < len(src) && !isSpecial(src[end]) {
				end++
			}
			p.text.WriteString(src[p.pos:end])
			p.pos = end
		}
	}
	p.flush()
}

// flush moves pending literal text into items.
func (p *parser) flush() {
	if p.text.Len() == 0 {
		return
	}
	p.items = append(p.items, item{kind: itemNode, node: Node{Kind: Text, Text: p.text.String()}})
	p.text.Reset()
}

func (p *parser) addNode(n Node) {
	p.flush()
	p.items = append(p.items, item{kind: itemNode, node: n})
}

// code handles a run of backticks at p.pos: a code span or block when a
// closing run of the same length follows, literal backticks otherwise.
func (p *parser) code() {
	start := p.pos
	n := runLength(p.src, start, '`')
	end, ok := p.findCloser(start+n, n)
	if !ok {
		p.text.WriteString(p.src[start : start+n])
		p.pos = start + n
		return
	}
	content := p.src[start+n : end]
	p.pos = end + n
	if n < 3 {
		p.addNode(Node{Kind: Code, Text: unescape(content)})
		return
	}
	var lang string
	if nl := strings.IndexByte(content, '\n'); nl >= 0 {
		if first := strings.TrimSpace(content[:nl]); first == "" || isLang(first) {
			lang = first
			content = content[nl+1:]
		}
	}
	if c, ok := strings.CutSuffix(content, "\n"); ok {
		content = strings.TrimSuffix(c, "\r")
	}
	p.addNode(Node{Kind: Pre, Lang: lang, Text: unescape(content)})
}

// findCloser finds the next run of exactly n unescaped backticks at or
// after from, and returns where it starts.
func (p *parser) findCloser(from, n int) (int, bool) {
	if none, ok := p.noCloser[n]; ok && from >= none {
		return 0, false
	}
	src := p.src
	for i := from; i < len(src); {
		switch src[i] {
		case '\\':
			if i+1 < len(src) && isASCIIPunct(src[i+1]) {
				i += 2
			} else {
				i++
			}
		case '`':
			m := runLength(src, i, '`')
			if m == n {
				return i, true
			}
			i += m
		default:
			i++
		}
	}
	// Every scan starts right after a backtick run, never inside an escape,
	// so a later scan for n would find nothing either.
	if p.noCloser == nil {
		p.noCloser = map[int]int{}
	}
	p.noCloser[n] = from
	return 0, false
}

// delim handles a run of *, _ or ~ at p.pos.
func (p *parser) delim(c byte) {
	start := p.pos
	n := runLength(p.src, start, c)
	p.pos = start + n
	if (c == '_' && n != 1) || (c == '~' && n != 2) {
		p.text.WriteString(p.src[start:p.pos])
		return
	}
	before, after := ' ', ' ' // the start and end of the text count as space
	if start > 0 {
		before, _ = utf8.DecodeLastRuneInString(p.src[:start])
	}
	if p.pos < len(p.src) {
		after, _ = utf8.DecodeRuneInString(p.src[p.pos:])
	}
	spaceBefore, spaceAfter := unicode.IsSpace(before), unicode.IsSpace(after)
	punctBefore, punctAfter := isPunct(before), isPunct(after)
	left := !spaceAfter && (!punctAfter || spaceBefore || punctBefore)
	right := !spaceBefore && (!punctBefore || spaceAfter || punctAfter)
	it := item{kind: itemDelim, ch: c, count: n, orig: n, canOpen: left, canClose: right}
	if c == '_' {
		it.canOpen = left && (!right || punctBefore)
		it.canClose = right && (!left || punctAfter)
	}
	if !it.canOpen && !it.canClose {
		p.text.WriteString(p.src[start:p.pos])
		return
	}
	p.flush()
	p.items = append(p.items, it)
}

// closeBracket handles a ] at p.pos: it finishes a link when it matches an
// open [ and is followed by a destination, and is literal otherwise.
func (p *parser) closeBracket() {
	p.pos++
	if len(p.brackets) == 0 {
		p.text.WriteByte(']')
		return
	}
	top := len(p.brackets) - 1
	open := p.brackets[top]
	p.brackets = p.brackets[:top]
	dest, end, ok := "", 0, false
	if top >= p.inactive {
		dest, end, ok = p.destination(p.pos)
	} else {
		p.inactive = top
	}
	if !ok {
		p.items[open] = item{kind: itemNode, node: Node{Kind: Text, Text: "["}}
		p.text.WriteByte(']')
		return
	}
	p.flush()
	children := resolveEmphasis(p.items[open+1:])
	p.items = p.items[:open]
	p.pos = end
	if visibleEmpty(children) {
		children = []Node{{Kind: Text, Text: dest}}
	}
	if linkAllowed(dest) {
		p.items = append(p.items, item{kind: itemNode, node: Node{Kind: Link, URL: dest, Children: children}})
	} else {
		for _, c := range children {
			p.items = append(p.items, item{kind: itemNode, node: c})
		}
	}
	p.inactive = len(p.brackets)
}

// destination parses "(url)" at i and returns the unescaped URL and the
// index after the closing parenthesis.
func (p *parser) destination(i int) (string, int, bool) {
	if i >= len(p.src) || p.src[i] != '(' {
		return "", 0, false
	}
	if p.parens == nil {
		p.parens = matchParens(p.src)
	}
	end := int(p.parens[i])
	if end <= i+1 {
		return "", 0, false
	}
	return unescape(p.src[i+1 : end]), end + 1, true
}

// matchParens returns, for each unescaped (, the index of the unescaped )
// that balances it without crossing a space or control character, or -1.
// A ( that destination looks at directly follows a ], so it is never
// escaped, and one pass over the whole text pairs escapes the same way a
// scan starting at that ( would.
func matchParens(src string) []int32 {
	match := make([]int32, len(src))
	var stack []int32
	for i := 0; i < len(src); i++ {
		match[i] = -1
		switch c := src[i]; {
		case c == '\\' && i+1 < len(src) && isASCIIPunct(src[i+1]):
			i++
			match[i] = -1
		case c <= ' ' || c == 0x7f:
			stack = stack[:0]
		case c == '(':
			stack = append(stack, int32(i))
		case c == ')' && len(stack) > 0:
			match[stack[len(stack)-1]] = int32(i)
			stack = stack[:len(stack)-1]
		}
	}
	return match
}

// frame is an open emphasis delimiter and the nodes that follow it.
type frame struct {
	opener *item // nil for the bottom frame
	nodes  []Node
}

// resolveEmphasis matches the delimiter runs in items and returns the
// resulting nodes; unmatched delimiters and brackets become text.
func resolveEmphasis(items []item) []Node {
	frames := []frame{{nodes: make([]Node, 0, len(items))}}
	var open [256]int // open frames per delimiter character
	// collapse turns the openers of the frames above frames[to] into text.
	collapse := func(to int) {
		below := &frames[to]
		for _, f := range frames[to+1:] {
			if f.opener.count > 0 {
				below.nodes = append(below.nodes, Node{Kind: Text, Text: strings.Repeat(string(f.opener.ch), f.opener.count)})
			}
			below.nodes = append(below.nodes, f.nodes...)
			open[f.opener.ch]--
		}
		frames = frames[:to+1]
	}
	for i := range items {
		it := &items[i]
		switch it.kind {
		case itemNode:
			f := &frames[len(frames)-1]
			f.nodes = append(f.nodes, it.node)
			continue
		case itemBracket:
			f := &frames[len(frames)-1]
			f.nodes = append(f.nodes, Node{Kind: Text, Text: "["})
			continue
		}
		d := *it
		for d.canClose && d.count > 0 && open[d.ch] > 0 {
			k := len(frames) - 1
			for ; k > 0; k-- {
				if o := frames[k].opener; o.ch == d.ch && compatible(o, &d) {
					break
				}
			}
			if k == 0 {
				break
			}
			collapse(k)
			f := &frames[k]
			o := f.opener
			use, kind := 1, Italic
			switch {
			case d.ch == '~':
				use, kind = 2, Strike
			case d.ch == '*' && o.count >= 2 && d.count >= 2:
				use, kind = 2, Bold
			}
			n := Node{Kind: kind, Children: f.nodes}
			o.count -= use
			d.count -= use
			if o.count == 0 {
				frames = frames[:k]
				open[d.ch]--
				below := &frames[k-1]
				below.nodes = append(below.nodes, n)
			} else {
				f.nodes = []Node{n}
			}
		}
		if d.count == 0 {
			continue
		}
		if d.canOpen {
			frames = append(frames, frame{opener: &d})
			open[d.ch]++
		} else {
			f := &frames[len(frames)-1]
			f.nodes = append(f.nodes, Node{Kind: Text, Text: strings.Repeat(string(d.ch), d.count)})
		}
	}
	collapse(0)
	return frames[0].nodes
}

// compatible applies CommonMark's "multiple of 3" rule to * runs, so that
// *a**b** and **a*b* pair up as a reader expects.
func compatible(opener, closer *item) bool {
	if opener.ch != '*' {
		return true
	}
	if (opener.canClose || closer.canOpen) && (opener.orig+closer.orig)%3 == 0 {
		return opener.orig%3 == 0 && closer.orig%3 == 0
	}
	return true
}

// normalize merges adjacent text nodes and drops empty ones.
func normalize(nodes []Node) []Node {
	out := make([]Node, 0, len(nodes))
	// A run of text nodes becomes one; a run of one keeps its string.
	var text strings.Builder
	var single string
	runs := 0
	flush := func() {
		switch {
		case runs == 1 && single != "":
			out = append(out, Node{Kind: Text, Text: single})
		case text.Len() > 0:
			out = append(out, Node{Kind: Text, Text: text.String()})
		}
		text.Reset()
		single, runs = "", 0
	}
	for _, n := range nodes {
		switch n.Kind {
		case Text:
			if n.Text == "" {
				continue
			}
			if runs++; runs == 1 {
				single = n.Text
				continue
			}
			if runs == 2 {
				text.WriteString(single)
			}
			text.WriteString(n.Text)
			continue
		case Bold, Italic, Strike, Link:
			n.Children = normalize(n.Children)
		}
		flush()
		out = append(out, n)
	}
	flush()
	if len(out) == 0 {
		return nil
	}
	return out
}

func visibleEmpty(nodes []Node) bool {
	for _, n := range nodes {
		switch n.Kind {
		case Text, Code, Pre:
			if n.Text != "" {
				return false
			}
		default:
			if !visibleEmpty(n.Children) {
				return false
			}
		}
	}
	return true
}

// linkAllowed reports whether u may be a link destination.
func linkAllowed(u string) bool {
	if !utf8.ValidString(u) || strings.IndexFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return false
	}
	lower := strings.ToLower(u)
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		parsed, err := url.Parse(u)
		return err == nil && parsed.Host != ""
	case strings.HasPrefix(lower, "tg://"):
		return len(u) > len("tg://")
	case strings.HasPrefix(lower, "mailto:"):
		return len(u) > len("mailto:")
	}
	return false
}

// unescape resolves backslash escapes in code.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func runLength(s string, i int, c byte) int {
	n := 0
	for i+n < len(s) && s[i+n] == c {
		n++
	}
	return n
}

func isLang(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_+.#-", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// isSpecial reports whether c may start markup.
func isSpecial(c byte) bool {
	switch c {
	case '\\', '`', '*', '_', '~', '[', ']':
		return true
	}
	return false
}

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}

// isPunct is CommonMark's Unicode punctuation: categories P and S.
func isPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return isASCIIPunct(byte(r))
	}
	return unicode.IsPunct(r) || unicode.IsSymbol(r)
}
