package mikey

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// The vectors below are the digest's §8.2 values (/work/shared/specs/mikey-ticket.md): computed by
// the digest author with a Python script; the MIKEY-1 ones were cross-checked there against minisip
// libmikey's prf(); the MIKEY-TICKET ones "by a second, independent implementation". No published
// MIKEY or MIKEY-TICKET PRF vectors exist (digest §8.1). Because they are self-computed, every
// vector is also recomputed inside the test by refPRF (prf_test.go, straight from crypto/hmac) over
// a label written out as hex from the digest, sharing no code with keyderiv.go/prf.go.

type kdVector struct {
	name   string
	sha256 bool   // PRF-HMAC-SHA-256, else MIKEY-1
	inkey  []byte //
	label  string // full label as hex, from the digest
	want   string // digest value
	got    func() ([]byte, error)
}

func checkKD(t *testing.T, v kdVector) {
	t.Helper()
	want := mustHex(t, v.want)
	got, err := v.got()
	if err != nil {
		t.Fatalf("%s: %v", v.name, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got %x, digest §8.2 says %x", v.name, got, want)
	}
	// Second, independent computation.
	if ref := refPRF(v.sha256, v.inkey, mustHex(t, v.label), len(want)); !bytes.Equal(ref, want) {
		t.Errorf("%s: independent refPRF gives %x, digest says %x", v.name, ref, want)
	}
}

func TestKDMIKEY1FromTGK(t *testing.T) {
	tgk, rand := seq(0x00, 16), seq(0x10, 16)
	l := RFC3830TGKLabel(1, 0x12345678, rand)
	const tail = "0112345678101112131415161718191a1b1c1d1e1f"
	for _, v := range []kdVector{
		{name: "TEK", label: "2ad01c64" + tail, want: "838f7dea3e6c733fb7755a665bfab763",
			got: func() ([]byte, error) { return DeriveTEK(PRFMIKEY1, tgk, l, 16) }},
		{name: "salt", label: "39a2c14b" + tail, want: "c8512869cd0d1abaa797c728327b",
			got: func() ([]byte, error) { return DeriveTGKSalt(PRFMIKEY1, tgk, l, 14) }},
		{name: "auth", label: "1b5c7973" + tail, want: "d500bcfc41238b366cfd1167c6f9e7f388ce5537",
			got: func() ([]byte, error) { return DeriveTGKAuth(PRFMIKEY1, tgk, l, 20) }},
		{name: "encr", label: "15798cef" + tail, want: "5a2d1ccf00e863ad6f01585cdbe40015",
			got: func() ([]byte, error) { return DeriveTGKEncr(PRFMIKEY1, tgk, l, 16) }},
	} {
		v.inkey = tgk
		checkKD(t, v)
	}
}

func TestKDMIKEY1MessageKeys(t *testing.T) {
	psk := mustHex(t, "00112233445566778899aabbccddeeff0011223344556677")
	l := RFC3830MessageLabel(0x12345678, seq(0x10, 16))
	keys, err := DeriveMessageKeys(PRFMIKEY1, psk, l, EncrAESCM128, MACHMACSHA1160)
	if err != nil {
		t.Fatal(err)
	}
	const tail = "ff12345678101112131415161718191a1b1c1d1e1f"
	for _, v := range []kdVector{
		{name: "encr", label: "150533e1" + tail, want: "188c043231a3dc1eb0cb4e196aa1267d",
			got: func() ([]byte, error) { return keys.Encr, nil }},
		{name: "auth", label: "2d22ac75" + tail, want: "e6092508705cb284cb29770fdcb65f26c49e7359",
			got: func() ([]byte, error) { return keys.Auth, nil }},
		{name: "salt", label: "29b88916" + tail, want: "5dac5a84087983c89bc5bc14923d",
			got: func() ([]byte, error) { return keys.Salt, nil }},
	} {
		v.inkey = psk
		checkKD(t, v)
	}
}

func TestKDTicketMessageKeys(t *testing.T) {
	inkey := seq(0, 32) // stand-in for Ks_NAF: one full 256-bit chunk
	for _, tc := range []struct {
		dir              Direction
		encr, auth, salt string
	}{
		{DirInitial, "cc029446e7e341821685b3a37e0c256b",
			"035470e04604ca54660a2b726c50085a6c0a8c41dd7208ada1cef9a533b07d67", "5190281b68892b13497918312b1f"},
		{DirResponse, "ce8bc9df1e973786e903f41d94e4b5b3",
			"0b89b3ce830427468264d561e68fcc4f93146e4e1cec181d8c279fe1cda889bc", "c1798340e5e5d12f49c082636a1b"},
	} {
		l, err := TicketMessageLabel(0x12345678, tc.dir, seq(0xa0, 16), nil)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := DeriveMessageKeys(PRFHMACSHA256, inkey, l, EncrAESCM128, MACHMACSHA256256)
		if err != nil {
			t.Fatal(err)
		}
		tail := fmt.Sprintf("ff12345678%02x10a0a1a2a3a4a5a6a7a8a9aaabacadaeaf00", uint8(tc.dir))
		for _, v := range []kdVector{
			{name: "encr", label: "150533e1" + tail, want: tc.encr, got: func() ([]byte, error) { return keys.Encr, nil }},
			{name: "auth", label: "2d22ac75" + tail, want: tc.auth, got: func() ([]byte, error) { return keys.Auth, nil }},
			{name: "salt", label: "29b88916" + tail, want: tc.salt, got: func() ([]byte, error) { return keys.Salt, nil }},
		} {
			v.name = fmt.Sprintf("dir %d %s", tc.dir, v.name)
			v.inkey, v.sha256 = inkey, true
			checkKD(t, v)
		}
	}
}

func TestKDTicketTEK(t *testing.T) {
	tgk := seq(0, 16)
	l, err := TicketTGKLabel(1, seq(0xa0, 16), true, seq(0xb0, 16), true)
	if err != nil {
		t.Fatal(err)
	}
	const label = "2ad01c6401ffffffff0310a0a1a2a3a4a5a6a7a8a9aaabacadaeaf10b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	for _, v := range []kdVector{
		{name: "TEK H=G=1 PRF-HMAC-SHA-256", sha256: true, want: "01d9f38c156dfdfe8b461b58ac285921",
			got: func() ([]byte, error) { return DeriveTEK(PRFHMACSHA256, tgk, l, 16) }},
		{name: "TEK H=G=1 MIKEY-1", want: "3962d751909e6431cec3867041eb04b1",
			got: func() ([]byte, error) { return DeriveTEK(PRFMIKEY1, tgk, l, 16) }},
	} {
		v.inkey, v.label = tgk, label
		checkKD(t, v)
	}
}

