package interop

import (
	"bytes"
	"net"
	"sync"
	"testing"
)

// invDropper is a UDP relay in front of a SIP peer that drops the first INVITE it sees, so
// that only the sender's retransmission (RFC 3261 §17.1.1.2, Timer A) reaches the peer.
// Responses come back through it too: with rport (RFC 3581 §4) the peer answers the
// datagram's source, the relay.
type invDropper struct {
	conn net.PacketConn
	mu   sync.Mutex
	seen int // INVITEs seen, the dropped one included
}

func startInvDropper(t testing.TB, to int) *invDropper {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &invDropper{conn: c}
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: to}
	go func() {
		buf := make([]byte, 65536)
		var client net.Addr
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if u, ok := from.(*net.UDPAddr); ok && u.Port == to {
				if client != nil {
					c.WriteTo(buf[:n], client)
				}
				continue
			}
			client = from
			if bytes.HasPrefix(buf[:n], []byte("INVITE ")) {
				d.mu.Lock()
				d.seen++
				first := d.seen == 1
				d.mu.Unlock()
				if first {
					continue
				}
			}
			c.WriteTo(buf[:n], dst)
		}
	}()
	t.Cleanup(func() { c.Close() })
	return d
}

func (d *invDropper) port() int { return d.conn.LocalAddr().(*net.UDPAddr).Port }

func (d *invDropper) invites() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seen
}
