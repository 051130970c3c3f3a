package rss

import (
	"bytes"
	"mime"
	"regexp"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
)

// toUTF8 returns body as UTF-8 without a byte order mark, with any XML
// declaration rewritten to say encoding="utf-8", so that the parsers never
// convert it again. The encoding is taken from, in order:
//
//  1. a byte order mark (UTF-8, UTF-16 LE/BE), or UTF-16 recognised by
//     the zero bytes around "<?" when the BOM is missing;
//  2. the encoding the XML declaration names (windows-1252, ISO-8859-x,
//     KOI8-R, Shift_JIS…), looked up like a browser would (so "ISO-8859-1"
//     means windows-1252);
//  3. UTF-8, when the body is valid UTF-8 (a Content-Type charset is not
//     trusted over bytes that are valid UTF-8: servers often default to a
//     wrong one);
//  4. the Content-Type charset, when there is one;
//  5. UTF-8 with each invalid byte read as windows-1252, the most common
//     mislabelled encoding.
func toUTF8(body []byte, contentType string) []byte {
	switch {
	case bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}):
		return rewriteDeclaration(fixUTF8(body[3:]))
	case bytes.HasPrefix(body, []byte{0xFF, 0xFE}):
		return rewriteDeclaration(decodeUTF16(body[2:], false))
	case bytes.HasPrefix(body, []byte{0xFE, 0xFF}):
		return rewriteDeclaration(decodeUTF16(body[2:], true))
	case bytes.HasPrefix(body, []byte{'<', 0, '?', 0}):
		return rewriteDeclaration(decodeUTF16(body, false))
	case bytes.HasPrefix(body, []byte{0, '<', 0, '?'}):
		return rewriteDeclaration(decodeUTF16(body, true))
	}

	if label, _, _ := declaredEncoding(body); label != "" {
		if enc, name := charset.Lookup(label); enc != nil && !isUTF(name) && name != "replacement" {
			if out, err := enc.NewDecoder().Bytes(body); err == nil {
				return rewriteDeclaration(out)
			}
		}
		// UTF-8, UTF-16 without a BOM (so not really UTF-16), or an
		// unknown label: read it as UTF-8.
	}

	if utf8.Valid(body) {
		return rewriteDeclaration(body)
	}
	if _, params, err := mime.ParseMediaType(contentType); err == nil && params["charset"] != "" {
		if enc, name := charset.Lookup(params["charset"]); enc != nil && !isUTF(name) && name != "replacement" {
			if out, err := enc.NewDecoder().Bytes(body); err == nil {
				return rewriteDeclaration(out)
			}
		}
	}
	return rewriteDeclaration(fixUTF8(body))
}

func isUTF(name string) bool {
	return strings.HasPrefix(name, "utf-")
}

// windows1252 maps the bytes 0x80–0xFF to their windows-1252 characters.
var windows1252 = func() [128]string {
	var table [128]string
	enc, _ := charset.Lookup("windows-1252")
	dec := enc.NewDecoder()
	for i := range table {
		s, err := dec.String(string([]byte{byte(0x80 + i)}))
		if err != nil || s == "" {
			s = "\uFFFD"
		}
		table[i] = s
	}
	return table
}()

// fixUTF8 returns b with every byte that is not part of valid UTF-8 read as
// windows-1252: a feed that mixes UTF-8 with Latin-1 reads right, and a
// pure windows-1252 feed without a declaration too.
func fixUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			if b[0] >= 0x80 {
				out = append(out, windows1252[b[0]-0x80]...)
			} else {
				out = utf8.AppendRune(out, utf8.RuneError)
			}
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
}

// decodeUTF16 converts UTF-16 (without its BOM) to UTF-8; a lone surrogate
// becomes U+FFFD and an odd trailing byte is dropped.
func decodeUTF16(b []byte, bigEndian bool) []byte {
	units := make([]uint16, len(b)/2)
	for i := range units {
		if bigEndian {
			units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			units[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	out := make([]byte, 0, len(units))
	for _, r := range utf16.Decode(units) {
		out = utf8.AppendRune(out, r)
	}
	return out
}

// xmlDeclaration matches an XML declaration's encoding pseudo-attribute.
var xmlDeclaration = regexp.MustCompile(`^\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"'>]*)["']`)

// declaredEncoding returns the encoding named by body's XML declaration and
// where that name sits in body; "" when there is none.
func declaredEncoding(body []byte) (label string, start, end int) {
	head := body[:min(len(body), 512)]
	m := xmlDeclaration.FindSubmatchIndex(head)
	if m == nil {
		return "", 0, 0
	}
	return strings.TrimSpace(string(head[m[2]:m[3]])), m[2], m[3]
}

// rewriteDeclaration makes an XML declaration in body say encoding="utf-8",
// which it now is.
func rewriteDeclaration(body []byte) []byte {
	_, start, end := declaredEncoding(body)
	if end == 0 || strings.EqualFold(string(body[start:end]), "utf-8") {
		return body
	}
	out := make([]byte, 0, len(body))
	out = append(out, body[:start]...)
	out = append(out, "utf-8"...)
	return append(out, body[end:]...)
}

// xmlBaseAttr matches an xml:base attribute and its quoted value.
var xmlBaseAttr = regexp.MustCompile(`\bxml:base\s*=\s*(?:"([^"<]*)"|'([^'<]*)')`)

// fixXMLBase makes every xml:base that names a document (WordPress writes
// xml:base="https://example.com/wp-atom.php") name its directory instead.
// gofeed appends a slash to an xml:base path that lacks one, which would
// resolve "img/a.png" to ".../wp-atom.php/img/a.png"; per RFC 3986 it is
// ".../img/a.png", and that is what the directory gives under gofeed too.
func fixXMLBase(data []byte) []byte {
	if !bytes.Contains(data, []byte("xml:base")) {
		return data
	}
	return xmlBaseAttr.ReplaceAllFunc(data, func(attr []byte) []byte {
		m := xmlBaseAttr.FindSubmatch(attr)
		value, quote := m[1], byte('"')
		if m[1] == nil {
			value, quote = m[2], '\''
		}
		dir := baseDirectory(string(value))
		if dir == string(value) {
			return attr
		}
		return []byte("xml:base=" + string(quote) + dir + string(quote))
	})
}

// baseDirectory cuts a base URL after the last "/" of its path, dropping
// any query and fragment: "https://x/blog/index.html?p=1" is
// "https://x/blog/". A URL without a path ("https://x") is unchanged.
func baseDirectory(base string) string {
	rest := base
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	pathStart := 0
	if i := strings.Index(rest, "://"); i >= 0 {
		j := strings.IndexByte(rest[i+3:], '/')
		if j < 0 {
			return base // no path
		}
		pathStart = i + 3 + j
	}
	last := strings.LastIndexByte(rest[pathStart:], '/')
	if last < 0 {
		return base // a bare relative name: leave it to gofeed
	}
	return rest[:pathStart+last+1]
}
