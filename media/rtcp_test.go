package media

import (
	"testing"
	"time"
)

func TestRTCPInterval(t *testing.T) {
	// Two members, both senders, 80 kbit/s session: the computed interval (100 B · 2 / 500 B/s
	// = 0.4 s) is below the 5 s minimum, so T = 5 s · (r + 0.5) / (e − 1.5).
	for _, r := range []float64{0, 0.5, 0.999} {
		got := rtcpInterval(2, 2, 500, true, 100, false, rtcpMinTime, r)
		want := time.Duration(5 * (r + 0.5) / rtcpCompensation * float64(time.Second))
		if got != want {
			t.Errorf("r=%v: %v, want %v", r, got, want)
		}
	}
	// The first report uses half the minimum (A.7 "initial").
	half := 2.5
	if got, want := rtcpInterval(2, 2, 500, true, 100, true, rtcpMinTime, 0.5), time.Duration(half/rtcpCompensation*float64(time.Second)); got != want {
		t.Errorf("initial: %v, want %v", got, want)
	}
	// Large group, few senders: a sender shares 25 % of the RTCP bandwidth among senders.
	// 1000 members, 1 sender, 500 B/s: n=1, bw=125 → 0.8 s < 5 s → minimum.
	// A receiver: n = 999, bw = 375 → 100·999/375 = 266.4 s.
	got := rtcpInterval(1000, 1, 500, false, 100, false, rtcpMinTime, 0.5)
	t266 := 266.4
	if want := time.Duration(t266 / rtcpCompensation * float64(time.Second)); got < want-time.Millisecond || got > want+time.Millisecond {
		t.Errorf("receiver in large group: %v, want %v", got, want)
	}
	// RFC 3550 §6.2 reduced minimum: 360/80 kbit/s = 4.5 s.
	if got := ReducedMinInterval(80000); got != 4500*time.Millisecond {
		t.Errorf("reduced minimum %v", got)
	}
}

func TestNTPAndRTT(t *testing.T) {
	// 1970-01-01 is NTP second 2208988800 (RFC 868 / RFC 5905 era 0).
	if got := toNTP(time.Unix(0, 0)); got != 2208988800<<32 {
		t.Fatalf("toNTP(epoch) = %x", got)
	}
	if got := toNTP(time.Unix(0, 500_000_000)); got&0xffffffff != 1<<31 {
		t.Fatalf("half second fraction %x", got&0xffffffff)
	}
	// RFC 3550 §6.4.1 example: A = 0xb710:8000 (46864.5 s), LSR = 0xb705:2000, DLSR = 5.25 s
	// (0x0005:4000) → RTT = 0x0006:2000 = 6.125 s.
	rtt, ok := roundTrip(0xb7108000, 0xb7052000, 0x00054000)
	if !ok || rtt != 6125*time.Millisecond {
		t.Fatalf("RTT %v %v, want 6.125s", rtt, ok)
	}
	if _, ok := roundTrip(10, 0, 0); ok {
		t.Fatal("RTT without SR")
	}
	if _, ok := roundTrip(10, 20, 0); ok {
		t.Fatal("negative RTT accepted")
	}
	if durationToShort(1500*time.Millisecond) != 0x18000 {
		t.Fatal("durationToShort")
	}
}
