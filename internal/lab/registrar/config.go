package registrar

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/gba"
)

// Account is one subscription: the private identity that authenticates (IMPI, the Digest
// username) and the public identities it may register (IMPUs). The IMPUs form one implicit
// registration set (TS 24.229 §5.4.1.2.2 with TS 23.228 §4.3.3.3 [unverified detail]): a
// successful REGISTER binds the contacts to every IMPU of the set and lists them all in
// P-Associated-URI (RFC 3455 §4.1).
type Account struct {
	IMPI  string
	IMPUs []string // SIP URIs, e.g. "sip:alice@home1.net"; the first is the default IMPU
	// Password is the Digest password for MD5/SHA-256 (RFC 3261 §22, RFC 8760); "" for an
	// account that only authenticates with IMS AKA.
	Password string
	// AKA makes the account authenticate with IMS AKA (RFC 3310, RFC 4169) against the AuC,
	// which must know the IMPI.
	AKA bool
}

// String keeps the password out of logs and %v output.
func (a Account) String() string {
	return fmt.Sprintf("Account{IMPI: %q, IMPUs: %q, AKA: %v, Password: [redacted]}", a.IMPI, a.IMPUs, a.AKA)
}

// GoString redacts like String.
func (a Account) GoString() string { return a.String() }

// LogValue redacts like String.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(slog.String("impi", a.IMPI), slog.Any("impus", a.IMPUs), slog.Bool("aka", a.AKA))
}

// SenderPolicy says how the proxy treats an out-of-dialog request from a user (RFC 3261 §16.3
// step 6 lets a proxy require authorisation; in IMS the S-CSCF relies on the registration).
type SenderPolicy int

const (
	// SenderRegistered refuses with 403 unless the From AOR is a known IMPU with a live binding.
	SenderRegistered SenderPolicy = iota
	// SenderDigest additionally challenges with 407 Proxy-Authenticate (RFC 3261 §22.3) when the
	// sender's account has a Digest password; AKA-only accounts are trusted on registration,
	// as an S-CSCF trusts the P-CSCF's protected association (TS 33.203 §7).
	SenderDigest
)

// Config is the registrar/proxy's behaviour.
type Config struct {
	// Domain is the home network domain: the realm of the challenges, the host part of the
	// IMPUs and the Request-URI of REGISTER (TS 24.229 §5.1.1.2.1: "sip:home1.net").
	Domain string
	// Host is the address advertised in Via, Record-Route and Service-Route (e.g. "127.0.0.1").
	Host     string
	Accounts []Account
	// DigestAlgorithms are offered to password accounts, preferred first, one WWW-Authenticate
	// each (RFC 8760 §2.4). Default: SHA-256, MD5.
	DigestAlgorithms []string
	// AKAAlgorithm is the default for AKA accounts (default AKAv1-MD5); an initial REGISTER whose
	// Authorization names AKAv1-MD5 or AKAv2-MD5 gets that algorithm instead.
	AKAAlgorithm string
	// MinExpires, MaxExpires and DefaultExpires bound the registration interval (RFC 3261
	// §10.3 steps 7 and 8). Defaults 60 s, 7200 s, 3600 s; TS 24.229 asks the UE for 600000 s,
	// which the S-CSCF may shorten.
	MinExpires, MaxExpires, DefaultExpires time.Duration
	// NonceLifetime is how long a challenge may be answered (default 60 s).
	NonceLifetime time.Duration
	// MaxPendingNonces bounds outstanding challenges (default 10000); the oldest is dropped.
	MaxPendingNonces int
	Sender           SenderPolicy
	// BranchTimeout bounds a forwarded INVITE branch without a final response (RFC 3261 §16.8
	// Timer C, "greater than 3 minutes"; default 3 min 1 s).
	BranchTimeout time.Duration
}

// Options are the injected dependencies.
type Options struct {
	Now    func() time.Time // default time.Now
	Rand   io.Reader        // nonces, RAND, tags; default crypto/rand
	Logger *slog.Logger     // default discards
	// Received, if set, is told the method, transport ("UDP", "TCP", ...) and size in octets
	// of every request the server receives, before it is handled (tests watch the wire).
	Received func(method, transport string, size int)
	// TLS is how the proxy dials TLS (to a Contact or Route with transport=tls): RootCAs verify
	// the UE, Certificates are shown if it asks. nil: the system roots.
	TLS *tls.Config
}

