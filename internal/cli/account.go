package cli

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/internal/yamlconf"
	"github.com/imsphone/imsphone/keymgmt"
)

// Account is one UE account as the everyday commands (register, call, answer) use it: the YAML
// of configs/alice.yaml, configs/bob.yaml and configs/peer.yaml, with flags applied on top.
// Every field is documented in configs/alice.yaml.
type Account struct {
	Identity    Identity    `yaml:"identity"`
	Credentials Credentials `yaml:"credentials"`
	// Registrar is the REGISTER Request-URI (sip:home1.net); empty: no registration, calls go
	// peer to peer.
	Registrar string `yaml:"registrar"`
	// OutboundProxy (host:port) receives every out-of-dialog request: the P-CSCF.
	OutboundProxy string `yaml:"outbound_proxy"`
	// Transport of the SIP requests we send outside a dialog: udp (default) or tcp (RFC 3261
	// §18; we then also listen on TCP at the listen address). UDP is served either way.
	Transport string `yaml:"transport"`
	// Listen is the SIP socket's address (default 127.0.0.1:0).
	Listen string `yaml:"listen"`
	// MediaIP is where RTP binds and what SDP announces (default: the SIP socket's address).
	MediaIP string `yaml:"media_ip"`
	// Expires is the registration lifetime asked for (default 600s).
	Expires time.Duration `yaml:"expires"`
	// SessionExpires asks for SIP session timers on calls (RFC 4028; 0: only when the peer
	// asks; at least 90s, 1800s recommended).
	SessionExpires time.Duration `yaml:"session_expires"`
	Security       Security      `yaml:"security"`
	KMS            KMSAccount    `yaml:"kms"`
	BSF            BSFAccount    `yaml:"bsf"`
	// Codecs in preference order: PCMU, PCMA, telephone-event (default all three).
	Codecs []string `yaml:"codecs"`
}

// Identity names the subscriber (TS 23.228 §4.3.3: IMPU public, IMPI private).
type Identity struct {
	IMPU string `yaml:"impu"` // the AOR, e.g. sip:alice@home1.net
	IMPI string `yaml:"impi"` // e.g. alice@home1.net: Digest username, AKA and GBA identity
	User string `yaml:"user"` // user part of our Contact (default: the IMPU's, else "imsphone")
}

// Credentials answer the registrar's challenge: a Digest password, or a software USIM's
// subscriber keys for IMS AKA (which also bootstraps GBA for the KMS).
type Credentials struct {
	Username string  `yaml:"username"` // Digest username (default: the IMPI)
	Password Secret  `yaml:"password"`
	AKA      *AKAKey `yaml:"aka"`
}

// AKAKey is a software USIM's subscription (TS 35.206 Milenage).
type AKAKey struct {
	K   Secret `yaml:"k"`   // 16 octets, hex
	OP  Secret `yaml:"op"`  // 16 octets, hex; exactly one of op and opc
	OPc Secret `yaml:"opc"` // 16 octets, hex
	AMF string `yaml:"amf"` // 2 octets, hex; when set, every AUTN must carry it
	// SQN (hex, up to 6 octets) is where the USIM's sequence numbers start (TS 33.102 §6.3.3,
	// Annex C): every SEQ_MS(i) of the IND array is set to SQN's SEQ, so a challenge must carry a
	// higher SEQ; an older one is answered with AUTS (resynchronisation). It seeds an absent
	// sqn_file, or the in-memory state.
	SQN string `yaml:"sqn"`
	// SQNFile keeps the USIM's SEQ_MS array between runs (TS 33.102 C.1.2), so a restarted
	// imsphone still refuses replayed challenges; empty keeps it in memory.
	SQNFile string `yaml:"sqn_file"`
}

// parseAccountSQN reads the sqn field: hex, at most 48 bits (TS 33.102 §6.3.2).
func parseAccountSQN(s string) (uint64, error) {
	s = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "0x")
	if s == "" || len(s) > 12 {
		return 0, errors.New("want hex of at most 6 octets")
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, errors.New("want hex of at most 6 octets")
	}
	return v, nil
}

