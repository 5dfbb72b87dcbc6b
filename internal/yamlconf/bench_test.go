package yamlconf

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// hostileKeys is a 4000-key mapping of the kind a fuzzer found slow in yaml.v3's pairwise
// repeated-key check: all keys equal, or all distinct.
func hostileKeys(same bool) []byte {
	var b strings.Builder
	for i := range 4000 {
		if same {
			i = 0
		}
		fmt.Fprintf(&b, "k%d: v\n", i)
	}
	return []byte(b.String())
}

// BenchmarkHostileKeys: the time to refuse a 4000-key file (default limits: 256 keys).
func BenchmarkHostileKeys(b *testing.B) {
	for _, same := range []bool{true, false} {
		data := hostileKeys(same)
		b.Run(fmt.Sprintf("same=%t", same), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var m map[string]string
				if _, err := Decode("h.yaml", data, &m, Limits{}); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}

// BenchmarkConfig decodes a typical small configuration.
func BenchmarkConfig(b *testing.B) {
	data := []byte("listen: 127.0.0.1:1\ninner:\n  name: x\n  every: 2s\nlist: [a, b]\nmap: {k: v}\nalt: {env: E}\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var c conf
		if _, err := Decode("c.yaml", data, &c, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostileKeysYAMLv3 is the baseline: the same files straight into yaml.v3 (KnownFields
// does not matter for a map). Slow on purpose; compare with BenchmarkHostileKeys.
func BenchmarkHostileKeysYAMLv3(b *testing.B) {
	for _, same := range []bool{true, false} {
		data := hostileKeys(same)
		b.Run(fmt.Sprintf("same=%t", same), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var m map[string]string
				_ = yaml.Unmarshal(data, &m)
			}
		})
	}
}
