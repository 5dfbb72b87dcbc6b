package client

import (
	"net"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// listenUDP is a loopback UDP socket closed when the test ends.
func listenUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// serveRequests is the read loop of the tests' hand-made SIP peers: every request arriving on
// conn goes to handle, in order; a message that does not parse fails the test (name says whose)
// unless lenient; responses are ignored. It stops, and is waited for, when the test ends.
func serveRequests(t *testing.T, conn *net.UDPConn, name string, lenient bool, handle func(req *sip.Request, from *net.UDPAddr)) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			m, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
			if err != nil {
				if !lenient {
					t.Errorf("%s: %v", name, err)
				}
				continue
			}
			if req, ok := m.(*sip.Request); ok {
				handle(req, from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
}
