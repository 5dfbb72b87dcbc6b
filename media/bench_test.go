package media

import (
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
	"github.com/pion/transport/v2/replaydetector"
)

// The benchmarks below put our per-packet send and receive paths side by side with bare
// pion/srtp/v2 Context calls doing the same cryptographic work, on the same 160-byte G.711
// payload:
//
//	go test -run '^$' -bench 'Paired' -benchtime 400000x ./media/      (interleaved: the figures)
//	go test -run '^$' -bench 'Path' -benchmem ./media/                  (one after the other: allocs)
//
// "ours" sends as the stream's tick does (oursSend): header marshal, then (transmit) one hold of
// the stream's mutex for SRTP protect and the jitter-buffer pop of the frame to play, then the
// write to a no-op PacketConn. It receives as the read goroutine does (handle: demux, latch/SSRC
// checks, SRTP unprotect, RFC 3550 statistics, jitter-buffer push, under its own hold of the
// mutex), plus the pop that plays the packet — inside the tick's hold of the mutex, whose lock
// round trip the send benchmark counts, so every lock the stream takes is counted once.
// BenchmarkPaired's "duplex" runs both per 20 ms tick, as a sendrecv stream does, to compare
// without any attribution. "pion" is Marshal + EncryptRTP (pionSend), and DecryptRTP with pion's
// replay protection (pionReceive).

// cpuTimer reports process CPU time per operation ("cpu-ns/op") beside the wall-clock ns/op,
// because on a shared 2-core machine other processes inflate wall time unevenly; CPU time
// counts only this process's work (including its GC).
type cpuTimer struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuTimer { return cpuTimer{cpuNow()} }

func (c cpuTimer) report(b *testing.B) {
	b.ReportMetric(float64(cpuNow()-c.start)/float64(b.N), "cpu-ns/op")
}

var benchProfiles = []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAeadAes128Gcm}

// benchPayload is the G.711 payload of one 20 ms packet.
var benchPayload = make([]byte, 160)

// oursSend is the tick's send path on s for one packet at time at: marshalRTP, then transmit.
func oursSend(b *testing.B, s *Stream) func(at time.Time) {
	var ts uint32
	return func(at time.Time) {
		plain, err := s.marshalRTP(0, ts, false, benchPayload)
		if err != nil {
			b.Fatal(err)
		}
		ts += 160
		if _, _, err := s.transmit(at, plain, len(benchPayload)); err != nil {
			b.Fatal(err)
		}
	}
}

// pionSend is what a pion user does for one packet: rtp.Header.MarshalTo and EncryptRTP.
func pionSend(b *testing.B, key *SRTPParams) func() {
	ctx, err := srtp.CreateContext(key.MasterKey, key.MasterSalt, key.Profile)
	if err != nil {
		b.Fatal(err)
	}
	plain := make([]byte, 1500)
	wire := make([]byte, 1500)
	var hdr rtp.Header
	var i int
	return func() {
		hdr = rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 160, SSRC: 1}
		i++
		n, _ := hdr.MarshalTo(plain)
		copy(plain[n:], benchPayload)
		if _, err := ctx.EncryptRTP(wire[:0], plain[:n+len(benchPayload)], &hdr); err != nil {
			b.Fatal(err)
		}
	}
}

// oursReceive is our receive path on s: handle, and the pop that plays the packet 20 ms later
// (without decode), as the tick does inside transmit's hold of the mutex (whose lock round trip
// the send path counts).
func oursReceive(s *Stream) func(pkt []byte, at time.Time) {
	return func(pkt []byte, at time.Time) {
		s.handle(pkt, fuzzPeer, false, at)
		s.popLocked(at)
	}
}

// pionReceive is bare pion's DecryptRTP with the replay detector opt builds.
func pionReceive(b *testing.B, key *SRTPParams, opt srtp.ContextOption) func(pkt []byte, at time.Time) {
	ctx, err := srtp.CreateContext(key.MasterKey, key.MasterSalt, key.Profile, opt)
	if err != nil {
		b.Fatal(err)
	}
	var hdr rtp.Header
	return func(pkt []byte, _ time.Time) {
		if _, err := ctx.DecryptRTP(pkt, pkt, &hdr); err != nil {
			b.Fatal(err)
		}
	}
}

// pionReplay is pion's own replay protection; ourWindow is pion with our replay window
// (replay.go), which is what our path runs, so that ours − pion with ourWindow is the glue alone.
func pionReplay() srtp.ContextOption { return srtp.SRTPReplayProtection(srtpReplayWindow) }

func ourWindow() srtp.ContextOption {
	var hit bool
	return srtp.SRTPReplayDetectorFactory(func() replaydetector.ReplayDetector {
		return newReplayWindow(srtpReplayWindow, 1<<48-1, &hit)
	})
}

