package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The Messenger Profile API (…/messenger-platform/reference/messenger-profile-api): the page's
// greeting and Get Started button. The sandbox emulates these two properties.

// Meta's limits on the profile's properties, in characters.
const (
	maxGreetingText   = 160
	maxGetStarted     = 1000
	maxGreetingLocale = 100 // entries; Meta supports fewer locales than this
)

// profileProperties are the properties the sandbox emulates, in the order it answers them.
var profileProperties = []string{"greeting", "get_started"}

// otherProfileProperties are the Messenger Profile API's properties the sandbox does not
// emulate: it names them apart from properties that do not exist.
var otherProfileProperties = []string{
	"persistent_menu", "ice_breakers", "whitelisted_domains", "account_linking_url", "home_url",
	"commands", "title", "description", "platform", "subject_to_new_eu_privacy_rules",
	"target_audience", "payment_settings",
}

// MessengerProfile is the page's Messenger profile, as set with POST me/messenger_profile.
type MessengerProfile struct {
	// Greeting is the text people see before they start a conversation, by locale; one entry
	// has the locale "default". Meta replaces {{user_first_name}}, {{user_last_name}} and
	// {{user_full_name}} in it.
	Greeting []MessengerGreeting `json:"greeting,omitempty"`
	// GetStarted is the Get Started button; nil when not set.
	GetStarted *MessengerGetStarted `json:"get_started,omitempty"`
}

// MessengerGreeting is a greeting text for a locale ("default", or one such as "it_IT").
type MessengerGreeting struct {
	Locale string `json:"locale"`
	Text   string `json:"text"`
}

// MessengerGetStarted is the Get Started button: a tap on it is a postback with Payload.
type MessengerGetStarted struct {
	Payload string `json:"payload"`
}

// Messages of the profile's checks (sandbox wording, in the style of the Send API's).
const (
	graphProfileEmpty      = "(#100) Requires one of the params: %s"
	graphProfileNotEmul    = "(#100) param %s is not emulated by the sandbox: it takes %s"
	graphGreetingDefault   = `(#100) param greeting must have an entry with the locale "default"`
	graphGreetingDuplicate = "(#100) param greeting has the locale %q more than once"
	graphProfileFields     = "(#100) param fields must be non-empty: name the properties, e.g. greeting,get_started"
)

// MessengerProfile returns a copy of the page's Messenger profile.
func (s *Server) MessengerProfile() MessengerProfile {
	m := s.msgr
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.profile.clone()
}

func (p MessengerProfile) clone() MessengerProfile {
	c := MessengerProfile{Greeting: slices.Clone(p.Greeting)}
	if p.GetStarted != nil {
		g := *p.GetStarted
		c.GetStarted = &g
	}
	return c
}

// profileAnswer is the answer to a change of the profile.
type profileAnswer struct {
	Result string `json:"result"`
}

// serveProfile answers GET, POST and DELETE me/messenger_profile.
func (m *messenger) serveProfile(method string, params map[string]any) (any, *graphError) {
	switch method {
	case http.MethodGet:
		return m.getProfile(params)
	case http.MethodPost:
		return m.setProfile(params)
	default:
		return m.deleteProfile(params)
	}
}

// propertyError refuses a property the sandbox does not take.
func propertyError(path, name string) *graphError {
	if slices.Contains(otherProfileProperties, name) {
		return paramError(graphProfileNotEmul, path, strings.Join(profileProperties, " and "))
	}
	return paramError(graphParamUnknown, path)
}

func (m *messenger) setProfile(params map[string]any) (any, *graphError) {
	var names []string
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(profileProperties, name) {
			return nil, propertyError(name, name)
		}
	}
	if len(names) == 0 {
		return nil, paramError(graphProfileEmpty, strings.Join(profileProperties, ","))
	}
	var next MessengerProfile
	if v, ok := params["greeting"]; ok {
		greeting, apiErr := parseGreeting(jsonParam(v))
		if apiErr != nil {
			return nil, apiErr
		}
		next.Greeting = greeting
	}
	if v, ok := params["get_started"]; ok {
		obj, ok := jsonParam(v).(map[string]any)
		if !ok {
			return nil, paramError(graphParamType, "get_started", "a JSON object")
		}
		o := param{path: "get_started", m: obj}
		if apiErr := o.only("payload"); apiErr != nil {
			return nil, apiErr
		}
		payload, apiErr := o.str("payload", true, maxGetStarted)
		if apiErr != nil {
			return nil, apiErr
		}
		next.GetStarted = &MessengerGetStarted{Payload: payload}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if next.Greeting != nil {
		m.profile.Greeting = next.Greeting
	}
	if next.GetStarted != nil {
		m.profile.GetStarted = next.GetStarted
	}
	return profileAnswer{Result: "success"}, nil
}

