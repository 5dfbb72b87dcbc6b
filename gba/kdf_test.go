package gba

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"testing"
	"time"
)

// The GBA chain of /work/shared/specs/gba.md §9.2. No published GBA KDF or Ub digest vectors
// exist (TS 33.220 has no test-vector annex), so these values are self-generated there (Python
// and Go). Each test below therefore also recomputes its value independently, straight from
// crypto/hmac, crypto/sha256, crypto/md5 and encoding/base64 over hand-written inputs, without
// this package's KDF or digest code. The inputs are TS 35.208 test set 1 (published), IMPI
// user1_private@home1.net, BSF bsf.home1.net, NAF kms.home1.net ‖ 01 00 00 00 06.
const (
	chainIMPI     = "user1_private@home1.net"
	chainBSF      = "bsf.home1.net"
	chainNAF      = "kms.home1.net"
	chainRAND     = "23553cbe9637a89d218ae64dae47bf35"
	chainRES      = "a54211d5e3ba50bf"
	chainCK       = "b40ba9a3c58b2a05bbf0d987b21bf8cb"
	chainIK       = "f769bcd751044604127672711c6d3441"
	chainKs       = chainCK + chainIK
	chainBTID     = "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net"
	chainNonce    = "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M="
	chainKsNAF    = "74eb8672becc0b19eccb86f2780cfb0178097e8873944798ab096d69e7351862"
	chainKsNAFB64 = "dOuGcr7MCxnsy4byeAz7AXgJfohzlEeYqwltaec1GGI="
	chainTMPI     = "WEkKGtQh8Tmmo2PURGh2v/y/lsZpJq4a@tmpi.bsf.3gppnetwork.org"
	chainBody     = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<BootstrappingInfo xmlns=\"uri:3gpp-gba\"><btid>I1U8vpY3qJ0hiuZNrke/NQ==@bsf.home1.net</btid><lifetime>2030-01-01T00:00:00Z</lifetime></BootstrappingInfo>"
)

func TestChainBTIDAndNonce(t *testing.T) {
	rand := unhex(t, chainRAND)
	if got := BTID(rand, chainBSF); got != chainBTID {
		t.Errorf("BTID = %q, want %q", got, chainBTID)
	}
	// independent: base64 of the published RAND, "@", domain
	if ind := base64.StdEncoding.EncodeToString(rand) + "@" + chainBSF; ind != chainBTID {
		t.Errorf("independent B-TID = %q", ind)
	}
	autn := unhex(t, "55f328b43577b9b94a9ffac354dfafb3")
	if got := AKANonce(rand, autn, nil); got != chainNonce {
		t.Errorf("nonce = %q", got)
	}
	r, a, sd, err := SplitAKANonce(chainNonce)
	if err != nil || hex.EncodeToString(r) != chainRAND || hex.EncodeToString(a) != hex.EncodeToString(autn) || len(sd) != 0 {
		t.Errorf("SplitAKANonce = %x %x %x %v", r, a, sd, err)
	}
}

func TestChainKsNAF(t *testing.T) {
	ks, rand := unhex(t, chainKs), unhex(t, chainRAND)
	naf := NAFID{FQDN: chainNAF, UaSecProtID: UaSecProtIDKMS()}
	got := DeriveKsNAF(ks, rand, chainIMPI, naf)
	checkHex(t, "Ks_NAF", got, chainKsNAF)
	if b := base64.StdEncoding.EncodeToString(got); b != chainKsNAFB64 {
		t.Errorf("base64(Ks_NAF) = %s", b)
	}
	if b := string(UaPassword(got)); b != chainKsNAFB64 {
		t.Errorf("UaPassword = %s", b)
	}
	// independent: S written out octet by octet as in TS 33.220 B.2.1 / B.3, then HMAC-SHA-256.
	s := unhex(t, "01"+"6762612d6d65"+"0006"+chainRAND+"0010"+
		"75736572315f7072697661746540686f6d65312e6e6574"+"0017"+
		"6b6d732e686f6d65312e6e6574"+"0100000006"+"0012")
	mac := hmac.New(sha256.New, ks)
	mac.Write(s)
	checkHex(t, "independent Ks_NAF", mac.Sum(nil), chainKsNAF)
	// KDF with the same parameters must equal the hand-built S
	checkHex(t, "KDF", KDF(ks, 0x01, []byte("gba-me"), rand, []byte(chainIMPI), naf.Bytes()), chainKsNAF)
	if hex.EncodeToString(naf.Bytes()) != "6b6d732e686f6d65312e6e6574"+"0100000006" {
		t.Errorf("NAF_Id = %x", naf.Bytes())
	}
}

