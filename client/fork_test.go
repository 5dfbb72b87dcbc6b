package client

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// forkingUAS plays a forking proxy with two UASs behind it: it answers one INVITE with two
// 2xx of different To-tags ("first", "fork"), and records the ACKs and BYEs per To-tag.
type forkingUAS struct {
	conn *net.UDPConn
	rtp  *net.UDPConn
	mu   sync.Mutex
	got  map[string][]sip.RequestMethod // To-tag -> methods received
	seen chan struct{}
}

func newForkingUAS(t *testing.T) *forkingUAS {
	t.Helper()
	conn := listenUDP(t)
	rtpConn := listenUDP(t)
	f := &forkingUAS{conn: conn, rtp: rtpConn, got: map[string][]sip.RequestMethod{}, seen: make(chan struct{}, 64)}
	serveRequests(t, conn, "forking UAS", false, func(req *sip.Request, from *net.UDPAddr) {
		switch req.Method {
		case sip.INVITE:
			ringing := sip.NewResponseFromRequest(req, 180, "Ringing", nil)
			ringing.To().Params.Add("tag", "first")
			conn.WriteToUDP([]byte(ringing.String()), from)
			conn.WriteToUDP([]byte(f.ok(req, "first").String()), from)
			// The fork's 2xx comes once the first is accepted (ACKed), and is retransmitted
			// until ACKed (RFC 3261 §13.3.1.4).
			fork := []byte(f.ok(req, "fork").String())
			go func() {
				for i := 0; i < 100 && !has(f.methods("first"), sip.ACK); i++ {
					time.Sleep(20 * time.Millisecond)
				}
				for i := 0; i < 50 && !has(f.methods("fork"), sip.ACK); i++ {
					conn.WriteToUDP(fork, from)
					time.Sleep(100 * time.Millisecond)
				}
			}()
		case sip.ACK, sip.BYE:
			tag, _ := req.To().Params.Get("tag")
			f.mu.Lock()
			f.got[tag] = append(f.got[tag], req.Method)
			f.mu.Unlock()
			if req.Method == sip.BYE {
				conn.WriteToUDP([]byte(sip.NewResponseFromRequest(req, 200, "OK", nil).String()), from)
			}
			select {
			case f.seen <- struct{}{}:
			default:
			}
		}
	})
	return f
}

// ok is the 2xx of the UAS with To-tag tag, each with its own Contact.
func (f *forkingUAS) ok(req *sip.Request, tag string) *sip.Response {
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", f.rtp.LocalAddr().(*net.UDPAddr).Port)
	res := sip.NewResponseFromRequest(req, 200, "OK", []byte(sdp))
	res.To().Params.Add("tag", tag)
	a := f.conn.LocalAddr().(*net.UDPAddr)
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: tag, Host: "127.0.0.1", Port: a.Port}})
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	return res
}

func (f *forkingUAS) methods(tag string) []sip.RequestMethod {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sip.RequestMethod(nil), f.got[tag]...)
}

// waitUntil waits for cond, re-checked on every ACK or BYE the UAS receives (10 s).
func (f *forkingUAS) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-f.seen:
		case <-deadline:
			t.Fatalf("%s: first %v, fork %v", what, f.methods("first"), f.methods("fork"))
		}
	}
}

func has(ms []sip.RequestMethod, m sip.RequestMethod) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

// RFC 3261 §13.2.2.4: a second 2xx from another To-tag gets ACK, then BYE; the call stays
// on the first dialog.
func TestForked2xx(t *testing.T) {
	f := newForkingUAS(t)
	a := newPhoneCfg(t, Config{User: "alice"})
	ca, err := a.Dial(context.Background(), fmt.Sprintf("sip:bob@%s", f.conn.LocalAddr()), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ca, EventAnswered, 10*time.Second)
	f.waitUntil(t, "fork ACKed and BYEd", func() bool {
		ms := f.methods("fork")
		return len(ms) >= 2 && ms[0] == sip.ACK && has(ms, sip.BYE)
	})
	f.waitUntil(t, "first ACKed", func() bool { return has(f.methods("first"), sip.ACK) })
	if has(f.methods("first"), sip.BYE) {
		t.Fatal("first dialog got a BYE")
	}
	select {
	case <-ca.Done():
		t.Fatalf("call ended: %v", ca.Ended())
	default:
	}
	if err := ca.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.waitUntil(t, "first BYEd on hang-up", func() bool { return has(f.methods("first"), sip.BYE) })
	var byes int
	for _, m := range f.methods("fork") {
		if m == sip.BYE {
			byes++
		}
	}
	if byes != 1 {
		t.Fatalf("fork got %d BYEs: %v", byes, f.methods("fork"))
	}
}