// benchStream is a stream on a no-op socket with key in both directions and t0 at base (Start
// sets t0 from the monotonic clock; a zero t0 would send every arrival-time subtraction down
// Time.Sub's slow path).
func benchStream(b *testing.B, key *SRTPParams, base time.Time) *Stream {
	s := fuzzStream(b, key)
	s.t0 = base
	return s
}

// checkReceived fails when the receive path rejected any of the benchmark's packets.
func checkReceived(b *testing.B, s *Stream) {
	if st := s.Stats(); st.SRTPAuthFailures+st.SRTPReplayDrops+st.Malformed+st.Foreign != 0 {
		b.Fatalf("receive path rejected packets: %v", st)
	}
}

func BenchmarkSendPath(b *testing.B) {
	for _, prof := range benchProfiles {
		key := testParams(b, prof, 1, nil, 0)
		b.Run(ProfileName(prof)+"/ours", func(b *testing.B) {
			now := time.Now()
			send := oursSend(b, benchStream(b, &key, now))
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startCPU()
			for i := 0; i < b.N; i++ {
				send(now)
			}
			cpu.report(b)
		})
		b.Run(ProfileName(prof)+"/pion", func(b *testing.B) {
			send := pionSend(b, &key)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startCPU()
			for i := 0; i < b.N; i++ {
				send()
			}
			cpu.report(b)
		})
	}
}

// Receive benchmarks need fresh (non-replayed) packets: they are prepared in chunks with the
// timer stopped. Each chunk is a continuation, so the replay window and ROC stay consistent.
const benchChunk = 8192

func BenchmarkReceivePath(b *testing.B) {
	for _, prof := range benchProfiles {
		key := testParams(b, prof, 1, nil, 0)
		for _, withPrev := range []bool{false, true} {
			name := "/ours"
			if withPrev {
				// Within a ReplaceKeys window: packets under the current context still pay the
				// copy that a trial under the previous one would need.
				name = "/ours-previous"
			}
			b.Run(ProfileName(prof)+name, func(b *testing.B) {
				base := time.Now()
				first := &key
				if withPrev {
					first = &SRTPParams{Profile: key.Profile, MasterKey: bytesClone(key.MasterKey),
						MasterSalt: make([]byte, len(key.MasterSalt)), EncryptSRTP: true, EncryptSRTCP: true}
				}
				s := benchStream(b, first, base)
				if withPrev {
					if err := s.ReplaceKeys(nil, &key); err != nil {
						b.Fatal(err)
					}
					s.SetPreviousGrace(1 << 62) // the benchmark's arrival clock runs 20 ms per packet
				}
				receiveBench(b, &key, base, oursReceive(s))
				checkReceived(b, s)
				if withPrev && s.rx.prev == nil {
					b.Fatal("previous context gone")
				}
			})
		}
		b.Run(ProfileName(prof)+"/pion", func(b *testing.B) {
			receiveBench(b, &key, time.Now(), pionReceive(b, &key, pionReplay()))
		})
		b.Run(ProfileName(prof)+"/pion-window", func(b *testing.B) {
			receiveBench(b, &key, time.Now(), pionReceive(b, &key, ourWindow()))
		})
	}
}

// benchFeed makes the packets a receive benchmark hands over: protected under key (SSRC 0x77,
// 160-byte payloads, consecutive sequence numbers) with their arrival times (base + 20 ms per
// packet, monotonic). The read loop's clock read, like the socket read, is outside the path
// measured (see Stream.arrival).
type benchFeed struct {
	b    *testing.B
	tx   *txCrypto
	base time.Time
	pkts [][]byte
	ats  []time.Time
	seq  uint16
	k    int
}

func newBenchFeed(b *testing.B, key *SRTPParams, base time.Time, chunk int) *benchFeed {
	tx, err := newTxCrypto(key, 0x77)
	if err != nil {
		b.Fatal(err)
	}
	f := &benchFeed{b: b, tx: tx, base: base, pkts: make([][]byte, chunk), ats: make([]time.Time, chunk)}
	for i := range f.pkts {
		f.pkts[i] = make([]byte, 0, 200)
	}
	return f
}

// next prepares the next n packets (n ≤ the chunk size) in f.pkts[:n] and f.ats[:n].
func (f *benchFeed) next(n int) {
	for i := 0; i < n; i++ {
		var err error
		if f.pkts[i], err = f.tx.protectTest(f.pkts[i][:0], rtpPacket(f.b, 0x77, f.seq, benchPayload)); err != nil {
			f.b.Fatal(err)
		}
		f.seq++
		f.k++
		f.ats[i] = f.base.Add(time.Duration(f.k) * 20 * time.Millisecond)
	}
}

