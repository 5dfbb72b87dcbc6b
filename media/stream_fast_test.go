package media

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/imsphone/imsphone/media/audio"
	"github.com/pion/rtcp"
	"github.com/pion/srtp/v2"
)

// captureConn records what a stream writes; reads block until Close.
type captureConn struct {
	nopConn
	mu     sync.Mutex
	pkts   [][]byte
	closed chan struct{}
	once   sync.Once
}

func newCaptureConn() *captureConn { return &captureConn{closed: make(chan struct{})} }

func (c *captureConn) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) {
	c.mu.Lock()
	c.pkts = append(c.pkts, append([]byte(nil), b...))
	c.mu.Unlock()
	return len(b), nil
}
func (c *captureConn) ReadFrom([]byte) (int, net.Addr, error) {
	<-c.closed
	return 0, nil, net.ErrClosed
}
func (c *captureConn) Close() error { c.once.Do(func() { close(c.closed) }); return nil }
func (c *captureConn) take() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pkts
	c.pkts = nil
	return p
}

// ROC continuity through the stream's own send and receive paths, without real time: A starts
// at sequence 65000 with ROC 7 preset on both sides, 1000 packets cross the 16-bit wrap, and B
// authenticates every one (RFC 3711 §3.3.1).
func TestStreamROCWrap(t *testing.T) {
	for _, prof := range []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAeadAes128Gcm} {
		t.Run(ProfileName(prof), func(t *testing.T) {
			key := testParams(t, prof, 3, []byte{5}, 7)
			capA := newCaptureConn()
			a, err := New(Config{Conn: capA, Remote: net.UDPAddrFromAddrPort(fuzzPeer), RTCPMux: true, Codec: pcmu(t),
				SSRC: 0xA, InitialSeq: 65000, Send: &key, Source: audio.Tone(1000, 0.5, 8000)})
			if err != nil {
				t.Fatal(err)
			}
			b, err := New(Config{Conn: nopConn{}, Remote: net.UDPAddrFromAddrPort(fuzzPeer), RTCPMux: true, Codec: pcmu(t),
				SSRC: 0xB, Recv: &key})
			if err != nil {
				t.Fatal(err)
			}
			now := time.Unix(0, 0)
			for i := 0; i < 1000; i++ {
				plain, n, err := a.nextPacket()
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := a.transmit(now, plain, n); err != nil {
					t.Fatal(err)
				}
				for _, p := range capA.take() {
					now = now.Add(20 * time.Millisecond)
					b.handle(p, fuzzPeer, false, now)
				}
			}
			st := b.Stats()
			if st.PacketsReceived != 1000 || st.PacketsLost != 0 || st.SRTPAuthFailures != 0 || st.SRTPReplayDrops != 0 {
				t.Fatalf("across the wrap: %v", st)
			}
			if st.HighestSeq != 65000+999 {
				t.Fatalf("extended highest seq %#x", st.HighestSeq)
			}
			if roc, _ := b.rx.ctx.ROC(0xA); roc != 8 {
				t.Fatalf("receiver ROC %d, want 8", roc)
			}
			if roc, _ := a.tx.ctx.ROC(0xA); roc != 8 {
				t.Fatalf("sender ROC %d, want 8", roc)
			}
		})
	}
}

// Forged clear-text SR and BYE on a protected stream: dropped, counted, never acted on; an
// authentic BYE is reported. A packet from a foreign SSRC after latching is dropped before it
// reaches the SRTP context.
func TestForgedRTCPIgnored(t *testing.T) {
	key := testParams(t, srtp.ProtectionProfileAes128CmHmacSha1_80, 8, nil, 0)
	peer, _ := newTxCrypto(&key, 0xFEED)
	s, err := New(Config{Conn: nopConn{}, Remote: net.UDPAddrFromAddrPort(fuzzPeer), RTCPMux: true, Codec: pcmu(t),
		SSRC: 1, RemoteSSRC: 0xFEED, Send: &key, Recv: &key})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(100, 0)
	// One authentic RTP packet latches the peer.
	w, _ := peer.protectTest(nil, rtpPacket(t, 0xFEED, 1, make([]byte, 160)))
	s.handle(w, fuzzPeer, false, now)
	if e := <-s.Events(); e.Kind != EventLatched || e.Addr != fuzzPeer || e.SSRC != 0xFEED {
		t.Fatalf("latch event %+v", e)
	}
	sr := rtcpPacket(t, &rtcp.SenderReport{SSRC: 0xFEED, NTPTime: 0x1234567800000000,
		Reports: []rtcp.ReceptionReport{{SSRC: 1, LastSenderReport: 1, Delay: 1}}})
	bye := rtcpPacket(t, &rtcp.ReceiverReport{SSRC: 0xFEED}, &rtcp.Goodbye{Sources: []uint32{0xFEED}})
	for _, f := range [][]byte{sr, bye, append(bytes10(), bye...)} {
		s.handle(f, fuzzPeer, false, now)
	}
	st := s.Stats()
	if st.SRTCPAuthFailures+st.SRTCPReplayDrops+st.Malformed != 3 || st.RTCPReceived != 0 || st.RTTValid || s.lsr != 0 {
		t.Fatalf("forged RTCP had an effect: %v lsr=%x", st, s.lsr)
	}
	select {
	case e := <-s.Events():
		t.Fatalf("event from forged RTCP: %+v", e)
	default:
	}
	// From another source address, even an authentic BYE is not accepted after latching.
	realBye, _ := peer.protectRTCP(nil, bye)
	s.handle(bytesClone(realBye), netip.MustParseAddrPort("127.0.0.1:6666"), false, now)
	if st := s.Stats(); st.Foreign != 1 {
		t.Fatalf("foreign source: %v", st)
	}
	// A foreign SSRC on the right address never reaches the SRTP context.
	other, _ := newTxCrypto(&key, 0xBAD)
	w, _ = other.protectTest(nil, rtpPacket(t, 0xBAD, 1, make([]byte, 160)))
	s.handle(w, fuzzPeer, false, now)
	if st := s.Stats(); st.Foreign != 2 || len(s.rx.ssrcs) != 1 {
		t.Fatalf("foreign SSRC: %v, %d SSRC states", st, len(s.rx.ssrcs))
	}
	s.handle(realBye, fuzzPeer, false, now)
	if e := <-s.Events(); e.Kind != EventBye || e.SSRC != 0xFEED {
		t.Fatalf("authentic BYE: %+v", e)
	}
}

