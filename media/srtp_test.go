package media

import (
	"bytes"
	"crypto/aes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

// testParams builds deterministic (not secret) parameters for profile p.
func testParams(t testing.TB, p srtp.ProtectionProfile, seed byte, mki []byte, roc uint32) SRTPParams {
	t.Helper()
	kl, _ := p.KeyLen()
	sl, _ := p.SaltLen()
	key := make([]byte, kl)
	salt := make([]byte, sl)
	for i := range key {
		key[i] = seed + byte(i)*7
	}
	for i := range salt {
		salt[i] = seed ^ byte(i)*13
	}
	return SRTPParams{Profile: p, MasterKey: key, MasterSalt: salt, MKI: mki, ROC: roc, EncryptSRTP: true, EncryptSRTCP: true}
}

func rtpPacket(t testing.TB, ssrc uint32, seq uint16, payload []byte) []byte {
	t.Helper()
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: ssrc}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rtcpPacket(t testing.TB, pkts ...rtcp.Packet) []byte {
	t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParamsRedacted(t *testing.T) {
	p := testParams(t, srtp.ProtectionProfileAes128CmHmacSha1_80, 0xA5, []byte{1}, 0)
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("keys", "send", p)
	outs := []string{p.String(), fmt.Sprintf("%v", p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p), fmt.Sprintf("%s", &p), logBuf.String()}
	for _, o := range outs {
		for _, secret := range [][]byte{p.MasterKey, p.MasterSalt} {
			if strings.Contains(strings.ToLower(o), hex.EncodeToString(secret)) || strings.Contains(o, string(secret)) ||
				strings.Contains(o, fmt.Sprint(secret)) || strings.Contains(o, fmt.Sprint(secret[0:4])[1:10]) {
				t.Errorf("output leaks key material: %s", o)
			}
		}
		if !strings.Contains(o, "redacted") {
			t.Errorf("output does not say redacted: %s", o)
		}
	}
}

func TestParamsValidate(t *testing.T) {
	good := testParams(t, srtp.ProtectionProfileAeadAes256Gcm, 1, nil, 0)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []SRTPParams{
		{Profile: srtp.ProtectionProfileNullHmacSha1_80, MasterKey: good.MasterKey, MasterSalt: good.MasterSalt},
		{Profile: good.Profile, MasterKey: good.MasterKey[:16], MasterSalt: good.MasterSalt},
		{Profile: good.Profile, MasterKey: good.MasterKey, MasterSalt: good.MasterSalt[:11]},
		{Profile: good.Profile, MasterKey: good.MasterKey, MasterSalt: good.MasterSalt, MKI: make([]byte, 129)},
	}
	for i, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("case %d: accepted %v", i, p)
		} else if strings.Contains(err.Error(), hex.EncodeToString(good.MasterKey[:4])) {
			t.Errorf("case %d: error leaks key: %v", i, err)
		}
	}
	for _, name := range []string{"AES_CM_128_HMAC_SHA1_80", "aes_cm_128_hmac_sha1_32", "AES_256_CM_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_32", "AEAD_AES_128_GCM", "AEAD_AES_256_GCM"} {
		p, err := ProfileByName(name)
		if err != nil || !strings.EqualFold(ProfileName(p), name) {
			t.Errorf("ProfileByName(%q) = %v, %v", name, p, err)
		}
	}
	if _, err := ProfileByName("F8_128_HMAC_SHA1_80"); err == nil {
		t.Error("accepted F8")
	}
}

type profileCase struct {
	name string
	p    srtp.ProtectionProfile
	mki  []byte
	enc  bool
}

func profileCases() []profileCase {
	var out []profileCase
	for _, p := range Profiles() {
		for _, mki := range [][]byte{nil, {0, 1, 2, 3}} {
			for _, enc := range []bool{true, false} {
				out = append(out, profileCase{fmt.Sprintf("%s/mki=%d/enc=%t", ProfileName(p), len(mki), enc), p, mki, enc})
			}
		}
	}
	return out
}

