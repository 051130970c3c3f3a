package telegram_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/campaign"
	"github.com/heraldcli/herald/channels/sandbox"
	"github.com/heraldcli/herald/channels/telegram"
)

// botAPISpec is the published Bot API as JSON (testdata, with its licence).
type botAPISpec struct {
	Version string               `json:"version"`
	Methods map[string]specEntry `json:"methods"`
	Types   map[string]specEntry `json:"types"`
}

type specEntry struct {
	Fields []struct {
		Name     string   `json:"name"`
		Types    []string `json:"types"`
		Required bool     `json:"required"`
	} `json:"fields"`
	Subtypes []string `json:"subtypes"`
}

func loadSpec(t *testing.T) *botAPISpec {
	t.Helper()
	b, err := os.ReadFile("testdata/telegram-bot-api.json")
	if err != nil {
		t.Fatal(err)
	}
	var s botAPISpec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// check reports every field of obj the spec entry does not define, every
// required field missing, and recurses into fields whose type is an object
// the spec describes.
func (s *botAPISpec) check(where string, e specEntry, obj map[string]any) []string {
	var errs []string
	defined := map[string][]string{}
	for _, f := range e.Fields {
		defined[f.Name] = f.Types
		if _, ok := obj[f.Name]; f.Required && !ok {
			errs = append(errs, fmt.Sprintf("%s: required field %q missing", where, f.Name))
		}
	}
	for name, v := range obj {
		types, ok := defined[name]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: field %q is not in the Bot API %s spec", where, name, s.Version))
			continue
		}
		errs = append(errs, s.checkValue(where+"."+name, types, v)...)
	}
	return errs
}

func (s *botAPISpec) checkValue(where string, types []string, v any) []string {
	var objErrs []string
	for _, ty := range types {
		switch {
		case ty == "String":
			if _, ok := v.(string); ok {
				return nil
			}
		case ty == "Integer" || ty == "Float":
			if _, ok := v.(float64); ok {
				return nil
			}
		case ty == "Boolean" || ty == "True":
			if _, ok := v.(bool); ok {
				return nil
			}
		case strings.HasPrefix(ty, "Array of "):
			arr, ok := v.([]any)
			if !ok {
				continue
			}
			var errs []string
			for i, el := range arr {
				errs = append(errs, s.checkValue(fmt.Sprintf("%s[%d]", where, i), []string{strings.TrimPrefix(ty, "Array of ")}, el)...)
			}
			return errs
		default:
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			errs := s.checkObject(where, ty, obj)
			if errs == nil {
				return nil
			}
			objErrs = append(objErrs, errs...)
		}
	}
	if objErrs != nil {
		return objErrs
	}
	return []string{fmt.Sprintf("%s: value %v does not have any of the types %v", where, v, types)}
}

// checkObject checks obj against type ty, or against whichever of its
// subtypes (InputMedia → InputMediaPhoto, …) fits.
func (s *botAPISpec) checkObject(where, ty string, obj map[string]any) []string {
	e, ok := s.Types[ty]
	if !ok {
		return []string{fmt.Sprintf("%s: unknown type %s", where, ty)}
	}
	if len(e.Subtypes) == 0 {
		return s.check(where+"("+ty+")", e, obj)
	}
	var last []string
	for _, sub := range e.Subtypes {
		if last = s.checkObject(where, sub, obj); last == nil {
			return nil
		}
	}
	return last
}

