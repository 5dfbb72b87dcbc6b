package codec

import (
	"bytes"
	"testing"
)

func TestEventMarshal(t *testing.T) {
	// Digit 5 (§3.2), E bit, -10 dBm0, 800 timestamp units: event=0x05, E|volume=0x8a,
	// duration=0x0320 per the §2.3 layout.
	e := Event{Code: 5, End: true, Volume: 10, Duration: 800}
	got := e.Marshal(nil)
	want := []byte{0x05, 0x8a, 0x03, 0x20}
	if !bytes.Equal(got, want) {
		t.Fatalf("Marshal = %x, want %x", got, want)
	}
	back, err := ParseEvent(got)
	if err != nil || back != e {
		t.Fatalf("ParseEvent = %+v, %v", back, err)
	}
	// The R bit is ignored on receipt (§2.3.3).
	r, err := ParseEvent([]byte{0x0b, 0x40 | 0x07, 0, 160})
	if err != nil || r != (Event{Code: 11, Volume: 7, Duration: 160}) {
		t.Fatalf("R bit: %+v %v", r, err)
	}
}

func TestParseEventErrors(t *testing.T) {
	for _, b := range [][]byte{nil, {1}, {1, 2, 3}, {1, 2, 3, 4, 5}} {
		if _, err := ParseEvent(b); err == nil {
			t.Errorf("ParseEvent(%x) accepted", b)
		}
	}
}

func TestDigitCodes(t *testing.T) {
	digits := "0123456789*#ABCD"
	for i, d := range digits {
		c, err := DigitCode(d)
		if err != nil || int(c) != i {
			t.Errorf("DigitCode(%q) = %d, %v; want %d", d, c, err, i)
		}
		back, ok := CodeDigit(c)
		if !ok || back != d {
			t.Errorf("CodeDigit(%d) = %q", c, back)
		}
	}
	if c, _ := DigitCode('b'); c != EventB {
		t.Errorf("lower case b = %d", c)
	}
	for _, d := range "EeZ+ 1x"[0:6] {
		if _, err := DigitCode(d); err == nil && d != '1' {
			t.Errorf("DigitCode(%q) accepted", d)
		}
	}
	if _, ok := CodeDigit(EventFlash); ok {
		t.Error("flash has a digit")
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte{0x05, 0x8a, 0x03, 0x20})
	f.Add([]byte{0x0b, 0x40, 0x00, 0xa0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEvent(b)
		if err != nil {
			return
		}
		out := e.Marshal(nil)
		want := append([]byte(nil), b...)
		want[1] &^= 0x40 // R bit is not carried
		if !bytes.Equal(out, want) {
			t.Fatalf("round trip %x -> %+v -> %x", b, e, out)
		}
	})
}
