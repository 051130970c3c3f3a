package sandbox

import (
	"errors"
	"html"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseTelegramHTML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		visible string
		err     string // the full description; "" for success
	}{
		{name: "empty", in: "", visible: ""},
		{name: "plain", in: "hello", visible: "hello"},
		{name: "every tag", in: `<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>` +
			`<span class="tg-spoiler">p</span><tg-spoiler>q</tg-spoiler><a href="https://example.com">a</a><code>c</code><pre>p</pre>` +
			`<blockquote>q</blockquote><blockquote expandable>x</blockquote><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>` +
			`<tg-time unix="1647531900" format="wDT">t</tg-time>`,
			visible: "bsieunskdpqacpqx👍t"},
		{name: "valid nesting", in: `<b>bold <i>italic <s>struck <span class="tg-spoiler">hidden</span></s> <u>under</u></i> bold</b>`,
			visible: "bold italic struck hidden under bold"},
		{name: "tag names are not case-sensitive", in: "<B>caps</b>", visible: "caps"},
		{name: "pre with a language", in: `<pre><code class="language-go">x := 1</code></pre>`, visible: "x := 1"},
		{name: "attributes in single quotes, spaces around =", in: `<a   href = 'https://example.com/?a=1&amp;b=2' >x</a>`, visible: "x"},
		{name: "unknown attributes are ignored", in: `<b class="x" data-y=z>t</b>`, visible: "t"},
		{name: "</> closes the open tag", in: "<i>a</> b", visible: "a b"},
		{name: "named entities", in: "&lt;b&gt; &amp; &quot;q&quot;", visible: `<b> & "q"`},
		{name: "amp is fine", in: "Tom &amp; Jerry", visible: "Tom & Jerry"},
		{name: "the semicolon is optional", in: "&lt&gt", visible: "<>"},
		{name: "numeric entities", in: "&#65;&#x42;&#128512;&#x1F600;", visible: "AB😀😀"},
		{name: "an unknown entity stays as text", in: "&nbsp;&copy;", visible: "&nbsp;&copy;"},
		{name: "a bare ampersand stays as text", in: "AT&T", visible: "AT&T"},
		{name: "uppercase X is no hexadecimal reference", in: "&#X41;", visible: "&#X41;"},
		{name: "a too long reference stays as text", in: "&#0000000065;", visible: "&#0000000065;"},
		{name: "a reference past U+10FFFF stays as text", in: "&#x110000;", visible: "&#x110000;"},
		{name: "trimmed", in: "  \n<b> padded </b>\n  ", visible: "padded"},
		{name: "carriage returns are removed", in: "one\r\ntwo", visible: "one\ntwo"},
		{name: "control characters become spaces", in: "tab\there\x01", visible: "tab here"},
		{name: "a greater-than sign alone is text", in: "2 > 1", visible: "2 > 1"},

		{name: "unknown tag", in: "abc<foo>x</foo>", err: `Bad Request: can't parse entities: Unsupported start tag "foo" at byte offset 3`},
		{name: "offsets count bytes", in: "é<br/>", err: `Bad Request: can't parse entities: Unsupported start tag "br/" at byte offset 2`},
		{name: "a lone less-than sign", in: "a < b", err: `Bad Request: can't parse entities: Unsupported start tag "" at byte offset 2`},
		{name: "a less-than sign at the end", in: "a <", err: "Bad Request: can't parse entities: Unclosed start tag at byte offset 2"},
		{name: "unclosed tag", in: "<b>bold", err: `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`},
		{name: "mismatched tags", in: "<b><i>test</b></i>", err: `Bad Request: can't parse entities: Unmatched end tag at byte offset 10, expected "</i>", found "</b>"`},
		{name: "end tag without a start", in: "x</b>", err: "Bad Request: can't parse entities: Unexpected end tag at byte offset 1"},
		{name: "unclosed end tag", in: "<b>x</b", err: "Bad Request: can't parse entities: Unclosed end tag at byte offset 4"},
		{name: "span without the spoiler class", in: "<span>x</span>", err: `Bad Request: can't parse entities: Tag "span" must have class "tg-spoiler" at byte offset 0`},
		{name: "empty attribute name", in: `<a ="x">y</a>`, err: `Bad Request: can't parse entities: Empty attribute name in the tag "a" at byte offset 0`},
		{name: "attribute without a value", in: "<a href>y</a>", err: `Bad Request: can't parse entities: Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0`},
		{name: "unquoted URL", in: "<a href=https://x.y>y</a>", err: "Bad Request: can't parse entities: Unexpected end of name token at byte offset 8"},
		{name: "unclosed attribute value", in: `<a href="x`, err: "Bad Request: can't parse entities: Unclosed start tag at byte offset 0"},
		{name: "invalid custom emoji", in: `<tg-emoji emoji-id="abc">x</tg-emoji>`, err: "Bad Request: can't parse entities: Invalid custom emoji identifier specified"},
		{name: "lone surrogate", in: "&#xD800;", err: "Bad Request: can't parse entities: Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units"},
		{name: "invalid UTF-8", in: "\xff", err: "Bad Request: strings must be encoded in UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTelegramHTML(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("ParseTelegramHTML(%q) error = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTelegramHTML(%q): %v", tt.in, err)
			}
			if got != tt.visible {
				t.Errorf("ParseTelegramHTML(%q) = %q, want %q", tt.in, got, tt.visible)
			}
		})
	}
}

