package client

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/internal/lab"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/media/audio"
)

// TS 35.208 test set 1 K and OPc (test use only).
const (
	labK   = "465b5ce8b199b49faa5f0a2ee238a6bc"
	labOPc = "cd63cb71954a9f4e48a5994e37a02baf"
)

// wire records the requests the lab's registrar/proxy received: method, transport and size.
type wire struct {
	mu   sync.Mutex
	seen []string // method/transport
	reqs []seen
}

type seen struct {
	method, transport string
	size              int
}

func (w *wire) received(method, transport string, size int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, method+"/"+transport)
	w.reqs = append(w.reqs, seen{method, transport, size})
}

func (w *wire) has(s string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, x := range w.seen {
		if x == s {
			return true
		}
	}
	return false
}

// labUE registers a phone of impi with Transport udp (the default) through the lab, keyed by
// the lab's KMS.
func labUE(t *testing.T, l *lab.Lab, impi string, auto *CallOptions) *Phone {
	return labUEWith(t, l, impi, auto, nil)
}

// labUEWith is labUE with the Config adjusted by mod before the Phone starts.
func labUEWith(t *testing.T, l *lab.Lab, impi string, auto *CallOptions, mod func(*Config)) *Phone {
	t.Helper()
	ue, err := l.NewUE(impi, lab.UEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ue.Close() })
	user, _, _ := strings.Cut(impi, "@")
	cfg := Config{User: user, AOR: ue.IMPU, OutboundProxy: l.SIPAddr, KMS: ue.MIKEY, AutoAnswer: auto,
		Security: keymgmt.Policy{Mode: keymgmt.ModeKMS, Requirement: keymgmt.Mandatory}, RTCPMinInterval: 500 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	p, err := NewPhone(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.Register(ctx, RegisterOptions{Registrar: l.RegistrarURI, USIM: ue.USIM, Expires: time.Hour}); err != nil {
		t.Fatalf("register %s: %v", impi, err)
	}
	return p
}

// Two UEs on UDP register with IMS AKA through the lab and make KMS-keyed calls: the INVITE
// with its MIKEY-TICKET TRANSFER_INIT is over 1300 octets, so it reaches the proxy over TCP
// (RFC 3261 §18.1.1), and the proxy can only have forwarded it to the callee over TCP too
// (sipgo refuses it over UDP). Every request the proxy sees over UDP is at most 1300 octets and
// every one over TCP larger: REGISTER, ACK and BYE (either side hanging up) stay on UDP; the
// caller's hold and resume re-INVITEs, which repeat its TRANSFER_INIT, go over TCP. Tones go
// both ways under the tickets' keys.
func TestLargeINVITEOverTCPThroughLab(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	for _, calleeHangs := range []bool{false, true} {
		t.Run(map[bool]string{false: "caller-hangs-up", true: "caller-holds/callee-hangs-up"}[calleeHangs], func(t *testing.T) {
			w := &wire{}
			l, err := lab.Start(context.Background(), lab.Config{Domain: "home1.net", BSF: &lab.BSFConfig{}, Subscribers: []lab.Subscriber{
				{IMPI: "alice@home1.net", IMPUs: []string{"sip:alice@home1.net"}, K: labK, OPc: labOPc},
				{IMPI: "bob@home1.net", IMPUs: []string{"sip:bob@home1.net"}, K: labK, OPc: labOPc},
			}}, lab.Options{SIPReceived: w.received})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			sinkA, sinkB := &sink{}, &sink{}
			a := labUE(t, l, "alice@home1.net", nil)
			b := labUE(t, l, "bob@home1.net", &CallOptions{Source: audio.Tone(440, 0.5, 8000), Sink: sinkB})
			if a.cfg.Transport != "udp" || !w.has("REGISTER/UDP") || w.has("REGISTER/TCP") {
				t.Fatalf("transport %q, registrar saw %v", a.cfg.Transport, w.seen)
			}
			ctx := context.Background()
			ca, err := a.Dial(ctx, "sip:bob@home1.net", CallOptions{Source: audio.Tone(1000, 0.5, 8000), Sink: sinkA})
			if err != nil {
				t.Fatal(err)
			}
			up := waitFor(t, ca, EventMediaUp, 10*time.Second)
			if up.KeySource != "mikey" || up.Suite != "AES_CM_128_HMAC_SHA1_80" {
				t.Fatalf("media up %v", up)
			}
			waitPlayed(16000, 10*time.Second, sinkA, sinkB)
			hanger, other := ca, ca
			if calleeHangs {
				hanger = incomingCall(t, b)
				if err := ca.Hold(ctx); err != nil {
					t.Fatalf("hold: %v; proxy received %v", err, w.reqs)
				}
				if err := ca.Resume(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := hanger.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			e := waitEnded(t, other)
			if e.Stats == nil || e.Stats.SRTPAuthFailures != 0 || e.Stats.SRTCPAuthFailures != 0 || e.Stats.PacketsReceived < 50 {
				t.Fatalf("stats %v", e.Stats)
			}
			w.mu.Lock()
			reqs := append([]seen(nil), w.reqs...)
			w.mu.Unlock()
			t.Logf("proxy received %v", reqs)
			invites := 0
			if calleeHangs {
				invites = -2 // the hold and the resume
			}
			for _, r := range reqs {
				if r.transport == "UDP" && r.size > udpRequestLimit || r.transport != "UDP" && r.size <= udpRequestLimit {
					t.Fatalf("%s of %d octets over %s", r.method, r.size, r.transport)
				}
				if r.method == "INVITE" && r.transport == "TCP" {
					invites++
				}
			}
			if invites != 1 || !w.has("ACK/UDP") || !w.has("BYE/UDP") {
				t.Fatalf("proxy received %v", reqs)
			}
			a440, a1k := heard(t, sinkA.samples(), 440, 1000)
			b1k, b440 := heard(t, sinkB.samples(), 1000, 440)
			t.Logf("caller heard 440 Hz at %.1f dB (1 kHz %.1f dB); callee heard 1 kHz at %.1f dB (440 Hz %.1f dB)", a440, a1k, b1k, b440)
			if a440 < 20 || b1k < 20 || a1k > 0 || b440 > 0 {
				t.Fatal("tones not heard as sent")
			}
		})
	}
}

// Without a lab: a phone whose requests are all large (a 1405-character user part, in From and Contact) calls another on
// UDP; the INVITE, ACK and BYE go over TCP to the callee's UDP port, where it listens on TCP,
// and the call is answered.
func TestLargeRequestsOverTCPDirect(t *testing.T) {
	b := newPhone(t, "bob", keymgmt.ModeNone, keymgmt.Mandatory, &CallOptions{})
	a, err := NewPhone(Config{User: "alice" + strings.Repeat("x", 1400)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if b.tcp == nil || b.tcp.Addr().String() != b.Addr().String() {
		t.Fatalf("callee TCP listener %v, UDP %v", b.tcp, b.Addr())
	}
	ctx := context.Background()
	c, err := a.Dial(ctx, target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, EventAnswered, 5*time.Second)
	if conn, _ := a.ua.TransportLayer().GetConnection("tcp", b.Addr().String()); conn == nil {
		t.Fatal("no TCP connection from the caller to the callee")
	}
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Hangup(hctx); err != nil {
		t.Fatal(err)
	}
	if e := waitEnded(t, c); e.By != Local {
		t.Fatalf("ended %v", e)
	}
}

// A large request to a peer with nothing on TCP: the connection is refused, the request is
// retried over UDP (RFC 3261 §18.1.1), which sipgo refuses above its MTU bound, and the error
// says both; nothing reaches the peer.
func TestLargeRequestTCPRefused(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	a, err := NewPhone(Config{User: "alice" + strings.Repeat("x", 1400)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, err = a.Dial(context.Background(), "sip:bob@"+pc.LocalAddr().String(), CallOptions{})
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "over UDP") {
		t.Fatalf("Dial: %v", err)
	}
	t.Logf("Dial: %v", err)
	pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, _, err := pc.ReadFrom(make([]byte, 65536)); err == nil {
		t.Fatalf("peer got a %d-octet datagram", n)
	}
}

// A small request stays on UDP: the callee sees the INVITE arrive on its UDP socket.
func TestSmallRequestStaysOnUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	a, err := NewPhone(Config{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := a.Dial(ctx, "sip:bob@"+pc.LocalAddr().String(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65536)
	n, from, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(buf[:n])
	if !strings.HasPrefix(msg, "INVITE ") || !strings.Contains(msg, "SIP/2.0/UDP") || n > udpRequestLimit {
		t.Fatalf("got %d octets: %.80q", n, msg)
	}
	// Busy, so the call ends at once.
	m, err := sip.ParseMessage(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	res := sip.NewResponseFromRequest(m.(*sip.Request), sip.StatusBusyHere, "Busy Here", nil)
	res.To().Params.Add("tag", "busy")
	if _, err := pc.WriteTo([]byte(res.String()), from); err != nil {
		t.Fatal(err)
	}
	if e := waitEnded(t, c); e.Code != sip.StatusBusyHere {
		t.Fatalf("ended %v", e)
	}
}

// A Phone on udp whose port is taken for TCP by someone else still starts, without the TCP
// listener; one on tcp does not.
func TestUDPPhoneWithoutTCPPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	q, err := NewPhone(Config{User: "bob", ListenAddr: l.Addr().String(), Transport: "tcp"})
	if err == nil {
		q.Close()
		t.Fatal("transport tcp started without its TCP port")
	}
	if !strings.Contains(err.Error(), "listen tcp") {
		t.Skipf("UDP port of the TCP listener not free: %v", err)
	}
	p, err := NewPhone(Config{User: "alice", ListenAddr: l.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.tcp != nil || p.Addr().String() != l.Addr().String() {
		t.Fatalf("phone at %v with TCP listener %v", p.Addr(), p.tcp)
	}
}
