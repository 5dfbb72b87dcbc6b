package gba

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"golang.org/x/text/unicode/norm"
)

// FC values of the TS 33.220 Annex B KDF.
const (
	// FCKsNAF is the FC for Ks_(ext)_NAF, Ks_int_NAF and TMPI (TS 33.220 B.3, B.4).
	FCKsNAF = 0x01
)

// Static strings P0 of TS 33.220 B.3.
const (
	P0GBAME = "gba-me" // Ks_(ext)_NAF, GBA_ME
	P0GBAU  = "gba-u"  // Ks_int_NAF, GBA_U
)

// TMPISuffix is the realm of a TMPI (TS 33.220 B.4).
const TMPISuffix = "@tmpi.bsf.3gppnetwork.org"

// KDF is the generic key derivation function of TS 33.220 B.2:
// HMAC-SHA-256(Key, S), S = FC ‖ P0 ‖ L0 ‖ P1 ‖ L1 ‖ … ‖ Pn ‖ Ln, where Li is the length of Pi in
// two octets, big-endian, placed after Pi (B.2.1). A parameter longer than 65535 octets cannot be
// encoded; KDF panics on one, since every caller passes bounded, validated values.
func KDF(key []byte, fc byte, params ...[]byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte{fc})
	for i, p := range params {
		if len(p) > 0xffff {
			panic(fmt.Sprintf("gba: KDF parameter P%d is %d octets, more than L%d can encode", i, len(p), i))
		}
		mac.Write(p)
		mac.Write([]byte{byte(len(p) >> 8), byte(len(p))})
	}
	return mac.Sum(nil)
}

// kdfString encodes a character string for the KDF: NFKC-normalised, then UTF-8 (TS 33.220 B.2.1.2).
func kdfString(s string) []byte { return []byte(norm.NFKC.String(s)) }

// DeriveKsNAF derives Ks_(ext)_NAF = KDF(Ks, "gba-me", RAND, IMPI, NAF_Id) (TS 33.220 B.3, FC 0x01),
// the 256-bit NAF key of GBA_ME. Ks is CK ‖ IK (32 octets).
func DeriveKsNAF(ks, rand []byte, impi string, naf NAFID) []byte {
	return KDF(ks, FCKsNAF, []byte(P0GBAME), rand, kdfString(impi), naf.Bytes())
}

// TMPI derives the temporary IP multimedia private identity (TS 33.220 B.4): the same KDF as
// Ks_NAF with NAF_Id = BSF FQDN (as in the B-TID) ‖ 01 00 00 01 00; TMPI = base64 of the first
// 24 octets, followed by "@tmpi.bsf.3gppnetwork.org".
func TMPI(ks, rand []byte, impi, bsfFQDN string) string {
	k := DeriveKsNAF(ks, rand, impi, NAFID{FQDN: bsfFQDN, UaSecProtID: UaSecProtIDTMPI()})
	s := base64.StdEncoding.EncodeToString(k[:24]) + TMPISuffix
	clear(k)
	return s
}

// BTID forms a bootstrapping transaction identifier, base64(RAND) "@" BSF server domain name
// (TS 33.220 §4.5.2).
func BTID(rand []byte, bsfDomain string) string {
	return base64.StdEncoding.EncodeToString(rand) + "@" + bsfDomain
}

// UaPassword is the HTTP Digest password a UE uses towards a NAF over Ua with GBA keys: the base64
// text of Ks_NAF (TS 33.220 §4.5.3 with TS 24.109 clause 5; username = B-TID).
func UaPassword(ksNAF []byte) []byte {
	out := make([]byte, base64.StdEncoding.EncodedLen(len(ksNAF)))
	base64.StdEncoding.Encode(out, ksNAF)
	return out
}
