package sources_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heraldcli/herald/sources"
)

func TestPlainText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"  just   text\n\there ", "just text here"},
		{"<p>Hello <b>world</b></p>", "Hello world"},
		{"<p>one</p><p>two</p>", "one two"},
		{"line<br>break<br/>again", "line break again"},
		{"<ul><li>a</li><li>b</li></ul>", "a b"},
		{"Caf&eacute; &amp; cr&#232;me &#x2014; &lt;3", "Café & crème — <3"},
		{"a&nbsp;b", "a b"},
		{"5 < 6 & 7 > 3", "5 < 6 & 7 > 3"},
		{"<script>alert('x')</script>Safe", "Safe"},
		{"<style>p { color: red }</style><p>Styled</p>", "Styled"},
		{"<div>*bold* _it_ [a](b)</div>", "*bold* _it_ [a](b)"},
		{"<!-- hidden -->Shown", "Shown"},
		{"Read more <a href=\"https://example.com/very-long", "Read more"},
		{"<img src=\"x.png\">Caption", "Caption"},
	}
	for _, tt := range tests {
		if got := sources.PlainText(tt.in); got != tt.want {
			t.Errorf("PlainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPlainTitle(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Plain title", "Plain title"},
		{"  Spaced \n  out  ", "Spaced out"},
		{"<b>Big</b> news", "Big news"},
		{"<em>Fast</em> &amp; cheap", "Fast & cheap"},
		{"Fish &amp; Chips", "Fish & Chips"},
		{"AT&T", "AT&T"},
		{"R&D; costs", "R&D; costs"},
		{"?a=1&copy=2", "?a=1&copy=2"},
		{"&copy; 2025", "© 2025"},
		{"<script>alert(1)</script> sale", "<script>alert(1)</script> sale"},
		{"List<T> in Go", "List<T> in Go"},
		{"a < b", "a < b"},
		{"a<b", "a<b"},
		{"a <b c", "a <b c"},
		{"I <3 cake", "I <3 cake"},
		{"x <!-- y", "x <!-- y"},
		{"x <!-- y --> z", "x z"},
		{"*bold* _x_ [a](b) `c`", "*bold* _x_ [a](b) `c`"},
		{"line<br>two", "line two"},
		{"&#x1F600; smile", "😀 smile"},
		// Formatting tags go only in matching pairs; a lone one is text.
		{"AT&T <b>", "AT&T <b>"},
		{"Use <b> for bold", "Use <b> for bold"},
		{"<b>Sale</b> and </i> stray", "Sale and </i> stray"},
		{"<b><i>both</i></b>", "both"},
		{"<b>open <i>inner</i>", "<b>open inner"},
		{"line<br/>two", "line two"},
	}
	for _, tt := range tests {
		if got := sources.PlainTitle(tt.in); got != tt.want {
			t.Errorf("PlainTitle(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDecodeEntities(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"no entities", "no entities"},
		{"&amp;&lt;&gt;&quot;&#39;", `&<>"'`},
		{"&#233;&#xE9;&eacute;", "ééé"},
		{"&copy=2", "&copy=2"},
		{"&unknown;", "&unknown;"},
		{"&;&#;&#x;", "&;&#;&#x;"},
		{"& amp;", "& amp;"},
		{"&amp", "&amp"},
		{"trailing &", "trailing &"},
	}
	for _, tt := range tests {
		if got := sources.DecodeEntities(tt.in); got != tt.want {
			t.Errorf("DecodeEntities(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSnippet(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("abcdefghij", 20)
	tests := []struct{ in, want string }{
		{"", ""},
		{"   \n ", ""},
		{"\xef\xbb\xbf<html>", "<html>"},
		{"<html>\n  <head>", "<html> <head>"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{"bell\x07ring", "bell ring"},
		{long, long[:60] + "…"},
		{long[:60], long[:60]},
		{long[:60] + "   ", long[:60]},
	}
	for _, tt := range tests {
		if got := sources.Snippet([]byte(tt.in)); got != tt.want {
			t.Errorf("Snippet(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// A multi-byte character cut by the scan limit is not reported as invalid.
	cut := strings.Repeat(" ", 1022) + "é"
	if got := sources.Snippet([]byte(cut)); strings.Contains(got, "\uFFFD") {
		t.Errorf("Snippet of a body cut mid-character = %q", got)
	}
}

func FuzzPlainText(f *testing.F) {
	for _, s := range []string{"<p>a</p>", "<script>x", "&amp;&#0;&#xD800;", "a <b c", "<!--", "<<>>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{sources.PlainText(s), sources.PlainTitle(s)} {
			if utf8.ValidString(s) && !utf8.ValidString(out) {
				t.Fatalf("%q -> invalid UTF-8 %q", s, out)
			}
			if out != strings.TrimSpace(out) || strings.Contains(out, "  ") || strings.ContainsAny(out, "\n\t") {
				t.Fatalf("%q -> %q: whitespace not collapsed", s, out)
			}
		}
	})
}