// Security is the account's media security policy (package keymgmt).
type Security struct {
	Mode        string `yaml:"mode"`        // kms, sdes or none (default sdes)
	Requirement string `yaml:"requirement"` // mandatory or preferred (default mandatory)
	// AllowSDESWithoutTLS lets SDES keys travel in SDP over udp or tcp signalling, where
	// anyone on the path reads them (RFC 4568 §8.3); each such call logs a warning.
	AllowSDESWithoutTLS bool `yaml:"allow_sdes_without_tls"`
}

// KMSAccount locates the KMS (TS 33.328): a GBA NAF reached over HTTP.
type KMSAccount struct {
	URLs []string      `yaml:"urls"` // tried in order
	FQDN string        `yaml:"fqdn"` // its NAF name, IDRkms (default: the first URL's host)
	Skew time.Duration `yaml:"skew"` // MIKEY timestamp window (default 5m)
}

// BSFAccount locates the BSF for GBA bootstrapping over Ub (TS 24.109).
type BSFAccount struct {
	URL   string `yaml:"url"`
	Realm string `yaml:"realm"` // expected Ub realm ("" accepts any)
}

// Secret is a secret configuration value: given inline (password: s3cret), or from the
// environment (password: {env: ALICE_PASSWORD}) or a file (password: {file: /run/secrets/k}; a
// trailing newline is dropped). It never prints its value.
type Secret struct {
	value []byte
	set   bool
	// Env and File say where it came from (for messages); both empty: inline.
	Env, File string
	line      int
}

// Value is the secret.
func (s Secret) Value() []byte { return s.value }

// IsSet reports whether the field was given.
func (s Secret) IsSet() bool { return s.set }

func (s Secret) String() string {
	switch {
	case !s.set:
		return "(unset)"
	case s.Env != "":
		return "(from env " + s.Env + ")"
	case s.File != "":
		return "(from file " + s.File + ")"
	}
	return "(redacted)"
}

// GoString and LogValue redact like String.
func (s Secret) GoString() string          { return s.String() }
func (s Secret) LogValue() slog.Value      { return slog.StringValue(s.String()) }
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// secretSource is where a {env:} or {file:} secret is read from (injected for tests and fuzzing).
type secretSource struct {
	Getenv   func(string) (string, bool)
	ReadFile func(string) ([]byte, error)
}

var errSecretSource = errors.New("secret sources are not available")

func osSecrets() secretSource {
	return secretSource{Getenv: os.LookupEnv, ReadFile: func(p string) ([]byte, error) {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if st.Size() > 64<<10 {
			return nil, fmt.Errorf("%s: larger than 64 KiB", p)
		}
		return os.ReadFile(p)
	}}
}

// secretRef is the mapping form of a Secret before resolution.
type secretRef struct {
	Env  string `yaml:"env"`
	File string `yaml:"file"`
}

// UnmarshalYAML takes the scalar or the {env:} / {file:} mapping; resolution happens in
// resolveSecrets, which knows the sources.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	s.line = n.Line
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		s.value, s.set = []byte(n.Value), true
		return nil
	case yaml.MappingNode:
		var r secretRef
		if err := yamlconf.DecodeNode(n, &r); err != nil {
			return err
		}
		if (r.Env == "") == (r.File == "") {
			return fmt.Errorf("line %d: a secret is a string, {env: NAME} or {file: PATH}", n.Line)
		}
		s.Env, s.File, s.set = r.Env, r.File, true
		return nil
	}
	return fmt.Errorf("line %d: a secret is a string, {env: NAME} or {file: PATH}", n.Line)
}

// ConfigError is a configuration problem: the file, line (0 when unknown) and field it concerns
// ("a.yaml:3: security.mode: ...").
type ConfigError = yamlconf.Error

