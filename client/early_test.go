package client

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
)

// earlyUAS is a gateway-like UAS on loopback whose INVITE the test answers step by step.
type earlyUAS struct {
	conn, rtp *net.UDPConn
	invite    chan *sip.Request
	from      chan *net.UDPAddr
	acks      chan *sip.Request
	byes      chan *sip.Request
}

func newEarlyUAS(t *testing.T) *earlyUAS {
	t.Helper()
	conn := listenUDP(t)
	rtpConn := listenUDP(t)
	u := &earlyUAS{conn: conn, rtp: rtpConn, invite: make(chan *sip.Request, 4), from: make(chan *net.UDPAddr, 4),
		acks: make(chan *sip.Request, 16), byes: make(chan *sip.Request, 16)}
	serveRequests(t, conn, "early UAS", true, func(req *sip.Request, from *net.UDPAddr) {
		switch req.Method {
		case sip.INVITE:
			u.invite <- req
			u.from <- from
		case sip.ACK:
			u.acks <- req
		case sip.BYE:
			conn.WriteToUDP([]byte(sip.NewResponseFromRequest(req, 200, "OK", nil).String()), from)
			u.byes <- req
		}
	})
	return u
}

func (u *earlyUAS) sdp(version int) []byte {
	return []byte(fmt.Sprintf("v=0\r\no=- 1 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", version, u.rtp.LocalAddr().(*net.UDPAddr).Port))
}

func (u *earlyUAS) respond(req *sip.Request, to *net.UDPAddr, code int, reason string, body []byte) {
	res := sip.NewResponseFromRequest(req, code, reason, body)
	res.To().Params.Add("tag", "gw")
	a := u.conn.LocalAddr().(*net.UDPAddr)
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "gw", Host: "127.0.0.1", Port: a.Port}})
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	u.conn.WriteToUDP([]byte(res.String()), to)
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
	}
	var zero T
	return zero
}

// earlyCall dials the UAS, answers 183 with SDP, and sends RTP until the caller has counted
// it, all before any 2xx.
func earlyCall(t *testing.T, u *earlyUAS) (*Call, *sip.Request, *net.UDPAddr) {
	t.Helper()
	a := newPhoneCfg(t, Config{User: "alice"})
	ca, err := a.Dial(context.Background(), fmt.Sprintf("sip:bob@%s", u.conn.LocalAddr()), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inv, from := recv(t, u.invite, "INVITE"), recv(t, u.from, "source")
	port, err := parseSDPPort(inv.Body())
	if err != nil {
		t.Fatal(err)
	}
	u.respond(inv, from, 183, "Session Progress", u.sdp(1))
	if e := waitFor(t, ca, EventRinging, 10*time.Second); !e.EarlyMedia || e.Code != 183 {
		t.Fatalf("ringing: %+v", e)
	}
	for seq := 0; ; seq++ {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(seq),
			Timestamp: uint32(160 * seq), SSRC: 0x6A7E}, Payload: make([]byte, 160)}
		raw, _ := pkt.Marshal()
		u.rtp.WriteToUDP(raw, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if st, ok := ca.Stats(); ok && st.PacketsReceived > 0 {
			break
		}
		if seq > 500 {
			t.Fatal("caller received no early media")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ca, inv, from
}

// RFC 3960 §3 (gateway model): a 183 with SDP starts the media before the answer; the 2xx
// with the same SDP answers the call on the running stream.
func TestEarlyMedia183(t *testing.T) {
	u := newEarlyUAS(t)
	ca, inv, from := earlyCall(t, u)
	st, _ := ca.Stats()
	u.respond(inv, from, 200, "OK", u.sdp(1))
	waitFor(t, ca, EventAnswered, 10*time.Second)
	recv(t, u.acks, "ACK")
	waitFor(t, ca, EventMediaUp, 10*time.Second)
	if st2, _ := ca.Stats(); st2.SSRC != st.SSRC {
		t.Fatalf("stream replaced at the answer: SSRC %x then %x", st.SSRC, st2.SSRC)
	}
	if err := ca.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	recv(t, u.byes, "BYE")
}

// A 2xx whose SDP differs from the early one is ACKed and BYEd (RFC 3261 §13.2.2.4).
func TestEarlyMediaDifferentAnswer(t *testing.T) {
	u := newEarlyUAS(t)
	ca, inv, from := earlyCall(t, u)
	u.respond(inv, from, 200, "OK", u.sdp(2))
	recv(t, u.acks, "ACK")
	recv(t, u.byes, "BYE")
	if e := waitEnded(t, ca); e.By != Local {
		t.Fatalf("ended: %v", e)
	}
}