func bytes10() []byte            { return make([]byte, 10) }
func bytesClone(b []byte) []byte { return append([]byte(nil), b...) }

// fakeClock is a Clock the test moves by hand; After registers a waiter the test can see.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	waiting chan struct{}
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t0 time.Time) *fakeClock {
	return &fakeClock{now: t0, waiting: make(chan struct{}, 1)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	c.mu.Unlock()
	select {
	case c.waiting <- struct{}{}:
	default:
	}
	return ch
}

// step waits until the stream sleeps, then moves time to its wake-up plus oversleep.
func (c *fakeClock) step(t *testing.T, oversleep time.Duration) {
	t.Helper()
	select {
	case <-c.waiting:
	case <-time.After(5 * time.Second):
		t.Fatal("stream never waited on the clock")
	}
	c.advance(oversleep)
}

// advance moves time to the earliest wake-up plus oversleep and fires the waiters due.
func (c *fakeClock) advance(oversleep time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waiters) == 0 {
		return // a stale wake-up signal: nobody sleeps
	}
	var first time.Time
	for _, w := range c.waiters {
		if first.IsZero() || w.at.Before(first) {
			first = w.at
		}
	}
	c.now = first.Add(oversleep)
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

// The stream's own tick loop on an injected clock (no sleeping): over a simulated minute with
// up to 3 ms oversleep per wake-up it sends exactly one packet per 20 ms, RTP timestamps advance
// by 160 per packet, and RTCP reports go out at the RFC 3550 interval.
func TestStreamPacingInjectedClock(t *testing.T) {
	clk := newFakeClock(time.Unix(1_000_000, 0))
	conn := newCaptureConn()
	s, err := New(Config{Conn: conn, Remote: net.UDPAddrFromAddrPort(fuzzPeer), RTCPMux: true, Codec: pcmu(t),
		SSRC: 0x51, InitialTimestamp: 1000, Clock: clk, Source: audio.Silence(), RTCPMinInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	const ticks = 3000 // one minute
	for i := 0; clk.Now().Sub(time.Unix(1_000_000, 0)) < ticks*ptime; i++ {
		clk.step(t, time.Duration(i%4)*time.Millisecond)
	}
	clk.step(t, 0) // let the last tick finish
	var rtpN, rtcpN int
	for _, p := range conn.take() {
		if isRTCP(p) {
			rtcpN++
			continue
		}
		if ts := binary.BigEndian.Uint32(p[4:]); ts != 1000+uint32(rtpN)*160 {
			t.Fatalf("packet %d: timestamp %d, want %d", rtpN, ts, 1000+rtpN*160)
		}
		rtpN++
	}
	if rtpN < ticks || rtpN > ticks+2 {
		t.Fatalf("%d RTP packets in %d ticks", rtpN, ticks)
	}
	// With a 1 s minimum the A.7 interval is 1 s × U[0.5, 1.5] / (e − 3/2), 0.82 s on average:
	// about 73 reports in a minute.
	if rtcpN < 55 || rtcpN > 95 {
		t.Fatalf("%d RTCP packets in a simulated minute", rtcpN)
	}
	go func() {
		for {
			select {
			case <-clk.waiting:
				// Not step: it would wait for a second signal (and fail t after the test
				// ended once the stream has stopped).
				clk.advance(0)
			case <-conn.closed:
				return
			}
		}
	}()
	s.Stop()
	if st := s.Stats(); st.SkippedTicks != 0 {
		t.Fatalf("skipped %d ticks", st.SkippedTicks)
	}
}

// Stop without Start, twice, closes the Events channel; Start after Stop fails; a started
// stream sends its BYE once however often Stop is called.
func TestStopLifecycle(t *testing.T) {
	s := fuzzStream(t, nil)
	s.Stop()
	s.Stop()
	if _, ok := <-s.Events(); ok {
		t.Fatal("events open after Stop")
	}
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("Start after Stop succeeded")
	}
	conn := newCaptureConn()
	s2, err := New(Config{Conn: conn, Remote: net.UDPAddrFromAddrPort(fuzzPeer), RTCPMux: true, Codec: pcmu(t), SSRC: 9})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	s2.Stop()
	s2.Stop()
	byes := 0
	for _, p := range conn.take() {
		if !isRTCP(p) {
			continue
		}
		pkts, err := rtcp.Unmarshal(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, pk := range pkts {
			if g, ok := pk.(*rtcp.Goodbye); ok && len(g.Sources) == 1 && g.Sources[0] == 9 {
				byes++
			}
		}
	}
	if byes != 1 {
		t.Fatalf("%d BYE packets", byes)
	}
}
