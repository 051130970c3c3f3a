package audience

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const testHeader = "channel,address,consent_at,consent_source,name,locale,timezone,tags,consent_ref,consent_proof\n"

func parse(t *testing.T, data string) *ImportFile {
	t.Helper()
	im, err := ParseCSV(strings.NewReader(data), "audience.csv", testNow)
	if err != nil {
		t.Fatalf("ParseCSV: %v", err)
	}
	return im
}

func TestParseCSVValidRow(t *testing.T) {
	t.Parallel()
	im := parse(t, testHeader+
		" Telegram , -1001234567890 ,2026-01-31T09:00:00+01:00, signup form , Ana María ,pt_br,America/Sao_Paulo, VIP;news;;vip; Early Bird ,ref-42,ticked the box\n")
	if len(im.Errors) > 0 {
		t.Fatalf("errors: %v", im.Errors)
	}
	want := Subscriber{
		Channel:  "telegram",
		Address:  "-1001234567890",
		Name:     "Ana María",
		Locale:   "pt-BR",
		Timezone: "America/Sao_Paulo",
		Tags:     []string{"early bird", "news", "vip"},
		Status:   Subscribed,
		Consent: Consent{
			At:     time.Date(2026, 1, 31, 9, 0, 0, 0, time.FixedZone("", 3600)),
			Source: "signup form",
			Ref:    "ref-42",
			Proof:  "ticked the box",
		},
	}
	if len(im.Subscribers) != 1 {
		t.Fatalf("got %d subscribers", len(im.Subscribers))
	}
	got := im.Subscribers[0]
	if !got.Consent.At.Equal(want.Consent.At) {
		t.Errorf("consent at %v, want %v", got.Consent.At, want.Consent.At)
	}
	got.Consent.At = want.Consent.At
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(im.Lines, []int{2}) {
		t.Errorf("lines %v, want [2]", im.Lines)
	}
}

func TestParseCSVMinimalColumns(t *testing.T) {
	t.Parallel()
	im := parse(t, "address,consent_source,channel,consent_at\n@Herald_News,form,messenger,2026-01-01T00:00:00Z\n42,form,messenger,2026-01-01T00:00:00Z\n")
	if len(im.Subscribers) != 1 || im.Subscribers[0].Address != "42" || im.Subscribers[0].Channel != "messenger" {
		t.Fatalf("subscribers %+v", im.Subscribers)
	}
	if s := im.Subscribers[0]; s.Tags == nil || len(s.Tags) != 0 || s.Name != "" || s.Locale != "" {
		t.Errorf("optional fields: %+v", s)
	}
	if len(im.Errors) != 1 || im.Errors[0].Column != "address" || im.Errors[0].Line != 2 {
		t.Errorf("errors %v", im.Errors)
	}
}

