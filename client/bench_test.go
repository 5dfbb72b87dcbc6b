package client

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/keymgmt"
)

// BenchmarkCallSetup measures a whole call on loopback: INVITE sent → first authenticated
// media packet at the caller (setup-ms), then BYE. ns/op covers the whole call including the
// hang-up and media teardown.
func BenchmarkCallSetup(b *testing.B) {
	for _, mode := range []keymgmt.Mode{keymgmt.ModeNone, keymgmt.ModeSDES} {
		b.Run(string(mode), func(b *testing.B) {
			a := newPhone(b, "alice", mode, keymgmt.Mandatory, nil)
			c := newPhone(b, "bob", mode, keymgmt.Mandatory, &CallOptions{})
			ctx := context.Background()
			b.ReportAllocs()
			var total time.Duration
			for b.Loop() {
				ca, err := a.Dial(ctx, target(c), CallOptions{})
				if err != nil {
					b.Fatal(err)
				}
				waitFor(b, ca, EventMediaUp, 3*time.Second)
				total += ca.SetupTime()
				if err := ca.Hangup(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "setup-ms")
		})
	}
}

// BenchmarkRegister measures one registration and its removal against the lab core on
// loopback: REGISTER, 401, REGISTER with credentials, 200, then REGISTER Expires: 0 (which the
// core challenges again) — four round trips plus, for AKA, two Milenage runs in the USIM.
func BenchmarkRegister(b *testing.B) {
	core := newLabCore(b, nil)
	for _, tc := range []struct {
		name string
		opts RegisterOptions
		aor  string
	}{
		{"aka", RegisterOptions{Registrar: "sip:home1.net", USIM: softUSIM(b, set1K)}, "sip:ue1@home1.net"},
		{"sha256", RegisterOptions{Registrar: "sip:home1.net", Username: "alice@home1.net", Password: "alice-secret"}, "sip:alice@home1.net"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := NewPhone(Config{User: "u", AOR: tc.aor, OutboundProxy: core.addr})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				r, err := p.Register(ctx, tc.opts)
				if err != nil {
					b.Fatal(err)
				}
				if err := r.Unregister(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTransportChoice is the per-request cost of the RFC 3261 §18.1.1 size check the
// Phone runs before sipgo sends a request (serialising it once to measure it).
func BenchmarkTransportChoice(b *testing.B) {
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.1", Port: 5060})
	req.AppendHeader(&sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Params: sip.NewParams()})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(make([]byte, 1200))
	b.ReportAllocs()
	for b.Loop() {
		if requestSize(req) <= udpLimit() {
			b.Fatal("not large")
		}
	}
}
