package media

import (
	"context"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/imsphone/imsphone/media/audio"
	"github.com/imsphone/imsphone/media/codec"
	"github.com/imsphone/imsphone/media/mediatest"
	"github.com/pion/rtcp"
	"github.com/pion/srtp/v2"
)

// collectSink keeps everything played, for tone detection.
type collectSink struct {
	mu  sync.Mutex
	pcm []int16
}

func (c *collectSink) Write(p []int16) error {
	c.mu.Lock()
	c.pcm = append(c.pcm, p...)
	c.mu.Unlock()
	return nil
}
func (c *collectSink) Close() error { return nil }
func (c *collectSink) samples() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.pcm...)
}

func loopback(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pcmu(t testing.TB) codec.Codec {
	t.Helper()
	c, err := codec.ByName("PCMU")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type pair struct {
	a, b         *Stream
	sinkA, sinkB *collectSink
	keyAB, keyBA SRTPParams
	connA, connB *net.UDPConn
	relay        *mediatest.Relay
	ssrcA, ssrcB uint32
}

// newPair wires streams A and B with RTCP-mux, each with its own key per direction, through
// relay when imp is not nil.
func newPair(t testing.TB, prof srtp.ProtectionProfile, mki []byte, imp *mediatest.Impairments, tweak func(a, b *Config)) *pair {
	t.Helper()
	p := &pair{sinkA: &collectSink{}, sinkB: &collectSink{}, ssrcA: 0xA0A0A0A0, ssrcB: 0xB0B0B0B0}
	p.connA, p.connB = loopback(t), loopback(t)
	remoteA, remoteB := p.connB.LocalAddr().(*net.UDPAddr), p.connA.LocalAddr().(*net.UDPAddr)
	if imp != nil {
		r, err := mediatest.New(p.connA.LocalAddr().(*net.UDPAddr), p.connB.LocalAddr().(*net.UDPAddr), *imp)
		if err != nil {
			t.Fatal(err)
		}
		p.relay = r
		t.Cleanup(func() { r.Close() })
		remoteA, remoteB = r.AddrA(), r.AddrB()
	}
	cfgA := Config{Conn: p.connA, Remote: remoteA, RTCPMux: true, Codec: pcmu(t), SSRC: p.ssrcA, InitialSeq: 1000,
		PayloadTypes: PayloadTypes{TelephoneEvent: 101},
		Source:       audio.Tone(1000, 0.5, 8000), Sink: p.sinkA, RTCPMinInterval: 400 * time.Millisecond,
		Rand: rand.New(rand.NewPCG(1, 1))}
	cfgB := cfgA
	cfgB.Conn, cfgB.Remote, cfgB.SSRC, cfgB.InitialSeq, cfgB.Sink = p.connB, remoteB, p.ssrcB, 50000, p.sinkB
	cfgB.Source = audio.Tone(1000, 0.5, 8000)
	cfgB.Rand = rand.New(rand.NewPCG(2, 2))
	if prof != 0 {
		p.keyAB = testParams(t, prof, 0x11, mki, 0)
		p.keyBA = testParams(t, prof, 0x22, mki, 0)
		cfgA.Send, cfgA.Recv = &p.keyAB, &p.keyBA
		cfgB.Send, cfgB.Recv = &p.keyBA, &p.keyAB
	}
	if tweak != nil {
		tweak(&cfgA, &cfgB)
	}
	var err error
	if p.a, err = New(cfgA); err != nil {
		t.Fatal(err)
	}
	if p.b, err = New(cfgB); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.a.Stop(); p.b.Stop() })
	return p
}