// maxAccountBytes bounds an account file: it is a handful of lines.
const maxAccountBytes = 64 << 10

// LoadAccount reads an account file; its secrets come from the file, the environment or other
// files as the file says.
func LoadAccount(path string) (*Account, error) {
	data, err := yamlconf.ReadFile(path, accountLimits())
	if err != nil {
		return nil, err
	}
	return parseAccount(path, data, osSecrets())
}

// accountLimits bound an account file's shape. An account has about fifteen keys; yaml.v3's
// struct decoder checks every mapping for repeated keys pairwise, which costs seconds on a file of
// a few thousand keys, so a file that cannot be an account is refused before it gets there.
func accountLimits() yamlconf.Limits {
	return yamlconf.Limits{
		MaxBytes:       maxAccountBytes,
		MaxNodes:       2048,
		MaxMappingKeys: 64,
		MaxSequence:    64,
		What:           "an account file",
	}
}

// parseAccount decodes and checks account YAML. Unknown keys are errors, so a misspelt field
// is not silently dropped; every error names the file, line and field.
func parseAccount(file string, data []byte, src secretSource) (*Account, error) {
	var acc Account
	doc, err := yamlconf.Decode(file, data, &acc, accountLimits())
	if err != nil && !errors.Is(err, yamlconf.ErrEmpty) {
		return nil, err
	}
	if err := acc.resolveSecrets(file, src); err != nil {
		return nil, err
	}
	if err := acc.check(file, &doc.Root); err != nil {
		return nil, err
	}
	return &acc, nil
}

type secretField struct {
	field string
	s     *Secret
}

func (a *Account) secrets() []secretField {
	out := []secretField{{"credentials.password", &a.Credentials.Password}}
	if k := a.Credentials.AKA; k != nil {
		out = append(out, secretField{"credentials.aka.k", &k.K}, secretField{"credentials.aka.op", &k.OP},
			secretField{"credentials.aka.opc", &k.OPc})
	}
	return out
}

func (a *Account) resolveSecrets(file string, src secretSource) error {
	for _, f := range a.secrets() {
		s := f.s
		switch {
		case s.Env != "":
			if src.Getenv == nil {
				return &ConfigError{File: file, Line: s.line, Field: f.field, Err: errSecretSource}
			}
			v, ok := src.Getenv(s.Env)
			if !ok {
				return &ConfigError{File: file, Line: s.line, Field: f.field, Err: fmt.Errorf("environment variable %s is not set", s.Env)}
			}
			s.value = []byte(v)
		case s.File != "":
			if src.ReadFile == nil {
				return &ConfigError{File: file, Line: s.line, Field: f.field, Err: errSecretSource}
			}
			v, err := src.ReadFile(s.File)
			if err != nil {
				// The path is not secret; the contents never reach an error.
				return &ConfigError{File: file, Line: s.line, Field: f.field, Err: fmt.Errorf("read secret file: %w", err)}
			}
			s.value = bytes.TrimRight(v, "\r\n")
		}
	}
	return nil
}

