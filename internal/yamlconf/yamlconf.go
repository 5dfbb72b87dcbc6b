package yamlconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a configuration problem: the file, line (0 when unknown) and field (dotted path,
// "" when unknown) it concerns.
type Error struct {
	File  string
	Line  int
	Field string
	Err   error
}

// Error reads "file:line: field: message" ("line 3: field: message" without a file name),
// leaving out what is unknown.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "":
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrEmpty is wrapped by the error of decoding a document with no content.
var ErrEmpty = errors.New("empty document")

// Limits bound a file's shape; a zero field takes the Default value. What names the kind of
// file in messages ("an account file").
type Limits struct {
	MaxBytes       int // size of the file
	MaxNodes       int // YAML nodes (scalars, mappings, lists, keys) in the document
	MaxMappingKeys int // keys in one mapping
	MaxSequence    int // entries in one list
	What           string
}

// Default limits: a hand-written configuration of a few hundred lines.
const (
	DefaultMaxBytes       = 1 << 20
	DefaultMaxNodes       = 1 << 16
	DefaultMaxMappingKeys = 256
	DefaultMaxSequence    = 4096
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = DefaultMaxNodes
	}
	if l.MaxMappingKeys <= 0 {
		l.MaxMappingKeys = DefaultMaxMappingKeys
	}
	if l.MaxSequence <= 0 {
		l.MaxSequence = DefaultMaxSequence
	}
	if l.What == "" {
		l.What = "a configuration file"
	}
	return l
}

// Doc is a parsed document that passed the shape checks.
type Doc struct {
	File string
	Root yaml.Node // a DocumentNode; Kind 0 for an empty document
	data []byte
}

// ReadFile reads a file of at most lim.MaxBytes; errors are *Error naming path.
func ReadFile(path string, lim Limits) ([]byte, error) {
	lim = lim.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already the Error's File
		}
		return nil, &Error{File: path, Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(lim.MaxBytes)+1))
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	if len(data) > lim.MaxBytes {
		return nil, &Error{File: path, Err: tooLarge(lim)}
	}
	return data, nil
}

func tooLarge(lim Limits) error {
	size := fmt.Sprintf("%d octets", lim.MaxBytes)
	if lim.MaxBytes%(1<<20) == 0 {
		size = fmt.Sprintf("%d MiB", lim.MaxBytes>>20)
	} else if lim.MaxBytes%(1<<10) == 0 {
		size = fmt.Sprintf("%d KiB", lim.MaxBytes>>10)
	}
	return fmt.Errorf("larger than %s: not %s", size, lim.What)
}

// Parse checks data's size, syntax and shape (see the package doc) without decoding it into
// a Go value.
func Parse(file string, data []byte, lim Limits) (*Doc, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, &Error{File: file, Err: tooLarge(lim)}
	}
	d := &Doc{File: file, data: data}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d.Root); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &Error{File: file, Line: extra.Line, Err: errors.New("more than one YAML document")}
	}
	if err := checkShape(file, &d.Root, lim); err != nil {
		return nil, err
	}
	return d, nil
}

// Decode parses data (as Parse) and decodes it into v, refusing unknown keys. An empty
// document is an error wrapping ErrEmpty (v is left as it was).
func Decode(file string, data []byte, v any, lim Limits) (*Doc, error) {
	d, err := Parse(file, data, lim)
	if err != nil {
		return nil, err
	}
	return d, d.Decode(v)
}

// Decode decodes the document into v, refusing unknown keys.
func (d *Doc) Decode(v any) error {
	if d.Root.Kind == 0 {
		return &Error{File: d.File, Err: ErrEmpty}
	}
	// Decoding from the text (not from Root) keeps KnownFields, which yaml.Node.Decode lacks.
	dec := yaml.NewDecoder(bytes.NewReader(d.data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return &Error{File: d.File, Err: ErrEmpty}
		}
		e := yamlError(d.File, err)
		if e.Line > 0 && strings.HasPrefix(e.Err.Error(), "cannot unmarshal") {
			// yaml.v3 names the type, not the key ("cannot unmarshal !!str `x` into bool").
			kind := yaml.ScalarNode
			switch {
			case strings.HasPrefix(e.Err.Error(), "cannot unmarshal !!seq"):
				kind = yaml.SequenceNode
			case strings.HasPrefix(e.Err.Error(), "cannot unmarshal !!map"):
				kind = yaml.MappingNode
			}
			e.Field = pathAtLine(&d.Root, e.Line, kind)
		}
		return e
	}
	return nil
}

// pathAtLine is the dotted path of the first value of the given kind that starts on line (as
// yaml.v3 reports its first failure), or "" when there is none.
func pathAtLine(n *yaml.Node, line int, kind yaml.Kind) string {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	var keys []string
	var values []*yaml.Node
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			keys, values = append(keys, n.Content[i].Value), append(values, n.Content[i+1])
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			keys, values = append(keys, strconv.Itoa(i)), append(values, c)
		}
	}
	for i, v := range values {
		if v.Kind == kind && v.Line == line {
			return keys[i]
		}
		if sub := pathAtLine(v, line, kind); sub != "" {
			return keys[i] + "." + sub
		}
	}
	return ""
}

// Line is the line of the value at a dotted path ("security.mode", "codecs.1", also written
// "codecs[1]"), or of the deepest key found on the way; 0 if none is.
func (d *Doc) Line(path string) int {
	if d == nil {
		return 0
	}
	return NodeLine(&d.Root, path)
}

// Errorf is an *Error about the field at path, with its line.
func (d *Doc) Errorf(path, format string, args ...any) error {
	e := &Error{Line: d.Line(path), Field: path, Err: fmt.Errorf(format, args...)}
	if d != nil {
		e.File = d.File
	}
	return e
}

// NodeLine is Doc.Line for any node.
func NodeLine(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	path = strings.ReplaceAll(strings.ReplaceAll(path, "]", ""), "[", ".")
	for _, key := range strings.Split(path, ".") {
		switch n.Kind {
		case yaml.MappingNode:
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					line, n, found = n.Content[i].Line, n.Content[i+1], true
					break
				}
			}
			if !found {
				return line
			}
		case yaml.SequenceNode:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		default:
			return line
		}
	}
	return line
}

// goType is the package qualifier of a Go type name in yaml.v3 messages ("in type cli.Account").
var goType = regexp.MustCompile(`\b(in type|into) \*?[a-z][a-z0-9_]*\.`)

// yamlError turns a yaml.v3 error ("yaml: line 3: ..." or a TypeError listing "line 3: field x
// not found in type cli.Account") into an *Error naming the file and line.
func yamlError(file string, err error) *Error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
		if len(te.Errors) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(te.Errors)-1)
		}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if _, serr := fmt.Sscanf(msg, "line %d:", &line); serr == nil {
		msg = strings.TrimSpace(strings.SplitN(msg, ":", 2)[1])
	}
	msg = goType.ReplaceAllStringFunc(msg, func(s string) string {
		if strings.HasPrefix(s, "in type") {
			return "in "
		}
		return "into "
	})
	return &Error{File: file, Line: line, Err: errors.New(msg)}
}
