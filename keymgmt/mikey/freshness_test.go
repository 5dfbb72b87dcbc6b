package mikey

import (
	"errors"
	"testing"
	"time"
)

var freshNow = time.Date(2026, 11, 26, 18, 0, 0, 250_000_000, time.UTC)

func mustT(t testing.TB, typ TSType, at time.Time) *T {
	t.Helper()
	ts, err := NewT(typ, at)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func wantErrNo(t testing.TB, err error, n ErrNo) {
	t.Helper()
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.ErrNo != n {
		t.Fatalf("error %v, want *ProtocolError with ErrNo %d", err, n)
	}
}

func TestWindowCheckClockTypes(t *testing.T) {
	w := Window{Skew: 2 * time.Minute}
	for _, typ := range []TSType{TSNTPUTC, TSNTP, TSNTPUTC32} {
		for _, c := range []struct {
			off time.Duration
			ok  bool
		}{
			{0, true},
			{-2 * time.Minute, true},
			{2 * time.Minute, true},
			{-2*time.Minute - time.Second, false},
			{2*time.Minute + time.Second, false},
			{-time.Hour, false},
			{24 * time.Hour, false},
		} {
			now := freshNow
			if typ == TSNTPUTC32 {
				now = freshNow.Truncate(time.Second) // see TestWindowCheckNTP32Truncation
			}
			at := now.Add(c.off)
			ts := mustT(t, typ, at)
			exp, err := w.Check(ts, now)
			if !c.ok {
				wantErrNo(t, err, ErrInvalidTS)
				continue
			}
			if err != nil {
				t.Fatalf("type %d offset %v: %v", typ, c.off, err)
			}
			if !exp.Equal(at.Add(2 * time.Minute)) {
				t.Errorf("type %d offset %v: expires %v, want %v", typ, c.off, exp, at.Add(2*time.Minute))
			}
		}
	}
}

// The edge with NTP-UTC-32: T is the sender's whole second, so "now - skew" exactly is inside only
// when now has no fraction; freshNow has 0.25 s, so T = now-skew truncated is 0.25 s too old.
func TestWindowCheckNTP32Truncation(t *testing.T) {
	w := Window{Skew: time.Minute}
	ts := mustT(t, TSNTPUTC32, freshNow.Add(-time.Minute))
	if _, err := w.Check(ts, freshNow); err == nil {
		t.Fatal("T = truncate(now-skew) accepted, but it lies 0.25 s outside the window")
	}
	if _, err := w.Check(ts, freshNow.Truncate(time.Second)); err != nil {
		t.Fatalf("T = now-skew on a whole second refused: %v", err)
	}
}

func TestWindowDefaultsAndRefusals(t *testing.T) {
	var w Window
	if _, err := w.Check(mustT(t, TSNTPUTC, freshNow.Add(DefaultSkew)), freshNow); err != nil {
		t.Fatalf("zero Window refused T = now+DefaultSkew: %v", err)
	}
	if _, err := w.Check(mustT(t, TSNTPUTC, freshNow.Add(DefaultSkew+time.Millisecond)), freshNow); err == nil {
		t.Fatal("zero Window accepted T beyond DefaultSkew")
	}
	_, err := w.Check(nil, freshNow)
	wantErrNo(t, err, ErrInvalidTS)
	_, err = w.Check(&T{TSType: 7, Value: 1}, freshNow)
	wantErrNo(t, err, ErrInvalidTS)
	_, err = w.Check(&T{TSType: TSNTPUTC32, Value: 1 << 32}, freshNow)
	wantErrNo(t, err, ErrInvalidTS)

	// COUNTER: refused unless the policy accepts it; then remembered for one skew from receipt.
	ctr := &T{TSType: TSCOUNTER, Value: 42}
	_, err = w.Check(ctr, freshNow)
	wantErrNo(t, err, ErrInvalidTS)
	wc := Window{Skew: time.Minute, AcceptCounter: true}
	exp, err := wc.Check(ctr, freshNow)
	if err != nil || !exp.Equal(freshNow.Add(time.Minute)) {
		t.Fatalf("COUNTER: expires %v, %v", exp, err)
	}
	_, err = wc.Check(&T{TSType: TSCOUNTER, Value: 1 << 32}, freshNow)
	wantErrNo(t, err, ErrInvalidTS)
}

func TestCheckCounter(t *testing.T) {
	for _, c := range []struct {
		v     uint64
		last  uint32
		equal bool
		ok    bool
	}{
		{5, 4, false, true},
		{4, 4, false, false},
		{4, 4, true, true},
		{3, 4, true, false},
		{0xffffffff, 0xfffffffe, false, true},
		{1 << 32, 0, false, false},
	} {
		err := CheckCounter(&T{TSType: TSCOUNTER, Value: c.v}, c.last, c.equal)
		if (err == nil) != c.ok {
			t.Errorf("CheckCounter(%d, last %d, equal %v) = %v, want ok %v", c.v, c.last, c.equal, err, c.ok)
		}
		if err != nil {
			wantErrNo(t, err, ErrInvalidTS)
		}
	}
	wantErrNo(t, CheckCounter(mustT(t, TSNTPUTC, freshNow), 0, false), ErrInvalidTS)
}

func TestNewT(t *testing.T) {
	ts := mustT(t, TSNTPUTC32, freshNow)
	// 2026-11-26T18:00:00Z is 4004704800 s after 1900-01-01 (computed independently with Python:
	// datetime(2026,11,26,18) - datetime(1900,1,1)).
	if ts.Value != 4004704800 {
		t.Errorf("NTP-UTC-32 = %d", ts.Value)
	}
	ts = mustT(t, TSNTPUTC, freshNow)
	if ts.Value != 4004704800<<32|0x40000000 {
		t.Errorf("NTP-UTC = %#x", ts.Value)
	}
	if _, err := NewT(TSCOUNTER, freshNow); err == nil {
		t.Error("NewT(COUNTER) succeeded")
	}
	if _, err := NewT(TSNTPUTC, time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("NewT(1950) succeeded")
	}
}

// FuzzWindowCheck checks Window.Check against an independent decoding of the timestamp: it accepts
// exactly the T within the skew of now, never panics, and always fails with ErrInvalidTS.
func FuzzWindowCheck(f *testing.F) {
	f.Add(uint8(0), uint64(4004704800)<<32, int64(1795716000), uint32(300), false)
	f.Add(uint8(3), uint64(4004704800), int64(1795716000), uint32(0), false)
	f.Add(uint8(1), uint64(0x7fffffff)<<32, int64(4233976943), uint32(60), false)
	f.Add(uint8(2), uint64(9), int64(0), uint32(1), true)
	f.Add(uint8(9), uint64(9), int64(0), uint32(1), true)
	f.Fuzz(func(t *testing.T, typ uint8, v uint64, nowUnix int64, skewSec uint32, counter bool) {
		if nowUnix < -1<<32 || nowUnix > 1<<32 {
			return
		}
		now := time.Unix(nowUnix, 0)
		w := Window{Skew: time.Duration(skewSec) * time.Second, AcceptCounter: counter}
		skew := w.Skew
		if skew == 0 {
			skew = DefaultSkew
		}
		_, err := w.Check(&T{TSType: TSType(typ), Value: v}, now)
		var want bool
		switch TSType(typ) {
		case TSNTPUTC, TSNTP, TSNTPUTC32:
			secs, frac := v>>32, v&0xffffffff
			if TSType(typ) == TSNTPUTC32 {
				if v > 0xffffffff {
					break
				}
				secs, frac = v, 0
			}
			unix := int64(secs) - 2208988800
			if secs < 1<<31 {
				unix += 1 << 32 // RFC 4330 era 1
			}
			tsNs := unix*1e9 + int64(frac*1e9>>32)
			d := tsNs - nowUnix*1e9
			want = d >= -int64(skew) && d <= int64(skew)
		case TSCOUNTER:
			want = counter && v <= 0xffffffff
		}
		if (err == nil) != want {
			t.Fatalf("Check(type %d, %#x, now %d, skew %v) = %v, want accepted %v", typ, v, nowUnix, skew, err, want)
		}
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.ErrNo != ErrInvalidTS {
				t.Fatalf("error %v is not ErrInvalidTS", err)
			}
		}
	})
}