// Every suite, with and without MKI and encryption: round trip, tamper (every single bit of the
// packet), replay, truncation and clear text are all caught.
func TestProtectUnprotect(t *testing.T) {
	for _, c := range profileCases() {
		t.Run(c.name, func(t *testing.T) {
			p := testParams(t, c.p, 9, c.mki, 0)
			p.EncryptSRTP, p.EncryptSRTCP = c.enc, c.enc
			tx, err := newTxCrypto(&p, 0x1234)
			if err != nil {
				t.Fatal(err)
			}
			rx, err := newRxCrypto(&p)
			if err != nil {
				t.Fatal(err)
			}
			payload := bytes.Repeat([]byte{0x55}, 160)
			for seq := uint16(100); seq < 110; seq++ {
				plain := rtpPacket(t, 0x1234, seq, payload)
				wire, err := tx.protectTest(nil, plain)
				if err != nil {
					t.Fatal(err)
				}
				if c.enc && bytes.Contains(wire, payload[:16]) {
					t.Fatal("payload in clear with encryption on")
				}
				if seq == 105 {
					for bit := 0; bit < len(wire)*8; bit++ {
						f := bytes.Clone(wire)
						f[bit/8] ^= 1 << (bit % 8)
						if _, _, err := rx.unprotectRTP(f); err == nil {
							t.Fatalf("bit %d flipped: accepted", bit)
						}
					}
					if _, _, err := rx.unprotectRTP(bytes.Clone(wire[:len(wire)-1])); !errors.Is(err, ErrAuth) {
						t.Fatalf("truncated tag: %v", err)
					}
					if _, _, err := rx.unprotectRTP(bytes.Clone(plain)); !errors.Is(err, ErrAuth) {
						t.Fatalf("clear RTP: %v", err)
					}
				}
				got, _, err := rx.unprotectRTP(bytes.Clone(wire))
				if err != nil {
					t.Fatalf("seq %d: %v", seq, err)
				}
				if !bytes.Equal(got, plain) {
					t.Fatalf("seq %d: round trip mismatch", seq)
				}
				if _, _, err := rx.unprotectRTP(bytes.Clone(wire)); !errors.Is(err, ErrReplay) {
					t.Fatalf("seq %d replay: %v", seq, err)
				}
			}
			// SRTCP: authenticated always, encrypted per the flag.
			sr := rtcpPacket(t, &rtcp.SenderReport{SSRC: 0x1234, NTPTime: 1 << 40, PacketCount: 10}, &rtcp.Goodbye{Sources: []uint32{0x1234}})
			wire, err := tx.protectRTCP(nil, sr)
			if err != nil {
				t.Fatal(err)
			}
			if len(wire) <= len(sr)+4 {
				t.Fatalf("SRTCP packet of %d bytes has no tag (RTCP %d)", len(wire), len(sr))
			}
			for bit := 0; bit < len(wire)*8; bit++ {
				f := bytes.Clone(wire)
				f[bit/8] ^= 1 << (bit % 8)
				if _, err := rx.unprotectRTCP(f); err == nil {
					t.Fatalf("SRTCP bit %d flipped: accepted", bit)
				}
			}
			if _, err := rx.unprotectRTCP(bytes.Clone(sr)); !errors.Is(err, ErrAuth) {
				t.Fatalf("clear RTCP: %v", err)
			}
			got, err := rx.unprotectRTCP(bytes.Clone(wire))
			if err != nil || !bytes.Equal(got, sr) {
				t.Fatalf("SRTCP round trip: %v", err)
			}
			if _, err := rx.unprotectRTCP(bytes.Clone(wire)); !errors.Is(err, ErrReplay) {
				t.Fatalf("SRTCP replay: %v", err)
			}
		})
	}
}

// deriveKey is an independent implementation of the RFC 3711 §4.3.1/§4.3.3 AES-CM key
// derivation (kdr = 0) straight from crypto/aes, to check pion's output in the tests below.
func deriveKey(t testing.TB, masterKey, masterSalt []byte, label byte, n int) []byte {
	t.Helper()
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		t.Fatal(err)
	}
	var x [16]byte
	copy(x[:], masterSalt)
	x[7] ^= label
	out := make([]byte, 0, n+16)
	for i := 0; len(out) < n; i++ {
		in := x
		binary.BigEndian.PutUint16(in[14:], uint16(i))
		var o [16]byte
		block.Encrypt(o[:], in[:])
		out = append(out, o[:]...)
	}
	return out[:n]
}

