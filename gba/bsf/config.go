package bsf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/internal/yamlconf"
)

// FileConfig is the YAML configuration of the BSF daemon (configs/bsf.yaml shows every field).
type FileConfig struct {
	Ub              EndpointConfig     `yaml:"ub"`
	Zn              ZnEndpointConfig   `yaml:"zn"`
	Realm           string             `yaml:"realm"`
	Domain          string             `yaml:"domain"`
	KeyLifetime     Duration           `yaml:"key_lifetime"`
	NonceLifetime   Duration           `yaml:"nonce_lifetime"`
	StateFile       string             `yaml:"state_file"`
	SubscribersFile string             `yaml:"subscribers_file"`
	Subscribers     []SubscriberConfig `yaml:"subscribers"`
	Limits          LimitsConfig       `yaml:"limits"`

	// dir resolves relative paths: the directory of the configuration file.
	dir string
}

// EndpointConfig is one HTTP endpoint: where it listens and, for HTTPS, its certificate.
type EndpointConfig struct {
	Listen  string `yaml:"listen"`
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
}

// ZnEndpointConfig adds how Zn callers authenticate.
type ZnEndpointConfig struct {
	EndpointConfig `yaml:",inline"`
	BearerTokens   []string `yaml:"bearer_tokens"`
	ClientCA       string   `yaml:"client_ca"`
}

// LimitsConfig holds the DoS bounds.
type LimitsConfig struct {
	MaxBodyBytes         int64    `yaml:"max_body_bytes"`
	MaxAuthFailures      int      `yaml:"max_auth_failures"`
	MaxPendingChallenges int      `yaml:"max_pending_challenges"`
	ReadTimeout          Duration `yaml:"read_timeout"`
	WriteTimeout         Duration `yaml:"write_timeout"`
	IdleTimeout          Duration `yaml:"idle_timeout"`
}

// SubscriberConfig is a subscriber as written in YAML: hex strings; exactly one of OP and OPc.
type SubscriberConfig struct {
	IMPI string `yaml:"impi"`
	K    string `yaml:"k"`
	OP   string `yaml:"op"`
	OPc  string `yaml:"opc"`
	AMF  string `yaml:"amf"`
	SQN  string `yaml:"sqn"`
}

// Duration is a time.Duration written as Go duration text ("12h", "90s").
type Duration time.Duration

