package client

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/keymgmt"
)

// FuzzProcessOffer feeds INVITE bodies to the offer checks that run before ringing: each is
// either refused with 488 and a single-line Warning, or leads to an answer that builds.
func FuzzProcessOffer(f *testing.F) {
	ctx := context.Background()
	neg, err := keymgmt.New(keymgmt.Config{Policy: keymgmt.Policy{AllowSDESWithoutTLS: true, Mode: keymgmt.ModeSDES, Requirement: keymgmt.Preferred}, Rand: rand.Reader})
	if err != nil {
		f.Fatal(err)
	}
	p := &Phone{keys: neg, addr: netip.MustParseAddrPort("127.0.0.1:5060")}
	local := sdpoa.Local{Addr: netip.MustParseAddrPort("127.0.0.1:40000"), RTCPMux: true}
	off, _ := neg.Offer(ctx, keymgmt.Stream{})
	l := local
	l.Proto, l.Attributes = sdpoa.ProtoSAVP, off.Lines().Media
	savp, _ := sdpoa.NewOffer(sdpoa.Origin{Address: netip.MustParseAddr("127.0.0.1")}, l, nil).Marshal()
	avp, _ := sdpoa.NewOffer(sdpoa.Origin{Address: netip.MustParseAddr("127.0.0.1")}, local, nil).Marshal()
	f.Add(savp)
	f.Add(avp)
	f.Add([]byte(foreignOfferForFuzz))
	f.Fuzz(func(t *testing.T, body []byte) {
		offer, idx, lines, keys, rf := p.processOffer(ctx, body, keymgmt.Stream{})
		if rf != nil {
			if rf.code != 488 || rf.warning == "" || strings.ContainsAny(rf.warning, "\r\n") {
				t.Fatalf("refusal %d with Warning %q", rf.code, rf.warning)
			}
			return
		}
		l := local
		l.Attributes = lines.Media
		ans, n, err := sdpoa.Answer(offer, sdpoa.Origin{Address: netip.MustParseAddr("127.0.0.1")}, l)
		if err != nil || n.Index != idx {
			t.Fatalf("accepted offer does not answer: %v", err)
		}
		if n.Protected != (keys != nil) {
			t.Fatalf("protected %v with keys %v", n.Protected, keys)
		}
		if _, err := ans.Marshal(); err != nil {
			t.Fatal(err)
		}
	})
}

const foreignOfferForFuzz = "v=0\r\no=bob 1 1 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\n" +
	"m=audio 49174 RTP/SAVP 8 0 100\r\na=rtpmap:100 telephone-event/8000\r\n" +
	"a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4\r\n" +
	"m=video 0 RTP/AVP 32\r\n"

// FuzzRegister2xx feeds the parts of a REGISTER 2xx that learn reads (Expires, our Contact's
// expires, Service-Route, P-Associated-URI, Via received/rport): nothing panics, the granted
// lifetime is a delta-seconds value or the one asked for, and no learned URI is empty.
func FuzzRegister2xx(f *testing.F) {
	f.Add("3600", "600", "<sip:orig@scscf.home1.net;lr>", "<sip:alice@home1.net>, <tel:+15550001>", "127.0.0.1", "5060")
	f.Add("-1", "99999999999999999999", `<sip:a;lr>, "x, y" <sip:b>`, "sip:bare@h", "[::1]", "0")
	f.Add("", "", ",,", "<>", "not-an-ip", "70000")
	p := &Phone{addr: netip.MustParseAddrPort("127.0.0.1:5062"), log: slog.New(slog.DiscardHandler),
		cfg: Config{User: "alice"}, regs: map[*Registration]struct{}{}}
	f.Fuzz(func(t *testing.T, expires, cexp, sr, assoc, received, rport string) {
		r := &Registration{p: p}
		req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "home1.net"})
		via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5062, Params: sip.NewParams()}
		req.AppendHeader(via)
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.Via().Params.Add("received", received)
		res.Via().Params.Add("rport", rport)
		ct := &sip.ContactHeader{Address: p.URI(), Params: sip.NewParams()}
		ct.Params.Add("expires", cexp)
		res.AppendHeader(ct)
		res.AppendHeader(sip.NewHeader("Expires", expires))
		res.AppendHeader(sip.NewHeader("Service-Route", sr))
		res.AppendHeader(sip.NewHeader("P-Associated-URI", assoc))
		const asked = 1234 * time.Second
		r.learn(res, asked)
		g := r.Expires()
		_, okE := parseDeltaSeconds(expires)
		_, okC := parseDeltaSeconds(cexp)
		if g < 0 || (g != asked && !okE && !okC) {
			t.Fatalf("granted %v from Expires %q, expires %q", g, expires, cexp)
		}
		for _, u := range append(r.ServiceRoute(), r.AssociatedURIs()...) {
			if strings.TrimSpace(u) == "" {
				t.Fatalf("blank URI %q", u)
			}
		}
		if o := r.ObservedAddr(); o.IsValid() && o.Port() == 0 {
			t.Fatalf("observed %v", o)
		}
	})
}