// RFC 3711 Appendix B.3 key derivation test vectors check deriveKey itself.
func TestDeriveKeyRFC3711B3(t *testing.T) {
	mk, _ := hex.DecodeString("E1F97A0D3E018BE0D64FA32C06DE4139")
	ms, _ := hex.DecodeString("0EC675AD498AFEEBB6960B3AABE6")
	for _, v := range []struct {
		label byte
		n     int
		want  string
	}{
		{0, 16, "C61E7A93744F39EE10734AFE3FF7A087"},
		{2, 14, "30CBBC08863D8C85D49DB34A9AE1"},
		{1, 48, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCEE049646C43D9327AD175578EF7227098"},
	} {
		if got := strings.ToUpper(hex.EncodeToString(deriveKey(t, mk, ms, v.label, v.n))); got != v.want {
			t.Errorf("label %d: got %s want %s", v.label, got, v.want)
		}
	}
}

// SRTCP with encryption off still carries E=0, the index and an HMAC-SHA1 tag over
// RTCP || E || index (RFC 3711 §3.4, §4.2), computed here independently with crypto/hmac.
func TestSRTCPAuthenticatedWithoutEncryption(t *testing.T) {
	p := testParams(t, srtp.ProtectionProfileAes128CmHmacSha1_32, 3, nil, 0)
	p.EncryptSRTCP = false
	tx, err := newTxCrypto(&p, 7)
	if err != nil {
		t.Fatal(err)
	}
	plain := rtcpPacket(t, &rtcp.ReceiverReport{SSRC: 7}, &rtcp.Goodbye{Sources: []uint32{7}})
	wire, err := tx.protectRTCP(nil, plain)
	if err != nil {
		t.Fatal(err)
	}
	// _32 shortens only the SRTP tag; SRTCP keeps 80 bits (RFC 4568 §6.2 table, §6.2.2).
	if len(wire) != len(plain)+4+10 {
		t.Fatalf("SRTCP length %d, want %d", len(wire), len(plain)+14)
	}
	if !bytes.Equal(wire[:len(plain)], plain) {
		t.Fatal("payload changed with encryption off")
	}
	if idx := binary.BigEndian.Uint32(wire[len(plain):]); idx != 1 {
		t.Fatalf("E||index = %#x, want E=0 index=1", idx)
	}
	ka := deriveKey(t, p.MasterKey, p.MasterSalt, 0x04, 20)
	m := hmac.New(sha1.New, ka)
	m.Write(wire[:len(plain)+4])
	if want := m.Sum(nil)[:10]; !hmac.Equal(want, wire[len(plain)+4:]) {
		t.Fatalf("SRTCP tag %x, independent HMAC %x", wire[len(plain)+4:], want)
	}
}

// ROC continuity across the 16-bit sequence wrap (RFC 3711 §3.3.1), through the real
// protect/unprotect path: sender and receiver start from a preset ROC, the wrap increments it,
// and the SRTP tag after the wrap is the HMAC over the packet and the new ROC, computed
// independently. A receiver preset with the wrong ROC rejects every packet.
func TestROCWrap(t *testing.T) {
	const ssrc, roc0 = 0xCAFE, 41
	p := testParams(t, srtp.ProtectionProfileAes128CmHmacSha1_80, 5, nil, roc0)
	tx, err := newTxCrypto(&p, ssrc)
	if err != nil {
		t.Fatal(err)
	}
	rx, err := newRxCrypto(&p)
	if err != nil {
		t.Fatal(err)
	}
	wrong := p
	wrong.ROC = roc0 + 5
	rxWrong, err := newRxCrypto(&wrong)
	if err != nil {
		t.Fatal(err)
	}
	ka := deriveKey(t, p.MasterKey, p.MasterSalt, 0x01, 20)
	payload := bytes.Repeat([]byte{1}, 160)
	seq := uint16(65500)
	for i := 0; i < 200; i++ {
		plain := rtpPacket(t, ssrc, seq, payload)
		wire, err := tx.protectTest(nil, plain)
		if err != nil {
			t.Fatal(err)
		}
		wantROC := uint32(roc0)
		if seq < 65500 {
			wantROC++
		}
		m := hmac.New(sha1.New, ka)
		m.Write(wire[:len(plain)])
		binary.Write(m, binary.BigEndian, wantROC)
		if tag := m.Sum(nil)[:10]; !hmac.Equal(tag, wire[len(plain):]) {
			t.Fatalf("seq %d: tag does not match ROC %d", seq, wantROC)
		}
		if _, _, err := rxWrong.unprotectRTP(bytes.Clone(wire)); !errors.Is(err, ErrAuth) {
			t.Fatalf("seq %d accepted with wrong ROC: %v", seq, err)
		}
		got, _, err := rx.unprotectRTP(wire)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("seq %d (ROC %d): %v", seq, wantROC, err)
		}
		seq++
	}
	if r, _ := rx.ctx.ROC(ssrc); r != roc0+1 {
		t.Fatalf("receiver ROC %d after wrap, want %d", r, roc0+1)
	}
}

