package jitter

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

// diffPair drives the Buffer and the reference implementation (reference_test.go) with the
// same calls and fails on the first difference in a returned frame or in Stats.
type diffPair struct {
	t   *testing.T
	b   *Buffer
	ref *refBuffer
	ops int
}

func newDiffPair(t *testing.T, cfg Config) *diffPair {
	return &diffPair{t: t, b: New(cfg), ref: newRef(cfg)}
}

func (d *diffPair) push(seq uint16, ts uint32, at time.Time, payload []byte) {
	d.t.Helper()
	d.b.Push(seq, ts, at, payload)
	d.ref.Push(seq, ts, at, payload)
	d.compareStats("push")
}

func (d *diffPair) pop(at time.Time) {
	d.t.Helper()
	f, ok := d.b.Pop(at)
	rf, rok := d.ref.Pop(at)
	if ok && f.Missing != (f.Payload == nil) {
		d.t.Fatalf("op %d: Pop = %+v: Payload must be nil exactly when Missing", d.ops, f)
	}
	if ok != rok || f.Missing != rf.Missing || f.Seq != rf.Seq || f.TS != rf.TS ||
		(f.Payload == nil) != (rf.Payload == nil) || !bytes.Equal(f.Payload, rf.Payload) {
		d.t.Fatalf("op %d: Pop = %+v, %v; reference %+v, %v", d.ops, f, ok, rf, rok)
	}
	d.compareStats("pop")
}

func (d *diffPair) compareStats(what string) {
	d.t.Helper()
	d.ops++
	if st, rst := d.b.Stats(), d.ref.Stats(); st != rst || d.b.Len() != d.ref.Len() {
		d.t.Fatalf("op %d (%s): Stats %+v; reference %+v", d.ops, what, st, rst)
	}
}

// TestDifferentialRandomNetworks: over random networks whose jitter changes with time, with
// loss, duplicates, reordering, pauses, sequence jumps and several clock rates, the Buffer
// behaves exactly like the reference implementation.
func TestDifferentialRandomNetworks(t *testing.T) {
	configs := []Config{
		{},
		{Fixed: true},
		{ClockRate: 16000, Min: 10 * time.Millisecond, Max: 120 * time.Millisecond, Capacity: 16},
		{ClockRate: 48000, FrameDuration: 10 * time.Millisecond, Initial: 30 * time.Millisecond},
		{ClockRate: 44100, Capacity: 8, MaxPayload: 100},
		{ClockRate: 90000, FrameDuration: 33 * time.Millisecond},
	}
	seeds := uint64(30)
	if testing.Short() {
		seeds = 10
	}
	for ci, cfg := range configs {
		for seed := uint64(1); seed <= seeds; seed++ {
			r := rand.New(rand.NewPCG(seed, uint64(ci)))
			d := newDiffPair(t, cfg)
			rate := cfg.ClockRate
			if rate == 0 {
				rate = 8000
			}
			frame := cfg.FrameDuration
			if frame == 0 {
				frame = 20 * time.Millisecond
			}
			step := uint32(int64(rate) * int64(frame) / int64(time.Second))
			seq, ts := uint16(r.IntN(65536)), r.Uint32()
			sent := t0
			next := t0
			spread := time.Duration(r.IntN(80)) * time.Millisecond
			var pending []pkt
			for i := 0; i < 1500; i++ {
				if r.IntN(200) == 0 {
					spread = time.Duration(r.IntN(150)) * time.Millisecond
				}
				switch r.IntN(300) {
				case 0: // pause
					sent = sent.Add(time.Duration(r.IntN(3000)) * time.Millisecond)
					ts += uint32(r.IntN(30000))
				case 1: // sequence jump
					seq += uint16(r.IntN(65536))
				case 2: // timestamp jump
					ts += r.Uint32()
				}
				arr := sent.Sub(t0) + time.Duration(r.Float64()*float64(spread))
				if r.IntN(20) != 0 {
					pending = append(pending, pkt{seq, ts, arr})
					if r.IntN(25) == 0 {
						pending = append(pending, pkt{seq, ts, arr + time.Duration(r.IntN(60))*time.Millisecond})
					}
				}
				seq++
				ts += step
				sent = sent.Add(frame)
				// Deliver what has arrived by now (in arrival order), popping once per frame.
				for t0.Add(pendingMin(pending)).Before(sent) && len(pending) > 0 {
					k := 0
					for j := range pending {
						if pending[j].arrival < pending[k].arrival {
							k = j
						}
					}
					p := pending[k]
					pending = append(pending[:k], pending[k+1:]...)
					for !next.After(t0.Add(p.arrival)) {
						d.pop(next)
						next = next.Add(frame)
					}
					payload := make([]byte, r.IntN(120))
					payload = append(payload, byte(p.seq), byte(p.seq>>8))
					d.push(p.seq, p.ts, t0.Add(p.arrival), payload)
				}
			}
		}
	}
}

