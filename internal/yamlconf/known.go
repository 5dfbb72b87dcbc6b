package yamlconf

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// DecodeNode decodes a node refusing unknown keys, for the UnmarshalYAML methods of types that
// take more than one form (a secret as a string or {env: NAME}). yaml.Node.Decode has no
// KnownFields, so the keys are checked here against the yaml field names of v's type, the way
// yaml.v3 resolves them (tag name, else the lower-cased field name; ",inline" structs and maps),
// which keeps the lines exact. The node has passed Parse's checks.
func DecodeNode(n *yaml.Node, v any) error {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return fmt.Errorf("yamlconf: DecodeNode into %T, want a pointer", v)
	}
	var errs []string
	checkKnown(n, t.Elem(), &errs)
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	return n.Decode(v)
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// checkKnown appends "line N: field x not found in T" for each unknown key under n.
func checkKnown(n *yaml.Node, t reflect.Type, errs *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return // it checks its own keys
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		fields, anyKey := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				if !anyKey {
					*errs = append(*errs, fmt.Sprintf("line %d: field %s not found in %s", k.Line, k.Value, t.Name()))
				}
				continue
			}
			checkKnown(n.Content[i+1], ft, errs)
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 1; i < len(n.Content); i += 2 {
				checkKnown(n.Content[i], t.Elem(), errs)
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				checkKnown(c, t.Elem(), errs)
			}
		}
	}
}

// yamlFields are the keys a struct takes, as yaml.v3's getStructInfo finds them; anyKey when an
// inline map takes the rest.
func yamlFields(t reflect.Type) (fields map[string]reflect.Type, anyKey bool) {
	fields = map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue // unexported
		}
		tag := f.Tag.Get("yaml")
		if tag == "" && !strings.Contains(string(f.Tag), ":") {
			tag = string(f.Tag)
		}
		if tag == "-" {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		if strings.Contains(","+flags+",", ",inline,") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Struct:
				inner, innerAny := yamlFields(ft)
				for k, v := range inner {
					fields[k] = v
				}
				anyKey = anyKey || innerAny
			case reflect.Map:
				anyKey = true
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields, anyKey
}
