package catalog

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxHeaderLine caps the header line of a delimited file: a "header" longer
// than this is not a header.
const maxHeaderLine = 64 << 10

// delimited reads a CSV or tab-separated file as a stream: its header, then
// one record at a time, each with the line it starts on.
type delimited struct {
	format string
	r      *csv.Reader
	header []string
	comma  rune
}

// newTextReader wraps a body for openDelimited and for sniffing.
func newTextReader(r io.Reader) *bufio.Reader {
	return bufio.NewReaderSize(r, maxHeaderLine)
}

// openDelimited reads the header line and picks the delimiter it uses most
// among candidates (the first on a tie or when none appears). A UTF-8 byte
// order mark is skipped; UTF-16 is an error that says to save as UTF-8.
func openDelimited(br *bufio.Reader, format string, candidates []rune) (*delimited, error) {
	if err := skipBOM(br, format); err != nil {
		return nil, err
	}
	line, err := br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, &FormatError{Format: format, Where: "line 1", Err: fmt.Errorf("the first line is longer than %d KiB: a %s file starts with a line of column names", maxHeaderLine>>10, format)}
	case err != nil && err != io.EOF:
		return nil, err
	}
	header := string(line)
	d := &delimited{format: format, comma: candidates[0]}
	most := 0
	for _, c := range candidates {
		if n := strings.Count(header, string(c)); n > most {
			d.comma, most = c, n
		}
	}
	d.r = csv.NewReader(io.MultiReader(strings.NewReader(header), br))
	d.r.Comma = d.comma
	d.r.FieldsPerRecord = -1
	d.r.ReuseRecord = true
	// Tab-separated exports rarely quote: a 15" screen in a title is
	// text. A comma-separated file must quote, or its columns shift.
	d.r.LazyQuotes = d.comma != ','
	rec, err := d.r.Read()
	if err == io.EOF {
		return nil, &FormatError{Format: format, Where: "line 1", Err: errors.New("the file is empty: it needs a line of column names, then a line per product")}
	}
	if err != nil {
		return nil, d.fail(err)
	}
	d.header = make([]string, len(rec))
	for i, h := range rec {
		d.header[i] = strings.TrimSpace(h)
	}
	return d, nil
}

// skipBOM drops a UTF-8 byte order mark and refuses UTF-16.
func skipBOM(br *bufio.Reader, format string) error {
	head, _ := br.Peek(3)
	switch {
	case len(head) == 3 && string(head) == "\xef\xbb\xbf":
		_, err := br.Discard(3)
		return err
	case len(head) >= 2 && (head[0] == 0xff && head[1] == 0xfe || head[0] == 0xfe && head[1] == 0xff):
		return &FormatError{Format: format, Where: "byte 0", Err: errors.New("the file is UTF-16: herald reads UTF-8, so save or export it as UTF-8")}
	}
	return nil
}

// delimiterName names a delimiter for messages.
func delimiterName(c rune) string {
	switch c {
	case '\t':
		return "tab"
	case ',':
		return "comma"
	case ';':
		return "semicolon"
	case '|':
		return "pipe"
	}
	return fmt.Sprintf("%q", c)
}

// next returns the next record that has any text in it, and the line it
// starts on; io.EOF after the last. A record with more or fewer fields than
// the header is an error: its columns would not line up.
func (d *delimited) next() ([]string, int, error) {
	for {
		rec, err := d.r.Read()
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		if err != nil {
			return nil, 0, d.fail(err)
		}
		line, _ := d.r.FieldPos(0)
		blank := true
		for _, f := range rec {
			if strings.TrimSpace(f) != "" {
				blank = false
				break
			}
		}
		if blank {
			continue
		}
		if len(rec) != len(d.header) {
			hint := fmt.Sprintf("a value with a %s in it must be in double quotes", delimiterName(d.comma))
			if d.comma == '\t' {
				hint = "a value holds a tab or a line break, or a cell is missing"
			}
			return nil, line, &FormatError{Format: d.format, Where: fmt.Sprintf("line %d", line),
				Err: fmt.Errorf("%d fields, but the header has %d: %s", len(rec), len(d.header), hint)}
		}
		return rec, line, nil
	}
}

// fail turns a csv error into a *FormatError naming the line; read errors
// are returned as they are.
func (d *delimited) fail(err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return err
	}
	where := fmt.Sprintf("line %d, column %d", pe.Line, pe.Column)
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		err = errors.New(`a " in a value that is not in quotes: put the whole value in double quotes and write the " inside it twice ("")`)
	case errors.Is(pe.Err, csv.ErrQuote):
		err = fmt.Errorf(`a quoted value never ends, or has text after its closing quote (the value starts on line %d): write a " inside quotes twice ("")`, pe.StartLine)
	default:
		err = pe.Err
	}
	return &FormatError{Format: d.format, Where: where, Err: err}
}

// column finds name among the header's columns: exactly, else ignoring
// case and surrounding spaces; -1 when it is not there.
func (d *delimited) column(name string) int {
	for i, h := range d.header {
		if h == name {
			return i
		}
	}
	for i, h := range d.header {
		if strings.EqualFold(h, strings.TrimSpace(name)) {
			return i
		}
	}
	return -1
}