func TestKDTicketTGKLabelFlags(t *testing.T) {
	ri, rr := seq(0xa0, 16), seq(0xb0, 16)
	for _, tc := range []struct {
		h, g bool
		want string
	}{
		{true, false, "01ffffffff0310a0a1a2a3a4a5a6a7a8a9aaabacadaeaf00"},
		{false, true, "01ffffffff030010b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"},
	} {
		l, err := TicketTGKLabel(1, ri, tc.h, rr, tc.g)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(l, mustHex(t, tc.want)) {
			t.Errorf("H=%v G=%v: label %x, want %s", tc.h, tc.g, []byte(l), tc.want)
		}
	}
	if _, err := TicketTGKLabel(1, ri, false, rr, false); err == nil {
		t.Error("H=G=0 accepted (RFC 6043 §5.1.3: at least one RAND MUST be used)")
	}
	if _, err := TicketTGKLabel(1, nil, true, rr, false); err == nil {
		t.Error("H=1 without RANDRi accepted")
	}
	if _, err := TicketMessageLabel(1, DirInitial, nil, nil); err == nil {
		t.Error("message label without any RAND accepted")
	}
	if _, err := TicketMessageLabel(1, 3, ri, nil); err == nil {
		t.Error("direction 3 accepted")
	}
	if _, err := TicketMessageLabel(1, DirInitial, make([]byte, 256), nil); err == nil {
		t.Error("256-byte RAND accepted")
	}
}

func TestKDSplitMPK(t *testing.T) {
	mpk, rand := seq(0xc0, 16), seq(0xd0, 16)
	const tail = "ffffffffff0610d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	for _, tc := range []struct {
		f          PRFFunc
		mpki, mpkr string
	}{
		{PRFHMACSHA256, "aafd72f028c8723179e4ded5a89ef95f", "69e4d602ef12c8af3cf3d4672dfa0293"},
		{PRFMIKEY1, "cfa5498fd8c8c74812cb650833b5ae8e", "66199d754ef3fe34bb58cb0d643419e0"},
	} {
		mpki, mpkr, err := SplitMPK(tc.f, mpk, rand)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []kdVector{
			{name: "MPKi", label: "220e99a2" + tail, want: tc.mpki, got: func() ([]byte, error) { return mpki, nil }},
			{name: "MPKr", label: "1f4d675b" + tail, want: tc.mpkr, got: func() ([]byte, error) { return mpkr, nil }},
		} {
			v.name = fmt.Sprintf("PRF %d %s", tc.f, v.name)
			v.inkey, v.sha256 = mpk, tc.f == PRFHMACSHA256
			checkKD(t, v)
		}
	}
}

