package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/internal/lab"
	"github.com/imsphone/imsphone/keymgmt"
)

// noSecrets is a secret source for tests: no environment, no files.
var noSecrets = secretSource{
	Getenv:   func(string) (string, bool) { return "", false },
	ReadFile: func(p string) ([]byte, error) { return nil, fmt.Errorf("open %s: %w", p, os.ErrNotExist) },
}

func TestShippedAccountConfigs(t *testing.T) {
	for _, name := range []string{"alice", "bob", "carol", "peer"} {
		t.Run(name, func(t *testing.T) {
			acc, err := LoadAccount(filepath.Join("..", "..", "configs", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := acc.Finish(name, name != "peer"); err != nil {
				t.Fatal(err)
			}
			p, _ := acc.policy()
			if want := map[bool]keymgmt.Mode{true: keymgmt.ModeSDES, false: keymgmt.ModeKMS}[name == "peer" || name == "carol"]; p.Mode != want || p.Requirement != keymgmt.Mandatory {
				t.Errorf("policy %v, want %s/mandatory", p, want)
			}
			if name == "peer" {
				if acc.Registrar != "" || acc.Listen != "127.0.0.1:5070" || acc.Identity.User != "peer" {
					t.Errorf("peer: %+v", acc)
				}
				return
			}
			if name == "carol" {
				if string(acc.Credentials.Password.Value()) != "carol-secret" || acc.Credentials.AKA != nil || acc.Registrar != "sip:home1.net" {
					t.Errorf("carol: %+v", acc)
				}
				return
			}
			if acc.Identity.IMPU != "sip:"+name+"@home1.net" || acc.Identity.IMPI != name+"@home1.net" ||
				acc.Registrar != "sip:home1.net" || acc.OutboundProxy != "127.0.0.1:5060" || acc.Expires != 600*time.Second {
				t.Errorf("%s: %+v", name, acc)
			}
			if acc.Credentials.AKA == nil || string(acc.Credentials.AKA.K.Value()) != "465b5ce8b199b49faa5f0a2ee238a6bc" {
				t.Errorf("%s: AKA keys not read", name)
			}
			if acc.KMS.URLs[0] != "http://127.0.0.1:8402/kms/mikey" || acc.BSF.URL != "http://127.0.0.1:8401/" || acc.KMS.FQDN != "kms.home1.net" {
				t.Errorf("%s: KMS %+v BSF %+v (imsphone lab's front doors)", name, acc.KMS, acc.BSF)
			}
			if got := len(acc.formats()); got != 3 {
				t.Errorf("%d codecs", got)
			}
		})
	}
}

// configs/lab.yaml is what imsphone lab runs without -c.
func TestLabYAMLMatchesBuiltIn(t *testing.T) {
	file, err := lab.LoadConfig(filepath.Join("..", "..", "configs", "lab.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	builtIn, err := lab.ParseConfig([]byte(defaultLabYAML))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(file, builtIn) {
		t.Errorf("configs/lab.yaml and the built-in lab differ:\n%#v\n%#v", file, builtIn)
	}
}

func TestAccountErrorsNameFileLineField(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       string // substring of the error
	}{
		{"unknown field", "identity:\n  impu: sip:a@b\n  impy: x\n", "a.yaml:3: field impy not found"},
		{"typo at top", "registar: sip:x\n", "a.yaml:1: field registar not found"},
		{"mode", "security:\n  mode: kmss\n", "a.yaml:2: security.mode: policy mode \"kmss\""},
		{"requirement", "security:\n  mode: kms\n  requirement: maybe\n", "a.yaml:3: security.requirement:"},
		{"impu", "identity:\n  impu: alice@home1.net\n", "a.yaml:2: identity.impu: \"alice@home1.net\" is not a sip: URI"},
		{"registrar", "\nregistrar: http://x\n", "a.yaml:2: registrar:"},
		{"proxy", "outbound_proxy: nohost\n", "a.yaml:1: outbound_proxy: \"nohost\" is not host:port"},
		{"transport", "transport: tls\n", "a.yaml:1: transport: \"tls\" is not supported (udp or tcp)"},
		{"listen", "listen: 1.2.3.4:99999\n", "a.yaml:1: listen:"},
		{"media ip", "media_ip: localhost\n", "a.yaml:1: media_ip:"},
		{"codec", "codecs: [PCMU,\n  G729]\n", "a.yaml:2: codecs.1: unknown codec \"G729\""},
		{"kms url", "kms:\n  urls:\n    - http://ok/\n    - ftp://no\n", "a.yaml:4: kms.urls.1:"},
		{"bsf url", "bsf:\n  url: nope\n", "a.yaml:2: bsf.url:"},
		{"expires", "expires: 10ms\n", "a.yaml:1: expires:"},
		{"expires type", "expires: soon\n", "a.yaml:1: expires: cannot unmarshal"},
		{"session_expires too short", "session_expires: 60s\n", "a.yaml:1: session_expires: 1m0s is not a session interval"},
		{"aka both", "credentials:\n  aka:\n    k: 465b5ce8b199b49faa5f0a2ee238a6bc\n    op: cdc202d5123e20f62b6d676ac72cb318\n    opc: cd63cb71954a9f4e48a5994e37a02baf\n", "a.yaml:2: credentials.aka: give exactly one"},
		{"aka short k", "credentials:\n  aka:\n    k: 465b\n    opc: cd63cb71954a9f4e48a5994e37a02baf\n", "a.yaml:3: credentials.aka.k: 2 octets, want 16"},
		{"aka amf", "credentials:\n  aka:\n    k: 465b5ce8b199b49faa5f0a2ee238a6bc\n    opc: cd63cb71954a9f4e48a5994e37a02baf\n    amf: 8\n", "a.yaml:5: credentials.aka.amf"},
		{"aka sqn", "credentials:\n  aka:\n    k: 465b5ce8b199b49faa5f0a2ee238a6bc\n    opc: cd63cb71954a9f4e48a5994e37a02baf\n    sqn: \"1000000000000\"\n", "a.yaml:5: credentials.aka.sqn: want hex of at most 6 octets"},
		{"secret both", "credentials:\n  password: {env: A, file: B}\n", "a.yaml:2: a secret is a string"},
		{"secret unknown key", "credentials:\n  password:\n    envv: A\n", "a.yaml:3: field envv not found"},
		{"secret env unset", "credentials:\n  password: {env: IMSPHONE_TEST_UNSET}\n", "a.yaml:2: credentials.password: environment variable IMSPHONE_TEST_UNSET is not set"},
		{"secret file", "credentials:\n  password: {file: /nonexistent/pw}\n", "a.yaml:2: credentials.password: read secret file: open /nonexistent/pw"},
		{"syntax", "identity: [\n", "a.yaml:1: did not find expected node content"},
		{"alias", "identity:\n  impu: &u \"sip:a@b\"\n  impi: *u\n", "a.yaml:3: YAML aliases are not supported"},
		{"repeated key", "listen: 127.0.0.1:1\nmedia_ip: 127.0.0.1\nlisten: 127.0.0.1:2\n", "a.yaml:3: listen: repeated key (first at line 1)"},
		{"many keys", strings.Repeat("k: v\n", 1) + func() string {
			var b strings.Builder
			for i := range 70 {
				fmt.Fprintf(&b, "k%d: v\n", i)
			}
			return b.String()
		}(), "a mapping with more than 64 keys"},
		{"long list", "codecs: [" + strings.Repeat("PCMU, ", 70) + "PCMU]\n", "a.yaml:1: a list with more than 64 entries"},
		{"two documents", "listen: 127.0.0.1:1\n---\nlisten: 127.0.0.1:2\n", "more than one YAML document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseAccount("a.yaml", []byte(tc.yaml), noSecrets)
			if err == nil {
				t.Fatalf("no error for %q", tc.yaml)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("not a ConfigError: %T %v", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestAccountFinish(t *testing.T) {
	for _, tc := range []struct {
		name, yaml    string
		needRegistrar bool
		want          string
	}{
		{"register needs registrar", "identity:\n  impu: sip:a@b\n", true, "registrar: required"},
		{"registrar needs credentials", "registrar: sip:home1.net\n", false, "credentials: a registrar needs"},
		{"aka needs impi", "credentials:\n  aka:\n    k: 465b5ce8b199b49faa5f0a2ee238a6bc\n    opc: cd63cb71954a9f4e48a5994e37a02baf\n", false, "identity.impi: required"},
		{"kms needs kms", "security: {mode: kms}\n", false, "kms.urls: security mode kms needs a KMS"},
		{"kms needs bsf", "security: {mode: kms}\nkms: {urls: [\"http://k/\"]}\n", false, "bsf.url"},
		{"kms needs usim", "security: {mode: kms}\nkms: {urls: [\"http://k/\"]}\nbsf: {url: \"http://b/\"}\n", false, "credentials.aka"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acc, err := parseAccount("a.yaml", []byte(tc.yaml), noSecrets)
			if err != nil {
				t.Fatal(err)
			}
			err = acc.Finish("a.yaml", tc.needRegistrar)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Finish: %v, want %q", err, tc.want)
			}
		})
	}

	acc, err := parseAccount("a.yaml", []byte("identity: {impu: \"sip:alice@home1.net\"}\nkms: {urls: [\"http://kms.example:8080/kms\"]}\n"), noSecrets)
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.Finish("a.yaml", false); err != nil {
		t.Fatal(err)
	}
	if acc.Identity.User != "alice" || acc.Listen != "127.0.0.1:0" || acc.Expires != 600*time.Second || acc.KMS.FQDN != "kms.example" {
		t.Errorf("defaults: %+v", acc)
	}
}

func TestAccountSecretSources(t *testing.T) {
	dir := t.TempDir()
	kFile := filepath.Join(dir, "k")
	if err := os.WriteFile(kFile, []byte("465b5ce8b199b49faa5f0a2ee238a6bc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("IMSPHONE_TEST_OPC", "cd63cb71954a9f4e48a5994e37a02baf")
	t.Setenv("IMSPHONE_TEST_PW", "pa ss")
	y := fmt.Sprintf("identity: {impi: a@b}\ncredentials:\n  password: {env: IMSPHONE_TEST_PW}\n  aka:\n    k: {file: %q}\n    opc: {env: IMSPHONE_TEST_OPC}\n", kFile)
	path := filepath.Join(dir, "a.yaml")
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	acc, err := LoadAccount(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(acc.Credentials.Password.Value()); got != "pa ss" {
		t.Errorf("password %q", got)
	}
	if got := string(acc.Credentials.AKA.K.Value()); got != "465b5ce8b199b49faa5f0a2ee238a6bc" {
		t.Errorf("k %q (trailing newline must go)", got)
	}
	if got := string(acc.Credentials.AKA.OPc.Value()); got != "cd63cb71954a9f4e48a5994e37a02baf" {
		t.Errorf("opc %q", got)
	}
	// No secret in any printed form.
	for _, s := range []string{fmt.Sprintf("%v", acc), fmt.Sprintf("%+v", acc), fmt.Sprintf("%#v", acc), fmt.Sprintf("%v", *acc.Credentials.AKA)} {
		for _, secret := range []string{"465b5ce8", "cd63cb71", "pa ss"} {
			if strings.Contains(s, secret) {
				t.Errorf("secret %q printed: %s", secret, s)
			}
		}
	}
	if s := acc.Credentials.AKA.OPc.String(); s != "(from env IMSPHONE_TEST_OPC)" {
		t.Errorf("String %q", s)
	}
}

// A bad secret value must not appear in the error.
func TestAccountErrorsHideSecrets(t *testing.T) {
	_, err := parseAccount("a.yaml", []byte("credentials:\n  aka:\n    k: 465b5ce8b199b49faa5f0a2ee238a6zz\n    opc: cd63cb71954a9f4e48a5994e37a02baf\n"), noSecrets)
	if err == nil || strings.Contains(err.Error(), "465b5ce8") {
		t.Errorf("error %v", err)
	}
}

func TestNodeLine(t *testing.T) {
	if _, err := parseAccount("x", []byte("# comment\n\nsecurity:\n  requirement: mandatory\n  mode: bogus\n"), noSecrets); err == nil ||
		!strings.HasPrefix(err.Error(), "x:5: security.mode:") {
		t.Errorf("%v", err)
	}
}

func TestRecordPath(t *testing.T) {
	for _, tc := range []struct {
		base string
		n    int
		want string
	}{
		{"in.wav", 1, "in.wav"}, {"in.wav", 2, "in-2.wav"}, {"/tmp/x.y/in", 3, "/tmp/x.y/in-3"}, {"rec", 10, "rec-10"},
	} {
		if got := recordPath(tc.base, tc.n); got != tc.want {
			t.Errorf("recordPath(%q, %d) = %q, want %q", tc.base, tc.n, got, tc.want)
		}
	}
}

func TestParsePlay(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want playSpec
		err  bool
	}{
		{"", playSpec{}, false}, {"silence", playSpec{}, false}, {"tone:440", playSpec{tone: 440}, false},
		{"tone:4000", playSpec{}, true}, {"tone:x", playSpec{}, true}, {"tone:-5", playSpec{}, true}, {"a.wav", playSpec{file: "a.wav"}, false},
	} {
		got, err := parsePlay(tc.in)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("parsePlay(%q) = %+v, %v", tc.in, got, err)
		}
	}
}
