package client

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/keymgmt"
)

// Without RTCP-mux on one side, the answer leaves it out and SRTCP flows on the separate RTCP
// sockets announced with a=rtcp, authenticated both ways.
func TestNoRTCPMux(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	a, err := NewPhone(Config{User: "alice", NoRTCPMux: true, RTCPMinInterval: 300 * time.Millisecond,
		Security: keymgmt.Policy{AllowSDESWithoutTLS: true, Mode: keymgmt.ModeSDES, Requirement: keymgmt.Mandatory}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewPhone(Config{User: "bob", RTCPMinInterval: 300 * time.Millisecond, AutoAnswer: &CallOptions{},
		Security: keymgmt.Policy{AllowSDESWithoutTLS: true, Mode: keymgmt.ModeSDES, Requirement: keymgmt.Mandatory}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	ca, err := a.Dial(ctx, target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ca, EventMediaUp, 3*time.Second)
	if n := ca.Negotiated(); n.RTCPMux || n.RemoteRTCP.Port() == n.Remote.Port() {
		t.Fatalf("negotiated %+v", n)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := ca.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	st := waitEnded(t, ca).Stats
	if st == nil || st.RTCPReceived == 0 || st.SRTCPAuthFailures != 0 || st.SRTPAuthFailures != 0 {
		t.Fatalf("caller stats %v", st)
	}
}

// Cancelling the context given to Dial before the answer cancels the call: 487.
func TestDialContextCancel(t *testing.T) {
	a := newPhone(t, "alice", keymgmt.ModeNone, keymgmt.Preferred, nil)
	b := newPhone(t, "bob", keymgmt.ModeNone, keymgmt.Preferred, nil)
	ctx, cancel := context.WithCancel(context.Background())
	ca, err := a.Dial(ctx, target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cb := <-b.Incoming()
	waitFor(t, ca, EventRinging, 2*time.Second)
	cancel()
	if e := waitEnded(t, ca); e.Code != 487 || e.By != Local {
		t.Fatalf("caller %v", e)
	}
	if e := waitEnded(t, cb); e.Code != 487 || e.By != Remote {
		t.Fatalf("callee %v", e)
	}
}

// An sdes-preferred phone takes a plain offer: the call runs on RTP.
func TestPlainOfferToSDESPreferred(t *testing.T) {
	a := newPhone(t, "alice", keymgmt.ModeNone, keymgmt.Preferred, nil)
	b := newPhone(t, "bob", keymgmt.ModeSDES, keymgmt.Preferred, &CallOptions{})
	ctx := context.Background()
	ca, err := a.Dial(ctx, target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e := waitFor(t, ca, EventMediaUp, 3*time.Second); e.KeySource != "none" || ca.Keys() != nil {
		t.Fatalf("media up %v", e)
	}
	ca.Hangup(ctx)
	waitEnded(t, ca)
}

// Closing a Phone ends its calls: BYE for an established one, 603 for one still ringing.
func TestCloseEndsCalls(t *testing.T) {
	a := newPhone(t, "alice", keymgmt.ModeSDES, keymgmt.Mandatory, nil)
	b, err := NewPhone(Config{User: "bob", AutoAnswer: &CallOptions{},
		Security: keymgmt.Policy{AllowSDESWithoutTLS: true, Mode: keymgmt.ModeSDES, Requirement: keymgmt.Mandatory}})
	if err != nil {
		t.Fatal(err)
	}
	c := newPhone(t, "carol", keymgmt.ModeSDES, keymgmt.Mandatory, nil)
	ctx := context.Background()
	ab, err := a.Dial(ctx, target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ab, EventAnswered, 3*time.Second)
	ac, err := c.Dial(ctx, target(a), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ac, EventRinging, 3*time.Second)
	b.Close()
	if e := waitEnded(t, ab); e.By != Remote || e.Reason != "BYE" {
		t.Fatalf("call to the closed phone: %v", e)
	}
	a.Close()
	if e := waitEnded(t, ac); e.Code != 603 || e.By != Remote {
		t.Fatalf("call ringing at the closed phone: %v", e)
	}
	if _, err := a.Dial(ctx, target(c), CallOptions{}); err == nil {
		t.Fatal("Dial on a closed phone")
	}
}

// An sdes-preferred caller whose SRTP offer is refused with 488 offers plain RTP in a second
// INVITE of the same call; an sdes-mandatory caller does not.
func TestPreferredFallsBackToPlain(t *testing.T) {
	a := newPhone(t, "alice", keymgmt.ModeSDES, keymgmt.Preferred, nil)
	m := newPhone(t, "mallory", keymgmt.ModeSDES, keymgmt.Mandatory, nil)
	b := newPhone(t, "bob", keymgmt.ModeNone, keymgmt.Preferred, &CallOptions{})
	ctx := context.Background()
	ca, err := a.Dial(ctx, target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e := waitFor(t, ca, EventMediaUp, 3*time.Second); e.KeySource != "none" || ca.Negotiated().Protected {
		t.Fatalf("media up %v", e)
	}
	ca.Hangup(ctx)
	waitEnded(t, ca)

	cm, err := m.Dial(ctx, target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e := waitEnded(t, cm); e.Code != 488 || !strings.Contains(e.Warning, "SRTP not enabled") {
		t.Fatalf("mandatory caller: %v", e)
	}
}

// Over IPv6 loopback: SIP on [::1], SDP with c=IN IP6, SRTP media.
func TestIPv6Loopback(t *testing.T) {
	a, err := NewPhone(Config{User: "alice", ListenAddr: "[::1]:0", Security: keymgmt.Policy{AllowSDESWithoutTLS: true, Mode: keymgmt.ModeSDES}})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer a.Close()
	b, err := NewPhone(Config{User: "bob", ListenAddr: "[::1]:0", Security: keymgmt.Policy{AllowSDESWithoutTLS: true, Mode: keymgmt.ModeSDES}, AutoAnswer: &CallOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	ca, err := a.Dial(ctx, target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e := waitFor(t, ca, EventMediaUp, 3*time.Second); e.KeySource != "sdes" {
		t.Fatalf("media up %v", e)
	}
	if r := ca.Negotiated().Remote; !r.Addr().Is6() || !r.Addr().IsLoopback() {
		t.Fatalf("remote media address %v", r)
	}
	ca.Hangup(ctx)
	if e := waitEnded(t, ca); e.By != Local {
		t.Fatalf("ended %v", e)
	}
}

// After calls and Close, no goroutine of this package or of media is left running.
func TestNoGoroutineLeak(t *testing.T) {
	ours := func() []string {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var left []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "TestNoGoroutineLeak") {
				continue
			}
			if strings.Contains(g, "imsphone/imsphone/client.") || strings.Contains(g, "imsphone/imsphone/media.") {
				left = append(left, g)
			}
		}
		return left
	}
	func() {
		a, _ := NewPhone(Config{User: "alice", Security: keymgmt.Policy{AllowSDESWithoutTLS: true, Mode: keymgmt.ModeSDES}})
		defer a.Close()
		b, _ := NewPhone(Config{User: "bob", Security: keymgmt.Policy{AllowSDESWithoutTLS: true, Mode: keymgmt.ModeSDES}, AutoAnswer: &CallOptions{}})
		defer b.Close()
		ctx := context.Background()
		ca, err := a.Dial(ctx, target(b), CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, ca, EventMediaUp, 3*time.Second)
		if err := ca.Hold(ctx); err != nil {
			t.Fatal(err)
		}
		ca.Hangup(ctx)
		// One call left up for Close to end.
		if _, err := a.Dial(ctx, target(b), CallOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}()
	var left []string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if left = ours(); len(left) == 0 {
			return
		}
	}
	t.Fatalf("%d goroutines left:\n%s", len(left), strings.Join(left, "\n\n"))
}

// The AOR (IMPU) is our From and the identity key management sees; a bad one is refused.
func TestAOR(t *testing.T) {
	a, err := NewPhone(Config{User: "alice", AOR: "sip:alice@home1.net"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b := newPhone(t, "bob", keymgmt.ModeNone, keymgmt.Preferred, nil)
	ctx := context.Background()
	ca, err := a.Dial(ctx, target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cb := <-b.Incoming()
	if u, err := sipURI(cb.Remote); err != nil || u.User != "alice" || u.Host != "home1.net" {
		t.Fatalf("callee sees the caller as %q", cb.Remote)
	}
	ca.Hangup(ctx)
	waitEnded(t, cb)
	if _, err := NewPhone(Config{AOR: "not a uri"}); err == nil || !strings.Contains(err.Error(), "AOR") {
		t.Fatal("bad AOR accepted")
	}
}

func sipURI(s string) (sip.Uri, error) {
	var u sip.Uri
	err := sip.ParseUri(s, &u)
	return u, err
}

// A call that ends (BYE, CANCEL, Close) while its media is being started must not be left
// with a running stream: startMedia after end stops what it made and reports ErrCallEnded.
// Under load this race left a stream running on closed sockets (seen by the race detector in
// TestCloseEndsCalls and TestPreferredFallsBackToPlain).
func TestStartMediaAfterEnd(t *testing.T) {
	p := newPhone(t, "alice", keymgmt.ModeNone, keymgmt.Preferred, nil)
	c := p.newCall(true, "race-call", "sip:bob@127.0.0.1")
	ms, err := p.openMedia()
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.media = ms
	c.mu.Unlock()
	c.end(Remote, 0, "BYE", "")
	n := &sdpoa.Negotiated{Remote: netip.MustParseAddrPort("127.0.0.1:9"), RTCPMux: true, Codec: sdpoa.PCMU, Direction: sdpoa.SendRecv}
	if err := c.startMedia(ms, n, nil, CallOptions{}); !errors.Is(err, ErrCallEnded) {
		t.Fatalf("startMedia after end: %v", err)
	}
	if st := c.stream(); st != nil {
		t.Fatal("a stream was installed on an ended call")
	}
}