func pendingMin(p []pkt) time.Duration {
	if len(p) == 0 {
		return 0
	}
	m := p[0].arrival
	for _, q := range p[1:] {
		m = min(m, q.arrival)
	}
	return m
}

// TestTsNsMatchesReference checks the timestamp→nanosecond conversion against the reference's
// overflow-safe formula, including values far beyond any real call and negative ones.
func TestTsNsMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, rate := range []int{1, 7, 8000, 16000, 22050, 44100, 48000, 90000, 1 << 20} {
		b, ref := New(Config{ClockRate: rate}), newRef(Config{ClockRate: rate})
		vals := []int64{0, 1, -1, int64(rate) - 1, 1 << 33, -(1 << 33), 1<<33 + 1, 1<<40 + 12345, -(1<<40 + 12345), 1 << 62, -(1 << 62)}
		for range 2000 {
			vals = append(vals, r.Int64N(1<<uint(r.IntN(62)+1))*(1-2*int64(r.IntN(2))))
		}
		for _, v := range vals {
			if got, want := b.tsNs(v), ref.tsNs(v); got != want {
				t.Fatalf("rate %d: tsNs(%d) = %d, reference %d", rate, v, got, want)
			}
		}
	}
}

// FuzzDifferential feeds the same arbitrary operations (FuzzBuffer's encoding) to the Buffer and
// to the reference implementation: every frame and every Stats must match.
func FuzzDifferential(f *testing.F) {
	f.Add(byte(0), []byte{0, 0, 1, 0, 0, 0, 0, 20, 1, 0, 2, 0, 160, 0, 0, 20, 2, 0, 0, 0, 0, 0, 0, 20})
	f.Add(byte(1), []byte{0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add(byte(2), []byte{0, 0x80, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x80, 0, 0, 0, 1, 0, 0x80, 1, 0, 0, 0, 0, 1})
	f.Add(byte(3), []byte{0x30, 0, 1, 0x7f, 0, 0, 0, 0x7f, 0x31, 0, 2, 0xff, 0, 0, 0, 0x7f, 2, 0, 0, 0, 0, 0, 0, 0x7f})
	configs := []Config{
		{Capacity: 16, MaxPayload: 8},
		{Capacity: 16, MaxPayload: 8, Fixed: true},
		{ClockRate: 48000, Capacity: 4, MaxPayload: 8, Min: 5 * time.Millisecond},
		{ClockRate: 44100, Capacity: 32, MaxPayload: 8, FrameDuration: 10 * time.Millisecond},
	}
	f.Fuzz(func(t *testing.T, c byte, data []byte) {
		d := newDiffPair(t, configs[int(c)%len(configs)])
		now := t0
		for len(data) >= 8 {
			op, seq := data[0], uint16(data[1])<<8|uint16(data[2])
			ts := uint32(data[3])<<24 | uint32(data[4])<<16 | uint32(data[5])<<8 | uint32(data[6])
			dt := time.Duration(int8(data[7])) * time.Millisecond
			data = data[8:]
			now = now.Add(dt)
			switch op % 3 {
			case 0, 1:
				d.push(seq, ts, now, data[:min(len(data), int(op>>4))])
			case 2:
				d.pop(now)
			}
		}
	})
}

// TestDifferentialJitterDecay: a step in transit time followed by a perfectly steady stream
// makes J decay into the subnormal range, where the Buffer flushes it to 0; frames and Stats
// stay those of the reference, also when jitter returns afterwards.
func TestDifferentialJitterDecay(t *testing.T) {
	d := newDiffPair(t, Config{})
	at := t0
	seq, ts := uint16(1), uint32(0)
	send := func(n int, extra func(i int) time.Duration) {
		for i := 0; i < n; i++ {
			a := at.Add(extra(i))
			d.push(seq, ts, a, []byte{byte(seq)})
			d.pop(a)
			seq++
			ts += 160
			at = at.Add(20 * time.Millisecond)
		}
	}
	none := func(int) time.Duration { return 0 }
	send(100, none)
	at = at.Add(900 * time.Millisecond) // one step up in network delay
	send(13000, none)
	if d.b.jitter != 0 || !(d.ref.jitter > 0 && d.ref.jitter < 0x1p-1022) {
		t.Fatalf("J = %g, reference %g: the scenario should have driven the reference subnormal", d.b.jitter, d.ref.jitter)
	}
	send(300, func(i int) time.Duration { return time.Duration(i%7) * time.Millisecond })
	send(300, func(i int) time.Duration { return time.Duration(i%2) * time.Nanosecond })
}