func TestChainTMPI(t *testing.T) {
	ks, rand := unhex(t, chainKs), unhex(t, chainRAND)
	if got := TMPI(ks, rand, chainIMPI, chainBSF); got != chainTMPI {
		t.Errorf("TMPI = %q, want %q", got, chainTMPI)
	}
	// independent: P3 = "bsf.home1.net" ‖ 01 00 00 01 00 (TS 33.220 B.4), L3 = 0x0012
	s := unhex(t, "01"+"6762612d6d65"+"0006"+chainRAND+"0010"+
		"75736572315f7072697661746540686f6d65312e6e6574"+"0017"+
		hex.EncodeToString([]byte(chainBSF))+"0100000100"+"0012")
	mac := hmac.New(sha256.New, ks)
	mac.Write(s)
	if ind := base64.StdEncoding.EncodeToString(mac.Sum(nil)[:24]) + "@tmpi.bsf.3gppnetwork.org"; ind != chainTMPI {
		t.Errorf("independent TMPI = %q", ind)
	}
}

// md5x is the independent MD5-hex used to recheck the digest vectors.
func md5x(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }

func TestChainUbDigest(t *testing.T) {
	res := unhex(t, chainRES)
	c := &Credentials{Username: chainIMPI, Realm: chainBSF, Nonce: chainNonce, URI: "/", QOP: QOPAuthInt,
		NC: "00000001", CNonce: "0a4f113b", Algorithm: AlgorithmAKAv1MD5}
	const wantResp = "d47e4afd3245638428c815924bc5bc69"
	if got := DigestResponse(c, res, "GET", nil); got != wantResp {
		t.Errorf("Ub response = %s, want %s", got, wantResp)
	}
	// independent, RFC 2617 §3.2.2.1 written out with the RES octets as the password
	ha1 := md5x(chainIMPI + ":" + chainBSF + ":" + string(res))
	ha2 := md5x("GET:/:" + md5x(""))
	if ha1 != "308bb02714388e6e939e4649f5ec4fb0" || ha2 != "15df3e1aa09254633226c3d41891b148" {
		t.Errorf("independent HA1 %s HA2 %s", ha1, ha2)
	}
	if ind := md5x(ha1 + ":" + chainNonce + ":00000001:0a4f113b:auth-int:" + ha2); ind != wantResp {
		t.Errorf("independent response = %s", ind)
	}

	// rspauth over the 191-octet BootstrappingInfo body
	if len(chainBody) != 191 {
		t.Fatalf("body is %d octets", len(chainBody))
	}
	const wantRsp = "566e6e8d7c69862310bd31c9dadfe46e"
	if got := RspAuth(c, res, []byte(chainBody)); got != wantRsp {
		t.Errorf("rspauth = %s, want %s", got, wantRsp)
	}
	if ind := md5x(ha1 + ":" + chainNonce + ":00000001:0a4f113b:auth-int:" + md5x(":/:"+md5x(chainBody))); ind != wantRsp {
		t.Errorf("independent rspauth = %s", ind)
	}
	bi := &BootstrappingInfo{BTID: chainBTID, Lifetime: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	if body, err := bi.Marshal(); err != nil || string(body) != chainBody {
		t.Errorf("Marshal = %q, %v; want the §9.2 body", body, err)
	}

	// resynchronisation: same parameters, empty password (RFC 3310 §3.4)
	const wantResync = "1d73ea14d997bda5a5f27a0d4e0a1cb3"
	if got := DigestResponse(c, nil, "GET", nil); got != wantResync {
		t.Errorf("resync response = %s, want %s", got, wantResync)
	}
	if ind := md5x(md5x(chainIMPI+":"+chainBSF+":") + ":" + chainNonce + ":00000001:0a4f113b:auth-int:" + ha2); ind != wantResync {
		t.Errorf("independent resync response = %s", ind)
	}
}

func TestChainIMSRegister(t *testing.T) {
	res := unhex(t, chainRES)
	c := &Credentials{Username: chainIMPI, Realm: "home1.net", Nonce: chainNonce, URI: "sip:home1.net", QOP: QOPAuth,
		NC: "00000001", CNonce: "0a4f113b", Algorithm: AlgorithmAKAv1MD5}
	const want = "d631c17126f6ad3a5984ced4459958df"
	if got := DigestResponse(c, res, "REGISTER", nil); got != want {
		t.Errorf("REGISTER response = %s, want %s", got, want)
	}
	ind := md5x(md5x(chainIMPI+":home1.net:"+string(res)) + ":" + chainNonce + ":00000001:0a4f113b:auth:" + md5x("REGISTER:sip:home1.net"))
	if ind != want {
		t.Errorf("independent REGISTER response = %s", ind)
	}
}

func TestChainAKAv2Password(t *testing.T) {
	res, ck, ik := unhex(t, chainRES), unhex(t, chainCK), unhex(t, chainIK)
	const want = "shzt3q8CWaZnCAWqs3WmEQ=="
	if got := string(AKAv2Password(res, ik, ck)); got != want {
		t.Errorf("AKAv2 password = %s, want %s", got, want)
	}
	// independent: RFC 4169 §3, key RES ‖ IK ‖ CK, data "http-digest-akav2-password"
	mac := hmac.New(md5.New, unhex(t, chainRES+chainIK+chainCK))
	mac.Write([]byte("http-digest-akav2-password"))
	if ind := base64.StdEncoding.EncodeToString(mac.Sum(nil)); ind != want {
		t.Errorf("independent AKAv2 password = %s", ind)
	}
}

// TestKDFLengths checks the Li encoding (two octets, big-endian, after Pi) with a 300-octet
// parameter, against HMAC-SHA-256 over a hand-built S.
func TestKDFLengths(t *testing.T) {
	key := []byte("k")
	p := make([]byte, 300)
	for i := range p {
		p[i] = byte(i)
	}
	s := append([]byte{0x42}, p...)
	s = append(s, 0x01, 0x2c, 0x00, 0x00) // L0 = 300, then an empty P1 with L1 = 0
	mac := hmac.New(sha256.New, key)
	mac.Write(s)
	if got, want := KDF(key, 0x42, p, nil), mac.Sum(nil); !hmac.Equal(got, want) {
		t.Errorf("KDF = %x, want %x", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("KDF accepted a 65536-octet parameter")
		}
	}()
	KDF(key, 1, make([]byte, 65536))
}

func TestNAFIDString(t *testing.T) {
	n := NAFID{FQDN: "kms.home1.net", UaSecProtID: UaSecProtIDKMS()}
	if s := fmt.Sprint(n); s != "kms.home1.net|0100000006" {
		t.Errorf("NAFID = %s", s)
	}
	if UaSecProtIDTMPI() != [5]byte{1, 0, 0, 1, 0} || UaSecProtIDHTTPDigest() != [5]byte{1, 0, 0, 0, 2} {
		t.Error("Ua security protocol ids")
	}
}
