package strictyaml_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/heraldcli/herald/internal/strictyaml"
)

type inner struct {
	Name string   `yaml:"name"`
	Tags []string `yaml:"tags"`
}

type doc struct {
	Title string           `yaml:"title"`
	Count int              `yaml:"count"`
	Inner inner            `yaml:"inner"`
	List  []inner          `yaml:"list"`
	Map   map[string]inner `yaml:"map"`
	Skip  string           `yaml:"-"`
}

func TestDecodeReportsEveryProblemWithItsLine(t *testing.T) {
	t.Parallel()
	src := `title: ok
count: many
inner:
  name: x
  nmae: y
list:
  - {name: a, colour: red}
map:
  k: {name: b, size: 3}
Skip: no
`
	var d doc
	_, err := strictyaml.Decode("f.yaml", []byte(src), &d, "doc")
	var es strictyaml.Errors
	if !errors.As(err, &es) {
		t.Fatalf("want Errors, got %v", err)
	}
	want := []string{
		`f.yaml:5: unknown key "nmae" in inner`,
		`f.yaml:7: unknown key "colour" in list[]`,
		`f.yaml:9: unknown key "size" in map.k`,
		`f.yaml:10: unknown key "Skip" in doc`,
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
	// Unknown keys are reported before decoding; fixing them leaves the type error.
	_, err = strictyaml.Decode("f.yaml", []byte("title: ok\ncount: many\n"), &d, "doc")
	if err == nil || !strings.Contains(err.Error(), "f.yaml:2:") || !strings.Contains(err.Error(), "many") {
		t.Fatalf("type error: %v", err)
	}
}

func TestDecodeAndLookup(t *testing.T) {
	t.Parallel()
	var d doc
	root, err := strictyaml.Decode("f.yaml", []byte("title: t\nlist:\n  - name: a\n  - name: b\n"), &d, "doc")
	if err != nil || d.Title != "t" || len(d.List) != 2 || d.List[1].Name != "b" {
		t.Fatalf("%+v %v", d, err)
	}
	if n := strictyaml.Lookup(root, "list.1.name"); n == nil || n.Line != 4 || n.Value != "b" {
		t.Fatalf("Lookup list.1.name: %+v", n)
	}
	if n := strictyaml.Lookup(root, "list.7"); n == nil || n.Line != 3 {
		t.Fatalf("Lookup of a missing index falls back to the parent: %+v", n)
	}
	if root, err := strictyaml.Decode("f.yaml", nil, &d, "doc"); root != nil || err != nil {
		t.Fatalf("empty document: %v %v", root, err)
	}
	if _, err := strictyaml.Decode("f.yaml", []byte("- a\n- b\n"), &d, "doc"); err == nil || !strings.Contains(err.Error(), "f.yaml:1: doc must be a YAML mapping") {
		t.Fatalf("a list is not a mapping: %v", err)
	}
}

func TestDurationErrorSaysHowToWriteOne(t *testing.T) {
	t.Parallel()
	var d struct {
		Every time.Duration `yaml:"every"`
	}
	_, err := strictyaml.Decode("f.yaml", []byte("every: soon\n"), &d, "doc")
	if err == nil || !strings.Contains(err.Error(), "f.yaml:1:") || !strings.Contains(err.Error(), "a duration such as 30s, 15m or 24h") {
		t.Fatalf("duration error: %v", err)
	}
}
