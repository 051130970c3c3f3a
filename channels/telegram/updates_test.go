package telegram_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/channels/telegram"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/updates/*.golden.json from what ParseUpdate returns")

// goldenUpdate is an Update as its golden file shows it: only the fields set.
type goldenUpdate struct {
	ID           int64  `json:"id"`
	Kind         string `json:"kind"`
	ChatID       string `json:"chat_id,omitempty"`
	ChatType     string `json:"chat_type,omitempty"`
	UserID       int64  `json:"user_id,omitempty"`
	FirstName    string `json:"first_name,omitempty"`
	LastName     string `json:"last_name,omitempty"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
	Text         string `json:"text,omitempty"`
	Command      string `json:"command,omitempty"`
	Payload      string `json:"payload,omitempty"`
	At           string `json:"at,omitempty"` // RFC 3339
}

func toGolden(u telegram.Update) goldenUpdate {
	g := goldenUpdate{
		ID: u.ID, Kind: string(u.Kind), ChatID: u.ChatID, ChatType: u.ChatType, UserID: u.UserID,
		FirstName: u.FirstName, LastName: u.LastName, Username: u.Username, LanguageCode: u.LanguageCode,
		Text: u.Text, Command: u.Command, Payload: u.Payload,
	}
	if !u.At.IsZero() {
		g.At = u.At.Format(time.RFC3339)
	}
	return g
}

// updateFixtures are the real-world updates of testdata/updates, by name: each <name>.json
// has a <name>.golden.json with what herald reads from it. A new case is two new files.
func updateFixtures(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob("testdata/updates/*.json")
	if err != nil {
		t.Fatal(err)
	}
	fixtures := map[string][]byte{}
	for _, p := range paths {
		if strings.HasSuffix(p, ".golden.json") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fixtures[strings.TrimSuffix(filepath.Base(p), ".json")] = b
	}
	if len(fixtures) == 0 {
		t.Fatal("no fixtures in testdata/updates")
	}
	return fixtures
}

func TestParseUpdateFixtures(t *testing.T) {
	t.Parallel()
	if n, m := reflect.TypeFor[telegram.Update]().NumField(), reflect.TypeFor[goldenUpdate]().NumField(); n != m {
		t.Fatalf("Update has %d fields, goldenUpdate %d: golden files would miss some", n, m)
	}
	for name, raw := range updateFixtures(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			u, err := telegram.ParseUpdate(raw)
			if err != nil {
				t.Fatalf("ParseUpdate: %v", err)
			}
			got, err := json.MarshalIndent(toGolden(u), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "updates", name+".golden.json")
			if *updateGolden {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestParseUpdateFixtures -update writes it: check it by hand)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("ParseUpdate:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// A private chat's message and my_chat_member, for the edge cases below.
func privateMessage(fields string) string {
	return `{"update_id":9001,"message":{"message_id":1,"from":{"id":42,"is_bot":false,"first_name":"Ann"},` +
		`"chat":{"id":42,"first_name":"Ann","type":"private"},"date":1767225600` + fields + `}}`
}

func memberChange(status string) string {
	return `{"update_id":9002,"my_chat_member":{"chat":{"id":42,"type":"private"},"from":{"id":42,"is_bot":false,"first_name":"Ann"},` +
		`"date":1767225600,"old_chat_member":{"status":"left","user":{"id":7,"is_bot":true,"first_name":"B"}},"new_chat_member":` + status + `}}`
}

func TestParseUpdate(t *testing.T) {
	t.Parallel()
	at := time.Unix(1767225600, 0).UTC()
	ann := func(kind telegram.UpdateKind, text string) telegram.Update {
		return telegram.Update{ID: 9001, Kind: kind, ChatID: "42", ChatType: "private", UserID: 42, FirstName: "Ann", Text: text, At: at}
	}
	cmd := func(text, command, payload string) telegram.Update {
		u := ann(telegram.UpdateCommand, text)
		u.Command, u.Payload = command, payload
		return u
	}
	member := func(kind telegram.UpdateKind) telegram.Update {
		return telegram.Update{ID: 9002, Kind: kind, ChatID: "42", ChatType: "private", UserID: 42, FirstName: "Ann", At: at}
	}
	ignored := func(id int64) telegram.Update { return telegram.Update{ID: id, Kind: telegram.UpdateIgnored} }
	cases := []struct {
		name string
		raw  string
		want telegram.Update
	}{
		{"command without entities", privateMessage(`,"text":"/start"`), cmd("/start", "start", "")},
		{"mixed case, bot name and spaces, no entities", privateMessage(`,"text":"/Start@Herald_Bot   a b \t"`), cmd("/Start@Herald_Bot   a b \t", "start", "a b")},
		{"payload right after the command", privateMessage(`,"text":"/start,x","entities":[{"type":"bot_command","offset":0,"length":6}]`), cmd("/start,x", "start", ",x")},
		{"'@' without a bot name stays in the payload", privateMessage(`,"text":"/stop@ now"`), cmd("/stop@ now", "stop", "@ now")},
		{"digits and underscores", privateMessage(`,"text":"/opt_in2 x"`), cmd("/opt_in2 x", "opt_in2", "x")},
		{"other entities, none a command at 0", privateMessage(`,"text":"/start","entities":[{"type":"bold","offset":0,"length":6}]`), ann(telegram.UpdateText, "/start")},
		{"a command entity further on", privateMessage(`,"text":"hi /start","entities":[{"type":"bot_command","offset":3,"length":6}]`), ann(telegram.UpdateText, "hi /start")},
		{"a slash alone", privateMessage(`,"text":"/"`), ann(telegram.UpdateText, "/")},
		{"a slash and letters Telegram does not take", privateMessage(`,"text":"/été"`), ann(telegram.UpdateText, "/été")},
		{"entities empty: as missing", privateMessage(`,"text":"/stop","entities":[]`), cmd("/stop", "stop", "")},
		{"no text, no caption", privateMessage(`,"voice":{"file_id":"a","file_unique_id":"b","duration":2}`), ann(telegram.UpdateText, "")},
		{"text wins over caption", privateMessage(`,"text":"a","caption":"b"`), ann(telegram.UpdateText, "a")},
		{"no from: the private chat's own names", `{"update_id":9001,"message":{"message_id":1,"chat":{"id":42,"first_name":"Ann","type":"private"},"date":1767225600,"text":"x"}}`, ann(telegram.UpdateText, "x")},
		{"no date", `{"update_id":9001,"message":{"message_id":1,"from":{"id":42,"first_name":"Ann"},"chat":{"id":42,"type":"private"},"text":"x"}}`,
			telegram.Update{ID: 9001, Kind: telegram.UpdateText, ChatID: "42", ChatType: "private", UserID: 42, FirstName: "Ann", Text: "x"}},
		{"null fields are absent", `{"update_id":9003,"message":null,"my_chat_member":null}`, ignored(9003)},
		{"an update type herald does not know", `{"update_id":9004,"business_message":{"message_id":1}}`, ignored(9004)},
		{"update_id only", `{"update_id":9005}`, ignored(9005)},
		{"kicked", memberChange(`{"status":"kicked","until_date":0,"user":{"id":7,"is_bot":true,"first_name":"B"}}`), member(telegram.UpdateBlocked)},
		{"left", memberChange(`{"status":"left","user":{"id":7,"is_bot":true,"first_name":"B"}}`), member(telegram.UpdateBlocked)},
		{"member", memberChange(`{"status":"member","user":{"id":7,"is_bot":true,"first_name":"B"}}`), member(telegram.UpdateMember)},
		{"administrator", memberChange(`{"status":"administrator","user":{"id":7,"is_bot":true,"first_name":"B"}}`), member(telegram.UpdateMember)},
		{"restricted, still a member", memberChange(`{"status":"restricted","is_member":true,"user":{"id":7,"is_bot":true,"first_name":"B"}}`), member(telegram.UpdateMember)},
		{"restricted, not a member", memberChange(`{"status":"restricted","is_member":false,"user":{"id":7,"is_bot":true,"first_name":"B"}}`), ignored(9002)},
		{"creator", memberChange(`{"status":"creator","user":{"id":7,"is_bot":true,"first_name":"B"}}`), ignored(9002)},
		{"space around the object", " \n" + `{"update_id":9006}` + "\t", ignored(9006)},
	}
	for _, tc := range cases {
		got, err := telegram.ParseUpdate([]byte(tc.raw))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: ParseUpdate(%s) =\n %+v, %v\nwant %+v", tc.name, tc.raw, got, err, tc.want)
		}
	}
}

func TestParseUpdateErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		raw     string
		id      int64 // the ID still reported
		wantErr string
	}{
		{``, 0, "telegram update: not a JSON object"},
		{`null`, 0, "telegram update: not a JSON object"},
		{`[{"update_id":1}]`, 0, "telegram update: not a JSON object"},
		{`"update"`, 0, "telegram update: not a JSON object"},
		{`{"update_id":1`, 0, "telegram update: not valid JSON"},
		{`{"update_id":1} {}`, 0, "telegram update: not valid JSON"},
		{`{}`, 0, "telegram update: no update_id"},
		{`{"update_id":null,"message":{}}`, 0, "telegram update: no update_id"},
		{`{"update_id":"12"}`, 0, "telegram update: update_id is not a positive integer"},
		{`{"update_id":1.5}`, 0, "telegram update: update_id is not a positive integer"},
		{`{"update_id":1e3}`, 0, "telegram update: update_id is not a positive integer"},
		{`{"update_id":0}`, 0, "telegram update: update_id is not a positive integer"},
		{`{"update_id":-7}`, 0, "telegram update: update_id is not a positive integer"},
		{`{"update_id":99999999999999999999}`, 0, "telegram update: update_id is not a positive integer"},
		{`{"update_id":12,"message":5}`, 12, "telegram update 12: message: a JSON number where an object is expected"},
		{`{"update_id":12,"message":[]}`, 12, "telegram update 12: message: a JSON array where an object is expected"},
		{`{"update_id":12,"message":{"text":"hi"}}`, 12, "telegram update 12: message: no chat.id"},
		{`{"update_id":12,"message":{"chat":{"type":"private"},"text":"hi"}}`, 12, "telegram update 12: message: no chat.id"},
		{`{"update_id":12,"message":{"chat":{"id":"42","type":"private"}}}`, 12, "telegram update 12: message.chat.id: a JSON string where an integer is expected"},
		{`{"update_id":12,"message":{"chat":{"id":4.2,"type":"private"}}}`, 12, "telegram update 12: message.chat.id: a JSON number where an integer is expected"},
		{`{"update_id":12,"message":{"chat":{"id":42,"type":"private"},"text":7}}`, 12, "telegram update 12: message.text: a JSON number where a string is expected"},
		{`{"update_id":12,"message":{"chat":{"id":42,"type":"private"},"entities":{}}}`, 12, "telegram update 12: message.entities: a JSON object where an array is expected"},
		{`{"update_id":12,"message":{"chat":{"id":42,"type":"group"},"from":"x"}}`, 12, "telegram update 12: message.from: a JSON string where an object is expected"},
		{`{"update_id":12,"message":{"chat":{"id":42},"text":"hi"}}`, 12, "telegram update 12: message: no chat.type"},
		{`{"update_id":13,"my_chat_member":{"from":{"id":1},"new_chat_member":{"status":"kicked"}}}`, 13, "telegram update 13: my_chat_member: no chat.id"},
		{`{"update_id":13,"my_chat_member":{"chat":{"id":1},"from":{"id":1},"new_chat_member":{"status":"kicked"}}}`, 13, "telegram update 13: my_chat_member: no chat.type"},
		{`{"update_id":13,"my_chat_member":{"chat":{"id":1,"type":"private"},"new_chat_member":{"status":"kicked"}}}`, 13, "telegram update 13: my_chat_member: no from.id"},
		{`{"update_id":13,"my_chat_member":{"chat":{"id":1,"type":"private"},"from":{"id":1}}}`, 13, "telegram update 13: my_chat_member: no new_chat_member.status"},
		{`{"update_id":13,"my_chat_member":{"chat":{"id":1,"type":"private"},"from":{"id":1},"new_chat_member":{"status":true}}}`, 13, "telegram update 13: my_chat_member.new_chat_member.status: a JSON bool where a string is expected"},
	}
	for _, tc := range cases {
		u, err := telegram.ParseUpdate([]byte(tc.raw))
		if err == nil || err.Error() != tc.wantErr {
			t.Errorf("ParseUpdate(%s): error %v, want %q", tc.raw, err, tc.wantErr)
		}
		if u != (telegram.Update{ID: tc.id}) {
			t.Errorf("ParseUpdate(%s) = %+v with its error, want only ID %d", tc.raw, u, tc.id)
		}
	}
}

// FuzzParseUpdate: whatever the input, ParseUpdate does not panic, and what it returns keeps
// the promises a poller and the subscriber logic rely on.
func FuzzParseUpdate(f *testing.F) {
	for _, raw := range updateFixtures(f) {
		f.Add(raw)
	}
	for _, s := range []string{
		privateMessage(`,"text":"/start@Bot payload","entities":[{"type":"bot_command","offset":0,"length":10}]`),
		privateMessage(`,"text":"/STOP","entities":[{"type":"bot_command","offset":0,"length":99}]`),
		privateMessage(`,"text":"/a@b@c /d"`),
		privateMessage(`,"caption":"/start x","caption_entities":[{"type":"bot_command","offset":0,"length":6}]`),
		memberChange(`{"status":"kicked","user":{"id":7}}`),
		memberChange(`{"status":"restricted","is_member":true}`),
		`{"update_id":13,"my_chat_member":{"chat":{"id":1},"from":{"id":1},"new_chat_member":{"status":"kicked"}}}`,
		`{"update_id":13,"my_chat_member":{"chat":{"id":1,"type":""},"from":{"id":2},"new_chat_member":{"status":"member"}}}`,
		`{"update_id":1,"message":{"chat":{"id":-9223372036854775808,"type":"private"},"from":{"id":0},"date":-1,"text":"/x"}}`,
		`{"update_id":9223372036854775807,"message":{"chat":{"id":1,"type":"private"},"date":9223372036854775807}}`,
		`{"Update_ID":3,"MESSAGE":{"Chat":{"ID":5,"Type":"private"},"Text":"/Hi"}}`,
		`{"update_id":1,"update_id":2,"message":{"chat":{"id":1,"type":"private"}},"message":{"chat":{"id":2}}}`,
		`{"update_id":1,"message":{"chat":{"id":1,"type":"private"},"text":"/\u0000\ud800"}}`,
		`{"update_id":12,"message":5}`, `{"update_id":"x"}`, `[]`, `null`, ``, `{`, "\xff",
	} {
		f.Add([]byte(s))
	}
	known := map[telegram.UpdateKind]bool{
		telegram.UpdateCommand: true, telegram.UpdateText: true, telegram.UpdateBlocked: true,
		telegram.UpdateMember: true, telegram.UpdateIgnored: true,
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		u, err := telegram.ParseUpdate(raw)
		again, errAgain := telegram.ParseUpdate(raw)
		if !reflect.DeepEqual(u, again) || (err == nil) != (errAgain == nil) {
			t.Fatal("ParseUpdate is not deterministic")
		}
		if u.ID < 0 {
			t.Fatalf("ID %d", u.ID)
		}
		if err != nil {
			if u != (telegram.Update{ID: u.ID}) {
				t.Fatalf("error %v with more than the ID: %+v", err, u)
			}
			if !strings.HasPrefix(err.Error(), "telegram update") {
				t.Fatalf("error %q does not say where it comes from", err)
			}
			return
		}
		if u.ID == 0 || !known[u.Kind] {
			t.Fatalf("no error, but ID %d, kind %q", u.ID, u.Kind)
		}
		if u.Kind == telegram.UpdateIgnored {
			if u != (telegram.Update{ID: u.ID, Kind: telegram.UpdateIgnored}) {
				t.Fatalf("an ignored update with more than its ID: %+v", u)
			}
			return
		}
		if id, err := strconv.ParseInt(u.ChatID, 10, 64); err != nil || id == 0 || strconv.FormatInt(id, 10) != u.ChatID {
			t.Fatalf("%s: ChatID %q is not a chat id in decimal", u.Kind, u.ChatID)
		}
		if u.UserID == 0 || u.ChatType == "" {
			t.Fatalf("%s: UserID %d, ChatType %q", u.Kind, u.UserID, u.ChatType)
		}
		if !u.At.IsZero() && (u.At.Location() != time.UTC || u.At.Year() < 1970 || u.At.Year() > 9999) {
			t.Fatalf("%s: At %v", u.Kind, u.At)
		}
		switch u.Kind {
		case telegram.UpdateCommand:
			if u.ChatType != "private" || u.Command == "" || !strings.HasPrefix(u.Text, "/") {
				t.Fatalf("command: %+v", u)
			}
			for _, c := range u.Command {
				if !(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) {
					t.Fatalf("command %q: %q is not lower-case letters, digits or _", u.Command, c)
				}
			}
			if u.Payload != strings.TrimSpace(u.Payload) || !strings.HasSuffix(strings.TrimSpace(u.Text), u.Payload) {
				t.Fatalf("command %q: payload %q of text %q", u.Command, u.Payload, u.Text)
			}
		case telegram.UpdateText:
			if u.ChatType != "private" || u.Command != "" || u.Payload != "" {
				t.Fatalf("text: %+v", u)
			}
		case telegram.UpdateBlocked, telegram.UpdateMember:
			if u.Text != "" || u.Command != "" || u.Payload != "" {
				t.Fatalf("%s with a message: %+v", u.Kind, u)
			}
		}
	})
}
