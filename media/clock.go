package media

import "time"

// Clock is the time source of a stream. Now must carry a monotonic reading (time.Now does) so
// that pacing does not follow wall-clock steps; After fires once d has elapsed.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// SystemClock is the real monotonic clock.
func SystemClock() Clock { return systemClock{} }

// maxCatchUp is how many missed ticks a pacer still runs back to back after a stall; beyond it
// the schedule jumps forward (the RTP timestamp still advances by the skipped time, RFC 3550
// §5.1), so a stalled process does not burst seconds of audio at the peer.
const maxCatchUp = 10

// pacer schedules tick n at start + n·period. Deadlines come from the start time, never from
// the previous wake-up, so oversleeping does not accumulate into drift.
type pacer struct {
	start  time.Time
	period time.Duration
	n      int64 // next tick to run
}

// poll says whether tick p.n is due at now; if not, how long to wait for it. When the pacer
// has fallen more than maxCatchUp ticks behind it skips ahead and reports how many ticks it
// skipped.
func (p *pacer) poll(now time.Time) (due bool, wait time.Duration, skipped int64) {
	deadline := p.start.Add(time.Duration(p.n) * p.period)
	late := now.Sub(deadline)
	if late < 0 {
		return false, -late, 0
	}
	if behind := int64(late / p.period); behind > maxCatchUp {
		skipped = behind
		p.n += behind
	}
	return true, 0, skipped
}

// deadline is the scheduled time of tick n.
func (p *pacer) deadline(n int64) time.Time { return p.start.Add(time.Duration(n) * p.period) }

// wakeGrid aligns the wake-ups of all streams in a process to a common 4 ms grid (of wall-clock
// phase). Go fires timers that fall due together in one pass, so a thousand streams cost about
// 250 thread wake-ups a second instead of 50 000; and because 20 ms is a multiple of the grid,
// each stream's ticks are delayed by the same constant (< 4 ms), which adds no jitter.
const wakeGrid = 4 * time.Millisecond

// coalesce extends wait so that now+wait falls on the wake grid.
func coalesce(now time.Time, wait time.Duration) time.Duration {
	if r := now.Add(wait).UnixNano() % int64(wakeGrid); r != 0 {
		if r < 0 {
			r += int64(wakeGrid)
		}
		wait += wakeGrid - time.Duration(r)
	}
	return wait
}
