package mikey

import (
	"bytes"
	"testing"
)

// Published HMAC vectors: RFC 2202 §3 test case 2 (HMAC-SHA-1) and RFC 4231 §4.3 test case 2
// (HMAC-SHA-256), key "Jefe", data "what do ya want for nothing?". The data is split into parts
// to check that ComputeMAC hashes the concatenation.
func TestMACPublishedVectors(t *testing.T) {
	key := []byte("Jefe")
	p1, p2 := []byte("what do ya "), []byte("want for nothing?")
	for _, v := range []struct {
		alg  MACAlg
		want string
	}{
		{MACHMACSHA1160, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
		{MACHMACSHA256256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
	} {
		got, err := ComputeMAC(v.alg, key, p1, p2)
		if err != nil {
			t.Fatal(err)
		}
		want := mustHex(t, v.want)
		if !bytes.Equal(got, want) {
			t.Errorf("alg %d: %x, want %x", v.alg, got, want)
		}
		if err := VerifyMAC(v.alg, key, want, cat(p1, p2)); err != nil {
			t.Errorf("alg %d verify: %v", v.alg, err)
		}
		for i := range want {
			bad := bytes.Clone(want)
			bad[i] ^= 0x80
			if VerifyMAC(v.alg, key, bad, p1, p2) == nil {
				t.Errorf("alg %d: flipped MAC byte %d accepted", v.alg, i)
			}
		}
		if VerifyMAC(v.alg, key, want[:len(want)-1], p1, p2) == nil {
			t.Errorf("alg %d: short MAC accepted", v.alg)
		}
		if n, _ := MACTagLen(v.alg); n != len(want) {
			t.Errorf("alg %d: MACTagLen %d", v.alg, n)
		}
	}
}

func TestMACNULLAndUnknown(t *testing.T) {
	if m, err := ComputeMAC(MACNULL, nil, []byte("x")); err != nil || len(m) != 0 {
		t.Errorf("NULL MAC: %x %v", m, err)
	}
	if VerifyMAC(MACNULL, nil, nil, []byte("x")) != nil {
		t.Error("NULL MAC with empty field rejected")
	}
	if VerifyMAC(MACNULL, nil, []byte{1}, []byte("x")) == nil {
		t.Error("NULL MAC with a 1-byte field accepted")
	}
	if _, err := ComputeMAC(9, []byte("k"), nil); err == nil {
		t.Error("unknown MAC alg accepted")
	}
	if _, err := ComputeMAC(MACHMACSHA1160, nil, nil); err == nil {
		t.Error("empty auth_key accepted")
	}
}
