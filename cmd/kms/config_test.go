package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/imsphone/imsphone/internal/yamlconf"
)

// Configuration errors name the file, line and field (internal/yamlconf).
func TestConfigErrorsNameLine(t *testing.T) {
	base := "fqdn: x\nlisten: 127.0.0.1:0\npolicy: p.yaml\nzn: {base_url: http://127.0.0.1:1}\n"
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown key", base + "store: memory\nunknown_key: 1\n", "k.yaml:6: field unknown_key not found in fileConfig"},
		{"store unknown key", base + "store:\n  backend: bbolt\n  colour: red\n", "k.yaml:7: field colour not found"},
		{"store unknown key flow", base + "store: {backend: bbolt,\n  path: a.db, colour: red}\n", "k.yaml:6: field colour not found"},
		{"store etcd unknown key", base + "store:\n  backend: etcd\n  etcd:\n    endpoints: [x]\n    prefx: /p/\n", "k.yaml:9: field prefx not found"},
		{"store path", base + "store:\n  backend: bbolt\n", "k.yaml:5: store.path: backend bbolt needs path"},
		{"store backend", base + "store:\n  backend: redis\n", "k.yaml:6: store.backend: unknown backend \"redis\""},
		{"etcd endpoints", base + "store:\n  backend: etcd\n  etcd:\n    prefix: /x/\n", "k.yaml:7: store.etcd.endpoints: backend etcd needs etcd.endpoints"},
		{"etcd key", base + "store:\n  backend: etcd\n  etcd:\n    endpoints: [x]\n    cert_file: c.pem\n", "k.yaml:9: store.etcd.cert_file: set both"},
		{"missing policy", "fqdn: x\nlisten: a\nstore: memory\nzn: {base_url: u}\n", "k.yaml: policy: required"},
		{"tls half", base + "store: memory\ntls_cert: c.pem\n", "k.yaml:6: tls_cert: set both tls_cert and tls_key"},
		{"duration", base + "store: memory\nskew: soon\n", "k.yaml:6: skew: cannot unmarshal !!str `soon` into Duration"},
		{"alias", base + "store: &s memory\nlimits: {max_concurrent: *s}\n", "k.yaml:6: YAML aliases are not supported in a KMS configuration"},
		{"repeated key", base + "store: memory\nfqdn: y\n", "k.yaml:6: fqdn: repeated key (first at line 1)"},
		{"empty", "", "k.yaml: empty document"},
	} {
		_, err := parseConfig("k.yaml", []byte(c.yaml))
		var ye *yamlconf.Error
		if err == nil || !errors.As(err, &ye) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

// FuzzParseConfig: parseConfig never panics, every failure names the file, and an accepted
// configuration has what loadConfig promises: the required fields and a known store backend.
func FuzzParseConfig(f *testing.F) {
	if b, err := os.ReadFile("../../configs/kms.yaml"); err == nil {
		f.Add(b)
	}
	base := "fqdn: x\nlisten: 127.0.0.1:0\npolicy: p.yaml\nzn: {base_url: http://127.0.0.1:1}\n"
	for _, s := range []string{"store: memory", "store: a.db", "store: {backend: etcd, etcd: {endpoints: [x]}}",
		"store: {backend: bbolt, path: a.db, colour: red}", "store: [1]", "store: &a x\nlimits: *a", "skew: 1s\nskew: 2s"} {
		f.Add([]byte(base + s + "\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fc, err := parseConfig("f.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if fc.FQDN == "" || fc.Listen == "" || fc.Policy == "" || fc.Zn.BaseURL == "" {
			t.Fatalf("accepted without a required field: %+v", fc)
		}
		switch fc.Store.Backend {
		case "memory", "etcd":
		case "bbolt":
			if fc.Store.Path == "" {
				t.Fatal("bbolt without a path")
			}
		default:
			t.Fatalf("accepted backend %q", fc.Store.Backend)
		}
	})
}
