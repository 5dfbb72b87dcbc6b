package kms_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/bsf"
	"github.com/imsphone/imsphone/gba/zn"
	"github.com/imsphone/imsphone/internal/kmszn"
	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/kms/policy"
	"github.com/imsphone/imsphone/keymgmt/kms/store"
	"github.com/imsphone/imsphone/keymgmt/kms/store/etcd"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

const (
	kmsFQDN   = "kms.home1.net"
	bsfDomain = "bsf.home1.net"
	znToken   = "test-zn-token-0123456789"
	testSkew  = 30 * time.Second
)

// clock is the injected clock every party of a test shares.
// With real set it runs in real time, shifted by the sum of the Add calls (benchmarks).
type clock struct {
	mu   sync.Mutex
	t    time.Time
	real bool
	off  time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real {
		return time.Now().Add(c.off)
	}
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.off += d
	c.mu.Unlock()
}

// lockedRand is a deterministic, concurrency-safe random source.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func (l *lockedRand) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

func newRand(seed byte) *lockedRand { return &lockedRand{r: rand.NewChaCha8([32]byte{seed})} }

// Test subscribers (TS 35.208 test set 1 keys, test-only). bob1 and bob2 are two devices (two
// IMPIs) of the same public identity sip:bob@home1.net.
var testK, _ = hex.DecodeString("465b5ce8b199b49faa5f0a2ee238a6bc")
var testOPc, _ = hex.DecodeString("cd63cb71954a9f4e48a5994e37a02baf")

var users = []store.User{
	{IMPI: "alice@home1.net", IMPUs: []string{"sip:alice@home1.net"}},
	{IMPI: "bob1@home1.net", IMPUs: []string{"sip:bob@home1.net"}},
	{IMPI: "bob2@home1.net", IMPUs: []string{"sip:bob@home1.net"}},
	{IMPI: "mallory@home1.net", IMPUs: []string{"sip:mallory@home1.net"}},
}

