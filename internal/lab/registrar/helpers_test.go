package registrar

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/bsf"
)

const testDomain = "home1.net"

// TS 35.208 test set 1 (K, OPc, AMF, SQN), also in /work/shared/specs/gba.md §9.1.
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

// fakeClock is the injected clock of the tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type testCore struct {
	srv   *Server
	clock *fakeClock
	auc   *bsf.AuC
	addr  string // UDP and TCP share this host:port
	port  int
}

func testAccounts() []Account {
	return []Account{
		{IMPI: "alice@home1.net", IMPUs: []string{"sip:alice@home1.net", "sip:+15550001@home1.net"}, Password: "alice-secret"},
		{IMPI: "bob@home1.net", IMPUs: []string{"sip:bob@home1.net"}, Password: "bob-secret"},
		{IMPI: "carol@home1.net", IMPUs: []string{"sip:carol@home1.net"}, Password: "carol-secret"},
		{IMPI: "ue1@ims.home1.net", IMPUs: []string{"sip:ue1@home1.net"}, AKA: true},
		{IMPI: "ue2@ims.home1.net", IMPUs: []string{"sip:ue2@home1.net"}, AKA: true},
	}
}

func newTestCore(t testing.TB, mod func(*Config)) *testCore {
	t.Helper()
	subs := []bsf.Subscriber{
		{IMPI: "ue1@ims.home1.net", K: set1K, OPc: set1OPc, AMF: [2]byte{0xb9, 0xb9}, SQN: 0x20},
		{IMPI: "ue2@ims.home1.net", K: set1K, OPc: set1OPc, AMF: [2]byte{0x80, 0x00}, SQN: 0x20},
	}
	auc, err := bsf.NewAuC(subs, "")
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cfg := Config{Domain: testDomain, Host: "127.0.0.1", Accounts: testAccounts()}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg, auc, Options{Now: clock.Now, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	tl, pc := listenPair(t)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.ServeTCP(tl) }()
	go func() { defer wg.Done(); s.ServeUDP(pc) }()
	t.Cleanup(func() { s.Close(); tl.Close(); pc.Close(); wg.Wait() })
	_, p, _ := net.SplitHostPort(tl.Addr().String())
	port, _ := strconv.Atoi(p)
	return &testCore{srv: s, clock: clock, auc: auc, addr: tl.Addr().String(), port: port}
}

// listenPair binds TCP and UDP on one loopback port.
func listenPair(t testing.TB) (net.Listener, net.PacketConn) {
	t.Helper()
	for i := 0; i < 20; i++ {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		pc, err := net.ListenPacket("udp", tl.Addr().String())
		if err == nil {
			return tl, pc
		}
		tl.Close()
	}
	t.Fatal("no free TCP+UDP port pair")
	return nil, nil
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		// Stderr, not t.Log: sipgo's goroutines may still log after the test has returned.
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testUA is a SIP endpoint written for these tests with sipgo only (not package client).
type testUA struct {
	t       testing.TB
	user    string
	tp      string // "udp" or "tcp"
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	cli     *sipgo.Client
	dua     *sipgo.DialogUA
	contact sip.ContactHeader
	core    *testCore
	callID  string
	cseq    uint32

	mu       sync.Mutex
	invites  []*sip.Request
	acks     []*sip.Request
	byes     []*sip.Request
	cancels  int
	session  *sipgo.DialogServerSession
	onInvite func(ds *sipgo.DialogServerSession, tx sip.ServerTransaction)
}

func newTestUA(t testing.TB, core *testCore, user, tp string) *testUA {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(user), sipgo.WithUserAgentHostname(testDomain))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua)
	var addr string
	switch tp {
	case "udp":
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = pc.LocalAddr().String()
		go srv.ServeUDP(pc)
		t.Cleanup(func() { pc.Close() })
	case "udp+tcp":
		// A UE on UDP that also listens on TCP at its UDP port (for requests too large for
		// UDP, RFC 3261 §18.1.1), as imsphone's client does.
		tl, pc := listenPair(t)
		addr = pc.LocalAddr().String()
		go srv.ServeUDP(pc)
		go srv.ServeTCP(tl)
		t.Cleanup(func() { pc.Close(); tl.Close() })
		tp = "udp"
	default:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = l.Addr().String()
		go srv.ServeTCP(l)
		t.Cleanup(func() { l.Close() })
	}
	_, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	opts := []sipgo.ClientOption{sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientNAT()}
	cli, err := sipgo.NewClient(ua, opts...)
	if err != nil {
		t.Fatal(err)
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: port}}
	if tp == "tcp" {
		contact.Address.UriParams = sip.NewParams()
		contact.Address.UriParams.Add("transport", "tcp")
	}
	u := &testUA{t: t, user: user, tp: tp, ua: ua, srv: srv, cli: cli, contact: contact, core: core,
		callID: user + "-reg-" + strconv.Itoa(port), cseq: 1}
	u.dua = &sipgo.DialogUA{Client: cli, ContactHDR: contact}
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if req.To().Params.Has("tag") {
			// re-INVITE: accept it within the existing dialog.
			u.mu.Lock()
			u.invites = append(u.invites, req)
			u.mu.Unlock()
			res := sip.NewResponseFromRequest(req, 200, "OK", []byte("v=0\r\n"))
			res.AppendHeader(u.contact.Clone())
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			tx.Respond(res)
			return
		}
		ds, err := u.dua.ReadInvite(req, tx)
		if err != nil {
			t.Errorf("%s: ReadInvite: %v", user, err)
			return
		}
		tx.OnCancel(func(*sip.Request) {
			u.mu.Lock()
			u.cancels++
			u.mu.Unlock()
		})
		u.mu.Lock()
		u.invites = append(u.invites, req)
		u.session = ds
		h := u.onInvite
		u.mu.Unlock()
		if h == nil {
			ds.Respond(180, "Ringing", nil)
			ds.Respond(200, "OK", []byte("v=0\r\n"), sip.NewHeader("Content-Type", "application/sdp"))
			return
		}
		h(ds, tx)
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		u.mu.Lock()
		u.acks = append(u.acks, req)
		ds := u.session
		u.mu.Unlock()
		if ds != nil {
			ds.ReadAck(req, tx)
		}
	})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		u.mu.Lock()
		u.byes = append(u.byes, req)
		ds := u.session
		u.mu.Unlock()
		if ds != nil {
			ds.ReadBye(req, tx)
			return
		}
		tx.Respond(sip.NewResponseFromRequest(req, 481, "No Dialog", nil))
	})
	t.Cleanup(func() { ua.Close() })
	return u
}

