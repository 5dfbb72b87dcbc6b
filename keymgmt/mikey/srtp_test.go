package mikey

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
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

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "|", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func seqBytes(from, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(from + i)
	}
	return b
}

// The SP payload our offers send for AES_CM_128_HMAC_SHA1_80 (digest §2.3 example policy).
func TestSRTPPolicyForEncoding(t *testing.T) {
	sp, err := SRTPPolicyFor(0, srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	body, err := sp.appendBody(nil)
	if err != nil {
		t.Fatal(err)
	}
	params := unhex(t, "00 01 01 | 01 01 10 | 02 01 01 | 03 01 14 | 04 01 0e | 07 01 01 | 08 01 01 | 0a 01 01 | 0b 01 0a")
	want := append([]byte{0, 0, 0, byte(len(params))}, params...)
	if !bytes.Equal(body, want) {
		t.Fatalf("SP body\n got %x\nwant %x", body, want)
	}
	for _, prof := range []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAes128CmHmacSha1_32,
		srtp.ProtectionProfileAes256CmHmacSha1_80, srtp.ProtectionProfileAes256CmHmacSha1_32} {
		sp, err := SRTPPolicyFor(3, prof)
		if err != nil {
			t.Fatal(err)
		}
		pol, err := ParseSRTPPolicy(sp)
		if err != nil {
			t.Fatalf("profile %#x: %v", prof, err)
		}
		if got, _ := pol.Profile(); got != prof || pol.PolicyNo != 3 || !pol.SRTPEncr || !pol.SRTCPEncr {
			t.Errorf("profile %#x: round trip gave %#x, %+v", prof, got, pol)
		}
	}
	for _, prof := range []srtp.ProtectionProfile{srtp.ProtectionProfileAeadAes128Gcm, srtp.ProtectionProfileAeadAes256Gcm, srtp.ProtectionProfileNullHmacSha1_80} {
		if _, err := SRTPPolicyFor(0, prof); err == nil {
			t.Errorf("profile %#x got an SP encoding", prof)
		}
	}
}

