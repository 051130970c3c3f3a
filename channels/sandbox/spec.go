package sandbox

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

//go:generate go run ./internal/specgen -spec ../telegram/testdata/telegram-bot-api.json -out telegram_spec.json

// telegramSpecJSON is the part of the official Bot API spec the sandbox checks requests against:
// the emulated methods, every type they reference, and the update types (see internal/specgen).
//
//go:embed telegram_spec.json
var telegramSpecJSON []byte

// valueKind is what a spec type name means for a decoded JSON value.
type valueKind uint8

const (
	kindString valueKind = iota
	kindInteger
	kindFloat
	kindBoolean
	kindInputFile
	kindObject
)

// typeRef is one of the types a field may hold, e.g. "Array of Array of InlineKeyboardButton".
type typeRef struct {
	arrays int // how many "Array of" wrap the base type
	kind   valueKind
	object *objectSpec // for kindObject
	name   string      // the base type's spec name, e.g. "Integer" or "InlineKeyboardButton"
}

type fieldSpec struct {
	name     string
	types    []typeRef
	required bool
	enum     []string
}

// objectSpec is a method's parameters or a type's fields.
type objectSpec struct {
	name     string
	fields   map[string]*fieldSpec
	ordered  []*fieldSpec
	required []*fieldSpec
	// discriminator is the value the object's "type" field must have, for the InputMedia kinds.
	discriminator string
	// parseContext is how Telegram prefixes errors inside objects of this type, e.g.
	// "can't parse inline keyboard button"; empty where it adds none. Nested objects inherit
	// their parent's (a LoginUrl inside a button reports as the button).
	parseContext string
}

type apiSpec struct {
	version string
	methods map[string]*objectSpec // by name and lower-cased name: method names are case-insensitive
	types   map[string]*objectSpec
	// updateTypes are the names allowed_updates takes, in the spec's order.
	updateTypes []string
}

// parseContexts are Telegram's error prefixes for the objects it parses with a helper of its own.
var parseContexts = map[string]string{
	"InlineKeyboardButton": "can't parse inline keyboard button",
	"KeyboardButton":       "can't parse keyboard button",
	"MessageEntity":        "can't parse MessageEntity",
	"InputMediaPhoto":      "can't parse InputMedia",
	"InputMediaVideo":      "can't parse InputMedia",
	"InputMediaAudio":      "can't parse InputMedia",
	"InputMediaDocument":   "can't parse InputMedia",
	"InputMediaLivePhoto":  "can't parse InputMedia",
}

// loadSpec indexes the embedded spec once per process.
var loadSpec = sync.OnceValues(func() (*apiSpec, error) { return indexSpec(telegramSpecJSON) })

type rawField struct {
	Name     string   `json:"name"`
	Types    []string `json:"types"`
	Required bool     `json:"required"`
	Enum     []string `json:"enum"`
}

type rawEntry struct {
	Fields   []rawField `json:"fields"`
	Subtypes []string   `json:"subtypes"`
}

func indexSpec(data []byte) (*apiSpec, error) {
	var raw struct {
		Version     string              `json:"version"`
		UpdateTypes []string            `json:"update_types"`
		Methods     map[string]rawEntry `json:"methods"`
		Types       map[string]rawEntry `json:"types"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse embedded spec: %w", err)
	}
	spec := &apiSpec{version: raw.Version, methods: map[string]*objectSpec{}, types: map[string]*objectSpec{}, updateTypes: raw.UpdateTypes}
	// Allocate every type first so that fields can point at them, cycles included.
	for name := range raw.Types {
		spec.types[name] = &objectSpec{name: name, fields: map[string]*fieldSpec{}, parseContext: parseContexts[name]}
	}
	fill := func(o *objectSpec, e rawEntry) error {
		for _, f := range e.Fields {
			fs := &fieldSpec{name: f.Name, required: f.Required, enum: f.Enum}
			for _, t := range f.Types {
				ref, err := spec.resolve(t)
				if err != nil {
					return fmt.Errorf("%s.%s: %w", o.name, f.Name, err)
				}
				fs.types = append(fs.types, ref)
			}
			o.fields[f.Name] = fs
			o.ordered = append(o.ordered, fs)
			if f.Required {
				o.required = append(o.required, fs)
			}
			if f.Name == "type" && len(f.Enum) == 1 && strings.HasPrefix(o.name, "InputMedia") {
				o.discriminator = f.Enum[0]
			}
		}
		return nil
	}
	for name, e := range raw.Types {
		if err := fill(spec.types[name], e); err != nil {
			return nil, err
		}
	}
	for name, e := range raw.Methods {
		o := &objectSpec{name: name, fields: map[string]*fieldSpec{}}
		if err := fill(o, e); err != nil {
			return nil, err
		}
		spec.methods[name] = o
		spec.methods[strings.ToLower(name)] = o
	}
	return spec, nil
}

func (s *apiSpec) resolve(name string) (typeRef, error) {
	var ref typeRef
	for strings.HasPrefix(name, "Array of ") {
		ref.arrays++
		name = strings.TrimPrefix(name, "Array of ")
	}
	ref.name = name
	switch name {
	case "String":
		ref.kind = kindString
	case "Integer":
		ref.kind = kindInteger
	case "Float":
		ref.kind = kindFloat
	case "Boolean":
		ref.kind = kindBoolean
	case "InputFile":
		ref.kind = kindInputFile
	default:
		o, ok := s.types[name]
		if !ok {
			return ref, fmt.Errorf("unknown type %q", name)
		}
		ref.kind = kindObject
		ref.object = o
	}
	return ref, nil
}

// method returns the spec of a method by its case-insensitive name.
func (s *apiSpec) method(name string) (*objectSpec, bool) {
	if o, ok := s.methods[name]; ok {
		return o, true
	}
	o, ok := s.methods[strings.ToLower(name)]
	return o, ok
}
