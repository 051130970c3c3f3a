package telegram

import (
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/heraldcli/herald/campaign/markup"
	"github.com/heraldcli/herald/channels/sandbox"
)

func TestHTML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want string
	}{
		{"plain", "Hello", "Hello"},
		{"formatting", "**b** *i* _i_ ~~s~~ `c`", "<b>b</b> <i>i</i> <i>i</i> <s>s</s> <code>c</code>"},
		{"nested", "**bold _it_ [link](https://x.io/a)**", `<b>bold <i>it</i> <a href="https://x.io/a">link</a></b>`},
		{"html in text", "<script>alert(1)</script> & <b>", "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;"},
		{"entities stay literal", "&lt; &amp;amp; &#60; &quot;", "&amp;lt; &amp;amp;amp; &amp;#60; &amp;quot;"},
		{"quotes in text", `say "hi" it's`, `say "hi" it's`},
		{"escaped markup", `\*\*not bold\*\* 2 < 3`, "**not bold** 2 &lt; 3"},
		{"html in code", "`<b>&amp;</b>`", "<code>&lt;b&gt;&amp;amp;&lt;/b&gt;</code>"},
		{"pre", "```\nif a < b && c > d {}\n```", "<pre>if a &lt; b &amp;&amp; c &gt; d {}</pre>"},
		{"pre with language", "```go\nx := \"<\"\n```", `<pre><code class="language-go">x := "&lt;"</code></pre>`},
		{"pre language c++", "```c++\nint x;\n```", `<pre><code class="language-c++">int x;</code></pre>`},
		{"url with ampersand and quote", `[a](https://x.io/?a=1&b="2"<>)`, `<a href="https://x.io/?a=1&amp;b=&quot;2&quot;&lt;&gt;">a</a>`},
		{"url with escaped parens", `[a](https://x.io/\(y\))`, `<a href="https://x.io/(y)">a</a>`},
		{"javascript link is text", `[click](javascript:alert("x"))`, "click"},
		{"data link is text", "[x](data:text/html,<script>)", "x"},
		{"link text html", "[<img src=x>](https://x.io)", `<a href="https://x.io">&lt;img src=x&gt;</a>`},
		{"code in link is text", "[`npm i`](https://x.io)", `<a href="https://x.io">npm i</a>`},
		{"bold in link", "[**big**](tg://resolve?domain=x)", `<a href="tg://resolve?domain=x"><b>big</b></a>`},
		{"no repeated tag", "**a **b** c**", "<b>a b c</b>"},
		{"italic in bold in italic", "*a **b _c_** d*", "<i>a <b>b c</b> d</i>"},
		{"unclosed markers", "**a *b `c [d](e", "**a *b `c [d](e"},
		{"newlines kept", "a\n\n**b**\n", "a\n\n<b>b</b>\n"},
		{"crlf", "a\r\nb", "a\nb"},
		{"control chars", "a\x00b\tc\x1fd\x7fe", "a b c d\x7fe"},
		{"removed characters", "a\u2028b\u202ec\u0333d", "abcd"},
		{"invalid utf8", "a\xffb", "a\uFFFDb"},
		{"empty tags left out", "**\u202a** [\r](https://x.io) `\r`", "  "},
		{"empty pre left out", "```go\n```", ""},
		{"unicode", "**Привет, мир** 🎉", "<b>Привет, мир</b> 🎉"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := markup.Parse(tt.src)
			got := HTML(doc)
			if got != tt.want {
				t.Errorf("HTML(Parse(%q))\n got %q\nwant %q", tt.src, got, tt.want)
			}
			checkWellFormed(t, tt.src, doc, got)
			if _, err := sandbox.ParseTelegramHTMLStrict(got); err != nil {
				t.Errorf("the sandbox refuses HTML(Parse(%q)) = %q: %v", tt.src, got, err)
			}
		})
	}
}

func TestTextLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want int
	}{
		{"empty", "", 0},
		{"blank", " \n \t\r\n", 0},
		{"blank code", "` `", 0},
		{"plain", "hello", 5},
		{"markup not counted", "**b** [link](https://x.io/very/long/url) `c`", 8},
		{"escapes count once", `\*\_\\`, 3},
		{"html characters count once", "<&>", 3},
		{"cyrillic", "Привет", 6},
		{"emoji is a surrogate pair", "🎉", 2},
		{"flag is two pairs", "🇺🇦", 4},
		{"combining accent", "e\u0301", 2},
		{"trimmed", "  \n hi \n ", 2},
		{"trimmed through bold", "**\x01a** b", 3},
		{"inner spaces kept", "a  \n  b", 7},
		{"crlf counts one", "a\r\nb", 3},
		{"tab is a space", "a\tb", 3},
		{"removed characters", "a\u2028b", 2},
		{"leading space in code kept", "`  x` y", 5},
		{"leading newline in pre kept", "```\n\n  x\n```", 4},
		{"leading space in link kept", "[ x](https://x.io)", 2},
		{"leading space in mailto link trimmed", "[ x](mailto:a@b.io)", 1},
		{"space before code trimmed", " `x`", 1},
		{"trailing space in code trimmed", "`x  `", 1},
		{"pre lang not counted", "```python\nprint(1)\n```", 8},
	}
	for _, tt := range tests {
		if got := TextLength(markup.Parse(tt.src)); got != tt.want {
			t.Errorf("%s: TextLength(Parse(%q)) = %d, want %d", tt.name, tt.src, got, tt.want)
		}
	}
}