// TestParseCSVRules checks each rule on one row: a valid row with one field
// replaced.
func TestParseCSVRules(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"channel": "telegram", "address": "123", "consent_at": "2026-01-31T09:00:00Z", "consent_source": "form",
		"name": "Ann", "locale": "en", "timezone": "UTC", "tags": "a", "consent_ref": "", "consent_proof": "",
	}
	cols := strings.Split(strings.TrimSpace(testHeader), ",")
	tests := []struct {
		name   string
		set    map[string]string
		column string // "" means the row is accepted
		reason string
		check  func(Subscriber) bool
	}{
		{"telegram id", nil, "", "", func(s Subscriber) bool { return s.Address == "123" }},
		{"telegram group id", map[string]string{"address": "-100123"}, "", "", func(s Subscriber) bool { return s.Address == "-100123" }},
		{"telegram id canonical", map[string]string{"address": "0042"}, "", "", func(s Subscriber) bool { return s.Address == "42" }},
		{"telegram username", map[string]string{"address": "@Herald_News"}, "", "", func(s Subscriber) bool { return s.Address == "@herald_news" }},
		{"telegram username 5", map[string]string{"address": "@abcde"}, "", "", nil},
		{"telegram username 32", map[string]string{"address": "@" + strings.Repeat("a", 32)}, "", "", nil},
		{"telegram username short", map[string]string{"address": "@abcd"}, "address", "not a Telegram @username", nil},
		{"telegram username long", map[string]string{"address": "@" + strings.Repeat("a", 33)}, "address", "not a Telegram @username", nil},
		{"telegram username bad char", map[string]string{"address": "@herald-news"}, "address", "not a Telegram @username", nil},
		{"telegram zero", map[string]string{"address": "0"}, "address", "not a Telegram chat id", nil},
		{"telegram plus", map[string]string{"address": "+123"}, "address", "not a Telegram chat id", nil},
		{"telegram word", map[string]string{"address": "herald"}, "address", "not a Telegram chat id", nil},
		{"telegram overflow", map[string]string{"address": "99999999999999999999"}, "address", "not a Telegram chat id", nil},
		{"excel scientific", map[string]string{"address": "1.23457E+15"}, "address", "format the column as text", nil},
		{"empty address", map[string]string{"address": ""}, "address", "empty", nil},
		{"messenger psid", map[string]string{"channel": "messenger", "address": "2876543210987654"}, "", "", func(s Subscriber) bool { return s.Channel == "messenger" }},
		{"messenger username", map[string]string{"channel": "messenger", "address": "@shop"}, "address", "not a Messenger page-scoped id", nil},
		{"messenger negative", map[string]string{"channel": "messenger", "address": "-123"}, "address", "not a Messenger page-scoped id", nil},
		{"messenger zero", map[string]string{"channel": "messenger", "address": "000"}, "address", "not a Messenger page-scoped id", nil},
		{"channel upper case", map[string]string{"channel": "TELEGRAM"}, "", "", func(s Subscriber) bool { return s.Channel == "telegram" }},
		{"channel unknown", map[string]string{"channel": "whatsapp"}, "channel", "telegram or messenger", nil},
		{"channel empty", map[string]string{"channel": ""}, "channel", "telegram or messenger", nil},
		{"no consent time", map[string]string{"consent_at": ""}, "consent_at", "must have opted in", nil},
		{"no consent source", map[string]string{"consent_source": " "}, "consent_source", "opted in", nil},
		{"consent time words", map[string]string{"consent_at": "yesterday"}, "consent_at", "not an RFC 3339 time", nil},
		{"consent date only", map[string]string{"consent_at": "2026-01-31"}, "consent_at", "not an RFC 3339 time", nil},
		{"consent no zone", map[string]string{"consent_at": "2026-01-31T09:00:00"}, "consent_at", "not an RFC 3339 time", nil},
		{"consent in future", map[string]string{"consent_at": "2026-03-01T12:00:01Z"}, "consent_at", "in the future", nil},
		{"consent spreadsheet zero", map[string]string{"consent_at": "1899-12-30T00:00:00Z"}, "consent_at", "before 2000", nil},
		{"consent now", map[string]string{"consent_at": "2026-03-01T12:00:00Z"}, "", "", nil},
		{"consent fraction", map[string]string{"consent_at": "2026-01-31T09:00:00.123-05:00"}, "", "", nil},
		{"locale canonical", map[string]string{"locale": "EN-us"}, "", "", func(s Subscriber) bool { return s.Locale == "en-US" }},
		{"locale deprecated", map[string]string{"locale": "iw"}, "", "", func(s Subscriber) bool { return s.Locale == "he" }},
		{"locale unknown", map[string]string{"locale": "xx"}, "locale", "not a BCP 47 language tag", nil},
		{"locale words", map[string]string{"locale": "English"}, "locale", "not a BCP 47 language tag", nil},
		{"locale empty", map[string]string{"locale": ""}, "", "", func(s Subscriber) bool { return s.Locale == "" }},
		{"timezone", map[string]string{"timezone": "Europe/Paris"}, "", "", func(s Subscriber) bool { return s.Timezone == "Europe/Paris" }},
		{"timezone offset", map[string]string{"timezone": "+02:00"}, "timezone", "not an IANA time zone", nil},
		{"timezone local", map[string]string{"timezone": "Local"}, "timezone", "not an IANA time zone", nil},
		{"timezone path", map[string]string{"timezone": "../../etc/passwd"}, "timezone", "not an IANA time zone", nil},
		{"tags", map[string]string{"tags": " B ; a;;A ; c d ;"}, "", "", func(s Subscriber) bool { return reflect.DeepEqual(s.Tags, []string{"a", "b", "c d"}) }},
		{"tags empty", map[string]string{"tags": " ; ;"}, "", "", func(s Subscriber) bool { return s.Tags != nil && len(s.Tags) == 0 }},
		{"consent record", map[string]string{"consent_ref": " r1 ", "consent_proof": "said yes\non the phone"}, "", "",
			func(s Subscriber) bool { return s.Consent.Ref == "r1" && s.Consent.Proof == "said yes\non the phone" }},
		{"not utf8", map[string]string{"name": "Jos\xe9"}, "name", "not valid UTF-8", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var fields []string
			for _, c := range cols {
				v, ok := tt.set[c]
				if !ok {
					v = base[c]
				}
				fields = append(fields, `"`+strings.ReplaceAll(v, `"`, `""`)+`"`)
			}
			im := parse(t, testHeader+strings.Join(fields, ",")+"\n")
			if tt.column == "" {
				if len(im.Errors) > 0 || len(im.Subscribers) != 1 {
					t.Fatalf("refused: %v", im.Errors)
				}
				s := im.Subscribers[0]
				if s.Status != Subscribed || s.Consent.At.IsZero() || s.Consent.Source == "" {
					t.Errorf("status or consent missing: %+v", s)
				}
				if tt.check != nil && !tt.check(s) {
					t.Errorf("got %+v", s)
				}
				return
			}
			if len(im.Subscribers) != 0 {
				t.Errorf("accepted %+v", im.Subscribers)
			}
			if len(im.Errors) != 1 {
				t.Fatalf("want 1 error, got %v", im.Errors)
			}
			e := im.Errors[0]
			if e.Line != 2 || e.Column != tt.column || !strings.Contains(e.Reason, tt.reason) {
				t.Errorf("got %+v, want line 2, column %s, reason containing %q", e, tt.column, tt.reason)
			}
			if v := tt.set[tt.column]; strings.TrimSpace(v) != "" && !strings.Contains(v, "\xe9") && e.Value != strings.TrimSpace(v) {
				t.Errorf("value %q, want %q", e.Value, v)
			}
		})
	}
}

