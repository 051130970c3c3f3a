package audience

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// The columns of an import file, in the order they are documented.
const (
	colChannel       = "channel"
	colAddress       = "address"
	colConsentAt     = "consent_at"
	colConsentSource = "consent_source"
	colName          = "name"
	colLocale        = "locale"
	colTimezone      = "timezone"
	colTags          = "tags"
	colConsentRef    = "consent_ref"
	colConsentProof  = "consent_proof"
)

var (
	requiredColumns = []string{colChannel, colAddress, colConsentAt, colConsentSource}
	optionalColumns = []string{colName, colLocale, colTimezone, colTags, colConsentRef, colConsentProof}
)

// Channel names a subscriber can be imported for.
const (
	ChannelTelegram  = "telegram"
	ChannelMessenger = "messenger"
)

// RowError is one refused row of an import file, or one refused field of it.
type RowError struct {
	File   string // the name given to ParseCSV
	Line   int    // the line the field (or the row) starts on, counting from 1
	Column string // the column at fault, or "" for the whole row
	Value  string // the value at fault, as it was in the file
	Reason string // what is wrong and how to fix it
}

// Error reads like
// `audience.csv:7: consent_at "yesterday": not an RFC 3339 time (e.g. 2026-01-31T09:00:00Z)`.
func (e RowError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	if e.Column != "" {
		b.WriteString(e.Column)
		if e.Value != "" {
			v := e.Value
			if utf8.RuneCountInString(v) > 60 {
				v = string([]rune(v)[:57]) + "..."
			}
			fmt.Fprintf(&b, " %q", v)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// HeaderError means the header row of an import file cannot be used, so
// nothing in the file was read.
type HeaderError struct {
	File     string
	Line     int
	Problems []string
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("%s:%d: %s (columns: %s are required; %s are optional)", e.File, e.Line,
		strings.Join(e.Problems, "; "), strings.Join(requiredColumns, ", "), strings.Join(optionalColumns, ", "))
}

// ImportFile is what ParseCSV read: the valid rows and the refused ones.
type ImportFile struct {
	Subscribers []Subscriber
	Lines       []int // the line each of Subscribers starts on
	Errors      []RowError
}

// ParseCSV reads an audience import file, named name in messages. The first
// row names the columns, in any order, case-insensitively:
//
//   - channel (required): telegram or messenger.
//   - address (required): for telegram, a chat id (an integer, negative for
//     groups and channels) or the @username of a public channel or group
//     (5–32 letters, digits and underscores; stored in lower case, as
//     Telegram ignores case); for messenger, the page-scoped id (digits).
//   - consent_at (required): when the person opted in, an RFC 3339 time not
//     later than now, and not before 2000 (spreadsheets write 1899-12-30 or
//     1900-01-01 for an empty date).
//   - consent_source (required): how they opted in (a form, an event…).
//   - name: free text.
//   - locale: a BCP 47 language tag, stored in canonical form (en-US).
//   - timezone: an IANA time zone name (Europe/Paris).
//   - tags: separated by ";", trimmed and lower-cased (segments match tags
//     exactly, and "VIP" and "vip" are meant to be one tag); empty ones are
//     dropped, duplicates removed, the rest sorted.
//   - consent_ref, consent_proof: free text kept with the consent record.
//
// Values are trimmed. A UTF-8 byte order mark is skipped, CRLF line ends are
// fine, and a file whose header is separated by ";" or tabs instead of
// commas (as some spreadsheet locales save CSV) is read with that separator.
// Rows whose fields are all empty are skipped. The same channel and address
// twice is refused on the later line.
//
// Every refused row is reported in ImportFile.Errors, with each of its
// faults; the others are returned as subscribed Subscribers. ParseCSV
// returns an error only when r fails or the header cannot be used (a
// *HeaderError).
func ParseCSV(r io.Reader, name string, now time.Time) (*ImportFile, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if bytes.HasPrefix(head, []byte("\ufeff")) { // Excel's "CSV UTF-8"
		head = head[3:]
		br.Discard(3)
	}
	sep := sniffSeparator(head)
	cr := csv.NewReader(br)
	cr.Comma = sep
	cr.FieldsPerRecord = -1 // counted here, to report and go on

	im := importer{file: name, now: now, sep: sep, seen: map[string]int{}}
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &HeaderError{File: name, Line: 1, Problems: []string{"the file is empty; its first line must name the columns"}}
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, &HeaderError{File: name, Line: pe.StartLine, Problems: []string{csvReason(pe.Err)}}
		}
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	headerLine, _ := cr.FieldPos(0)
	if err := im.header(header, headerLine); err != nil {
		return nil, err
	}

	out := &ImportFile{}
	for {
		record, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("read %s: %w", name, err)
			}
			line := pe.Line
			if errors.Is(pe.Err, csv.ErrQuote) {
				line = pe.StartLine // where the unclosed quote begins
			}
			out.Errors = append(out.Errors, RowError{File: name, Line: line, Reason: csvReason(pe.Err)})
			continue
		}
		sub, line, errs := im.row(record, cr.FieldPos)
		switch {
		case len(errs) > 0:
			out.Errors = append(out.Errors, errs...)
		case sub != nil:
			out.Subscribers = append(out.Subscribers, *sub)
			out.Lines = append(out.Lines, line)
		}
	}
	return out, nil
}