const testPolicy = `version: 1
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

type envCfg struct {
	bolt    bool // bbolt file store (else memory)
	cfg     kms.Config
	noRate  bool
	skipNow bool // do not move the clock past epoch + skew
	real    bool // real-time clock
	boltOpt store.BoltOptions
	etcd    string // etcd client URL: the etcd store under a prefix of its own (else bolt or memory)
	bench   bool   // audit records encoded but not kept (benchmarks)
}

// etcdPrefixes makes each env's etcd prefix unique within the test binary.
var etcdPrefixes atomic.Uint32

// env is one test world on loopback: the test BSF (Ub and Zn), the KMS over HTTP and UEs.
type env struct {
	t      testing.TB
	clk    *clock
	bsfUb  string
	znCfg  zn.ClientConfig
	st     store.Store
	dbPath string
	prefix string // etcd key prefix
	pol    *policy.Engine
	srv    *kms.Server
	url    string
	stop   func()
	cfg    envCfg

	mu     sync.Mutex
	audits []kms.AuditEvent
	logs   lockedBuffer // the KMS's log and audit log, JSON
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newEnv(t testing.TB, ec envCfg) *env {
	t.Helper()
	e := &env{t: t, clk: &clock{t: time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC), real: ec.real}, cfg: ec}
	var subs []bsf.Subscriber
	for i, u := range users {
		subs = append(subs, bsf.Subscriber{IMPI: u.IMPI, K: testK, OPc: testOPc, AMF: [2]byte{0x80, 0}, SQN: uint64(0x20 + i)})
	}
	auc, err := bsf.NewAuC(subs, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := bsf.New(bsf.Config{Realm: bsfDomain, Domain: bsfDomain, KeyLifetime: 2 * time.Hour,
		ZnBearerTokens: []string{znToken}}, auc, bsf.Options{Now: e.clk.Now, Rand: newRand(1)})
	if err != nil {
		t.Fatal(err)
	}
	ub, _ := net.Listen("tcp", "127.0.0.1:0")
	znl, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, ub, znl) }()
	t.Cleanup(func() { cancel(); <-done })
	e.bsfUb = "http://" + ub.Addr().String() + "/"
	e.znCfg = zn.ClientConfig{BaseURL: "http://" + znl.Addr().String(), BearerToken: znToken}

	p, err := policy.Parse([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	e.pol = policy.NewEngine("", p)
	if ec.bolt {
		e.dbPath = filepath.Join(t.TempDir(), "kms.db")
	}
	if ec.etcd != "" {
		e.prefix = fmt.Sprintf("/kmstest/%d/", etcdPrefixes.Add(1))
	}
	e.st = e.openStore()
	for _, u := range users {
		if err := e.st.PutUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	e.start()
	if !ec.skipNow {
		e.clk.Add(testSkew + time.Second) // past the replay cache's epoch + skew
	}
	return e
}

func (e *env) openStore() store.Store {
	if e.cfg.etcd != "" {
		return e.openEtcd()
	}
	if e.dbPath == "" {
		return store.NewMemory()
	}
	st, err := store.OpenBolt(e.dbPath, e.cfg.boltOpt)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// openEtcd opens one more client on the env's etcd prefix, as another replica would.
func (e *env) openEtcd() *etcd.Store {
	st, err := etcd.Open(context.Background(), etcd.Config{Endpoints: []string{e.cfg.etcd}, Prefix: e.prefix})
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// start runs a KMS over e.st on a fresh loopback port.
func (e *env) start() {
	e.t.Helper()
	cfg := e.cfg.cfg
	cfg.FQDN = kmsFQDN
	// Benchmarks encode every audit record as JSON, as a deployment writing its audit log would,
	// but keep neither the records nor the log: a test world that grew by every request would
	// make the garbage collector's work grow with b.N.
	var logs io.Writer = &e.logs
	onAudit := e.onAudit
	if e.cfg.bench {
		logs, onAudit = io.Discard, nil
	}
	cfg.Skew = testSkew
	if e.cfg.noRate {
		cfg.IdentityRate, cfg.SourceRate = -1, -1
	}
	srv, err := kms.New(context.Background(), cfg, kms.Options{Store: e.st, Policy: e.pol, Zn: e.znResolver(), Now: e.clk.Now,
		Rand: newRand(2), OnAudit: onAudit, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		e.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	e.srv, e.url = srv, "http://"+ln.Addr().String()+kms.DefaultPath
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("Serve: %v", err)
			}
		})
	}
	e.t.Cleanup(func() { e.stop(); e.st.Close() })
}

// znResolver is the KMS's Zn client towards the test BSF, with its key cache.
func (e *env) znResolver() kms.ZnResolver {
	zr, err := kmszn.New(e.znCfg, zn.CacheConfig{Now: e.clk.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	return zr
}

// restart stops the KMS, closes and reopens its store and starts a new KMS over it.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	if err := e.st.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.st = e.openStore()
	e.start()
}

func (e *env) onAudit(ev kms.AuditEvent) {
	e.mu.Lock()
	e.audits = append(e.audits, ev)
	e.mu.Unlock()
}

// lastAudit returns the most recent audit event.
func (e *env) lastAudit() kms.AuditEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.audits) == 0 {
		e.t.Fatal("no audit record")
	}
	return e.audits[len(e.audits)-1]
}

// ue is one device: software USIM, Ub client, NAF key cache and KMS client.
type ue struct {
	impi, impu string
	keys       *gba.NAFKeys
	kc         *kms.Client
	invalid    []string
}

func (e *env) ue(impi string, urls ...string) *ue {
	e.t.Helper()
	var impu string
	for _, u := range users {
		if u.IMPI == impi {
			impu = u.IMPUs[0]
		}
	}
	usim, err := gba.NewSoftUSIM(gba.SoftUSIMConfig{IMPI: impi, K: testK, OPc: testOPc})
	if err != nil {
		e.t.Fatal(err)
	}
	ub := &gba.UbClient{BSFURL: e.bsfUb, USIM: usim, Realm: bsfDomain, Clock: e.clk.Now, Rand: newRand(3)}
	keys, err := gba.NewNAFKeys(gba.NAFKeysConfig{Bootstrapper: ub, Clock: e.clk.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { keys.Close() })
	u := &ue{impi: impi, impu: impu, keys: keys}
	if len(urls) == 0 {
		urls = []string{e.url}
	}
	u.kc = e.client(urls, keys.Key, func(b string) { u.invalid = append(u.invalid, b); keys.Invalidate(b) })
	return u
}

func (e *env) client(urls []string, keys kms.KeyProvider, inval func(string)) *kms.Client {
	e.t.Helper()
	// A transport of its own, whose idle connections are closed before the KMS shuts down: a
	// connection dialled for a concurrent request but never used would otherwise hold up the
	// graceful shutdown for 5 s (net/http treats a new connection as idle only after 5 s).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	e.t.Cleanup(tr.CloseIdleConnections)
	c, err := kms.NewClient(kms.ClientConfig{URLs: urls, FQDN: kmsFQDN, Keys: keys, Invalidate: inval, Now: e.clk.Now,
		Rand: newRand(byte(100 + seedCounter.Add(1))), PRF: mikey.PRFHMACSHA256, Skew: testSkew, HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: tr}})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func idr(role mikey.IDRole, impu string) *mikey.IDR {
	return &mikey.IDR{Role: role, Type: mikey.IDTypeURI, Data: []byte(impu)}
}

// kmsErr extracts the KMS refusal from err.
func kmsErr(t *testing.T, err error) *kms.Error {
	t.Helper()
	var ke *kms.Error
	if !errors.As(err, &ke) {
		t.Fatalf("want a KMS refusal, got %v", err)
	}
	return ke
}

func must(t testing.TB, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}
