package lab

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/bsf"
	"github.com/imsphone/imsphone/internal/lab/registrar"
	"github.com/imsphone/imsphone/internal/yamlconf"
)

// Config describes a lab: the home domain, the SIP core, the subscribers, and an optional BSF.
// It is what configs/lab.yaml holds (see testdata/lab.yaml for every field).
type Config struct {
	// Domain is the home network domain (realm, IMPU host, REGISTER Request-URI), e.g. home1.net.
	Domain string `yaml:"domain"`
	// Host is the loopback address everything binds to and advertises (default 127.0.0.1).
	Host string `yaml:"host"`
	// SIPPort is the registrar/proxy port, the same for UDP and TCP (0: a free port).
	SIPPort int `yaml:"sip_port"`
	// SIPTLS makes the registrar/proxy also listen on TLS (RFC 3261 §26.2), on SIPTLSPort (0: a
	// free port), with a certificate for Host and Domain from a CA generated at start (Lab.CAPool,
	// Lab.CACertPEM; Lab.IssueCertificate and Lab.UETLSConfig give UEs certificates of it).
	SIPTLS     bool            `yaml:"sip_tls"`
	SIPTLSPort int             `yaml:"sip_tls_port"`
	Registrar  RegistrarConfig `yaml:"registrar"`
	// Subscribers are shared by the registrar and the BSF's AuC.
	Subscribers []Subscriber `yaml:"subscribers"`
	// BSF, if set, starts an in-process test BSF (Ub and Zn on Host, free ports), and with it
	// the KMS (a NAF of that BSF).
	BSF *BSFConfig `yaml:"bsf"`
	// KMS tunes the KMS (nil: defaults); it needs the BSF.
	KMS *KMSConfig `yaml:"kms"`
}

// RegistrarConfig tunes the registrar/proxy (registrar.Config; zero values take its defaults).
type RegistrarConfig struct {
	MinExpires       bsf.Duration `yaml:"min_expires"`
	MaxExpires       bsf.Duration `yaml:"max_expires"`
	DefaultExpires   bsf.Duration `yaml:"default_expires"`
	NonceLifetime    bsf.Duration `yaml:"nonce_lifetime"`
	DigestAlgorithms []string     `yaml:"digest_algorithms"`
	AKAAlgorithm     string       `yaml:"aka_algorithm"`
	// SenderPolicy is "registered" (default: 403 for unregistered senders) or "digest" (407).
	SenderPolicy string `yaml:"sender_policy"`
}

// BSFConfig configures the in-process BSF.
type BSFConfig struct {
	// Realm of the Ub challenge and Domain of the B-TID (default bsf.<Domain>).
	Realm       string       `yaml:"realm"`
	Domain      string       `yaml:"domain"`
	KeyLifetime bsf.Duration `yaml:"key_lifetime"` // default 1h
	// ZnBearerToken is the token a NAF (the KMS) presents on Zn; "" draws a random one.
	ZnBearerToken string `yaml:"zn_bearer_token"`
}

// Subscriber is one subscription. With K it authenticates with IMS AKA (and can bootstrap at the
// BSF); with Password it uses Digest MD5/SHA-256. Keys are hex.
type Subscriber struct {
	IMPI     string   `yaml:"impi"`
	IMPUs    []string `yaml:"impus"`
	Password string   `yaml:"password"`
	K        string   `yaml:"k"`
	OP       string   `yaml:"op"`
	OPc      string   `yaml:"opc"`
	AMF      string   `yaml:"amf"` // default 8000
	SQN      string   `yaml:"sqn"` // initial SQN_HE, hex (default 0)
}

// String keeps K, OP, OPc and the password out of logs and %v output.
func (s Subscriber) String() string {
	return fmt.Sprintf("Subscriber{IMPI: %q, IMPUs: %q, AKA: %v, secrets: [redacted]}", s.IMPI, s.IMPUs, s.K != "")
}

// GoString redacts like String.
func (s Subscriber) GoString() string { return s.String() }

// String keeps the Zn token out of logs.
func (b BSFConfig) String() string {
	return fmt.Sprintf("BSFConfig{Realm: %q, Domain: %q, KeyLifetime: %v, ZnBearerToken: [redacted]}",
		b.Realm, b.Domain, time.Duration(b.KeyLifetime))
}

// GoString redacts like String.
func (b BSFConfig) GoString() string { return b.String() }

// configLimits bound a lab file's shape (internal/yamlconf): a lab has a few dozen keys, plus
// six or so per subscriber.
var configLimits = yamlconf.Limits{MaxBytes: 1 << 20, MaxSequence: 10000, What: "a lab config"}

// LoadConfig reads a lab YAML file; errors name the file, line and field.
func LoadConfig(path string) (*Config, error) {
	data, err := yamlconf.ReadFile(path, configLimits)
	if err != nil {
		return nil, fmt.Errorf("lab config: %w", err)
	}
	return parseConfig(path, data)
}

