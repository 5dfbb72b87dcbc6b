package e2e

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/internal/lab"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/media/audio"
)

// TS 35.208 test set 1 K and OPc (test use only; /work/shared/specs/gba.md §9.1).
const (
	testK   = "465b5ce8b199b49faa5f0a2ee238a6bc"
	testOPc = "cd63cb71954a9f4e48a5994e37a02baf"
)

// world is one lab with the subscribers alice and bob (IMS AKA, GBA, KMS users).
type world struct {
	t   testing.TB
	lab *lab.Lab
}

func newWorld(t testing.TB) *world {
	t.Helper()
	cfg := lab.Config{Domain: "home1.net", BSF: &lab.BSFConfig{}, Subscribers: []lab.Subscriber{
		{IMPI: "alice@home1.net", IMPUs: []string{"sip:alice@home1.net"}, K: testK, OPc: testOPc},
		{IMPI: "bob@home1.net", IMPUs: []string{"sip:bob@home1.net"}, K: testK, OPc: testOPc},
	}}
	l, err := lab.Start(context.Background(), cfg, lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("lab: %v", err)
		}
	})
	return &world{t: t, lab: l}
}

// party is one registered device.
type party struct {
	ue    *lab.UE
	phone *client.Phone
	reg   *client.Registration
}

type partyOpts struct {
	policy keymgmt.Policy
	ue     lab.UEOptions
	// method, if set, replaces the UE's MIKEY method in the phone (tests that tamper).
	method func(*lab.UE) keymgmt.Method
	// autoAnswer answers every incoming call at once with these options.
	autoAnswer *client.CallOptions
}

// mandatory is policy m, mandatory. The lab's SIP is TCP on loopback, so SDES calls carry the
// explicit permission to send their keys without TLS (RFC 4568 §8.3; the refusal without it is
// tested in package client, and through the proxy in sdestls_test.go).
func mandatory(m keymgmt.Mode) keymgmt.Policy {
	return keymgmt.Policy{Mode: m, Requirement: keymgmt.Mandatory, AllowSDESWithoutTLS: m == keymgmt.ModeSDES}
}

// party registers a device of impi through the lab's proxy with IMS AKA (the UE's USIM). SIP
// runs over TCP: an INVITE carrying a MIKEY ticket is larger than the 1300 octets after which
// RFC 3261 §18.1.1 requires a congestion-controlled transport.
func (w *world) party(impi string, o partyOpts) *party {
	w.t.Helper()
	ue, err := w.lab.NewUE(impi, o.ue)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { ue.Close() })
	var m keymgmt.Method = ue.MIKEY
	if o.method != nil {
		m = o.method(ue)
	}
	user, _, _ := strings.Cut(impi, "@")
	p, err := client.NewPhone(client.Config{User: user, AOR: ue.IMPU, OutboundProxy: w.lab.SIPAddr, Transport: "tcp", Security: o.policy,
		KMS: m, RTCPMinInterval: 500 * time.Millisecond, AutoAnswer: o.autoAnswer})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { p.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg, err := p.Register(ctx, client.RegisterOptions{Registrar: w.lab.RegistrarURI, USIM: ue.USIM, Expires: time.Hour})
	if err != nil {
		w.t.Fatalf("register %s: %v", impi, err)
	}
	return &party{ue: ue, phone: p, reg: reg}
}

// answerNext answers the next incoming call of p with opts and hands it over.
func answerNext(t testing.TB, p *party, opts client.CallOptions) <-chan *client.Call {
	ch := make(chan *client.Call, 1)
	go func() {
		select {
		case c := <-p.phone.Incoming():
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.Answer(ctx, opts); err != nil {
				t.Errorf("answer: %v", err)
			}
			ch <- c
		case <-time.After(10 * time.Second):
			close(ch)
		}
	}()
	return ch
}

func got(t testing.TB, ch <-chan *client.Call) *client.Call {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok || c == nil {
			t.Fatal("no incoming call")
		}
		return c
	case <-time.After(15 * time.Second):
		t.Fatal("no incoming call")
	}
	return nil
}

// waitFor reads events until one of kind arrives; an EventEnded before it fails the test.
func waitFor(t testing.TB, c *client.Call, kind client.EventKind, within time.Duration) client.Event {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e, ok := <-c.Events():
			if !ok {
				t.Fatalf("events closed while waiting for %v (ended: %v)", kind, c.Ended())
			}
			if e.Kind == kind {
				return e
			}
			if e.Kind == client.EventEnded {
				t.Fatalf("call ended while waiting for %v: %v", kind, e)
			}
		case <-deadline:
			t.Fatalf("no %v within %v", kind, within)
		}
	}
}

func waitEnded(t testing.TB, c *client.Call) client.Event {
	t.Helper()
	select {
	case <-c.Done():
		return c.Ended()
	case <-time.After(10 * time.Second):
		t.Fatal("call did not end")
	}
	return client.Event{}
}

// sink keeps received audio; media writes from its own goroutine.
type sink struct {
	mu  sync.Mutex
	pcm []int16
}

func (s *sink) Write(p []int16) error {
	s.mu.Lock()
	s.pcm = append(s.pcm, p...)
	s.mu.Unlock()
	return nil
}

func (s *sink) Close() error { return nil }

func (s *sink) samples() []int16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pcm)
}

func (s *sink) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pcm)
}

// waitPlayed waits until each sink holds at least n more samples than from[i] (wall time on a
// loaded machine is no measure of audio played).
func waitPlayed(t testing.TB, n int, sinks []*sink, from []int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		done := true
		for i, s := range sinks {
			if s.len() < from[i]+n {
				done = false
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("audio did not arrive: %d samples wanted", n)
		}
	}
}

// heard measures freq and other in pcm with audio.DetectTone on 200 ms blocks after the first
// 800 ms (jitter buffer settling) and returns freq's SNR at the upper quartile of the blocks
// and other's median: a tone must be clean in at least a quarter of the call, which a starved
// machine under -race still manages, while a wrong key or a crossed stream gives no block at
// all above 0 dB.
func heard(t testing.TB, pcm []int16, freq, other float64) (float64, float64) {
	t.Helper()
	const block = 1600
	if len(pcm) < 6400+3*block {
		t.Fatalf("only %d samples", len(pcm))
	}
	pcm = pcm[6400:]
	var s, o []float64
	for off := 0; off+block <= len(pcm); off += block {
		s = append(s, audio.DetectTone(pcm[off:off+block], 8000, freq))
		o = append(o, audio.DetectTone(pcm[off:off+block], 8000, other))
	}
	slices.Sort(s)
	slices.Sort(o)
	return s[len(s)*3/4], o[len(o)/2]
}