// UnmarshalYAML parses the duration text.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as \"1h\"", n.Line)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: duration %q: %w", n.Line, n.Value, err)
	}
	if v < 0 {
		return fmt.Errorf("line %d: negative duration %s", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// configLimits bound a BSF configuration; subscribersLimits a subscribers_file, which may list
// many more subscribers (yamlconf package doc: why files are bounded).
func configLimits() yamlconf.Limits {
	return yamlconf.Limits{MaxBytes: 1 << 20, MaxSequence: 4096, What: "a BSF configuration"}
}

func subscribersLimits() yamlconf.Limits {
	return yamlconf.Limits{MaxBytes: 64 << 20, MaxNodes: 1 << 22, MaxSequence: 1 << 19, MaxMappingKeys: 16, What: "a subscribers file"}
}

// ParseConfig parses and checks the YAML text. Unknown keys are errors, so a misspelt field does
// not silently fall back to a default; errors say "bsf config: line 6: field: problem".
func ParseConfig(data []byte) (*FileConfig, error) {
	fc, err := parseConfig("", data)
	if err != nil {
		return nil, fmt.Errorf("bsf config: %w", err)
	}
	return fc, nil
}

// LoadConfig reads the configuration file; relative paths in it are taken from its directory.
// Errors are *yamlconf.Error naming the file, line and field.
func LoadConfig(path string) (*FileConfig, error) {
	data, err := yamlconf.ReadFile(path, configLimits())
	if err != nil {
		return nil, err
	}
	fc, err := parseConfig(path, data)
	if err != nil {
		return nil, err
	}
	fc.dir = filepath.Dir(path)
	return fc, nil
}

func parseConfig(file string, data []byte) (*FileConfig, error) {
	var fc FileConfig
	doc, err := yamlconf.Decode(file, data, &fc, configLimits())
	if err != nil {
		return nil, err
	}
	if err := fc.check(doc); err != nil {
		return nil, err
	}
	return &fc, nil
}

func (fc *FileConfig) check(doc *yamlconf.Doc) error {
	if fc.Ub.Listen == "" {
		return doc.Errorf("ub.listen", "missing (e.g. \"127.0.0.1:8080\")")
	}
	if fc.Zn.Listen == "" {
		return doc.Errorf("zn.listen", "missing (e.g. \"127.0.0.1:8443\")")
	}
	if err := fc.Ub.check(doc, "ub"); err != nil {
		return err
	}
	if err := fc.Zn.check(doc, "zn"); err != nil {
		return err
	}
	if len(fc.Zn.BearerTokens) == 0 && fc.Zn.ClientCA == "" {
		return doc.Errorf("zn", "set bearer_tokens or client_ca; Zn hands out keys and is never open")
	}
	for i, t := range fc.Zn.BearerTokens {
		if len(t) < 16 {
			return doc.Errorf(fmt.Sprintf("zn.bearer_tokens[%d]", i), "shorter than 16 characters")
		}
	}
	if fc.Zn.ClientCA != "" && fc.Zn.TLSCert == "" {
		return doc.Errorf("zn.client_ca", "needs zn.tls_cert and zn.tls_key (mutual TLS)")
	}
	if err := checkName("realm", fc.Realm); err != nil {
		return &yamlconf.Error{File: doc.File, Line: doc.Line("realm"), Err: err}
	}
	if err := checkName("domain", fc.Domain); err != nil {
		return &yamlconf.Error{File: doc.File, Line: doc.Line("domain"), Err: err}
	}
	if fc.KeyLifetime <= 0 {
		return doc.Errorf("key_lifetime", "missing (e.g. \"12h\")")
	}
	if fc.SubscribersFile == "" && len(fc.Subscribers) == 0 {
		return &yamlconf.Error{File: doc.File, Err: errors.New("no subscribers: set subscribers or subscribers_file")}
	}
	if _, err := ParseSubscribers(fc.Subscribers); err != nil {
		return subscriberError(doc, "subscribers", err)
	}
	for _, l := range []struct {
		name string
		v    int64
	}{{"max_body_bytes", fc.Limits.MaxBodyBytes}, {"max_auth_failures", int64(fc.Limits.MaxAuthFailures)},
		{"max_pending_challenges", int64(fc.Limits.MaxPendingChallenges)}} {
		if l.v < 0 {
			return doc.Errorf("limits."+l.name, "negative value")
		}
	}
	return nil
}

// subscriberError gives a ParseSubscribers error the line of the subscriber it names (its
// message already names the field).
func subscriberError(doc *yamlconf.Doc, list string, err error) error {
	line := 0
	var se *subscriberErr
	if errors.As(err, &se) {
		line = doc.Line(fmt.Sprintf("%s.%d.%s", list, se.index, se.field))
	}
	return &yamlconf.Error{File: doc.File, Line: line, Err: err}
}

// subscriberErr is a ParseSubscribers error about entry index, field field ("" for the entry).
type subscriberErr struct {
	index int
	field string
	err   error
}

func (e *subscriberErr) Error() string { return e.err.Error() }
func (e *subscriberErr) Unwrap() error { return e.err }

func (e EndpointConfig) check(doc *yamlconf.Doc, name string) error {
	if (e.TLSCert == "") != (e.TLSKey == "") {
		return doc.Errorf(name, "tls_cert and tls_key go together")
	}
	return nil
}

// ParseSubscribers converts YAML subscribers, checking sizes and computing OPc from OP where
// only OP is given (TS 35.206 §4.1).
func ParseSubscribers(in []SubscriberConfig) ([]Subscriber, error) {
	out, i, field, err := parseSubscribers(in)
	if err != nil {
		return nil, &subscriberErr{index: i, field: field, err: err}
	}
	return out, nil
}

// parseSubscribers is ParseSubscribers, also saying which entry and field an error is about.
func parseSubscribers(in []SubscriberConfig) ([]Subscriber, int, string, error) {
	out := make([]Subscriber, 0, len(in))
	seen := make(map[string]bool, len(in))
	for i, sc := range in {
		where := fmt.Sprintf("subscribers[%d]", i)
		if sc.IMPI == "" {
			return nil, i, "impi", fmt.Errorf("%s.impi: missing", where)
		}
		where = fmt.Sprintf("subscribers[%d] (%s)", i, sc.IMPI)
		if seen[sc.IMPI] {
			return nil, i, "impi", fmt.Errorf("%s: IMPI listed twice", where)
		}
		seen[sc.IMPI] = true
		k, err := hexField(where+".k", sc.K, 16)
		if err != nil {
			return nil, i, "k", err
		}
		s := Subscriber{IMPI: sc.IMPI, K: k, AMF: [2]byte{0x80, 0x00}}
		switch {
		case sc.OP != "" && sc.OPc != "":
			return nil, i, "opc", fmt.Errorf("%s: give op or opc, not both", where)
		case sc.OPc != "":
			if s.OPc, err = hexField(where+".opc", sc.OPc, 16); err != nil {
				return nil, i, "opc", err
			}
		case sc.OP != "":
			op, err := hexField(where+".op", sc.OP, 16)
			if err != nil {
				return nil, i, "op", err
			}
			if s.OPc, err = gba.ComputeOPc(k, op); err != nil {
				return nil, i, "op", fmt.Errorf("%s: OPc: %w", where, err)
			}
		default:
			return nil, i, "", fmt.Errorf("%s: op or opc missing", where)
		}
		if sc.AMF != "" {
			amf, err := hexField(where+".amf", sc.AMF, 2)
			if err != nil {
				return nil, i, "amf", err
			}
			copy(s.AMF[:], amf)
		}
		if sc.SQN != "" {
			if len(sc.SQN) != 12 {
				return nil, i, "sqn", fmt.Errorf("%s.sqn: %d characters, want 12 hex digits (48 bits)", where, len(sc.SQN))
			}
			if s.SQN, err = strconv.ParseUint(sc.SQN, 16, 64); err != nil {
				return nil, i, "sqn", fmt.Errorf("%s.sqn: not hex", where)
			}
		}
		out = append(out, s)
	}
	return out, 0, "", nil
}

// hexField decodes a fixed-size hex field; the error never quotes the value (it may be a key).
func hexField(name, v string, size int) ([]byte, error) {
	v = strings.TrimPrefix(strings.ReplaceAll(v, " ", ""), "0x")
	if len(v) != 2*size {
		return nil, fmt.Errorf("%s: %d hex digits, want %d", name, len(v), 2*size)
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("%s: not hex", name)
	}
	return b, nil
}

func (fc *FileConfig) path(p string) string {
	if p == "" || filepath.IsAbs(p) || fc.dir == "" {
		return p
	}
	return filepath.Join(fc.dir, p)
}

// LoadSubscribers returns the inline subscribers plus those of subscribers_file (a YAML document
// with a "subscribers:" list in the same form).
func (fc *FileConfig) LoadSubscribers() ([]Subscriber, error) {
	all := append([]SubscriberConfig(nil), fc.Subscribers...)
	if fc.SubscribersFile != "" {
		p := fc.path(fc.SubscribersFile)
		data, err := yamlconf.ReadFile(p, subscribersLimits())
		if err != nil {
			return nil, fmt.Errorf("subscribers_file: %w", err)
		}
		var f struct {
			Subscribers []SubscriberConfig `yaml:"subscribers"`
		}
		doc, err := yamlconf.Decode(p, data, &f, subscribersLimits())
		if err != nil {
			return nil, fmt.Errorf("subscribers_file: %w", err)
		}
		if _, err := ParseSubscribers(f.Subscribers); err != nil {
			return nil, fmt.Errorf("subscribers_file: %w", subscriberError(doc, "subscribers", err))
		}
		all = append(all, f.Subscribers...)
	}
	subs, err := ParseSubscribers(all)
	if err != nil {
		return nil, fmt.Errorf("subscribers: %w", err)
	}
	return subs, nil
}

// StatePath is state_file resolved against the configuration's directory.
func (fc *FileConfig) StatePath() string { return fc.path(fc.StateFile) }

// ServerConfig builds the Server configuration, loading certificates and the client CA.
func (fc *FileConfig) ServerConfig() (Config, error) {
	cfg := Config{
		Realm:                fc.Realm,
		Domain:               fc.Domain,
		KeyLifetime:          time.Duration(fc.KeyLifetime),
		NonceLifetime:        time.Duration(fc.NonceLifetime),
		MaxAuthFailures:      fc.Limits.MaxAuthFailures,
		MaxPendingChallenges: fc.Limits.MaxPendingChallenges,
		MaxBodyBytes:         fc.Limits.MaxBodyBytes,
		ReadTimeout:          time.Duration(fc.Limits.ReadTimeout),
		WriteTimeout:         time.Duration(fc.Limits.WriteTimeout),
		IdleTimeout:          time.Duration(fc.Limits.IdleTimeout),
		ZnBearerTokens:       fc.Zn.BearerTokens,
	}
	var err error
	if cfg.UbTLS, err = fc.tlsConfig("ub", fc.Ub); err != nil {
		return Config{}, err
	}
	if cfg.ZnTLS, err = fc.tlsConfig("zn", fc.Zn.EndpointConfig); err != nil {
		return Config{}, err
	}
	if fc.Zn.ClientCA != "" {
		pem, err := os.ReadFile(fc.path(fc.Zn.ClientCA))
		if err != nil {
			return Config{}, fmt.Errorf("zn.client_ca: %w", err)
		}
		cfg.ZnClientCAs = x509.NewCertPool()
		if !cfg.ZnClientCAs.AppendCertsFromPEM(pem) {
			return Config{}, fmt.Errorf("zn.client_ca %s: no PEM certificate in it", fc.Zn.ClientCA)
		}
	}
	return cfg, nil
}

func (fc *FileConfig) tlsConfig(name string, e EndpointConfig) (*tls.Config, error) {
	if e.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(fc.path(e.TLSCert), fc.path(e.TLSKey))
	if err != nil {
		return nil, fmt.Errorf("%s TLS certificate: %w", name, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// String keeps K, OP and OPc out of logs and %v output.
func (s SubscriberConfig) String() string {
	return fmt.Sprintf("SubscriberConfig{IMPI:%s K:[redacted] OP/OPc:[redacted] AMF:%s SQN:%s}", s.IMPI, s.AMF, s.SQN)
}

// GoString redacts like String.
func (s SubscriberConfig) GoString() string { return s.String() }

// String keeps the bearer tokens out of logs and %v output.
func (z ZnEndpointConfig) String() string {
	return fmt.Sprintf("ZnEndpointConfig{Listen:%s TLSCert:%s ClientCA:%s BearerTokens:[%d redacted]}",
		z.Listen, z.TLSCert, z.ClientCA, len(z.BearerTokens))
}

// GoString redacts like String.
func (z ZnEndpointConfig) GoString() string { return z.String() }