// check validates what can be checked of the file alone; completeness for a command (a
// registrar for register, a KMS for mode kms) is checked by Finish after flags are applied.
func (a *Account) check(file string, root *yaml.Node) error {
	bad := func(field string, format string, args ...any) error {
		line := 0
		if root != nil {
			line = yamlconf.NodeLine(root, field)
		}
		return &ConfigError{File: file, Line: line, Field: field, Err: fmt.Errorf(format, args...)}
	}
	if a.Identity.IMPU != "" {
		if err := checkSIPURI(a.Identity.IMPU); err != nil {
			return bad("identity.impu", "%v", err)
		}
	}
	if a.Identity.User != "" && strings.ContainsAny(a.Identity.User, "@:;<> \t") {
		return bad("identity.user", "%q is not a SIP user part", a.Identity.User)
	}
	if a.Registrar != "" {
		if err := checkSIPURI(a.Registrar); err != nil {
			return bad("registrar", "%v", err)
		}
	}
	if a.OutboundProxy != "" {
		if err := checkHostPort(a.OutboundProxy); err != nil {
			return bad("outbound_proxy", "%v", err)
		}
	}
	switch strings.ToLower(a.Transport) {
	case "", "udp", "tcp":
	default:
		return bad("transport", "%q is not supported (udp or tcp)", a.Transport)
	}
	if a.Listen != "" {
		if err := checkHostPort(a.Listen); err != nil {
			return bad("listen", "%v", err)
		}
	}
	if a.MediaIP != "" {
		if _, err := netip.ParseAddr(a.MediaIP); err != nil {
			return bad("media_ip", "%q is not an IP address", a.MediaIP)
		}
	}
	if a.SessionExpires != 0 && (a.SessionExpires < 90*time.Second || a.SessionExpires > 24*time.Hour || a.SessionExpires%time.Second != 0) {
		return bad("session_expires", "%v is not a session interval: whole seconds from 90s to 24h (RFC 4028 §4, §5)", a.SessionExpires)
	}
	if a.Expires < 0 || (a.Expires > 0 && a.Expires < time.Second) {
		return bad("expires", "%v is not a registration lifetime", a.Expires)
	}
	if _, err := a.policy(); err != nil {
		f := "security.mode"
		if strings.Contains(err.Error(), "requirement") {
			f = "security.requirement"
		}
		return bad(f, "%v", strings.TrimPrefix(err.Error(), "keymgmt: "))
	}
	if k := a.Credentials.AKA; k != nil {
		if err := checkHex(k.K.Value(), 16); err != nil {
			return bad("credentials.aka.k", "%v", err)
		}
		if k.OP.IsSet() == k.OPc.IsSet() {
			return bad("credentials.aka", "give exactly one of op and opc")
		}
		if k.OP.IsSet() {
			if err := checkHex(k.OP.Value(), 16); err != nil {
				return bad("credentials.aka.op", "%v", err)
			}
		} else if err := checkHex(k.OPc.Value(), 16); err != nil {
			return bad("credentials.aka.opc", "%v", err)
		}
		if k.AMF != "" {
			if err := checkHex([]byte(k.AMF), 2); err != nil {
				return bad("credentials.aka.amf", "%v", err)
			}
		}
		if k.SQN != "" {
			if _, err := parseAccountSQN(k.SQN); err != nil {
				return bad("credentials.aka.sqn", "%v", err)
			}
		}
	}
	for i, u := range a.KMS.URLs {
		if err := checkHTTPURL(u); err != nil {
			return bad(fmt.Sprintf("kms.urls.%d", i), "%v", err)
		}
	}
	if a.KMS.Skew < 0 {
		return bad("kms.skew", "negative")
	}
	if a.BSF.URL != "" {
		if err := checkHTTPURL(a.BSF.URL); err != nil {
			return bad("bsf.url", "%v", err)
		}
	}
	for i, c := range a.Codecs {
		if _, ok := codecByName(c); !ok {
			return bad(fmt.Sprintf("codecs.%d", i), "unknown codec %q (want PCMU, PCMA or telephone-event)", c)
		}
	}
	return nil
}

