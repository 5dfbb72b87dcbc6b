package bsf

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const exampleConfig = "../../configs/bsf.yaml"

func TestExampleConfig(t *testing.T) {
	fc, err := LoadConfig(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	subs, err := fc.LoadSubscribers()
	if err != nil {
		t.Fatal(err)
	}
	// TS 35.208 test set 1: OPc computed from OP must be the published cd63cb71954a9f4e48a5994e37a02baf.
	if len(subs) != 1 || subs[0].IMPI != "user1_private@home1.net" ||
		!bytes.Equal(subs[0].OPc, unhex("cd63cb71954a9f4e48a5994e37a02baf")) || subs[0].SQN != 0x20 {
		t.Fatalf("subscribers %v", subs)
	}
	cfg, err := fc.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Realm != "bsf.home1.net" || cfg.KeyLifetime != 12*time.Hour || cfg.UbTLS != nil || len(cfg.ZnBearerTokens) != 1 {
		t.Fatalf("config %+v", cfg)
	}
	if !strings.HasSuffix(fc.StatePath(), filepath.Join("tmp", "bsf-state.json")) {
		t.Fatalf("state path %s", fc.StatePath())
	}
}

const minimalConfig = `
ub: {listen: "127.0.0.1:0"}
zn: {listen: "127.0.0.1:0", bearer_tokens: ["0123456789abcdef"]}
realm: bsf.home1.net
domain: bsf.home1.net
key_lifetime: 1h
subscribers:
  - {impi: u@h, k: 465b5ce8b199b49faa5f0a2ee238a6bc, opc: cd63cb71954a9f4e48a5994e37a02baf}
`

func TestConfigErrors(t *testing.T) {
	if _, err := ParseConfig([]byte(minimalConfig)); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct{ edit, want string }{
		"empty":        {"", "empty document"},
		"typo":         {minimalConfig + "relam: x\n", "field relam not found"},
		"duration":     {strings.Replace(minimalConfig, "1h", "1 hour", 1), `line 6: duration "1 hour"`},
		"no lifetime":  {strings.Replace(minimalConfig, "key_lifetime: 1h", "", 1), "key_lifetime: missing"},
		"no ub":        {strings.Replace(minimalConfig, `ub: {listen: "127.0.0.1:0"}`, "", 1), "ub.listen"},
		"zn open":      {strings.Replace(minimalConfig, `, bearer_tokens: ["0123456789abcdef"]`, "", 1), "never open"},
		"short token":  {strings.Replace(minimalConfig, "0123456789abcdef", "short", 1), "bearer_tokens[0]"},
		"realm":        {strings.Replace(minimalConfig, "realm: bsf.home1.net", `realm: "a b"`, 1), "realm"},
		"k size":       {strings.Replace(minimalConfig, "k: 465b", "k: 5b", 1), "subscribers[0] (u@h).k: 30 hex digits"},
		"opc hex":      {strings.Replace(minimalConfig, "opc: cd63", "opc: zz63", 1), ".opc: not hex"},
		"op and opc":   {strings.Replace(minimalConfig, "opc: cd63", "op: cdc202d5123e20f62b6d676ac72cb318, opc: cd63", 1), "not both"},
		"sqn":          {strings.Replace(minimalConfig, "opc: cd63cb71954a9f4e48a5994e37a02baf", "opc: cd63cb71954a9f4e48a5994e37a02baf, sqn: '12'", 1), ".sqn"},
		"no subs":      {minimalConfig[:strings.Index(minimalConfig, "subscribers:")], "no subscribers"},
		"tls half":     {strings.Replace(minimalConfig, `ub: {listen: "127.0.0.1:0"}`, `ub: {listen: "127.0.0.1:0", tls_cert: c.pem}`, 1), "go together"},
		"ca no tls":    {strings.Replace(minimalConfig, `bearer_tokens: ["0123456789abcdef"]`, `client_ca: ca.pem`, 1), "needs zn.tls_cert"},
		"not a map":    {"- 1\n- 2\n", "bsf config"},
		"dup subs":     {minimalConfig + "  - {impi: u@h, k: 465b5ce8b199b49faa5f0a2ee238a6bc, opc: cd63cb71954a9f4e48a5994e37a02baf}\n", "twice"},
		"neg duration": {strings.Replace(minimalConfig, "1h", "-1h", 1), "negative"},
	}
	for name, c := range cases {
		_, err := ParseConfig([]byte(c.edit))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not say %q", name, err, c.want)
		}
		if strings.Contains(err.Error(), "465b5ce8") || strings.Contains(err.Error(), "cd63cb71") {
			t.Errorf("%s: error quotes a key: %v", name, err)
		}
	}
}

func TestSubscribersFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "subs.yaml"), []byte(`subscribers:
  - {impi: v@h, k: 465b5ce8b199b49faa5f0a2ee238a6bc, op: cdc202d5123e20f62b6d676ac72cb318, amf: b9b9, sqn: ff9bb4d0b606}
`), 0o600)
	cfg := strings.Replace(minimalConfig, "key_lifetime: 1h", "key_lifetime: 1h\nsubscribers_file: subs.yaml", 1)
	os.WriteFile(filepath.Join(dir, "bsf.yaml"), []byte(cfg), 0o600)
	fc, err := LoadConfig(filepath.Join(dir, "bsf.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	subs, err := fc.LoadSubscribers()
	if err != nil || len(subs) != 2 || subs[1].AMF != [2]byte{0xb9, 0xb9} || subs[1].SQN != 0xff9bb4d0b606 {
		t.Fatalf("%v %v", subs, err)
	}
	if strings.Contains(subs[1].String(), "465b") || strings.Contains(subs[1].String(), "cd63") {
		t.Fatalf("String leaks keys: %s", subs[1])
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(minimalConfig))
	if b, err := os.ReadFile(exampleConfig); err == nil {
		f.Add(b)
	}
	f.Add([]byte("ub: [1]\n"))
	f.Add([]byte("key_lifetime: {a: b}\n"))
	f.Add([]byte("subscribers: [{impi: x, k: zz}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fc, err := ParseConfig(data)
		if err != nil {
			return
		}
		// An accepted configuration has working subscribers and a usable Server configuration
		// (no file references are followed here: dir is empty and files may not exist).
		if _, err := ParseSubscribers(fc.Subscribers); err != nil {
			t.Fatalf("accepted config with bad subscribers: %v", err)
		}
		if fc.KeyLifetime <= 0 || fc.Realm == "" {
			t.Fatal("accepted config without lifetime or realm")
		}
	})
}

func TestConfigRedacts(t *testing.T) {
	fc, err := LoadConfig(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := fc.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprintf("%v", fc), fmt.Sprintf("%+v", fc), fmt.Sprintf("%#v", fc.Subscribers),
		fmt.Sprintf("%v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%+v", fc.Zn)} {
		for _, secret := range []string{"465b5ce8", "cdc202d5", "example-zn-token"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q leaks %s", s, secret)
			}
		}
	}
}

// Errors name the file, line and field (internal/yamlconf), and hostile YAML is refused.
func TestConfigErrorsNameLine(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, yaml, want string }{
		{"typo", minimalConfig + "relam: x\n", "c.yaml:9: field relam not found in FileConfig"},
		{"short token", strings.Replace(minimalConfig, "0123456789abcdef", "short", 1), "c.yaml:3: zn.bearer_tokens[0]: shorter than 16 characters"},
		{"k size", strings.Replace(minimalConfig, "k: 465b", "k: 5b", 1), "c.yaml:8: subscribers[0] (u@h).k: 30 hex digits, want 32"},
		{"realm", strings.Replace(minimalConfig, "realm: bsf.home1.net", `realm: "a b"`, 1), "c.yaml:4: bsf: realm \"a b\" contains"},
		{"lifetime", strings.Replace(minimalConfig, "key_lifetime: 1h", "", 1), "c.yaml: key_lifetime: missing"},
		{"negative limit", minimalConfig + "limits:\n  max_auth_failures: -1\n", "c.yaml:10: limits.max_auth_failures: negative value"},
		{"duration", strings.Replace(minimalConfig, "1h", "1 hour", 1), `c.yaml:6: duration "1 hour"`},
		{"alias", "ub: &u {listen: \"127.0.0.1:0\"}\nzn: *u\n", "c.yaml:2: YAML aliases are not supported"},
		{"repeated key", minimalConfig + "realm: other\n", "c.yaml:9: realm: repeated key (first at line 4)"},
		{"two documents", minimalConfig + "---\nrealm: x\n", "more than one YAML document"},
	} {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(c.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadConfig(p)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, c.want)) && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), p) {
			t.Errorf("%s: error %q does not start with the file name", c.name, err)
		}
	}
	// The subscribers_file is bounded and checked the same way.
	subs := filepath.Join(dir, "subs.yaml")
	os.WriteFile(subs, []byte("subscribers:\n  - impi: v@h\n    k: 465b5ce8b199b49faa5f0a2ee238a6bc\n    opc: zz\n"), 0o600)
	cfg := filepath.Join(dir, "bsf.yaml")
	os.WriteFile(cfg, []byte(strings.Replace(minimalConfig, "key_lifetime: 1h", "key_lifetime: 1h\nsubscribers_file: subs.yaml", 1)), 0o600)
	fc, err := LoadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fc.LoadSubscribers(); err == nil || !strings.Contains(err.Error(), subs+":4: subscribers[0] (v@h).opc: 2 hex digits") {
		t.Errorf("subscribers_file error %v", err)
	}
}
