package client

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/imsphone/imsphone/keymgmt"
)

// fakeProxy is a P-CSCF stand-in on a raw UDP socket: every request it receives is kept, and
// handle decides the response (nil: none).
type fakeProxy struct {
	t      *testing.T
	conn   *net.UDPConn
	handle func(req *sip.Request) *sip.Response
	mu     sync.Mutex
	reqs   []*sip.Request
	got    chan *sip.Request
}

func newFakeProxy(t *testing.T, handle func(*sip.Request) *sip.Response) *fakeProxy {
	t.Helper()
	conn := listenUDP(t)
	f := &fakeProxy{t: t, conn: conn, handle: handle, got: make(chan *sip.Request, 64)}
	serveRequests(t, conn, "fake proxy", false, func(req *sip.Request, from *net.UDPAddr) {
		f.mu.Lock()
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		select {
		case f.got <- req:
		default:
		}
		if req.Method == sip.ACK {
			return
		}
		if res := f.handle(req); res != nil {
			conn.WriteToUDP([]byte(res.String()), from)
		}
	})
	return f
}

func (f *fakeProxy) addr() string { return f.conn.LocalAddr().String() }

// next returns the next request of method within 5 s.
func (f *fakeProxy) next(method sip.RequestMethod) *sip.Request {
	f.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case r := <-f.got:
			if r.Method == method {
				return r
			}
		case <-deadline:
			f.t.Fatalf("no %s at the proxy", method)
			return nil
		}
	}
}

// registrar200 answers a REGISTER as an S-CSCF behind a P-CSCF would: our Contact with the
// granted expires, P-Associated-URI, Service-Route, and received/rport in our Via (RFC 3581 §4).
func registrar200(req *sip.Request, granted int) *sip.Response {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if via := res.Via(); via != nil {
		via.Params.Add("received", "127.0.0.1")
		via.Params.Add("rport", strconv.Itoa(via.Port))
	}
	ct := req.Contact()
	res.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<%s>;expires=%d", ct.Address.String(), granted)))
	res.AppendHeader(sip.NewHeader("P-Associated-URI", "<sip:alice@home1.net>, <tel:+15550001>"))
	res.AppendHeader(sip.NewHeader("Service-Route", "<sip:orig@scscf.home1.net;lr>"))
	res.AppendHeader(sip.NewHeader("Path", "<sip:term@pcscf.home1.net;lr>"))
	return res
}

// fakeTimers replaces the Phone's refresh/retry timer: every wait is recorded and fires when
// the test says so.
type fakeTimers struct {
	waits chan time.Duration
	fire  chan time.Time
}

func installFakeTimers(p *Phone) *fakeTimers {
	ft := &fakeTimers{waits: make(chan time.Duration, 16), fire: make(chan time.Time)}
	p.after = func(d time.Duration) <-chan time.Time {
		select {
		case ft.waits <- d:
		default: // nobody looks any more
		}
		return ft.fire
	}
	return ft
}

func (ft *fakeTimers) wait(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-ft.waits:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no timer started")
		return 0
	}
}

