package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// logRecords is a slog.Handler keeping every record (message and attributes), for tests that
// check what sipgo logged.
type logRecords struct {
	mu      sync.Mutex
	recs    []logRec
	changed chan struct{}
}

type logRec struct {
	msg   string
	attrs map[string]string
}

func newLogRecords() *logRecords { return &logRecords{changed: make(chan struct{}, 1)} }

func (h *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecords) WithGroup(string) slog.Handler            { return h }
func (h *logRecords) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		slog.Default().Handler().Handle(ctx, r)
	}
	if !strings.HasPrefix(r.Message, "TCP ") && r.Message != "connection was closed" {
		return nil
	}
	rec := logRec{msg: r.Message, attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool { rec.attrs[a.Key] = a.Value.String(); return true })
	h.mu.Lock()
	h.recs = append(h.recs, rec)
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default:
	}
	return nil
}

// waitRecord waits for a record after the first from index on that match says yes to, and
// returns its index.
func (h *logRecords) waitRecord(t *testing.T, from int, what string, match func(logRec) bool) int {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		for i := from; i < len(h.recs); i++ {
			if match(h.recs[i]) {
				h.mu.Unlock()
				return i
			}
		}
		h.mu.Unlock()
		select {
		case <-h.changed:
		case <-deadline:
			t.Fatalf("no log record: %s", what)
		}
	}
}

func (h *logRecords) find(from int, msg string) []logRec {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []logRec
	for _, r := range h.recs[from:] {
		if r.msg == msg {
			out = append(out, r)
		}
	}
	return out
}

// tcpLog records sipgo's reference counting of TCP connections (TCPConnection logs it through
// sipgo's package logger) and the reader's end ("connection was closed", through the Phone's
// logger of the tests that pass it). sipgo's package logger is a plain variable
// (sip.SetDefaultLogger is not synchronized, and readers of earlier tests' sockets may still
// log), so it is set once, at package initialization, before any test runs.
var tcpLog = newLogRecords()

func init() { sip.SetDefaultLogger(slog.New(tcpLog)) }

// mark is where a test's records begin.
func (h *logRecords) mark() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.recs)
}

// tcpPeer is a hand-made SIP UAS on a loopback TCP listener: it answers an INVITE with 200 on
// the connection the INVITE came over (RFC 3261 §18.2.2), its Contact naming transport=tcp as
// baresip's does, so our ACK, re-INVITE and BYE come back over the same connection.
type tcpPeer struct {
	l    net.Listener
	conn net.Conn
	br   *bufio.Reader
}

func newTCPPeer(t *testing.T) *tcpPeer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &tcpPeer{l: l}
}

func (p *tcpPeer) port() int { return p.l.Addr().(*net.TCPAddr).Port }

func (p *tcpPeer) accept(t *testing.T) {
	t.Helper()
	p.l.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := p.l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p.conn, p.br = c, bufio.NewReader(c)
}

// read reads one message, framed by Content-Length (RFC 3261 §18.3).
func (p *tcpPeer) read(t *testing.T) sip.Message {
	t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var head strings.Builder
	clen := 0
	for {
		line, err := p.br.ReadString('\n')
		if err != nil {
			t.Fatalf("peer read: %v (after %q)", err, head.String())
		}
		if line == "\r\n" && head.Len() == 0 {
			continue // keep-alive CRLF (RFC 5626 §3.5.1)
		}
		head.WriteString(line)
		if k, v, ok := strings.Cut(line, ":"); ok && (strings.EqualFold(strings.TrimSpace(k), "Content-Length") || strings.TrimSpace(k) == "l") {
			clen, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, clen)
	if _, err := io.ReadFull(p.br, body); err != nil {
		t.Fatalf("peer read body: %v", err)
	}
	m, err := sip.ParseMessage(append([]byte(head.String()), body...))
	if err != nil {
		t.Fatalf("peer parse: %v", err)
	}
	return m
}

func (p *tcpPeer) readRequest(t *testing.T, method sip.RequestMethod) *sip.Request {
	t.Helper()
	for {
		m := p.read(t)
		req, ok := m.(*sip.Request)
		if ok && req.Method == sip.ACK && method != sip.ACK {
			continue // the ACK of a retransmitted 2xx (RFC 3261 §13.2.2.4)
		}
		if !ok || req.Method != method {
			t.Fatalf("peer got %.80q, want %s", m.String(), method)
		}
		return req
	}
}

func (p *tcpPeer) write(t *testing.T, m sip.Message) {
	t.Helper()
	if _, err := p.conn.Write([]byte(m.String())); err != nil {
		t.Fatalf("peer write: %v", err)
	}
}

// ok is the 200 to req, with an SDP answer for an INVITE.
func (p *tcpPeer) ok(req *sip.Request, rtpPort int) *sip.Response {
	var body []byte
	if req.Method == sip.INVITE {
		body = []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
			"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", rtpPort))
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	if !res.To().Params.Has("tag") {
		res.To().Params.Add("tag", "peer")
	}
	if req.Method == sip.INVITE {
		u := sip.Uri{Scheme: "sip", User: "bob", Host: "127.0.0.1", Port: p.port(), UriParams: sip.NewParams()}
		u.UriParams.Add("transport", "tcp")
		res.AppendHeader(&sip.ContactHeader{Address: u})
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	return res
}

// waitFIN waits for the end of the connection and says whether it ended in order (EOF: the
// other side's FIN), failing the test on a reset.
func (p *tcpPeer) waitFIN(t *testing.T, within time.Duration) {
	t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(within))
	b := make([]byte, 4096)
	for {
		n, err := p.br.Read(b)
		if err == nil {
			t.Fatalf("peer got %q while waiting for the FIN", b[:n])
		}
		var ne net.Error
		switch {
		case errors.Is(err, io.EOF):
			return
		case errors.Is(err, syscall.ECONNRESET):
			t.Fatalf("connection reset instead of closed in order: %v", err)
		case errors.As(err, &ne) && ne.Timeout():
			t.Fatalf("connection still open %v after it stopped being used", within)
		default:
			t.Fatalf("peer read: %v", err)
		}
	}
}