func contractMessages() map[string]campaign.Message {
	long := strings.Repeat("A long caption that does not fit. ", 40)
	btns := []campaign.Button{{Text: "Read", URL: "https://example.com/a?b=c&d=<e>"}, {Text: "Stop", Callback: "optout:x"}}
	img := func(n int) []campaign.Media {
		var m []campaign.Media
		for i := range n {
			m = append(m, campaign.Media{Kind: campaign.Image, URL: fmt.Sprintf("https://example.com/%d.jpg", i)})
		}
		return m
	}
	cards := func(n int, buttons []campaign.Button) []campaign.Card {
		var cards []campaign.Card
		for i := range n {
			cards = append(cards, campaign.Card{Title: fmt.Sprintf("Item <%d> & co", i), Subtitle: "€9.99\nin stock",
				Image: fmt.Sprintf("https://example.com/%d.jpg", i), Link: fmt.Sprintf("https://example.com/p?i=%d&x=<y>", i), Buttons: buttons})
		}
		return cards
	}
	mixed := cards(3, btns)
	mixed[1].Image, mixed[2].Link = "", "tg://resolve?domain=shop"
	noImages := cards(2, nil)
	noImages[0].Image, noImages[1].Image = "", ""
	return map[string]campaign.Message{
		"text":                 {Text: "**Hi** <there> & [link](https://example.com/x_(y))"},
		"text and buttons":     {Text: "Hi", Buttons: btns},
		"no link preview":      {Text: "https://example.com", DisableLinkPreview: true},
		"photo with caption":   {Text: "*caption*", Media: img(1), Buttons: btns},
		"photo and long text":  {Text: long, Media: img(1), Buttons: btns},
		"photo only":           {Media: img(1)},
		"video":                {Text: "v", Media: []campaign.Media{{Kind: campaign.Video, URL: "https://example.com/v.mp4"}}},
		"audio":                {Text: "a", Media: []campaign.Media{{Kind: campaign.Audio, URL: "https://example.com/a.mp3"}}},
		"file":                 {Text: "f", Media: []campaign.Media{{Kind: campaign.File, URL: "https://example.com/f.pdf"}}},
		"gallery with caption": {Text: "album", Media: img(3)},
		"gallery and buttons":  {Text: "album", Media: img(10), Buttons: btns},

		// Product cards, in both layouts.
		"cards each":            {Text: "**New**", Cards: mixed},
		"cards each, no text":   {Cards: cards(10, btns), CardLayout: campaign.CardsEach, DisableLinkPreview: true},
		"cards album":           {Text: "**New**", Cards: cards(10, nil), CardLayout: campaign.CardsAlbum},
		"cards album, 1 image":  {Cards: append(cards(1, nil), noImages...), CardLayout: campaign.CardsAlbum},
		"cards album, no image": {Text: "New", Cards: noImages, CardLayout: campaign.CardsAlbum},
	}
}

// TestRequestsConformToTheBotAPISpec checks every request herald builds
// against the published spec, then sends it to the sandbox, which validates
// it again as Telegram would.
func TestRequestsConformToTheBotAPISpec(t *testing.T) {
	t.Parallel()
	spec := loadSpec(t)
	sb := sandbox.New(sandbox.Options{})
	url, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	for _, paid := range []bool{false, true} {
		ch, err := telegram.New(telegram.Config{Token: "1:contract", APIURL: url, PaidBroadcast: paid, Rate: 30})
		if err != nil {
			t.Fatal(err)
		}
		methods := map[string]bool{}
		for name, m := range contractMessages() {
			for _, to := range []string{"123456", "-1001234567890", "@channelname"} {
				calls, err := ch.Prepare(campaign.Recipient{Address: to}, m)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for _, c := range calls {
					methods[c.Method] = true
					entry, ok := spec.Methods[c.Method]
					if !ok {
						t.Fatalf("%s: method %s is not in the spec", name, c.Method)
					}
					var body map[string]any
					if err := json.Unmarshal(c.Body, &body); err != nil {
						t.Fatalf("%s: %s body is not a JSON object: %v", name, c.Method, err)
					}
					for _, e := range spec.check(c.Method, entry, body) {
						t.Errorf("%s (paid=%v): %s", name, paid, e)
					}
					if _, err := ch.Do(context.Background(), c); err != nil {
						t.Errorf("%s: the sandbox refused %s: %v\nbody: %s", name, c.Method, err, c.Body)
					}
				}
			}
		}
		var got []string
		for m := range methods {
			got = append(got, m)
		}
		slices.Sort(got)
		want := []string{"sendAudio", "sendDocument", "sendMediaGroup", "sendMessage", "sendPhoto", "sendVideo"}
		if !slices.Equal(got, want) {
			t.Errorf("the contract covered %v, want every method herald uses: %v", got, want)
		}
	}
}

// TestSpecCheckerHasTeeth makes sure the checker above rejects what it must.
func TestSpecCheckerHasTeeth(t *testing.T) {
	t.Parallel()
	spec := loadSpec(t)
	bad := map[string]string{
		"unknown field":    `{"chat_id":1,"text":"x","colour":"red"}`,
		"missing required": `{"chat_id":1}`,
		"wrong type":       `{"chat_id":1,"text":5}`,
		"nested unknown":   `{"chat_id":1,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"a","href":"b"}]]}}`,
	}
	for name, body := range bad {
		var obj map[string]any
		json.Unmarshal([]byte(body), &obj)
		if errs := spec.check("sendMessage", spec.Methods["sendMessage"], obj); len(errs) == 0 {
			t.Errorf("%s: %s passed the spec check", name, body)
		}
	}
}

