package client

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/keymgmt"
)

// The ACK for a 2xx and the later BYE follow the dialog's route set and remote target (RFC 3261
// §12.1.2, §12.2.1.1, §13.2.2.4): with Record-Route in the 2xx they go to the top route (a loose
// router, ;lr) with the 2xx's Contact as Request-URI, not to where the INVITE went.
func TestAckFollowsRouteSetAndContact(t *testing.T) {
	a := newPhone(t, "alice", keymgmt.ModeNone, keymgmt.Preferred, nil)
	proxy, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	contact := sip.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.1", Port: 9} // never sent to directly

	ua, _ := sipgo.NewUA()
	defer ua.Close()
	srv, _ := sipgo.NewServer(ua)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		offer, err := sdpoa.Parse(req.Body())
		if err != nil {
			t.Error(err)
			return
		}
		ans, _, err := sdpoa.Answer(offer, sdpoa.Origin{Address: netip.MustParseAddr("127.0.0.1")},
			sdpoa.Local{Addr: netip.MustParseAddrPort("127.0.0.1:9"), RTCPMux: true})
		if err != nil {
			t.Error(err)
			return
		}
		body, _ := ans.Marshal()
		res := sip.NewSDPResponseFromRequest(req, body)
		res.To().Params.Add("tag", "uas-tag")
		res.AppendHeader(&sip.ContactHeader{Address: contact})
		res.AppendHeader(sip.NewHeader("Record-Route", fmt.Sprintf("<sip:%s;lr>", proxy.LocalAddr())))
		tx.Respond(res)
	})
	uasConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeUDP(uasConn)
	defer uasConn.Close()
	time.Sleep(50 * time.Millisecond)

	ca, err := a.Dial(context.Background(), "sip:bob@"+uasConn.LocalAddr().String(), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ca, EventAnswered, 3*time.Second)
	read := func(method sip.RequestMethod) *sip.Request {
		t.Helper()
		buf := make([]byte, 65535)
		proxy.SetReadDeadline(time.Now().Add(3 * time.Second))
		for {
			n, _, err := proxy.ReadFrom(buf)
			if err != nil {
				t.Fatalf("no %s at the route: %v", method, err)
			}
			m, err := sip.ParseMessage(buf[:n])
			if err != nil {
				t.Fatal(err)
			}
			if r, ok := m.(*sip.Request); ok && r.Method == method {
				return r
			}
		}
	}
	ack := read(sip.ACK)
	if ack.Recipient.Addr() != contact.Addr() || ack.Route() == nil || ack.Route().Address.HostPort() != proxy.LocalAddr().String() {
		t.Fatalf("ACK: %s, Route %v", ack.StartLine(), ack.Route())
	}
	go ca.Hangup(context.Background())
	bye := read(sip.BYE)
	if bye.Recipient.Addr() != contact.Addr() || bye.Route() == nil {
		t.Fatalf("BYE: %s, Route %v", bye.StartLine(), bye.Route())
	}
	// Answer the BYE as the proxy would relay it, so the call ends cleanly.
	res := sip.NewResponseFromRequest(bye, 200, "OK", nil)
	proxy.WriteTo([]byte(res.String()), net.UDPAddrFromAddrPort(a.Addr()))
	if e := waitEnded(t, ca); e.By != Local {
		t.Fatalf("ended %v", e)
	}
}

// Final responses 3xx–6xx reach the caller with code, reason and Warning.
func TestFinalResponsesReported(t *testing.T) {
	a := newPhone(t, "alice", keymgmt.ModeNone, keymgmt.Preferred, nil)
	ua, _ := sipgo.NewUA()
	defer ua.Close()
	srv, _ := sipgo.NewServer(ua)
	codes := map[string]int{"moved": 302, "forbidden": 403, "unavailable": 503, "decline": 603}
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		code := codes[req.Recipient.User]
		res := sip.NewResponseFromRequest(req, code, "Because "+req.Recipient.User, nil)
		if code == 302 {
			res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "elsewhere", Host: "127.0.0.1", Port: 9}})
		}
		res.AppendHeader(sip.NewHeader("Warning", `399 uas "test"`))
		tx.Respond(res)
	})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeUDP(conn)
	defer conn.Close()
	for ; ; time.Sleep(time.Millisecond) {
		if c, _ := ua.TransportLayer().GetConnection("udp", conn.LocalAddr().String()); c != nil {
			break
		}
	}
	for user, code := range codes {
		ca, err := a.Dial(context.Background(), "sip:"+user+"@"+conn.LocalAddr().String(), CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e := waitEnded(t, ca)
		if e.Code != code || e.Reason != "Because "+user || e.By != Remote || e.Warning != `399 uas "test"` {
			t.Fatalf("%s: %v", user, e)
		}
	}
}
