package media

import (
	"math"
	"testing"
	"time"
)

func TestRxStatsLossAndWrap(t *testing.T) {
	var s rxStats
	seq := uint16(65530)
	lost := 0
	for i := 0; i < 100; i++ {
		if i%10 == 3 {
			lost++
		} else {
			s.update(seq, uint32(i)*160, int64(i)*160, true)
		}
		seq++
	}
	if s.expected() != 100 || s.lost() != int64(lost) || s.cycles != 1<<16 {
		t.Fatalf("expected %d lost %d cycles %d", s.expected(), s.lost(), s.cycles)
	}
	if f := s.reportFraction(); f != uint8(lost*256/100) {
		t.Fatalf("fraction %d", f)
	}
	// Next interval without loss.
	for i := 100; i < 150; i++ {
		s.update(seq, uint32(i)*160, int64(i)*160, true)
		seq++
	}
	if f := s.reportFraction(); f != 0 {
		t.Fatalf("fraction %d", f)
	}
	// A reordered (older) packet counts as received but does not move max_seq.
	s.update(seq-20, 0, 0, true)
	if s.extendedMax() != 1<<16+uint32(seq-1) {
		t.Fatalf("max moved: %d", s.extendedMax())
	}
}

// A.8 jitter with transit alternating by 80 timestamp units converges to 80; computed with the
// recurrence J += (|D| − J)/16 in closed form: J_n = 80·(1 − (15/16)^n).
func TestRxStatsJitter(t *testing.T) {
	var s rxStats
	for i := 0; i < 200; i++ {
		extra := int64(0)
		if i%2 == 1 {
			extra = 80
		}
		s.update(uint16(i), uint32(i)*160, int64(i)*160+extra, true)
	}
	want := 80 * (1 - math.Pow(15.0/16, 199))
	if math.Abs(s.jitter-want) > 1e-6 {
		t.Fatalf("jitter %v, want %v", s.jitter, want)
	}
}

// After one step in transit time and a steady stream, J decays towards the subnormal range and
// is flushed to 0; what reports see (the RR jitter field and jitterDuration) stays that of the
// plain A.8 recurrence, computed here independently, at every packet, also when jitter returns.
func TestRxStatsJitterFlushUnobservable(t *testing.T) {
	var s rxStats
	j, haveLast, last := 0.0, false, int64(0) // the plain recurrence, no flush
	arrival := int64(0)
	for i := 0; i < 14000; i++ {
		ts := uint32(i) * 160
		switch {
		case i == 100:
			arrival += 7200 // a 900 ms step at 8 kHz
		case i > 13000:
			arrival += int64(i % 3)
		}
		s.update(uint16(i), ts, arrival, true)
		transit := arrival - int64(ts)
		if haveLast {
			j += (math.Abs(float64(transit-last)) - j) / 16
		}
		haveLast, last = true, transit
		if uint32(s.jitter) != uint32(j) || s.jitterDuration(8000) != time.Duration(j/8000*float64(time.Second)) {
			t.Fatalf("packet %d: J %g, plain A.8 %g", i, s.jitter, j)
		}
		if i == 13000 && (s.jitter != 0 || !(j > 0 && j < 0x1p-1022)) {
			t.Fatalf("J %g, plain %g: the plain recurrence should be subnormal here", s.jitter, j)
		}
		arrival += 160
	}
}
