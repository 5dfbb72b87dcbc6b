package client

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/pion/rtp"
)

// The caller's EventAnswered comes with Keys and Negotiated already set, and EventMediaUp
// after it.
func TestEventOrderCaller(t *testing.T) {
	a := newPhone(t, "alice", keymgmt.ModeSDES, keymgmt.Mandatory, nil)
	b := newPhone(t, "bob", keymgmt.ModeSDES, keymgmt.Mandatory, &CallOptions{})
	ca, err := a.Dial(context.Background(), target(b), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Hangup(context.Background())
	deadline := time.After(10 * time.Second)
	answered := false
	for {
		select {
		case e, ok := <-ca.Events():
			if !ok {
				t.Fatalf("events closed: %v", ca.Ended())
			}
			switch e.Kind {
			case EventAnswered:
				answered = true
				if k, n := ca.Keys(), ca.Negotiated(); k == nil || k.Method != "sdes" || n == nil || !n.Protected {
					t.Fatalf("at EventAnswered: keys %v, negotiated %v", k, n)
				}
			case EventMediaUp:
				if !answered {
					t.Fatal("EventMediaUp before EventAnswered")
				}
				return
			case EventEnded:
				t.Fatalf("ended: %v", e)
			}
		case <-deadline:
			t.Fatal("no EventMediaUp")
		}
	}
}

// rawUAC is a bare UDP socket playing a caller, so that the test decides when the ACK goes.
type rawUAC struct {
	t    *testing.T
	conn *net.UDPConn
	to   *net.UDPAddr
}

func newRawUAC(t *testing.T, to *Phone) *rawUAC {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	u := to.URI()
	return &rawUAC{t: t, conn: conn, to: &net.UDPAddr{IP: net.ParseIP(u.Host), Port: u.Port}}
}

func (r *rawUAC) send(msg string) {
	r.t.Helper()
	if _, err := r.conn.WriteToUDP([]byte(msg), r.to); err != nil {
		r.t.Fatal(err)
	}
}

// response reads until a response with code arrives (10 s).
func (r *rawUAC) response(code int) *sip.Response {
	r.t.Helper()
	buf := make([]byte, 65535)
	r.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		n, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			r.t.Fatalf("waiting for %d: %v", code, err)
		}
		m, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			r.t.Fatalf("parse: %v", err)
		}
		if res, ok := m.(*sip.Response); ok && res.StatusCode == code {
			return res
		}
	}
}

// The callee runs its media from its 2xx on (RFC 3264 §6), so the caller's RTP can arrive
// before the ACK; EventMediaUp must still wait for EventAnswered.
func TestEventOrderCalleeMediaBeforeACK(t *testing.T) {
	b := newPhone(t, "bob", keymgmt.ModeNone, keymgmt.Preferred, nil)
	uac := newRawUAC(t, b)
	rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtpConn.Close()
	me := uac.conn.LocalAddr().String()
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp-mux\r\n", rtpConn.LocalAddr().(*net.UDPAddr).Port)
	bu := b.URI()
	uac.send(fmt.Sprintf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKorder1\r\nMax-Forwards: 70\r\n"+
		"From: <sip:carol@%s>;tag=c1\r\nTo: <%s>\r\nCall-ID: order-test\r\nCSeq: 1 INVITE\r\n"+
		"Contact: <sip:carol@%s>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		bu.String(), me, me, bu.String(), me, len(sdp), sdp))
	var cb *Call
	select {
	case cb = <-b.Incoming():
	case <-time.After(10 * time.Second):
		t.Fatal("no incoming call")
	}
	answerErr := make(chan error, 1)
	go func() { answerErr <- cb.Answer(context.Background(), CallOptions{}) }()
	ok := uac.response(200)
	ans, err := parseSDPPort(ok.Body())
	if err != nil {
		t.Fatal(err)
	}
	// RTP from us before our ACK; wait until the callee has counted it.
	for i := 0; i < 5; i++ {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(100 + i),
			Timestamp: uint32(160 * i), SSRC: 0x1234}, Payload: make([]byte, 160)}
		raw, _ := pkt.Marshal()
		rtpConn.WriteToUDP(raw, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ans})
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st, ok := cb.Stats(); ok && st.PacketsReceived > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("callee received no RTP")
		}
	}
	// The stream has latched; give its event a moment to reach the call, then check that
	// nothing but ringing was reported yet.
	time.Sleep(100 * time.Millisecond)
drain:
	for {
		select {
		case e := <-cb.Events():
			if e.Kind != EventRinging {
				t.Fatalf("before the ACK: %v", e)
			}
		default:
			break drain
		}
	}
	toTag, _ := ok.To().Params.Get("tag")
	uac.send(fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKorder2\r\nMax-Forwards: 70\r\n"+
		"From: <sip:carol@%s>;tag=c1\r\nTo: <%s>;tag=%s\r\nCall-ID: order-test\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
		ok.Contact().Address.String(), me, me, bu.String(), toTag))
	if err := <-answerErr; err != nil {
		t.Fatal(err)
	}
	waitFor(t, cb, EventAnswered, 10*time.Second)
	// Latched already; EventMediaUp follows without more RTP.
	waitFor(t, cb, EventMediaUp, 10*time.Second)
}

// parseSDPPort returns the port of the first m= line.
func parseSDPPort(body []byte) (int, error) {
	for _, l := range strings.Split(string(body), "\r\n") {
		if rest, ok := strings.CutPrefix(l, "m=audio "); ok {
			var port int
			_, err := fmt.Sscanf(rest, "%d", &port)
			return port, err
		}
	}
	return 0, fmt.Errorf("no m=audio in %q", body)
}
