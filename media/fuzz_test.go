package media

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/srtp/v2"
)

// nopConn is a PacketConn that drops writes and never delivers; the fuzz and benchmark paths
// drive Stream.handle directly.
type nopConn struct{}

func (nopConn) ReadFrom([]byte) (int, net.Addr, error)                     { return 0, nil, net.ErrClosed }
func (nopConn) WriteTo(b []byte, _ net.Addr) (int, error)                  { return len(b), nil }
func (nopConn) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) { return len(b), nil }
func (nopConn) Close() error                                               { return nil }
func (nopConn) LocalAddr() net.Addr                                        { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000} }
func (nopConn) SetDeadline(time.Time) error                                { return nil }
func (nopConn) SetReadDeadline(time.Time) error                            { return nil }
func (nopConn) SetWriteDeadline(time.Time) error                           { return nil }

var fuzzPeer = netip.MustParseAddrPort("127.0.0.1:5000")

func fuzzStream(t testing.TB, params *SRTPParams) *Stream {
	t.Helper()
	s, err := New(Config{Conn: nopConn{}, Remote: net.UDPAddrFromAddrPort(fuzzPeer), RTCPMux: true,
		Codec: pcmu(t), PayloadTypes: PayloadTypes{TelephoneEvent: 101}, SSRC: 1, Send: params, Recv: params})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzReceive feeds arbitrary datagrams to the input path of a stream with SRTP (AES-CM with
// MKI), of one after ReplaceKeys (current and previous context) and of a plain one, on the RTP port (with RTCP-mux) and on a separate RTCP port. Nothing
// may panic and no per-packet state may grow without bound.
func FuzzReceive(f *testing.F) {
	key := testParams(f, srtp.ProtectionProfileAes128CmHmacSha1_80, 4, []byte{1, 2}, 0)
	tx, err := newTxCrypto(&key, 0xABCD)
	if err != nil {
		f.Fatal(err)
	}
	for seq := uint16(0); seq < 3; seq++ {
		plain := rtpPacket(f, 0xABCD, seq, make([]byte, 160))
		f.Add(plain, false)
		w, _ := tx.protectTest(nil, plain)
		f.Add(w, false)
	}
	ev := rtpPacket(f, 0xABCD, 9, []byte{1, 0x80, 0, 160})
	ev[1] = 101
	f.Add(ev, false)
	rr := rtcpPacket(f, &rtcp.SenderReport{SSRC: 0xABCD, Reports: []rtcp.ReceptionReport{{SSRC: 1, LastSenderReport: 5}}},
		rtcp.NewCNAMESourceDescription(0xABCD, "x"), &rtcp.Goodbye{Sources: []uint32{0xABCD}})
	f.Add(rr, true)
	w, _ := tx.protectRTCP(nil, rr)
	f.Add(w, true)
	f.Add([]byte{}, false)
	f.Add([]byte{0x80}, true)
	f.Add([]byte{0x80, 200, 0, 1, 0, 0, 0}, false)

	// A stream after ReplaceKeys (RFC 4568 §7.1.4): current GCM without MKI, previous the
	// AES-CM key above, so every packet that fails current is tried under previous.
	key2 := testParams(f, srtp.ProtectionProfileAeadAes128Gcm, 9, nil, 0)
	tx2, err := newTxCrypto(&key2, 0xABCD)
	if err != nil {
		f.Fatal(err)
	}
	for seq := uint16(3); seq < 5; seq++ {
		w, _ := tx2.protectTest(nil, rtpPacket(f, 0xABCD, seq, make([]byte, 160)))
		f.Add(w, false)
	}
	w2, _ := tx2.protectRTCP(nil, rr)
	f.Add(w2, true)

	plainS := fuzzStream(f, nil)
	srtpS := fuzzStream(f, &key)
	replS := fuzzStream(f, &key)
	if err := replS.ReplaceKeys(nil, &key2); err != nil {
		f.Fatal(err)
	}
	replS.SetPreviousGrace(time.Hour)
	now := time.Unix(1000, 0)
	f.Fuzz(func(t *testing.T, data []byte, rtcpPort bool) {
		for _, s := range []*Stream{plainS, srtpS, replS} {
			b := append([]byte(nil), data...)
			now = now.Add(time.Millisecond)
			s.handle(b, fuzzPeer, rtcpPort, now)
			s.mu.Lock()
			jb := s.jb.Len()
			s.mu.Unlock()
			if jb > 1000 {
				t.Fatalf("jitter buffer holds %d frames", jb)
			}
			if n := len(s.rx.ssrcs); n > maxSSRCStates {
				t.Fatalf("%d SSRC states", n)
			}
			if s.rx.prev != nil && len(s.rx.prev.ssrcs) > maxSSRCStates {
				t.Fatalf("%d SSRC states in the previous context", len(s.rx.prev.ssrcs))
			}
			if len(s.events) > cap(s.events) {
				t.Fatal("events overflow")
			}
			_ = s.Stats().String()
		}
	})
}