// TestTextLengthLimit checks the boundary the Telegram lint relies on.
func TestTextLengthLimit(t *testing.T) {
	t.Parallel()
	at := "**" + strings.Repeat("я", 4094) + "** 🎉"
	if got := TextLength(markup.Parse(at)); got != 4097 {
		t.Errorf("TextLength = %d, want 4097", got)
	}
}

func FuzzHTML(f *testing.F) {
	for _, s := range []string{
		"", "**b** *i* _i_ ~~s~~ `c`", "```go\nfmt.Println(\"<>\")\n```", "[a](https://x.io/?a=1&b=2)",
		"[`c`](tg://x)", " ` x` ", "<b>&amp;\"</b>", "a\r\n\x00\u2028b", "\xff**\xfe**",
		"[ ](https://x.io) x", "***a** b*", "[a [b](https://b.io)](https://a.io)", "\t\n",
		"0\xdd`\xa90`", // invalid UTF-8 split by markup is replaced piece by piece
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		doc := markup.Parse(src)
		h := HTML(doc)
		checkWellFormed(t, src, doc, h)

		// The sandbox refuses an unescaped "&" unless told to be lenient.
		visible, err := sandbox.ParseTelegramHTMLStrict(h)
		if err != nil {
			t.Fatalf("the sandbox refuses HTML(Parse(%q)) = %q: %v", src, h, err)
		}
		want := visibleForTelegram(doc)
		if keepsLeadingSpace(want) {
			// Telegram keeps the leading whitespace of a code, pre or link
			// entity that starts the text; the sandbox trims it like any other.
			want = strings.TrimLeft(want, " \n")
		}
		if got := trimTelegram(visible); got != want {
			t.Fatalf("HTML(Parse(%q)) = %q\nsandbox shows %q\n    we expect %q", src, h, got, want)
		}
		if l, sl := TextLength(doc), sandbox.TextLength(trimTelegram(visible)); !keepsLeadingSpace(visibleForTelegram(doc)) && sl != l {
			t.Fatalf("HTML(Parse(%q)) = %q: sandbox length %d, TextLength %d", src, h, sl, l)
		}
	})
}

func keepsLeadingSpace(s string) bool {
	return s != "" && (s[0] == ' ' || s[0] == '\n')
}

// trimTelegram trims the spaces and newlines Telegram trims from a text.
func trimTelegram(s string) string { return strings.Trim(s, " \n") }

// checkWellFormed reads h with an independent HTML tokenizer and checks it
// uses only the tags herald means to send, properly nested, with only the
// attributes Telegram reads, that its text is the document's visible text
// (cleaned) and its links the document's links.
func checkWellFormed(t *testing.T, src string, doc markup.Doc, h string) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("HTML(Parse(%q)) = %q: "+format, append([]any{src, h}, args...)...)
	}
	z := html.NewTokenizer(strings.NewReader(h))
	var (
		stack []string
		text  strings.Builder
		hrefs []string
	)
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if !errors.Is(z.Err(), io.EOF) {
				fail("tokenizer: %v", z.Err())
			}
			break
		}
		tok := z.Token()
		switch tt {
		case html.TextToken:
			text.WriteString(tok.Data)
		case html.StartTagToken:
			switch tok.Data {
			case "b", "i", "s", "pre":
				if len(tok.Attr) > 0 {
					fail("attributes on <%s>", tok.Data)
				}
			case "code":
				if len(tok.Attr) > 0 {
					if len(stack) == 0 || stack[len(stack)-1] != "pre" || len(tok.Attr) != 1 ||
						tok.Attr[0].Key != "class" || !strings.HasPrefix(tok.Attr[0].Val, "language-") {
						fail("bad <code> attributes %v", tok.Attr)
					}
				}
			case "a":
				if len(tok.Attr) != 1 || tok.Attr[0].Key != "href" {
					fail("bad <a> attributes %v", tok.Attr)
				}
				hrefs = append(hrefs, tok.Attr[0].Val)
			default:
				fail("unexpected tag <%s>", tok.Data)
			}
			for _, open := range stack {
				if open == tok.Data || open == "code" || open == "pre" && tok.Data != "code" || open == "a" && tok.Data == "a" {
					fail("<%s> inside <%s>", tok.Data, open)
				}
			}
			stack = append(stack, tok.Data)
		case html.EndTagToken:
			if len(stack) == 0 || stack[len(stack)-1] != tok.Data {
				fail("unbalanced </%s> (open: %v)", tok.Data, stack)
			}
			stack = stack[:len(stack)-1]
		default:
			fail("unexpected token %v", tok)
		}
	}
	if len(stack) > 0 {
		fail("unclosed %v", stack)
	}
	if want := cleanedVisible(doc.Nodes); text.String() != want {
		fail("text %q, want %q", text.String(), want)
	}
	var links []string
	var walk func([]markup.Node)
	walk = func(nodes []markup.Node) {
		for _, n := range nodes {
			if n.Kind == markup.Link && cleanedVisible(n.Children) != "" {
				links = append(links, cleanForTelegram(n.URL))
			}
			walk(n.Children)
		}
	}
	walk(doc.Nodes)
	if strings.Join(hrefs, "\n") != strings.Join(links, "\n") {
		fail("links %q, want %q", hrefs, links)
	}
}

// cleanedVisible is the visible text of nodes with each piece cleaned on its
// own, as HTML cleans it: invalid UTF-8 split by markup must not join up.
func cleanedVisible(nodes []markup.Node) string {
	var b strings.Builder
	for _, n := range nodes {
		switch n.Kind {
		case markup.Text, markup.Code, markup.Pre:
			b.WriteString(cleanForTelegram(n.Text))
		default:
			b.WriteString(cleanedVisible(n.Children))
		}
	}
	return b.String()
}