// Everything out of dialog goes to the outbound proxy; REGISTER and INVITE carry
// P-Preferred-Identity; the 2xx teaches P-Associated-URI, Service-Route (preloaded as Route on
// the INVITE, Path never) and received/rport; the refresh comes 600 s before a 3600 s grant
// ends (TS 24.229 §5.1.1.4.1); Close de-registers.
func TestIMSHeadersAndOutboundProxy(t *testing.T) {
	fp := newFakeProxy(t, func(req *sip.Request) *sip.Response {
		switch req.Method {
		case sip.REGISTER:
			return registrar200(req, 3600)
		case sip.INVITE:
			return sip.NewResponseFromRequest(req, 486, "Busy Here", nil)
		}
		return sip.NewResponseFromRequest(req, 200, "OK", nil)
	})
	p, err := NewPhone(Config{User: "alice", AOR: "sip:alice@home1.net", OutboundProxy: fp.addr(),
		PreferredIdentity: "<sip:alice@home1.net>"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ft := installFakeTimers(p)
	r, err := p.Register(context.Background(), RegisterOptions{Registrar: "sip:home1.net"})
	if err != nil {
		t.Fatal(err)
	}
	reg := fp.next(sip.REGISTER)
	if reg.Recipient.String() != "sip:home1.net" {
		t.Fatalf("REGISTER Request-URI %s", reg.Recipient.String())
	}
	if h := reg.GetHeader("P-Preferred-Identity"); h == nil || h.Value() != "<sip:alice@home1.net>" {
		t.Fatalf("REGISTER P-Preferred-Identity %v", h)
	}
	if rt := reg.GetHeaders("Route"); len(rt) != 1 || rt[0].Value() != "<sip:"+fp.addr()+";lr>" {
		t.Fatalf("REGISTER Route %v, want the outbound proxy", rt)
	}
	if via := reg.Via(); via == nil || !via.Params.Has("rport") {
		t.Fatalf("REGISTER Via without rport: %v", via)
	}
	if got := r.AssociatedURIs(); !slices.Equal(got, []string{"sip:alice@home1.net", "tel:+15550001"}) {
		t.Fatalf("P-Associated-URI %q", got)
	}
	if r.ObservedAddr() != p.Addr() {
		t.Fatalf("observed %v, want %v", r.ObservedAddr(), p.Addr())
	}
	if d := ft.wait(t); d != 3000*time.Second {
		t.Fatalf("refresh in %v, want 3000s", d)
	}

	c, err := p.Dial(context.Background(), "sip:bob@home1.net", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inv := fp.next(sip.INVITE)
	// RFC 3261 §8.1.2: the outbound proxy is the first Route, then the Service-Route.
	routes := inv.GetHeaders("Route")
	if len(routes) != 2 || routes[0].Value() != "<sip:"+fp.addr()+";lr>" || !strings.Contains(routes[1].Value(), "orig@scscf.home1.net") ||
		inv.GetHeader("Path") != nil {
		t.Fatalf("INVITE Route %v", routes)
	}
	if inv.Recipient.String() != "sip:bob@home1.net" {
		t.Fatalf("INVITE Request-URI %s", inv.Recipient.String())
	}
	if h := inv.GetHeader("P-Preferred-Identity"); h == nil || h.Value() != "<sip:alice@home1.net>" {
		t.Fatalf("INVITE P-Preferred-Identity %v", h)
	}
	if e := waitEnded(t, c); e.Code != 486 {
		t.Fatalf("call ended %v", e)
	}

	// The refresh: same Call-ID, higher CSeq (RFC 3261 §10.2.4).
	ft.fire <- time.Now()
	ref := fp.next(sip.REGISTER)
	if ref.CallID().Value() != reg.CallID().Value() || ref.CSeq().SeqNo <= reg.CSeq().SeqNo {
		t.Fatalf("refresh Call-ID %s CSeq %d after %s %d", ref.CallID().Value(), ref.CSeq().SeqNo, reg.CallID().Value(), reg.CSeq().SeqNo)
	}
	ft.wait(t)
	p.Close()
	bye := fp.next(sip.REGISTER)
	if e := bye.GetHeader("Expires"); e == nil || e.Value() != "0" {
		t.Fatalf("de-registration Expires %v", e)
	}
	if err := r.Unregister(context.Background()); err != nil {
		t.Fatalf("second Unregister: %v", err)
	}
	p.mu.Lock()
	routes = nil
	for _, r := range p.serviceRoute {
		routes = append(routes, sip.NewHeader("Route", r))
	}
	p.mu.Unlock()
	if len(routes) != 0 {
		t.Fatalf("Service-Route %v kept after de-registration", routes)
	}
}

// A 503 with Retry-After is retried after that many seconds (RFC 3261 §21.5.4, §20.33).
func TestRegisterRetryAfter503(t *testing.T) {
	var mu sync.Mutex
	n := 0
	fp := newFakeProxy(t, func(req *sip.Request) *sip.Response {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == 1 {
			res := sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
			res.AppendHeader(sip.NewHeader("Retry-After", "7 (maintenance)"))
			return res
		}
		if n == 2 {
			return sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil)
		}
		return registrar200(req, 600)
	})
	p := newPhone(t, "alice", keymgmt.ModeNone, keymgmt.Preferred, nil)
	ft := installFakeTimers(p)
	done := make(chan error, 1)
	go func() {
		_, err := p.Register(context.Background(), RegisterOptions{Registrar: "sip:" + fp.addr(), MaxAttempts: 3})
		done <- err
	}()
	if d := ft.wait(t); d != 7*time.Second {
		t.Fatalf("first retry after %v, want Retry-After 7s", d)
	}
	ft.fire <- time.Now()
	if d := ft.wait(t); d != 2*retryBase {
		t.Fatalf("second retry, after a 500 without Retry-After: %v, want the doubled back-off %v", d, 2*retryBase)
	}
	ft.fire <- time.Now()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := ft.wait(t); d != 300*time.Second {
		t.Fatalf("refresh in %v, want half of 600s", d)
	}
}

func TestBackoffAndRetryAfter(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 7: 64 * time.Second, 30: 64 * time.Second} {
		if got := backoff(n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
	for v, want := range map[string]time.Duration{"120": 2 * time.Minute, "18000;duration=3600": 5 * time.Hour, " 5 (x)": 5 * time.Second} {
		if got, ok := parseRetryAfter(v); !ok || got != want {
			t.Errorf("Retry-After %q: %v %v", v, got, ok)
		}
	}
	for _, v := range []string{"", "soon", "-1", "99999999999"} {
		if _, ok := parseRetryAfter(v); ok {
			t.Errorf("Retry-After %q accepted", v)
		}
	}
	if got := splitHeaderList(`<sip:a@x;lr>, "B, b" <sip:b@y>,<tel:+1>`); len(got) != 3 {
		t.Errorf("split %q", got)
	}
}

// An INVITE answered 407 (as Kamailio does, MD5, qop=auth) is ACKed in its transaction (RFC
// 3261 §17.1.1.3: same branch and CSeq number, method ACK) and sent again with
// Proxy-Authorization, a new branch and CSeq + 1. The digest is checked here with icholy/digest
// computing the expected response from the password on the server side.
func TestInviteProxyAuth(t *testing.T) {
	const realm, nonce = "kamailio.test", "5f0c1a2b3c4d5e6f"
	var mu sync.Mutex
	var verdict string
	fp := newFakeProxy(t, func(req *sip.Request) *sip.Response {
		if req.Method != sip.INVITE {
			return sip.NewResponseFromRequest(req, 200, "OK", nil)
		}
		h := req.GetHeader("Proxy-Authorization")
		if h == nil {
			res := sip.NewResponseFromRequest(req, 407, "Proxy Authentication Required", nil)
			res.AppendHeader(sip.NewHeader("Proxy-Authenticate", fmt.Sprintf(`Digest realm="%s", nonce="%s", qop="auth"`, realm, nonce)))
			return res
		}
		cred, err := digest.ParseCredentials(h.Value())
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			verdict = err.Error()
			return sip.NewResponseFromRequest(req, 400, "Bad", nil)
		}
		chal := &digest.Challenge{Realm: realm, Nonce: nonce, QOP: []string{"auth"}}
		want, _ := digest.Digest(chal, digest.Options{Method: "INVITE", URI: cred.URI, Username: "alice", Password: "pw", Cnonce: cred.Cnonce, Count: cred.Nc})
		if cred.Username != "alice" || cred.Response != want.Response || cred.QOP != "auth" {
			verdict = "wrong credentials"
			return sip.NewResponseFromRequest(req, 403, "Forbidden", nil)
		}
		verdict = "ok"
		return sip.NewResponseFromRequest(req, 486, "Busy Here", nil)
	})
	p, err := NewPhone(Config{User: "alice", OutboundProxy: fp.addr(), Username: "alice", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := p.Dial(context.Background(), "sip:bob@kamailio.test", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inv1 := fp.next(sip.INVITE)
	ack := fp.next(sip.ACK)
	inv2 := fp.next(sip.INVITE)
	if ack.CSeq().SeqNo != inv1.CSeq().SeqNo || ack.CSeq().MethodName != sip.ACK || ack.Via().Params.GetOr("branch", "") != inv1.Via().Params.GetOr("branch", "x") {
		t.Fatalf("ACK for 407: CSeq %v Via %v; INVITE CSeq %v Via %v", ack.CSeq(), ack.Via(), inv1.CSeq(), inv1.Via())
	}
	if inv2.CSeq().SeqNo != inv1.CSeq().SeqNo+1 || inv2.Via().Params.GetOr("branch", "") == inv1.Via().Params.GetOr("branch", "") ||
		inv2.CallID().Value() != inv1.CallID().Value() {
		t.Fatalf("second INVITE CSeq %d (first %d), branch reused or Call-ID changed", inv2.CSeq().SeqNo, inv1.CSeq().SeqNo)
	}
	if e := waitEnded(t, c); e.Code != 486 {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("call ended %v (proxy: %s)", e, verdict)
	}
}

// A refresh refused with 503 and Retry-After is retried after it (RFC 3261 §21.5.4); after
// the retry succeeds the next refresh is scheduled from the new grant (half of 1000 s).
func TestRefreshRetryAfter(t *testing.T) {
	var mu sync.Mutex
	n := 0
	fp := newFakeProxy(t, func(req *sip.Request) *sip.Response {
		mu.Lock()
		defer mu.Unlock()
		n++
		switch n {
		case 2:
			res := sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
			res.AppendHeader(sip.NewHeader("Retry-After", "30"))
			return res
		case 3:
			return registrar200(req, 1000)
		}
		return registrar200(req, 600)
	})
	p := newPhone(t, "alice", keymgmt.ModeNone, keymgmt.Preferred, nil)
	ft := installFakeTimers(p)
	if _, err := p.Register(context.Background(), RegisterOptions{Registrar: "sip:" + fp.addr()}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Duration{300 * time.Second, 30 * time.Second, 500 * time.Second} {
		if d := ft.wait(t); d != want {
			t.Fatalf("wait %d: %v, want %v", i, d, want)
		}
		if i < 2 {
			ft.fire <- time.Now()
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 3 {
		t.Fatalf("%d REGISTERs, want 3", n)
	}
}

// Hanging up before the answer sends CANCEL to where the INVITE went, the outbound proxy
// (RFC 3261 §9.1), with the INVITE's Via branch and CSeq number.
func TestCancelThroughOutboundProxy(t *testing.T) {
	var p *Phone
	var mu sync.Mutex
	var invite *sip.Request
	var fp *fakeProxy
	f := newFakeProxy(t, func(req *sip.Request) *sip.Response {
		switch req.Method {
		case sip.INVITE:
			mu.Lock()
			invite = req
			mu.Unlock()
			res := sip.NewResponseFromRequest(req, 180, "Ringing", nil)
			res.To().Params.Add("tag", "callee")
			return res
		case sip.CANCEL:
			mu.Lock()
			inv, f, ph := invite, fp, p
			mu.Unlock()
			terminated := sip.NewResponseFromRequest(inv, 487, "Request Terminated", nil)
			terminated.To().Params.Add("tag", "callee")
			f.conn.WriteToUDP([]byte(terminated.String()), net.UDPAddrFromAddrPort(ph.Addr()))
		}
		return sip.NewResponseFromRequest(req, 200, "OK", nil)
	})
	mu.Lock()
	fp = f
	mu.Unlock()
	ph, err := NewPhone(Config{User: "alice", OutboundProxy: fp.addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer ph.Close()
	mu.Lock()
	p = ph
	mu.Unlock()
	c, err := ph.Dial(context.Background(), "sip:bob@unresolvable.invalid", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inv := fp.next(sip.INVITE)
	waitFor(t, c, EventRinging, 5*time.Second)
	go c.Hangup(context.Background())
	cancel := fp.next(sip.CANCEL)
	if cancel.CSeq().SeqNo != inv.CSeq().SeqNo || cancel.Via().Params.GetOr("branch", "") != inv.Via().Params.GetOr("branch", "x") {
		t.Fatalf("CANCEL CSeq %v Via %v for INVITE CSeq %v Via %v", cancel.CSeq(), cancel.Via(), inv.CSeq(), inv.Via())
	}
	if e := waitEnded(t, c); e.Code != 487 && e.Code != sip.StatusRequestTerminated {
		t.Fatalf("ended %v", e)
	}
}

// A P-CSCF's 407 and then the registrar's 401: the final REGISTER carries both answers (RFC
// 3261 §22.3), each for its own realm.
func TestRegisterProxyAndRegistrarChallenges(t *testing.T) {
	fp := newFakeProxy(t, func(req *sip.Request) *sip.Response {
		pa, a := req.GetHeader("Proxy-Authorization"), req.GetHeader("Authorization")
		switch {
		case pa == nil:
			res := sip.NewResponseFromRequest(req, 407, "Proxy Authentication Required", nil)
			res.AppendHeader(sip.NewHeader("Proxy-Authenticate", `Digest realm="pcscf", nonce="n1", qop="auth"`))
			return res
		case a == nil:
			res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", `Digest realm="home1.net", nonce="n2", algorithm=SHA-256, qop="auth"`))
			return res
		}
		pc, err1 := digest.ParseCredentials(pa.Value())
		c, err2 := digest.ParseCredentials(a.Value())
		if err1 != nil || err2 != nil || pc.Realm != "pcscf" || c.Realm != "home1.net" || c.Algorithm != "SHA-256" {
			return sip.NewResponseFromRequest(req, 403, "Forbidden", nil)
		}
		return registrar200(req, 600)
	})
	p, err := NewPhone(Config{User: "alice", AOR: "sip:alice@home1.net", OutboundProxy: fp.addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Register(context.Background(), RegisterOptions{Registrar: "sip:home1.net", Username: "alice", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
}

// Refreshes failing without Retry-After back off doubling, and the schedule returns to normal
// after a success.
func TestRefreshBackoff(t *testing.T) {
	var mu sync.Mutex
	n := 0
	fp := newFakeProxy(t, func(req *sip.Request) *sip.Response {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == 2 || n == 3 {
			return sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil)
		}
		return registrar200(req, 600)
	})
	p := newPhone(t, "alice", keymgmt.ModeNone, keymgmt.Preferred, nil)
	ft := installFakeTimers(p)
	if _, err := p.Register(context.Background(), RegisterOptions{Registrar: "sip:" + fp.addr()}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Duration{300 * time.Second, time.Second, 2 * time.Second, 300 * time.Second} {
		if d := ft.wait(t); d != want {
			t.Fatalf("wait %d: %v, want %v", i, d, want)
		}
		if i < 3 {
			ft.fire <- time.Now()
		}
	}
}
