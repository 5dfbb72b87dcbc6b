package mediatest

import (
	"encoding/binary"
	"net"
	"testing"
	"time"
)

func listen(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadBuffer(1 << 22)
	return c
}

func rtpLike(seq uint16) []byte {
	b := make([]byte, 172)
	b[0] = 0x80
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], uint32(seq)*160)
	return b
}

// receive collects datagrams until none arrives for quiet.
func receive(c *net.UDPConn, quiet time.Duration) [][]byte {
	var out [][]byte
	buf := make([]byte, 2048)
	for {
		c.SetReadDeadline(time.Now().Add(quiet))
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			return out
		}
		out = append(out, append([]byte(nil), buf[:n]...))
	}
}

// The relay's bookkeeping matches what actually arrives, and two runs with one seed make the
// same decisions.
func TestRelayImpairmentsDeterministic(t *testing.T) {
	run := func() (DirStats, [][]byte) {
		a, b := listen(t), listen(t)
		r, err := New(a.LocalAddr().(*net.UDPAddr), b.LocalAddr().(*net.UDPAddr), Impairments{
			Seed: 42, Drop: 0.1, Duplicate: 0.05, Reorder: 0.05, Flip: 0.05,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for i := 0; i < 400; i++ {
			if _, err := a.WriteToUDP(rtpLike(uint16(i)), r.AddrA()); err != nil {
				t.Fatal(err)
			}
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		got := receive(b, 300*time.Millisecond)
		return r.Stats(AtoB), got
	}
	s1, got := run()
	s2, _ := run()
	if s1.RTP != s2.RTP || len(s1.LostSeq) != len(s2.LostSeq) {
		t.Fatalf("same seed, different decisions: %+v vs %+v", s1, s2)
	}
	if s1.Received != 400 || s1.RTP.Dropped == 0 || s1.RTP.Duplicated == 0 || s1.RTP.Reordered == 0 || s1.RTP.Flipped == 0 {
		t.Fatalf("impairments not exercised: %+v", s1)
	}
	if want := 400 - s1.RTP.Dropped + s1.RTP.Duplicated; len(got) != want || s1.Forwarded != want {
		t.Fatalf("received %d, forwarded %d, want %d", len(got), s1.Forwarded, want)
	}
	if len(s1.LostSeq) != s1.RTP.Dropped+s1.RTP.Flipped {
		t.Fatalf("LostSeq %d != dropped %d + flipped %d", len(s1.LostSeq), s1.RTP.Dropped, s1.RTP.Flipped)
	}
	// Flipped packets differ from the original in exactly one bit, beyond the RTP header.
	flipped := 0
	for _, p := range got {
		orig := rtpLike(binary.BigEndian.Uint16(p[2:]))
		diff := 0
		for i := range p {
			for x := p[i] ^ orig[i]; x != 0; x &= x - 1 {
				diff++
				if i < 12 {
					t.Fatalf("flip in header byte %d", i)
				}
			}
		}
		if diff == 1 {
			flipped++
		} else if diff != 0 {
			t.Fatalf("%d bits changed", diff)
		}
	}
	if flipped != s1.RTP.Flipped {
		t.Fatalf("saw %d flipped packets, relay says %d", flipped, s1.RTP.Flipped)
	}
	// Reordering: some packet arrived after a higher sequence number.
	reordered := false
	for i := 1; i < len(got); i++ {
		if binary.BigEndian.Uint16(got[i][2:]) < binary.BigEndian.Uint16(got[i-1][2:]) {
			reordered = true
		}
	}
	if !reordered {
		t.Fatal("no reordering observed")
	}
}

func TestRelayInjectReplay(t *testing.T) {
	a, b := listen(t), listen(t)
	r, err := New(a.LocalAddr().(*net.UDPAddr), b.LocalAddr().(*net.UDPAddr), Impairments{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := 0; i < 5; i++ {
		b.WriteToUDP(rtpLike(uint16(i)), r.AddrB())
	}
	if got := receive(a, 200*time.Millisecond); len(got) != 5 {
		t.Fatalf("forwarded %d", len(got))
	}
	if n, err := r.Replay(BtoA, 3); err != nil || n != 3 {
		t.Fatalf("replay %d %v", n, err)
	}
	if err := r.Inject(BtoA, []byte{0x80, 200, 0, 1}); err != nil {
		t.Fatal(err)
	}
	got := receive(a, 200*time.Millisecond)
	if len(got) != 4 || binary.BigEndian.Uint16(got[0][2:]) != 2 || got[3][1] != 200 {
		t.Fatalf("replayed/injected wrong packets: %d", len(got))
	}
	st := r.Stats(BtoA)
	if st.RTP.Replayed != 3 || st.Injected != 1 {
		t.Fatalf("%+v", st)
	}
}
