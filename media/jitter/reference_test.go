package jitter

// refBuffer is the jitter buffer exactly as it was before the receive-path optimisations
// (commit 2688227, media/jitter/buffer.go), kept only as the oracle of the differential tests in
// differential_test.go: the optimised Buffer must return the same frames and Stats for every
// input sequence.

import (
	"math"
	"time"
)

type refSlot struct {
	present bool
	seq     int64 // extended
	ts      uint32
	tsExt   int64
	buf     []byte
}

// refBuffer is an adaptive jitter buffer. It is not safe for concurrent use: the caller's lock or
// goroutine owns it. After the first Push it allocates nothing per packet.
type refBuffer struct {
	cfg      Config
	rate     int64
	frameNs  int64
	frameTS  int64
	minNs    int64
	maxNs    int64
	slots    []refSlot
	mask     int64
	started  bool
	popped   bool
	t0       time.Time
	firstTS  uint32
	maxSeq   int64 // highest extended seq stored
	maxTSExt int64
	playSeq  int64 // next extended seq to play
	playTS   int64 // its (expected) extended timestamp
	step     int64 // timestamp units per frame, learned from consecutive packets
	m        int64 // playout time of extended ts 0, ns since t0
	badSeq   int32 // RFC 3550 A.1 probation: the seq that would confirm a jump, -1 none
	count    int
	pops     uint64
	lastAdj  uint64
	underrun int

	haveTransit bool
	lastTransit int64
	jitter      float64 // ns

	mins     [minBuckets]int64
	jpeak    [minBuckets]float64
	minSet   [minBuckets]bool
	minEpoch int64 // index of the current bucket: arrival / minWindow

	st Stats
}

// New returns an empty refBuffer for cfg.
func newRef(cfg Config) *refBuffer {
	if cfg.ClockRate <= 0 {
		cfg.ClockRate = 8000
	}
	if cfg.FrameDuration <= 0 {
		cfg.FrameDuration = 20 * time.Millisecond
	}
	if cfg.Min <= 0 {
		cfg.Min = 20 * time.Millisecond
	}
	if cfg.Max <= 0 {
		cfg.Max = 200 * time.Millisecond
	}
	cfg.Max = max(cfg.Max, cfg.Min)
	if cfg.Initial <= 0 {
		cfg.Initial = 60 * time.Millisecond
	}
	cfg.Initial = min(max(cfg.Initial, cfg.Min), cfg.Max)
	if cfg.Capacity <= 0 {
		cfg.Capacity = 64
	}
	capacity := 1
	for capacity < cfg.Capacity && capacity < 1<<14 {
		capacity <<= 1
	}
	cfg.Capacity = capacity
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = 1500
	}
	b := &refBuffer{
		cfg:     cfg,
		rate:    int64(cfg.ClockRate),
		frameNs: int64(cfg.FrameDuration),
		minNs:   int64(cfg.Min),
		maxNs:   int64(cfg.Max),
		slots:   make([]refSlot, capacity),
		mask:    int64(capacity - 1),
		badSeq:  -1,
	}
	b.frameTS = max(1, b.rate*b.frameNs/int64(time.Second))
	b.step = b.frameTS
	return b
}

// tsNs converts timestamp units to nanoseconds without overflowing for long calls.
func (b *refBuffer) tsNs(ts int64) int64 {
	return ts/b.rate*int64(time.Second) + ts%b.rate*int64(time.Second)/b.rate
}

