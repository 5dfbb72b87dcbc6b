package codec

import (
	"encoding/binary"
	"fmt"
)

// EventLen is the size of one telephone-event payload block, RFC 4733 §2.3.
const EventLen = 4

// Event is the RFC 4733 §2.3 telephone-event payload:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Event struct {
	// Code is the event code; 0-15 are the DTMF events of §3.2.
	Code uint8
	// End is the E bit: this packet reports the end of the event (§2.3.3).
	End bool
	// Volume is the power level in -dBm0, 0..63 (§2.3.4); larger is quieter.
	Volume uint8
	// Duration is the event's duration so far in RTP timestamp units, counted from the
	// packet's RTP timestamp (§2.3.5).
	Duration uint16
}

// Marshal appends the 4-octet payload to dst. The R bit is sent as zero (§2.3.3) and Volume is
// truncated to its 6 bits.
func (e Event) Marshal(dst []byte) []byte {
	b1 := e.Volume & 0x3f
	if e.End {
		b1 |= 0x80
	}
	return append(dst, e.Code, b1, byte(e.Duration>>8), byte(e.Duration))
}

// ParseEvent parses one telephone-event payload. The R bit is ignored as §2.3.3 asks. A payload
// of other than 4 octets is rejected: this package does not negotiate RFC 2198 redundancy, under
// which several blocks would arrive in one packet.
func ParseEvent(b []byte) (Event, error) {
	if len(b) != EventLen {
		return Event{}, fmt.Errorf("codec: telephone-event payload is %d octets at offset 0, want %d (RFC 4733 §2.3)", len(b), EventLen)
	}
	return Event{
		Code:     b[0],
		End:      b[1]&0x80 != 0,
		Volume:   b[1] & 0x3f,
		Duration: binary.BigEndian.Uint16(b[2:4]),
	}, nil
}

// RFC 4733 §3.2 DTMF event codes beyond the digits 0-9, which are their own codes.
const (
	EventStar  uint8 = 10
	EventPound uint8 = 11
	EventA     uint8 = 12
	EventB     uint8 = 13
	EventC     uint8 = 14
	EventD     uint8 = 15
	EventFlash uint8 = 16
)

// DigitCode maps a DTMF digit (0-9 * # A-D, letters in either case) to its §3.2 event code.
func DigitCode(d rune) (uint8, error) {
	switch {
	case d >= '0' && d <= '9':
		return uint8(d - '0'), nil
	case d == '*':
		return EventStar, nil
	case d == '#':
		return EventPound, nil
	case d >= 'A' && d <= 'D':
		return EventA + uint8(d-'A'), nil
	case d >= 'a' && d <= 'd':
		return EventA + uint8(d-'a'), nil
	}
	return 0, fmt.Errorf("codec: %q is not a DTMF digit (RFC 4733 §3.2)", d)
}

// CodeDigit maps a §3.2 event code 0-15 to its digit; other codes have none.
func CodeDigit(code uint8) (rune, bool) {
	switch {
	case code <= 9:
		return rune('0' + code), true
	case code == EventStar:
		return '*', true
	case code == EventPound:
		return '#', true
	case code >= EventA && code <= EventD:
		return rune('A' + code - EventA), true
	}
	return 0, false
}