// Finish checks what a command needs once flags are applied (file names the source in errors)
// and fills the defaults.
func (a *Account) Finish(file string, needRegistrar bool) error {
	bad := func(field string, format string, args ...any) error {
		return &ConfigError{File: file, Field: field, Err: fmt.Errorf(format, args...)}
	}
	if err := a.check(file, nil); err != nil {
		return err
	}
	if needRegistrar && a.Registrar == "" {
		return bad("registrar", "required (or --registrar)")
	}
	if a.Registrar != "" && !a.Credentials.Password.IsSet() && a.Credentials.AKA == nil {
		return bad("credentials", "a registrar needs a password or aka keys")
	}
	if a.Identity.IMPI == "" && a.Credentials.AKA != nil {
		return bad("identity.impi", "required with aka credentials")
	}
	p, _ := a.policy()
	if p.Mode == keymgmt.ModeKMS {
		switch {
		case len(a.KMS.URLs) == 0:
			return bad("kms.urls", "security mode kms needs a KMS")
		case a.BSF.URL == "":
			return bad("bsf.url", "security mode kms needs a BSF (GBA keys the KMS requests)")
		case a.Credentials.AKA == nil:
			return bad("credentials.aka", "security mode kms needs a USIM (GBA bootstrapping runs AKA)")
		case a.Identity.IMPU == "":
			return bad("identity.impu", "security mode kms needs the IMPU the KMS knows")
		}
	}
	if a.Identity.User == "" {
		a.Identity.User = "imsphone"
		if a.Identity.IMPU != "" {
			if u, err := url.Parse(a.Identity.IMPU); err == nil {
				if user, _, ok := strings.Cut(u.Opaque, "@"); ok && user != "" {
					a.Identity.User = user
				}
			}
		}
	}
	if a.Listen == "" {
		a.Listen = "127.0.0.1:0"
	}
	if a.Expires == 0 {
		a.Expires = 600 * time.Second
	}
	if a.KMS.FQDN == "" && len(a.KMS.URLs) > 0 {
		if u, err := url.Parse(a.KMS.URLs[0]); err == nil {
			a.KMS.FQDN = u.Hostname()
		}
	}
	return nil
}

func (a *Account) policy() (keymgmt.Policy, error) {
	mode, req := strings.ToLower(a.Security.Mode), strings.ToLower(a.Security.Requirement)
	if mode == "" {
		mode = string(keymgmt.ModeSDES)
	}
	if req == "" {
		req = string(keymgmt.Mandatory)
	}
	p, err := keymgmt.ParsePolicy(mode, req)
	p.AllowSDESWithoutTLS = a.Security.AllowSDESWithoutTLS
	return p, err
}

func (a *Account) formats() []sdpoa.Format {
	if len(a.Codecs) == 0 {
		return nil
	}
	out := make([]sdpoa.Format, 0, len(a.Codecs))
	for _, c := range a.Codecs {
		f, _ := codecByName(c)
		out = append(out, f)
	}
	return out
}

func codecByName(name string) (sdpoa.Format, bool) {
	switch strings.ToLower(name) {
	case "pcmu":
		return sdpoa.PCMU, true
	case "pcma":
		return sdpoa.PCMA, true
	case "telephone-event":
		return sdpoa.TelephoneEvent, true
	}
	return sdpoa.Format{}, false
}

func checkSIPURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "sip" && u.Scheme != "sips") || u.Opaque == "" {
		return fmt.Errorf("%q is not a sip: URI", s)
	}
	return nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

func checkHostPort(s string) error {
	if _, err := netip.ParseAddrPort(s); err == nil {
		return nil
	}
	host, port, ok := strings.Cut(s, ":")
	if !ok || host == "" || port == "" || strings.Contains(port, ":") {
		return fmt.Errorf("%q is not host:port", s)
	}
	var p int
	if _, err := fmt.Sscanf(port, "%d", &p); err != nil || p < 0 || p > 65535 || fmt.Sprint(p) != port {
		return fmt.Errorf("%q is not host:port", s)
	}
	return nil
}

// checkHex checks a hex string of n octets without putting the value into the error.
func checkHex(v []byte, n int) error {
	b, err := hex.DecodeString(strings.TrimSpace(string(v)))
	if err != nil {
		return errors.New("not hex")
	}
	if len(b) != n {
		return fmt.Errorf("%d octets, want %d", len(b), n)
	}
	clear(b)
	return nil
}

// hexValue decodes a checked hex secret.
func hexValue(s Secret) []byte {
	b, _ := hex.DecodeString(strings.TrimSpace(string(s.Value())))
	return b
}
