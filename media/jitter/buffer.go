package jitter

import (
	"math"
	"time"
)

// Config tunes a Buffer. The zero value takes the defaults noted on each field.
type Config struct {
	// ClockRate is the RTP clock rate of the payload (default 8000).
	ClockRate int
	// FrameDuration is the packet interval, the unit in which the delay grows or shrinks
	// (default 20 ms).
	FrameDuration time.Duration
	// Min and Max bound the playout delay (defaults 20 ms and 200 ms; Max is raised to Min).
	Min, Max time.Duration
	// Initial is the playout delay before any jitter is measured (default 60 ms, kept in
	// [Min, Max]).
	Initial time.Duration
	// Capacity is the most packets held (default 64, rounded up to a power of two). A packet
	// further ahead of the playout point than Capacity is not stored.
	Capacity int
	// Fixed keeps the delay at Initial: no stretching or shrinking for jitter (an empty buffer
	// still moves the schedule later, as it must to play late packets at all).
	Fixed bool
	// MaxPayload is the largest payload stored (default 1500 octets); larger ones are
	// discarded, which bounds the buffer's memory at Capacity × MaxPayload.
	MaxPayload int
}

// Frame is one playout interval's worth of audio.
type Frame struct {
	// Payload is the packet's payload, nil when Missing. It stays valid until the next Pop,
	// whatever is pushed meanwhile: Pop lends the slot's buffer out and takes back the one it
	// lent before, so the caller may decode it outside the lock that guards the Buffer as long
	// as only its own goroutine pops.
	Payload []byte
	// Missing says no packet is there to play: the caller conceals (repeats/attenuates the last
	// frame, see Concealer). Seq and TS are then the expected values.
	Missing bool
	Seq     uint16
	TS      uint32
}

// Stats are the counters of a Buffer. Every pushed packet ends in exactly one of Played,
// Discarded or Buffered.
type Stats struct {
	Pushed    uint64 // packets given to Push
	Played    uint64 // packets returned by Pop
	Discarded uint64 // packets never played: Late + Duplicate + the rest (overflow, resync, shrink)
	Late      uint64 // arrived after their slot had been played or concealed
	Duplicate uint64 // a copy of a buffered packet
	Missing   uint64 // Missing frames returned (losses, underruns and stretches)
	Stretched uint64 // frames inserted to grow the delay (among Missing)
	Shrunk    uint64 // frames dropped to shrink the delay (among Discarded)
	Resyncs   uint64 // sequence jumps that restarted the buffer (RFC 3550 A.1 style)
	Buffered  int    // packets held now
	// Jitter is the RFC 3550 §6.4.1 interarrival jitter estimate.
	Jitter time.Duration
	// Delay is the current playout delay: how long a packet arriving with the lowest recent
	// transit time waits before it plays. Target is where Delay is being moved.
	Delay, Target time.Duration
}

const (
	// maxMisorder is how far behind the playout point a packet may be and still count as late
	// rather than as a restarted stream (RFC 3550 A.1 MAX_MISORDER).
	maxMisorder = 100
	// adaptEvery is the number of Pop calls between two delay changes, so one change shows in
	// the measured delay before the next.
	adaptEvery = 5
	// warmup is how many packets must have arrived before the delay adapts: J starts at 0 and
	// its 1/16 filter needs a few dozen samples to settle, so until then Initial holds.
	warmup = 50
	// maxUnderrun is how many consecutive frames an empty buffer conceals before Pop falls
	// silent (the sender may have stopped or be in DTX).
	maxUnderrun = 10
	// The minimum transit time is tracked over minBuckets windows of minWindow each.
	minBuckets = 8
	minWindow  = 250 * time.Millisecond
	// jitterFloor is the J (in ns) below which it is flushed to 0, see updateJitter.
	jitterFloor = 0x1p-60
)

type slot struct {
	present bool
	seq     int64 // extended
	ts      uint32
	tsExt   int64
	buf     []byte
}