// receiveBench times per-packet calls of each on the packets of a benchFeed, made outside the
// timer in chunks of benchChunk and each handed over as a fresh copy, as a socket read would.
// It reports CPU time per packet too.
func receiveBench(b *testing.B, key *SRTPParams, base time.Time, each func(pkt []byte, at time.Time)) {
	b.Helper()
	feed := newBenchFeed(b, key, base, benchChunk)
	buf := make([]byte, 1500)
	var cpuTotal time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		n := min(benchChunk, b.N-done)
		feed.next(n)
		c0 := cpuNow()
		b.StartTimer()
		for i := 0; i < n; i++ {
			m := copy(buf, feed.pkts[i])
			each(buf[:m], feed.ats[i])
		}
		b.StopTimer()
		cpuTotal += cpuNow() - c0
		b.StartTimer()
		done += n
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTotal)/float64(b.N), "cpu-ns/op")
}

// BenchmarkJitterPushPop is media/jitter's share of the receive path above (push one 160-byte
// payload, pop one frame).
func BenchmarkJitterPushPop(b *testing.B) {
	s := fuzzStream(b, nil)
	now := time.Now() // with a monotonic reading, as in the stream
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		now = now.Add(20 * time.Millisecond)
		s.jb.Push(uint16(i), uint32(i)*160, now, benchPayload)
		s.jb.Pop(now)
	}
	cpu.report(b)
}

// benchSide is one contender of a paired benchmark: each is called once per packet.
type benchSide struct {
	name string
	each func(pkt []byte, at time.Time)
}

// pairedBench runs the sides over the same packets of a benchFeed, alternating side by side
// chunk after chunk (and which side goes first), so that the speed of a shared machine, which
// drifts over seconds, weighs on every side alike. It reports each side's wall time per packet
// and the first side's overhead over each other one in per cent. Every side sees every packet
// once, in order, with its arrival time: each must hold its own receive state.
func pairedBench(b *testing.B, key *SRTPParams, base time.Time, sides ...benchSide) {
	b.Helper()
	feed := newBenchFeed(b, key, base, benchChunk/8)
	buf := make([]byte, 1500)
	total := make([]time.Duration, len(sides))
	b.ReportAllocs()
	b.ResetTimer()
	for done, round := 0, 0; done < b.N; round++ {
		n := min(len(feed.pkts), b.N-done)
		feed.next(n)
		for j := range sides {
			side := (j + round) % len(sides)
			each := sides[side].each
			t0 := time.Now()
			for i := 0; i < n; i++ {
				m := copy(buf, feed.pkts[i])
				each(buf[:m], feed.ats[i])
			}
			total[side] += time.Since(t0)
		}
		done += n
	}
	b.StopTimer()
	for k, s := range sides {
		b.ReportMetric(float64(total[k])/float64(b.N), s.name+"-ns/pkt")
		if k > 0 {
			b.ReportMetric(100*(float64(total[0])/float64(total[k])-1), "ours-over-"+s.name+"-%")
		}
	}
}

// BenchmarkPaired puts our send, receive and duplex paths beside bare pion's in one interleaved
// run (pairedBench); "pion" has pion's replay protection, "pion-window" ours (replay.go), so
// that ours − pion-window is the glue alone.
//
//	go test -run '^$' -bench Paired -benchtime 400000x ./media/
func BenchmarkPaired(b *testing.B) {
	for _, prof := range benchProfiles {
		key := testParams(b, prof, 1, nil, 0)
		b.Run(ProfileName(prof)+"/receive", func(b *testing.B) {
			base := time.Now()
			s := benchStream(b, &key, base)
			pairedBench(b, &key, base,
				benchSide{"ours", oursReceive(s)},
				benchSide{"pion", pionReceive(b, &key, pionReplay())},
				benchSide{"pion-window", pionReceive(b, &key, ourWindow())})
			checkReceived(b, s)
		})
		b.Run(ProfileName(prof)+"/duplex", func(b *testing.B) {
			// One 20 ms tick of a sendrecv stream: our tick's packet out (with the pop of the frame
			// handle pushed) and one packet in, against pion's EncryptRTP and DecryptRTP.
			base := time.Now()
			s := benchStream(b, &key, base)
			send, pSend := oursSend(b, s), pionSend(b, &key)
			pRecv := pionReceive(b, &key, pionReplay())
			pairedBench(b, &key, base,
				benchSide{"ours", func(pkt []byte, at time.Time) {
					send(at)
					s.handle(pkt, fuzzPeer, false, at)
				}},
				benchSide{"pion", func(pkt []byte, at time.Time) {
					pSend()
					pRecv(pkt, at)
				}})
			checkReceived(b, s)
			if st := s.Stats(); st.PacketsReceived != uint64(b.N) {
				b.Fatalf("received %d of %d packets", st.PacketsReceived, b.N)
			}
		})
		b.Run(ProfileName(prof)+"/send", func(b *testing.B) {
			now := time.Now()
			send, pSend := oursSend(b, benchStream(b, &key, now)), pionSend(b, &key)
			pairedBench(b, &key, now,
				benchSide{"ours", func([]byte, time.Time) { send(now) }},
				benchSide{"pion", func([]byte, time.Time) { pSend() }})
		})
	}
}
