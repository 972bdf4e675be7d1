package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder fills a Config from a yaml.Node tree. Unlike yaml.v3's own
// decoding it reports every problem with its path, rejects unknown keys at
// any depth, and expands ${VAR} in scalar values (never in keys), so a
// variable can neither move a line nor inject YAML structure.
type decoder struct {
	getenv   func(string) string
	problems *problems
	// lines maps a path to the line where it starts: its key's line, or
	// its item's line in a list.
	lines map[string]int
	// vars maps a path to the variables its value referred to.
	vars map[string][]string
}

var (
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decode sets v, which must be addressable, from n. A null leaves v zero.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		if s, ok := d.scalar(n, path, "a string"); ok {
			if err := u.UnmarshalText([]byte(s)); err != nil {
				d.problems.add(n.Line, path, "%v", err)
			}
		}
		return
	}
	if v.Type() == durationType {
		if s, ok := d.scalar(n, path, "a duration"); ok {
			duration, err := parseDuration(s)
			if err != nil {
				d.problems.add(n.Line, path, "%q is not a duration (such as 7d, 24h, 2s or 500ms)", s)
				return
			}
			v.SetInt(int64(duration))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path, "true or false"); ok {
			b, err := strconv.ParseBool(s)
			if err != nil {
				d.problems.add(n.Line, path, "%q is not true or false", s)
				return
			}
			v.SetBool(b)
		}
	case reflect.Int:
		if s, ok := d.scalar(n, path, "an integer"); ok {
			i, err := strconv.Atoi(s)
			if err != nil {
				d.problems.add(n.Line, path, "%q is not an integer", s)
				return
			}
			v.SetInt(int64(i))
		}
	default:
		panic(fmt.Sprintf("config: no decoding for %s at %s", v.Type(), path))
	}
}

// scalar returns n's value with variables expanded, or reports why it
// cannot. Its messages never quote the value: it may be a secret.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.problems.add(n.Line, path, "want %s, got %s", want, describe(n))
		return "", false
	}
	s, vars, err := expand(n.Value, d.getenv)
	if err != nil {
		d.problems.add(n.Line, path, "%v", err)
		return "", false
	}
	d.vars[path] = append(d.vars[path], vars...)
	return s, true
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	var names []string
	fields := make(map[string]int)
	for i := range t.NumField() {
		if name := t.Field(i).Tag.Get("yaml"); name != "" && name != "-" {
			names = append(names, name)
			fields[name] = i
		}
	}
	d.eachPair(n, path, func(key, value *yaml.Node, keyPath string) {
		i, known := fields[key.Value]
		if !known {
			d.problems.add(key.Line, keyPath, "unknown key (known keys: %s)", strings.Join(names, ", "))
			return
		}
		d.decode(value, v.Field(i), keyPath)
	})
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	m := reflect.MakeMap(t)
	d.eachPair(n, path, func(key, value *yaml.Node, keyPath string) {
		k := reflect.New(t.Key())
		if u, ok := k.Interface().(encoding.TextUnmarshaler); ok {
			if err := u.UnmarshalText([]byte(key.Value)); err != nil {
				d.problems.add(key.Line, keyPath, "%v", err)
				return
			}
		} else {
			k.Elem().SetString(key.Value)
		}
		elem := reflect.New(t.Elem())
		d.decode(value, elem.Elem(), keyPath)
		m.SetMapIndex(k.Elem(), elem.Elem())
	})
	v.Set(m)
}

// eachPair calls f for each key and value of mapping n, after checking the
// key and recording its line. It reports a node that is not a mapping, keys
// that are not plain values, merge keys and duplicate keys.
func (d *decoder) eachPair(n *yaml.Node, path string, f func(key, value *yaml.Node, keyPath string)) {
	if n.Kind != yaml.MappingNode {
		d.problems.add(n.Line, path, "want a mapping (key: value), got %s", describe(n))
		return
	}
	firstLine := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		keyPath := joinPath(path, key.Value)
		switch {
		case key.Kind != yaml.ScalarNode:
			d.problems.add(key.Line, path, "a key must be a single value, not %s", describe(key))
			continue
		case key.ShortTag() == "!!merge":
			d.problems.add(key.Line, keyPath, "merge keys are not supported: use an alias (*name) for the whole value")
			continue
		}
		if line, seen := firstLine[key.Value]; seen {
			d.problems.add(key.Line, keyPath, "duplicate key (first at line %d)", line)
			continue
		}
		firstLine[key.Value] = key.Line
		d.lines[keyPath] = key.Line
		f(key, value, keyPath)
	}
}

// decodeSlice decodes a list. A problem with an item of a list of plain
// values is reported at the list's path (channels[0].hours.weekly.mon) and
// the item's line; an item of a list of mappings has its own path
// (channels[0]).
func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.problems.add(n.Line, path, "want a list, got %s", describe(n))
		return
	}
	list := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	plainItems := isPlain(v.Type().Elem())
	for i, item := range n.Content {
		itemPath := fmt.Sprintf("%s[%d]", path, i)
		d.lines[itemPath] = item.Line
		if plainItems {
			d.decode(item, list.Index(i), path)
		} else {
			d.decode(item, list.Index(i), itemPath)
		}
	}
	v.Set(list)
}

// isPlain reports whether values of t are written as one YAML scalar.
func isPlain(t reflect.Type) bool {
	if t == durationType || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int:
		return true
	}
	return false
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a single value"
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