// ParseConfig parses lab YAML through internal/yamlconf: unknown keys, repeated keys, aliases
// and oversized files are errors naming the line, so a misspelt field is not silently dropped.
func ParseConfig(data []byte) (*Config, error) { return parseConfig("", data) }

func parseConfig(file string, data []byte) (*Config, error) {
	var c Config
	doc, err := yamlconf.Decode(file, data, &c, configLimits)
	if err != nil {
		return nil, fmt.Errorf("lab config: %w", err)
	}
	for i, s := range c.Subscribers {
		if _, _, err := subscriberRecords(s, i); err != nil {
			return nil, fmt.Errorf("lab config: %w", doc.Errorf(fmt.Sprintf("subscribers.%d", i), "%v", err))
		}
	}
	if _, err := c.senderPolicy(); err != nil {
		return nil, fmt.Errorf("lab config: %w", doc.Errorf("registrar.sender_policy", "%v", err))
	}
	if c.KMS != nil && c.BSF == nil {
		return nil, fmt.Errorf("lab config: %w", doc.Errorf("kms", "kms needs bsf (the KMS is a NAF and gets its keys over Zn)"))
	}
	return &c, nil
}

func (c *Config) senderPolicy() (registrar.SenderPolicy, error) {
	switch strings.ToLower(c.Registrar.SenderPolicy) {
	case "", "registered":
		return registrar.SenderRegistered, nil
	case "digest":
		return registrar.SenderDigest, nil
	}
	return 0, fmt.Errorf("sender_policy %q: want registered or digest", c.Registrar.SenderPolicy)
}

// subscribers converts the subscribers into registrar accounts and AuC records.
func (c *Config) subscribers() ([]registrar.Account, []bsf.Subscriber, error) {
	var accts []registrar.Account
	var subs []bsf.Subscriber
	for i, s := range c.Subscribers {
		a, sub, err := subscriberRecords(s, i)
		if err != nil {
			return nil, nil, fmt.Errorf("lab config: %w", err)
		}
		accts = append(accts, a)
		if sub != nil {
			subs = append(subs, *sub)
		}
	}
	return accts, subs, nil
}

// subscriberRecords converts subscriber i into its registrar account and, for an AKA
// subscriber, its AuC record.
func subscriberRecords(s Subscriber, i int) (registrar.Account, *bsf.Subscriber, error) {
	if s.IMPI == "" {
		return registrar.Account{}, nil, fmt.Errorf("subscriber %d: impi is empty", i)
	}
	a := registrar.Account{IMPI: s.IMPI, IMPUs: s.IMPUs, Password: s.Password, AKA: s.K != ""}
	if s.K == "" {
		if s.OP != "" || s.OPc != "" {
			return a, nil, fmt.Errorf("subscriber %q: op/opc without k", s.IMPI)
		}
		return a, nil, nil
	}
	sub, err := aucRecord(s)
	if err != nil {
		return a, nil, fmt.Errorf("subscriber %q: %w", s.IMPI, err)
	}
	return a, &sub, nil
}

func aucRecord(s Subscriber) (bsf.Subscriber, error) {
	k, err := hexKey("k", s.K)
	if err != nil {
		return bsf.Subscriber{}, err
	}
	var opc []byte
	switch {
	case s.OP != "" && s.OPc != "":
		return bsf.Subscriber{}, errors.New("give op or opc, not both")
	case s.OPc != "":
		if opc, err = hexKey("opc", s.OPc); err != nil {
			return bsf.Subscriber{}, err
		}
	case s.OP != "":
		op, err := hexKey("op", s.OP)
		if err != nil {
			return bsf.Subscriber{}, err
		}
		// TS 35.206 §4.1: OPc = OP ⊕ E_K(OP).
		if opc, err = gba.ComputeOPc(k, op); err != nil {
			return bsf.Subscriber{}, err
		}
	default:
		return bsf.Subscriber{}, errors.New("k needs op or opc")
	}
	sub := bsf.Subscriber{IMPI: s.IMPI, K: k, OPc: opc, AMF: [2]byte{0x80, 0x00}}
	if s.AMF != "" {
		amf, err := hex.DecodeString(s.AMF)
		if err != nil || len(amf) != 2 {
			return bsf.Subscriber{}, fmt.Errorf("amf %q: want 4 hex digits", s.AMF)
		}
		copy(sub.AMF[:], amf)
	}
	if s.SQN != "" {
		v, err := strconv.ParseUint(s.SQN, 16, 64)
		if err != nil || v > gba.MaxSQN {
			return bsf.Subscriber{}, fmt.Errorf("sqn %q: want at most 12 hex digits", s.SQN)
		}
		sub.SQN = v
	}
	return sub, nil
}

func hexKey(name, s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s: not hex", name) // the offending digit is part of a secret
	}
	if len(b) != 16 {
		return nil, fmt.Errorf("%s: %d octets, want 16", name, len(b))
	}
	return b, nil
}
