package markup

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"testing/quick"
	"unicode/utf8"
)

// dump writes nodes compactly: text is quoted, b{…} i{…} s{…} are bold,
// italic and strike, code"…" and pre(lang)"…" are code, a(url){…} a link.
func dump(nodes []Node) string {
	var b strings.Builder
	for i, n := range nodes {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch n.Kind {
		case Text:
			b.WriteString(strconv.Quote(n.Text))
		case Bold:
			b.WriteString("b{" + dump(n.Children) + "}")
		case Italic:
			b.WriteString("i{" + dump(n.Children) + "}")
		case Strike:
			b.WriteString("s{" + dump(n.Children) + "}")
		case Code:
			b.WriteString("code" + strconv.Quote(n.Text))
		case Pre:
			b.WriteString("pre(" + n.Lang + ")" + strconv.Quote(n.Text))
		case Link:
			b.WriteString("a(" + n.URL + "){" + dump(n.Children) + "}")
		default:
			b.WriteString(n.Kind.String())
		}
	}
	return b.String()
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want string
	}{
		{"empty", "", ""},
		{"plain", "hello, world", `"hello, world"`},
		{"newlines kept", "a\n\n b \r\n", `"a\n\n b \r\n"`},

		{"bold", "**bold**", `b{"bold"}`},
		{"italic star", "*it*", `i{"it"}`},
		{"italic underscore", "_it_", `i{"it"}`},
		{"strike", "~~gone~~", `s{"gone"}`},
		{"bold italic", "***both***", `i{b{"both"}}`},
		{"mixed in text", "a **b** c *d* e", `"a " b{"b"} " c " i{"d"} " e"`},
		{"nested", "**bold _and italic_ text**", `b{"bold " i{"and italic"} " text"}`},
		{"italic around bold", "*a **b** c*", `i{"a " b{"b"} " c"}`},
		{"rule of three", "*a**b**c*", `i{"a" b{"b"} "c"}`},
		{"intraword star", "a*b*c", `"a" i{"b"} "c"`},
		{"bold across lines", "**one\ntwo**", `b{"one\ntwo"}`},
		{"punctuation inside", `**"quoted"**`, `b{"\"quoted\""}`},

		{"snake_case literal", "use snake_case_words here", `"use snake_case_words here"`},
		{"dunder literal", "__init__ and __x__", `"__init__ and __x__"`},
		{"underscore then punctuation", "(_it_).", `"(" i{"it"} ")."`},
		{"underscore in url text", "see https://x.org/a_b_c", `"see https://x.org/a_b_c"`},
		{"single tilde literal", "~5 min, ~~x~~", `"~5 min, " s{"x"}`},
		{"three tildes literal", "~~~x~~~", `"~~~x~~~"`},
		{"star list literal", "* one\n* two", `"* one\n* two"`},
		{"multiplication literal", "2 * 3 * 4", `"2 * 3 * 4"`},
		{"unclosed bold", "**open", `"**open"`},
		{"unclosed italic", "*open", `"*open"`},
		{"extra closer", "**a** b**", `b{"a"} " b**"`},
		{"mismatched", "**a*", `"*" i{"a"}`},
		{"empty markers", "**** ~~~~", `"**** ~~~~"`},
		{"space inside opener", "** a **", `"** a **"`},

		{"code", "`x := 1`", `code"x := 1"`},
		{"code keeps markup literal", "`**not bold** [x](https://y)`", `code"**not bold** [x](https://y)"`},
		{"double backtick code", "``a ` b``", `code"a ` + "`" + ` b"`},
		{"code escape", "`a\\`b`", `code"a` + "`" + `b"`},
		{"code backslash doubled", "`C:\\\\dir\\\\`", `code"C:\\dir\\"`},
		{"code backslash before letter", "`C:\\dir`", `code"C:\\dir"`},
		{"unclosed code", "`open **b**", "\"`open \" b{\"b\"}"},
		{"code wins over emphasis", "*a `*` b*", `i{"a " code"*" " b"}`},
		{"code in bold", "**`x`**", `b{code"x"}`},

		{"pre with lang", "```go\nfmt.Println(1)\n```", `pre(go)"fmt.Println(1)"`},
		{"pre no lang", "```\nline1\n  line2\n```", `pre()"line1\n  line2"`},
		{"pre inline close", "```python\nprint(1)```", `pre(python)"print(1)"`},
		{"pre one line", "```x```", `pre()"x"`},
		{"pre first line not a lang", "```a b\nc\n```", `pre()"a b\nc"`},
		{"pre crlf", "```sh\r\necho\r\n```", `pre(sh)"echo"`},
		{"pre in text", "Run:\n```\nmake\n```\nDone", `"Run:\n" pre()"make" "\nDone"`},
		{"pre keeps markup", "```\n**a** [b](https://c)\n```", `pre()"**a** [b](https://c)"`},
		{"pre four ticks", "````\na ``` b\n````", `pre()"a ` + "```" + ` b"`},
		{"unclosed pre", "```go\nx", "\"```go\\nx\""},

		{"link", "[site](https://example.com)", `a(https://example.com){"site"}`},
		{"link formatted text", "[**big** deal](http://x.io/a)", `a(http://x.io/a){b{"big"} " deal"}`},
		{"link code text", "[`cmd`](https://x.io)", `a(https://x.io){code"cmd"}`},
		{"link escaped parens", `[a](https://x/\(y\))`, `a(https://x/(y)){"a"}`},
		{"link balanced parens", "[Go](https://en.wikipedia.org/wiki/Go_(language))", `a(https://en.wikipedia.org/wiki/Go_(language)){"Go"}`},
		{"link escaped bracket in text", `[a\]b](https://x.io)`, `a(https://x.io){"a]b"}`},
		{"link tg", "[chat](tg://resolve?domain=x)", `a(tg://resolve?domain=x){"chat"}`},
		{"link mailto", "[mail](mailto:a@b.c)", `a(mailto:a@b.c){"mail"}`},
		{"link uppercase scheme", "[x](HTTPS://X.IO)", `a(HTTPS://X.IO){"x"}`},
		{"link empty text", "[](https://x.io)", `a(https://x.io){"https://x.io"}`},
		{"javascript link is text", "[click](javascript:alert(1))", `"click"`},
		{"relative link is text", "[a](/path) [b](ftp://x)", `"a b"`},
		{"http without host", "[a](http://)", `"a"`},
		{"link with space is literal", "[a](https://x .io)", `"[a](https://x .io)"`},
		{"link empty url literal", "[a]()", `"[a]()"`},
		{"brackets only", "[a] [b]", `"[a] [b]"`},
		{"unclosed paren", "[a](https://x.io", `"[a](https://x.io"`},
		{"links do not nest", "[a [b](https://b.io)](https://a.io)", `"[a " a(https://b.io){"b"} "](https://a.io)"`},
		{"stray opening bracket", "[Sale [50%](https://s.io)", `"[Sale " a(https://s.io){"50%"}`},
		{"emphasis stays inside link", "*a [b* c](https://x.io)", `"*a " a(https://x.io){"b* c"}`},
		{"emphasis around link", "**[a](https://x.io)**", `b{a(https://x.io){"a"}}`},
		{"emphasis across failed bracket", "**a [b] c**", `b{"a [b] c"}`},
		{"code in link url", "[a](https://x.io/`b`)", `a(https://x.io/` + "`b`" + `){"a"}`},

		{"escapes", `\*not\* \_it\_ \[x\](y) \\ \a`, `"*not* _it_ [x](y) \\ \\a"`},
		{"escape all punctuation", `\!\"\#\$\%\&\'\(\)\*\+\,\-\.\/\:\;\<\=\>\?\@\[\\\]\^\_\{\|\}\~\` + "`", `"!\"#$%&'()*+,-./:;<=>?@[\\]^_{|}~` + "`" + `"`},
		{"trailing backslash", `a\`, `"a\\"`},
		{"html is text", "<b>&amp;</b>", `"<b>&amp;</b>"`},
		{"unicode", "**Привет** _мир_ 🎉", `b{"Привет"} " " i{"мир"} " 🎉"`},
		{"unicode snake", "имя_файла_тут", `"имя_файла_тут"`},
		{"invalid utf8 kept", "\xff**\xfe**", `"\xff" b{"\xfe"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := dump(Parse(tt.src).Nodes); got != tt.want {
				t.Errorf("Parse(%q)\n got %s\nwant %s", tt.src, got, tt.want)
			}
		})
	}
}