// Push stores one received packet. payload is copied.
func (b *refBuffer) Push(seq uint16, ts uint32, arrival time.Time, payload []byte) {
	b.st.Pushed++
	if len(payload) > b.cfg.MaxPayload {
		b.st.Discarded++
		return
	}
	if !b.started {
		b.started = true
		b.t0 = arrival
		b.firstTS = ts
		b.maxSeq = int64(seq)
		b.playSeq = int64(seq)
		b.m = int64(b.cfg.Initial)
	}
	now := int64(arrival.Sub(b.t0))
	e := b.maxSeq + int64(int16(seq-uint16(b.maxSeq)))
	tsExt := b.maxTSExt + int64(int32(ts-b.firstTS-uint32(b.maxTSExt)))
	if b.underrun >= maxUnderrun && b.count == 0 {
		// The first packet after a pause: its transit time says nothing about jitter.
		b.haveTransit = false
	}
	b.updateJitter(now, tsExt)
	b.noteTransit(now, now-b.tsNs(tsExt))

	diff := e - b.playSeq
	if diff >= int64(len(b.slots)) || diff < -maxMisorder {
		// Far from where playout is: either a stray packet or a restarted stream. As in RFC 3550
		// A.1, a second packet in sequence after it confirms the jump.
		if b.badSeq >= 0 && uint16(b.badSeq) == seq {
			b.resync(e, tsExt, now)
		} else {
			b.badSeq = int32(seq + 1)
			b.st.Discarded++
			return
		}
	} else if diff < 0 {
		if !b.popped && -diff < int64(len(b.slots))-int64(b.maxSeq-b.playSeq) {
			// Before the first Pop a packet that overtook an earlier one moves the start back.
			b.playSeq = e
			b.playTS = tsExt
		} else {
			b.st.Late++
			b.st.Discarded++
			return
		}
	}
	b.badSeq = -1

	s := &b.slots[e&b.mask]
	if s.present {
		if s.seq == e {
			b.st.Duplicate++
			b.st.Discarded++
			return
		}
		// A leftover of an older sequence (cannot normally happen; keeps the count honest).
		s.present = false
		b.count--
		b.st.Discarded++
	}
	s.present = true
	s.seq = e
	s.ts = ts
	s.tsExt = tsExt
	s.buf = append(s.buf[:0], payload...)
	if s.buf == nil {
		// Frame's contract (non-nil Payload unless Missing), which the Buffer keeps since it
		// lends popped buffers out; the replaced implementation returned nil for an empty
		// payload in a slot never used before.
		s.buf = []byte{}
	}
	b.count++
	if e > b.maxSeq {
		b.maxSeq = e
	}
	if tsExt > b.maxTSExt {
		b.maxTSExt = tsExt
	}
	if e == b.playSeq && !b.popped {
		b.playTS = tsExt
	}
	if b.underrun >= maxUnderrun && b.count == 1 {
		// The sender comes back after a pause: restart the schedule here at the target delay
		// rather than conceal what the pause skipped or carry the shift the underrun left.
		b.m = b.minTransit(now, tsExt) + b.target()
		b.playSeq = e
		b.playTS = tsExt
		b.underrun = 0
	}
}

// resync restarts the buffer at extended sequence e: everything held is discarded.
func (b *refBuffer) resync(e, tsExt, now int64) {
	for i := range b.slots {
		if b.slots[i].present {
			b.slots[i].present = false
			b.st.Discarded++
		}
	}
	b.count = 0
	b.st.Resyncs++
	b.maxSeq = e
	b.maxTSExt = tsExt
	b.playSeq = e
	b.playTS = tsExt
	b.step = b.frameTS
	b.minSet = [minBuckets]bool{}
	b.noteTransit(now, now-b.tsNs(tsExt))
	b.m = now - b.tsNs(tsExt) + b.target()
	b.underrun = 0
}

// updateJitter is RFC 3550 A.8: J += (|D| - J)/16 with D the change in transit time between
// consecutive arrivals, here in nanoseconds.
func (b *refBuffer) updateJitter(now, tsExt int64) {
	transit := now - b.tsNs(tsExt)
	if b.haveTransit {
		d := float64(transit - b.lastTransit)
		b.jitter += (math.Abs(d) - b.jitter) / 16
	}
	b.haveTransit = true
	b.lastTransit = transit
}

// noteTransit keeps the minimum transit time per minWindow bucket of arrival time.
func (b *refBuffer) noteTransit(now, transit int64) {
	epoch := now / int64(minWindow)
	if epoch != b.minEpoch {
		// Clear the buckets skipped since the last packet (all of them after a long gap).
		for k := b.minEpoch + 1; k <= epoch && k-b.minEpoch <= minBuckets; k++ {
			b.minSet[((k%minBuckets)+minBuckets)%minBuckets] = false
		}
		if epoch < b.minEpoch { // arrival times went backwards: start over
			b.minSet = [minBuckets]bool{}
		}
		b.minEpoch = epoch
	}
	i := ((epoch % minBuckets) + minBuckets) % minBuckets
	if !b.minSet[i] {
		b.mins[i], b.jpeak[i], b.minSet[i] = transit, b.jitter, true
	}
	b.mins[i] = min(b.mins[i], transit)
	b.jpeak[i] = max(b.jpeak[i], b.jitter)
}

// minTransit is the lowest transit time of the last minBuckets windows (the packets that waited
// least in the network); with none recorded, that of a packet of tsExt arriving now.
func (b *refBuffer) minTransit(now, tsExt int64) int64 {
	best, ok := int64(0), false
	for i, set := range b.minSet {
		if set && (!ok || b.mins[i] < best) {
			best, ok = b.mins[i], true
		}
	}
	if !ok {
		return now - b.tsNs(tsExt)
	}
	return best
}