// sniffSeparator picks the field separator from the first non-blank line:
// a comma, unless that line has none and has semicolons or tabs.
func sniffSeparator(head []byte) rune {
	line := bytes.TrimLeft(head, "\r\n")
	if end := bytes.IndexAny(line, "\r\n"); end >= 0 {
		line = line[:end]
	}
	switch {
	case bytes.ContainsRune(line, ','):
		return ','
	case bytes.ContainsRune(line, ';'):
		return ';'
	case bytes.ContainsRune(line, '\t'):
		return '\t'
	}
	return ','
}

func csvReason(err error) string {
	switch {
	case errors.Is(err, csv.ErrBareQuote):
		return `a " inside a field that is not quoted; quote the whole field and double the " inside it ("My ""Shop""")`
	case errors.Is(err, csv.ErrQuote):
		return `a quoted field is not closed; end it with " and double every " inside it`
	}
	return "malformed CSV: " + err.Error()
}

type importer struct {
	file    string
	now     time.Time
	sep     rune
	columns []string       // the column of each field
	index   map[string]int // field index of each column present
	seen    map[string]int // channel+address → the line it was first seen on
}

func (im *importer) header(fields []string, line int) error {
	known := map[string]bool{}
	for _, c := range slices.Concat(requiredColumns, optionalColumns) {
		known[c] = true
	}
	var problems []string
	im.index = map[string]int{}
	for i, f := range fields {
		col := strings.ToLower(strings.TrimSpace(f))
		im.columns = append(im.columns, col)
		switch {
		case col == "":
			problems = append(problems, fmt.Sprintf("column %d has no name", i+1))
		case !known[col]:
			problems = append(problems, fmt.Sprintf("unknown column %q", strings.TrimSpace(f)))
		default:
			if _, dup := im.index[col]; dup {
				problems = append(problems, fmt.Sprintf("column %q appears twice", col))
			}
			im.index[col] = i
		}
	}
	for _, c := range requiredColumns {
		if _, ok := im.index[c]; !ok {
			problems = append(problems, fmt.Sprintf("missing required column %q", c))
		}
	}
	if len(problems) > 0 {
		return &HeaderError{File: im.file, Line: line, Problems: problems}
	}
	return nil
}

var (
	usernameRE   = regexp.MustCompile(`^@[A-Za-z0-9_]{5,32}$`)
	excelFloatRE = regexp.MustCompile(`^[0-9](\.[0-9]+)?[eE]\+?[0-9]+$`)
)