// newRegister builds REGISTER for impu: Request-URI sip:home1.net (TS 24.229 §5.1.1.2.1), sent
// to the core's address.
func (u *testUA) newRegister(impu string, expires int, contacts ...sip.Header) *sip.Request {
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: testDomain})
	var aor sip.Uri
	if err := sip.ParseUri(impu, &aor); err != nil {
		u.t.Fatal(err)
	}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	cid := sip.CallIDHeader(u.callID)
	req.AppendHeader(&cid)
	u.cseq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: u.cseq, MethodName: sip.REGISTER})
	if len(contacts) == 0 {
		c := u.contact.Clone()
		req.AppendHeader(c)
	}
	for _, c := range contacts {
		req.AppendHeader(c)
	}
	if expires >= 0 {
		req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	}
	req.SetBody(nil)
	req.SetTransport(strings.ToUpper(u.tp))
	req.SetDestination(u.core.addr)
	return req
}

// send sends req as a new transaction (new Via branch, next CSeq after the first attempt).
func (u *testUA) send(req *sip.Request) *sip.Response {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req.RemoveHeader("Via")
	res, err := u.cli.Do(ctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		u.t.Fatalf("%s %s: %v", u.user, req.Method, err)
	}
	return res
}

// retry re-sends req with authorization value authz in header name, as the next CSeq.
func (u *testUA) retry(req *sip.Request, name, authz string) *sip.Response {
	u.t.Helper()
	for req.RemoveHeader(name) {
	}
	req.AppendHeader(sip.NewHeader(name, authz))
	u.cseq++
	req.CSeq().SeqNo = u.cseq
	return u.send(req)
}

// registerDigest registers with a password account, computing the Digest response here
// straight from crypto/md5 or crypto/sha256 (independent of digest.go).
func (u *testUA) registerDigest(impu, impi, password string, expires int, alg string) *sip.Response {
	u.t.Helper()
	req := u.newRegister(impu, expires)
	res := u.send(req)
	if res.StatusCode != 401 {
		u.t.Fatalf("first REGISTER: %d, want 401", res.StatusCode)
	}
	ch := pickChallenge(u.t, res, "WWW-Authenticate", alg)
	return u.retry(req, "Authorization", independentDigest(ch, impi, password, "REGISTER", "sip:"+testDomain, "0a4f113b"))
}

func pickChallenge(t testing.TB, res *sip.Response, name, alg string) *gba.Challenge {
	t.Helper()
	for _, h := range res.GetHeaders(name) {
		ch, err := gba.ParseChallenge(h.Value())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ch.Algorithm == alg {
			return ch
		}
	}
	t.Fatalf("no %s with algorithm %s in %d response", name, alg, res.StatusCode)
	return nil
}

// independentDigest is RFC 7616 §3.4.1 with qop=auth written out with the hash package only.
func independentDigest(ch *gba.Challenge, user, password, method, uri, cnonce string) string {
	var h func() hash.Hash
	switch ch.Algorithm {
	case "SHA-256":
		h = sha256.New
	default:
		h = md5.New
	}
	H := func(s string) string { d := h(); d.Write([]byte(s)); return hex.EncodeToString(d.Sum(nil)) }
	ha1 := H(user + ":" + ch.Realm + ":" + password)
	ha2 := H(method + ":" + uri)
	resp := H(ha1 + ":" + ch.Nonce + ":00000001:" + cnonce + ":auth:" + ha2)
	return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s, qop=auth, nc=00000001, cnonce="%s"`,
		user, ch.Realm, ch.Nonce, uri, resp, ch.Algorithm, cnonce)
}

func (u *testUA) setOnInvite(f func(ds *sipgo.DialogServerSession, tx sip.ServerTransaction)) {
	u.mu.Lock()
	u.onInvite = f
	u.mu.Unlock()
}

func (u *testUA) got() (invites, acks, byes []*sip.Request, cancels int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]*sip.Request(nil), u.invites...), append([]*sip.Request(nil), u.acks...),
		append([]*sip.Request(nil), u.byes...), u.cancels
}
