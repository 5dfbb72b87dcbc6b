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
// pion/srtp/v2 Context calls doing the same cryptographic work:
//
//	go test -run '^$' -bench 'Path' -benchmem ./media/
//
// "ours" sends as the stream's tick does: header marshal, then (transmit) one hold of the
// stream's mutex for SRTP protect and the jitter-buffer pop of the frame to play, then the write
// to a no-op PacketConn. It receives as the read goroutine does (handle: demux, latch/SSRC
// checks, SRTP unprotect, RFC 3550 statistics, jitter-buffer push, under its own hold of the
// mutex), plus the pop that plays the packet — inside the tick's hold of the mutex, whose lock
// round trip the send benchmark counts, so every lock the stream takes is counted once.
// BenchmarkPaired's "duplex" runs both per 20 ms tick, as a sendrecv stream does, to compare
// without any attribution. "pion" is Marshal + EncryptRTP, and DecryptRTP with pion's replay protection,
// on the same 160-byte G.711 payload.

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

func BenchmarkSendPath(b *testing.B) {
	payload := make([]byte, 160)
	for _, prof := range benchProfiles {
		key := testParams(b, prof, 1, nil, 0)
		b.Run(ProfileName(prof)+"/ours", func(b *testing.B) {
			s := fuzzStream(b, &key)
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startCPU()
			for i := 0; i < b.N; i++ {
				plain, err := s.marshalRTP(0, uint32(i)*160, false, payload)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := s.transmit(now, plain, len(payload)); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
		})
		b.Run(ProfileName(prof)+"/pion", func(b *testing.B) {
			ctx, err := srtp.CreateContext(key.MasterKey, key.MasterSalt, prof)
			if err != nil {
				b.Fatal(err)
			}
			plain := make([]byte, 1500)
			wire := make([]byte, 1500)
			var hdr rtp.Header
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startCPU()
			for i := 0; i < b.N; i++ {
				hdr = rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 160, SSRC: 1}
				n, _ := hdr.MarshalTo(plain)
				copy(plain[n:], payload)
				if _, err := ctx.EncryptRTP(wire[:0], plain[:n+len(payload)], &hdr); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
		})
	}
}

// benchPackets protects n consecutive packets from sequence number start, for the receive side.
func benchPackets(b *testing.B, key SRTPParams, ssrc uint32, start uint64, n int) [][]byte {
	tx, err := newTxCrypto(&key, ssrc)
	if err != nil {
		b.Fatal(err)
	}
	if start>>16 != 0 {
		tx.ctx.SetROC(ssrc, uint32(start>>16))
	}
	payload := make([]byte, 160)
	out := make([][]byte, n)
	for i := range out {
		seq := start + uint64(i)
		plain := rtpPacket(b, ssrc, uint16(seq), payload)
		out[i], err = tx.protectTest(make([]byte, 0, 200), plain)
		if err != nil {
			b.Fatal(err)
		}
	}
	return out
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
				s := fuzzStream(b, &key)
				if withPrev {
					s = fuzzStream(b, &SRTPParams{Profile: key.Profile, MasterKey: bytesClone(key.MasterKey),
						MasterSalt: make([]byte, len(key.MasterSalt)), EncryptSRTP: true, EncryptSRTCP: true})
					if err := s.ReplaceKeys(nil, &key); err != nil {
						b.Fatal(err)
					}
					s.SetPreviousGrace(1 << 62) // the benchmark's arrival clock runs 20 ms per packet
				}
				// Start sets t0 from the clock (monotonic); a zero t0 would send every arrival-time
				// subtraction down Time.Sub's slow path and saturate it.
				base := time.Now()
				s.t0 = base
				receiveBench(b, &key, base, func(pkt []byte, at time.Time) {
					s.handle(pkt, fuzzPeer, false, at)
					// The pop that plays the packet 20 ms later (without decode), as the tick does
					// inside transmit's hold of the mutex (counted by BenchmarkSendPath).
					s.popLocked(at)
				})
				if st := s.Stats(); st.SRTPAuthFailures+st.SRTPReplayDrops+st.Malformed+st.Foreign != 0 {
					b.Fatalf("receive path rejected packets: %v", st)
				}
				if withPrev && s.rx.prev == nil {
					b.Fatal("previous context gone")
				}
			})
		}
		// "pion" is pion's own replay detector; "pion-window" is the same Context with ours
		// (replay.go), which is what our path runs, so ours − pion-window is the glue alone.
		var hit bool
		for _, v := range []struct {
			name string
			opt  srtp.ContextOption
		}{
			{"pion", srtp.SRTPReplayProtection(srtpReplayWindow)},
			{"pion-window", srtp.SRTPReplayDetectorFactory(func() replaydetector.ReplayDetector {
				return newReplayWindow(srtpReplayWindow, 1<<48-1, &hit)
			})},
		} {
			b.Run(ProfileName(prof)+"/"+v.name, func(b *testing.B) {
				ctx, err := srtp.CreateContext(key.MasterKey, key.MasterSalt, prof, v.opt)
				if err != nil {
					b.Fatal(err)
				}
				var hdr rtp.Header
				receiveBench(b, &key, time.Now(), func(pkt []byte, _ time.Time) {
					if _, err := ctx.DecryptRTP(pkt, pkt, &hdr); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// receiveBench times per-packet calls of each on protected packets of key (SSRC 0x77, 160-byte
// payloads, consecutive sequence numbers), made outside the timer in chunks of benchChunk and
// each handed over as a fresh copy, as a socket read would, with its arrival time (base + 20 ms
// per packet, monotonic): the read loop's clock read, like the socket read, is outside the
// path measured (see arrival). It reports CPU time per packet too.
func receiveBench(b *testing.B, key *SRTPParams, base time.Time, each func(pkt []byte, at time.Time)) {
	b.Helper()
	tx, _ := newTxCrypto(key, 0x77)
	payload := make([]byte, 160)
	pkts := make([][]byte, benchChunk)
	for i := range pkts {
		pkts[i] = make([]byte, 0, 200)
	}
	ats := make([]time.Time, benchChunk)
	buf := make([]byte, 1500)
	seq := uint16(0)
	k := 0
	var cpuTotal time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		n := min(benchChunk, b.N-done)
		for i := 0; i < n; i++ {
			pkts[i], _ = tx.protectTest(pkts[i][:0], rtpPacket(b, 0x77, seq, payload))
			seq++
			k++
			ats[i] = base.Add(time.Duration(k) * 20 * time.Millisecond)
		}
		c0 := cpuNow()
		b.StartTimer()
		for i := 0; i < n; i++ {
			m := copy(buf, pkts[i])
			each(buf[:m], ats[i])
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
// payload, pop one frame), so that ours − pion − this is the glue this package adds.
func BenchmarkJitterPushPop(b *testing.B) {
	s := fuzzStream(b, nil)
	payload := make([]byte, 160)
	now := time.Now() // with a monotonic reading, as in the stream
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		now = now.Add(20 * time.Millisecond)
		s.jb.Push(uint16(i), uint32(i)*160, now, payload)
		s.jb.Pop(now)
	}
	cpu.report(b)
}

// benchSide is one contender of a paired benchmark: each is called once per packet.
type benchSide struct {
	name string
	each func(pkt []byte, at time.Time)
}

// pairedBench runs the sides over the same protected packets (as receiveBench makes them),
// alternating side by side chunk after chunk (and which side goes first), so that the speed of a
// shared machine, which drifts over seconds, weighs on every side alike. It reports each side's
// wall time per packet and each side's overhead over the first one in per cent. Every side sees
// every packet once, in order, with its arrival time (as in receiveBench): each must hold its own
// receive state.
func pairedBench(b *testing.B, key *SRTPParams, base time.Time, sides ...benchSide) {
	b.Helper()
	tx, _ := newTxCrypto(key, 0x77)
	payload := make([]byte, 160)
	pkts := make([][]byte, benchChunk/8)
	for i := range pkts {
		pkts[i] = make([]byte, 0, 200)
	}
	ats := make([]time.Time, len(pkts))
	buf := make([]byte, 1500)
	total := make([]time.Duration, len(sides))
	seq := uint16(0)
	k := 0
	b.ReportAllocs()
	b.ResetTimer()
	for done, round := 0, 0; done < b.N; round++ {
		n := min(len(pkts), b.N-done)
		for i := 0; i < n; i++ {
			pkts[i], _ = tx.protectTest(pkts[i][:0], rtpPacket(b, 0x77, seq, payload))
			seq++
			k++
			ats[i] = base.Add(time.Duration(k) * 20 * time.Millisecond)
		}
		for j := range sides {
			side := (j + round) % len(sides)
			each := sides[side].each
			t0 := time.Now()
			for i := 0; i < n; i++ {
				m := copy(buf, pkts[i])
				each(buf[:m], ats[i])
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

// oursReceive is our receive path as in BenchmarkReceivePath, on a fresh stream.
func oursReceive(b *testing.B, key *SRTPParams, base time.Time) func(pkt []byte, at time.Time) {
	s := fuzzStream(b, key)
	s.t0 = base
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

// BenchmarkPaired puts our send, receive and duplex paths beside bare pion's in one interleaved
// run (pairedBench); "pion" has pion's replay protection, "pion-window" ours (replay.go), so
// that ours − pion-window is the glue alone.
//
//	go test -run '^$' -bench Paired -benchtime 400000x ./media/
func BenchmarkPaired(b *testing.B) {
	payload := make([]byte, 160)
	for _, prof := range benchProfiles {
		key := testParams(b, prof, 1, nil, 0)
		var hit bool
		b.Run(ProfileName(prof)+"/receive", func(b *testing.B) {
			base := time.Now()
			pairedBench(b, &key, base,
				benchSide{"ours", oursReceive(b, &key, base)},
				benchSide{"pion", pionReceive(b, &key, srtp.SRTPReplayProtection(srtpReplayWindow))},
				benchSide{"pion-window", pionReceive(b, &key, srtp.SRTPReplayDetectorFactory(func() replaydetector.ReplayDetector {
					return newReplayWindow(srtpReplayWindow, 1<<48-1, &hit)
				}))})
		})
		b.Run(ProfileName(prof)+"/duplex", func(b *testing.B) {
			// One 20 ms tick of a sendrecv stream: our tick's packet out (marshal, transmit with
			// the pop of the frame handle pushed, write) and one packet in (handle), against
			// pion's EncryptRTP and DecryptRTP with its replay protection.
			base := time.Now()
			s := fuzzStream(b, &key)
			s.t0 = base
			tx, err := srtp.CreateContext(key.MasterKey, key.MasterSalt, prof)
			if err != nil {
				b.Fatal(err)
			}
			rx, err := srtp.CreateContext(key.MasterKey, key.MasterSalt, prof, srtp.SRTPReplayProtection(srtpReplayWindow))
			if err != nil {
				b.Fatal(err)
			}
			plain := make([]byte, 1500)
			wire := make([]byte, 1500)
			var hdr, rhdr rtp.Header
			var i uint32
			var j int
			pairedBench(b, &key, base,
				benchSide{"ours", func(pkt []byte, at time.Time) {
					p, err := s.marshalRTP(0, i*160, false, payload)
					if err != nil {
						b.Fatal(err)
					}
					i++
					if _, _, err := s.transmit(at, p, len(payload)); err != nil {
						b.Fatal(err)
					}
					s.handle(pkt, fuzzPeer, false, at)
				}},
				benchSide{"pion", func(pkt []byte, _ time.Time) {
					hdr = rtp.Header{Version: 2, SequenceNumber: uint16(j), Timestamp: uint32(j) * 160, SSRC: 1}
					j++
					n, _ := hdr.MarshalTo(plain)
					copy(plain[n:], payload)
					if _, err := tx.EncryptRTP(wire[:0], plain[:n+len(payload)], &hdr); err != nil {
						b.Fatal(err)
					}
					if _, err := rx.DecryptRTP(pkt, pkt, &rhdr); err != nil {
						b.Fatal(err)
					}
				}})
			if st := s.Stats(); st.SRTPAuthFailures+st.SRTPReplayDrops+st.Malformed+st.Foreign != 0 || st.PacketsReceived != uint64(b.N) {
				b.Fatalf("receive path rejected packets: %v", st)
			}
		})
		b.Run(ProfileName(prof)+"/send", func(b *testing.B) {
			s := fuzzStream(b, &key)
			now := time.Now()
			var i uint32
			ctx, err := srtp.CreateContext(key.MasterKey, key.MasterSalt, prof)
			if err != nil {
				b.Fatal(err)
			}
			plain := make([]byte, 1500)
			wire := make([]byte, 1500)
			var hdr rtp.Header
			var j int
			pairedBench(b, &key, now,
				benchSide{"ours", func([]byte, time.Time) {
					p, err := s.marshalRTP(0, i*160, false, payload)
					if err != nil {
						b.Fatal(err)
					}
					i++
					if _, _, err := s.transmit(now, p, len(payload)); err != nil {
						b.Fatal(err)
					}
				}},
				benchSide{"pion", func([]byte, time.Time) {
					hdr = rtp.Header{Version: 2, SequenceNumber: uint16(j), Timestamp: uint32(j) * 160, SSRC: 1}
					j++
					n, _ := hdr.MarshalTo(plain)
					copy(plain[n:], payload)
					if _, err := ctx.EncryptRTP(wire[:0], plain[:n+len(payload)], &hdr); err != nil {
						b.Fatal(err)
					}
				}})
		})
	}
}
