package media

import (
	"math/rand/v2"
	"testing"
	"time"
)

// A simulated ten-minute call where every wake-up oversleeps by up to 3 ms: the pacer must run
// exactly one tick per 20 ms of elapsed time, each at or after its deadline start+n·20ms and
// never more than one oversleep late, i.e. no drift.
func TestPacerNoDriftTenMinutes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Unix(1_700_000_000, 0)
	p := pacer{start: start, period: 20 * time.Millisecond}
	now := start
	end := start.Add(10 * time.Minute)
	var ticks int64
	for now.Before(end) {
		due, wait, skipped := p.poll(now)
		if skipped != 0 {
			t.Fatalf("skipped %d ticks at %v", skipped, now.Sub(start))
		}
		if !due {
			now = now.Add(wait + time.Duration(rng.Int64N(int64(3*time.Millisecond))))
			continue
		}
		dl := p.deadline(p.n)
		if now.Before(dl) || now.Sub(dl) > 3*time.Millisecond {
			t.Fatalf("tick %d ran at %v, deadline %v", p.n, now.Sub(start), dl.Sub(start))
		}
		p.n++
		ticks++
	}
	if want := int64(10 * time.Minute / (20 * time.Millisecond)); ticks != want {
		t.Fatalf("ran %d ticks in 10 minutes, want %d", ticks, want)
	}
}

// After a stall longer than maxCatchUp periods the pacer jumps ahead instead of bursting.
func TestPacerSkipsAfterStall(t *testing.T) {
	start := time.Unix(0, 0)
	p := pacer{start: start, period: 20 * time.Millisecond}
	if due, _, _ := p.poll(start); !due {
		t.Fatal("tick 0 not due at start")
	}
	p.n++
	// Stall for one second: ticks 1..50 are due; 49 periods behind tick 1.
	due, _, skipped := p.poll(start.Add(time.Second))
	if !due || skipped != 49 || p.n != 50 {
		t.Fatalf("after stall: due=%v skipped=%d n=%d, want true 49 50", due, skipped, p.n)
	}
	// A short delay (3 periods) is caught up tick by tick, not skipped.
	p.n = 51
	due, _, skipped = p.poll(p.deadline(51).Add(60 * time.Millisecond))
	if !due || skipped != 0 || p.n != 51 {
		t.Fatalf("short delay: due=%v skipped=%d n=%d", due, skipped, p.n)
	}
	if due, wait, _ := p.poll(p.deadline(51).Add(-5 * time.Millisecond)); due || wait != 5*time.Millisecond {
		t.Fatalf("early poll: due=%v wait=%v", due, wait)
	}
}

// Coalesced wake-ups land on the 4 ms grid and delay a stream's ticks by a constant, so they add
// no jitter.
func TestCoalesce(t *testing.T) {
	start := time.Unix(100, 1_234_567) // phase 1.234567 ms past the grid
	p := pacer{start: start, period: 20 * time.Millisecond}
	now := start
	var lag time.Duration
	for i := 0; i < 100; i++ {
		due, wait, _ := p.poll(now)
		if due {
			// Tick 0 runs at once; every later tick waits and lands on the grid.
			if l := now.Sub(p.deadline(p.n)); p.n > 1 && l != lag {
				t.Fatalf("tick %d late by %v, earlier ticks by %v", p.n, l, lag)
			} else if p.n == 1 {
				lag = l
			}
			p.n++
			continue
		}
		w := coalesce(now, wait)
		if w < wait || w >= wait+wakeGrid {
			t.Fatalf("coalesce(%v) = %v", wait, w)
		}
		now = now.Add(w)
		if now.UnixNano()%int64(wakeGrid) != 0 {
			t.Fatalf("woke off the grid at %v", now)
		}
	}
	if want := wakeGrid - 1_234_567; lag != want || p.n < 10 {
		t.Fatalf("constant lag %v, want %v", lag, want)
	}
}
