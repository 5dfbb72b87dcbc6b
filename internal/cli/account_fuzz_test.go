package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseAccount feeds arbitrary YAML to the account parser. It must never panic, every
// failure must be a ConfigError naming the file, and an account that parsed must pass its own
// check again and Finish without panicking. Secret sources answer from a fixed table, so the
// fuzzer never reads the real environment or files.
func FuzzParseAccount(f *testing.F) {
	for _, name := range []string{"alice", "bob", "carol", "peer"} {
		if b, err := os.ReadFile(filepath.Join("..", "..", "configs", name+".yaml")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("credentials:\n  password: {env: PW}\n  aka:\n    k: {file: k}\n    opc: {env: OPC}\n"))
	f.Add([]byte("identity: {impu: \"sip:a@b\", impi: a@b}\nsecurity: {mode: kms}\nkms: {urls: [\"http://k/\"]}\nbsf: {url: \"http://b/\"}\n"))
	f.Add([]byte("codecs: [PCMU, G729]\n"))
	f.Add([]byte("identity: [\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte{})
	src := secretSource{
		Getenv: func(k string) (string, bool) {
			v, ok := map[string]string{"PW": "secret", "OPC": "cd63cb71954a9f4e48a5994e37a02baf"}[k]
			return v, ok
		},
		ReadFile: func(p string) ([]byte, error) {
			if p == "k" {
				return []byte("465b5ce8b199b49faa5f0a2ee238a6bc\n"), nil
			}
			return nil, os.ErrNotExist
		},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		acc, err := parseAccount("f.yaml", data, src)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error %T %q does not name the file", err, err)
			}
			return
		}
		if err := acc.check("f.yaml", nil); err != nil {
			t.Fatalf("parsed account fails its own check: %v", err)
		}
		_ = acc.Finish("f.yaml", false)
		_ = acc.formats()
	})
}
