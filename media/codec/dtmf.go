package codec

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of DTMFSender. 100 ms of tone is above the 40 ms minimum of ITU-T Q.24 that
// PSTN receivers need; volume 10 means -10 dBm0, within the -3..-36 dBm0 range RFC 4733 §3.2
// allows for DTMF.
const (
	DefaultDTMFDuration = 100 * time.Millisecond
	DefaultDTMFVolume   = 10
	// EndRepeats is how often the final packet of an event is sent (RFC 4733 §2.5.1.4).
	EndRepeats = 3
)

// ErrDTMFBusy is returned by Start while an event is still being sent.
var ErrDTMFBusy = errors.New("codec: telephone-event sender is busy")

// DTMFSender turns digits into telephone-event payloads following RFC 4733 §2.5.1: every packet
// of one event carries the event's start as RTP timestamp (§2.5.1.1), the first has the marker
// bit (§2.5.1.2), each later one reports the duration so far, and the final packet, E bit set,
// goes out EndRepeats times, one per packet interval: "The final packet for each event and for
// each segment SHOULD be sent a total of three times at the interval used by the source for
// updates" (§2.5.1.4). It is not safe for concurrent use; the send loop owns it.
type DTMFSender struct {
	// Duration is the tone length of each digit; Volume the level in -dBm0. Change them only
	// while Idle.
	Duration time.Duration
	Volume   uint8

	clockRate int
	active    bool
	first     bool
	ts        uint32
	ev        Event
	total     uint32 // event length in timestamp units
	elapsed   uint32
	endsSent  int
	buf       [EventLen]byte
	out       [1][]byte
}

// NewDTMFSender returns a sender for an RTP clock of clockRate Hz (the audio codec's rate, as
// RFC 4733 §2.1 asks for telephone-events sent alongside that codec).
func NewDTMFSender(clockRate int) *DTMFSender {
	return &DTMFSender{Duration: DefaultDTMFDuration, Volume: DefaultDTMFVolume, clockRate: clockRate}
}

// Idle reports whether no event is in progress, so the next packet carries audio.
func (s *DTMFSender) Idle() bool { return !s.active }

// Start begins sending digit d for Duration as a new event whose RTP timestamp is ts.
func (s *DTMFSender) Start(d rune, ts uint32) error { return s.StartFor(d, ts, s.Duration) }

// StartFor is Start with a tone length of its own for this digit.
func (s *DTMFSender) StartFor(d rune, ts uint32, dur time.Duration) error {
	if s.active {
		return ErrDTMFBusy
	}
	code, err := DigitCode(d)
	if err != nil {
		return err
	}
	if s.clockRate <= 0 {
		return fmt.Errorf("codec: telephone-event clock rate %d", s.clockRate)
	}
	total := int64(dur) * int64(s.clockRate) / int64(time.Second)
	// One event of a DTMF digit stays in one segment: longer ones would need the §2.5.1.3
	// segmentation, which a key press never needs.
	if total <= 0 || total > 0xffff {
		return fmt.Errorf("codec: DTMF duration %v is %d timestamp units, want 1..65535 (RFC 4733 §2.5.1.3)", dur, total)
	}
	s.active, s.first = true, true
	s.ts = ts
	s.total = uint32(total)
	s.elapsed = 0
	s.endsSent = 0
	s.ev = Event{Code: code, Volume: s.Volume & 0x3f}
	return nil
}

// Next returns the packet for the next packet interval of samples timestamp units: the event's
// RTP timestamp, whether the marker bit is set, and the payloads to send (one per interval; the
// slice and its contents are reused by the next call). It returns no payloads when Idle.
func (s *DTMFSender) Next(samples int) (ts uint32, marker bool, payloads [][]byte) {
	if !s.active {
		return 0, false, nil
	}
	if !s.ev.End {
		s.elapsed += uint32(max(samples, 0))
		if s.elapsed >= s.total {
			s.elapsed = s.total
			s.ev.End = true
		}
		s.ev.Duration = uint16(s.elapsed)
	}
	if s.ev.End {
		s.endsSent++
		if s.endsSent >= EndRepeats {
			s.active = false
		}
	}
	marker = s.first
	s.first = false
	s.out[0] = s.ev.Marshal(s.buf[:0])
	return s.ts, marker, s.out[:]
}

// DTMFReceiver turns received telephone-event packets into digits (RFC 4733 §2.5.2): all
// packets of one event share an RTP timestamp, so a digit is reported once, on the first packet
// seen of that event, whatever is lost, repeated or reordered after it.
type DTMFReceiver struct {
	recent [8]rxEvent // the last events seen, newest at next-1
	next   int
	n      int
	cur    rxEvent
}

type rxEvent struct {
	ts       uint32
	code     uint8
	duration uint16
	end      bool
}

// NewDTMFReceiver returns an empty receiver.
func NewDTMFReceiver() *DTMFReceiver { return &DTMFReceiver{} }

// Receive takes the RTP timestamp and payload of one telephone-event packet and reports a digit
// when this packet starts an event not seen before. Non-DTMF events (e.g. flash) are tracked
// but report no digit.
func (r *DTMFReceiver) Receive(ts uint32, e Event) (rune, bool) {
	for i := 0; i < r.n; i++ {
		p := &r.recent[i]
		if p.ts == ts && p.code == e.Code {
			p.duration = max(p.duration, e.Duration)
			p.end = p.end || e.End
			if r.cur.ts == ts && r.cur.code == e.Code {
				r.cur = *p
			}
			return 0, false
		}
	}
	ev := rxEvent{ts: ts, code: e.Code, duration: e.Duration, end: e.End}
	r.recent[r.next] = ev
	r.next = (r.next + 1) % len(r.recent)
	r.n = min(r.n+1, len(r.recent))
	r.cur = ev
	return CodeDigit(e.Code)
}

// Current reports the latest event: its digit (0 for non-DTMF codes), the longest duration seen
// in timestamp units, and whether its end packet arrived.
func (r *DTMFReceiver) Current() (digit rune, duration uint16, ended bool) {
	if r.n == 0 {
		return 0, 0, false
	}
	d, _ := CodeDigit(r.cur.code)
	return d, r.cur.duration, r.cur.end
}
