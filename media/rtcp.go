package media

import (
	"time"
)

// RFC 3550 §6.2 and Appendix A.7 constants.
const (
	rtcpMinTime          = 5 * time.Second
	rtcpSenderBWFraction = 0.25
	rtcpRcvrBWFraction   = 1 - rtcpSenderBWFraction
	// A.7: the randomised interval is divided by e − 3/2 to compensate for the timer
	// reconsideration algorithm converging to a lower value than intended.
	rtcpCompensation = 2.71828 - 1.5
	// The RTCP share of the session bandwidth (RFC 3550 §6.2: 5 %).
	rtcpBWShare = 0.05
	// IPv4 + UDP header octets counted in avg_rtcp_size (RFC 3550 §6.2: lower-layer headers).
	udpIPOverhead = 28
)

// rtcpInterval is rtcp_interval() of RFC 3550 Appendix A.7. rtcpBW is in octets per second,
// avgSize in octets, minTime the minimum interval (§6.2: 5 s, halved for the first report),
// and r a uniform random number in [0, 1) that spreads the interval over [0.5, 1.5] times
// the computed value.
func rtcpInterval(members, senders int, rtcpBW float64, weSent bool, avgSize float64, initial bool, minTime time.Duration, r float64) time.Duration {
	min := minTime.Seconds()
	if initial {
		min /= 2
	}
	n := members
	if float64(senders) <= float64(members)*rtcpSenderBWFraction {
		if weSent {
			rtcpBW *= rtcpSenderBWFraction
			n = senders
		} else {
			rtcpBW *= rtcpRcvrBWFraction
			n -= senders
		}
	}
	t := 0.0
	if rtcpBW > 0 {
		t = avgSize * float64(n) / rtcpBW
	}
	if t < min {
		t = min
	}
	t *= r + 0.5
	t /= rtcpCompensation
	return time.Duration(t * float64(time.Second))
}

// ReducedMinInterval is the "reduced minimum" RTCP interval of RFC 3550 §6.2,
// 360 / (session bandwidth in kbit/s) seconds.
func ReducedMinInterval(sessionBWbps float64) time.Duration {
	if sessionBWbps <= 0 {
		return rtcpMinTime
	}
	return time.Duration(360 / (sessionBWbps / 1000) * float64(time.Second))
}

// ntpEpochOffset is the number of seconds from 1900-01-01 (NTP era 0) to 1970-01-01.
const ntpEpochOffset = 2208988800

// toNTP converts t to the 64-bit NTP timestamp format of RFC 3550 §4.
func toNTP(t time.Time) uint64 {
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := (uint64(t.Nanosecond()) << 32) / uint64(time.Second)
	return secs<<32 | frac
}

// ntpShort is the middle 32 bits of an NTP timestamp, the unit of LSR and DLSR (RFC 3550
// §6.4.1: 1/65536 s).
func ntpShort(ntp uint64) uint32 { return uint32(ntp >> 16) }

// durationToShort converts d to 1/65536 s units.
func durationToShort(d time.Duration) uint32 {
	if d < 0 {
		return 0
	}
	return uint32((uint64(d) << 16) / uint64(time.Second))
}

func shortToDuration(v uint32) time.Duration {
	return time.Duration((uint64(v) * uint64(time.Second)) >> 16)
}

// roundTrip is RFC 3550 §6.4.1's RTT = A − LSR − DLSR, all in 1/65536 s, where A is the
// arrival time of the report block. ok is false when the peer has not yet seen an SR
// (LSR = 0) or the result is negative (clock mismatch or a bogus report).
func roundTrip(arrival, lsr, dlsr uint32) (time.Duration, bool) {
	if lsr == 0 {
		return 0, false
	}
	rtt := int32(arrival - lsr - dlsr)
	if rtt < 0 {
		return 0, false
	}
	return shortToDuration(uint32(rtt)), true
}
