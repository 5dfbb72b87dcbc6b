package client

import (
	"net"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The lifecycle of the Phone's TCP (and TLS) connections, on top of sipgo v1.7.3's
// reference counting.
//
// sipgo counts references on a connection (sip/transport_tcp.go, TCPConnection): a dialed one
// starts at 2+TransportIdleConnection ("1 returning + 1 reading + Idle"), an accepted one at
// 1+TransportIdleConnection; transactions and single writes take and release one each. The
// idle reference is never released, so a connection the Phone opened for one large INVITE
// stays open until the peer closes it or the Phone closes. And the Phone's close is a hard
// one: UserAgent.Close → TransportLayer.Close → ConnectionPool.Clear calls
// TCPConnection.Close, which sets the count to 0 and closes the socket; the reading goroutine
// then ends in ConnectionPool.CloseAndDelete, whose TryClose takes the count to -1 ("TCP ref
// went negative", transport_tcp.go TryClose). A count that is 0 while the connection is
// still in the pool can also close it under a transaction that still uses it.
//
// tcpConns works around both without touching sipgo's count: it never calls sipgo's
// Close/TryClose on a live connection. It takes the connection out of sipgo's pool (so no new
// request picks it), half-closes the socket (FIN, RFC 793 §3.5 orderly close; we keep reading,
// so a late response or retransmission is still taken and nothing is left unread, which is
// what makes a close a reset), and lets sipgo's reading goroutine see the peer's FIN: its
// CloseAndDelete then takes the count from 1+TransportIdleConnection to 0 the ordinary way.
//
// A Phone on UDP opens TCP connections only for requests too large for UDP (RFC 3261
// §18.1.1) and for next hops that name TCP. Such a connection is ours to close (RFC 3261 §18:
// the client transport opened it) once nothing needs it: no transaction of ours on it, no
// call whose INVITE went over it still up (the peer answers on it, RFC 3261 §18.2.2, and
// retransmits its 2xx over it until our ACK, §13.3.1.4; our later requests in the dialog may
// reuse it), and no reference of sipgo's beyond the reader's and the idle one (a request the
// peer sent us on it is still being answered). Our Contact names UDP and our Via carries no
// alias (RFC 5923 §5), so the peer sends its own requests to our Contact, not over this
// connection. Once nothing needs it, it stays open for Config.TCPIdle more (RFC 3261 §18: "It
// is RECOMMENDED that connections be kept open for some implementation-defined duration after
// the last message was sent or received over that connection. This duration SHOULD at least
// equal the longest amount of time the element would need in order to bring a transaction
// from instantiation to the terminated state"), then closes. A Phone on TCP or TLS keeps its connections (they carry the registration's flow
// and the requests routed back over it); all connections are closed the same orderly way when
// the Phone closes.
type tcpConns struct {
	p *Phone

	mu       sync.Mutex
	pending  int // requests being handed to sipgo over a connection right now
	conns    map[*sip.TCPConnection]*tcpUse
	accepted map[*acceptedConn]struct{}
	closed   bool
	stop     chan struct{} // closed when the Phone closes: lingering closes finish at once
}

// tcpUse is what keeps one connection of ours open.
type tcpUse struct {
	network string              // sipgo transport: "tcp" or "tls"
	txs     int                 // our client transactions on it that have not terminated
	calls   map[string]struct{} // Call-IDs of calls whose INVITE or re-INVITE went over it
	recheck bool                // a later look is scheduled (sipgo still held it)
	// The idle wait (Config.TCPIdle): idling while it runs, expired when it ran out with
	// nothing using the connection meanwhile; gen tells a stale wait from the current one.
	idling, expired bool
	gen             int
}

const (
	// tcpIdleRefs is sipgo's count on a connection nothing uses: its reader's reference and
	// the idle one (TransportIdleConnection, 1 by default).
	tcpIdleRefs = 1

	// tcpRecheck is how soon an idle-looking connection is looked at again when sipgo still
	// holds a reference (a transaction ends before sipgo releases its reference).
	tcpRecheck = 500 * time.Millisecond // T1

	// tcpLinger bounds how long we wait for the peer's FIN after ours before closing the
	// socket: 64*T1, the longest a transaction of the peer's may still run (RFC 3261 §17).
	tcpLinger = 32 * time.Second

	// tcpCloseWait bounds the orderly close of every connection when the Phone closes.
	tcpCloseWait = time.Second
)

func newTCPConns(p *Phone) *tcpConns {
	return &tcpConns{p: p, conns: map[*sip.TCPConnection]*tcpUse{}, accepted: map[*acceptedConn]struct{}{},
		stop: make(chan struct{})}
}

// idleRefs is sipgo's reference count on a connection that nothing uses.
func idleRefs() int { return tcpIdleRefs + sip.TransportIdleConnection }

// begin is called before a request is handed to sipgo over TCP or TLS: until sent is called,
// no connection is closed (sipgo may be picking one from its pool).
func (tc *tcpConns) begin() {
	tc.mu.Lock()
	tc.pending++
	tc.mu.Unlock()
}

// sent records that req went out (err == nil) over sipgo's connection to its destination, in
// transaction tx (nil for an ACK), and looks for connections to close.
func (tc *tcpConns) sent(req *sip.Request, tx sip.ClientTransaction, err error) {
	var c *sip.TCPConnection
	network := sip.NetworkToLower(req.Transport())
	if err == nil {
		c = tc.lookup(network, req.Destination())
	}
	tc.mu.Lock()
	tc.pending--
	if c != nil && !tc.closed {
		for x, u := range tc.conns {
			// Gone (the peer closed it, sipgo's count is 0): a Phone on TCP or TLS, which
			// never closes its connections itself, forgets it here.
			if x != c && u.txs == 0 && x.Ref(0) <= 0 {
				delete(tc.conns, x)
			}
		}
		u := tc.conns[c]
		if u == nil {
			u = &tcpUse{network: network, calls: map[string]struct{}{}}
			tc.conns[c] = u
		}
		u.gen++ // used again: a running idle wait no longer counts
		u.idling, u.expired = false, false
		if tx != nil {
			u.txs++
			go func() {
				<-tx.Done()
				tc.mu.Lock()
				u.txs--
				tc.mu.Unlock()
				tc.check()
			}()
		}
		if req.IsInvite() {
			if id := req.CallID(); id != nil {
				u.calls[id.Value()] = struct{}{}
			}
		}
	}
	tc.mu.Unlock()
	tc.check()
}

// lookup finds the connection sipgo holds for addr (host:port, as its pool keys it).
func (tc *tcpConns) lookup(network, addr string) *sip.TCPConnection {
	pool := tc.p.ua.TransportLayer().Pool(network)
	if pool == nil {
		return nil
	}
	x := pool.Get(addr) // takes a reference
	if x == nil {
		return nil
	}
	// Giving it back never closes a live connection: its reader holds one.
	x.TryClose()
	c, _ := x.(*sip.TCPConnection)
	return c
}

// check closes the connections of a Phone on UDP that nothing needs any more.
func (tc *tcpConns) check() {
	if tc.p.cfg.Transport != "udp" {
		return
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.closed || tc.pending > 0 {
		return
	}
	for c, u := range tc.conns {
		if u.txs > 0 || u.recheck || tc.p.anyCallLive(u.calls) {
			u.gen++
			u.idling, u.expired = false, false
			continue
		}
		if ref := c.Ref(0); ref > idleRefs() {
			u.gen++
			u.idling, u.expired = false, false
			// sipgo still uses it (a transaction about to release it, or a request the peer
			// sent over it being answered): look again later.
			u.recheck = true
			go func() {
				select {
				case <-tc.p.after(tcpRecheck):
				case <-tc.stop:
				}
				tc.mu.Lock()
				u.recheck = false
				tc.mu.Unlock()
				tc.check()
			}()
			continue
		}
		if idle := tc.p.cfg.TCPIdle; idle > 0 && !u.expired {
			// RFC 3261 §18: kept open a while after its last use, in case the peer still
			// sends over it.
			if !u.idling {
				u.idling = true
				gen := u.gen
				go func() {
					select {
					case <-tc.p.after(idle):
					case <-tc.stop:
						return
					}
					tc.mu.Lock()
					if u.gen == gen && u.idling {
						u.expired = true
					}
					tc.mu.Unlock()
					tc.check()
				}()
			}
			continue
		}
		delete(tc.conns, c)
		tc.p.log.Debug("closing TCP connection: no transaction or call uses it", "local", c.LocalAddr().String(), "remote", c.RemoteAddr().String())
		tc.unpool(u.network, c)
		fin(c.Conn)
		go func() {
			select {
			case <-tc.p.after(tcpLinger):
			case <-tc.stop:
			}
			// Closed already when the peer answered our FIN with its own; else we give up
			// waiting for it.
			c.Conn.Close()
		}()
	}
}

// unpool takes c out of sipgo's pool, so that no request picks it while it closes.
func (tc *tcpConns) unpool(network string, c *sip.TCPConnection) {
	pool := tc.p.ua.TransportLayer().Pool(network)
	if pool == nil {
		return
	}
	for _, a := range []string{c.RemoteAddr().String(), c.LocalAddr().String()} {
		if x := pool.Get(a); x != nil {
			same := x == sip.Connection(c)
			x.TryClose()
			if same {
				pool.Delete(a)
			}
		}
	}
}

// fin half-closes conn: our FIN goes out (a TLS close_notify first), reading goes on.
func fin(conn net.Conn) {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		return
	}
	conn.Close()
}

// close ends every connection in order when the Phone closes, before sipgo's hard close:
// each leaves sipgo's pool, gets our FIN, and is closed once its reader has seen the peer's
// FIN (or after tcpCloseWait), so that sipgo's count ends at 0, never below.
func (tc *tcpConns) close() {
	tc.mu.Lock()
	if tc.closed {
		tc.mu.Unlock()
		return
	}
	tc.closed = true
	dialed := tc.conns
	tc.conns = map[*sip.TCPConnection]*tcpUse{}
	accepted := tc.accepted
	tc.accepted = map[*acceptedConn]struct{}{}
	tc.mu.Unlock()
	close(tc.stop)

	deadline := time.Now().Add(tcpCloseWait)
	for c, u := range dialed {
		tc.unpool(u.network, c)
		fin(c.Conn)
	}
	for a := range accepted {
		for _, network := range []string{"tcp", "tls"} {
			if c := tc.lookup(network, a.RemoteAddr().String()); c != nil && c.Conn == net.Conn(a) {
				// A server transaction that answered over it (an OPTIONS, say) releases its
				// reference when it terminates, in a goroutine of its own: wait for that, or
				// the release after the reader's would take sipgo's count below 0.
				for c.Ref(0) > idleRefs() && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				tc.unpool(network, c)
			}
		}
		fin(a)
	}
	for c := range dialed {
		// sipgo's reader sets the count to 0 when it has seen the peer's FIN and closed.
		for c.Ref(0) > 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		c.Conn.Close()
	}
	for a := range accepted {
		select {
		case <-a.done:
		case <-time.After(time.Until(deadline)):
		}
		a.Close()
	}
}

// listener records the connections peers open to us, for close.
func (tc *tcpConns) listener(l net.Listener) net.Listener { return &trackingListener{l, tc} }

type trackingListener struct {
	net.Listener
	tc *tcpConns
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	a := &acceptedConn{Conn: c, tc: l.tc, done: make(chan struct{})}
	l.tc.mu.Lock()
	if l.tc.closed {
		l.tc.mu.Unlock()
		c.Close()
		return nil, net.ErrClosed
	}
	l.tc.accepted[a] = struct{}{}
	l.tc.mu.Unlock()
	return a, nil
}

// acceptedConn is a connection a peer opened to us; done is closed when sipgo (or close)
// closes it.
type acceptedConn struct {
	net.Conn
	tc   *tcpConns
	once sync.Once
	done chan struct{}
}

func (a *acceptedConn) Close() error {
	err := a.Conn.Close()
	a.once.Do(func() {
		a.tc.mu.Lock()
		delete(a.tc.accepted, a)
		a.tc.mu.Unlock()
		close(a.done)
	})
	return err
}

// CloseWrite lets fin half-close the connection underneath.
func (a *acceptedConn) CloseWrite() error {
	if cw, ok := a.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return a.Conn.Close()
}