// AuC is the HSS/AuC the registrar fetches AKA vectors from (TS 29.228 Cx MAR/MAA in a real
// IMS). gba/bsf's AuC implements it, so the lab's BSF and registrar share one SQN_HE per IMPI.
type AuC interface {
	Vector(impi string, rand []byte) (gba.AuthVector, error)
	Resync(impi string, rand, auts []byte) (uint64, error)
}

func (c *Config) setDefaults() error {
	if c.Domain == "" {
		return errors.New("registrar config: Domain is empty")
	}
	if c.Host == "" {
		return errors.New("registrar config: Host is empty")
	}
	if len(c.DigestAlgorithms) == 0 {
		c.DigestAlgorithms = []string{AlgorithmSHA256, gba.AlgorithmMD5}
	}
	for _, a := range c.DigestAlgorithms {
		if !strings.EqualFold(a, AlgorithmSHA256) && !strings.EqualFold(a, gba.AlgorithmMD5) {
			return fmt.Errorf("registrar config: digest algorithm %q not supported (MD5, SHA-256)", a)
		}
	}
	if c.AKAAlgorithm == "" {
		c.AKAAlgorithm = gba.AlgorithmAKAv1MD5
	}
	if c.AKAAlgorithm != gba.AlgorithmAKAv1MD5 && c.AKAAlgorithm != gba.AlgorithmAKAv2MD5 {
		return fmt.Errorf("registrar config: AKA algorithm %q not supported", c.AKAAlgorithm)
	}
	if c.MinExpires == 0 {
		c.MinExpires = 60 * time.Second
	}
	if c.MaxExpires == 0 {
		c.MaxExpires = 7200 * time.Second
	}
	if c.DefaultExpires == 0 {
		c.DefaultExpires = 3600 * time.Second
	}
	if c.MinExpires > c.MaxExpires || c.DefaultExpires < c.MinExpires || c.DefaultExpires > c.MaxExpires {
		return fmt.Errorf("registrar config: need MinExpires (%v) <= DefaultExpires (%v) <= MaxExpires (%v)",
			c.MinExpires, c.DefaultExpires, c.MaxExpires)
	}
	if c.NonceLifetime == 0 {
		c.NonceLifetime = time.Minute
	}
	if c.MaxPendingNonces == 0 {
		c.MaxPendingNonces = 10000
	}
	if c.BranchTimeout == 0 {
		c.BranchTimeout = 3*time.Minute + time.Second
	}
	return nil
}

// accountIndex maps IMPIs and IMPU AORs to accounts.
type accountIndex struct {
	byIMPI map[string]*Account
	byAOR  map[string]*Account
}

func indexAccounts(accts []Account) (*accountIndex, error) {
	ix := &accountIndex{byIMPI: map[string]*Account{}, byAOR: map[string]*Account{}}
	for i := range accts {
		a := &accts[i]
		if a.IMPI == "" {
			return nil, fmt.Errorf("account %d: empty IMPI", i)
		}
		if _, dup := ix.byIMPI[a.IMPI]; dup {
			return nil, fmt.Errorf("account %d: duplicate IMPI %q", i, a.IMPI)
		}
		if !a.AKA && a.Password == "" {
			return nil, fmt.Errorf("account %q: neither AKA nor a Digest password", a.IMPI)
		}
		if len(a.IMPUs) == 0 {
			return nil, fmt.Errorf("account %q: no IMPU", a.IMPI)
		}
		ix.byIMPI[a.IMPI] = a
		for j, s := range a.IMPUs {
			var u sip.Uri
			if err := sip.ParseUri(s, &u); err != nil {
				return nil, fmt.Errorf("account %q: IMPU %d %q: %w", a.IMPI, j, s, err)
			}
			if u.User == "" || (u.Scheme != "sip" && u.Scheme != "sips") {
				return nil, fmt.Errorf("account %q: IMPU %d %q is not a sip: URI with a user part", a.IMPI, j, s)
			}
			k := AORKey(u)
			if _, dup := ix.byAOR[k]; dup {
				return nil, fmt.Errorf("account %q: IMPU %q belongs to another account too", a.IMPI, s)
			}
			ix.byAOR[k] = a
		}
	}
	return ix, nil
}
