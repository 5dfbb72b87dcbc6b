package media

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/srtp/v2"
)

type keyedPeer struct {
	t    *testing.T
	tx   *txCrypto
	ssrc uint32
}

func newKeyedPeer(t *testing.T, p SRTPParams, ssrc uint32) *keyedPeer {
	t.Helper()
	tx, err := newTxCrypto(&p, ssrc)
	if err != nil {
		t.Fatal(err)
	}
	return &keyedPeer{t: t, tx: tx, ssrc: ssrc}
}

func (k *keyedPeer) rtp(seq uint16) []byte {
	k.t.Helper()
	w, err := k.tx.protectTest(nil, rtpPacket(k.t, k.ssrc, seq, make([]byte, 160)))
	if err != nil {
		k.t.Fatal(err)
	}
	return w
}

func (k *keyedPeer) sr() []byte {
	k.t.Helper()
	w, err := k.tx.protectRTCP(nil, rtcpPacket(k.t, &rtcp.SenderReport{SSRC: k.ssrc, NTPTime: 0x1234567800000000},
		rtcp.NewCNAMESourceDescription(k.ssrc, "peer")))
	if err != nil {
		k.t.Fatal(err)
	}
	return w
}

// TestReplaceKeysReceiveWindow drives the input path directly (injected arrival times): old
// key accepted before and, reordered, after the first new-key packet; both SRTP and SRTCP;
// rejected once the grace has passed; the suite changes from AES-CM to GCM without MKI.
func TestReplaceKeysReceiveWindow(t *testing.T) {
	k1 := testParams(t, srtp.ProtectionProfileAes128CmHmacSha1_80, 0x10, nil, 0)
	k2 := testParams(t, srtp.ProtectionProfileAeadAes128Gcm, 0x20, nil, 0)
	s := fuzzStream(t, &k1)
	s.SetPreviousGrace(time.Second)
	old, neu := newKeyedPeer(t, k1, 0xABCD), newKeyedPeer(t, k2, 0xABCD)
	now := time.Unix(1000, 0)
	feed := func(b []byte, rtcpPort bool) {
		now = now.Add(20 * time.Millisecond)
		s.handle(b, fuzzPeer, rtcpPort, now)
	}
	for seq := uint16(1); seq <= 5; seq++ {
		feed(old.rtp(seq), false)
	}
	if s.RetirePrevious() {
		t.Fatal("previous context before any ReplaceKeys")
	}
	if err := s.ReplaceKeys(nil, &k2); err != nil {
		t.Fatal(err)
	}
	old7 := old.rtp(6)
	old7b := old.rtp(7)
	feed(old7, false)       // the peer has not switched yet
	feed(old.sr(), false)   // SRTCP under the old key, RTCP-mux
	feed(neu.rtp(8), false) // first under the new key: grace starts
	feed(old7b, false)      // reordered, old key, inside the grace
	feed(old7, false)       // a replay under the previous context
	feed(neu.rtp(9), false)
	feed(neu.sr(), false)
	st := s.Stats()
	if st.PacketsReceived != 9 || st.PacketsLost != 0 || st.SRTPAuthFailures != 0 || st.SRTPReplayDrops != 1 ||
		st.RTCPReceived != 2 || st.SRTCPAuthFailures != 0 {
		t.Fatalf("inside the window: %v", st)
	}
	now = now.Add(time.Second)
	feed(neu.rtp(10), false) // past the grace: previous goes
	feed(old.rtp(11), false)
	feed(old.sr(), false)
	feed(neu.rtp(12), false)
	st = s.Stats()
	if st.PacketsReceived != 11 || st.SRTPAuthFailures != 1 || st.SRTCPAuthFailures != 1 || st.PacketsLost != 1 {
		t.Fatalf("after the window: %v", st)
	}
	if s.RetirePrevious() {
		t.Fatal("previous context still installed after its grace")
	}
}

