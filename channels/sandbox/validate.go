package sandbox

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// upload is a file sent as a part of a multipart/form-data body.
type upload struct {
	part     string
	filename string
	size     int64
}

// checkParams checks a method's parameters against the spec: no field the spec does not define
// for the method, every required one present, and every value of a type the spec allows,
// nested objects included. A JSON null counts as absent, as it does for Telegram.
func checkParams(m *objectSpec, params map[string]any) *apiError {
	present := 0
	var missing *fieldSpec
	for _, f := range m.ordered {
		v, ok := params[f.name]
		if ok {
			present++
		}
		if f.required && (!ok || v == nil) && missing == nil {
			missing = f
		}
	}
	if present < len(params) {
		var unknown []string
		for name := range params {
			if _, ok := m.fields[name]; !ok {
				unknown = append(unknown, name)
			}
		}
		slices.Sort(unknown)
		return badRequestf(descUnknownField, unknown[0])
	}
	if missing != nil {
		return badRequestf(descRequiredField, missing.name)
	}
	for _, f := range m.ordered {
		if v, ok := params[f.name]; ok && v != nil {
			if err := checkValue(f.name, f.types, f.enum, v, f.name, "", f.name); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkValue checks v against the types a field allows. name is the field's name, path where
// it sits in the request (for the sandbox's own messages), ctx Telegram's error prefix for the
// enclosing object, and top the top-level parameter it belongs to.
func checkValue(name string, refs []typeRef, enum []string, v any, path, ctx, top string) *apiError {
	switch v := v.(type) {
	case string:
		for _, r := range refs {
			if r.arrays == 0 && r.kind == kindString {
				return checkEnum(name, enum, v, ctx)
			}
		}
	case json.Number:
		for _, r := range refs {
			if r.arrays != 0 {
				continue
			}
			if r.kind == kindFloat {
				return nil
			}
			if r.kind == kindInteger {
				if _, err := strconv.ParseInt(string(v), 10, 64); err == nil {
					return nil
				}
			}
		}
	case bool:
		for _, r := range refs {
			if r.arrays == 0 && r.kind == kindBoolean {
				return nil
			}
		}
	case *upload:
		for _, r := range refs {
			if r.arrays == 0 && r.kind == kindInputFile {
				return nil
			}
		}
	case []any:
		var inner []typeRef
		for _, r := range refs {
			if r.arrays > 0 {
				r.arrays--
				inner = append(inner, r)
			}
		}
		if len(inner) > 0 {
			for i, elem := range v {
				if elem == nil {
					return typeError(name, inner, ctx)
				}
				if err := checkValue(name, inner, enum, elem, path+"["+strconv.Itoa(i)+"]", ctx, top); err != nil {
					return err
				}
			}
			return nil
		}
	case map[string]any:
		var candidates []*objectSpec
		for _, r := range refs {
			if r.arrays == 0 && r.kind == kindObject {
				candidates = append(candidates, r.object)
			}
		}
		if len(candidates) > 0 {
			o, err := pickVariant(name, candidates, v, top)
			if err != nil {
				return err
			}
			return checkObject(o, v, path, ctx, top)
		}
	}
	return typeError(name, refs, ctx)
}

// pickVariant chooses which of several object types a value is: by its "type" for the
// InputMedia kinds, else the first whose required fields are all present.
func pickVariant(name string, candidates []*objectSpec, v map[string]any, top string) (*objectSpec, *apiError) {
	if len(candidates) == 1 {
		return candidates[0], nil
	}
	if candidates[0].discriminator != "" {
		kind, ok := v["type"].(string)
		if !ok {
			return nil, badRequestf(descNestedMissing, candidates[0].parseContext, "type")
		}
		for _, c := range candidates {
			if c.discriminator == kind {
				return c, nil
			}
		}
		switch kind {
		case "animation", "photo", "video", "audio", "document", "live_photo":
			return nil, badRequestf(descMediaTypeNotGroup, kind)
		}
		return nil, badRequestf(descMediaType, kind)
	}
	for _, c := range candidates {
		complete := true
		for _, f := range c.required {
			if _, ok := v[f.name]; !ok {
				complete = false
				break
			}
		}
		if complete {
			return c, nil
		}
	}
	if top == "reply_markup" {
		return nil, badRequest(descReplyMarkup)
	}
	names := make([]string, len(candidates))
	for i, c := range candidates {
		names[i] = c.name
	}
	return nil, badRequestf(descNoVariant, name, strings.Join(names, ", "))
}

func checkObject(o *objectSpec, v map[string]any, path, ctx, top string) *apiError {
	if o.parseContext != "" {
		ctx = o.parseContext
	}
	present := 0
	var missing *fieldSpec
	for _, f := range o.ordered {
		fv, ok := v[f.name]
		if ok {
			present++
		}
		if f.required && (!ok || fv == nil) && missing == nil {
			missing = f
		}
	}
	if present < len(v) {
		var unknown []string
		for name := range v {
			if _, ok := o.fields[name]; !ok {
				unknown = append(unknown, name)
			}
		}
		slices.Sort(unknown)
		return badRequestf(descUnknownField, path+"."+unknown[0])
	}
	if missing != nil {
		if ctx != "" {
			return badRequestf(descNestedMissing, ctx, missing.name)
		}
		return badRequestf(descMissingField, missing.name)
	}
	for _, f := range o.ordered {
		if fv, ok := v[f.name]; ok && fv != nil {
			if err := checkValue(f.name, f.types, f.enum, fv, path+"."+f.name, ctx, top); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkEnum(name string, enum []string, v, ctx string) *apiError {
	if len(enum) == 0 || slices.Contains(enum, v) {
		return nil
	}
	switch {
	case ctx == parseContexts["MessageEntity"] && name == "type":
		return badRequest(descEntityType)
	case name == "style":
		return badRequest(descButtonStyle)
	}
	quoted := make([]string, len(enum))
	for i, e := range enum {
		quoted[i] = strconv.Quote(e)
	}
	return badRequestf(descEnum, name, strings.Join(quoted, ", "))
}

// typeError words a value of the wrong type as Telegram does: the expected JSON type.
func typeError(name string, refs []typeRef, ctx string) *apiError {
	var kinds []string
	for _, r := range refs {
		k := r.name
		switch {
		case r.arrays > 0:
			k = "Array"
		case r.kind == kindObject:
			k = "Object"
		case r.kind == kindInputFile:
			k = "InputFile"
		}
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	want := strings.Join(kinds, " or ")
	if ctx != "" {
		return badRequestf(descNestedType, ctx, name, want)
	}
	return badRequestf(descFieldType, name, want)
}

// formValue turns a form field's text into the value the spec's types call for: JSON for
// objects and arrays, as Telegram reads them, numbers and booleans parsed, strings kept.
func formValue(m *objectSpec, name, text string) (any, *apiError) {
	f, ok := m.fields[name]
	if !ok {
		return text, nil // reported as an unknown field
	}
	var isString, isInt, isFloat, isBool, isJSON bool
	for _, r := range f.types {
		switch {
		case r.arrays > 0 || r.kind == kindObject:
			isJSON = true
		case r.kind == kindString || r.kind == kindInputFile:
			isString = true
		case r.kind == kindInteger:
			isInt = true
		case r.kind == kindFloat:
			isFloat = true
		case r.kind == kindBoolean:
			isBool = true
		}
	}
	switch {
	case isString:
		return text, nil
	case isJSON:
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil || dec.More() {
			switch name {
			case "reply_markup":
				return nil, badRequest(descReplyMarkup)
			case "media":
				return nil, badRequest(descMediaJSON)
			}
			return nil, badRequestf(descFieldJSON, name)
		}
		return v, nil
	case isInt || isFloat:
		if isInt {
			if _, err := strconv.ParseInt(text, 10, 64); err == nil {
				return json.Number(text), nil
			}
		}
		if isFloat {
			if _, err := strconv.ParseFloat(text, 64); err == nil {
				return json.Number(text), nil
			}
		}
	case isBool:
		switch strings.ToLower(text) {
		case "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
	}
	return nil, typeError(name, f.types, "")
}
