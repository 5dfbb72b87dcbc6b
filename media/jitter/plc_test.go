package jitter

import (
	"math"
	"testing"
)

func sine(freq float64, n, phase0 int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(10000 * math.Sin(2*math.Pi*freq*float64(i+phase0)/8000))
	}
	return out
}

func rms(pcm []int16) float64 {
	var e float64
	for _, v := range pcm {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(pcm)))
}

// A 400 Hz tone has a 20-sample period: the first 10 ms of concealment continue it exactly;
// then the level falls by 20% per 10 ms and is zero from 60 ms on.
func TestConcealerContinuesAndFades(t *testing.T) {
	c := NewConcealer(8000)
	c.Good(sine(400, 160, 0))
	c.Good(sine(400, 160, 160))
	got := c.Conceal(nil, 80)
	want := sine(400, 80, 320)
	for i := range want {
		if d := int(got[i]) - int(want[i]); d < -1 || d > 1 {
			t.Fatalf("sample %d = %d, want %d", i, got[i], want[i])
		}
	}
	got = c.Conceal(got, 80)  // 10-20 ms: 100% -> 80%
	got = c.Conceal(got, 320) // 20-60 ms: 80% -> 0%
	got = c.Conceal(got, 160) // 60-80 ms: silent
	full := rms(want)
	if r := rms(got[80:160]) / full; r < 0.85 || r > 0.95 {
		t.Errorf("10-20 ms at %.2f of the level", r)
	}
	if r := rms(got[320:400]) / full; r < 0.25 || r > 0.35 { // gain 0.4 -> 0.2
		t.Errorf("40-50 ms at %.2f of the level", r)
	}
	if r := rms(got[480:]); r != 0 {
		t.Errorf("after 60 ms rms %v", r)
	}
	// A good frame ends the concealment.
	c.Good(sine(400, 160, 0))
	if out := c.Conceal(nil, 20); rms(out) < 0.9*full {
		t.Errorf("after recovery rms %v", rms(out))
	}
}

func TestConcealerWithoutHistory(t *testing.T) {
	c := NewConcealer(0)
	out := c.Conceal(nil, 160)
	if len(out) != 160 || rms(out) != 0 {
		t.Fatalf("got %d samples rms %v", len(out), rms(out))
	}
	c.Good(make([]int16, 1000)) // silence: concealment stays silent
	if out := c.Conceal(nil, 160); rms(out) != 0 {
		t.Fatalf("rms %v", rms(out))
	}
}