// TestReplaceKeysNewSource: the peer restarts SSRC and sequence number with its new key; the
// new source is followed, the counts carry over, the old source is foreign afterwards, and a
// forged packet from yet another SSRC neither authenticates nor becomes the source.
func TestReplaceKeysNewSource(t *testing.T) {
	for _, tc := range []struct {
		name    string
		newSSRC uint32
	}{{"new-ssrc", 0xBEEF}, {"same-ssrc-seq-restart", 0xABCD}} {
		t.Run(tc.name, func(t *testing.T) {
			k1 := testParams(t, srtp.ProtectionProfileAes128CmHmacSha1_80, 0x10, nil, 0)
			k2 := testParams(t, srtp.ProtectionProfileAes128CmHmacSha1_32, 0x30, nil, 0)
			s := fuzzStream(t, &k1)
			old, neu := newKeyedPeer(t, k1, 0xABCD), newKeyedPeer(t, k2, tc.newSSRC)
			forger := newKeyedPeer(t, testParams(t, srtp.ProtectionProfileAes128CmHmacSha1_80, 0x66, nil, 0), 0x5555)
			now := time.Unix(1000, 0)
			feed := func(b []byte) {
				now = now.Add(20 * time.Millisecond)
				s.handle(b, fuzzPeer, false, now)
			}
			for seq := uint16(30000); seq < 30010; seq++ {
				if seq != 30004 {
					feed(old.rtp(seq)) // one lost
				}
			}
			if err := s.ReplaceKeys(nil, &k2); err != nil {
				t.Fatal(err)
			}
			feed(forger.rtp(1))
			for seq := uint16(7); seq < 17; seq++ {
				feed(neu.rtp(seq))
			}
			feed(old.rtp(30010))
			st := s.Stats()
			t.Log(st)
			if st.RemoteSSRC != tc.newSSRC || st.PacketsReceived != 19 || st.PacketsLost != 1 || st.PacketsExpected != 20 ||
				st.SRTPAuthFailures != 1 {
				t.Fatalf("new source: %v", st)
			}
			// The forged packet is no source; the old SSRC is foreign once the new one is followed
			// (with the same SSRC its old-key packet still authenticates within the grace).
			wantForeign := uint64(0)
			if tc.newSSRC != 0xABCD {
				wantForeign = 1
			}
			if st.Foreign != wantForeign {
				t.Fatalf("Foreign %d, want %d", st.Foreign, wantForeign)
			}
		})
	}
}

