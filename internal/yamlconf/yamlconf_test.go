package yamlconf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

type inner struct {
	Name  string        `yaml:"name"`
	Every time.Duration `yaml:"every"`
}

type conf struct {
	Listen string            `yaml:"listen"`
	Inner  inner             `yaml:"inner"`
	List   []string          `yaml:"list"`
	Map    map[string]string `yaml:"map"`
	Alt    alt               `yaml:"alt"`
}

// alt is a scalar or a mapping, like a secret {env: X} or the KMS store section.
type alt struct {
	Value string
	Env   string `yaml:"env"`
}

func (a *alt) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		a.Value = n.Value
		return nil
	}
	type plain alt
	var p plain
	if err := DecodeNode(n, &p); err != nil {
		return err
	}
	*a = alt(p)
	return nil
}

var small = Limits{MaxBytes: 4096, MaxNodes: 200, MaxMappingKeys: 8, MaxSequence: 8, What: "a test file"}

func TestDecodeGood(t *testing.T) {
	var c conf
	doc, err := Decode("t.yaml", []byte("listen: 127.0.0.1:1\ninner:\n  name: x\n  every: 2s\nlist: [a, b]\nmap: {k: v}\nalt: {env: E}\n"), &c, small)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:1" || c.Inner.Name != "x" || c.Inner.Every != 2*time.Second || len(c.List) != 2 || c.Map["k"] != "v" || c.Alt.Env != "E" {
		t.Fatalf("%+v", c)
	}
	for path, want := range map[string]int{"listen": 1, "inner.every": 4, "list.1": 5, "list[1]": 5, "map.k": 6, "alt.env": 7, "inner.nope": 2, "nope": 0} {
		if got := doc.Line(path); got != want {
			t.Errorf("Line(%q) = %d, want %d", path, got, want)
		}
	}
	err = doc.Errorf("inner.every", "too %s", "slow")
	if err.Error() != "t.yaml:4: inner.every: too slow" {
		t.Errorf("Errorf: %q", err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	keys := func(n int, same bool) string {
		var b strings.Builder
		for i := range n {
			if same {
				i = 0
			}
			fmt.Fprintf(&b, "k%d: v\n", i)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, yaml string
		want       string // the whole Error() text
	}{
		{"alias", "inner:\n  name: &n x\nlisten: *n\n", "t.yaml:3: YAML aliases are not supported in a test file (at listen)"},
		{"alias bomb", "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "t.yaml:2: YAML aliases are not supported in a test file (at b.0)"},
		{"merge key", "inner:\n  <<: {name: x}\n", "t.yaml:2: YAML merge keys (<<) are not supported in a test file (at inner)"},
		{"repeated key", "listen: a\ninner: {}\nlisten: b\n", "t.yaml:3: listen: repeated key (first at line 1)"},
		{"repeated nested key", "inner:\n  name: a\n  name: b\n", "t.yaml:3: inner.name: repeated key (first at line 2)"},
		{"complex key", "? [a]\n: b\n", "t.yaml:1: a mapping key must be a plain value, not a list"},
		{"too many keys", keys(9, false), "t.yaml:1: a mapping with more than 8 keys"},
		{"long list", "list: [a, b, c, d, e, f, g, h, i]\n", "t.yaml:1: a list with more than 8 entries (at list)"},
		{"too many nodes", "map: {}\nlist: [[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a]]\n" +
			"inner: {name: [[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a]]}\n" +
			"alt: [[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a],[a,a,a,a,a,a,a,a]]\n", "t.yaml:4: more than 200 YAML nodes: not a test file"},
		{"too large", "listen: " + strings.Repeat("x", 4096) + "\n", "t.yaml: larger than 4 KiB: not a test file"},
		{"two documents", "listen: a\n---\nlisten: b\n", "t.yaml:2: more than one YAML document"},
		{"unknown field", "listen: a\ninner:\n  nmae: x\n", "t.yaml:3: field nmae not found in inner"},
		{"unknown field in DecodeNode", "listen: a\nalt:\n  env: X\n  evn: Y\n", "t.yaml:4: field evn not found in plain"},
		{"type error", "listen: a\ninner:\n  every: soon\n", "t.yaml:3: inner.every: cannot unmarshal !!str `soon` into Duration"},
		{"type error in a list", "list:\n  - a\n  - [b]\n", "t.yaml:3: list.1: cannot unmarshal !!seq into string"},
		{"syntax", "listen: [\n", "t.yaml:1: did not find expected node content"},
		{"empty", "# nothing\n", "t.yaml: empty document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c conf
			_, err := Decode("t.yaml", []byte(tc.yaml), &c, small)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v, want *Error", err, err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q, want %q", err, tc.want)
			}
		})
	}
	var c conf
	if _, err := Decode("t.yaml", nil, &c, small); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v, want ErrEmpty", err)
	}
	// A quoted "<<" is an ordinary key (here unknown), not a merge.
	if _, err := Decode("t.yaml", []byte("\"<<\": x\n"), &c, small); err == nil || !strings.Contains(err.Error(), "field << not found") {
		t.Errorf("quoted <<: %v", err)
	}
}

// The 4000-key file of equal keys that took yaml.v3 seconds is refused by the key count, and
// one of 4000 distinct keys within a generous limit by the first repeated key.
func TestHostileKeys(t *testing.T) {
	same := []byte(strings.Repeat("k: v\n", 4000))
	var m map[string]string
	if _, err := Decode("h.yaml", same, &m, Limits{}); err == nil || !strings.Contains(err.Error(), "more than 256 keys") {
		t.Errorf("default limits: %v", err)
	}
	if _, err := Decode("h.yaml", same, &m, Limits{MaxMappingKeys: 5000}); err == nil || err.Error() != "h.yaml:2: k: repeated key (first at line 1)" {
		t.Errorf("repeated: %v", err)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte(strings.Repeat("#\n", 600)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(p, Limits{MaxBytes: 1000, What: "a test file"}); err == nil || err.Error() != p+": larger than 1000 octets: not a test file" {
		t.Errorf("large: %v", err)
	}
	if b, err := ReadFile(p, Limits{MaxBytes: 1200}); err != nil || len(b) != 1200 {
		t.Errorf("fits: %d %v", len(b), err)
	}
	_, err := ReadFile(filepath.Join(dir, "missing.yaml"), Limits{})
	if !errors.Is(err, os.ErrNotExist) || err.Error() != filepath.Join(dir, "missing.yaml")+": no such file or directory" {
		t.Errorf("missing: %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	base := errors.New("bad")
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "f", Line: 3, Field: "a.b", Err: base}, "f:3: a.b: bad"},
		{Error{File: "f", Err: base}, "f: bad"},
		{Error{Field: "a", Err: base}, "a: bad"},
		{Error{Line: 3, Err: base}, "line 3: bad"},
		{Error{Err: base}, "bad"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
		if !errors.Is(&tc.e, base) {
			t.Error("does not unwrap")
		}
	}
}
