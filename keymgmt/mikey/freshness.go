package mikey

import (
	"fmt"
	"time"
)

// Timestamp freshness of RFC 3830 §5.4 (and RFC 6043 §12.4): a receiver accepts a message only when
// its T lies within a local clock-skew window around its own clock, and it remembers authenticated
// messages (ReplayCache) for as long as their T stays inside that window. The clock is passed in:
// this package reads no clock itself.

// DefaultSkew is the clock skew a zero Window allows. RFC 3830 §5.4 leaves the value to local
// policy ("several minutes to hours" for a client); five minutes keeps the replay cache small on a
// KMS and still tolerates NTP-less phones.
const DefaultSkew = 5 * time.Minute

// Window is the RFC 3830 §5.4 timestamp window of a receiver.
type Window struct {
	// Skew is the largest allowed difference between T and the local clock, in both directions.
	// Zero means DefaultSkew.
	Skew time.Duration
	// AcceptCounter lets T of type COUNTER through Check. A counter carries no time, so the window
	// cannot judge it: the caller must also keep the last counter per peer and call CheckCounter.
	AcceptCounter bool
}

func (w Window) skew() time.Duration {
	if w.Skew <= 0 {
		return DefaultSkew
	}
	return w.Skew
}

// Check tests T against the window around now and returns until when the message must stay in the
// replay cache (RFC 3830 §5.4: "within an allowable clock skew"):
//   - NTP-UTC, NTP (both 64-bit, RFC 3830 §6.6) and NTP-UTC-32 (RFC 6043 §6.3) are decoded with the
//     RFC 4330 era rule; T must lie in [now-Skew, now+Skew]. NTP (type 1) names no time zone in
//     RFC 3830; it is read as UTC, so a sender on local time falls outside the window (the safe
//     side). NTP-UTC-32 has whole seconds: its T is up to 1 s before the sender's clock, inside any
//     useful skew. The entry expires at T+Skew, when a replay would fail this check anyway.
//   - COUNTER (RFC 3830 §6.6) is accepted only with AcceptCounter; its entry expires at now+Skew
//     (the counter says nothing about time, so the message is remembered for one window from
//     receipt). A replay that comes back after that, or after a bounded cache dropped the entry,
//     gets a new expiry and is caught only by CheckCounter: with COUNTER, CheckCounter is required.
//
// A T outside the window, an unknown TS type or a refused COUNTER is a *ProtocolError with
// ErrInvalidTS (RFC 3830 §5.1.2, §6.12).
func (w Window) Check(t *T, now time.Time) (expires time.Time, err error) {
	if t == nil {
		return time.Time{}, protoErr(ErrInvalidTS, "timestamp: no T payload")
	}
	skew := w.skew()
	switch t.TSType {
	case TSCOUNTER:
		if !w.AcceptCounter {
			return time.Time{}, protoErr(ErrInvalidTS, "timestamp: TS type COUNTER is not accepted by local policy")
		}
		if t.Value > 0xffffffff {
			return time.Time{}, protoErr(ErrInvalidTS, "timestamp: COUNTER %#x exceeds 32 bits", t.Value)
		}
		return now.Add(skew), nil
	case TSNTPUTC, TSNTP, TSNTPUTC32:
		if t.TSType == TSNTPUTC32 && t.Value > 0xffffffff {
			return time.Time{}, protoErr(ErrInvalidTS, "timestamp: NTP-UTC-32 %#x exceeds 32 bits", t.Value)
		}
		ts, err := t.Time()
		if err != nil {
			return time.Time{}, protoErr(ErrInvalidTS, "timestamp: %v", err)
		}
		d := ts.Sub(now)
		if d < -skew || d > skew {
			return time.Time{}, protoErr(ErrInvalidTS, "timestamp %s is %v from the local clock %s, outside the allowed skew %v (RFC 3830 §5.4)",
				ts.UTC().Format(time.RFC3339Nano), d, now.UTC().Format(time.RFC3339Nano), skew)
		}
		return ts.Add(skew), nil
	}
	return time.Time{}, protoErr(ErrInvalidTS, "timestamp: unknown TS type %d", t.TSType)
}

// CheckCounter enforces the order of COUNTER timestamps from one peer: the counter must exceed
// last, the value accepted before (RFC 3830 §5.4 with counters instead of clocks). allowEqual admits
// a counter equal to last, which RFC 6043 §4.2.1.5 and §4.2.3.5 allow only in a KMS response copying the
// initial message's counter. Failures are *ProtocolError with ErrInvalidTS.
func CheckCounter(t *T, last uint32, allowEqual bool) error {
	if t == nil || t.TSType != TSCOUNTER {
		return protoErr(ErrInvalidTS, "timestamp: not a COUNTER")
	}
	if t.Value > 0xffffffff {
		return protoErr(ErrInvalidTS, "timestamp: COUNTER %#x exceeds 32 bits", t.Value)
	}
	c := uint32(t.Value)
	if c > last || (allowEqual && c == last) {
		return nil
	}
	return protoErr(ErrInvalidTS, "timestamp: COUNTER %d does not advance past %d", c, last)
}

// NewT builds the T payload of type typ for time now (NTP-UTC, NTP, NTP-UTC-32), the form a sender
// puts in its messages. COUNTER has no time; build it as &T{TSType: TSCOUNTER, Value: n}.
func NewT(typ TSType, now time.Time) (*T, error) {
	switch typ {
	case TSNTPUTC, TSNTP:
		v, err := TimeToNTP64(now)
		if err != nil {
			return nil, err
		}
		return &T{TSType: typ, Value: v}, nil
	case TSNTPUTC32:
		v, err := TimeToNTP32(now)
		if err != nil {
			return nil, err
		}
		return &T{TSType: typ, Value: uint64(v)}, nil
	}
	return nil, fmt.Errorf("mikey: NewT: TS type %d is not a clock time", typ)
}
