package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/internal/closest"
)

// Error is one problem in a config file, located by line and key path
// (e.g. "kubernetes.environments[1].namespace").
type Error struct {
	File string
	Line int // 0 when the key is absent from the file (a missing required key)
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one file, in file order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[Secret]()
)

// decoder walks a yaml.Node tree into a value by reflection, so that it can
// report every unknown key, wrong type and bad duration with its line,
// instead of stopping at the first as yaml.Decoder.KnownFields does.
type decoder struct {
	file  string
	errs  Errors
	lines map[string]int // key path → line of its value, for validation errors
}

func (d *decoder) fail(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: path, Msg: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	}
	return "a string"
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.fail(n.Line, path, "unresolved alias *%s", n.Value)
			return
		}
		n = n.Alias
	}
	if _, ok := d.lines[path]; !ok && path != "" {
		d.lines[path] = n.Line // list items; keyed values have their key's line
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value leaves the default
	}
	t := v.Type()
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			d.fail(n.Line, path, "expected a duration like 5s or 2m, got %s", describe(n))
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.fail(n.Line, path, "invalid duration %q: write a number with a unit, like 5s, 2m or 1h", n.Value)
			return
		}
		if dur <= 0 {
			d.fail(n.Line, path, "must be positive, like 5s (leave it out for the default)")
			return
		}
		v.SetInt(int64(dur))
	case t == secretType && n.Kind != yaml.MappingNode:
		// Never echo the value: it is probably the secret itself, written inline.
		d.fail(n.Line, path, "a secret is read from {env: VARIABLE} or {file: PATH}, not written in the config (the value is not shown)")
	case t.Kind() == reflect.Pointer:
		elem := reflect.New(t.Elem())
		d.decode(n, elem.Elem(), path)
		v.Set(elem)
	case t.Kind() == reflect.Struct:
		d.decodeStruct(n, v, path)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n.Line, path, "expected a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case t.Kind() == reflect.Map:
		d.decodeMap(n, v, path)
	case t.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(n.Line, path, "expected a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case t.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || err != nil {
			d.fail(n.Line, path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case t.Kind() == reflect.Int:
		var i int
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
			d.fail(n.Line, path, "expected a whole number, got %s", describe(n))
			return
		}
		v.SetInt(int64(i))
	default:
		panic("config: no decoder for " + t.String()) // a programming error in the Config types
	}
}

type field struct {
	name  string
	index int
}

func fieldsOf(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		fs = append(fs, field{name, i})
	}
	return fs
}

// pairs returns a mapping's key/value pairs with YAML merge keys (<<) expanded,
// keys written in the mapping itself taking precedence.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) [][2]*yaml.Node {
	var own, merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			src := val
			if src.Kind == yaml.AliasNode && src.Alias != nil {
				src = src.Alias
			}
			if src.Kind != yaml.MappingNode || depth > 8 {
				d.fail(k.Line, path, "a merge key (<<) must name a mapping")
				continue
			}
			merged = append(merged, d.pairs(src, path, depth+1)...)
			continue
		}
		own = append(own, [2]*yaml.Node{k, val})
	}
	seen := map[string]bool{}
	for _, p := range own {
		seen[p[0].Value] = true
	}
	for _, p := range merged {
		if !seen[p[0].Value] {
			own = append(own, p)
			seen[p[0].Value] = true
		}
	}
	return own
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "expected a mapping of keys, got %s", describe(n))
		return
	}
	fs := fieldsOf(v.Type())
	known := make([]string, len(fs))
	for i, f := range fs {
		known[i] = f.name
	}
	seen := map[string]bool{}
	for _, p := range d.pairs(n, path, 0) {
		k, val := p[0], p[1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k.Line, path, "a key must be a plain word, got %s", describe(k))
			continue
		}
		kp := join(path, k.Value)
		i := indexOf(known, k.Value)
		switch {
		case i < 0 && v.Type() == secretType:
			// The key may be the secret itself, written twice or not:
			// neither name nor echo it.
			d.fail(k.Line, path, "unknown key (not shown): a secret takes only env or file")
			continue
		case seen[k.Value]:
			d.fail(k.Line, kp, "duplicate key: keep only one")
			continue
		case i < 0:
			seen[k.Value] = true
			d.fail(k.Line, kp, "unknown key%s", suggest(k.Value, known))
			continue
		}
		seen[k.Value] = true
		d.lines[kp] = k.Line
		d.decode(val, v.Field(fs[i].index), kp)
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "expected a mapping, got %s", describe(n))
		return
	}
	t := v.Type()
	m := reflect.MakeMap(t)
	for _, p := range d.pairs(n, path, 0) {
		k, val := p[0], p[1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k.Line, path, "a key must be a plain word, got %s", describe(k))
			continue
		}
		kp := join(path, k.Value)
		if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
			d.fail(k.Line, kp, "duplicate key: keep only one")
			continue
		}
		elem := reflect.New(t.Elem()).Elem()
		d.lines[kp] = k.Line
		d.decode(val, elem, kp)
		m.SetMapIndex(reflect.ValueOf(k.Value), elem)
	}
	v.Set(m)
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// suggest returns ": did you mean "x"?" for the nearest known key within a
// small edit distance, else the list of known keys.
func suggest(key string, known []string) string {
	if near := closest.Within(key, known, 2); len(near) > 0 {
		return fmt.Sprintf(" %q: did you mean %q?", key, near[0])
	}
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	return fmt.Sprintf(" %q: known keys here are %s", key, strings.Join(sorted, ", "))
}
