package telegram

import (
	"encoding/json"
	"slices"
	"testing"
)

var scanSeeds = []string{
	`{"ok":true,"result":{"message_id":42,"from":{"id":1,"is_bot":true,"first_name":"b"},"chat":{"id":7,"type":"private"},"date":1,"text":"hi \"x\" \u00e9","entities":[{"type":"bold","offset":0,"length":2}]}}`,
	`{"ok":true,"result":[{"message_id":1,"photo":[{"file_id":"a","width":90}]},{"message_id":2,"reply_to_message":{"message_id":99}}]}`,
	` { "ok" : true , "result" : { "chat" : { "message_id" : 5 } , "message_id" : -3 } } `,
	`{"result":{"message_id":1},"ok":true}`,
	`{"ok":true,"result":true}`,
	`{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`,
	`{"ok":true,"result":{"message_id":1.5}}`,
	`{"ok":true,"result":{"Message_ID":3}}`,
	`{"OK":true,"result":{"message_id":3}}`,
	`{"ok":true,"result":{"message\u005fid":3}}`,
	`{"ok":true,"result":{"message_id":3,"message_id":4}}`,
	`{"ok":true,"result":{"message_id":0}}`,
	`{"ok":true,"result":{"message_id":3}} x`,
	`{"ok":true,"result":{"message_id":99999999999999999999}}`,
	`{"ok":true,"result":[]}`,
	`{"ok":true}`,
}

// TestScanSentAgreesOnRealAnswers pins the fast path on answers it must
// handle itself.
func TestScanSentAgreesOnRealAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{scanSeeds[0], []string{"42"}},
		{scanSeeds[1], []string{"1", "2"}},
		{scanSeeds[2], []string{"-3"}},
		{scanSeeds[3], []string{"1"}},
	} {
		ids, ok := scanSent([]byte(tc.in))
		if !ok || !slices.Equal(ids, tc.want) {
			t.Errorf("scanSent(%s) = %v, %v; want %v", tc.in, ids, ok, tc.want)
		}
	}
}

// FuzzScanSent: whenever the fast path answers, encoding/json must decode
// the same body as a success with the same message ids.
func FuzzScanSent(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, ok := scanSent(b)
		if !ok {
			return
		}
		var res apiResponse
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatalf("scanSent accepted %q, encoding/json refuses it: %v", b, err)
		}
		if !res.OK || !slices.Equal(ids, res.Result.ids) {
			t.Fatalf("scanSent(%q) = %v; encoding/json: ok=%v ids=%v", b, ids, res.OK, res.Result.ids)
		}
	})
}
