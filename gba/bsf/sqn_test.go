package bsf

import "testing"

func TestNextSQN(t *testing.T) {
	cases := []struct{ he, want uint64 }{
		{0x000000000000, 0x000000000021}, // SEQ 0→1, IND 0→1
		{0x000000000020, 0x000000000041}, // SEQ 1→2, IND 0→1
		{0x00000000003f, 0x000000000040}, // SEQ 1→2, IND 31→0 (cyclic)
		{0xff9bb4d0b606, 0xff9bb4d0b627}, // SEQ +1, IND 6→7
	}
	for _, c := range cases {
		got, err := nextSQN(c.he)
		if err != nil || got != c.want {
			t.Errorf("nextSQN(%012x) = %012x, %v; want %012x", c.he, got, err, c.want)
		}
		if got>>indBits != c.he>>indBits+1 {
			t.Errorf("SEQ of %012x not SEQ_HE+1", got)
		}
	}
	// SEQ must strictly increase over many steps, whatever IND does.
	he := uint64(0x20)
	for i := 0; i < 100; i++ {
		n, err := nextSQN(he)
		if err != nil || n <= he {
			t.Fatalf("step %d: %012x after %012x (%v)", i, n, he, err)
		}
		he = n
	}
	if _, err := nextSQN(0xffffffffffe0); err == nil {
		t.Error("SEQ wrap-around accepted")
	}
}
