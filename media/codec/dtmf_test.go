package codec

import (
	"slices"
	"testing"
	"time"
)

type sentPacket struct {
	ts     uint32
	marker bool
	ev     Event
}

// sendDigit runs one digit through s from ts with 20 ms packets at 8 kHz.
func sendDigit(t *testing.T, s *DTMFSender, d rune, ts uint32) []sentPacket {
	t.Helper()
	if err := s.Start(d, ts); err != nil {
		t.Fatal(err)
	}
	var out []sentPacket
	for i := 0; !s.Idle(); i++ {
		if i > 100 {
			t.Fatal("sender never ends")
		}
		pts, m, pls := s.Next(160)
		if len(pls) != 1 {
			t.Fatalf("%d payloads", len(pls))
		}
		e, err := ParseEvent(pls[0])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sentPacket{pts, m, e})
	}
	return out
}

func TestDTMFSenderPackets(t *testing.T) {
	s := NewDTMFSender(8000)
	pk := sendDigit(t, s, '#', 4000)
	// 100 ms at 8 kHz = 800 units in 160-unit updates, then two more copies of the end
	// packet (§2.5.1.4: three in all).
	wantDur := []uint16{160, 320, 480, 640, 800, 800, 800}
	if len(pk) != len(wantDur) {
		t.Fatalf("%d packets, want %d: %+v", len(pk), len(wantDur), pk)
	}
	for i, p := range pk {
		if p.ts != 4000 {
			t.Errorf("packet %d ts %d, want the event start 4000", i, p.ts)
		}
		if p.marker != (i == 0) {
			t.Errorf("packet %d marker %v", i, p.marker)
		}
		if p.ev.Code != EventPound || p.ev.Volume != DefaultDTMFVolume || p.ev.Duration != wantDur[i] {
			t.Errorf("packet %d = %+v, want duration %d", i, p.ev, wantDur[i])
		}
		if p.ev.End != (i >= 4) {
			t.Errorf("packet %d end %v", i, p.ev.End)
		}
	}
	if _, _, pls := s.Next(160); pls != nil {
		t.Error("idle sender sent")
	}
}

func TestDTMFSenderErrors(t *testing.T) {
	s := NewDTMFSender(8000)
	if err := s.Start('x', 0); err == nil {
		t.Error("bad digit accepted")
	}
	if err := s.Start('1', 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Start('2', 0); err != ErrDTMFBusy {
		t.Errorf("second Start: %v", err)
	}
	s = NewDTMFSender(8000)
	s.Duration = 9 * time.Second // 72000 units: beyond one 16-bit segment
	if err := s.Start('1', 0); err == nil {
		t.Error("over-long digit accepted")
	}
	// A per-digit duration that is not a whole number of packets ends on the exact length.
	s = NewDTMFSender(8000)
	if err := s.StartFor('7', 0, 250*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var durs []uint16
	for !s.Idle() {
		_, _, pls := s.Next(160)
		e, _ := ParseEvent(pls[0])
		durs = append(durs, e.Duration)
	}
	if want := []uint16{160, 320, 480, 640, 800, 960, 1120, 1280, 1440, 1600, 1760, 1920, 2000, 2000, 2000}; !slices.Equal(durs, want) {
		t.Errorf("250 ms durations %v", durs)
	}
	s = NewDTMFSender(16000)
	s.Duration = 50 * time.Millisecond
	pk := sendDigit(t, s, '1', 0)
	if last := pk[len(pk)-1].ev; last.Duration != 800 || !last.End {
		t.Errorf("16 kHz end = %+v", last)
	}
}

func TestDTMFRoundTrip(t *testing.T) {
	s := NewDTMFSender(8000)
	r := NewDTMFReceiver()
	var got []rune
	var starts []uint32
	ts := uint32(0xffffff00) // crosses the 32-bit timestamp wrap
	for _, d := range "159*#0ABCD" {
		pk := sendDigit(t, s, d, ts)
		// Deliver with the first packet lost, one duplicated and the order shuffled.
		order := []int{2, 1, 1, 3, 4, 6, 5}
		for _, i := range order {
			if dg, ok := r.Receive(pk[i].ts, pk[i].ev); ok {
				got = append(got, dg)
			}
		}
		if dg, dur, end := r.Current(); dg != d || dur != 800 || !end {
			t.Errorf("Current = %q %d %v", dg, dur, end)
		}
		starts = append(starts, ts)
		ts += uint32(len(pk)) * 160
	}
	if string(got) != "159*#0ABCD" {
		t.Fatalf("received %q", string(got))
	}
	// A late end packet of an earlier event reports nothing.
	if _, ok := r.Receive(starts[7], Event{Code: EventB, End: true, Duration: 800}); ok {
		t.Error("old event reported again")
	}
	// Flash is tracked but is no digit.
	if _, ok := r.Receive(99999, Event{Code: EventFlash}); ok {
		t.Error("flash reported as digit")
	}
}
