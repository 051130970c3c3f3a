package sandbox

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// EntityError is Telegram's refusal of a text whose parse_mode HTML markup it cannot parse.
// Its Error is the full description Telegram answers with, e.g.
// `Bad Request: can't parse entities: Unsupported start tag "foo" at byte offset 3`.
type EntityError struct {
	// Reason is the part after "can't parse entities: ", in Telegram's words.
	Reason string
}

func (e *EntityError) Error() string { return descCantParseEntities + e.Reason }

// errNotUTF8 is Telegram's refusal of a string that is not valid UTF-8, in
// Telegram's own words (capitalized: the sandbox must answer exactly so).
var errNotUTF8 = errors.New(descNotUTF8) //lint:ignore ST1005 Telegram's wording

// ParseTelegramHTML parses s as Telegram parses a text sent with parse_mode "HTML" and returns
// the text the recipient sees: tags removed, the entities &lt; &gt; &amp; &quot; and numeric
// references decoded, control characters turned into spaces, and leading and trailing spaces
// and newlines trimmed. Its length as Telegram counts it is TextLength(visible).
//
// Like Telegram, it keeps an "&" that starts no entity as text (ParseTelegramHTMLStrict
// refuses it). The error is an *EntityError carrying Telegram's description when the markup
// is invalid (unsupported, unclosed or mismatched tags, malformed attributes, a custom emoji
// without a valid id, a reference to a lone surrogate), or an error whose text is
// "Bad Request: strings must be encoded in UTF-8" when s is not valid UTF-8.
func ParseTelegramHTML(s string) (visible string, err error) {
	f, err := parseHTML(s, false)
	return f.text, err
}

// ParseTelegramHTMLStrict is ParseTelegramHTML, and also refuses an "&" that does not start one
// of the entities Telegram decodes, which Telegram would show as typed: it means the sender
// forgot to escape a value. This is what the sandbox applies unless Options.LenientHTML is set.
func ParseTelegramHTMLStrict(s string) (visible string, err error) {
	f, err := parseHTML(s, true)
	return f.text, err
}

// TextLength counts s as Telegram counts a message's length: in UTF-16 code units.
func TextLength(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c&0xC0 != 0x80 { // the first byte of a character
			n++
			if c >= 0xF0 { // four bytes: a surrogate pair in UTF-16
				n++
			}
		}
	}
	return n
}

// entity is a MessageEntity as Telegram returns it in a sent message.
type entity struct {
	Type           string `json:"type"`
	Offset         int    `json:"offset"`
	Length         int    `json:"length"`
	URL            string `json:"url,omitempty"`
	Language       string `json:"language,omitempty"`
	CustomEmojiID  string `json:"custom_emoji_id,omitempty"`
	UnixTime       int64  `json:"unix_time,omitempty"`
	DateTimeFormat string `json:"date_time_format,omitempty"`
}

// formattedText is a text as Telegram keeps it once parsed and normalized.
type formattedText struct {
	text     string
	entities []entity
	// blank reports that the text was empty before trimming; Telegram words "" and "  "
	// differently when a text is required.
	blank bool
}

type openTag struct {
	name       string
	arg        string // href, language, spoiler class, emoji id or unix time
	format     string // tg-time's format
	expandable bool
	utf16      int // where the tag's text begins, in UTF-16 code units
	pos        int // and in bytes of the output
}

func entityErrorf(format string, args ...any) error {
	return &EntityError{Reason: fmt.Sprintf(format, args...)}
}

// isHTMLSpace is TDLib's notion of a space, which includes the terminating NUL it reads past
// the end of the text.
func isHTMLSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', 0, '\v', '\f':
		return true
	}
	return false
}

func isASCIIAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isSupportedTag(name string) bool {
	switch name {
	case "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
		"tg-spoiler", "tg-emoji", "tg-time", "span", "pre", "code", "blockquote":
		return true
	}
	return false
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// parseHTML is Telegram's parse_mode HTML. strict also refuses an "&" that starts no entity.
func parseHTML(s string, strict bool) (formattedText, error) {
	if !utf8.ValidString(s) {
		return formattedText{}, errNotUTF8
	}
	// at reads past the end as NUL, as TDLib reads its C strings; a NUL in the text ends a tag
	// the same way.
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	out := make([]byte, 0, len(s))
	var (
		ents      []entity
		stack     []openTag
		u16       int
		surrogate bool
	)
	for i := 0; i < len(s); {
		c := s[i]
		if c == '&' {
			if r, next, ok := decodeHTMLEntity(s, i); ok {
				if r >= 0xD800 && r <= 0xDFFF {
					surrogate = true
				}
				out = utf8.AppendRune(out, r)
				u16++
				if r > 0xFFFF {
					u16++
				}
				i = next
				continue
			}
			if strict {
				return formattedText{}, entityErrorf(reasonBareAmpersand, i)
			}
		}
		if c != '<' {
			if c&0xC0 != 0x80 {
				u16++
				if c >= 0xF0 {
					u16++
				}
			}
			out = append(out, c)
			i++
			continue
		}

		begin := i
		i++
		if at(i) != '/' {
			for !isHTMLSpace(at(i)) && at(i) != '>' {
				i++
			}
			if at(i) == 0 {
				return formattedText{}, entityErrorf("Unclosed start tag at byte offset %d", begin)
			}
			name := asciiLower(s[begin+1 : i])
			if !isSupportedTag(name) {
				return formattedText{}, entityErrorf("Unsupported start tag %q at byte offset %d", name, begin)
			}
			tag := openTag{name: name, utf16: u16, pos: len(out)}
			for at(i) != '>' {
				for at(i) != 0 && isHTMLSpace(at(i)) {
					i++
				}
				if at(i) == '>' {
					break
				}
				attrBegin := i
				for !isHTMLSpace(at(i)) && at(i) != '=' && at(i) != '>' {
					i++
				}
				attr := s[attrBegin:i]
				if attr == "" {
					return formattedText{}, entityErrorf("Empty attribute name in the tag %q at byte offset %d", name, begin)
				}
				for at(i) != 0 && isHTMLSpace(at(i)) {
					i++
				}
				if at(i) != '=' {
					if at(i) == 0 {
						return formattedText{}, entityErrorf("Unclosed start tag %q at byte offset %d", name, begin)
					}
					if name == "blockquote" && attr == "expandable" {
						tag.expandable = true
						continue
					}
					return formattedText{}, entityErrorf("Expected equal sign in declaration of an attribute of the tag %q at byte offset %d", name, begin)
				}
				i++
				for at(i) != 0 && isHTMLSpace(at(i)) {
					i++
				}
				if at(i) == 0 {
					return formattedText{}, entityErrorf("Unclosed start tag %q at byte offset %d", name, begin)
				}
				var value string
				if quote := at(i); quote != '\'' && quote != '"' {
					// A name token: letters, digits, periods and hyphens, not case-sensitive.
					tokenBegin := i
					for isASCIIAlnum(at(i)) || at(i) == '.' || at(i) == '-' {
						i++
					}
					value = asciiLower(s[tokenBegin:i])
					if !isHTMLSpace(at(i)) && at(i) != '>' {
						return formattedText{}, entityErrorf("Unexpected end of name token at byte offset %d", tokenBegin)
					}
				} else {
					i++
					var v []byte
					for at(i) != quote && at(i) != 0 {
						if at(i) == '&' {
							if r, next, ok := decodeHTMLEntity(s, i); ok {
								v = utf8.AppendRune(v, r)
								i = next
								continue
							}
							if strict {
								return formattedText{}, entityErrorf(reasonBareAmpersand, i)
							}
						}
						v = append(v, s[i])
						i++
					}
					if at(i) == quote {
						i++
					}
					value = string(v)
				}
				if at(i) == 0 {
					return formattedText{}, entityErrorf("Unclosed start tag at byte offset %d", begin)
				}
				switch {
				case name == "a" && attr == "href":
					tag.arg = value
				case name == "code" && attr == "class" && strings.HasPrefix(value, "language-"):
					tag.arg = value[len("language-"):]
				case name == "span" && attr == "class" && strings.HasPrefix(value, "tg-"):
					tag.arg = value[len("tg-"):]
				case name == "tg-emoji" && attr == "emoji-id":
					tag.arg = value
				case name == "blockquote" && attr == "expandable":
					tag.expandable = true
				case name == "tg-time" && attr == "unix":
					tag.arg = value
				case name == "tg-time" && attr == "format":
					tag.format = value
				}
			}
			if name == "span" && tag.arg != "spoiler" {
				return formattedText{}, entityErrorf(`Tag "span" must have class "tg-spoiler" at byte offset %d`, begin)
			}
			stack = append(stack, tag)
			i++ // the '>'
			continue
		}

		// An end tag.
		if len(stack) == 0 {
			return formattedText{}, entityErrorf("Unexpected end tag at byte offset %d", begin)
		}
		for !isHTMLSpace(at(i)) && at(i) != '>' {
			i++
		}
		endName := asciiLower(s[begin+2 : i])
		for at(i) != 0 && isHTMLSpace(at(i)) {
			i++
		}
		if at(i) != '>' {
			return formattedText{}, entityErrorf("Unclosed end tag at byte offset %d", begin)
		}
		i++
		top := stack[len(stack)-1]
		if endName != "" && endName != top.name {
			return formattedText{}, entityErrorf(`Unmatched end tag at byte offset %d, expected "</%s>", found "</%s>"`, begin, top.name, endName)
		}
		stack = stack[:len(stack)-1]
		if u16 == top.utf16 {
			continue // an empty entity is dropped
		}
		e := entity{Offset: top.utf16, Length: u16 - top.utf16}
		switch top.name {
		case "b", "strong":
			e.Type = "bold"
		case "i", "em":
			e.Type = "italic"
		case "u", "ins":
			e.Type = "underline"
		case "s", "strike", "del":
			e.Type = "strikethrough"
		case "tg-spoiler", "span":
			e.Type = "spoiler"
		case "blockquote":
			e.Type = "blockquote"
			if top.expandable {
				e.Type = "expandable_blockquote"
			}
		case "tg-emoji":
			if id, err := strconv.ParseInt(top.arg, 10, 64); err != nil || id == 0 {
				return formattedText{}, &EntityError{Reason: "Invalid custom emoji identifier specified"}
			}
			e.Type, e.CustomEmojiID = "custom_emoji", top.arg
		case "tg-time":
			unix, err := strconv.ParseInt(top.arg, 10, 64)
			if err != nil {
				continue // the text stays, without a date
			}
			e.Type, e.UnixTime, e.DateTimeFormat = "date_time", unix, top.format
		case "a":
			link := top.arg
			if link == "" {
				link = string(out[top.pos:])
			}
			checked, ok := checkLink(link)
			if !ok {
				continue // Telegram keeps the text and drops a link it cannot use
			}
			e.Type, e.URL = "text_link", checked
		case "pre":
			if n := len(ents); n > 0 && ents[n-1].Type == "code" && ents[n-1].Offset == e.Offset &&
				ents[n-1].Length == e.Length && ents[n-1].Language != "" {
				ents[n-1].Type = "pre"
				continue
			}
			e.Type = "pre"
		case "code":
			if n := len(ents); n > 0 && ents[n-1].Type == "pre" && ents[n-1].Offset == e.Offset &&
				ents[n-1].Length == e.Length && top.arg != "" {
				ents[n-1].Language = top.arg
				continue
			}
			e.Type, e.Language = "code", top.arg
		}
		ents = append(ents, e)
	}
	if len(stack) > 0 {
		return formattedText{}, entityErrorf("Can't find end tag corresponding to start tag %q", stack[len(stack)-1].name)
	}
	if surrogate {
		return formattedText{}, &EntityError{Reason: "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units"}
	}
	for i := range ents {
		if ents[i].Type == "code" {
			ents[i].Language = "" // a language is kept only for a pre block
		}
	}
	sortEntities(ents)
	return normalizeText(string(out), ents), nil
}

// decodeHTMLEntity decodes the reference at s[i] ('&') as Telegram does: &lt; &gt; &amp; &quot;
// and decimal or hexadecimal numeric references, the ';' optional. ok is false for anything
// else, which Telegram keeps as text.
func decodeHTMLEntity(s string, i int) (r rune, next int, ok bool) {
	at := func(j int) byte {
		if j < len(s) {
			return s[j]
		}
		return 0
	}
	j := i + 1
	if at(j) == '#' {
		j++
		var code uint64
		if at(j) == 'x' {
			j++
			for {
				c := at(j)
				var d byte
				switch {
				case c >= '0' && c <= '9':
					d = c - '0'
				case c >= 'a' && c <= 'f':
					d = c - 'a' + 10
				case c >= 'A' && c <= 'F':
					d = c - 'A' + 10
				default:
					goto done
				}
				code = min(code*16+uint64(d), 1<<32)
				j++
			}
		} else {
			for at(j) >= '0' && at(j) <= '9' {
				code = min(code*10+uint64(at(j)-'0'), 1<<32)
				j++
			}
		}
	done:
		if code == 0 || code >= 0x10FFFF || j-i >= 10 {
			return 0, 0, false
		}
		r = rune(code)
	} else {
		for c := at(j); c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'; c = at(j) {
			j++
		}
		switch s[i+1 : j] {
		case "lt":
			r = '<'
		case "gt":
			r = '>'
		case "amp":
			r = '&'
		case "quot":
			r = '"'
		default:
			return 0, 0, false
		}
	}
	if at(j) == ';' {
		j++
	}
	return r, j, true
}