func TestParseSRTPPolicyDefaults(t *testing.T) {
	// RFC 4567 §5.1 offers "SP: no 0, SRTP, no parameters": all SRTP defaults (RFC 3711 §8.2).
	pol, err := ParseSRTPPolicy(&SP{PolicyNo: 0, ProtType: ProtSRTP})
	if err != nil {
		t.Fatal(err)
	}
	if pol != DefaultSRTPPolicy(0) {
		t.Fatalf("empty SP = %+v", pol)
	}
	if prof, _ := pol.Profile(); prof != srtp.ProtectionProfileAes128CmHmacSha1_80 {
		t.Fatalf("default profile %#x", prof)
	}
	// Encryption off, explicit 4-byte tag, multi-byte integers and explicit defaults are fine.
	pol, err = ParseSRTPPolicy(&SP{ProtType: ProtSRTP, Params: []SPParam{
		SRTPParamUint8(SPSRTPEncr, 0), SRTPParamUint8(SPAuthTagLen, 4),
		{Type: SPKeyDerivRate, Value: []byte{0, 0, 0, 0}}, SRTPParamUint8(SPSRTPPrefixLen, 0),
		SRTPParamUint8(SPFECOrder, 0), SRTPParamUint8(SPSRTPPRF, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	if prof, _ := pol.Profile(); prof != srtp.ProtectionProfileAes128CmHmacSha1_32 || pol.SRTPEncr || !pol.SRTCPEncr {
		t.Fatalf("policy %+v profile %#x", pol, prof)
	}
	// NULL encryption: both directions unencrypted, still authenticated.
	pol, err = ParseSRTPPolicy(&SP{ProtType: ProtSRTP, Params: []SPParam{
		SRTPParamUint8(SPEncrAlg, SRTPEncrNULL), SRTPParamUint8(SPSRTPEncr, 0), SRTPParamUint8(SPSRTCPEncr, 0)}})
	if err != nil || pol.SRTPAuth != true {
		t.Fatalf("NULL encryption: %+v, %v", pol, err)
	}
}

func TestParseSRTPPolicyRefusals(t *testing.T) {
	p := SRTPParamUint8
	for _, c := range []struct {
		name string
		sp   SP
		no   ErrNo
	}{
		{"key derivation rate", SP{Params: []SPParam{{Type: SPKeyDerivRate, Value: []byte{0, 1, 0, 0}}}}, ErrInvalidSPpar},
		{"AES-F8", SP{Params: []SPParam{p(SPEncrAlg, SRTPEncrAESF8)}}, ErrInvalidSPpar},
		{"unknown cipher", SP{Params: []SPParam{p(SPEncrAlg, 7)}}, ErrInvalidSPpar},
		{"SRTP auth off", SP{Params: []SPParam{p(SPSRTPAuth, 0)}}, ErrInvalidSPpar},
		{"auth NULL", SP{Params: []SPParam{p(SPAuthAlg, SRTPAuthNULL)}}, ErrInvalidSPpar},
		{"prefix", SP{Params: []SPParam{p(SPSRTPPrefixLen, 4)}}, ErrInvalidSPpar},
		{"tag 8", SP{Params: []SPParam{p(SPAuthTagLen, 8)}}, ErrInvalidSPpar},
		{"tag 0", SP{Params: []SPParam{p(SPAuthTagLen, 0)}}, ErrInvalidSPpar},
		{"AES-192", SP{Params: []SPParam{p(SPEncrKeyLen, 24)}}, ErrInvalidSPpar},
		{"auth key 16", SP{Params: []SPParam{p(SPAuthKeyLen, 16)}}, ErrInvalidSPpar},
		{"salt 12", SP{Params: []SPParam{p(SPSaltKeyLen, 12)}}, ErrInvalidSPpar},
		{"PRF 1", SP{Params: []SPParam{p(SPSRTPPRF, 1)}}, ErrInvalidSPpar},
		{"FEC order 1", SP{Params: []SPParam{p(SPFECOrder, 1)}}, ErrInvalidSPpar},
		{"encr on/off 2", SP{Params: []SPParam{p(SPSRTPEncr, 2)}}, ErrInvalidSPpar},
		{"NULL with encryption on", SP{Params: []SPParam{p(SPEncrAlg, SRTPEncrNULL)}}, ErrInvalidSPpar},
		{"duplicate", SP{Params: []SPParam{p(SPAuthTagLen, 10), p(SPAuthTagLen, 4)}}, ErrInvalidSPpar},
		{"unknown type 13", SP{Params: []SPParam{p(13, 0)}}, ErrInvalidSPpar},
		{"empty value", SP{Params: []SPParam{{Type: SPEncrAlg}}}, ErrInvalidSPpar},
		{"5-byte value", SP{Params: []SPParam{{Type: SPKeyDerivRate, Value: make([]byte, 5)}}}, ErrInvalidSPpar},
		{"wide enc alg", SP{Params: []SPParam{{Type: SPEncrAlg, Value: []byte{1, 1}}}}, ErrInvalidSPpar},
		{"not SRTP", SP{ProtType: 1}, ErrInvalidSP},
	} {
		_, err := ParseSRTPPolicy(&c.sp)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.ErrNo != c.no {
			t.Errorf("%s: %v, want ErrNo %d", c.name, err, c.no)
		}
		if CheckSRTP(&c.sp) == nil {
			t.Errorf("%s: CheckSRTP accepted", c.name)
		}
	}
	if _, err := ParseSRTPPolicy(nil); err == nil {
		t.Error("nil SP accepted")
	}
}

// hmacPRF1 is the MIKEY PRF for an inkey of at most 32 bytes and an output of at most one hash
// block, written straight from RFC 3830 §4.1.2 with crypto/hmac (independent of prf.go):
// P(s, label, 1) = HMAC(s, A1 || label), A1 = HMAC(s, label).
func hmacPRF1(t testing.TB, sha256Hash bool, s, label []byte, n int) []byte {
	t.Helper()
	h := sha1.New
	if sha256Hash {
		h = sha256.New
	}
	m := hmac.New(h, s)
	m.Write(label)
	a1 := m.Sum(nil)
	m = hmac.New(h, s)
	m.Write(a1)
	m.Write(label)
	out := m.Sum(nil)
	if n > len(out) {
		t.Fatalf("hmacPRF1: %d bytes exceed one block", n)
	}
	return out[:n]
}

func aes128Keying(t testing.TB) SRTPKeying {
	sp, err := SRTPPolicyFor(0, srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	return SRTPKeying{
		HDR: HDR{PRF: PRFHMACSHA256, CSBID: 0x12345678, CSIDMapType: CSIDMapGenericID, NumCS: 2,
			GenericIDs: []GenericIDEntry{
				{CSID: 1, ProtType: ProtSRTP, S: true, PolicyNos: []uint8{0}, SessionData: SRTPSessionData(0xdeadbeef, true, 3, 0x1234), SPI: []byte{0, 0, 0, 1}},
				{CSID: 2, ProtType: ProtSRTP, PolicyNos: []uint8{0}, SessionData: SRTPSessionData(0xcafe0001, false, 0, 0), SPI: []byte{0, 0, 0, 2}},
			}},
		SPs: []*SP{sp},
		Keys: []KeyData{
			{Type: KeyTGK, KV: KVSPI, Key: seqBytes(0x00, 16), SPI: []byte{0, 0, 0, 1}},
			{Type: KeyTGKSalt, KV: KVSPI, Key: seqBytes(0x40, 16), Salt: seqBytes(0x60, 14), SPI: []byte{0, 0, 0, 2}},
		},
		Ticket: true, Flags: FlagD | FlagE | FlagF | FlagG | FlagH,
		RANDRi: seqBytes(0xa0, 16), RANDRr: seqBytes(0xb0, 16),
	}
}

// MIKEY-TICKET TGK → TEK with H = G = 1 and PRF-HMAC-SHA-256 (digest §8.2, checked there by a
// second implementation): TGK 00..0f, RANDRi a0..af, RANDRr b0..bf, CS ID 1 gives TEK
// 01d9f38c156dfdfe8b461b58ac285921. The salt is checked against crypto/hmac directly.
func TestSRTPSessionsTicket(t *testing.T) {
	in := aes128Keying(t)
	out, err := SRTPSessions(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("%d sessions", len(out))
	}
	s := out[0]
	if want := unhex(t, "01d9f38c156dfdfe8b461b58ac285921"); !bytes.Equal(s.MasterKey, want) {
		t.Errorf("CS 1 master key %x, want %x", s.MasterKey, want)
	}
	label := unhex(t, "39a2c14b 01 ffffffff 03 10 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 10 b0b1b2b3b4b5b6b7b8b9babbbcbdbebf")
	if want := hmacPRF1(t, true, seqBytes(0, 16), label, 14); !bytes.Equal(s.MasterSalt, want) {
		t.Errorf("CS 1 master salt %x, want %x", s.MasterSalt, want)
	}
	if s.CSID != 1 || s.Profile != srtp.ProtectionProfileAes128CmHmacSha1_80 || !bytes.Equal(s.MKI, []byte{0, 0, 0, 1}) ||
		s.SSRC != 0xdeadbeef || !s.HasSSRC || s.ROC != 3 || s.SEQ != 0x1234 || !s.HasSEQ || !s.EncryptSRTP || !s.EncryptSRTCP {
		t.Errorf("CS 1 = %v", s)
	}
	// CS 2: TGK+SALT, the carried salt is used; the TEK label has CS ID 2.
	s = out[1]
	teklabel := unhex(t, "2ad01c64 02 ffffffff 03 10 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 10 b0b1b2b3b4b5b6b7b8b9babbbcbdbebf")
	if want := hmacPRF1(t, true, seqBytes(0x40, 16), teklabel, 16); !bytes.Equal(s.MasterKey, want) {
		t.Errorf("CS 2 master key %x, want %x", s.MasterKey, want)
	}
	if !bytes.Equal(s.MasterSalt, seqBytes(0x60, 14)) || s.SSRC != 0xcafe0001 || s.HasSEQ || s.ROC != 0 {
		t.Errorf("CS 2 = %v salt %x", s, s.MasterSalt)
	}

	// H = 0 (G = 1): RANDRi leaves the label, its length byte becomes 0.
	in.Flags = FlagD | FlagE | FlagF | FlagG
	out, err = SRTPSessions(in)
	if err != nil {
		t.Fatal(err)
	}
	label = unhex(t, "2ad01c64 01 ffffffff 03 00 10 b0b1b2b3b4b5b6b7b8b9babbbcbdbebf")
	if want := hmacPRF1(t, true, seqBytes(0, 16), label, 16); !bytes.Equal(out[0].MasterKey, want) {
		t.Errorf("H=0: master key %x, want %x", out[0].MasterKey, want)
	}
}

// RFC 3830 §4.1.3 with MIKEY-1 (digest §8.2, cross-checked there against minisip): TGK 00..0f,
// RAND 10..1f, CSB ID 0x12345678, CS ID 1: TEK 838f7dea3e6c733fb7755a665bfab763, salt
// c8512869cd0d1abaa797c728327b.
func TestSRTPSessionsRFC3830(t *testing.T) {
	in := SRTPKeying{
		HDR: HDR{PRF: PRFMIKEY1, CSBID: 0x12345678, CSIDMapType: CSIDMapSRTPID, NumCS: 1,
			SRTPIDs: []SRTPIDEntry{{PolicyNo: 0, SSRC: 0x11223344, ROC: 7}}},
		SPs:  []*SP{{PolicyNo: 0, ProtType: ProtSRTP}},
		Keys: []KeyData{{Type: KeyTGK, Key: seqBytes(0, 16)}},
		RAND: seqBytes(0x10, 16),
	}
	out, err := SRTPSessions(in)
	if err != nil {
		t.Fatal(err)
	}
	s := out[0]
	if !bytes.Equal(s.MasterKey, unhex(t, "838f7dea3e6c733fb7755a665bfab763")) || !bytes.Equal(s.MasterSalt, unhex(t, "c8512869cd0d1abaa797c728327b")) {
		t.Errorf("master key %x salt %x", s.MasterKey, s.MasterSalt)
	}
	if s.CSID != 1 || s.SSRC != 0x11223344 || s.ROC != 7 || len(s.MKI) != 0 || !s.HasSSRC {
		t.Errorf("session %v", s)
	}
	in.RAND = nil
	if _, err := SRTPSessions(in); err == nil {
		t.Error("RFC 3830 derivation without RAND succeeded")
	}
}

func TestSRTPSessionsErrors(t *testing.T) {
	mod := func(f func(*SRTPKeying)) SRTPKeying {
		in := aes128Keying(t)
		f(&in)
		return in
	}
	for _, c := range []struct {
		name string
		in   SRTPKeying
		no   ErrNo
	}{
		{"unknown SPI", mod(func(in *SRTPKeying) { in.HDR.GenericIDs[0].SPI = []byte{9} }), ErrUnspecified},
		{"ambiguous key", mod(func(in *SRTPKeying) { in.HDR.GenericIDs[0].SPI = nil }), ErrUnspecified},
		{"no SP", mod(func(in *SRTPKeying) { in.HDR.GenericIDs[0].PolicyNos = []uint8{5} }), ErrInvalidSP},
		{"two policies", mod(func(in *SRTPKeying) { in.HDR.GenericIDs[0].PolicyNos = []uint8{0, 0} }), ErrInvalidSP},
		{"not SRTP", mod(func(in *SRTPKeying) { in.HDR.GenericIDs[0].ProtType = 1 }), ErrInvalidSP},
		{"bad SP", mod(func(in *SRTPKeying) { in.SPs[0].Params = append(in.SPs[0].Params, SRTPParamUint8(SPKeyDerivRate, 1)) }), ErrInvalidSPpar},
		{"salt length", mod(func(in *SRTPKeying) { in.Keys[1].Salt = seqBytes(0, 12) }), ErrUnspecified},
		{"TEK without salt", mod(func(in *SRTPKeying) { in.Keys[0].Type = KeyTEK }), ErrUnspecified},
		{"TEK length", mod(func(in *SRTPKeying) { in.Keys[1].Type, in.Keys[1].Key = KeyTEKSalt, seqBytes(0, 32) }), ErrUnspecified},
		{"no RANDRr with G", mod(func(in *SRTPKeying) { in.RANDRr = nil }), ErrUnspecified},
		{"empty map", mod(func(in *SRTPKeying) { in.HDR.CSIDMapType = CSIDMapEmpty }), ErrUnspecified},
		{"no sessions", mod(func(in *SRTPKeying) { in.HDR.GenericIDs = nil }), ErrUnspecified},
		{"bad session data", mod(func(in *SRTPKeying) { in.HDR.GenericIDs[0].SessionData = []byte{1, 2, 3} }), ErrUnspecified},
	} {
		_, err := SRTPSessions(c.in)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.ErrNo != c.no {
			t.Errorf("%s: %v, want ErrNo %d", c.name, err, c.no)
		}
	}
	// A TEK+SALT is the master key and salt as they are.
	in := mod(func(in *SRTPKeying) { in.Keys[1].Type = KeyTEKSalt })
	out, err := SRTPSessions(in)
	if err != nil || !bytes.Equal(out[1].MasterKey, seqBytes(0x40, 16)) || !bytes.Equal(out[1].MasterSalt, seqBytes(0x60, 14)) {
		t.Fatalf("TEK+SALT: %v, %v", out, err)
	}
}

func TestSRTPCryptoSessionRedacts(t *testing.T) {
	out, err := SRTPSessions(aes128Keying(t))
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("cs", "session", out[0])
	for _, s := range []string{fmt.Sprint(out[0]), fmt.Sprintf("%+v", out[0]), fmt.Sprintf("%#v", out[0]), logBuf.String()} {
		for _, secret := range [][]byte{out[0].MasterKey, out[0].MasterSalt} {
			if strings.Contains(strings.ToLower(s), hex.EncodeToString(secret)) || strings.Contains(s, fmt.Sprint(secret)) {
				t.Errorf("secret printed: %s", s)
			}
		}
	}
}

// pionPair builds the sender and receiver contexts of one crypto session as the media layer would.
func pionPair(t testing.TB, s SRTPCryptoSession) (tx, rx *srtp.Context) {
	t.Helper()
	opts := func() []srtp.ContextOption {
		o := []srtp.ContextOption{}
		if len(s.MKI) > 0 {
			o = append(o, srtp.MasterKeyIndicator(s.MKI))
		}
		if !s.EncryptSRTP {
			o = append(o, srtp.SRTPNoEncryption())
		}
		if !s.EncryptSRTCP {
			o = append(o, srtp.SRTCPNoEncryption())
		}
		return o
	}
	tx, err := srtp.CreateContext(s.MasterKey, s.MasterSalt, s.Profile, opts()...)
	if err != nil {
		t.Fatal(err)
	}
	rx, err = srtp.CreateContext(s.MasterKey, s.MasterSalt, s.Profile, opts()...)
	if err != nil {
		t.Fatal(err)
	}
	tx.SetROC(s.SSRC, s.ROC)
	rx.SetROC(s.SSRC, s.ROC)
	return tx, rx
}

// Keys derived by SRTPSessions drive pion/srtp v2 both ways: the Initiator's and the Responder's
// derivations (separate calls) protect and unprotect RTP and RTCP for each other.
func TestSRTPSessionsWithPion(t *testing.T) {
	for _, prof := range []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAes128CmHmacSha1_32,
		srtp.ProtectionProfileAes256CmHmacSha1_80, srtp.ProtectionProfileAes256CmHmacSha1_32} {
		in := aes128Keying(t)
		sp, err := SRTPPolicyFor(0, prof)
		if err != nil {
			t.Fatal(err)
		}
		in.SPs = []*SP{sp}
		initiator, err := SRTPSessions(in)
		if err != nil {
			t.Fatal(err)
		}
		responder, err := SRTPSessions(in)
		if err != nil {
			t.Fatal(err)
		}
		for i := range initiator {
			a, b := initiator[i], responder[i]
			aTx, aRx := pionPair(t, a)
			bTx, bRx := pionPair(t, b)
			for dir, pair := range [][2]*srtp.Context{{aTx, bRx}, {bTx, aRx}} {
				pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: a.SEQ + 1, Timestamp: 160, SSRC: a.SSRC},
					Payload: bytes.Repeat([]byte{0xd5}, 160)}
				plain, err := pkt.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				enc, err := pair[0].EncryptRTP(nil, plain, nil)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(enc, pkt.Payload[:16]) {
					t.Errorf("profile %#x CS %d dir %d: payload in clear", prof, a.CSID, dir)
				}
				dec, err := pair[1].DecryptRTP(nil, enc, nil)
				if err != nil || !bytes.Equal(dec, plain) {
					t.Fatalf("profile %#x CS %d dir %d: RTP round trip: %v", prof, a.CSID, dir, err)
				}
				enc[len(enc)-1] ^= 1
				if _, err := pair[1].DecryptRTP(nil, enc, nil); err == nil {
					t.Fatalf("profile %#x: tampered SRTP accepted", prof)
				}
				sr, _ := (&rtcp.SenderReport{SSRC: a.SSRC, NTPTime: 1, RTPTime: 2, PacketCount: 3, OctetCount: 4}).Marshal()
				encR, err := pair[0].EncryptRTCP(nil, sr, nil)
				if err != nil {
					t.Fatal(err)
				}
				decR, err := pair[1].DecryptRTCP(nil, encR, nil)
				if err != nil || !bytes.Equal(decR, sr) {
					t.Fatalf("profile %#x: RTCP round trip: %v", prof, err)
				}
			}
		}
		// A session derived for another CS ID cannot read this one's packets.
		if bytes.Equal(initiator[0].MasterKey, initiator[1].MasterKey) {
			t.Fatal("two crypto sessions share a master key")
		}
	}
}

// rfc3711Protect computes an SRTP packet straight from RFC 3711 §3.3, §4.1.1 and §4.2.1 with given
// session keys (crypto/aes and crypto/hmac only): AES-CM with IV = (k_s * 2^16) XOR (SSRC * 2^64)
// XOR (i * 2^16), then HMAC-SHA1 over the packet and ROC, truncated to tagLen.
func rfc3711Protect(t testing.TB, encKey, encSalt, authKey []byte, tagLen int, plain []byte, roc uint32) []byte {
	t.Helper()
	ssrc := binary.BigEndian.Uint32(plain[8:12])
	seq := binary.BigEndian.Uint16(plain[2:4])
	var iv [16]byte
	copy(iv[:14], encSalt)
	var s [4]byte
	binary.BigEndian.PutUint32(s[:], ssrc)
	for i := 0; i < 4; i++ {
		iv[4+i] ^= s[i]
	}
	index := uint64(roc)<<16 | uint64(seq)
	var ix [8]byte
	binary.BigEndian.PutUint64(ix[:], index<<16)
	for i := 0; i < 8; i++ {
		iv[8+i] ^= ix[i]
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(plain)
	cipher.NewCTR(block, iv[:]).XORKeyStream(out[12:], plain[12:])
	m := hmac.New(sha1.New, authKey)
	m.Write(out)
	binary.BigEndian.PutUint32(s[:], roc)
	m.Write(s[:])
	return append(out, m.Sum(nil)[:tagLen]...)
}

// RFC 3711 Appendix B.3 through pion: pion derives the session keys from the master key and salt
// itself (unexported), so the test checks them indirectly. The packet pion protects with master key
// E1F97A0D3E018BE0D64FA32C06DE4139 / salt 0EC675AD498AFEEBB6960B3AABE6 must equal the packet
// computed from the published B.3 session keys (cipher key C61E7A93744F39EE10734AFE3FF7A087, cipher
// salt 30CBBC08863D8C85D49DB34A9AE1, auth key CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4). The same
// for AES-256 with the RFC 6188 §7.2 vectors. No published protected SRTP packet was found, so the
// expected packet is computed independently here from the published session keys.
func TestRFC3711B3ThroughPion(t *testing.T) {
	for _, c := range []struct {
		name               string
		prof               srtp.ProtectionProfile
		mk, ms, ck, cs, ak string
		tagLen             int
	}{
		{"RFC 3711 B.3", srtp.ProtectionProfileAes128CmHmacSha1_80,
			"E1F97A0D3E018BE0D64FA32C06DE4139", "0EC675AD498AFEEBB6960B3AABE6",
			"C61E7A93744F39EE10734AFE3FF7A087", "30CBBC08863D8C85D49DB34A9AE1", "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4", 10},
		{"RFC 3711 B.3, 32-bit tag", srtp.ProtectionProfileAes128CmHmacSha1_32,
			"E1F97A0D3E018BE0D64FA32C06DE4139", "0EC675AD498AFEEBB6960B3AABE6",
			"C61E7A93744F39EE10734AFE3FF7A087", "30CBBC08863D8C85D49DB34A9AE1", "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4", 4},
		{"RFC 6188 §7.2", srtp.ProtectionProfileAes256CmHmacSha1_80,
			"f0f04914b513f2763a1b1fa130f10e2998f6f6e43e4309d1e622a0e332b9f1b6", "3b04803de51ee7c96423ab5b78d2",
			"5ba1064e30ec51613cad926c5a28ef731ec7fb397f70a960653caf06554cd8c4", "fa31791685ca444a9e07c6c64e93", "fd9c32d39ed5fbb5a9dc96b30818454d1313dc05", 10},
	} {
		ctx, err := srtp.CreateContext(unhex(t, c.mk), unhex(t, c.ms), c.prof)
		if err != nil {
			t.Fatal(err)
		}
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: 0x1234, Timestamp: 0xdecafbad, SSRC: 0xcafebabe},
			Payload: seqBytes(0, 48)}
		plain, _ := pkt.Marshal()
		got, err := ctx.EncryptRTP(nil, plain, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := rfc3711Protect(t, unhex(t, c.ck), unhex(t, c.cs), unhex(t, c.ak), c.tagLen, plain, 0)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: pion SRTP packet\n got %x\nwant %x", c.name, got, want)
		}
	}
}

// FuzzSRTPPolicy feeds SP payload bodies to the policy check. It must never panic; a refusal is a
// *ProtocolError with ErrInvalidSP or ErrInvalidSPpar; an accepted policy lies inside what pion can
// honour, and the SP we would send for its profile is accepted with the same profile.
func FuzzSRTPPolicy(f *testing.F) {
	for _, prof := range []srtp.ProtectionProfile{srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.ProtectionProfileAes256CmHmacSha1_32} {
		sp, _ := SRTPPolicyFor(1, prof)
		b, _ := sp.appendBody(nil)
		f.Add(b)
	}
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 3, 6, 1, 1})
	f.Add([]byte{0, 0, 0, 6, 0, 1, 0, 7, 1, 0})
	f.Add([]byte{0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		sp := new(SP)
		d := &decoder{b: b, end: len(b)}
		if sp.parseBody(d) != nil {
			return
		}
		pol, err := ParseSRTPPolicy(sp)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) || (pe.ErrNo != ErrInvalidSP && pe.ErrNo != ErrInvalidSPpar) {
				t.Fatalf("refusal %v is not Invalid SP / SPpar", err)
			}
			return
		}
		prof, err := pol.Profile()
		if err != nil {
			t.Fatalf("accepted policy has no profile: %v", err)
		}
		if pol.KDR != 0 || pol.SRTPPrefixLen != 0 || !pol.SRTPAuth || pol.AuthAlg != SRTPAuthSHA1 ||
			(pol.AuthTagLen != 10 && pol.AuthTagLen != 4) || pol.EncrAlg == SRTPEncrAESF8 {
			t.Fatalf("accepted policy pion cannot honour: %+v", pol)
		}
		back, err := SRTPPolicyFor(pol.PolicyNo, prof)
		if err != nil {
			t.Fatal(err)
		}
		pol2, err := ParseSRTPPolicy(back)
		if err != nil {
			t.Fatal(err)
		}
		if p2, _ := pol2.Profile(); p2 != prof {
			t.Fatalf("profile %#x re-encoded as %#x", prof, p2)
		}
	})
}

func BenchmarkSRTPSessions(b *testing.B) {
	in := aes128Keying(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := SRTPSessions(in); err != nil {
			b.Fatal(err)
		}
	}
}

// The SP payload an offer sends for AES_CM_128_HMAC_SHA1_80, and how a receiver reads it back.
func ExampleSRTPPolicyFor() {
	sp, _ := SRTPPolicyFor(0, srtp.ProtectionProfileAes128CmHmacSha1_80)
	body, _ := sp.appendBody(nil)
	fmt.Printf("SP params: % x\n", body[4:])
	pol, _ := ParseSRTPPolicy(sp)
	prof, _ := pol.Profile()
	fmt.Println(prof == srtp.ProtectionProfileAes128CmHmacSha1_80, pol.SRTPEncr, pol.SRTCPEncr)
	// Output:
	// SP params: 00 01 01 01 01 10 02 01 01 03 01 14 04 01 0e 07 01 01 08 01 01 0a 01 01 0b 01 0a
	// true true true
}