func (p *pair) start(t testing.TB) {
	t.Helper()
	if err := p.a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// waitPlayed lets a call run on until every sink has played at least n samples, or until
// limit: on a starved machine the tick loops skip ticks and less audio is played per second.
func waitPlayed(n int, limit time.Duration, sinks ...*collectSink) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		done := true
		for _, s := range sinks {
			if len(s.samples()) < n {
				done = false
			}
		}
		if done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkTone asserts that pcm holds a clear 1 kHz tone, measured with M1's Goertzel detector
// (audio.DetectTone: frequency and SNR) on 200 ms blocks: the median block must reach minSNR.
// The first half second (jitter-buffer fill) and the silence after the sender stopped are left
// out. The median, not the minimum, because on a loaded 2-core machine a starved tick loop
// makes the odd block concealed or cut, which is not what these tests are about; losses and
// gaps are checked through the statistics instead.
func checkTone(t testing.TB, who string, pcm []int16, minSNR float64) {
	t.Helper()
	const frame, block = 160, 1600
	pcm = pcm[:len(pcm)/frame*frame]
	silent := func(f []int16) bool {
		for _, v := range f {
			if v != 0 {
				return false
			}
		}
		return true
	}
	for len(pcm) >= frame && silent(pcm[len(pcm)-frame:]) {
		pcm = pcm[:len(pcm)-frame]
	}
	if len(pcm) < 4000+2*block { // at least 0.9 s played
		t.Fatalf("%s: only %d samples played", who, len(pcm))
	}
	pcm = pcm[4000:]
	var snrs []float64
	for off := 0; off+block <= len(pcm); off += block {
		snrs = append(snrs, audio.DetectTone(pcm[off:off+block], 8000, 1000))
	}
	slices.Sort(snrs)
	median := snrs[len(snrs)/2]
	if median < minSNR {
		t.Fatalf("%s: median 1 kHz SNR %.1f dB over %d blocks (worst %.1f), want ≥ %.0f", who, median, len(snrs), snrs[0], minSNR)
	}
	t.Logf("%s: 1 kHz tone, median SNR %.1f dB over %d × 200 ms (worst %.1f dB, whole recording %.1f dB)",
		who, median, len(snrs), snrs[0], audio.DetectTone(pcm, 8000, 1000))
}

// Two streams on loopback exchange a 1 kHz tone under each suite for three seconds.
func TestToneEachSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	for _, prof := range Profiles() {
		t.Run(ProfileName(prof), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, prof, []byte{7}, nil, nil)
			p.start(t)
			time.Sleep(3 * time.Second)
			waitPlayed(3*8000, 3*time.Second, p.sinkA, p.sinkB)
			p.a.Stop()
			var bye bool
			deadline := time.After(2 * time.Second)
		wait:
			for {
				select {
				case e := <-p.b.Events():
					if e.Kind == EventBye && e.SSRC == p.ssrcA {
						bye = true
						break wait
					}
				case <-deadline:
					break wait
				}
			}
			p.b.Stop()
			if !bye {
				t.Error("B saw no authenticated BYE from A")
			}
			checkTone(t, "A→B", p.sinkB.samples(), 25)
			checkTone(t, "B→A", p.sinkA.samples(), 25)
			for _, s := range []Stats{p.a.Stats(), p.b.Stats()} {
				t.Log(s)
				if s.SRTPAuthFailures != 0 || s.SRTCPAuthFailures != 0 || s.SRTPReplayDrops != 0 {
					t.Errorf("failures: %v", s)
				}
				// 150 packets are sent in 3 s on an idle machine; a starved tick loop skips
				// ticks (see maxCatchUp), so ask for a third of that.
				if s.PacketsReceived < 50 || s.PacketsLost != 0 || s.RTCPReceived == 0 || !s.RTTValid {
					t.Errorf("stats: %v", s)
				}
				// No loss: only delay counts (R = 93.2 − Id); even a 250 ms one-way delay on a
				// starved machine keeps MOS above 3.6 (4.41 at zero delay).
				if s.MOS < 3.6 || s.MOS > 4.41 {
					t.Errorf("MOS %.2f on a clean loopback", s.MOS)
				}
			}
		})
	}
}

