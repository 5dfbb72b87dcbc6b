package sdpoa

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

var (
	ourOrigin = Origin{Username: "alice", SessionID: 1, SessionVersion: 1, Address: netip.MustParseAddr("127.0.0.1")}
	ourAddr   = netip.MustParseAddrPort("127.0.0.1:40000")
)

func TestOfferRoundTrip(t *testing.T) {
	o := NewOffer(ourOrigin, Local{Addr: ourAddr, RTCP: netip.MustParseAddrPort("127.0.0.1:40011"), RTCPMux: true,
		Proto: ProtoSAVP, Attributes: []Attribute{{Key: "crypto", Value: "1 AES_CM_128_HMAC_SHA1_80 inline:x"}}},
		[]Attribute{{Key: "key-mgmt", Value: "mikey AAAA"}})
	b, err := o.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	txt := string(b)
	for _, want := range []string{"m=audio 40000 RTP/SAVP 0 8 101\r\n", "c=IN IP4 127.0.0.1\r\n",
		"a=rtpmap:101 telephone-event/8000\r\n", "a=fmtp:101 0-15\r\n", "a=ptime:20\r\n", "a=sendrecv\r\n",
		"a=rtcp-mux\r\n", "a=rtcp:40011 IN IP4 127.0.0.1\r\n", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n",
		"a=key-mgmt:mikey AAAA\r\n", "a=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:8 PCMA/8000\r\n"} {
		if !strings.Contains(txt, want) {
			t.Errorf("offer lacks %q:\n%s", want, txt)
		}
	}
	p, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	m := p.Media[0]
	if m.Addr != ourAddr || !m.Protected() || !m.RTCPMux || m.Ptime != 20 || m.Direction != SendRecv ||
		m.RTCP != netip.MustParseAddrPort("127.0.0.1:40011") || len(m.Formats) != 3 || m.Formats[2] != TelephoneEvent {
		t.Fatalf("parsed back %+v", m)
	}
	if got := m.AttributeValues("crypto"); len(got) != 1 || got[0] != "1 AES_CM_128_HMAC_SHA1_80 inline:x" {
		t.Fatalf("crypto %q", got)
	}
	if got := p.AttributeValues("key-mgmt"); len(got) != 1 {
		t.Fatalf("key-mgmt %q", got)
	}
}

// A foreign offer in the style of RFC 4317 §2.1 (audio and video, PCMU/PCMA-first order other
// than ours, session-level c=).
const foreignOffer = "v=0\r\no=bob 2808844564 2808844564 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\n" +
	"m=audio 49174 RTP/AVP 8 0 97 100\r\na=rtpmap:97 iLBC/8000\r\na=rtpmap:100 telephone-event/8000\r\na=fmtp:100 0-15\r\na=sendonly\r\n" +
	"m=video 49170 RTP/AVP 32\r\na=rtpmap:32 MPV/90000\r\n"

func TestAnswer(t *testing.T) {
	off, err := Parse([]byte(foreignOffer))
	if err != nil {
		t.Fatal(err)
	}
	ans, n, err := Answer(off, ourOrigin, Local{Addr: ourAddr, RTCPMux: true})
	if err != nil {
		t.Fatal(err)
	}
	if n.Index != 0 || n.Codec.Name != "PCMA" || n.TelephoneEvent != 100 || n.Direction != RecvOnly || n.RTCPMux ||
		n.Remote != netip.MustParseAddrPort("192.0.2.2:49174") || n.RemoteRTCP != netip.MustParseAddrPort("192.0.2.2:49175") {
		t.Fatalf("negotiated %+v", n)
	}
	b, err := ans.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	txt := string(b)
	for _, want := range []string{"m=audio 40000 RTP/AVP 8 0 100\r\n", "a=recvonly\r\n", "m=video 0 RTP/AVP 32\r\n", "a=fmtp:100 0-15\r\n"} {
		if !strings.Contains(txt, want) {
			t.Errorf("answer lacks %q:\n%s", want, txt)
		}
	}
	if strings.Contains(txt, "rtcp-mux") {
		t.Errorf("rtcp-mux answered without offer:\n%s", txt)
	}
	// The offerer's view of this answer.
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	n2, err := AcceptAnswer(off, back)
	if err != nil {
		t.Fatal(err)
	}
	if n2.Codec.Name != "PCMA" || n2.Direction != SendOnly || n2.TelephoneEvent != 100 || n2.Remote != ourAddr {
		t.Fatalf("offerer negotiated %+v", n2)
	}
}

func TestAnswerMuxAndDirections(t *testing.T) {
	for _, tc := range []struct{ offered, ours, want Direction }{
		{SendRecv, SendRecv, SendRecv}, {SendOnly, SendRecv, RecvOnly}, {RecvOnly, SendRecv, SendOnly},
		{Inactive, SendRecv, Inactive}, {SendRecv, SendOnly, SendOnly}, {RecvOnly, RecvOnly, Inactive},
	} {
		off := NewOffer(ourOrigin, Local{Addr: ourAddr, RTCPMux: true, Direction: tc.offered}, nil)
		_, n, err := Answer(off, ourOrigin, Local{Addr: ourAddr, RTCPMux: true, Direction: tc.ours})
		if err != nil {
			t.Fatal(err)
		}
		if n.Direction != tc.want || !n.RTCPMux || n.RemoteRTCP != ourAddr {
			t.Errorf("offered %v, ours %v: got %v mux %v", tc.offered, tc.ours, n.Direction, n.RTCPMux)
		}
	}
}

