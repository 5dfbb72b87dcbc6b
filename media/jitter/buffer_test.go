package jitter

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type pkt struct {
	seq     uint16
	ts      uint32
	arrival time.Duration // after t0
}

type out struct {
	seq     uint16
	ts      uint32
	missing bool
	at      time.Duration
}

// stream makes n packets of 20 ms at 8 kHz sent at t0 + i·20 ms, arriving after delay(i).
func stream(n int, seq0 uint16, ts0 uint32, delay func(i int) time.Duration) []pkt {
	p := make([]pkt, n)
	for i := range p {
		p[i] = pkt{seq: seq0 + uint16(i), ts: ts0 + uint32(i)*160, arrival: time.Duration(i)*20*time.Millisecond + delay(i)}
	}
	return p
}

// run pushes the packets in arrival order and pops once every 20 ms (at 5 ms past each tick of
// t0) until end or until the last packet has played, all with injected times; it checks the
// counter invariant at every step.
func run(t *testing.T, b *Buffer, pk []pkt, end time.Duration) []out {
	t.Helper()
	pk = slices.Clone(pk)
	slices.SortStableFunc(pk, func(a, b pkt) int { return int(a.arrival - b.arrival) })
	var res []out
	i := 0
	for tick := 5 * time.Millisecond; tick < end; tick += 20 * time.Millisecond {
		for i < len(pk) && pk[i].arrival <= tick {
			b.Push(pk[i].seq, pk[i].ts, t0.Add(pk[i].arrival), []byte{byte(pk[i].seq), byte(pk[i].seq >> 8)})
			i++
		}
		if f, ok := b.Pop(t0.Add(tick)); ok {
			if !f.Missing && (len(f.Payload) != 2 || f.Payload[0] != byte(f.Seq) || f.Payload[1] != byte(f.Seq>>8)) {
				t.Fatalf("frame %d carries payload %x", f.Seq, f.Payload)
			}
			if f.Missing && f.Payload != nil {
				t.Fatalf("missing frame with payload")
			}
			res = append(res, out{f.Seq, f.TS, f.Missing, tick})
		}
		st := b.Stats()
		if st.Pushed != st.Played+st.Discarded+uint64(st.Buffered) {
			t.Fatalf("at %v: pushed %d != played %d + discarded %d + buffered %d", tick, st.Pushed, st.Played, st.Discarded, st.Buffered)
		}
		if i == len(pk) && st.Buffered == 0 {
			break
		}
	}
	return res
}

func played(res []out) []uint16 {
	var s []uint16
	for _, o := range res {
		if !o.missing {
			s = append(s, o.seq)
		}
	}
	return s
}

func seqs(from uint16, n int) []uint16 {
	s := make([]uint16, n)
	for i := range s {
		s[i] = from + uint16(i)
	}
	return s
}

func fixed(d time.Duration) func(int) time.Duration { return func(int) time.Duration { return d } }

var steady = Config{Min: 40 * time.Millisecond, Initial: 40 * time.Millisecond}

func TestInOrderTimestampPlayout(t *testing.T) {
	b := New(steady)
	pk := stream(100, 1000, 50000, fixed(3*time.Millisecond))
	res := run(t, b, pk, 2200*time.Millisecond)
	if got := played(res); !slices.Equal(got, seqs(1000, 100)) {
		t.Fatalf("played %v", got)
	}
	for i, o := range res {
		if o.missing || o.ts != 50000+uint32(i)*160 {
			t.Fatalf("frame %d = %+v", i, o)
		}
		// Frame i is sent at i·20 ms and plays at the first tick after arrival of the first
		// packet (3 ms) + 40 ms delay + i·20 ms.
		if want := time.Duration(i)*20*time.Millisecond + 45*time.Millisecond; o.at != want {
			t.Fatalf("frame %d played at %v, want %v", i, o.at, want)
		}
	}
	st := b.Stats()
	if st.Missing != 0 || st.Late != 0 || st.Discarded != 0 || st.Stretched+st.Shrunk != 0 {
		t.Fatalf("stats %+v", st)
	}
	if st.Delay != 40*time.Millisecond || st.Jitter != 0 {
		t.Fatalf("delay %v jitter %v", st.Delay, st.Jitter)
	}
}

