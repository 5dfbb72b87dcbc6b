package mikey

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// seq returns n bytes start, start+1, ... (the digest's "000102..0f" style inputs).
func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// refP is an independent, deliberately naive transcription of the P-function of RFC 3830 §4.1.2,
// straight from crypto/hmac: it builds the whole P(s, label, m) stream as a fresh slice per HMAC
// call, with no buffer reuse, so that it shares no code with prf.go.
func refP(h func() hash.Hash, s, label []byte, m int) []byte {
	hm := func(data []byte) []byte {
		mac := hmac.New(h, s)
		mac.Write(data)
		return mac.Sum(nil)
	}
	var out []byte
	a := label
	for i := 1; i <= m; i++ {
		a = hm(a)
		out = append(out, hm(append(append([]byte{}, a...), label...))...)
	}
	return out
}

// refPRF is the independent PRF of RFC 3830 §4.1.2 (hLen 20, SHA-1) and RFC 6043 §6.1 (hLen 32,
// SHA-256): explicit n and m as the RFC writes them, chunks s_1..s_n of 256 bits with only s_n
// possibly shorter.
func refPRF(sha256PRF bool, inkey, label []byte, outLen int) []byte {
	h, hLenBits := sha1.New, 160
	if sha256PRF {
		h, hLenBits = sha256.New, 256
	}
	n := (len(inkey)*8 + 255) / 256
	m := (outLen*8 + hLenBits - 1) / hLenBits
	acc := make([]byte, m*hLenBits/8)
	for i := 0; i < n; i++ {
		end := (i + 1) * 32
		if end > len(inkey) {
			end = len(inkey)
		}
		p := refP(h, inkey[i*32:end], label, m)
		for j := range acc {
			acc[j] ^= p[j]
		}
	}
	return acc[:outLen]
}

func TestPRFAgainstReference(t *testing.T) {
	label := mustHex(t, "2ad01c640112345678101112131415161718191a1b1c1d1e1f")
	for _, f := range []PRFFunc{PRFMIKEY1, PRFHMACSHA256} {
		for _, inLen := range []int{1, 16, 24, 31, 32, 33, 48, 64, 65, 100} {
			for _, outLen := range []int{1, 14, 16, 20, 21, 32, 33, 64, 70} {
				inkey := seq(byte(inLen), inLen)
				got, err := PRF(f, inkey, label, outLen)
				if err != nil {
					t.Fatal(err)
				}
				want := refPRF(f == PRFHMACSHA256, inkey, label, outLen)
				if !bytes.Equal(got, want) {
					t.Errorf("PRF(%d, %d-byte inkey, out %d) = %x, reference %x", f, inLen, outLen, got, want)
				}
			}
		}
	}
}

// TestPRFFullLastChunk pins the inkey split for lengths that are a multiple of 256 bits: the last
// chunk is a full 32-byte chunk. minisip's prf() computes the last chunk's length as len%32 and so
// keys the last HMAC with an empty key; the digest (§8.2) records that its output then differs.
func TestPRFFullLastChunk(t *testing.T) {
	label := mustHex(t, "150533e1ff12345678")
	for _, f := range []PRFFunc{PRFMIKEY1, PRFHMACSHA256} {
		h, hLen := sha1.New, 20
		if f == PRFHMACSHA256 {
			h, hLen = sha256.New, 32
		}
		m := (16 + hLen - 1) / hLen
		// 32-byte inkey: n = 1, s_1 = the whole key.
		k32 := seq(0, 32)
		got, err := PRF(f, k32, label, 16)
		if err != nil {
			t.Fatal(err)
		}
		if want := refP(h, k32, label, m)[:16]; !bytes.Equal(got, want) {
			t.Errorf("f=%d 32-byte inkey: %x, want P(s_1) %x", f, got, want)
		}
		if buggy := refP(h, nil, label, m)[:16]; bytes.Equal(got, buggy) {
			t.Errorf("f=%d 32-byte inkey equals the empty-last-chunk (minisip) result", f)
		}
		// 64-byte inkey: n = 2, both chunks full.
		k64 := seq(0x40, 64)
		got, err = PRF(f, k64, label, 16)
		if err != nil {
			t.Fatal(err)
		}
		p1, p2 := refP(h, k64[:32], label, m), refP(h, k64[32:], label, m)
		want := make([]byte, 16)
		for i := range want {
			want[i] = p1[i] ^ p2[i]
		}
		if !bytes.Equal(got, want) {
			t.Errorf("f=%d 64-byte inkey: %x, want P(s_1) xor P(s_2) %x", f, got, want)
		}
		buggy := make([]byte, 16)
		pe := refP(h, nil, label, m)
		for i := range buggy {
			buggy[i] = p1[i] ^ pe[i]
		}
		if bytes.Equal(got, buggy) {
			t.Errorf("f=%d 64-byte inkey equals the empty-last-chunk (minisip) result", f)
		}
	}
}

func TestPRFErrors(t *testing.T) {
	if _, err := PRF(7, seq(0, 16), nil, 16); err == nil {
		t.Error("unknown PRF func accepted")
	}
	if _, err := PRF(PRFMIKEY1, nil, nil, 16); err == nil {
		t.Error("empty inkey accepted")
	}
	out, err := PRF(PRFMIKEY1, seq(0, 16), nil, 0)
	if err != nil || len(out) != 0 {
		t.Errorf("zero-length output: %x, %v", out, err)
	}
}

func BenchmarkPRFMessageKeys(b *testing.B) {
	psk := seq(0, 32)
	label, err := TicketMessageLabel(0x12345678, DirInitial, seq(0xa0, 16), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DeriveMessageKeys(PRFHMACSHA256, psk, label, EncrAESCM128, MACHMACSHA256256); err != nil {
			b.Fatal(err)
		}
	}
}
