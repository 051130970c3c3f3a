// Package strictyaml decodes YAML files strictly: every unknown key and every
// value of the wrong type is reported with its file and line, all at once,
// instead of the first error or silence.
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is one problem at a line of a file (Line 0 when unknown).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Errors is every problem found, in file order.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Add appends a problem.
func (es *Errors) Add(file string, line int, format string, args ...any) {
	*es = append(*es, &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// Decode decodes the single YAML mapping in b into v (a pointer to a struct
// with yaml tags) and returns its root mapping node, for looking up lines.
// An empty document decodes to nothing and returns a nil node. Errors are
// Errors.
func Decode(file string, b []byte, v any, what string) (*yaml.Node, error) {
	var es Errors
	var root yaml.Node
	err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&root)
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		es.Add(file, line(err.Error()), "%s", message(err.Error()))
		return nil, es
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		es.Add(file, doc.Line, "%s must be a YAML mapping of keys to values", what)
		return nil, es
	}
	checkKeys(file, doc, reflect.TypeOf(v).Elem(), "", what, &es)
	if err := doc.Decode(v); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, m := range te.Errors {
				es.Add(file, line(m), "%s", message(m))
			}
		} else {
			es.Add(file, 0, "%s", message(err.Error()))
		}
	}
	if len(es) > 0 {
		return nil, es
	}
	return doc, nil
}

var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

func line(msg string) int {
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func message(msg string) string {
	msg = strings.TrimPrefix(lineRE.ReplaceAllString(msg, ""), "yaml: ")
	msg = strings.ReplaceAll(msg, "!!", "")
	if strings.HasSuffix(msg, "into time.Duration") {
		msg += ": write a duration such as 30s, 15m or 24h"
	}
	return msg
}

// checkKeys reports every mapping key that t has no field for, walking
// nested structs, slices and maps of structs.
func checkKeys(file string, n *yaml.Node, t reflect.Type, path, what string, es *Errors) {
	for {
		switch {
		case t.Kind() == reflect.Pointer:
			t = t.Elem()
			continue
		case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
			for _, c := range n.Content {
				checkKeys(file, c, t.Elem(), path+"[]", what, es)
			}
			return
		case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
			for i := 1; i < len(n.Content); i += 2 {
				checkKeys(file, n.Content[i], t.Elem(), path+"."+n.Content[i-1].Value, what, es)
			}
			return
		}
		break
	}
	if t.Kind() != reflect.Struct || n.Kind != yaml.MappingNode {
		return
	}
	fields := map[string]reflect.Type{}
	var names []string
	for f := range t.Fields() {
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ft, ok := fields[k.Value]
		where := what
		if path != "" {
			where = path
		}
		if !ok {
			es.Add(file, k.Line, "unknown key %q in %s (known keys: %s)", k.Value, where, strings.Join(names, ", "))
			continue
		}
		sub := k.Value
		if path != "" {
			sub = path + "." + k.Value
		}
		checkKeys(file, v, ft, sub, what, es)
	}
}

// Lookup returns the node at a dotted path under root ("message.text",
// "message.buttons.1"), or the deepest parent that exists; nil for a nil root.
func Lookup(root *yaml.Node, path string) *yaml.Node {
	n := root
	if n == nil || path == "" {
		return n
	}
	for part := range strings.SplitSeq(path, ".") {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part {
					next = n.Content[i+1]
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(part); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
			}
		}
		if next == nil {
			return n
		}
		n = next
	}
	return n
}
