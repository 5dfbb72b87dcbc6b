package mikey

import (
	"testing"
	"time"
)

// NTP values checked against an independent computation (Python datetime: 1900-01-01 plus the
// seconds, plus 2^32 for era 1) and the RFC 4330 §3 era boundaries.
func TestNTP32Era(t *testing.T) {
	cases := []struct {
		secs uint32
		want string
	}{
		{0xc8e350ea, "2006-10-20T13:43:06Z"}, // the T of RFC 4567 §5.1
		{0xeb2f6a4c, "2025-01-13T10:32:44Z"},
		{0x83aa7e80, "1970-01-01T00:00:00Z"},
		{0x80000000, "1968-01-20T03:14:08Z"}, // first second of era 0 in the RFC 4330 window
		{0xffffffff, "2036-02-07T06:28:15Z"},
		{0x00000000, "2036-02-07T06:28:16Z"}, // era 1 begins (RFC 4330 §3)
		{0x0754fd00, "2040-01-01T00:00:00Z"},
		{0x7fffffff, "2104-02-26T09:42:23Z"}, // last second of the window
	}
	for _, c := range cases {
		want, _ := time.Parse(time.RFC3339, c.want)
		if got := NTP32ToTime(c.secs); !got.Equal(want) {
			t.Errorf("NTP32ToTime(%#x) = %v, want %v", c.secs, got, want)
		}
		back, err := TimeToNTP32(want)
		if err != nil || back != c.secs {
			t.Errorf("TimeToNTP32(%v) = %#x, %v; want %#x", want, back, err, c.secs)
		}
		v64, err := TimeToNTP64(want)
		if err != nil || v64 != uint64(c.secs)<<32 {
			t.Errorf("TimeToNTP64(%v) = %#x, %v", want, v64, err)
		}
	}
	for _, out := range []string{"1968-01-20T03:14:07Z", "2104-02-26T09:42:24Z", "1900-01-01T00:00:00Z"} {
		tm, _ := time.Parse(time.RFC3339, out)
		if _, err := TimeToNTP64(tm); err == nil {
			t.Errorf("TimeToNTP64(%s) succeeded outside 1968-2104", out)
		}
	}
}

func TestNTP64Fraction(t *testing.T) {
	base := time.Date(2026, 11, 26, 18, 0, 0, 0, time.UTC)
	// 0.5 s is fraction 0x80000000 (RFC 4330 §3: the fraction is in units of 2^-32 s).
	v, err := TimeToNTP64(base.Add(500 * time.Millisecond))
	if err != nil || uint32(v) != 0x80000000 {
		t.Errorf("half second fraction = %#x, %v", uint32(v), err)
	}
	for _, ns := range []int{0, 1, 2, 999, 123456789, 500000000, 999999999} {
		tm := base.Add(time.Duration(ns))
		v, err := TimeToNTP64(tm)
		if err != nil {
			t.Fatal(err)
		}
		if got := NTP64ToTime(v); !got.Equal(tm) {
			t.Errorf("round trip of +%dns = %v (%#x)", ns, got, v)
		}
	}
	// A time in era 1 with a fraction.
	tm := time.Date(2050, 6, 1, 12, 0, 0, 250000000, time.UTC)
	v, _ = TimeToNTP64(tm)
	if v>>63 != 0 || !NTP64ToTime(v).Equal(tm) || uint32(v) != 0x40000000 {
		t.Errorf("2050 = %#x -> %v", v, NTP64ToTime(v))
	}
}

func TestTTimeAndIV(t *testing.T) {
	ts := &T{TSType: TSNTPUTC32, Value: 0xeb2f6a4c}
	if ts.IV64() != 0xeb2f6a4c00000000 {
		t.Errorf("NTP-UTC-32 IV64 = %#x (RFC 6043 §6.3: zero fraction)", ts.IV64())
	}
	if tm, err := ts.Time(); err != nil || tm.Format(time.RFC3339) != "2025-01-13T10:32:44Z" {
		t.Errorf("Time = %v, %v", tm, err)
	}
	c := &T{TSType: TSCOUNTER, Value: 0x12345678}
	if c.IV64() != 0x12345678 {
		t.Errorf("COUNTER IV64 = %#x (RFC 3830 §6.6: zero-padded)", c.IV64())
	}
	if _, err := c.Time(); err == nil {
		t.Error("COUNTER converted to a time")
	}
	n := &T{TSType: TSNTPUTC, Value: 0xc8e350ea80000000}
	if n.IV64() != 0xc8e350ea80000000 {
		t.Error("NTP-UTC IV64")
	}
	tm, err := n.Time()
	if err != nil || !tm.Equal(time.Date(2006, 10, 20, 13, 43, 6, 500000000, time.UTC)) {
		t.Errorf("NTP-UTC Time = %v, %v", tm, err)
	}
	nt, err := NewTNTPUTC(tm)
	if err != nil || *nt != *n {
		t.Errorf("NewTNTPUTC = %+v, %v", nt, err)
	}
	tr := &TR{Role: TSRoleE, TSType: TSNTPUTC32, Value: 0}
	if trt, err := tr.Time(); err != nil || trt.Year() != 2036 || tr.IV64() != 0 {
		t.Errorf("TR Time = %v, %v", trt, err)
	}
}