func TestVisibleAndPlain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src, visible, plain string
	}{
		{"**Sale**: [shop now](https://s.io/x) or `code`", "Sale: shop now or code", "Sale: shop now (https://s.io/x) or code"},
		{"[https://s.io](https://s.io)", "https://s.io", "https://s.io"},
		{"[](https://s.io)", "https://s.io", "https://s.io"},
		{"[*a*](tg://x)\n```\nb\n```", "a\nb", "a (tg://x)\nb"},
		{"[x](javascript:y)", "x", "x"},
	}
	for _, tt := range tests {
		d := Parse(tt.src)
		if got := d.Visible(); got != tt.visible {
			t.Errorf("Parse(%q).Visible() = %q, want %q", tt.src, got, tt.visible)
		}
		if got := d.Plain(); got != tt.plain {
			t.Errorf("Parse(%q).Plain() = %q, want %q", tt.src, got, tt.plain)
		}
	}
}

func TestEscape(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain text, 100% <ok> & fine", "plain text, 100% <ok> & fine"},
		{"a*b_c~d`e[f]g(h)i\\j", `a\*b\_c\~d\` + "`" + `e\[f\]g\(h\)i\\j`},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestEscapeInContext interpolates hostile values into every place a
// template can put them and checks they come out literally.
func TestEscapeInContext(t *testing.T) {
	t.Parallel()
	values := []string{
		"<script>alert('x')</script> & co",
		"**not bold** _not italic_ ~~not struck~~",
		"`code` ```\npre\n```",
		"[link](https://evil.example) ](https://x) [",
		`back\slash \* \\`,
		"snake_case_*mixed*",
		"(a) (b",
		"",
	}
	for _, v := range values {
		e := Escape(v)
		checks := []struct {
			tmpl string
			want func(Doc) (string, bool)
		}{
			{"%s", func(d Doc) (string, bool) { return d.Visible(), len(d.Nodes) <= 1 }},
			{"**%s**", func(d Doc) (string, bool) {
				if v == "" {
					return v, true
				}
				return d.Nodes[0].Children[0].Text, len(d.Nodes) == 1 && d.Nodes[0].Kind == Bold
			}},
			{"`%s`", func(d Doc) (string, bool) {
				if v == "" {
					return v, true
				}
				return d.Nodes[0].Text, len(d.Nodes) == 1 && d.Nodes[0].Kind == Code
			}},
			{"```\n%s\n```", func(d Doc) (string, bool) { return d.Nodes[0].Text, len(d.Nodes) == 1 && d.Nodes[0].Kind == Pre }},
			{"[%s](https://x.io/)", func(d Doc) (string, bool) {
				if v == "" {
					return "", true
				}
				return d.Visible(), len(d.Nodes) == 1 && d.Nodes[0].Kind == Link
			}},
			{"[t](https://x.io/?q=%s)", func(d Doc) (string, bool) {
				if strings.ContainsAny(v, " \n") {
					return v, true // a URL cannot hold spaces; the template must URL-encode
				}
				return strings.TrimPrefix(d.Nodes[0].URL, "https://x.io/?q="), len(d.Nodes) == 1 && d.Nodes[0].Kind == Link
			}},
		}
		for _, c := range checks {
			src := strings.ReplaceAll(c.tmpl, "%s", e)
			d := Parse(src)
			got, ok := c.want(d)
			if !ok || got != v {
				t.Errorf("template %q with %q: parsed %s", c.tmpl, v, dump(d.Nodes))
			}
		}
	}
}

func TestEscapeRoundTripProperty(t *testing.T) {
	t.Parallel()
	prop := func(x string) bool { return Parse(Escape(x)).Visible() == x }
	if err := quick.Check(prop, &quick.Config{MaxCount: 2000}); err != nil {
		t.Error(err)
	}
	// quick's strings rarely hold markup; build strings from markup characters.
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"*", "**", "_", "~~", "`", "```", "[", "]", "(", ")", "\\", "a", " ", "\n", "https://x.io", "é", "\xff", "<", "&"}
	for range 5000 {
		var b strings.Builder
		for range r.IntN(24) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		x := b.String()
		if got := Parse(Escape(x)).Visible(); got != x {
			t.Fatalf("Parse(Escape(%q)).Visible() = %q", x, got)
		}
	}
}

// TestParseLarge makes sure pathological inputs stay fast.
func TestParseLarge(t *testing.T) {
	t.Parallel()
	for _, unit := range []string{"*a ", "[", "`", "``x", "[a](", "_a ", "**a *b ", "a*", "\\", "[[a](https://x.io)"} {
		src := strings.Repeat(unit, 2000)
		d := Parse(src)
		if v := d.Visible(); len(v) > len(src) {
			t.Errorf("%q×2000: visible longer than source", unit)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	src := strings.Repeat("**Big sale** on _everything_: [shop now](https://shop.example/sale?utm=tg) `CODE10`\n", 40)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		Parse(src)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "**b** *i* _i_ ~~s~~ `c` [l](https://x.io)", "```go\nx\n```", "[a [b](tg://c)](d)",
		"***a** b*", `\*\\\`, "snake_case", "`` ` ``", "[x](http://a/(b)c)", "\xff*\xfe*",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		d := Parse(src)
		v := d.Visible()
		if len(v) > len(src) {
			t.Fatalf("Parse(%q).Visible() = %q is longer than the source", src, v)
		}
		_ = d.Plain()
		checkTree(t, src, d.Nodes, false)
	})
}

// checkTree checks the invariants renderers rely on.
func checkTree(t *testing.T, src string, nodes []Node, inLink bool) {
	t.Helper()
	for i, n := range nodes {
		switch n.Kind {
		case Text:
			if n.Text == "" {
				t.Fatalf("Parse(%q): empty text node", src)
			}
			if i > 0 && nodes[i-1].Kind == Text {
				t.Fatalf("Parse(%q): adjacent text nodes", src)
			}
		case Code, Pre:
			if len(n.Children) > 0 {
				t.Fatalf("Parse(%q): code with children", src)
			}
		case Link:
			if inLink {
				t.Fatalf("Parse(%q): nested link", src)
			}
			if !linkAllowed(n.URL) {
				t.Fatalf("Parse(%q): link to %q", src, n.URL)
			}
			checkTree(t, src, n.Children, true)
		case Bold, Italic, Strike:
			if len(n.Children) == 0 {
				t.Fatalf("Parse(%q): empty %s", src, n.Kind)
			}
			checkTree(t, src, n.Children, inLink)
		default:
			t.Fatalf("Parse(%q): unknown kind %d", src, n.Kind)
		}
	}
}

func FuzzEscapeRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a*b", "\\", "[x](y)", "```\n", "_a_", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, x string) {
		e := Escape(x)
		if got := Parse(e).Visible(); got != x {
			t.Fatalf("Parse(Escape(%q)).Visible() = %q", x, got)
		}
		if !utf8.ValidString(x) || strings.TrimSpace(x) != x {
			return // emphasis needs a non-space next to its markers
		}
		// Escaped values stay literal inside markup, too.
		d := Parse("**" + e + "**")
		if x != "" && (len(d.Nodes) != 1 || d.Nodes[0].Kind != Bold || Doc{Nodes: d.Nodes[0].Children}.Visible() != x) {
			t.Fatalf("**Escape(%q)** parsed as %s", x, dump(d.Nodes))
		}
	})
}
