package mikey

import (
	"fmt"
	"time"
)

// NTP timestamps (RFC 4330 §3): 32-bit seconds and 32-bit fraction. The seconds field wraps on
// 2036-02-07 06:28:16 UTC; RFC 4330 §3 reads values with the most significant bit set as
// 1968-2036 (era 0, counted from 1900) and values with it clear as 2036-2104 (counted from the
// wrap). RFC 6043 §6.3 makes this extension mandatory for NTP-UTC-32, and we apply it to the
// 64-bit types too.

// ntpEpoch is 1900-01-01 00:00:00 UTC in Unix seconds.
const ntpEpoch int64 = -2208988800

var (
	ntpMin = time.Unix(ntpEpoch+1<<31, 0).UTC()       // 1968-01-20 03:14:08 UTC
	ntpMax = time.Unix(ntpEpoch+1<<32+1<<31, 0).UTC() // 2104-02-26 09:42:24 UTC (exclusive)
)

// TimeToNTP64 encodes t as a 64-bit NTP timestamp. Times outside the RFC 4330 range
// [1968-01-20 03:14:08, 2104-02-26 09:42:24) cannot be represented.
func TimeToNTP64(t time.Time) (uint64, error) {
	if t.Before(ntpMin) || !t.Before(ntpMax) {
		return 0, fmt.Errorf("mikey: %v is outside the NTP range 1968-2104 (RFC 4330)", t)
	}
	secs := uint64(t.Unix()-ntpEpoch) & 0xffffffff
	frac := (uint64(t.Nanosecond())<<32 + 999999999) / 1e9 // round up so NTP64ToTime gives t back
	return secs<<32 | frac, nil
}

// NTP64ToTime decodes a 64-bit NTP timestamp with the RFC 4330 era rule.
func NTP64ToTime(v uint64) time.Time {
	t := NTP32ToTime(uint32(v >> 32))
	ns := (v & 0xffffffff) * 1e9 >> 32
	return t.Add(time.Duration(ns))
}

// TimeToNTP32 encodes the whole seconds of t as NTP-UTC-32 (RFC 6043 §6.3).
func TimeToNTP32(t time.Time) (uint32, error) {
	v, err := TimeToNTP64(t.Truncate(time.Second))
	return uint32(v >> 32), err
}

// NTP32ToTime decodes NTP-UTC-32 seconds with the RFC 4330 era rule.
func NTP32ToTime(s uint32) time.Time {
	secs := int64(s)
	if s&0x80000000 == 0 {
		secs += 1 << 32 // era 1: 2036-2104
	}
	return time.Unix(ntpEpoch+secs, 0).UTC()
}