// Plain RTP/RTCP without mux (RTCP on its own sockets) works too, and DTMF gets through.
func TestTonePlainNoMuxDTMF(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	rtcpA, rtcpB := loopback(t), loopback(t)
	p := newPair(t, 0, nil, nil, func(a, b *Config) {
		a.RTCPMux, b.RTCPMux = false, false
		a.RTCPConn, b.RTCPConn = rtcpA, rtcpB
		a.RemoteRTCP, b.RemoteRTCP = rtcpB.LocalAddr().(*net.UDPAddr), rtcpA.LocalAddr().(*net.UDPAddr)
	})
	p.start(t)
	time.Sleep(1500 * time.Millisecond)
	if err := p.a.SendDTMF("1#9"); err != nil {
		t.Fatal(err)
	}
	var digits []rune
	deadline := time.After(3 * time.Second)
	for len(digits) < 3 {
		select {
		case e := <-p.b.Events():
			if e.Kind == EventDTMF {
				digits = append(digits, e.Digit)
			}
		case <-deadline:
			t.Fatalf("digits received: %q", string(digits))
		}
	}
	if string(digits) != "1#9" {
		t.Fatalf("digits %q, want 1#9", string(digits))
	}
	time.Sleep(time.Second)
	waitPlayed(3*8000, 3*time.Second, p.sinkB)
	p.a.Stop()
	p.b.Stop()
	// DTMF replaces audio for its duration (RFC 4733 §2.5), so no per-block check here.
	checkTone(t, "A→B", p.sinkB.samples(), 25)
	sa, sb := p.a.Stats(), p.b.Stats()
	t.Log(sa)
	t.Log(sb)
	if sa.RTCPReceived == 0 || sb.RTCPReceived == 0 || !sa.RTTValid {
		t.Fatalf("RTCP on separate ports did not flow: %v / %v", sa, sb)
	}
}

// waitEvent waits for an event of kind k, or fails after d.
func waitEvent(s *Stream, k EventKind, d time.Duration) (Event, bool) {
	deadline := time.After(d)
	for {
		select {
		case e, ok := <-s.Events():
			if !ok {
				return Event{}, false
			}
			if e.Kind == k {
				return e, true
			}
		case <-deadline:
			return Event{}, false
		}
	}
}

