package media

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/imsphone/imsphone/media/audio"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

// timedConn records each datagram a stream writes with the (injected) clock's time of writing.
type timedConn struct {
	*captureConn
	clk *fakeClock
	mu  sync.Mutex
	at  []time.Time
}

func (c *timedConn) WriteToUDPAddrPort(b []byte, a netip.AddrPort) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = append(c.at, c.clk.Now())
	return c.captureConn.WriteToUDPAddrPort(b, a)
}

// fireNext moves time to the earliest waiter's wake-up, like step without waiting for the
// stream to sleep first (for the Stop phase, where the loop may already have ended).
func (c *fakeClock) fireNext() {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first time.Time
	for _, w := range c.waiters {
		if first.IsZero() || w.at.Before(first) {
			first = w.at
		}
	}
	if first.After(c.now) {
		c.now = first
	}
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

// drive moves the fake clock through n ticks and then waits until the tick loop sleeps again,
// so that a SetSending call after drive takes effect from the next tick exactly.
func drive(t *testing.T, clk *fakeClock, n int) {
	t.Helper()
	for range n {
		clk.step(t, 0)
	}
	select {
	case <-clk.waiting:
		clk.waiting <- struct{}{} // leave the signal for the next step
	case <-time.After(5 * time.Second):
		t.Fatal("stream never waited on the clock")
	}
}

// Hold through the stream's own send path and the receiver's input path, on an injected clock:
// while sending is off no RTP goes out but RTCP does; on resume the sequence number continues
// with no gap, the timestamp has advanced by exactly the paused time (RFC 3550 §5.1) and the
// marker is set, and the receiver counts no loss and no jitter across the pause.
func TestSetSendingPauseResume(t *testing.T) {
	const before, paused, after = 50, 150, 50
	key := testParams(t, srtp.ProtectionProfileAes128CmHmacSha1_80, 0x33, nil, 0)
	t0 := time.Unix(2_000_000, 0)
	clk := newFakeClock(t0)
	conn := &timedConn{captureConn: newCaptureConn(), clk: clk}
	s, err := New(Config{Conn: conn, Remote: net.UDPAddrFromAddrPort(fuzzPeer), RTCPMux: true, Codec: pcmu(t),
		SSRC: 0x51, InitialSeq: 65500, InitialTimestamp: 1000, Clock: clk, Source: audio.Tone(1000, 0.5, 8000),
		Send: &key, RTCPMinInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Sending() {
		t.Fatal("a new stream must send")
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	drive(t, clk, before)
	s.SetSending(false)
	if s.Sending() {
		t.Fatal("Sending() after SetSending(false)")
	}
	pauseAt := clk.Now()
	drive(t, clk, paused)
	s.SetSending(true)
	resumeAt := clk.Now()
	drive(t, clk, after)
	go func() {
		for {
			select {
			case <-clk.waiting:
				clk.fireNext()
			case <-conn.closed:
				return
			}
		}
	}()
	s.Stop()

	rx := fuzzStream(t, &key)
	rx.t0 = t0 // as Start would set it: the receiver's arrival clock (RFC 3550 A.8)
	conn.mu.Lock()
	pkts, at := conn.take(), conn.at
	conn.mu.Unlock()
	var rtpN, rtcpInPause, jumps int
	var lastSeq uint16
	var lastTS uint32
	for i, p := range pkts {
		if isRTCP(p) {
			if at[i].After(pauseAt) && at[i].Before(resumeAt) {
				rtcpInPause++
			}
			continue
		}
		if at[i].After(pauseAt) && at[i].Before(resumeAt) {
			t.Fatalf("RTP packet sent at %v, during the pause", at[i].Sub(t0))
		}
		seq, ts, marker := binary.BigEndian.Uint16(p[2:]), binary.BigEndian.Uint32(p[4:]), p[1]&0x80 != 0
		if rtpN > 0 {
			if seq != lastSeq+1 {
				t.Fatalf("packet %d: sequence %d after %d", rtpN, seq, lastSeq)
			}
			switch d := ts - lastTS; d {
			case 160:
				if marker {
					t.Fatalf("packet %d: marker without a pause", rtpN)
				}
			case 160 * (paused + 1):
				jumps++
				if !marker {
					t.Fatalf("packet %d: first packet after the pause without marker", rtpN)
				}
			default:
				t.Fatalf("packet %d: timestamp advanced by %d", rtpN, d)
			}
		}
		lastSeq, lastTS = seq, ts
		rtpN++
		buf := append([]byte(nil), p...)
		rx.handle(buf, fuzzPeer, false, at[i])
	}
	if jumps != 1 {
		t.Fatalf("%d timestamp jumps, want 1", jumps)
	}
	if rtpN < before+after {
		t.Fatalf("%d RTP packets, want at least %d", rtpN, before+after)
	}
	if rtcpInPause < 1 {
		t.Fatal("no RTCP during the pause")
	}
	st := rx.Stats()
	if st.PacketsReceived != uint64(rtpN) || st.PacketsLost != 0 || st.PacketsExpected != uint64(rtpN) {
		t.Fatalf("receiver: %d received, %d expected, %d lost; want %d, %d, 0", st.PacketsReceived, st.PacketsExpected, st.PacketsLost, rtpN, rtpN)
	}
	if st.Jitter != 0 || st.SRTPAuthFailures+st.SRTPReplayDrops != 0 {
		t.Fatalf("receiver: jitter %v, auth failures %d, replay drops %d", st.Jitter, st.SRTPAuthFailures, st.SRTPReplayDrops)
	}
	t.Logf("%d RTP packets, %d RTCP during %d paused ticks", rtpN, rtcpInPause, paused)
}

// Hold over real UDP loopback: while A does not send, B receives no RTP from A but A still
// receives from B and both keep exchanging RTCP; after resume B has lost nothing.
func TestSetSendingLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	p := newPair(t, srtp.ProtectionProfileAeadAes128Gcm, nil, nil, nil)
	p.start(t)
	waitPlayed(8000/2, 10*time.Second, p.sinkA, p.sinkB) // half a second each way
	p.a.SetSending(false)
	time.Sleep(100 * time.Millisecond) // packets in flight land
	b0, a0, rtcp0 := p.b.Stats(), p.a.Stats(), p.b.Stats().RTCPReceived
	time.Sleep(1200 * time.Millisecond)
	b1, a1 := p.b.Stats(), p.a.Stats()
	if b1.PacketsReceived != b0.PacketsReceived {
		t.Fatalf("B received %d RTP packets from A on hold", b1.PacketsReceived-b0.PacketsReceived)
	}
	if a1.PacketsReceived <= a0.PacketsReceived {
		t.Fatal("A stopped receiving while only its sending was off")
	}
	if b1.RTCPReceived <= rtcp0 {
		t.Fatal("no RTCP from A on hold")
	}
	p.a.SetSending(true)
	deadline := time.Now().Add(10 * time.Second)
	for p.b.Stats().PacketsReceived < b1.PacketsReceived+25 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	b2 := p.b.Stats()
	if b2.PacketsReceived < b1.PacketsReceived+25 {
		t.Fatalf("B received %d packets after resume", b2.PacketsReceived-b1.PacketsReceived)
	}
	if b2.PacketsLost != 0 || b2.SRTPAuthFailures != 0 || b2.SRTPReplayDrops != 0 {
		t.Fatalf("B after resume: lost %d, auth failures %d, replay drops %d", b2.PacketsLost, b2.SRTPAuthFailures, b2.SRTPReplayDrops)
	}
	t.Logf("B: %d received, %d lost, jitter %v", b2.PacketsReceived, b2.PacketsLost, b2.Jitter)
}

// marshalRTP writes the RFC 3550 §5.1 fixed header itself; pion's rtp.Packet.Marshal is the
// independent computation it must agree with, field by field, for any payload type, marker,
// sequence number (across the wrap), timestamp and SSRC.
func TestMarshalRTPMatchesPion(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	s := fuzzStream(t, nil)
	s.seq = 65530
	for i := 0; i < 2000; i++ {
		pt := uint8(rng.IntN(128))
		marker := rng.IntN(2) == 1
		ts := rng.Uint32()
		s.cfg.SSRC = rng.Uint32()
		payload := make([]byte, rng.IntN(200))
		for j := range payload {
			payload[j] = byte(rng.Uint32())
		}
		seq := s.seq
		got, err := s.marshalRTP(pt, ts, marker, payload)
		if err != nil {
			t.Fatal(err)
		}
		want, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, Marker: marker, SequenceNumber: seq,
			Timestamp: ts, SSRC: s.cfg.SSRC}, Payload: payload}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("packet %d: ours %x, pion %x", i, got, want)
		}
		if s.seq != seq+1 {
			t.Fatalf("sequence number %d after %d", s.seq, seq)
		}
	}
	if _, err := s.marshalRTP(128, 0, false, nil); err == nil {
		t.Fatal("payload type 128 accepted")
	}
	if _, err := s.marshalRTP(0, 0, false, make([]byte, maxDatagram)); err == nil {
		t.Fatal("oversized payload accepted")
	}
}
