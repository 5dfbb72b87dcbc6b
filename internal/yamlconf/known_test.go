package yamlconf

import (
	"bytes"
	"testing"

	"gopkg.in/yaml.v3"
)

type knownBase struct {
	Shared string `yaml:"shared"`
}

type knownProbe struct {
	knownBase `yaml:",inline"`
	Tagged    string `yaml:"tagged,omitempty"`
	Untagged  string
	Skipped   string `yaml:"-"`
	unexp     string
	Nested    struct {
		Deep int `yaml:"deep"`
	} `yaml:"nested"`
	List []struct {
		Item string `yaml:"item"`
	} `yaml:"list"`
	Map map[string]struct {
		V string `yaml:"v"`
	} `yaml:"map"`
}

type knownAnyKey struct {
	Name string         `yaml:"name"`
	Rest map[string]any `yaml:",inline"`
}

// DecodeNode's own unknown-key check agrees with yaml.v3's KnownFields decoder, an independent
// implementation, on which keys a struct takes.
func TestDecodeNodeAgreesWithKnownFields(t *testing.T) {
	docs := []string{
		"shared: a", "tagged: a", "untagged: a", "Untagged: a", "skipped: a", "unexp: a", "knownbase: a",
		"nested: {deep: 1}", "nested: {deeper: 1}", "list: [{item: a}, {itme: b}]", "map: {k: {v: a}}",
		"map: {k: {w: a}}", "omitempty: a", "tagged,omitempty: a",
	}
	for _, d := range docs {
		for _, target := range []func() any{func() any { return new(knownProbe) }, func() any { return new(knownAnyKey) }} {
			dec := yaml.NewDecoder(bytes.NewReader([]byte(d)))
			dec.KnownFields(true)
			v3 := dec.Decode(target())
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(d), &n); err != nil {
				t.Fatal(err)
			}
			ours := DecodeNode(n.Content[0], target())
			if (v3 == nil) != (ours == nil) {
				t.Errorf("%q into %T: yaml.v3 says %v, DecodeNode %v", d, target(), v3, ours)
			}
		}
	}
	if err := DecodeNode(&yaml.Node{}, knownProbe{}); err == nil {
		t.Error("DecodeNode into a non-pointer")
	}
}