// A call through the impairing relay: the receiver's loss matches what the relay dropped or
// flipped (exactly), its jitter matches the relay's own A.8 measurement (tolerance: 1 ms or
// 35 %, whichever is larger, for loopback and scheduling noise), every flipped packet is counted
// as an authentication failure, duplicates and replays are counted as replays, and forged
// clear-text SR and BYE change nothing.
func TestImpairedCall(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	imp := &mediatest.Impairments{Seed: 7, Drop: 0.03, Duplicate: 0.02, Reorder: 0.02, Flip: 0.03,
		Jitter: 8 * time.Millisecond, Skip: 5}
	p := newPair(t, srtp.ProtectionProfileAes128CmHmacSha1_80, []byte{0, 9}, imp, nil)
	p.start(t)
	time.Sleep(4 * time.Second)

	before := p.b.Stats()
	// Forged clear-text RTCP from A's SSRC, through the relay (so the source address fits).
	sr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: p.ssrcA, NTPTime: 1, PacketCount: 1}})
	bye, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: p.ssrcA}, &rtcp.Goodbye{Sources: []uint32{p.ssrcA}, Reason: "forged"}})
	for _, f := range [][]byte{sr, bye} {
		if err := p.relay.Inject(mediatest.AtoB, f); err != nil {
			t.Fatal(err)
		}
	}
	// Replay 40 captured packets (RTP and SRTCP) towards B.
	if _, err := p.relay.Replay(mediatest.AtoB, 40); err != nil {
		t.Fatal(err)
	}
	if e, ok := waitEvent(p.b, EventBye, 500*time.Millisecond); ok {
		t.Fatalf("forged BYE acted on: %+v", e)
	}
	mid := p.b.Stats()
	if mid.PacketsReceived <= before.PacketsReceived {
		t.Fatal("B stopped receiving after the forged BYE")
	}

	// Stop A first so nothing is in flight when the figures are compared; the relay passes the
	// final BYE untouched.
	p.relay.SetImpairments(mediatest.Impairments{})
	p.a.Stop()
	if _, ok := waitEvent(p.b, EventBye, 2*time.Second); !ok {
		t.Error("no authenticated BYE after A stopped")
	}
	time.Sleep(100 * time.Millisecond)
	p.b.Stop()
	p.relay.Close()

	rs := p.relay.Stats(mediatest.AtoB)
	st := p.b.Stats()
	t.Logf("relay A→B: %+v", rs)
	t.Logf("B: %v", st)

	var wantLost int64
	for _, seq := range rs.LostSeq {
		if uint32(seq) <= st.HighestSeq {
			wantLost++
		}
	}
	if st.PacketsLost != wantLost {
		t.Errorf("B counts %d lost, relay dropped or flipped %d", st.PacketsLost, wantLost)
	}
	if st.SRTPAuthFailures != uint64(rs.RTP.Flipped) {
		t.Errorf("SRTP auth failures %d, relay flipped %d RTP packets", st.SRTPAuthFailures, rs.RTP.Flipped)
	}
	if st.SRTPReplayDrops != uint64(rs.RTP.Duplicated+rs.RTP.Replayed) {
		t.Errorf("SRTP replay drops %d, want %d duplicated + %d replayed", st.SRTPReplayDrops, rs.RTP.Duplicated, rs.RTP.Replayed)
	}
	// RFC 3711 §3.3 checks the replay list before the tag, using the index read from the
	// packet; a forged clear-text packet whose bytes happen to read as an index already seen is
	// therefore dropped as a replay rather than as an authentication failure. Either way it is
	// dropped and counted, so the sum is exact.
	if got, want := st.SRTCPAuthFailures+st.SRTCPReplayDrops, uint64(rs.RTCP.Flipped+rs.RTCP.Duplicated+rs.RTCP.Replayed+2); got != want {
		t.Errorf("SRTCP drops %d (auth %d, replay %d), want %d flipped + %d duplicated + %d replayed + 2 forged",
			got, st.SRTCPAuthFailures, st.SRTCPReplayDrops, rs.RTCP.Flipped, rs.RTCP.Duplicated, rs.RTCP.Replayed)
	}
	tol := rs.Jitter * 35 / 100
	if tol < time.Millisecond {
		tol = time.Millisecond
	}
	if d := st.Jitter - rs.Jitter; d > tol || d < -tol {
		t.Errorf("B jitter %v, relay measured %v (tolerance %v)", st.Jitter, rs.Jitter, tol)
	}
	if st.MOS <= 1 || st.MOS >= 4.41 {
		t.Errorf("MOS %.2f with %.1f%% loss", st.MOS, 100*st.LossFraction)
	}
	// About one frame in ten is concealed (PLC) here, which costs a few dB in a block.
	checkTone(t, "A→B impaired", p.sinkB.samples(), 18)
}

// Rekey mid-call: B installs A's new receive key, A switches its send key, B retires the old one
// later; no packet is lost or rejected and the tone plays on.
func TestRekeyMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	for _, prof := range []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAeadAes256Gcm} {
		t.Run(ProfileName(prof), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, prof, []byte{0, 0, 0, 1}, nil, nil)
			p.start(t)
			time.Sleep(time.Second)
			k2 := testParams(t, prof, 0x33, []byte{0, 0, 0, 2}, 0)
			if err := p.b.Rekey(nil, &k2); err != nil {
				t.Fatal(err)
			}
			if err := p.a.Rekey(&k2, nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond)
			if err := p.b.RetireKey(p.keyAB.MKI); err != nil {
				t.Fatal(err)
			}
			if err := p.a.RetireKey(p.keyAB.MKI); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			waitPlayed(2*8000, 3*time.Second, p.sinkB)
			p.a.Stop()
			p.b.Stop()
			st := p.b.Stats()
			t.Log(st)
			// B retired the old key: had A not switched, everything after would fail
			// authentication.
			if st.PacketsLost != 0 || st.SRTPAuthFailures != 0 || st.SRTCPAuthFailures != 0 || st.SRTPReplayDrops != 0 {
				t.Fatalf("rekey lost audio: %v", st)
			}
			checkTone(t, "A→B across rekey", p.sinkB.samples(), 25)
		})
	}
}