// longUser makes the Phone's INVITE larger than 1300 octets (it names the user in From,
// Contact and the SDP o= line), so that it goes by TCP (RFC 3261 §18.1.1).
var longUser = "alice-" + strings.Repeat("0123456789", 40)

// RFC 3261 §18.1.1, §18.2.2, §13.3.1.4; RFC 793 §3.5: the TCP connection a Phone on UDP opens
// for a large INVITE carries the peer's responses and our in-dialog requests for the life of
// the call, is closed by our FIN once the call is over, no transaction uses it and the idle
// wait (RFC 3261 §18) has passed (not left open until the Phone closes), and sipgo's reference
// count on it ends at 0, never below.
func TestLargeINVITETCPConnectionClosedAfterCall(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	lg := slog.New(tcpLog)
	mark := tcpLog.mark()
	peer := newTCPPeer(t)
	rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtpConn.Close()
	a := newPhoneCfg(t, Config{User: longUser, Logger: lg})
	// The idle wait (Config.TCPIdle, RFC 3261 §18) ends when the test says so.
	idleOver := make(chan time.Time)
	a.after = func(d time.Duration) <-chan time.Time {
		if d == a.cfg.TCPIdle {
			return idleOver
		}
		return time.After(d)
	}
	ctx := context.Background()
	c, err := a.Dial(ctx, fmt.Sprintf("sip:bob@127.0.0.1:%d", peer.port()), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	peer.accept(t)
	inv := peer.readRequest(t, sip.INVITE)
	if v := inv.Via(); v == nil || v.Transport != "TCP" || len(inv.String()) <= udpRequestLimit {
		t.Fatalf("INVITE of %d octets with Via %v", len(inv.String()), inv.Via())
	}
	ok := peer.ok(inv, rtpConn.LocalAddr().(*net.UDPAddr).Port)
	peer.write(t, ok)
	peer.readRequest(t, sip.ACK)
	waitFor(t, c, EventAnswered, 5*time.Second)

	// The call is up: a hold (re-INVITE) goes over the same connection, and its answer too.
	holdErr := make(chan error, 1)
	go func() { holdErr <- c.Hold(ctx) }()
	reinv := peer.readRequest(t, sip.INVITE)
	peer.write(t, peer.ok(reinv, rtpConn.LocalAddr().(*net.UDPAddr).Port))
	peer.readRequest(t, sip.ACK)
	if err := <-holdErr; err != nil {
		t.Fatal(err)
	}
	// §13.3.1.4: a UAS retransmits its 2xx until the ACK arrives; one arriving late must
	// find the connection still open (a closed socket would answer it with a reset), and is
	// ACKed again over it (§13.2.2.4).
	peer.write(t, ok)
	if ack := peer.readRequest(t, sip.ACK); ack.CSeq().SeqNo != inv.CSeq().SeqNo {
		t.Fatalf("ACK of the retransmitted 2xx has CSeq %d, INVITE %d", ack.CSeq().SeqNo, inv.CSeq().SeqNo)
	}

	hangErr := make(chan error, 1)
	go func() { hangErr <- c.Hangup(ctx) }()
	bye := peer.readRequest(t, sip.BYE)
	peer.write(t, peer.ok(bye, 0))
	if err := <-hangErr; err != nil {
		t.Fatal(err)
	}
	// The call is over and nothing uses the connection: it stays open for the idle wait
	// (nothing arrives, in particular no FIN)...
	peer.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	var ne net.Error
	if n, err := peer.br.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("connection before the idle wait ended: read %d, %v", n, err)
	}
	select {
	case idleOver <- time.Now():
	case <-time.After(10 * time.Second):
		t.Fatal("no idle wait started after the call")
	}
	// ... and then closes with our FIN, not a reset, and not only when the Phone closes.
	peer.waitFIN(t, 5*time.Second)
	peer.conn.Close()

	// sipgo's reader sees our FIN answered and releases its reference: the count goes from
	// the idle references to 0 (transport_tcp.go readConnection → CloseAndDelete).
	local := inv.Via().Host + ":" + strconv.Itoa(inv.Via().Port)
	i := tcpLog.waitRecord(t, mark, "reader of "+local+" ended", func(r logRec) bool {
		return r.msg == "connection was closed"
	})
	tcpLog.waitRecord(t, i, "reader's reference released", func(r logRec) bool {
		return r.msg == "TCP reference decrement" && r.attrs["ip"] == local
	})
	a.Close()
	if neg := tcpLog.find(mark, "TCP ref went negative"); len(neg) > 0 {
		t.Fatalf("sipgo's reference count went negative: %v", neg)
	}
	for _, r := range tcpLog.find(mark, "TCP reference decrement") {
		if n, _ := strconv.Atoi(r.attrs["ref"]); n < 0 {
			t.Fatalf("sipgo's reference count went to %d", n)
		}
	}
}

