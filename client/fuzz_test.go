package client

import (
	"context"
	"crypto/rand"
	"net/netip"
	"strings"
	"testing"

	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/keymgmt"
)

// FuzzProcessOffer feeds INVITE bodies to the offer checks that run before ringing: each is
// either refused with 488 and a single-line Warning, or leads to an answer that builds.
func FuzzProcessOffer(f *testing.F) {
	ctx := context.Background()
	neg, err := keymgmt.New(keymgmt.Config{Policy: keymgmt.Policy{Mode: keymgmt.ModeSDES, Requirement: keymgmt.Preferred}, Rand: rand.Reader})
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