func TestAnswerNoCommonCodec(t *testing.T) {
	off, _ := Parse([]byte(strings.Replace(foreignOffer, "RTP/AVP 8 0 97 100", "RTP/AVP 97", 1)))
	if _, _, err := Answer(off, ourOrigin, Local{Addr: ourAddr}); !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("got %v", err)
	}
	off, _ = Parse([]byte("v=0\r\no=- 1 1 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=video 4000 RTP/AVP 32\r\n"))
	if _, _, err := Answer(off, ourOrigin, Local{Addr: ourAddr}); !errors.Is(err, ErrNoAudio) {
		t.Fatalf("got %v", err)
	}
}

// With an unusable first audio m-line the answer takes the second, and the offerer finds it.
func TestSecondAudioLine(t *testing.T) {
	off, err := Parse([]byte("v=0\r\no=- 1 1 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\n" +
		"m=audio 3000 RTP/AVP 97\r\na=rtpmap:97 iLBC/8000\r\nm=audio 4000 RTP/SAVPF 0\r\nm=audio 5000 RTP/AVP 0\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	ans, n, err := Answer(off, ourOrigin, Local{Addr: ourAddr})
	if err != nil || n.Index != 2 || ans.Media[0].Addr.Port() != 0 || ans.Media[1].Addr.Port() != 0 {
		t.Fatalf("answer: %v %+v", err, n)
	}
	b, _ := ans.Marshal()
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if n2, err := AcceptAnswer(off, back); err != nil || n2.Index != 2 || n2.Remote != ourAddr {
		t.Fatalf("offerer: %v %+v", err, n2)
	}
}

func TestAcceptAnswerErrors(t *testing.T) {
	off := NewOffer(ourOrigin, Local{Addr: ourAddr, Proto: ProtoSAVP}, nil)
	good := func() *Session {
		a, _, err := Answer(off, ourOrigin, Local{Addr: ourAddr, RTCPMux: true})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for name, mut := range map[string]func(*Session){
		"rejected": func(s *Session) { s.Media[0].Addr = netip.AddrPortFrom(s.Media[0].Addr.Addr(), 0) },
		"proto":    func(s *Session) { s.Media[0].Proto = ProtoAVP },
		"codec":    func(s *Session) { s.Media[0].Formats = []Format{{PT: 97, Name: "iLBC", ClockRate: 8000}} },
		"mux":      func(s *Session) { s.Media[0].RTCPMux = true },
		"count":    func(s *Session) { s.Media = append(s.Media, s.Media[0]) },
	} {
		a := good()
		mut(a)
		if _, err := AcceptAnswer(off, a); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseErrors(t *testing.T) {
	head := "v=0\r\no=- 1 1 IN IP4 192.0.2.2\r\ns=-\r\n"
	base := head + "t=0 0\r\n"
	withC := head + "c=IN IP4 1.2.3.4\r\nt=0 0\r\n"
	for name, tc := range map[string]struct{ sdp, want string }{
		"garbage":   {"hello", "malformed SDP"},
		"no c=":     {base + "m=audio 4000 RTP/AVP 0\r\n", "m-line 0 (audio): no connection address"},
		"bad pt":    {withC + "m=audio 4000 RTP/AVP 300\r\n", `payload type "300"`},
		"bad addr":  {head + "c=IN IP4 example.com\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", "not an IP address"},
		"ip6 as 4":  {head + "c=IN IP4 ::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", "not IP4"},
		"rtpmap":    {withC + "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus\r\n", "a=rtpmap:96"},
		"rate":      {withC + "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus/x\r\n", "clock rate"},
		"ptime":     {withC + "m=audio 4000 RTP/AVP 0\r\na=ptime:-1\r\n", "a=ptime"},
		"rtcp port": {withC + "m=audio 4000 RTP/AVP 0\r\na=rtcp:0\r\n", "a=rtcp"},
		"dup pt":    {withC + "m=audio 4000 RTP/AVP 0 0\r\n", "listed twice"},
	} {
		_, err := Parse([]byte(tc.sdp))
		if err == nil || !errors.Is(err, ErrSDP) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	o, _ := NewOffer(ourOrigin, Local{Addr: ourAddr, RTCPMux: true, Proto: ProtoSAVP,
		Attributes: []Attribute{{Key: "crypto", Value: "1 AES_CM_128_HMAC_SHA1_80 inline:x"}}}, nil).Marshal()
	f.Add(o)
	f.Add([]byte(foreignOffer))
	// An earlier audio m-line that cannot be used: the answer rejects it and takes the next.
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\n" +
		"m=audio 3000 RTP/AVP 97\r\na=rtpmap:97 iLBC/8000\r\nm=audio 4000 RTP/SAVPF 0\r\nm=audio 5000 RTP/AVP 0\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP6 ::1\r\na=rtcp:4001 IN IP6 ::1\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		// Whatever parses must answer or fail cleanly, and the answer must marshal and parse.
		ans, _, err := Answer(s, ourOrigin, Local{Addr: ourAddr, RTCPMux: true})
		if err != nil {
			return
		}
		out, err := ans.Marshal()
		if err != nil {
			t.Fatalf("answer does not marshal: %v", err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, out)
		}
		if _, err := AcceptAnswer(s, back); err != nil {
			t.Fatalf("own answer refused: %v\n%s", err, out)
		}
	})
}
