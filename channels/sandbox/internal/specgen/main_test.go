package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestGeneratedFileIsCurrent fails when channels/sandbox/telegram_spec.json is not what the
// generator makes from the spec, i.e. when someone edited it by hand or the spec moved on
// without `go generate ./channels/sandbox`.
func TestGeneratedFileIsCurrent(t *testing.T) {
	// The full spec is kept in the repository for the Telegram contract test.
	specPath := filepath.Join("..", "..", "..", "telegram", "testdata", specName)
	if env := os.Getenv("TELEGRAM_BOT_API_SPEC"); env != "" {
		specPath = env
	}
	raw, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := generate(raw, defaultMethods)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join("..", "..", "telegram_spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, committed) {
		t.Fatal("telegram_spec.json is stale: run `go generate ./channels/sandbox`")
	}
}

func TestGenerateRejectsAnUnknownMethod(t *testing.T) {
	_, err := generate([]byte(`{"methods":{},"types":{}}`), []string{"sendTelepathy"})
	if err == nil {
		t.Fatal("want an error for a method the spec lacks")
	}
}

func TestGenerateFollowsReferencesAndSubtypes(t *testing.T) {
	spec := []byte(`{
	  "version": "Bot API 0",
	  "methods": {"send": {"fields": [{"name": "m", "types": ["Array of Array of Outer"], "required": true}]}},
	  "types": {
	    "Outer": {"fields": [{"name": "inner", "types": ["Inner", "Integer"]}]},
	    "Inner": {"subtypes": ["Leaf"]},
	    "Leaf": {"fields": [{"name": "type", "types": ["String"], "required": true, "description": "Type of the leaf, must be leaf"}]},
	    "Unused": {"fields": []}
	  }
	}`)
	out, err := generate(spec, []string{"send"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Outer"`, `"Inner"`, `"Leaf"`, `"enum": [`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	if bytes.Contains(out, []byte(`"Unused"`)) {
		t.Errorf("output holds an unreferenced type:\n%s", out)
	}
}

func TestEnumOf(t *testing.T) {
	tests := []struct {
		description string
		want        []string
	}{
		{"Type of the media, must be photo", []string{"photo"}},
		{`Optional. Style of the button. Must be one of "danger" (red), "success" (green) or "primary" (blue).`, []string{"danger", "success", "primary"}},
		{`Type of the entity. Currently, can be "mention" (@username), or "bold" (bold text).`, []string{"mention", "bold"}},
		{`Pass "attach://<file_attach_name>" to upload`, nil},
		{"Text of the message to be sent, 1-4096 characters after entities parsing", nil},
	}
	for _, tt := range tests {
		if got := enumOf(tt.description); !slices.Equal(got, tt.want) {
			t.Errorf("enumOf(%q) = %q, want %q", tt.description, got, tt.want)
		}
	}
}

func TestGenerateListsUpdateTypes(t *testing.T) {
	spec := []byte(`{
	  "methods": {"getUpdates": {"fields": []}},
	  "types": {"Update": {"fields": [
	    {"name": "update_id", "types": ["Integer"], "required": true},
	    {"name": "message", "types": ["Message"]},
	    {"name": "my_chat_member", "types": ["ChatMemberUpdated"]}
	  ]}}
	}`)
	out, err := generate(spec, []string{"getUpdates"})
	if err != nil {
		t.Fatal(err)
	}
	var got genSpec
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if want := []string{"message", "my_chat_member"}; !slices.Equal(got.UpdateTypes, want) {
		t.Errorf("update_types = %q, want %q", got.UpdateTypes, want)
	}
	if _, ok := got.Types["Update"]; ok {
		t.Error("the Update type is listed although no method references it")
	}
}
