package media

import (
	"math/rand/v2"
	"testing"

	"github.com/pion/transport/v2/replaydetector"
)

// replayDifferential runs one sequence of (index, authentic) steps through our window and
// pion's reference detector and fails on the first different decision.
func replayDifferential(t testing.TB, size int, maxIndex uint64, steps []uint64, authentic func(int) bool) {
	var hit bool
	ours := newReplayWindow(size, maxIndex, &hit)
	ref := replaydetector.New(uint(size), maxIndex)
	for i, idx := range steps {
		hit = false
		accO, okO := ours.Check(idx)
		accR, okR := ref.Check(idx)
		if okO != okR {
			t.Fatalf("step %d index %d: ours ok=%v, pion ok=%v", i, idx, okO, okR)
		}
		if hit == okO {
			t.Fatalf("step %d index %d: hit flag %v with ok=%v", i, idx, hit, okO)
		}
		if okO && authentic(i) {
			accO()
			accR()
		}
	}
}

// Our replay window against pion's replaydetector.New (the RFC 3711 §3.3.2 window pion uses
// by default) on random walks: in-order runs, reordering, duplicates, jumps beyond the window,
// indices above the maximum, and packets that fail authentication (Check without accept).
func TestReplayWindowMatchesPion(t *testing.T) {
	for _, size := range []int{64, srtcpReplayWindow, srtpReplayWindow} {
		for seed := range uint64(20) {
			r := rand.New(rand.NewPCG(seed, uint64(size)))
			const maxIndex = 1<<48 - 1
			steps := make([]uint64, 20000)
			var cur uint64
			for i := range steps {
				switch k := r.IntN(100); {
				case k < 60:
					cur++
				case k < 75:
					cur -= min(cur, uint64(r.IntN(2*size)))
				case k < 85:
					cur += uint64(r.IntN(3 * size))
				case k < 90:
					// repeat the previous index
				case k < 92:
					cur = uint64(maxIndex) - uint64(r.IntN(4))
				case k < 93:
					cur = uint64(maxIndex) + 1 + uint64(r.IntN(4))
				default:
					cur += uint64(r.IntN(5))
				}
				steps[i] = cur
				if cur > maxIndex-8 {
					cur = uint64(r.IntN(1 << 20)) // start again low: everything there is old now
				}
			}
			replayDifferential(t, size, maxIndex, steps, func(int) bool { return r.IntN(10) != 0 })
		}
	}
}

// The window allocates nothing per packet (pion's returns a closure from every Check).
func TestReplayWindowNoAlloc(t *testing.T) {
	var hit bool
	w := newReplayWindow(srtpReplayWindow, 1<<48-1, &hit)
	idx := uint64(0)
	if n := testing.AllocsPerRun(1000, func() {
		idx++
		if acc, ok := w.Check(idx); ok {
			acc()
		}
		_, _ = w.Check(idx) // replay
	}); n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
}

// FuzzReplayWindow: any sequence of 16-bit steps decides as pion's detector does.
func FuzzReplayWindow(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 0, 1, 3, 0, 0, 2}, uint8(0xff))
	f.Add([]byte{0xff, 0xff, 0, 1, 0x80, 0, 0, 5}, uint8(0x0f))
	f.Fuzz(func(t *testing.T, data []byte, authMask uint8) {
		steps := make([]uint64, 0, len(data)/2)
		for i := 0; i+1 < len(data); i += 2 {
			steps = append(steps, uint64(data[i])<<8|uint64(data[i+1]))
		}
		replayDifferential(t, srtcpReplayWindow, 40000, steps, func(i int) bool { return authMask>>(i%8)&1 == 1 })
	})
}