// checkLink returns a link as Telegram keeps it in a text_link entity, and false for one it
// drops. It is a simplification of TDLib's check: it accepts http, https, tg and ton links,
// and a host without a protocol as an http link.
func checkLink(link string) (string, bool) {
	if strings.ContainsAny(link, " \t\r\n") {
		return "", false
	}
	if !strings.Contains(link, "://") {
		if !strings.Contains(link, ".") {
			return "", false
		}
		link = "http://" + link
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return "", false
		}
		if u.Path == "" {
			u.Path = "/"
		}
		return u.String(), true
	case "tg", "ton":
		return link, true
	}
	return "", false
}

func sortEntities(ents []entity) {
	slices.SortStableFunc(ents, func(a, b entity) int {
		if a.Offset != b.Offset {
			return a.Offset - b.Offset
		}
		return b.Length - a.Length
	})
}

// plainText is a text sent without parse_mode, as Telegram keeps it.
func plainText(s string) (formattedText, error) {
	if !utf8.ValidString(s) {
		return formattedText{}, errNotUTF8
	}
	return normalizeText(s, nil), nil
}

// normalizeText does what Telegram does to every text once its entities are known: control
// characters become spaces, '\r' and a few invisible characters (U+2028–U+202E, U+030A,
// U+0333, U+033F) are removed, and leading and trailing spaces and newlines are trimmed. The
// entities move with their text; those left empty are dropped.
func normalizeText(text string, ents []entity) formattedText {
	f := formattedText{blank: text == ""}
	if needsCleaning(text) {
		text, ents = cleanText(text, ents)
	}
	lead := 0
	for lead < len(text) && (text[lead] == ' ' || text[lead] == '\n') {
		lead++
	}
	end := len(text)
	for end > lead && (text[end-1] == ' ' || text[end-1] == '\n') {
		end--
	}
	text = text[lead:end]
	if len(ents) > 0 {
		total := TextLength(text)
		kept := ents[:0]
		for _, e := range ents {
			start := min(max(e.Offset-lead, 0), total)
			stop := min(max(e.Offset+e.Length-lead, 0), total)
			if stop > start {
				e.Offset, e.Length = start, stop-start
				kept = append(kept, e)
			}
		}
		ents = kept
	}
	f.text, f.entities = text, ents
	return f
}