// TestReplaceKeysSend: the send side switches at once to the new context: the next packets
// authenticate only under the new key with the SRTP index continuing (same SEQ, ROC from the
// params) and the SRTCP index restarting at 0.
func TestReplaceKeysSend(t *testing.T) {
	k1 := testParams(t, srtp.ProtectionProfileAes128CmHmacSha1_80, 0x10, nil, 0)
	k2 := testParams(t, srtp.ProtectionProfileAeadAes256Gcm, 0x40, nil, 3)
	tx, err := newTxCrypto(&k1, 0x77)
	if err != nil {
		t.Fatal(err)
	}
	rx1, _ := newRxContext(&k1)
	for seq := uint16(10); seq < 13; seq++ {
		w, _ := tx.protectTest(nil, rtpPacket(t, 0x77, seq, []byte{1, 2, 3}))
		if _, _, err := rx1.unprotectRTP(w); err != nil {
			t.Fatal(err)
		}
	}
	// AES-CM: E flag and 31-bit SRTCP index, then the 10-octet tag (RFC 3711 §3.4).
	var first uint32
	for i := 0; i < 3; i++ {
		rc, _ := tx.protectRTCP(nil, rtcpPacket(t, &rtcp.ReceiverReport{SSRC: 0x77}))
		if i == 0 {
			first = binary.BigEndian.Uint32(rc[len(rc)-14:]) & 0x7fffffff
		}
	}
	if err := tx.replace(k2, 0x77); err != nil {
		t.Fatal(err)
	}
	rx2, _ := newRxContext(&k2)
	w, _ := tx.protectTest(nil, rtpPacket(t, 0x77, 13, []byte{1, 2, 3}))
	if _, _, err := rx1.unprotectRTP(append([]byte(nil), w...)); err == nil {
		t.Fatal("old context accepts a packet sent after the switch")
	}
	if _, _, err := rx2.unprotectRTP(w); err != nil {
		t.Fatalf("new context (ROC 3): %v", err)
	}
	rc, _ := tx.protectRTCP(nil, rtcpPacket(t, &rtcp.ReceiverReport{SSRC: 0x77}))
	// With AEAD (RFC 7714) E flag and index follow the tag; without MKI they end the packet.
	// A fresh context numbers from the start again (pion's first index is 1).
	if idx := binary.BigEndian.Uint32(rc[len(rc)-4:]) & 0x7fffffff; idx != first {
		t.Fatalf("SRTCP index after the switch %d, want %d as in a fresh context", idx, first)
	}
	if _, err := rx2.unprotectRTCP(rc); err != nil {
		t.Fatal(err)
	}
	plain, err := New(Config{Conn: nopConn{}, Remote: net.UDPAddrFromAddrPort(fuzzPeer), RTCPMux: true, Codec: pcmu(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.ReplaceKeys(&k2, nil); err == nil {
		t.Fatal("ReplaceKeys on a plain stream")
	}
	bad := k2
	bad.MasterKey = bad.MasterKey[:3]
	if err := plain.ReplaceKeys(nil, &bad); err == nil {
		t.Fatal("ReplaceKeys with a short key")
	}
	plain.Stop()
}

// TestReplaceKeysMidCall: a re-INVITE with new SDES keys (RFC 4568 §7.1.4) between two streams
// on loopback, without MKI, in both directions. "receiver-first" installs the new receive
// contexts, lets the old-key packets play on for 300 ms, then switches the senders: no packet
// lost or rejected. "sender-first" switches the senders 100 ms before the receivers: the
// packets in between fail authentication and count as lost, nothing else breaks. The tone plays
// on, SRTCP keeps authenticating under the new contexts and the previous ones go after their
// grace.
func TestReplaceKeysMidCall(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	t.Parallel()
	cm := srtp.ProtectionProfileAes128CmHmacSha1_80
	for _, tc := range []struct {
		name          string
		to            srtp.ProtectionProfile
		receiverFirst bool
	}{
		{"receiver-first/AES_CM", cm, true},
		{"receiver-first/AES_CM-to-GCM", srtp.ProtectionProfileAeadAes128Gcm, true},
		{"sender-first/AES_CM", cm, false},
		{"sender-first/AES_CM-to-GCM", srtp.ProtectionProfileAeadAes128Gcm, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPair(t, cm, nil, nil, nil)
			for _, s := range []*Stream{p.a, p.b} {
				s.SetPreviousGrace(300 * time.Millisecond)
			}
			p.start(t)
			waitPlayed(8000, 3*time.Second, p.sinkA, p.sinkB)
			kAB := testParams(t, tc.to, 0x55, nil, 0)
			kBA := testParams(t, tc.to, 0x66, nil, 0)
			recv := func() {
				if err := p.b.ReplaceKeys(nil, &kAB); err != nil {
					t.Error(err)
				}
				if err := p.a.ReplaceKeys(nil, &kBA); err != nil {
					t.Error(err)
				}
			}
			send := func() {
				if err := p.a.ReplaceKeys(&kAB, nil); err != nil {
					t.Error(err)
				}
				if err := p.b.ReplaceKeys(&kBA, nil); err != nil {
					t.Error(err)
				}
			}
			if tc.receiverFirst {
				recv()
				before := p.b.Stats().PacketsReceived
				time.Sleep(300 * time.Millisecond)
				// The peer still sends under the old key: the previous context takes it.
				if st := p.b.Stats(); st.PacketsReceived <= before || st.SRTPAuthFailures != 0 {
					t.Fatalf("old key during the window: %v", st)
				}
				send()
			} else {
				send()
				time.Sleep(100 * time.Millisecond)
				recv()
			}
			rtcpA, rtcpB := p.a.Stats().RTCPReceived, p.b.Stats().RTCPReceived
			waitPlayed(len(p.sinkB.samples())+2*8000, 4*time.Second, p.sinkA, p.sinkB)
			deadline := time.Now().Add(3 * time.Second)
			for time.Now().Before(deadline) && (p.a.Stats().RTCPReceived < rtcpA+2 || p.b.Stats().RTCPReceived < rtcpB+2) {
				time.Sleep(50 * time.Millisecond)
			}
			for _, s := range []*Stream{p.a, p.b} {
				if s.RetirePrevious() {
					t.Error("previous context outlived its grace")
				}
			}
			p.a.Stop()
			p.b.Stop()
			for i, st := range []Stats{p.a.Stats(), p.b.Stats()} {
				t.Log(st)
				r0 := []uint64{rtcpA, rtcpB}[i]
				// Sender first, an RTCP packet sent inside the 100 ms is rejected under the old
				// context: as an auth failure, or as a replay when its new-context SRTCP index is
				// one the old context already saw (pion checks the replay list first).
				rtcpBad := st.SRTCPAuthFailures + st.SRTCPReplayDrops
				if st.RTCPReceived < r0+2 || !st.RTTValid || st.SRTPReplayDrops != 0 ||
					(tc.receiverFirst && rtcpBad != 0) || rtcpBad > 2 {
					t.Errorf("SRTCP after the switch (%d before): %v", r0, st)
				}
				if tc.receiverFirst {
					if st.SRTPAuthFailures != 0 || st.PacketsLost != 0 {
						t.Errorf("receiver first: %v", st)
					}
				} else if st.SRTPAuthFailures == 0 || st.PacketsLost < int64(st.SRTPAuthFailures)-1 {
					// Each rejected packet is a gap in the sequence (one may be counted at the
					// edge of the switch as the last one before Stop).
					t.Errorf("sender first: %v", st)
				}
			}
			checkTone(t, "A→B across key change", p.sinkB.samples(), 20)
			checkTone(t, "B→A across key change", p.sinkA.samples(), 20)
		})
	}
}

// TestSetRemoteRelatches: SetRemote moves the destination and releases the latch; a packet
// authenticated under the previous context from the old address does not latch back, the first
// one under the current context does (symmetric RTP follows the newest key only).
func TestSetRemoteRelatches(t *testing.T) {
	k1 := testParams(t, srtp.ProtectionProfileAes128CmHmacSha1_80, 0x10, nil, 0)
	k2 := testParams(t, srtp.ProtectionProfileAes128CmHmacSha1_80, 0x20, nil, 0)
	s := fuzzStream(t, &k1)
	old, neu := newKeyedPeer(t, k1, 0xABCD), newKeyedPeer(t, k2, 0xABCD)
	now := time.Unix(1000, 0)
	s.handle(old.rtp(1), fuzzPeer, false, now)
	if e := <-s.Events(); e.Kind != EventLatched || e.Addr != fuzzPeer {
		t.Fatalf("first latch %+v", e)
	}
	moved := netip.MustParseAddrPort("127.0.0.1:6000")
	if err := s.SetRemote(net.UDPAddrFromAddrPort(moved), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceKeys(nil, &k2); err != nil {
		t.Fatal(err)
	}
	if got := *s.sendTo.Load(); got != moved {
		t.Fatalf("sending to %v after SetRemote, want %v", got, moved)
	}
	s.handle(old.rtp(2), fuzzPeer, false, now.Add(20*time.Millisecond))
	if got := *s.sendTo.Load(); got != moved || len(s.Events()) != 0 {
		t.Fatalf("a packet under the previous key latched to %v", got)
	}
	s.handle(neu.rtp(3), moved, false, now.Add(40*time.Millisecond))
	if e := <-s.Events(); e.Kind != EventLatched || e.Addr != moved {
		t.Fatalf("relatch %+v", e)
	}
	if st := s.Stats(); st.PacketsReceived != 3 || st.SRTPAuthFailures != 0 {
		t.Fatalf("stats %v", st)
	}
	if err := s.SetRemote(nil, nil); err == nil {
		t.Fatal("SetRemote(nil)")
	}
}
