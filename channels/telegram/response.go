package telegram

import (
	"bytes"
	"strconv"
)

// scanSent reads a successful Bot API answer, {"ok":true,"result":…}, and
// returns the message ids of its result (a Message, or an array of them for
// sendMediaGroup) without decoding the rest: a Message carries the chat, the
// sender, entities and photo sizes, and decoding them all would cost more
// than the request. It reports false whenever it is not certain to agree
// with encoding/json — an error answer, an escaped or differently cased key,
// an id that is not a plain integer, anything malformed — and the caller
// decodes the body with encoding/json instead. FuzzScanSent holds the two to
// the same answers.
func scanSent(b []byte) (ids []string, handled bool) {
	s := scanner{b: b}
	if !s.byte('{') {
		return nil, false
	}
	ok, sawResult := false, false
	for first := true; ; first = false {
		if s.byte('}') {
			break
		}
		if !first && !s.byte(',') {
			return nil, false
		}
		key, plain := s.key()
		if !plain {
			return nil, false
		}
		switch string(key) { // no allocation: compared in place
		case "ok":
			v, good := s.literal()
			if !good || v != "true" {
				return nil, false // false, null or odd: let encoding/json say
			}
			ok = true
		case "result":
			var good bool
			if ids, good = s.result(); !good {
				return nil, false
			}
			sawResult = true
		default:
			if foldsTo(key, "ok", "result", "error_code", "description", "parameters") || !s.value() {
				return nil, false
			}
		}
	}
	s.space()
	if s.i != len(s.b) || !ok || !sawResult {
		return nil, false
	}
	return ids, true
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// byte consumes c after optional space.
func (s *scanner) byte(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// key reads `"name":` and reports whether the name has no escapes.
func (s *scanner) key() ([]byte, bool) {
	s.space()
	start := s.i
	if !s.str() {
		return nil, false
	}
	raw := s.b[start+1 : s.i-1]
	if bytes.IndexByte(raw, '\\') >= 0 || !s.byte(':') {
		return nil, false
	}
	return raw, true
}

// result reads the result: an object or an array of objects, collecting
// their top-level message_id.
func (s *scanner) result() ([]string, bool) {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '[' {
		s.i++
		var ids []string
		for first := true; ; first = false {
			if s.byte(']') {
				return ids, true
			}
			if !first && !s.byte(',') {
				return nil, false
			}
			id, ok := s.message()
			if !ok {
				return nil, false
			}
			if id != "" {
				ids = append(ids, id)
			}
		}
	}
	id, ok := s.message()
	if !ok || id == "" {
		return nil, ok
	}
	return []string{id}, true
}

// message reads one object and returns its message_id ("" when absent or 0).
func (s *scanner) message() (string, bool) {
	if !s.byte('{') {
		return "", false
	}
	id := ""
	for first := true; ; first = false {
		if s.byte('}') {
			return id, true
		}
		if !first && !s.byte(',') {
			return "", false
		}
		key, plain := s.key()
		if !plain {
			return "", false
		}
		if string(key) != "message_id" {
			if foldsTo(key, "message_id") || !s.value() {
				return "", false
			}
			continue
		}
		s.space()
		start := s.i
		if s.i < len(s.b) && s.b[s.i] == '-' {
			s.i++
		}
		digits := s.i
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
		}
		if s.i == digits || (s.b[digits] == '0' && s.i-digits > 1) {
			return "", false
		}
		if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
			return "", false // a float: encoding/json refuses it for an int64
		}
		n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
		if err != nil {
			return "", false
		}
		id = ""
		if n != 0 {
			id = strconv.FormatInt(n, 10)
		}
	}
}

// value skips one JSON value, checking its syntax.
func (s *scanner) value() bool {
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.str()
	case c == '{':
		s.i++
		for first := true; ; first = false {
			if s.byte('}') {
				return true
			}
			if !first && !s.byte(',') {
				return false
			}
			s.space()
			if !s.str() || !s.byte(':') || !s.value() {
				return false
			}
		}
	case c == '[':
		s.i++
		for first := true; ; first = false {
			if s.byte(']') {
				return true
			}
			if !first && !s.byte(',') {
				return false
			}
			if !s.value() {
				return false
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	default:
		_, ok := s.literal()
		return ok
	}
}

func (s *scanner) literal() (string, bool) {
	s.space()
	for _, lit := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
			s.i += len(lit)
			return lit, true
		}
	}
	return "", false
}

// str skips a string, checking escapes and control characters.
func (s *scanner) str() bool {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	for s.i++; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				return false
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if s.i+4 >= len(s.b) {
					return false
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !isHex(h) {
						return false
					}
				}
				s.i += 4
			default:
				return false
			}
		}
	}
	return false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number skips a number in JSON's grammar.
func (s *scanner) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		start := s.i
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
		}
		return s.i - start
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// foldsTo reports whether key matches one of names the way encoding/json
// matches field names (case-insensitively), without being equal to it.
func foldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if string(key) == n {
			continue
		}
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
		// encoding/json also folds the Kelvin sign and long s.
		if len(key) >= len(n) && bytes.ContainsAny(key, "\u212a\u017f") {
			return true
		}
	}
	return false
}