func TestRowErrorMessage(t *testing.T) {
	t.Parallel()
	im := parse(t, testHeader+strings.Repeat("telegram,1,2026-01-01T00:00:00Z,form,,,,,,\n", 5)+
		"telegram,7,yesterday,form,,,,,,\n")
	want := `audience.csv:7: consent_at "yesterday": not an RFC 3339 time (e.g. 2026-01-31T09:00:00Z)`
	var msgs []string
	for _, e := range im.Errors {
		msgs = append(msgs, e.Error())
	}
	if len(msgs) != 5 || msgs[4] != want {
		t.Fatalf("errors:\n%s\nwant last: %s", strings.Join(msgs, "\n"), want)
	}
	if msgs[0] != `audience.csv:3: address "1": telegram 1 is already on line 2` {
		t.Errorf("duplicate: %s", msgs[0])
	}
	e := RowError{File: "a.csv", Line: 3, Column: "consent_proof", Value: strings.Repeat("x", 100), Reason: "r"}
	if got := e.Error(); !strings.HasPrefix(got, `a.csv:3: consent_proof "xxx`) || !strings.HasSuffix(got, `...": r`) || len(got) > 100 {
		t.Errorf("long value: %s", got)
	}
	if got := (RowError{File: "a.csv", Line: 4, Reason: "bad"}).Error(); got != "a.csv:4: bad" {
		t.Errorf("row error: %s", got)
	}
}

func TestParseCSVAllFaultsReported(t *testing.T) {
	t.Parallel()
	im := parse(t, testHeader+
		"fax,,tomorrow,,,klingon!,Mars/Base,,,\n"+
		"telegram,5,2026-01-01T00:00:00Z,form,,,,,,\n")
	var cols []string
	for _, e := range im.Errors {
		if e.Line != 2 {
			t.Errorf("line %d: %v", e.Line, e)
		}
		cols = append(cols, e.Column)
	}
	if want := []string{"channel", "consent_source", "consent_at", "locale", "timezone"}; !reflect.DeepEqual(cols, want) {
		t.Errorf("faults in %v, want %v", cols, want)
	}
	if len(im.Subscribers) != 1 || !reflect.DeepEqual(im.Lines, []int{3}) {
		t.Errorf("the good row after the bad one: %+v %v", im.Subscribers, im.Lines)
	}
}