func TestParseTelegramHTMLErrorsAreEntityErrors(t *testing.T) {
	t.Parallel()
	_, err := ParseTelegramHTML("<foo>")
	var entityErr *EntityError
	if !errors.As(err, &entityErr) || entityErr.Reason != `Unsupported start tag "foo" at byte offset 0` {
		t.Fatalf("error %#v, want an *EntityError with Telegram's reason", err)
	}
}

func TestParseTelegramHTMLStrict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, visible, err string
	}{
		{in: "Tom &amp; Jerry &#38; &lt;3", visible: "Tom & Jerry & <3"},
		{in: "AT&T", err: `Bad Request: can't parse entities: Character '&' at byte offset 2 must be escaped as "&amp;"`},
		{in: "&nbsp;", err: `Bad Request: can't parse entities: Character '&' at byte offset 0 must be escaped as "&amp;"`},
		{in: `<a href="https://x.y/?a=1&b=2">x</a>`, err: `Bad Request: can't parse entities: Character '&' at byte offset 25 must be escaped as "&amp;"`},
		{in: `<a href="https://x.y/?a=1&amp;b=2">x</a>`, visible: "x"},
	}
	for _, tt := range tests {
		got, err := ParseTelegramHTMLStrict(tt.in)
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("ParseTelegramHTMLStrict(%q) error = %v, want %q", tt.in, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("ParseTelegramHTMLStrict(%q): %v", tt.in, err)
		case tt.err == "" && got != tt.visible:
			t.Errorf("ParseTelegramHTMLStrict(%q) = %q, want %q", tt.in, got, tt.visible)
		}
	}
}

func TestTextLength(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"": 0, "abc": 3, "é": 1, "€": 1, "😀": 2, "a😀b": 4} {
		if got := TextLength(in); got != want {
			t.Errorf("TextLength(%q) = %d, want %d", in, got, want)
		}
	}
	visible, err := ParseTelegramHTML("<b>😀</b> &amp;")
	if err != nil {
		t.Fatal(err)
	}
	if got := TextLength(visible); got != 4 {
		t.Errorf("TextLength(%q) = %d, want 4", visible, got)
	}
}

func TestParseHTMLEntities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []entity
	}{
		{`<b>bold</b> <a href="https://example.com">link</a>`, []entity{
			{Type: "bold", Offset: 0, Length: 4}, {Type: "text_link", Offset: 5, Length: 4, URL: "https://example.com/"}}},
		{`<pre><code class="language-go">x</code></pre>`, []entity{{Type: "pre", Offset: 0, Length: 1, Language: "go"}}},
		{`<code class="language-go">x</code>`, []entity{{Type: "code", Offset: 0, Length: 1}}},
		{`😀<i>é</i>`, []entity{{Type: "italic", Offset: 2, Length: 1}}},
		{"  <b>x</b>  ", []entity{{Type: "bold", Offset: 0, Length: 1}}},
		{`<blockquote expandable>q</blockquote>`, []entity{{Type: "expandable_blockquote", Offset: 0, Length: 1}}},
		{`<a href="javascript:alert(1)">x</a>`, nil},
		{`<b></b>x`, nil},
	}
	for _, tt := range tests {
		f, err := parseHTML(tt.in, true)
		if err != nil {
			t.Fatalf("parseHTML(%q): %v", tt.in, err)
		}
		if !reflect.DeepEqual(f.entities, tt.want) {
			t.Errorf("parseHTML(%q) entities = %+v, want %+v", tt.in, f.entities, tt.want)
		}
	}
}

