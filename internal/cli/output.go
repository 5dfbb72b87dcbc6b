package cli

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// obj is one result record with fields in a fixed order, rendered either as aligned text or as a
// JSON object with the same order, so both forms come from one description.
type obj struct {
	fields []field
}

type field struct {
	label string // text label
	key   string // JSON key
	value any    // string, bool, int, uint64, enum, hexBytes, *obj, []*obj, []string
}

// enum is a numeric code point with its name from the specification.
type enum struct {
	n    uint64
	name string
}

// hexBytes renders as lower-case hex in both forms.
type hexBytes []byte

func (o *obj) add(label, key string, v any) *obj {
	o.fields = append(o.fields, field{label, key, v})
	return o
}

func (e enum) String() string {
	if e.name == "" {
		return strconv.FormatUint(e.n, 10)
	}
	return fmt.Sprintf("%d (%s)", e.n, e.name)
}

// writeText renders o with two spaces of indentation per level and labels aligned per object.
func (o *obj) writeText(w io.Writer, indent int) {
	width := 0
	for _, f := range o.fields {
		if len(f.label) > width {
			width = len(f.label)
		}
	}
	pad := strings.Repeat(" ", indent)
	for _, f := range o.fields {
		switch v := f.value.(type) {
		case *obj:
			fmt.Fprintf(w, "%s%s:\n", pad, f.label)
			v.writeText(w, indent+2)
		case []*obj:
			if len(v) == 0 {
				fmt.Fprintf(w, "%s%-*s  (none)\n", pad, width+1, f.label+":")
				continue
			}
			for i, c := range v {
				fmt.Fprintf(w, "%s%s[%d]:\n", pad, f.label, i)
				c.writeText(w, indent+2)
			}
		default:
			fmt.Fprintf(w, "%s%-*s  %s\n", pad, width+1, f.label+":", textValue(v))
		}
	}
}

func textValue(v any) string {
	switch v := v.(type) {
	case hexBytes:
		if len(v) == 0 {
			return "(empty)"
		}
		return hex.EncodeToString(v)
	case []string:
		return strings.Join(v, ", ")
	case bool:
		if v {
			return "yes"
		}
		return "no"
	}
	return fmt.Sprint(v)
}

func (o *obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o.fields {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		var v any = f.value
		switch x := f.value.(type) {
		case hexBytes:
			v = hex.EncodeToString(x)
		case enum:
			e := map[string]any{"value": x.n}
			if x.name != "" {
				e["name"] = x.name
			}
			v = e
		case []*obj:
			if x == nil {
				x = []*obj{}
			}
			v = x
		}
		enc, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.key, err)
		}
		b.Write(enc)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// emit writes o to w as text or as indented JSON.
func emit(w io.Writer, o *obj, asJSON bool) error {
	if !asJSON {
		o.writeText(w, 0)
		return nil
	}
	b, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