// target is the playout delay the buffer steers to: 4·J, which covers a uniform spread of
// transit times (J is a third of its width) and 4.5 standard deviations of a normal one, kept in
// [Min, Max]. J is taken as its peak over the last minBuckets windows (2 s), so the target
// rises at once with the jitter but falls only once the jitter has stayed low, and the noise of
// the J estimate does not make the delay swing.
func (b *refBuffer) target() int64 {
	if b.cfg.Fixed {
		return int64(b.cfg.Initial)
	}
	j := b.jitter
	for i, set := range b.minSet {
		if set {
			j = max(j, b.jpeak[i])
		}
	}
	return min(max(int64(4*j), b.minNs), b.maxNs)
}

// Pop returns the frame to play at now, if one is due. Call it once per frame interval. A
// Missing frame asks the caller to conceal; false means nothing is due (before the first packet,
// while the next frame's time has not come, or after a long silence from the sender).
//
// The delay changes only at a frame that is due, at most once per adaptEvery calls: when it is
// more than half a frame below the target a Missing frame is inserted before the due one
// (stretch); when it is more than a frame above the target and two or more packets wait, the due
// frame is dropped and the next one plays in its refSlot (shrink).
func (b *refBuffer) Pop(now time.Time) (Frame, bool) {
	if !b.started {
		return Frame{}, false
	}
	b.pops++
	t := int64(now.Sub(b.t0))

	s := &b.slots[b.playSeq&b.mask]
	present := s.present && s.seq == b.playSeq
	headTS := b.playTS
	if present {
		headTS = s.tsExt
	}
	if b.m+b.tsNs(headTS) > t {
		return Frame{}, false
	}

	if !b.cfg.Fixed && b.st.Pushed >= warmup && b.pops-b.lastAdj >= adaptEvery && b.underrun == 0 && b.count > 0 {
		d := b.m - b.minTransit(t, headTS)
		tg := b.target()
		switch {
		case d < tg-b.frameNs/2:
			b.m += b.frameNs
			b.lastAdj = b.pops
			b.st.Stretched++
			return b.missing(), true
		case d > tg+b.frameNs && b.count >= 2:
			b.m -= b.frameNs
			b.lastAdj = b.pops
			b.st.Shrunk++
			if present {
				s.present = false
				b.count--
				b.st.Discarded++
			}
			b.advance(headTS)
			s = &b.slots[b.playSeq&b.mask]
			present = s.present && s.seq == b.playSeq
			if present {
				headTS = s.tsExt
			} else {
				headTS = b.playTS
			}
			if b.m+b.tsNs(headTS) > t {
				return Frame{}, false
			}
		}
	}

	if present {
		s.present = false
		b.count--
		b.underrun = 0
		b.st.Played++
		f := Frame{Payload: s.buf, Seq: uint16(s.seq), TS: s.ts}
		b.advance(s.tsExt)
		return f, true
	}
	if b.count > 0 {
		// A later packet is here, so this one is lost (or late): conceal it and move on.
		b.underrun = 0
		f := b.missing()
		b.advance(b.playTS)
		return f, true
	}
	// Nothing buffered: conceal and push the schedule one frame later, which grows the delay
	// when packets have started to arrive later than before.
	if b.underrun >= maxUnderrun {
		return Frame{}, false
	}
	b.underrun++
	b.m += b.frameNs
	return b.missing(), true
}

func (b *refBuffer) missing() Frame {
	b.st.Missing++
	return Frame{Missing: true, Seq: uint16(b.playSeq), TS: uint32(b.playTS) + b.firstTS}
}

// advance moves playout past the frame at extended timestamp ts.
func (b *refBuffer) advance(ts int64) {
	b.popped = true
	b.playSeq++
	next := &b.slots[b.playSeq&b.mask]
	if next.present && next.seq == b.playSeq {
		if d := next.tsExt - ts; d > 0 && d <= 8*b.frameTS {
			b.step = d
		}
		b.playTS = next.tsExt
	} else {
		b.playTS = ts + b.step
	}
}

// Stats returns the counters.
func (b *refBuffer) Stats() Stats {
	st := b.st
	st.Buffered = b.count
	st.Jitter = time.Duration(b.jitter)
	st.Target = time.Duration(b.target())
	if b.started {
		st.Delay = time.Duration(b.m - b.minTransit(b.lastTransit+b.tsNs(b.playTS), b.playTS))
	}
	return st
}

// Len is the number of packets held.
func (b *refBuffer) Len() int { return b.count }
