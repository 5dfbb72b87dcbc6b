package registrar

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/gba"
)

// BenchmarkRegisterDigestUDP: one op is a full REGISTER → 401 → REGISTER → 200 exchange over
// UDP loopback with MD5 (client and server on the same 2 cores).
func BenchmarkRegisterDigestUDP(b *testing.B) {
	core := newTestCore(b, nil)
	ua := newTestUA(b, core, "alice", "udp")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if res := ua.registerDigest("sip:alice@home1.net", "alice@home1.net", "alice-secret", 600, "MD5"); res.StatusCode != 200 {
			b.Fatal(res.StatusCode)
		}
	}
}

// BenchmarkRegisterAKAUDP: the same with AKAv1-MD5, including the AuC vector (Milenage) and the
// test's USIM-side Milenage.
func BenchmarkRegisterAKAUDP(b *testing.B) {
	core := newTestCore(b, nil)
	ua := newTestUA(b, core, "ue1", "udp")
	m, _ := gba.NewMilenage(set1K, set1OPc)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := ua.newRegister("sip:ue1@home1.net", 600)
		res := ua.send(req)
		ch := pickChallenge(b, res, "WWW-Authenticate", gba.AlgorithmAKAv1MD5)
		rand, _, _, _ := gba.SplitAKANonce(ch.Nonce)
		xres, _, _, _, _ := m.F2345(rand)
		if r := ua.retry(req, "Authorization", akaAuthorization(ch, "ue1@ims.home1.net", xres, "auth", "")); r.StatusCode != 200 {
			b.Fatal(r.StatusCode)
		}
	}
}

// BenchmarkProxyCallUDP: one op is INVITE/180/200, ACK and BYE/200 between two UAs through the
// proxy over UDP loopback.
func BenchmarkProxyCallUDP(b *testing.B) {
	core := newTestCore(b, nil)
	alice := newTestUA(b, core, "alice", "udp")
	bob := newTestUA(b, core, "bob", "udp")
	mustRegister(b, alice, "sip:alice@home1.net", "alice@home1.net", "alice-secret")
	mustRegister(b, bob, "sip:bob@home1.net", "bob@home1.net", "bob-secret")
	ruri := sip.Uri{Scheme: "sip", User: "bob", Host: testDomain}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := alice.dua.Invite(ctx, ruri, []byte("v=0\r\n"), sip.NewHeader("Content-Type", "application/sdp"), serviceRoute(core, "udp"))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
			b.Fatal(err)
		}
		if err := s.Ack(ctx); err != nil {
			b.Fatal(err)
		}
		if err := s.Bye(ctx); err != nil {
			b.Fatal(err)
		}
		s.Close()
		cancel()
	}
}

// BenchmarkLocationLookup: a lookup among 10000 AORs with two bindings each.
func BenchmarkLocationLookup(b *testing.B) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	loc := NewLocation(clock.Now)
	for i := 0; i < 10000; i++ {
		aor := "sip:u" + strconv.Itoa(i) + "@home1.net"
		var bs []Binding
		for j := 0; j < 2; j++ {
			bs = append(bs, Binding{Contact: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "u", Host: "127.0.0.1", Port: 5000 + j}},
				CallID: "c", CSeq: 1, Expires: clock.t.Add(time.Hour)})
		}
		if err := loc.Apply(aor, bs, false, "c", 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if len(loc.Lookup("sip:u4242@home1.net")) != 2 {
			b.Fatal("lookup")
		}
	}
}