// Buffer is an adaptive jitter buffer. It is not safe for concurrent use: the caller's lock or
// goroutine owns it. After the first Push it allocates nothing per packet.
type Buffer struct {
	cfg      Config
	rate     int64
	frameNs  int64
	frameTS  int64
	minNs    int64
	maxNs    int64
	slots    []slot
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

	// Aggregates of the buckets above, kept up to date by noteTransit so that Pop reads them
	// instead of scanning the buckets: aggOK false means they must be recomputed (a bucket was
	// cleared). minBest is valid when minAny; peakJ is 0 when no bucket is set.
	aggOK   bool
	minAny  bool
	minBest int64
	peakJ   float64

	// nsPerTS is 10⁹/ClockRate when that is an integer (8, 16, 32, 48 kHz...), else 0.
	nsPerTS int64

	// lent is the buffer of the last frame Pop returned, out of every slot until the next Pop.
	lent []byte

	st Stats
}

// New returns an empty Buffer for cfg.
func New(cfg Config) *Buffer {
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
	b := &Buffer{
		cfg:     cfg,
		rate:    int64(cfg.ClockRate),
		frameNs: int64(cfg.FrameDuration),
		minNs:   int64(cfg.Min),
		maxNs:   int64(cfg.Max),
		slots:   make([]slot, capacity),
		mask:    int64(capacity - 1),
		badSeq:  -1,
	}
	b.frameTS = max(1, b.rate*b.frameNs/int64(time.Second))
	b.step = b.frameTS
	if int64(time.Second)%b.rate == 0 {
		b.nsPerTS = int64(time.Second) / b.rate
	}
	b.aggOK = true // no bucket set: nothing to aggregate
	return b
}

// tsNs converts timestamp units to nanoseconds without overflowing for long calls. The
// per-packet cases avoid division: with ts = q·rate + r the exact result q·10⁹ + ⌊r·10⁹/rate⌋
// equals ts·(10⁹/rate) when rate divides 10⁹, and ⌊ts·10⁹/rate⌋ (truncated, for either sign)
// whenever ts·10⁹ fits in an int64.
func (b *Buffer) tsNs(ts int64) int64 {
	if b.nsPerTS != 0 {
		return ts * b.nsPerTS
	}
	if -(1<<33) < ts && ts < 1<<33 {
		return ts * int64(time.Second) / b.rate
	}
	return ts/b.rate*int64(time.Second) + ts%b.rate*int64(time.Second)/b.rate
}