func TestParseCSVMultilineFields(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/multiline.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := ParseCSV(f, "multiline.csv", testNow)
	if err != nil {
		t.Fatal(err)
	}
	type fault struct {
		line   int
		column string
	}
	var faults []fault
	for _, e := range im.Errors {
		faults = append(faults, fault{e.Line, e.Column})
	}
	if want := []fault{{5, "consent_at"}, {7, "address"}, {12, "address"}}; !reflect.DeepEqual(faults, want) {
		t.Errorf("faults %v, want %v\n%v", faults, want, im.Errors)
	}
	if !strings.Contains(im.Errors[1].Reason, "already on line 2") {
		t.Errorf("duplicate reason: %s", im.Errors[1].Reason)
	}
	if !reflect.DeepEqual(im.Lines, []int{2, 9}) {
		t.Errorf("lines %v, want [2 9]", im.Lines)
	}
	if len(im.Subscribers) == 2 {
		if got := im.Subscribers[0].Consent.Proof; got != "I agree\nto receive news\nfrom the shop" {
			t.Errorf("proof %q", got)
		}
		if got := im.Subscribers[1].Name; got != "Carl \"the \"\nGreat\"" {
			t.Errorf("name %q", got)
		}
	}
}

// TestParseCSVMultilineLineOfField checks that a fault in a field after a
// multi-line field is reported on the line the faulty field is on.
func TestParseCSVMultilineLineOfField(t *testing.T) {
	t.Parallel()
	im := parse(t, "consent_proof,channel,address,consent_at,consent_source\n"+
		"\"one\ntwo\nthree\",telegram,1,2026-01-01T00:00:00Z,form\n"+
		"\"one\r\ntwo\",telegram,2,never,form\n")
	if len(im.Errors) != 1 || im.Errors[0].Line != 6 || im.Errors[0].Column != "consent_at" {
		t.Errorf("errors %+v, want consent_at on line 6", im.Errors)
	}
	if !reflect.DeepEqual(im.Lines, []int{2}) {
		t.Errorf("lines %v", im.Lines)
	}
}

func TestParseCSVExcelExport(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/excel.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := ParseCSV(f, "excel.csv", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Errors) > 0 {
		t.Fatalf("errors %v", im.Errors)
	}
	if len(im.Subscribers) != 2 || !reflect.DeepEqual(im.Lines, []int{2, 3}) {
		t.Fatalf("subscribers %+v lines %v", im.Subscribers, im.Lines)
	}
	a, b := im.Subscribers[0], im.Subscribers[1]
	if a.Channel != "telegram" || a.Name != "Ana" || !reflect.DeepEqual(a.Tags, []string{"news", "vip"}) {
		t.Errorf("first: %+v", a)
	}
	if b.Name != "Müller, Jo" || b.Consent.Source != "checkbox; footer" || len(b.Tags) != 0 {
		t.Errorf("second: %+v", b)
	}
}

func TestParseCSVFormats(t *testing.T) {
	t.Parallel()
	row := "telegram,1,2026-01-01T00:00:00Z,form\n"
	tests := []struct {
		name, data string
		lines      []int
	}{
		{"lf", "channel,address,consent_at,consent_source\n" + row, []int{2}},
		{"crlf", strings.ReplaceAll("channel,address,consent_at,consent_source\n"+row, "\n", "\r\n"), []int{2}},
		{"bom", "\ufeffchannel,address,consent_at,consent_source\n" + row, []int{2}},
		{"bom crlf no final newline", "\ufeffCHANNEL , Address,consent_at,consent_source\r\n" + strings.TrimSpace(row), []int{2}},
		{"quoted header", `"channel","address","consent_at","consent_source"` + "\n" + row, []int{2}},
		{"semicolons", "channel;address;consent_at;consent_source\ntelegram;1;2026-01-01T00:00:00Z;form\n", []int{2}},
		{"tabs", "channel\taddress\tconsent_at\tconsent_source\ntelegram\t1\t2026-01-01T00:00:00Z\tform\n", []int{2}},
		{"blank lines", "\n\nchannel,address,consent_at,consent_source\n\n" + row + "\n,,,\n  \n, ,\n", []int{5}},
	}
	for _, tt := range tests {
		im := parse(t, tt.data)
		if len(im.Errors) > 0 || !reflect.DeepEqual(im.Lines, tt.lines) {
			t.Errorf("%s: lines %v errors %v, want lines %v", tt.name, im.Lines, im.Errors, tt.lines)
		}
	}
}