// Rekey with MKI: new receive key installed while packets under the old key are still in
// flight; the sender switches; late old-key packets and new-key packets all decrypt; after
// RetireKey the old key's packets are refused as unknown MKI.
func TestRekeyCrypto(t *testing.T) {
	for _, prof := range []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAeadAes128Gcm} {
		t.Run(ProfileName(prof), func(t *testing.T) {
			k1 := testParams(t, prof, 1, []byte{0, 1}, 0)
			k2 := testParams(t, prof, 2, []byte{0, 2}, 0)
			tx, err := newTxCrypto(&k1, 1)
			if err != nil {
				t.Fatal(err)
			}
			rx, err := newRxCrypto(&k1)
			if err != nil {
				t.Fatal(err)
			}
			var old [][]byte
			seq := uint16(1)
			for ; seq <= 5; seq++ {
				w, _ := tx.protectTest(nil, rtpPacket(t, 1, seq, []byte{byte(seq)}))
				old = append(old, w)
			}
			if err := rx.rekey(k2); err != nil {
				t.Fatal(err)
			}
			if err := tx.rekey(k2); err != nil {
				t.Fatal(err)
			}
			var fresh [][]byte
			for ; seq <= 10; seq++ {
				w, _ := tx.protectTest(nil, rtpPacket(t, 1, seq, []byte{byte(seq)}))
				if !bytes.Equal(w[len(w)-len(k2.MKI)-tagLen(prof):len(w)-tagLen(prof)], k2.MKI) {
					t.Fatalf("seq %d not sent under MKI %x", seq, k2.MKI)
				}
				fresh = append(fresh, w)
			}
			// New-key packets first, the old ones arrive late: all must decrypt.
			for _, w := range append(fresh[:3:3], append(old, fresh[3:]...)...) {
				if _, _, err := rx.unprotectRTP(bytes.Clone(w)); err != nil {
					t.Fatalf("during rekey: %v", err)
				}
			}
			if _, removed, err := tx.retire(k2.MKI); err != nil || removed || tx.ring.find(k2.MKI) < 0 {
				t.Fatal("retired the current send key")
			}
			if _, removed, err := tx.retire(k1.MKI); err != nil || !removed {
				t.Fatal(removed, err)
			}
			if _, removed, err := rx.retire(k1.MKI); err != nil || !removed {
				t.Fatal(removed, err)
			}
			if _, removed, _ := rx.retire(k2.MKI); removed {
				t.Fatal("retired the last receive key")
			}
			// A packet under the retired key (fresh sequence number, so not a replay).
			tx1, _ := newTxCrypto(&k1, 1)
			w, _ := tx1.protectTest(nil, rtpPacket(t, 1, 50, []byte{1}))
			if _, _, err := rx.unprotectRTP(w); !errors.Is(err, ErrAuth) {
				t.Fatalf("retired key accepted: %v", err)
			}
			w, _ = tx.protectTest(nil, rtpPacket(t, 1, 51, []byte{1}))
			if _, _, err := rx.unprotectRTP(w); err != nil {
				t.Fatalf("after retire: %v", err)
			}
			if err := rx.rekey(k2); err == nil {
				t.Fatal("installed one MKI twice")
			}
		})
	}
	noMKI := testParams(t, srtp.ProtectionProfileAes128CmHmacSha1_80, 1, nil, 0)
	tx, _ := newTxCrypto(&noMKI, 1)
	if err := tx.rekey(testParams(t, srtp.ProtectionProfileAes128CmHmacSha1_80, 2, []byte{1}, 0)); !errors.Is(err, ErrNoMKI) {
		t.Fatalf("rekey without MKI: %v", err)
	}
}

func tagLen(p srtp.ProtectionProfile) int {
	if n, _ := p.AEADAuthTagLen(); n > 0 {
		return 0
	}
	n, _ := p.AuthTagRTPLen()
	return n
}

// Forged packets with ever new SSRCs must not grow the receive Context without bound.
func TestSSRCStateBounded(t *testing.T) {
	p := testParams(t, srtp.ProtectionProfileAes128CmHmacSha1_80, 1, nil, 0)
	rx, _ := newRxCrypto(&p)
	for i := uint32(0); i < 1000; i++ {
		rx.unprotectRTP(rtpPacket(t, i, 1, make([]byte, 20)))
		rx.unprotectRTCP(rtcpPacket(t, &rtcp.ReceiverReport{SSRC: i + 5000}))
		if len(rx.ssrcs) > maxSSRCStates {
			t.Fatalf("%d SSRC states", len(rx.ssrcs))
		}
	}
}

// protectTest is protectRTP for tests that do not care about the sender counts.
func (t *txCrypto) protectTest(dst, plain []byte) ([]byte, error) { return t.protectRTP(dst, plain, 0) }
