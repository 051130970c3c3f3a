package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// profile calls me/messenger_profile as the page.
func (b *bundle) profile(t *testing.T, method, query, body string) graphReply {
	t.Helper()
	contentType := ""
	if body != "" {
		contentType = "application/json"
	}
	return b.graph(t, method, "/me/messenger_profile"+query, contentType, testPageToken, body)
}

// profileData decodes GET me/messenger_profile's answer.
func profileOf(t *testing.T, r graphReply) []MessengerProfile {
	t.Helper()
	if r.status != http.StatusOK || r.Error != nil {
		t.Fatalf("got %d %s, want the profile", r.status, r.raw)
	}
	var answer struct {
		Data []MessengerProfile `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.raw), &answer); err != nil || answer.Data == nil {
		t.Fatalf("answer %s: %v", r.raw, err)
	}
	return answer.Data
}

func wantSuccess(t *testing.T, r graphReply) {
	t.Helper()
	if r.status != http.StatusOK || r.raw != `{"result":"success"}` {
		t.Errorf("got %d %s, want success", r.status, r.raw)
	}
}

func TestMessengerProfile(t *testing.T) {
	t.Parallel()
	b := setupMessenger(t, MessengerOptions{})
	if got := profileOf(t, b.profile(t, http.MethodGet, "?fields=greeting,get_started", "")); len(got) != 0 {
		t.Errorf("profile before any is set: %+v", got)
	}

	wantSuccess(t, b.profile(t, http.MethodPost, "", `{"greeting":[{"locale":"default","text":"Hi {{user_first_name}}! News from the blog/"},`+
		`{"locale":"it_IT","text":"Ciao, è il blog"}],"get_started":{"payload":"GET_STARTED"}}`))
	want := MessengerProfile{
		Greeting:   []MessengerGreeting{{Locale: "default", Text: "Hi {{user_first_name}}! News from the blog/"}, {Locale: "it_IT", Text: "Ciao, è il blog"}},
		GetStarted: &MessengerGetStarted{Payload: "GET_STARTED"},
	}
	if got := b.srv.MessengerProfile(); !reflect.DeepEqual(got, want) {
		t.Errorf("MessengerProfile() = %+v", got)
	}
	r := b.profile(t, http.MethodGet, "?fields=greeting,get_started", "")
	if got := profileOf(t, r); !reflect.DeepEqual(got, []MessengerProfile{want}) || !strings.Contains(r.raw, `blog\/`) {
		t.Errorf("GET %s", r.raw)
	}
	if got := profileOf(t, b.profile(t, http.MethodGet, "?fields=get_started", "")); !reflect.DeepEqual(got, []MessengerProfile{{GetStarted: want.GetStarted}}) {
		t.Errorf("GET get_started: %+v", got)
	}
	// The accessor's copy is the caller's.
	b.srv.MessengerProfile().GetStarted.Payload = "changed"
	if b.srv.MessengerProfile().GetStarted.Payload != "GET_STARTED" {
		t.Error("MessengerProfile shares its state")
	}

	// A property set alone leaves the other; a form sends JSON-encoded values.
	form := url.Values{"get_started": {`{"payload":"START"}`}}
	wantSuccess(t, b.graph(t, http.MethodPost, "/"+DefaultMessengerPageID+"/messenger_profile", "application/x-www-form-urlencoded", testPageToken, form.Encode()))
	if got := b.srv.MessengerProfile(); got.GetStarted.Payload != "START" || len(got.Greeting) != 2 {
		t.Errorf("after setting get_started: %+v", got)
	}

	wantSuccess(t, b.profile(t, http.MethodDelete, "", `{"fields":["greeting"]}`))
	if got := profileOf(t, b.profile(t, http.MethodGet, "?fields=greeting,get_started", "")); !reflect.DeepEqual(got, []MessengerProfile{{GetStarted: &MessengerGetStarted{Payload: "START"}}}) {
		t.Errorf("after deleting the greeting: %+v", got)
	}
	wantSuccess(t, b.profile(t, http.MethodDelete, "?fields=get_started", ""))
	if got := b.srv.MessengerProfile(); !reflect.DeepEqual(got, MessengerProfile{}) {
		t.Errorf("after deleting everything: %+v", got)
	}

	reqs := b.srv.Requests()
	last := reqs[len(reqs)-1]
	if last.Channel != "messenger" || last.Method != "me/messenger_profile" || last.Status != 200 || !reflect.DeepEqual(last.Fields, []string{"fields"}) {
		t.Errorf("request recorded as %+v", last)
	}
	var page map[string]any
	b.control(t, http.MethodGet, "/__sandbox/messenger", "", &page)
	if !strings.Contains(page["send_api"].(string), "messenger_profile") {
		t.Errorf("the control page does not list messenger_profile: %v", page)
	}
}

func TestMessengerProfileValidation(t *testing.T) {
	t.Parallel()
	b := setupMessenger(t, MessengerOptions{})
	greeting := func(items string) string { return `{"greeting":[` + items + `]}` }
	tests := []struct {
		name, method, query, body, want string
	}{
		{"greeting too long", "POST", "", greeting(`{"locale":"default","text":"` + strings.Repeat("é", 161) + `"}`),
			"(#100) Length of param greeting[0][text] must be less than or equal to 160"},
		{"no default locale", "POST", "", greeting(`{"locale":"it_IT","text":"Ciao"}`), graphGreetingDefault},
		{"a locale twice", "POST", "", greeting(`{"locale":"default","text":"a"},{"locale":"default","text":"b"}`),
			`(#100) param greeting has the locale "default" more than once`},
		{"empty greeting", "POST", "", greeting(``), "(#100) param greeting must have from 1 to 100 items, got 0"},
		{"greeting not a list", "POST", "", `{"greeting":"hello"}`, "(#100) param greeting must be an array of {locale, text} objects"},
		{"greeting without text", "POST", "", greeting(`{"locale":"default"}`), "(#100) param greeting[0][text] must be non-empty."},
		{"greeting with more", "POST", "", greeting(`{"locale":"default","text":"a","title":"b"}`), "(#100) param greeting[0][title] is not a valid field"},
		{"payload too long", "POST", "", `{"get_started":{"payload":"` + strings.Repeat("p", 1001) + `"}}`,
			"(#100) Length of param get_started[payload] must be less than or equal to 1000"},
		{"empty payload", "POST", "", `{"get_started":{"payload":""}}`, "(#100) param get_started[payload] must be non-empty."},
		{"get_started not an object", "POST", "", `{"get_started":"GO"}`, "(#100) param get_started must be a JSON object"},
		{"unknown property", "POST", "", `{"get_started":{"payload":"x"},"colour":"red"}`, "(#100) param colour is not a valid field"},
		{"property not emulated", "POST", "", `{"persistent_menu":[]}`, "(#100) param persistent_menu is not emulated by the sandbox: it takes greeting and get_started"},
		{"nothing to set", "POST", "", `{}`, "(#100) Requires one of the params: greeting,get_started"},
		{"GET without fields", "GET", "", "", graphProfileFields},
		{"GET an unknown field", "GET", "?fields=greeting,colour", "", `(#100) param fields[1] must be one of {greeting, get_started} - got "colour"`},
		{"GET with another parameter", "GET", "?fields=greeting&locale=it", "", "(#100) param locale is not a valid field"},
		{"DELETE without fields", "DELETE", "", `{}`, graphProfileFields},
		{"DELETE fields not names", "DELETE", "", `{"fields":[1]}`, "(#100) param fields[0] must be a string"},
		{"DELETE a property not emulated", "DELETE", "", `{"fields":["ice_breakers"]}`, "(#100) param ice_breakers is not emulated by the sandbox: it takes greeting and get_started"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantGraphError(t, b.profile(t, tt.method, tt.query, tt.body), codeParam, 0, tt.want)
		})
	}
	if got := b.srv.MessengerProfile(); !reflect.DeepEqual(got, MessengerProfile{}) {
		t.Errorf("a refused request changed the profile: %+v", got)
	}
	// The same credentials and paths as the other Graph API endpoints.
	wantGraphError(t, b.graph(t, http.MethodGet, "/me/messenger_profile?fields=greeting", "", "wrong", ""), codeToken, 0, graphInvalidToken)
	wantGraphError(t, b.graph(t, http.MethodPut, "/me/messenger_profile", "application/json", testPageToken, `{}`), codeParam, subcodeUnsupported,
		"Unsupported put request. Object with ID 'me' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api")
	wantGraphError(t, b.graph(t, http.MethodPost, "/act_1/messenger_profile", "application/json", testPageToken, `{}`), codeParam, subcodeUnsupported,
		"Unsupported post request. Object with ID 'act_1' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api")
}