// All packets arriving in one burst still play one per frame interval, by timestamp.
func TestBurstPlaysAtTimestampPace(t *testing.T) {
	b := New(Config{Initial: 40 * time.Millisecond, Fixed: true})
	pk := stream(10, 7, 0, func(i int) time.Duration { return -time.Duration(i) * 20 * time.Millisecond })
	res := run(t, b, pk, 400*time.Millisecond)
	if len(res) != 10 {
		t.Fatalf("%d frames", len(res))
	}
	for i, o := range res {
		if o.missing || o.seq != uint16(7+i) || o.at != time.Duration(i)*20*time.Millisecond+45*time.Millisecond {
			t.Fatalf("frame %d = %+v", i, o)
		}
	}
}

func TestReorderAndDuplicates(t *testing.T) {
	// J settles near 12 ms here, a 50 ms target: start at 60 ms so no adaptation is needed.
	b := New(Config{Initial: 60 * time.Millisecond})
	pk := stream(50, 0, 0, func(i int) time.Duration {
		if i%2 == 0 {
			return 25 * time.Millisecond // even packets overtaken by the next odd one
		}
		return 0
	})
	pk = append(pk, pk...) // every packet twice
	res := run(t, b, pk, 1200*time.Millisecond)
	if got := played(res); !slices.Equal(got, seqs(0, 50)) {
		t.Fatalf("played %v", got)
	}
	st := b.Stats()
	if st.Duplicate != 50 || st.Late != 0 || st.Missing != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLossConcealmentSignal(t *testing.T) {
	b := New(steady)
	pk := stream(30, 100, 8000, fixed(0))
	pk = slices.Delete(pk, 10, 12) // seq 110 and 111 lost
	res := run(t, b, pk, 700*time.Millisecond)
	if len(res) != 30 {
		t.Fatalf("%d frames", len(res))
	}
	for i, o := range res {
		if o.seq != uint16(100+i) || o.ts != 8000+uint32(i)*160 || o.missing != (i == 10 || i == 11) {
			t.Fatalf("frame %d = %+v", i, o)
		}
	}
	if st := b.Stats(); st.Missing != 2 || st.Played != 28 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLatePacketDiscarded(t *testing.T) {
	b := New(steady)
	pk := stream(30, 0, 0, func(i int) time.Duration {
		if i == 12 {
			return 150 * time.Millisecond
		}
		return 0
	})
	res := run(t, b, pk, 700*time.Millisecond)
	if !res[12].missing || res[12].seq != 12 {
		t.Fatalf("frame 12 = %+v", res[12])
	}
	// The spike raises J and so the target: the buffer may insert a frame (Stretched).
	st := b.Stats()
	if st.Late != 1 || st.Discarded != 1 || st.Missing != 1+st.Stretched || st.Played != 29 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSequenceAndTimestampWrap(t *testing.T) {
	b := New(steady)
	pk := stream(40, 65520, 0xffffff00, fixed(0))
	pk[20], pk[21] = pk[21], pk[20] // reorder across the wrap
	pk[20].arrival, pk[21].arrival = pk[21].arrival, pk[20].arrival
	res := run(t, b, pk, 900*time.Millisecond)
	if got := played(res); !slices.Equal(got, seqs(65520, 40)) {
		t.Fatalf("played %v", got)
	}
	if st := b.Stats(); st.Missing != 0 || st.Late != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// The delay follows the jitter: with transit times spread uniformly over 0..80 ms the target
// grows to about 4·J ≈ 107 ms (4 × the peak J, so up to ~150 ms) and few packets are late; when the jitter stops, the delay comes
// back down towards Min.
func TestAdaptiveDelay(t *testing.T) {
	b := New(Config{})
	r := rand.New(rand.NewPCG(1, 2))
	spread := make([]time.Duration, 1000)
	for i := range spread {
		if i < 500 {
			spread[i] = time.Duration(r.Float64() * float64(80*time.Millisecond))
		}
	}
	pk := stream(1000, 0, 0, func(i int) time.Duration { return spread[i] })
	res := run(t, b, pk[:500], 10*time.Second)
	st := b.Stats()
	if st.Jitter < 20*time.Millisecond || st.Jitter > 40*time.Millisecond {
		t.Errorf("jitter %v, want about 80 ms / 3", st.Jitter)
	}
	if st.Target < 80*time.Millisecond || st.Target > 160*time.Millisecond {
		t.Errorf("target %v", st.Target)
	}
	if st.Delay < st.Target-20*time.Millisecond || st.Delay > st.Target+20*time.Millisecond {
		t.Errorf("delay %v, target %v", st.Delay, st.Target)
	}
	if late := st.Late; late > 25 {
		t.Errorf("%d of 500 late", late)
	}
	if n := len(played(res)); n < 470 {
		t.Errorf("only %d of 500 played", n)
	}
	t.Logf("jittery: %+v", st)

	b = New(Config{})
	run(t, b, pk, 21*time.Second)
	st = b.Stats()
	if st.Delay > 40*time.Millisecond || st.Target != 20*time.Millisecond {
		t.Errorf("after the jitter stops: delay %v target %v", st.Delay, st.Target)
	}
	t.Logf("calm again: %+v", st)
}

// When the network delay jumps up and stays there, the buffer conceals while the packets are
// missing, moves its schedule later and then plays every packet again.
func TestDelayStep(t *testing.T) {
	b := New(steady)
	pk := stream(200, 0, 0, func(i int) time.Duration {
		if i >= 50 {
			return 120 * time.Millisecond
		}
		return 0
	})
	res := run(t, b, pk, 4500*time.Millisecond)
	got := played(res)
	if !slices.Equal(got, seqs(0, 200)) {
		t.Fatalf("played %v", got)
	}
	st := b.Stats()
	if st.Missing > 8 || st.Late != 0 {
		t.Fatalf("stats %+v", st)
	}
	if st.Delay < 20*time.Millisecond || st.Delay > 80*time.Millisecond {
		t.Fatalf("delay %v", st.Delay)
	}
}

// A pause in sending (DTX, hold) conceals at most maxUnderrun frames and then falls silent; the
// next talk spurt plays from its first packet.
func TestPauseAndResume(t *testing.T) {
	b := New(steady)
	pk := stream(20, 0, 0, fixed(0))
	// 2 s later in time, 2.4 s later in timestamp: the pause also moves the sender's clock.
	more := stream(20, 20, 20*160+2*8000, fixed(0))
	for i := range more {
		more[i].arrival += 2 * time.Second
	}
	res := run(t, b, append(pk, more...), 3500*time.Millisecond)
	if got := played(res); !slices.Equal(got, seqs(0, 40)) {
		t.Fatalf("played %v", got)
	}
	st := b.Stats()
	if st.Missing != maxUnderrun {
		t.Fatalf("missing %d, want %d", st.Missing, maxUnderrun)
	}
}

// A sender that restarts its sequence numbers far away is followed after two packets in a row
// (RFC 3550 A.1 probation); a single stray packet is dropped.
func TestResync(t *testing.T) {
	b := New(steady)
	pk := stream(20, 0, 0, fixed(0))
	stray := pkt{seq: 30000, ts: 5, arrival: 101 * time.Millisecond}
	next := stream(20, 40000, 1<<31, fixed(0))
	for i := range next {
		next[i].arrival += 600 * time.Millisecond
	}
	res := run(t, b, append(append(pk, stray), next...), 1500*time.Millisecond)
	got := played(res)
	if !slices.Equal(got[:20], seqs(0, 20)) || !slices.Equal(got[20:], seqs(40001, 19)) {
		t.Fatalf("played %v", got)
	}
	if st := b.Stats(); st.Resyncs != 1 || st.Discarded != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestOversizeAndDefaults(t *testing.T) {
	b := New(Config{MaxPayload: 4, Capacity: 5, Max: time.Millisecond})
	if len(b.slots) != 8 || b.cfg.Max != b.cfg.Min || b.cfg.Initial != b.cfg.Min {
		t.Fatalf("config %+v slots %d", b.cfg, len(b.slots))
	}
	b.Push(1, 0, t0, make([]byte, 5))
	if st := b.Stats(); st.Discarded != 1 || st.Buffered != 0 {
		t.Fatalf("stats %+v", st)
	}
	if _, ok := b.Pop(t0); ok {
		t.Fatal("frame before any packet")
	}
	// A packet beyond the capacity is not stored.
	b.Push(2, 0, t0, nil)
	b.Push(2+8, 0, t0, nil)
	if st := b.Stats(); st.Buffered != 1 || b.Len() != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestNoAllocsPerPacket(t *testing.T) {
	b := New(Config{})
	payload := make([]byte, 160)
	var i int
	step := func() {
		at := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		b.Push(uint16(i), uint32(i*160), at, payload)
		b.Pop(at)
		i++
	}
	for range 200 { // every slot's buffer grown once
		step()
	}
	if a := testing.AllocsPerRun(1000, step); a != 0 {
		t.Fatalf("%v allocations per packet", a)
	}
}

func BenchmarkPushPop(b *testing.B) {
	jb := New(Config{})
	payload := make([]byte, 160)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		at := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		jb.Push(uint16(i), uint32(i*160), at, payload)
		jb.Pop(at)
		i++
	}
}

// FuzzBuffer feeds arbitrary (seq, ts, arrival) packets and pop times: no panic, the counters
// add up, the buffer never holds more than its capacity or keeps more than MaxPayload per slot.
func FuzzBuffer(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 0, 0, 0, 20, 1, 0, 2, 0, 160, 0, 0, 20, 2, 0, 0, 0, 0, 0, 0, 20})
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add([]byte{0, 0x80, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x80, 0, 0, 0, 1, 0, 0x80, 1, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		b := New(Config{Capacity: 16, MaxPayload: 8})
		now := t0
		for len(data) >= 8 {
			op, seq := data[0], uint16(data[1])<<8|uint16(data[2])
			ts := uint32(data[3])<<24 | uint32(data[4])<<16 | uint32(data[5])<<8 | uint32(data[6])
			dt := time.Duration(int8(data[7])) * time.Millisecond
			data = data[8:]
			now = now.Add(dt)
			switch op % 3 {
			case 0, 1:
				b.Push(seq, ts, now, data[:min(len(data), int(op>>4))])
			case 2:
				if f, ok := b.Pop(now); ok && f.Missing && f.Payload != nil {
					t.Fatalf("frame %+v", f)
				}
			}
			st := b.Stats()
			if st.Buffered > 16 || st.Buffered < 0 || st.Pushed != st.Played+st.Discarded+uint64(st.Buffered) {
				t.Fatalf("stats %+v", st)
			}
		}
		for _, s := range b.slots {
			if cap(s.buf) > 64 {
				t.Fatalf("slot grew to %d", cap(s.buf))
			}
		}
	})
}

// A popped payload stays intact until the next Pop, whatever is pushed meanwhile: the stream
// decodes it outside its lock while the receive goroutine goes on pushing. Here every slot of
// the ring is written again (the packet Capacity sequence numbers on lands in the popped
// frame's own slot), and a resync restarts the buffer, before the next Pop.
func TestPoppedPayloadSurvivesPushes(t *testing.T) {
	b := New(Config{Capacity: 8, Initial: 20 * time.Millisecond, Fixed: true})
	payload := func(seq uint16) []byte { return []byte{byte(seq), byte(seq >> 8), 0xAA} }
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 20 * time.Millisecond) }
	b.Push(0, 0, at(0), payload(0))
	f, ok := b.Pop(at(2))
	if !ok || f.Missing || f.Seq != 0 {
		t.Fatalf("first pop %+v %v", f, ok)
	}
	held := f.Payload
	want := payload(0)
	for seq := uint16(1); seq <= 8; seq++ { // seq 8 goes into seq 0's slot
		b.Push(seq, uint32(seq)*160, at(2), payload(seq))
	}
	b.Push(5000, 5000*160, at(3), payload(5000)) // a jump: held back (RFC 3550 A.1 probation)
	b.Push(5001, 5001*160, at(3), payload(5001)) // confirmed: resync, slots rewritten
	if string(held) != string(want) {
		t.Fatalf("payload of the popped frame changed to %x before the next Pop, want %x", held, want)
	}
	if b.Stats().Resyncs != 1 {
		t.Fatalf("no resync: %+v", b.Stats())
	}
	// The next Pop takes the buffer back: it may be reused from then on.
	for i := 4; i < 20; i++ {
		if f, ok := b.Pop(at(i)); ok && !f.Missing {
			if int(f.Seq) < 5000 || string(f.Payload) != string(payload(f.Seq)) {
				t.Fatalf("pop %d: frame %d payload %x", i, f.Seq, f.Payload)
			}
		}
	}
}
