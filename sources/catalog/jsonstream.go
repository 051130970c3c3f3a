package catalog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// errTruncated is a JSON document that ends before its last bracket.
var errTruncated = errors.New("the JSON ends early: the download was cut short or the file is truncated")

// jsonStream reads a JSON document token by token, so that a page of
// products is never held whole: each product is decoded on its own, and
// errors become a *FormatError that says at which byte the document went
// wrong.
type jsonStream struct {
	format string
	dec    *json.Decoder
	count  *countingReader
	// skipped are the bytes before the decoder's first (a byte order
	// mark, white space): decoder offsets start after them.
	skipped int64
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// newJSONStream starts reading r. It fails with a *FormatError when the
// document is empty or is not JSON at all (an HTML page, an XML feed):
// notJSON says what that probably means for this format.
func newJSONStream(r io.Reader, format, notJSON string) (*jsonStream, error) {
	s := &jsonStream{format: format, count: &countingReader{r: r}}
	br := bufio.NewReader(s.count)
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		br.Discard(3)
		s.skipped = 3
	}
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return nil, s.formatError(s.skipped, errors.New("the document is empty"))
		}
		if err != nil {
			return nil, err
		}
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			s.skipped++
			continue
		}
		br.UnreadByte()
		if c == '<' {
			return nil, s.formatError(s.skipped, fmt.Errorf("got HTML or XML, not JSON: %s", notJSON))
		}
		break
	}
	s.dec = json.NewDecoder(br)
	s.dec.UseNumber()
	return s, nil
}

func (s *jsonStream) formatError(offset int64, err error) *FormatError {
	return &FormatError{Format: s.format, Where: "byte " + strconv.FormatInt(offset, 10), Err: err}
}

// offset is where the decoder is in the document.
func (s *jsonStream) offset() int64 { return s.skipped + s.dec.InputOffset() }

// fail turns a decoder error into a *FormatError; read errors (a body over
// the size cap, a broken connection) are returned as they are.
func (s *jsonStream) fail(err error) error {
	var se *json.SyntaxError
	switch {
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return s.formatError(s.count.n, errTruncated)
	case errors.As(err, &se):
		return s.formatError(s.skipped+se.Offset, fmt.Errorf("invalid JSON: %s", se.Error()))
	}
	return err
}

// token reads the next token; the end of the input is an error, as a
// caller only asks for a token it expects.
func (s *jsonStream) token() (json.Token, error) {
	t, err := s.dec.Token()
	if err != nil {
		return nil, s.fail(err)
	}
	return t, nil
}

// more reports whether the array or object being read has another element.
func (s *jsonStream) more() bool { return s.dec.More() }

// value decodes the next value whole: one product.
func (s *jsonStream) value() (any, error) {
	var v any
	if err := s.dec.Decode(&v); err != nil {
		return nil, s.fail(err)
	}
	return v, nil
}

// expect reads the next token and fails unless it is the delimiter d:
// what says what was expected there ("the list of products").
func (s *jsonStream) expect(d json.Delim, what string) error {
	at := s.offset()
	t, err := s.token()
	if err != nil {
		return err
	}
	if t != d {
		return s.formatError(at, fmt.Errorf("expected %s, found %s", what, describeToken(t)))
	}
	return nil
}

// skip reads past the next value without keeping it.
func (s *jsonStream) skip() error {
	depth := 0
	for {
		t, err := s.token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// end checks that nothing but white space follows the document, so that a
// document cut right after its product list, or with a second document
// glued to it, is not taken as complete.
func (s *jsonStream) end() error {
	at := s.offset()
	t, err := s.dec.Token()
	switch {
	case err == io.EOF:
		return nil
	case err != nil:
		return s.fail(err)
	}
	return s.formatError(at, fmt.Errorf("unexpected %s after the end of the document", describeToken(t)))
}

// describeToken names a JSON token for an error message.
func describeToken(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "an object"
		case '[':
			return "a list"
		}
		return fmt.Sprintf("%q", string(v))
	case string:
		return fmt.Sprintf("the text %q", clipText(v, 40))
	case json.Number:
		return "the number " + v.String()
	case bool:
		return fmt.Sprintf("%t", v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", t)
}

// describeValue names the kind of a decoded JSON value.
func describeValue(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "text"
	case json.Number:
		return "a number"
	case bool:
		return "true or false"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// clipText shortens s to n runes for a message.
func clipText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// jsonLookup follows a dotted path ("offers.0.price") through a decoded JSON
// value: a name picks an object's key (matched exactly, else ignoring
// case), a number an element of a list. ok is false when the path leads
// nowhere.
func jsonLookup(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	for seg := range strings.SplitSeq(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			next, ok := c[seg]
			if !ok {
				found := false
				for k, kv := range c {
					if strings.EqualFold(k, seg) {
						next, found = kv, true
						break
					}
				}
				if !found {
					return nil, false
				}
			}
			v = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// jsonText turns a JSON scalar into text: a string as it is, a number as it is
// written (never through a float), true or false; null is "". An object or
// a list is an error: a field must name a value inside it.
func jsonText(v any) (string, error) {
	switch c := v.(type) {
	case nil:
		return "", nil
	case string:
		return c, nil
	case json.Number:
		return c.String(), nil
	case bool:
		return strconv.FormatBool(c), nil
	}
	return "", fmt.Errorf("is %s, not a value", describeValue(v))
}

// jsonBool reads a JSON true/false, also written as text ("true", "1");
// set is false for null or a missing value.
func jsonBool(v any) (b, set bool, err error) {
	switch c := v.(type) {
	case nil:
		return false, false, nil
	case bool:
		return c, true, nil
	case string, json.Number:
		s, _ := jsonText(c)
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1", "yes":
			return true, true, nil
		case "false", "0", "no":
			return false, true, nil
		case "":
			return false, false, nil
		}
	}
	return false, false, errors.New("is not true or false")
}
