package client

import (
	"context"
	"encoding/hex"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/bsf"
	labreg "github.com/imsphone/imsphone/internal/lab/registrar"
	"github.com/imsphone/imsphone/keymgmt"
)

// TS 35.208 test set 1 K and OPc (also /work/shared/specs/gba.md §9.1).
var (
	set1K   = mustHex("465b5ce8b199b49faa5f0a2ee238a6bc")
	set1OPc = mustHex("cd63cb71954a9f4e48a5994e37a02baf")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

const akaIMPI = "ue1@ims.home1.net"

// labCore is the lab's S-CSCF registrar (internal/lab/registrar) with an AuC (gba/bsf), serving
// UDP and TCP on one loopback port.
type labCore struct {
	srv  *labreg.Server
	auc  *bsf.AuC
	addr string // host:port
}

func newLabCore(t testing.TB, mod func(*labreg.Config)) *labCore {
	t.Helper()
	auc, err := bsf.NewAuC([]bsf.Subscriber{{IMPI: akaIMPI, K: set1K, OPc: set1OPc, AMF: [2]byte{0x80, 0x00}, SQN: 0x20},
		{IMPI: "ue2@ims.home1.net", K: set1K, OPc: set1OPc, AMF: [2]byte{0x80, 0x00}, SQN: 0x20}}, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := labreg.Config{Domain: "home1.net", Host: "127.0.0.1", Accounts: []labreg.Account{
		{IMPI: akaIMPI, IMPUs: []string{"sip:ue1@home1.net", "sip:+15550001@home1.net"}, AKA: true},
		{IMPI: "alice@home1.net", IMPUs: []string{"sip:alice@home1.net"}, Password: "alice-secret"},
		{IMPI: "ue2@ims.home1.net", IMPUs: []string{"sip:ue2@home1.net"}, AKA: true},
	}}
	if mod != nil {
		mod(&cfg)
	}
	s, err := labreg.New(cfg, auc, labreg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var tl net.Listener
	var pc net.PacketConn
	for i := 0; i < 20 && pc == nil; i++ {
		if tl, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if pc, err = net.ListenPacket("udp", tl.Addr().String()); err != nil {
			tl.Close()
			pc = nil
		}
	}
	if pc == nil {
		t.Fatal("no UDP+TCP port pair")
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.ServeTCP(tl) }()
	go func() { defer wg.Done(); s.ServeUDP(pc) }()
	t.Cleanup(func() { s.Close(); tl.Close(); pc.Close(); wg.Wait() })
	return &labCore{srv: s, auc: auc, addr: pc.LocalAddr().String()}
}

func softUSIM(t testing.TB, k []byte) *gba.SoftUSIM {
	t.Helper()
	u, err := gba.NewSoftUSIM(gba.SoftUSIMConfig{IMPI: akaIMPI, K: k, OPc: set1OPc, SingleCounter: true})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// akaPhone is a UE whose P-CSCF (outbound proxy) is the lab core; the REGISTER's Request-URI is
// the home domain (TS 24.229 §5.1.1.2.1).
func akaPhone(t testing.TB, core *labCore) *Phone {
	t.Helper()
	p, err := NewPhone(Config{User: "ue1", AOR: "sip:ue1@home1.net", OutboundProxy: core.addr,
		Security: keymgmt.Policy{Mode: keymgmt.ModeNone, Requirement: keymgmt.Preferred}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func bound(t *testing.T, core *labCore, aor string) int {
	t.Helper()
	return len(core.srv.Location().Lookup(aor))
}

func TestRegisterIMSAKA(t *testing.T) {
	for _, alg := range []string{gba.AlgorithmAKAv1MD5, gba.AlgorithmAKAv2MD5} {
		t.Run(alg, func(t *testing.T) {
			core := newLabCore(t, func(c *labreg.Config) { c.AKAAlgorithm = alg })
			p := akaPhone(t, core)
			ctx := context.Background()
			r, err := p.Register(ctx, RegisterOptions{Registrar: "sip:home1.net", USIM: softUSIM(t, set1K), Expires: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if n := bound(t, core, "sip:ue1@home1.net"); n != 1 {
				t.Fatalf("%d bindings after REGISTER", n)
			}
			if got := r.AssociatedURIs(); !slices.Equal(got, []string{"sip:ue1@home1.net", "sip:+15550001@home1.net"}) {
				t.Fatalf("P-Associated-URI %q", got)
			}
			if sr := r.ServiceRoute(); len(sr) != 1 || !strings.Contains(sr[0], "orig@127.0.0.1") {
				t.Fatalf("Service-Route %q", sr)
			}
			if r.Expires() != time.Hour {
				t.Fatalf("granted %v", r.Expires())
			}
			if err := r.Unregister(ctx); err != nil {
				t.Fatal(err)
			}
			if n := bound(t, core, "sip:ue1@home1.net"); n != 0 {
				t.Fatalf("%d bindings after Unregister", n)
			}
		})
	}
}

// RFC 3310 §3.4: the USIM has seen a higher SQN than the AuC issues; the UE answers with auts,
// the AuC resynchronises and the next challenge succeeds.
func TestRegisterAKAResync(t *testing.T) {
	core := newLabCore(t, nil)
	usim := softUSIM(t, set1K)
	// Advance the USIM's SQN_MS far beyond the AuC's SQN_HE (0x20) with a vector made straight
	// from Milenage, as another network with the same K would.
	m, err := gba.NewMilenage(set1K, set1OPc)
	if err != nil {
		t.Fatal(err)
	}
	rnd := mustHex("23553cbe9637a89d218ae64dae47bf35")
	const high = 0x100000
	av, err := gba.GenerateAuthVector(m, rnd, high, []byte{0x80, 0x00})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := usim.Authenticate(context.Background(), av.RAND, av.AUTN); err != nil {
		t.Fatal(err)
	}
	p := akaPhone(t, core)
	r, err := p.Register(context.Background(), RegisterOptions{Registrar: "sip:home1.net", USIM: usim})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Unregister(context.Background())
	if sqn, _ := core.auc.SQN(akaIMPI); sqn <= high {
		t.Fatalf("AuC SQN_HE %#x not resynchronised past %#x", sqn, high)
	}
	if n := bound(t, core, "sip:ue1@home1.net"); n != 1 {
		t.Fatalf("%d bindings", n)
	}
}

// A USIM with another K finds MAC-A wrong: the UE reports network authentication failure and
// sends no RES (the registrar answers the empty-password answer with 403).
func TestRegisterAKAMACFailure(t *testing.T) {
	core := newLabCore(t, nil)
	wrongK := mustHex("000102030405060708090a0b0c0d0e0f")
	p := akaPhone(t, core)
	_, err := p.Register(context.Background(), RegisterOptions{Registrar: "sip:home1.net", USIM: softUSIM(t, wrongK)})
	if !errors.Is(err, ErrRegister) || !errors.Is(err, ErrNetworkAuth) {
		t.Fatalf("want ErrRegister and ErrNetworkAuth, got %v", err)
	}
	if n := bound(t, core, "sip:ue1@home1.net"); n != 0 {
		t.Fatalf("%d bindings after MAC failure", n)
	}
}

// The lab registrar offers SHA-256 first, then MD5 (RFC 8760 §2.4); the UA answers SHA-256.
func TestRegisterDigestSHA256(t *testing.T) {
	core := newLabCore(t, func(c *labreg.Config) { c.DigestAlgorithms = []string{"SHA-256"} })
	p, err := NewPhone(Config{User: "alice", AOR: "sip:alice@home1.net"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	_, err = p.Register(ctx, RegisterOptions{Registrar: "sip:" + core.addr, Username: "alice@home1.net", Password: "wrong"})
	if !errors.Is(err, ErrRegister) || !strings.Contains(err.Error(), "403") {
		t.Fatalf("wrong password: %v", err)
	}
	r, err := p.Register(ctx, RegisterOptions{Registrar: "sip:" + core.addr, Username: "alice@home1.net", Password: "alice-secret"})
	if err != nil {
		t.Fatal(err)
	}
	if n := bound(t, core, "sip:alice@home1.net"); n != 1 {
		t.Fatalf("%d bindings", n)
	}
	// Phone.Close removes the binding (§10.2.2).
	p.Close()
	if n := bound(t, core, "sip:alice@home1.net"); n != 0 {
		t.Fatalf("%d bindings after Close", n)
	}
	_ = r
}

// fakeAKARegistrar challenges with a vector made from k (TS 35.208 set 1 OPc) and records the
// REGISTERs; answer decides the reply to an answered challenge.
func fakeAKARegistrar(t *testing.T, k []byte, answer func(req *sip.Request, av gba.AuthVector) *sip.Response) *fakeProxy {
	t.Helper()
	m, err := gba.NewMilenage(k, set1OPc)
	if err != nil {
		t.Fatal(err)
	}
	av, err := gba.GenerateAuthVector(m, mustHex("23553cbe9637a89d218ae64dae47bf35"), 0x40, []byte{0x80, 0x00})
	if err != nil {
		t.Fatal(err)
	}
	return newFakeProxy(t, func(req *sip.Request) *sip.Response {
		h := req.GetHeader("Authorization")
		if c, err := gba.ParseCredentials(h.Value()); h == nil || err != nil || c.Nonce == "" {
			res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", (&gba.Challenge{Realm: "home1.net",
				Nonce: gba.AKANonce(av.RAND, av.AUTN, nil), Algorithm: gba.AlgorithmAKAv1MD5, QOP: []string{"auth"}}).String()))
			return res
		}
		return answer(req, av)
	})
}

// On a MAC failure the UE's only answer is the RFC 2617 response over an empty password,
// without auts (computed here with crypto/md5 directly); no RES-based response is sent.
func TestRegisterAKAMACFailureSendsNoRES(t *testing.T) {
	otherK := mustHex("000102030405060708090a0b0c0d0e0f")
	fp := fakeAKARegistrar(t, otherK, func(req *sip.Request, av gba.AuthVector) *sip.Response {
		return sip.NewResponseFromRequest(req, 403, "Forbidden", nil)
	})
	p, err := NewPhone(Config{User: "ue1", AOR: "sip:ue1@home1.net", OutboundProxy: fp.addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = p.Register(context.Background(), RegisterOptions{Registrar: "sip:home1.net", USIM: softUSIM(t, set1K)})
	if !errors.Is(err, ErrNetworkAuth) || !errors.Is(err, ErrRegister) {
		t.Fatalf("got %v", err)
	}
	first := fp.next(sip.REGISTER)
	c0, err := gba.ParseCredentials(first.GetHeader("Authorization").Value())
	if err != nil || c0.Username != akaIMPI || c0.Nonce != "" || c0.Response != "" || c0.Realm != "home1.net" {
		t.Fatalf("initial REGISTER Authorization %v (%v), want the IMPI with empty nonce and response (TS 24.229 §5.1.1.2.1)", c0, err)
	}
	second := fp.next(sip.REGISTER)
	c, err := gba.ParseCredentials(second.GetHeader("Authorization").Value())
	if err != nil {
		t.Fatal(err)
	}
	if c.AUTS != "" {
		t.Fatalf("auts %q sent on a MAC failure", c.AUTS)
	}
	ha1 := md5hex(c.Username + ":" + c.Realm + ":")
	want := md5hex(ha1 + ":" + c.Nonce + ":" + c.NC + ":" + c.CNonce + ":" + c.QOP + ":" + md5hex("REGISTER:"+c.URI))
	if c.Response != want {
		t.Fatalf("response %s is not the empty-password digest %s", c.Response, want)
	}
	fp.mu.Lock()
	n := len(fp.reqs)
	fp.mu.Unlock()
	if n != 2 {
		t.Fatalf("%d REGISTERs, want 2", n)
	}
}

// RFC 3310 §3.5: a 2xx whose rspauth does not verify comes from a registrar that does not know
// XRES; the registration fails.
func TestRegisterAKABadRspAuth(t *testing.T) {
	fp := fakeAKARegistrar(t, set1K, func(req *sip.Request, av gba.AuthVector) *sip.Response {
		c, _ := gba.ParseCredentials(req.GetHeader("Authorization").Value())
		res := registrar200(req, 600)
		ai := gba.AuthenticationInfo{QOP: c.QOP, RspAuth: strings.Repeat("0", 32), CNonce: c.CNonce, NC: c.NC}
		res.AppendHeader(sip.NewHeader("Authentication-Info", ai.String()))
		return res
	})
	p, err := NewPhone(Config{User: "ue1", AOR: "sip:ue1@home1.net", OutboundProxy: fp.addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = p.Register(context.Background(), RegisterOptions{Registrar: "sip:home1.net", USIM: softUSIM(t, set1K)})
	if !errors.Is(err, ErrRegister) || !strings.Contains(err.Error(), "rspauth") {
		t.Fatalf("got %v", err)
	}
}

// Two UEs register through the lab core with IMS AKA and call each other with SDES keys: the
// INVITE carries the Service-Route, the core routes it to the callee's binding, media comes up
// protected on both sides, and the callee hangs up.
func TestAKAUEsCallThroughLab(t *testing.T) {
	core := newLabCore(t, nil)
	pol := keymgmt.Policy{AllowSDESWithoutTLS: true, Mode: keymgmt.ModeSDES, Requirement: keymgmt.Mandatory}
	ue := func(user string, auto *CallOptions) *Phone {
		p, err := NewPhone(Config{User: user, AOR: "sip:" + user + "@home1.net", OutboundProxy: core.addr, Security: pol, AutoAnswer: auto})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		u, err := gba.NewSoftUSIM(gba.SoftUSIMConfig{IMPI: user + "@ims.home1.net", K: set1K, OPc: set1OPc, SingleCounter: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Register(context.Background(), RegisterOptions{Registrar: "sip:home1.net", USIM: u}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caller, callee := ue("ue1", nil), ue("ue2", &CallOptions{})
	c, err := caller.Dial(context.Background(), "sip:ue2@home1.net", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	up := waitFor(t, c, EventMediaUp, 5*time.Second)
	if up.Suite != "AES_CM_128_HMAC_SHA1_80" || up.KeySource != "sdes" {
		t.Fatalf("media up %+v", up)
	}
	var cb *Call
	for deadline := time.Now().Add(5 * time.Second); cb == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		callee.mu.Lock()
		for x := range callee.calls {
			cb = x
		}
		callee.mu.Unlock()
	}
	if cb == nil {
		t.Fatal("callee has no call")
	}
	if u, err := sipURI(cb.Remote); err != nil || u.User != "ue1" || u.Host != "home1.net" {
		t.Fatalf("callee sees %q", cb.Remote)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cb.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if e := waitEnded(t, c); e.By != Remote || e.Reason != "BYE" {
		t.Fatalf("caller ended %v", e)
	}
}

// RFC 3261 §10.2.8: a 423 with Min-Expires is answered by asking again for Min-Expires, and
// the refreshes keep asking for it.
func TestRegisterIntervalTooBrief(t *testing.T) {
	core := newLabCore(t, nil) // MinExpires 60 s
	p, err := NewPhone(Config{User: "alice", AOR: "sip:alice@home1.net", OutboundProxy: core.addr})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r, err := p.Register(context.Background(), RegisterOptions{Registrar: "sip:home1.net", Username: "alice@home1.net",
		Password: "alice-secret", Expires: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Expires() != time.Minute || r.asked() != time.Minute {
		t.Fatalf("granted %v, asking %v; want Min-Expires 60s", r.Expires(), r.asked())
	}
}