// Push stores one received packet. payload is copied.
func (b *Buffer) Push(seq uint16, ts uint32, arrival time.Time, payload []byte) {
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
	transit := now - b.tsNs(tsExt)
	b.updateJitter(transit)
	b.noteTransit(now, transit)

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
		// An empty payload into a buffer never grown (or the nil first lent by Pop): a frame
		// that is not Missing has a non-nil Payload.
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
func (b *Buffer) resync(e, tsExt, now int64) {
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
	b.aggOK = false
	transit := now - b.tsNs(tsExt)
	b.noteTransit(now, transit)
	b.m = transit + b.target()
	b.underrun = 0
}

// updateJitter is RFC 3550 A.8: J += (|D| - J)/16 with D the change in transit time between
// consecutive arrivals, here in nanoseconds.
func (b *Buffer) updateJitter(transit int64) {
	if b.haveTransit {
		d := float64(transit - b.lastTransit)
		b.jitter += (math.Abs(d) - b.jitter) / 16
		if b.jitter < jitterFloor {
			// After a jump in transit time followed by a perfectly steady stream, J decays by
			// 15/16 per packet into the subnormal range and sticks there, where every float
			// operation on it is a slow microcode assist. Below jitterFloor it is observably 0:
			// 4·J and J truncate to 0 ns, and the next nonzero |D| ≥ 1 ns yields exactly |D|/16
			// from it as from 0 (it is under half an ulp of both |D| and |D|/16).
			b.jitter = 0
		}
	}
	b.haveTransit = true
	b.lastTransit = transit
}

// noteTransit keeps the minimum transit time per minWindow bucket of arrival time.
func (b *Buffer) noteTransit(now, transit int64) {
	epoch := now / int64(minWindow)
	if epoch != b.minEpoch {
		// Clear the buckets skipped since the last packet (all of them after a long gap).
		for k := b.minEpoch + 1; k <= epoch && k-b.minEpoch <= minBuckets; k++ {
			b.minSet[k&(minBuckets-1)] = false
		}
		if epoch < b.minEpoch { // arrival times went backwards: start over
			b.minSet = [minBuckets]bool{}
		}
		b.minEpoch = epoch
		b.aggOK = false
	}
	// minBuckets is a power of two, so the mask is the non-negative remainder for any epoch.
	i := epoch & (minBuckets - 1)
	if !b.minSet[i] {
		b.mins[i], b.jpeak[i], b.minSet[i] = transit, b.jitter, true
		b.aggOK = false
	}
	// J is never NaN, so plain comparisons replace max, which must order NaN and ±0.
	if transit < b.mins[i] {
		b.mins[i] = transit
	}
	if b.jitter > b.jpeak[i] {
		b.jpeak[i] = b.jitter
	}
	if b.aggOK {
		// Within a window a bucket's minimum only falls and its peak only rises, so the
		// aggregates over all buckets follow from this one bucket.
		b.minBest = min(b.minBest, b.mins[i])
		if b.jpeak[i] > b.peakJ {
			b.peakJ = b.jpeak[i]
		}
	} else {
		b.aggregate()
	}
}

// aggregate recomputes minBest and peakJ over the buckets that are set.
func (b *Buffer) aggregate() {
	b.minAny, b.minBest, b.peakJ = false, 0, 0
	for i, set := range b.minSet {
		if set {
			if !b.minAny || b.mins[i] < b.minBest {
				b.minBest = b.mins[i]
			}
			b.minAny = true
			b.peakJ = max(b.peakJ, b.jpeak[i])
		}
	}
	b.aggOK = true
}

// minTransit is the lowest transit time of the last minBuckets windows (the packets that waited
// least in the network); with none recorded, that of a packet of tsExt arriving now.
func (b *Buffer) minTransit(now, tsExt int64) int64 {
	if !b.aggOK {
		b.aggregate()
	}
	if !b.minAny {
		return now - b.tsNs(tsExt)
	}
	return b.minBest
}

// target is the playout delay the buffer steers to: 4·J, which covers a uniform spread of
// transit times (J is a third of its width) and 4.5 standard deviations of a normal one, kept in
// [Min, Max]. J is taken as its peak over the last minBuckets windows (2 s), so the target
// rises at once with the jitter but falls only once the jitter has stayed low, and the noise of
// the J estimate does not make the delay swing.
//
// It is computed when asked for (every adaptEvery frames at most, and on a restart) rather than
// on every Push, which keeps Push — once per received packet — cheap.
func (b *Buffer) target() int64 {
	if b.cfg.Fixed {
		return int64(b.cfg.Initial)
	}
	if !b.aggOK {
		b.aggregate()
	}
	// peakJ is 0 with no bucket set, and J ≥ 0, so this is the peak over J and the set buckets.
	j := max(b.jitter, b.peakJ)
	return min(max(int64(4*j), b.minNs), b.maxNs)
}

// Pop returns the frame to play at now, if one is due. Call it once per frame interval. A
// Missing frame asks the caller to conceal; false means nothing is due (before the first packet,
// while the next frame's time has not come, or after a long silence from the sender).
//
// The delay changes only at a frame that is due, at most once per adaptEvery calls: when it is
// more than half a frame below the target a Missing frame is inserted before the due one
// (stretch); when it is more than a frame above the target and two or more packets wait, the due
// frame is dropped and the next one plays in its slot (shrink).
func (b *Buffer) Pop(now time.Time) (Frame, bool) {
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
		s.buf, b.lent = b.lent[:0], s.buf
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

func (b *Buffer) missing() Frame {
	b.st.Missing++
	return Frame{Missing: true, Seq: uint16(b.playSeq), TS: uint32(b.playTS) + b.firstTS}
}

// advance moves playout past the frame at extended timestamp ts.
func (b *Buffer) advance(ts int64) {
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
func (b *Buffer) Stats() Stats {
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
func (b *Buffer) Len() int { return b.count }
