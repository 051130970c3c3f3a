package markup

import "strings"

// escaped are the characters Parse can give a meaning to.
const escaped = "\\`*_~[]()"

// Escape returns s with a backslash before every character that Parse could
// read as markup, so that Parse(Escape(s)).Visible() == s for any s, in
// text, link text, link URLs, code and preformatted blocks alike. Template
// values must go through it before they are interpolated into a message. (A
// link URL still cannot hold spaces: URL-encode a value that goes into one.)
func Escape(s string) string {
	if !strings.ContainsAny(s, escaped) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(escaped, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
