package keymgmt_test

import (
	"context"
	"encoding/hex"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/bsf"
	"github.com/imsphone/imsphone/gba/zn"
	"github.com/imsphone/imsphone/internal/kmszn"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/kms/policy"
	"github.com/imsphone/imsphone/keymgmt/kms/store"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// The lab of these tests, on loopback as in keymgmt/kms's TestCallEndToEnd: the test BSF (Ub and
// Zn), a KMS over HTTP keyed from it, and UEs that bootstrap with a software USIM.

const (
	labKMSFQDN = "kms.home1.net"
	labBSF     = "bsf.home1.net"
	labZnToken = "test-zn-token-0123456789"
	labSkew    = 30 * time.Second
)

// TS 35.208 test set 1 subscriber keys (test-only).
var (
	labK, _   = hex.DecodeString("465b5ce8b199b49faa5f0a2ee238a6bc")
	labOPc, _ = hex.DecodeString("cd63cb71954a9f4e48a5994e37a02baf")
)

var labUsers = []store.User{
	{IMPI: "alice@home1.net", IMPUs: []string{"sip:alice@home1.net"}},
	{IMPI: "bob@home1.net", IMPUs: []string{"sip:bob@home1.net"}},
	{IMPI: "mallory@home1.net", IMPUs: []string{"sip:mallory@home1.net"}},
}

const labPolicy = `version: 1
defaults:
  max_validity: 1h
  features: [reuse]
request:
  - name: home
    from: ["sip:*@home1.net"]
    to: ["sip:*@home1.net"]
    max_validity: 1h
    features: [reuse, forking]
resolve:
  - name: home
    who: ["sip:*@home1.net"]
    of: ["sip:*@home1.net"]
`

// labClock is the clock every party shares; with real it follows time.Now shifted by the Add
// calls (benchmarks).
type labClock struct {
	mu   sync.Mutex
	t    time.Time
	real bool
	off  time.Duration // what Add moved a real clock by
}

func (c *labClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real {
		return time.Now().Add(c.off)
	}
	return c.t
}

func (c *labClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.off += d
	c.mu.Unlock()
}

// lockedRand is a deterministic random source safe for concurrent use.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func (l *lockedRand) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

func newRand(seed byte) *lockedRand { return &lockedRand{r: rand.NewChaCha8([32]byte{seed, 0x6b})} }

type lab struct {
	t        testing.TB
	clk      *labClock
	bsfUb    string
	kmsURL   string
	requests atomic.Int64 // HTTP requests that reached the KMS
	seed     atomic.Uint32
}

func newLab(t testing.TB, realClock bool) *lab {
	t.Helper()
	l := &lab{t: t, clk: &labClock{t: time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC), real: realClock}}
	var subs []bsf.Subscriber
	for i, u := range labUsers {
		subs = append(subs, bsf.Subscriber{IMPI: u.IMPI, K: labK, OPc: labOPc, AMF: [2]byte{0x80, 0}, SQN: uint64(0x20 + i)})
	}
	auc, err := bsf.NewAuC(subs, "")
	must(t, err, "AuC")
	b, err := bsf.New(bsf.Config{Realm: labBSF, Domain: labBSF, KeyLifetime: 2 * time.Hour, ZnBearerTokens: []string{labZnToken}},
		auc, bsf.Options{Now: l.clk.Now, Rand: newRand(1)})
	must(t, err, "BSF")
	ub, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err, "listen Ub")
	znl, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err, "listen Zn")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, ub, znl) }()
	t.Cleanup(func() { cancel(); <-done })
	l.bsfUb = "http://" + ub.Addr().String() + "/"

	p, err := policy.Parse([]byte(labPolicy))
	must(t, err, "policy")
	st := store.NewMemory()
	for _, u := range labUsers {
		must(t, st.PutUser(context.Background(), u), "PutUser")
	}
	zr, err := kmszn.New(zn.ClientConfig{BaseURL: "http://" + znl.Addr().String(), BearerToken: labZnToken}, zn.CacheConfig{Now: l.clk.Now})
	must(t, err, "Zn client")
	srv, err := kms.New(context.Background(), kms.Config{FQDN: labKMSFQDN, Skew: labSkew, IdentityRate: -1, SourceRate: -1},
		kms.Options{Store: st, Policy: policy.NewEngine("", p), Zn: zr, Now: l.clk.Now, Rand: newRand(2)})
	must(t, err, "KMS")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err, "listen KMS")
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.requests.Add(1)
		srv.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close(); st.Close() })
	l.kmsURL = "http://" + ln.Addr().String() + kms.DefaultPath
	l.clk.Add(labSkew + time.Second) // past the KMS replay cache's start + skew
	return l
}

// kmsClient is a UE's KMS client, keyed from its own GBA bootstrap.
func (l *lab) kmsClient(impi string, urls ...string) *kms.Client {
	l.t.Helper()
	usim, err := gba.NewSoftUSIM(gba.SoftUSIMConfig{IMPI: impi, K: labK, OPc: labOPc})
	must(l.t, err, "USIM")
	ub := &gba.UbClient{BSFURL: l.bsfUb, USIM: usim, Realm: labBSF, Clock: l.clk.Now, Rand: newRand(3)}
	keys, err := gba.NewNAFKeys(gba.NAFKeysConfig{Bootstrapper: ub, Clock: l.clk.Now})
	must(l.t, err, "NAF keys")
	l.t.Cleanup(func() { keys.Close() })
	if len(urls) == 0 {
		urls = []string{l.kmsURL}
	}
	c, err := kms.NewClient(kms.ClientConfig{URLs: urls, FQDN: labKMSFQDN, Keys: keys.Key, Invalidate: keys.Invalidate,
		Now: l.clk.Now, Rand: newRand(byte(100 + l.seed.Add(1))), PRF: mikey.PRFHMACSHA256, Skew: labSkew,
		HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	must(l.t, err, "KMS client")
	return c
}

// method is a UE's MIKEY method; cfg may set Flags and Profiles.
func (l *lab) method(impi string, cfg keymgmt.MIKEYConfig) *keymgmt.MIKEY {
	l.t.Helper()
	if cfg.KMS == nil {
		cfg.KMS = l.kmsClient(impi)
	}
	cfg.Now = l.clk.Now
	cfg.Rand = newRand(byte(200 + l.seed.Add(1)))
	cfg.Window = mikey.Window{Skew: labSkew}
	m, err := keymgmt.NewMIKEY(cfg)
	must(l.t, err, "NewMIKEY")
	return m
}

// negotiator is a UE with policy kms/mandatory.
func (l *lab) negotiator(impi string, cfg keymgmt.MIKEYConfig) *keymgmt.Negotiator {
	l.t.Helper()
	n, err := keymgmt.New(keymgmt.Config{Policy: keymgmt.Policy{Mode: keymgmt.ModeKMS, Requirement: keymgmt.Mandatory},
		Rand: newRand(9), KMS: l.method(impi, cfg)})
	must(l.t, err, "Negotiator")
	return n
}

func must(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
