package messenger

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseEvents: whatever the body, ParseEvents does not panic, and every event it returns
// is one herald knows, from a person, with a message id only on messages and postbacks.
func FuzzParseEvents(f *testing.F) {
	for _, tc := range whParseCases {
		f.Add([]byte(tc.body))
	}
	for _, body := range []string{
		``, `null`, `{}`, `[]`, `{"object":"page"}`, `{"object":"page","entry":null}`,
		`{"object":"page","entry":[null,1,"x",{"messaging":null},{"messaging":[null,{}]}]}`,
		`{"object":"page","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"delivery":{"mids":[1,"m"],"watermark":-5}}]}]}`,
		`{"object":"page","entry":[{"id":"1","time":9223372036854775807,"messaging":[{"sender":{"id":"2"},"timestamp":-9223372036854775808,"read":{}}]}]}`,
		`{"object":"page","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"optin":{"type":"notification_messages","notification_messages_token":"t","notification_messages_status":" stop\tnotifications "}}]}]}`,
		`{"object":"page","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"message":{"text":"\ud800"},"read":{"watermark":1}}]}]}`,
		`{"object":"page","entry":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
		`{"Object":"page","ENTRY":[{"ID":"1","Messaging":[{"Sender":{"Id":"2"},"READ":{"watermark":1}}]}]}`,
	} {
		f.Add([]byte(body))
	}
	known := map[EventKind]bool{
		EventMessage: true, EventPostback: true, EventReferral: true,
		EventOptIn: true, EventDelivery: true, EventRead: true,
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := ParseEvents(body)
		if err != nil {
			if events != nil {
				t.Fatalf("error %v with %d events", err, len(events))
			}
			if !strings.HasPrefix(err.Error(), "messenger webhook: ") {
				t.Fatalf("error %q does not say where it comes from", err)
			}
			return
		}
		if len(events) > webhookMaxItems {
			t.Fatalf("%d events, more than the %d items looked at", len(events), webhookMaxItems)
		}
		for i, ev := range events {
			if !known[ev.Kind] || ev.PSID == "" {
				t.Fatalf("event %d: kind %q, PSID %q", i, ev.Kind, ev.PSID)
			}
			if len(ev.MIDs) > webhookMaxMIDs || (len(ev.MIDs) > 0 && ev.Kind != EventDelivery) {
				t.Fatalf("event %d: a %s with %d mids", i, ev.Kind, len(ev.MIDs))
			}
			if ev.MID != "" && ev.Kind != EventMessage && ev.Kind != EventPostback {
				t.Fatalf("event %d: a %s with a message id", i, ev.Kind)
			}
			if ev.Kind != EventOptIn && (ev.Token != "" || ev.Status != "") {
				t.Fatalf("event %d: a %s with an opt-in token or status", i, ev.Kind)
			}
			if ev.Kind == EventOptIn && ((ev.Status != "" && ev.Status != OptInStop && ev.Status != OptInResume) || ev.Token == "") {
				t.Fatalf("event %d: opt-in status %q, token set %v", i, ev.Status, ev.Token != "")
			}
		}
		again, _ := ParseEvents(body)
		if !reflect.DeepEqual(events, again) {
			t.Fatal("ParseEvents is not deterministic")
		}
	})
}

// FuzzValidSignature: a body signed with a secret is valid, and no longer once any one byte
// of it, or any one digit of the signature, is changed.
func FuzzValidSignature(f *testing.F) {
	for _, tc := range whParseCases[:6] {
		f.Add([]byte(tc.body), whTestSecret, uint(len(tc.body)/2), byte(0x01))
	}
	f.Add([]byte{}, "s", uint(0), byte(0xff))
	f.Add([]byte("x"), "", uint(0), byte(0x80))
	f.Add([]byte(`{"object":"page"}`), strings.Repeat("k", 200), uint(7), byte(0))
	f.Fuzz(func(t *testing.T, body []byte, secret string, pos uint, mask byte) {
		header := whSign(body, secret)
		if secret == "" {
			if ValidSignature(body, header, secret) {
				t.Fatal("valid with an empty secret")
			}
			return
		}
		if !ValidSignature(body, header, secret) {
			t.Fatal("signed body not valid")
		}
		if mask == 0 {
			mask = 1
		}
		flip := func(i int) {
			changed := bytes.Clone(body)
			changed[i] ^= mask
			if ValidSignature(changed, header, secret) {
				t.Fatalf("still valid with byte %d flipped by %#x", i, mask)
			}
		}
		switch {
		case len(body) == 0:
		case len(body) <= 256:
			for i := range body {
				flip(i)
			}
		default:
			flip(int(pos % uint(len(body))))
		}
		digits := []byte(header)
		i := len("sha256=") + int(pos%64)
		if digits[i] == '0' {
			digits[i] = '1'
		} else {
			digits[i] = '0'
		}
		if ValidSignature(body, string(digits), secret) {
			t.Fatalf("still valid with signature digit %d changed", i)
		}
	})
}
