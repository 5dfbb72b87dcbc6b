package sdpoa

import (
	"fmt"
	"strings"
)

// Format is one RTP payload format of an m-line: its payload type, the a=rtpmap encoding
// (RFC 4566 §6) and the a=fmtp parameters.
type Format struct {
	PT        uint8
	Name      string // encoding name, e.g. "PCMU", "telephone-event"
	ClockRate int
	Channels  int    // 0 or 1: mono
	Fmtp      string // a=fmtp parameters, "" when none
}

func (f Format) String() string { return fmt.Sprintf("%d %s/%d", f.PT, f.Name, f.ClockRate) }

// Same reports whether two formats are the same encoding (RFC 3264 §6.1 matches by encoding
// name and clock rate, not by the payload type number, which each side may choose).
func (f Format) Same(o Format) bool {
	ch := func(c int) int {
		if c == 0 {
			return 1
		}
		return c
	}
	return strings.EqualFold(f.Name, o.Name) && f.ClockRate == o.ClockRate && ch(f.Channels) == ch(o.Channels)
}

// IsTelephoneEvent reports whether f is the RFC 4733 telephone-event format.
func (f Format) IsTelephoneEvent() bool { return strings.EqualFold(f.Name, "telephone-event") }

// The formats imsphone offers by default: G.711 with its static payload types (RFC 3551 §6
// Table 4) and RFC 4733 telephone-events 0-15 (the DTMF digits, §3.2) on dynamic type 101.
var (
	PCMU           = Format{PT: 0, Name: "PCMU", ClockRate: 8000}
	PCMA           = Format{PT: 8, Name: "PCMA", ClockRate: 8000}
	TelephoneEvent = Format{PT: 101, Name: "telephone-event", ClockRate: 8000, Fmtp: "0-15"}
)

// DefaultFormats is our offer order.
func DefaultFormats() []Format { return []Format{PCMU, PCMA, TelephoneEvent} }

// staticFormat resolves the static audio payload types of RFC 3551 Table 4 that may appear
// without a=rtpmap.
func staticFormat(pt uint8) (Format, bool) {
	switch pt {
	case 0:
		return PCMU, true
	case 8:
		return PCMA, true
	case 3:
		return Format{PT: 3, Name: "GSM", ClockRate: 8000}, true
	case 9:
		return Format{PT: 9, Name: "G722", ClockRate: 8000}, true
	case 18:
		return Format{PT: 18, Name: "G729", ClockRate: 8000}, true
	}
	return Format{}, false
}