func parseGreeting(v any) ([]MessengerGreeting, *graphError) {
	list, ok := v.([]any)
	if !ok {
		return nil, paramError(graphParamType, "greeting", "an array of {locale, text} objects")
	}
	if len(list) == 0 || len(list) > maxGreetingLocale {
		return nil, paramError(graphParamCount, "greeting", 1, maxGreetingLocale, len(list))
	}
	out := make([]MessengerGreeting, 0, len(list))
	for i, item := range list {
		path := "greeting[" + strconv.Itoa(i) + "]"
		obj, ok := item.(map[string]any)
		if !ok {
			return nil, paramError(graphParamType, path, "a JSON object")
		}
		o := param{path: path, m: obj}
		if apiErr := o.only("locale", "text"); apiErr != nil {
			return nil, apiErr
		}
		locale, apiErr := o.str("locale", true, 0)
		if apiErr != nil {
			return nil, apiErr
		}
		text, apiErr := o.str("text", true, maxGreetingText)
		if apiErr != nil {
			return nil, apiErr
		}
		if slices.ContainsFunc(out, func(g MessengerGreeting) bool { return g.Locale == locale }) {
			return nil, paramError(graphGreetingDuplicate, locale)
		}
		out = append(out, MessengerGreeting{Locale: locale, Text: text})
	}
	if !slices.ContainsFunc(out, func(g MessengerGreeting) bool { return g.Locale == "default" }) {
		return nil, paramError(graphGreetingDefault)
	}
	return out, nil
}

// jsonParam decodes a parameter sent as JSON text in a form or query; other values are
// returned as they are.
func jsonParam(v any) any {
	text, ok := v.(string)
	if !ok {
		return v
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil || dec.More() {
		return v
	}
	return out
}

// profileFields reads the properties a GET or DELETE names in fields: a list (a JSON array, or
// its text in a form) or, as in a query string, names separated by commas.
func profileFields(params map[string]any) ([]string, *graphError) {
	for name := range params {
		if name != "fields" {
			return nil, paramError(graphParamUnknown, name)
		}
	}
	var names []string
	switch v := jsonParam(params["fields"]).(type) {
	case nil:
	case string:
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				names = append(names, name)
			}
		}
	case []any:
		for i, item := range v {
			name, ok := item.(string)
			if !ok {
				return nil, paramError(graphParamType, "fields["+strconv.Itoa(i)+"]", "a string")
			}
			names = append(names, name)
		}
	default:
		return nil, paramError(graphParamType, "fields", "a list of property names")
	}
	if len(names) == 0 {
		return nil, paramError(graphProfileFields)
	}
	for i, name := range names {
		switch {
		case slices.Contains(profileProperties, name):
		case slices.Contains(otherProfileProperties, name):
			return nil, propertyError(name, name)
		default:
			return nil, paramError(graphParamEnum, fmt.Sprintf("fields[%d]", i), strings.Join(profileProperties, ", "), name)
		}
	}
	return names, nil
}

// profileData is GET me/messenger_profile's answer: the properties asked for that are set, in
// one object, or no object when none is.
type profileData struct {
	Data []MessengerProfile `json:"data"`
}

func (m *messenger) getProfile(params map[string]any) (any, *graphError) {
	names, apiErr := profileFields(params)
	if apiErr != nil {
		return nil, apiErr
	}
	m.mu.Lock()
	p := m.profile.clone()
	m.mu.Unlock()
	var out MessengerProfile
	if slices.Contains(names, "greeting") {
		out.Greeting = p.Greeting
	}
	if slices.Contains(names, "get_started") {
		out.GetStarted = p.GetStarted
	}
	if out.Greeting == nil && out.GetStarted == nil {
		return profileData{Data: []MessengerProfile{}}, nil
	}
	return profileData{Data: []MessengerProfile{out}}, nil
}

func (m *messenger) deleteProfile(params map[string]any) (any, *graphError) {
	names, apiErr := profileFields(params)
	if apiErr != nil {
		return nil, apiErr
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, name := range names {
		switch name {
		case "greeting":
			m.profile.Greeting = nil
		case "get_started":
			m.profile.GetStarted = nil
		}
	}
	return profileAnswer{Result: "success"}, nil
}

// graphEndpoints lists the Graph API endpoints the Messenger half emulates.
func graphEndpoints(pageID string) string {
	return "POST /v<N>.<M>/{me|" + pageID + "}/messages, POST /v<N>.<M>/act_<ad account>/messages, GET /v<N>.<M>/me, " +
		"GET|POST|DELETE /v<N>.<M>/{me|" + pageID + "}/messenger_profile (greeting, get_started)"
}