func TestKDForkTGK(t *testing.T) {
	tgk, id, rkms := seq(0, 16), []byte("sip:bob@example.com"), seq(0xe0, 16)
	// 0xFF || 0xFFFFFFFF || 0x00 || len16("sip:bob@example.com" = 19) || ID || 0x10 || e0..ef
	const tail = "ffffffffff000013" + "7369703a626f62406578616d706c652e636f6d" + "10e0e1e2e3e4e5e6e7e8e9eaebecedeeef"
	for _, tc := range []struct {
		f    PRFFunc
		want string
	}{
		{PRFHMACSHA256, "9e28db43526fe13278f5751e77aa9060"},
		{PRFMIKEY1, "b5dbeae64725fc1582fdcc1bea15ada8"},
	} {
		checkKD(t, kdVector{name: fmt.Sprintf("TGK' PRF %d", tc.f), sha256: tc.f == PRFHMACSHA256,
			inkey: tgk, label: "1512b54a" + tail, want: tc.want,
			got: func() ([]byte, error) { return ForkTGK(tc.f, tgk, id, rkms) }})
	}
	// MPKr' uses the same label with its own constant; no digest vector, so only the reference.
	mpkr := seq(0x30, 32)
	got, err := ForkMPKr(PRFHMACSHA256, mpkr, id, rkms)
	if err != nil {
		t.Fatal(err)
	}
	if want := refPRF(true, mpkr, mustHex(t, "2b288856"+tail), 32); !bytes.Equal(got, want) {
		t.Errorf("MPKr' = %x, reference %x", got, want)
	}
}

// The Vr and TPK labels have no digest vectors: checked against labels written out by hand from
// RFC 6043 §6.10 and A.2.1 and the independent refPRF.
func TestKDInitiatorDataAndTPK(t *testing.T) {
	mpkr := seq(0x50, 16)
	k, err := DeriveMessageKeys(PRFHMACSHA256, mpkr, InitiatorDataLabel(), EncrNULL, MACHMACSHA256256)
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Encr) != 0 || len(k.Salt) != 0 {
		t.Errorf("NULL encryption derived encr/salt keys")
	}
	if want := refPRF(true, mpkr, mustHex(t, "2d22ac75ffffffffff04"), 32); !bytes.Equal(k.Auth, want) {
		t.Errorf("Vr auth key %x, reference %x", k.Auth, want)
	}
	tpk := seq(0x70, 32)
	l, err := TPKLabel(seq(0xd0, 16))
	if err != nil {
		t.Fatal(err)
	}
	k, err = DeriveMessageKeys(PRFMIKEY1, tpk, l, EncrAESKW128, MACHMACSHA1160)
	if err != nil {
		t.Fatal(err)
	}
	const tail = "ffffffffff0510d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	for _, c := range []struct {
		name, c string
		got     []byte
	}{{"encr", "150533e1", k.Encr}, {"salt", "29b88916", k.Salt}, {"auth", "2d22ac75", k.Auth}} {
		if want := refPRF(false, tpk, mustHex(t, c.c+tail), len(c.got)); !bytes.Equal(c.got, want) {
			t.Errorf("TPK %s key %x, reference %x", c.name, c.got, want)
		}
	}
	if len(k.Encr) != 16 || len(k.Salt) != 8 || len(k.Auth) != 20 {
		t.Errorf("AES-KW/HMAC-SHA-1 key lengths %d/%d/%d, want 16/8/20", len(k.Encr), len(k.Salt), len(k.Auth))
	}
}

func TestMessageKeysRedacted(t *testing.T) {
	k, err := DeriveMessageKeys(PRFMIKEY1, seq(0, 16), RFC3830MessageLabel(1, seq(0, 16)), EncrAESCM128, MACHMACSHA1160)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("keys", "k", k)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), sb.String()} {
		for _, key := range [][]byte{k.Encr, k.Salt, k.Auth} {
			if strings.Contains(s, fmt.Sprintf("%x", key)) || strings.Contains(s, fmt.Sprint(key)) {
				t.Errorf("key material in %q", s)
			}
		}
	}
}
