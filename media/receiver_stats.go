package media

import "time"

// RFC 3550 Appendix A.1 constants.
const (
	maxDropout  = 3000
	maxMisorder = 100
	seqMod      = 1 << 16
	// jitterFloor is the J (timestamp units) below which it is flushed to 0, see update.
	jitterFloor = 0x1p-60
)

// rxStats is the per-source reception state of RFC 3550 Appendix A.1 (sequence tracking),
// A.3 (expected and lost) and A.8 (interarrival jitter).
type rxStats struct {
	started       bool
	maxSeq        uint16
	cycles        uint32
	baseSeq       uint32
	badSeq        uint32
	received      uint32
	expectedPrior uint32
	receivedPrior uint32
	transit       int64
	haveTransit   bool
	jitter        float64 // in timestamp units, J(i) of A.8
	lastFraction  uint8
}

// update records one packet with sequence number seq, RTP timestamp ts, arriving at arrival
// expressed in the same timestamp units (A.8: "the arrival time in RTP timestamp units").
// It returns false for a packet A.1 treats as a jump or restart that is not yet confirmed.
// withJitter false leaves the jitter estimate alone (packets whose timestamp does not advance
// with sampling time, such as telephone-events).
func (s *rxStats) update(seq uint16, ts uint32, arrival int64, withJitter bool) bool {
	if !s.started {
		s.started = true
		s.init(seq)
	} else {
		udelta := seq - s.maxSeq
		switch {
		case udelta < maxDropout:
			// In order, with permissible gap.
			if seq < s.maxSeq {
				s.cycles += seqMod
			}
			s.maxSeq = seq
		case uint32(udelta) <= seqMod-maxMisorder:
			// A very large jump: accept only after two sequential packets (A.1).
			if uint32(seq) == s.badSeq {
				s.init(seq)
			} else {
				s.badSeq = (uint32(seq) + 1) & (seqMod - 1)
				return false
			}
		default:
			// Duplicate or reordered packet.
		}
	}
	s.received++
	if !withJitter {
		return true
	}

	// A.8: D(i-1,i) = (Rj - Ri) - (Sj - Si); J += (|D| - J)/16.
	transit := arrival - int64(ts)
	if s.haveTransit {
		d := transit - s.transit
		if d < 0 {
			d = -d
		}
		s.jitter += (float64(d) - s.jitter) / 16
		if s.jitter < jitterFloor {
			// A steady stream after one step in transit time decays J into the subnormal range,
			// where it sticks and every float operation on it is slow. Below jitterFloor it is
			// observably 0 (it truncates to 0 in reports and in jitterDuration), and the next
			// nonzero |D| ≥ 1 yields exactly |D|/16 from it as from 0.
			s.jitter = 0
		}
	}
	s.transit = transit
	s.haveTransit = true
	return true
}

func (s *rxStats) init(seq uint16) {
	s.baseSeq = uint32(seq)
	s.maxSeq = seq
	s.badSeq = seqMod + 1
	s.cycles = 0
	s.received = 0
	s.receivedPrior = 0
	s.expectedPrior = 0
}

func (s *rxStats) extendedMax() uint32 { return s.cycles + uint32(s.maxSeq) }

// expected is A.3's extended_max - base_seq + 1.
func (s *rxStats) expected() uint32 {
	if !s.started {
		return 0
	}
	return s.extendedMax() - s.baseSeq + 1
}

// lost is A.3's cumulative number of packets lost; duplicates can make it negative.
func (s *rxStats) lost() int64 { return int64(s.expected()) - int64(s.received) }

// reportFraction computes the fraction lost since the previous report (A.3) as the 8-bit fixed
// point value of a reception report block, and starts a new interval.
func (s *rxStats) reportFraction() uint8 {
	expected := s.expected()
	expectedInterval := expected - s.expectedPrior
	s.expectedPrior = expected
	receivedInterval := s.received - s.receivedPrior
	s.receivedPrior = s.received
	lostInterval := int64(expectedInterval) - int64(receivedInterval)
	if expectedInterval == 0 || lostInterval <= 0 {
		s.lastFraction = 0
	} else {
		s.lastFraction = uint8((lostInterval << 8) / int64(expectedInterval))
	}
	return s.lastFraction
}

// reportLost is the 24-bit signed cumulative loss of a reception report block, clamped.
func (s *rxStats) reportLost() uint32 {
	l := s.lost()
	switch {
	case l > 0x7fffff:
		l = 0x7fffff
	case l < -0x800000:
		l = -0x800000
	}
	return uint32(l) & 0xffffff
}

func (s *rxStats) jitterDuration(clockRate int) time.Duration {
	return time.Duration(s.jitter / float64(clockRate) * float64(time.Second))
}
