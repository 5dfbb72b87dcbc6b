package client

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/internal/lab"
	"github.com/imsphone/imsphone/media/audio"
)

// tlsLab starts a lab with the registrar/proxy on TLS too (and the BSF and KMS).
func tlsLab(t *testing.T, w *wire) *lab.Lab {
	t.Helper()
	l, err := lab.Start(context.Background(), lab.Config{Domain: "home1.net", SIPTLS: true, BSF: &lab.BSFConfig{}, Subscribers: []lab.Subscriber{
		{IMPI: "alice@home1.net", IMPUs: []string{"sip:alice@home1.net"}, K: labK, OPc: labOPc},
		{IMPI: "bob@home1.net", IMPUs: []string{"sip:bob@home1.net"}, K: labK, OPc: labOPc},
	}}, lab.Options{SIPReceived: w.received})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func onTLS(t *testing.T, l *lab.Lab) func(*Config) {
	return func(c *Config) {
		tc, err := l.UETLSConfig("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		c.Transport, c.TLS, c.OutboundProxy = "tls", tc, l.SIPTLSAddr
	}
}

// Two UEs on TLS register with IMS AKA through the lab's TLS listener (certificates of the
// lab's CA verified both ways, no InsecureSkipVerify) and make a KMS-keyed call: every request
// the proxy sees comes over TLS, the bindings name transport=tls, and tones go both ways.
func TestTLSRegisterAndCallThroughLab(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	w := &wire{}
	l := tlsLab(t, w)
	sinkA, sinkB := &sink{}, &sink{}
	a := labUEWith(t, l, "alice@home1.net", nil, onTLS(t, l))
	labUEWith(t, l, "bob@home1.net", &CallOptions{Source: audio.Tone(440, 0.5, 8000), Sink: sinkB}, onTLS(t, l))
	b := l.Registrar.Location().Lookup("sip:bob@home1.net")
	if len(b) != 1 || !strings.EqualFold(b[0].Transport, "tls") {
		t.Fatalf("bob's bindings %+v, want one over TLS", b)
	}
	if tp, _ := b[0].Contact.Address.UriParams.Get("transport"); tp != "tls" {
		t.Fatalf("bob's Contact %s", b[0].Contact.Address.String())
	}
	ctx := context.Background()
	ca, err := a.Dial(ctx, "sip:bob@home1.net", CallOptions{Source: audio.Tone(1000, 0.5, 8000), Sink: sinkA})
	if err != nil {
		t.Fatal(err)
	}
	if up := waitFor(t, ca, EventMediaUp, 10*time.Second); up.KeySource != "mikey" {
		t.Fatalf("media up %v", up)
	}
	waitPlayed(16000, 10*time.Second, sinkA, sinkB)
	if err := ca.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	e := waitEnded(t, ca)
	if e.Stats == nil || e.Stats.SRTPAuthFailures != 0 || e.Stats.PacketsReceived < 50 {
		t.Fatalf("stats %v", e.Stats)
	}
	w.mu.Lock()
	seen := append([]string(nil), w.seen...)
	w.mu.Unlock()
	for _, m := range []string{"REGISTER/TLS", "INVITE/TLS", "ACK/TLS", "BYE/TLS"} {
		if !w.has(m) {
			t.Fatalf("no %s in %v", m, seen)
		}
	}
	for _, s := range seen {
		if !strings.HasSuffix(s, "/TLS") {
			t.Fatalf("%s not over TLS: %v", s, seen)
		}
	}
	a440, _ := heard(t, sinkA.samples(), 440, 1000)
	b1k, _ := heard(t, sinkB.samples(), 1000, 440)
	if a440 < 20 || b1k < 20 {
		t.Fatalf("tones at %.1f and %.1f dB", a440, b1k)
	}
}

// A UE that does not trust the lab's CA fails to register: its TLS handshake fails on the
// proxy's certificate.
func TestTLSUntrustedProxy(t *testing.T) {
	l := tlsLab(t, &wire{})
	other, err := lab.Start(context.Background(), lab.Config{Domain: "other.net", SIPTLS: true}, lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tc, err := other.UETLSConfig("127.0.0.1") // another lab's CA
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPhone(Config{User: "alice", AOR: "sip:alice@home1.net", Transport: "tls", TLS: tc, OutboundProxy: l.SIPTLSAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = p.Register(ctx, RegisterOptions{Registrar: l.RegistrarURI, Username: "alice@home1.net", Password: "x", MaxAttempts: 1})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Register: %v", err)
	}
	if _, err := NewPhone(Config{User: "x", Transport: "tls", TLS: &tls.Config{}}); err == nil {
		t.Fatal("transport tls without a certificate accepted")
	}
}