func TestParseCSVMalformedRows(t *testing.T) {
	t.Parallel()
	im := parse(t, "channel,address,consent_at,consent_source\n"+
		"telegram,1,2026-01-01T00:00:00Z\n"+
		"telegram,2,2026-01-01T00:00:00Z,form,extra\n"+
		"telegram,3,2026-01-01T00:00:00Z,my \"form\"\n"+
		"telegram,4,2026-01-01T00:00:00Z,form\n"+
		"telegram,5,2026-01-01T00:00:00Z,\"unclosed\nform\n")
	var got []string
	for _, e := range im.Errors {
		got = append(got, e.Error())
	}
	want := []string{
		`audience.csv:2: 3 fields, but the header names 4 columns; quote any field that contains a ","`,
		`audience.csv:3: 5 fields, but the header names 4 columns; quote any field that contains a ","`,
		`audience.csv:4: a " inside a field that is not quoted; quote the whole field and double the " inside it ("My ""Shop""")`,
		`audience.csv:6: a quoted field is not closed; end it with " and double every " inside it`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !reflect.DeepEqual(im.Lines, []int{5}) {
		t.Errorf("lines %v, want [5]", im.Lines)
	}
}

func TestParseCSVHeaderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data string
		want       []string
	}{
		{"empty", "", []string{"the file is empty"}},
		{"only bom", "\ufeff", []string{"the file is empty"}},
		{"unknown column", "channel,address,consent_at,consent_source,emial\n",
			[]string{`unknown column "emial"`, "columns: channel, address, consent_at, consent_source are required; name, locale, timezone, tags, consent_ref, consent_proof are optional"}},
		{"missing column", "channel,address,consent_source\n", []string{`missing required column "consent_at"`}},
		{"missing several", "name\n", []string{`missing required column "channel"`, `missing required column "consent_source"`}},
		{"duplicate column", "channel,address,consent_at,consent_source,Name,name\n", []string{`column "name" appears twice`}},
		{"nameless column", "channel,address,consent_at,consent_source,\n", []string{"column 5 has no name"}},
		{"bad quote", "channel,\"address\nconsent_at", []string{`audience.csv:1:`, "quoted field is not closed"}},
		{"header after blank lines", "\n\nchannel,emial\n", []string{"audience.csv:3:"}},
	}
	for _, tt := range tests {
		_, err := ParseCSV(strings.NewReader(tt.data), "audience.csv", testNow)
		var he *HeaderError
		if !errors.As(err, &he) {
			t.Errorf("%s: error %v, want a *HeaderError", tt.name, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tt.name, err, w)
			}
		}
	}
}

func TestParseCSVReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	_, err := ParseCSV(iotest.ErrReader(boom), "audience.csv", testNow)
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want it to wrap %v", err, boom)
	}
	var he *HeaderError
	if errors.As(err, &he) {
		t.Errorf("an I/O error reported as a header error: %v", err)
	}
}

func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{
		testHeader + "telegram,1,2026-01-01T00:00:00Z,form,Ann,en,UTC,a;b,r,p\n",
		"\ufeffchannel;address;consent_at;consent_source\r\ntelegram;@abcde;2026-01-01T00:00:00Z;x\r\n",
		"channel,address,consent_at,consent_source\n\"a\nb\",1,2,3\nx,\"y\n",
		"channel,address,consent_at,consent_source\nmessenger,1,2026-01-01T00:00:00Z,f\nmessenger,1,2026-01-01T00:00:00Z,f\n",
		"",
		"channel\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		im, err := ParseCSV(strings.NewReader(data), "f.csv", testNow)
		if err != nil {
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("error %v is neither a row nor a header error", err)
			}
			if he.Line < 1 || len(he.Problems) == 0 {
				t.Fatalf("header error %+v", he)
			}
			return
		}
		if len(im.Subscribers) != len(im.Lines) {
			t.Fatalf("%d subscribers, %d lines", len(im.Subscribers), len(im.Lines))
		}
		for _, e := range im.Errors {
			if e.Line < 2 || e.Reason == "" || e.File != "f.csv" {
				t.Fatalf("row error %+v", e)
			}
		}
		seen := map[string]bool{}
		for i, s := range im.Subscribers {
			if im.Lines[i] < 2 {
				t.Fatalf("subscriber on line %d", im.Lines[i])
			}
			if s.Channel != ChannelTelegram && s.Channel != ChannelMessenger || s.Address == "" ||
				s.Status != Subscribed || s.Consent.At.IsZero() || s.Consent.At.After(testNow) || s.Consent.Source == "" {
				t.Fatalf("invalid subscriber %+v", s)
			}
			if seen[s.Channel+" "+s.Address] {
				t.Fatalf("duplicate subscriber %+v", s)
			}
			seen[s.Channel+" "+s.Address] = true
		}
	})
}