func needsCleaning(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 && c != '\n':
			return true
		case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && s[i+2] >= 0xA8 && s[i+2] <= 0xAE:
			return true
		case c == 0xCC && i+1 < len(s) && (s[i+1] == 0x8A || s[i+1] == 0xB3 || s[i+1] == 0xBF):
			return true
		}
	}
	return false
}

func cleanText(s string, ents []entity) (string, []entity) {
	var b strings.Builder
	b.Grow(len(s))
	// newOffset[o] is where UTF-16 offset o of s lands in the cleaned text.
	var newOffset []int
	if len(ents) > 0 {
		newOffset = make([]int, 0, len(s)+1)
	}
	u16 := 0
	for _, r := range s {
		units := 1
		if r > 0xFFFF {
			units = 2
		}
		for range units {
			if newOffset != nil {
				newOffset = append(newOffset, u16)
			}
		}
		switch {
		case r == '\r', r >= 0x2028 && r <= 0x202E, r == 0x030A, r == 0x0333, r == 0x033F:
			// removed
		case r < 0x20 && r != '\n':
			b.WriteByte(' ')
			u16++
		default:
			b.WriteRune(r)
			u16 += units
		}
	}
	if newOffset == nil {
		return b.String(), nil
	}
	newOffset = append(newOffset, u16)
	kept := ents[:0]
	for _, e := range ents {
		start := newOffset[min(e.Offset, len(newOffset)-1)]
		stop := newOffset[min(e.Offset+e.Length, len(newOffset)-1)]
		if stop > start {
			e.Offset, e.Length = start, stop-start
			kept = append(kept, e)
		}
	}
	return b.String(), kept
}