func TestRenderEntities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		ents []entity
		want string
	}{
		{"<script>", nil, "&lt;script&gt;"},
		{"bold italic", []entity{{Type: "bold", Offset: 0, Length: 11}, {Type: "italic", Offset: 5, Length: 6}}, "<b>bold <i>italic</i></b>"},
		{"overlap", []entity{{Type: "bold", Offset: 0, Length: 4}, {Type: "italic", Offset: 2, Length: 5}}, "<b>ov<i>er</i></b><i>lap</i>"},
		{"😀 x", []entity{{Type: "code", Offset: 3, Length: 1}}, "😀 <code>x</code>"},
		{`a"b`, []entity{{Type: "text_link", Offset: 0, Length: 3, URL: `https://e.com/"onmouseover="x`}},
			`<a href="https://e.com/&#34;onmouseover=&#34;x" rel="noopener noreferrer nofollow" target="_blank">a&#34;b</a>`},
		{"tg", []entity{{Type: "text_link", Offset: 0, Length: 2, URL: "tg://resolve?domain=x"}}, `<span class="link" title="tg://resolve?domain=x">tg</span>`},
	}
	for _, tt := range tests {
		if got := renderEntities(tt.text, tt.ents); got != tt.want {
			t.Errorf("renderEntities(%q, %+v) =\n %s\nwant\n %s", tt.text, tt.ents, got, tt.want)
		}
	}
}

func FuzzParseTelegramHTML(f *testing.F) {
	for _, seed := range []string{
		"", "plain", "<b>bold</b>", "<b><i>x</b></i>", "a < b", "&lt;&gt;&amp;&quot;&#65;&#x1F600;",
		`<a href="https://example.com/?a=1&amp;b=2">x</a>`, `<pre><code class="language-go">x</code></pre>`,
		`<span class="tg-spoiler">s</span>`, "<blockquote expandable>q</blockquote>", `<tg-emoji emoji-id="1">👍</tg-emoji>`,
		"AT&T", "&#xD800;", "<", "</", "<b", "<a href='x", "\x00<b>\x00</b>", "\r\n\t", "<i>a</>",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		visible, err := ParseTelegramHTML(s)
		strictVisible, strictErr := ParseTelegramHTMLStrict(s)
		if err != nil {
			if strictErr == nil {
				t.Fatalf("%q: lenient refuses (%v) what strict accepts", s, err)
			}
			if !strings.HasPrefix(err.Error(), "Bad Request: ") {
				t.Fatalf("%q: error %q is not a Telegram description", s, err)
			}
			return
		}
		if strictErr == nil && strictVisible != visible {
			t.Fatalf("%q: strict gives %q, lenient %q", s, strictVisible, visible)
		}
		if !utf8.ValidString(visible) {
			t.Fatalf("%q: visible text %q is not UTF-8", s, visible)
		}
		// Every '<' of the input starts a tag or fails, so without references no '<' is left:
		// the visible text never holds a tag.
		if !strings.Contains(s, "&") && strings.Contains(visible, "<") {
			t.Fatalf("%q: visible text %q holds markup", s, visible)
		}
		if TextLength(visible) > TextLength(s) {
			t.Fatalf("%q: visible text %q is longer than the input", s, visible)
		}
		// The visible text, escaped, parses back to itself.
		again, err := ParseTelegramHTMLStrict(html.EscapeString(visible))
		if err != nil || again != visible {
			t.Fatalf("%q: visible %q escaped parses to %q, %v", s, visible, again, err)
		}
	})
}

func BenchmarkParseTelegramHTML(b *testing.B) {
	text := strings.Repeat(`<b>New</b> on the blog: <a href="https://example.com/post?id=1&amp;ref=herald">Ten &lt;tips&gt;</a> — read it! `, 20)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := parseHTML(text, true); err != nil {
			b.Fatal(err)
		}
	}
}