// TestReceivingRequestsConformToTheBotAPISpec checks every request herald makes to receive
// updates (the sandbox does not answer these: a fake records them) against the published
// spec, and the update types herald asks for against the Update object's fields.
func TestReceivingRequestsConformToTheBotAPISpec(t *testing.T) {
	t.Parallel()
	spec := loadSpec(t)
	fake := newFakeBotAPI(t)
	fake.answer("getMe", 200, `{"ok":true,"result":{"id":7012345678,"is_bot":true,"first_name":"Herald Demo","username":"HeraldDemoBot"}}`)
	fake.answer("getUpdates", 200, `{"ok":true,"result":[]}`)
	fake.answer("getWebhookInfo", 200, webhookInfoSet)
	ch := newChannel(t, fake.url)
	ctx := context.Background()
	const hook, secret = "https://herald.example.com/webhooks/telegram", "Zq3-hook_secret"
	errs := []error{
		ch.SetWebhook(ctx, hook, secret, telegram.AllowedUpdates(), true),
		ch.SetWebhook(ctx, hook, secret, nil, false),
		ch.SetWebhook(ctx, hook, secret, []string{}, false),
		ch.DeleteWebhook(ctx, false),
		ch.DeleteWebhook(ctx, true),
	}
	for _, poll := range []struct {
		offset  int64
		timeout time.Duration
		allowed []string
	}{{0, 0, nil}, {815640100, 30 * time.Second, telegram.AllowedUpdates()}, {-1, time.Hour, []string{}}} {
		_, err := ch.GetUpdates(ctx, poll.offset, poll.timeout, poll.allowed)
		errs = append(errs, err)
	}
	_, err := ch.GetWebhookInfo(ctx)
	errs = append(errs, err)
	_, err = ch.GetMe(ctx)
	errs = append(errs, err)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}

	methods := map[string]bool{}
	for _, c := range fake.taken() {
		methods[c.Method] = true
		entry, ok := spec.Methods[c.Method]
		if !ok {
			t.Fatalf("method %s is not in the spec", c.Method)
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(c.Body), &body); err != nil {
			t.Fatalf("%s: body %s is not a JSON object: %v", c.Method, c.Body, err)
		}
		for _, e := range spec.check(c.Method, entry, body) {
			t.Errorf("%s: %s", c.Body, e)
		}
	}
	got := slices.Sorted(maps.Keys(methods))
	want := []string{"deleteWebhook", "getMe", "getUpdates", "getWebhookInfo", "setWebhook"}
	if !slices.Equal(got, want) {
		t.Errorf("the contract covered %v, want every method herald receives with: %v", got, want)
	}

	updateFields := map[string]bool{}
	for _, f := range spec.Types["Update"].Fields {
		updateFields[f.Name] = true
	}
	for _, name := range telegram.AllowedUpdates() {
		if name == "update_id" || !updateFields[name] {
			t.Errorf("AllowedUpdates names %q, which is not an update type of Bot API %s", name, spec.Version)
		}
	}
}

// TestUpdateFixturesConformToTheBotAPISpec holds the updates herald's tests feed it, and the
// answers they fake, to the spec's objects: what herald is tested against is what Telegram
// sends.
func TestUpdateFixturesConformToTheBotAPISpec(t *testing.T) {
	t.Parallel()
	spec := loadSpec(t)
	objects := map[string]struct{ typ, raw string }{
		"webhook info, set":   {"WebhookInfo", webhookInfoSet},
		"webhook info, unset": {"WebhookInfo", webhookInfoUnset},
	}
	for name, raw := range updateFixtures(t) {
		objects["testdata/updates/"+name+".json"] = struct{ typ, raw string }{"Update", `{"result":` + string(raw) + `}`}
	}
	for name, o := range objects {
		var answer struct{ Result map[string]any }
		if err := json.Unmarshal([]byte(o.raw), &answer); err != nil || answer.Result == nil {
			t.Fatalf("%s: not an object: %v", name, err)
		}
		for _, e := range spec.checkObject("result", o.typ, answer.Result) {
			t.Errorf("%s: %s", name, e)
		}
	}
}