// When the Phone closes, a connection a peer opened to us (here for an OPTIONS) is closed in
// order, our FIN first, before sipgo's hard close, whose reference count would otherwise go
// to -1 ("TCP ref went negative": ConnectionPool.Clear sets it to 0, then the reader's
// CloseAndDelete releases its reference).
func TestPhoneCloseAcceptedTCPInOrder(t *testing.T) {
	lg := slog.New(tcpLog)
	mark := tcpLog.mark()
	a := newPhoneCfg(t, Config{User: "alice", Logger: lg})
	conn, err := net.Dial("tcp", a.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	peer := &tcpPeer{conn: conn, br: bufio.NewReader(conn)}
	la := conn.LocalAddr().(*net.TCPAddr)
	opt := fmt.Sprintf("OPTIONS sip:alice@%s SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:%d;branch=z9hG4bK-opt1\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:peer@127.0.0.1>;tag=p1\r\nTo: <sip:alice@%s>\r\nCall-ID: opt-1\r\n"+
		"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", a.Addr(), la.Port, a.Addr())
	if _, err := conn.Write([]byte(opt)); err != nil {
		t.Fatal(err)
	}
	res, ok := peer.read(t).(*sip.Response)
	if !ok || res.StatusCode != 200 {
		t.Fatalf("OPTIONS answered %v", res)
	}
	closed := make(chan struct{})
	go func() { a.Close(); close(closed) }()
	peer.waitFIN(t, 5*time.Second)
	conn.Close()
	<-closed
	local := conn.RemoteAddr().String()
	i := tcpLog.waitRecord(t, mark, "reader of "+local+" ended", func(r logRec) bool {
		return r.msg == "connection was closed"
	})
	tcpLog.waitRecord(t, i, "reader's reference released", func(r logRec) bool {
		return r.msg == "TCP reference decrement" && r.attrs["dst"] == la.String()
	})
	// Only this connection's records: sockets of earlier tests (the full suite runs real-time
	// calls before this test) may still be closing and log about theirs.
	for _, r := range tcpLog.find(mark, "TCP ref went negative") {
		if r.attrs["dst"] == la.String() || r.attrs["ip"] == la.String() {
			t.Fatalf("sipgo's reference count went negative on %s: %v", local, r)
		}
	}
}

// A Phone on UDP calling a URI whose transport parameter names TCP (RFC 3263 §4.1) opens a
// connection of its own from an ephemeral port; sipgo would bind it to the Phone's UDP
// address, whose port the Phone's TCP listener holds ("bind: address already in use").
func TestUDPPhoneCallsTransportTCPURI(t *testing.T) {
	peer := newTCPPeer(t)
	a := newPhoneCfg(t, Config{User: "alice"})
	c, err := a.Dial(context.Background(), fmt.Sprintf("sip:bob@127.0.0.1:%d;transport=tcp", peer.port()), CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	peer.accept(t)
	inv := peer.readRequest(t, sip.INVITE)
	if v := inv.Via(); v == nil || v.Transport != "TCP" || v.Port == int(a.Addr().Port()) {
		t.Fatalf("INVITE Via %v", inv.Via())
	}
	peer.write(t, sip.NewResponseFromRequest(inv, 486, "Busy Here", nil))
	peer.readRequest(t, sip.ACK)
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("call not ended by the 486")
	}
	if e := c.Ended(); e.Code != 486 {
		t.Fatalf("ended %v", e)
	}
}