// row checks one record. It returns the subscriber, the line the record
// starts on, and every fault found; nil and no faults for a blank row.
func (im *importer) row(record []string, fieldPos func(int) (int, int)) (*Subscriber, int, []RowError) {
	start, _ := fieldPos(0)
	var errs []RowError
	rowErr := func(col, value, reason string) {
		errs = append(errs, RowError{File: im.file, Line: start, Column: col, Value: value, Reason: reason})
	}
	if !slices.ContainsFunc(record, func(f string) bool { return strings.TrimSpace(f) != "" }) {
		return nil, start, nil
	}
	if len(record) != len(im.columns) {
		rowErr("", "", fmt.Sprintf("%d fields, but the header names %d columns; quote any field that contains a %q",
			len(record), len(im.columns), string(im.sep)))
		return nil, start, errs
	}
	// fieldErr reports a fault on the line the field starts on.
	fieldErr := func(col, raw, reason string) {
		line, _ := fieldPos(im.index[col])
		errs = append(errs, RowError{File: im.file, Line: line, Column: col, Value: raw, Reason: reason})
	}
	// get returns a column's value, trimmed; "" when the column is absent.
	get := func(col string) string {
		i, ok := im.index[col]
		if !ok {
			return ""
		}
		if !utf8.ValidString(record[i]) {
			fieldErr(col, strings.ToValidUTF8(record[i], "\uFFFD"), `not valid UTF-8; save the file as "CSV UTF-8"`)
			return ""
		}
		return strings.TrimSpace(record[i])
	}
	s := Subscriber{Status: Subscribed, Tags: []string{}}

	channel := get(colChannel)
	s.Channel = strings.ToLower(channel)
	switch s.Channel {
	case ChannelTelegram, ChannelMessenger:
	case "":
		fieldErr(colChannel, "", "empty; it must be telegram or messenger")
	default:
		fieldErr(colChannel, channel, "unknown channel; it must be telegram or messenger")
	}

	address := get(colAddress)
	addressOK := false
	if s.Channel == ChannelTelegram || s.Channel == ChannelMessenger {
		var reason string
		s.Address, reason = canonicalAddress(s.Channel, address)
		if reason != "" {
			fieldErr(colAddress, address, reason)
		} else {
			addressOK = true
		}
	}

	consentAt, source := get(colConsentAt), get(colConsentSource)
	if consentAt == "" || source == "" {
		var missing []string
		if consentAt == "" {
			missing = append(missing, colConsentAt)
		}
		if source == "" {
			missing = append(missing, colConsentSource)
		}
		fieldErr(missing[0], "", fmt.Sprintf("no consent: the person must have opted in to receive messages; "+
			"give when (%s) and how (%s) they did", colConsentAt, colConsentSource))
	}
	if consentAt != "" {
		at, err := time.Parse(time.RFC3339, consentAt)
		switch {
		case err != nil:
			fieldErr(colConsentAt, consentAt, "not an RFC 3339 time (e.g. 2026-01-31T09:00:00Z)")
		case at.Year() < 2000:
			// Spreadsheets write their zero date (1899-12-30, 1900-01-01) for an empty cell.
			fieldErr(colConsentAt, consentAt, "before 2000, which looks like a spreadsheet's empty date; give the real time of the opt-in")
		case at.After(im.now):
			fieldErr(colConsentAt, consentAt, fmt.Sprintf("in the future (it is now %s); consent must already have been given",
				im.now.UTC().Format(time.RFC3339)))
		default:
			s.Consent.At = at
		}
	}
	s.Consent.Source = source
	s.Consent.Ref = get(colConsentRef)
	s.Consent.Proof = get(colConsentProof)
	s.Name = get(colName)

	if locale := get(colLocale); locale != "" {
		tag, err := language.Parse(locale)
		if err != nil {
			fieldErr(colLocale, locale, "not a BCP 47 language tag (e.g. en, en-US, pt-BR)")
		} else {
			s.Locale = tag.String()
		}
	}

	if tz := get(colTimezone); tz != "" {
		if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
			fieldErr(colTimezone, tz, "not an IANA time zone name (e.g. Europe/Paris, America/New_York, UTC)")
		} else {
			s.Timezone = tz
		}
	}

	for _, t := range strings.Split(get(colTags), ";") {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			s.Tags = append(s.Tags, t)
		}
	}
	slices.Sort(s.Tags)
	s.Tags = slices.Compact(s.Tags)

	if addressOK {
		key := s.Channel + "\x00" + s.Address
		if first, dup := im.seen[key]; dup {
			fieldErr(colAddress, address, fmt.Sprintf("%s %s is already on line %d", s.Channel, s.Address, first))
		} else {
			im.seen[key] = start
		}
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b RowError) int { return a.Line - b.Line })
		return nil, start, errs
	}
	return &s, start, nil
}

// canonicalAddress checks an address for channel and returns it in the form
// herald stores, or a reason it is refused.
func canonicalAddress(channel, address string) (string, string) {
	if address == "" {
		return "", "empty; give the subscriber's " + map[string]string{
			ChannelTelegram:  "chat id or @username",
			ChannelMessenger: "page-scoped id (PSID)",
		}[channel]
	}
	if excelFloatRE.MatchString(address) {
		return "", "the spreadsheet turned the id into a rounded number; format the column as text and export again"
	}
	switch channel {
	case ChannelTelegram:
		if strings.HasPrefix(address, "@") {
			if !usernameRE.MatchString(address) {
				return "", "not a Telegram @username (5–32 letters, digits or underscores after the @)"
			}
			return strings.ToLower(address), ""
		}
		id, err := strconv.ParseInt(address, 10, 64)
		if err != nil || id == 0 || strings.HasPrefix(address, "+") {
			return "", "not a Telegram chat id (an integer, negative for groups and channels) or @username"
		}
		return strconv.FormatInt(id, 10), ""
	default:
		if strings.Trim(address, "0123456789") != "" || strings.Trim(address, "0") == "" || len(address) > 32 {
			return "", "not a Messenger page-scoped id (digits only)"
		}
		return address, ""
	}
}
