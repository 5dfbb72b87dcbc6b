package gba

import "golang.org/x/text/unicode/norm"

// NAFID is NAF_Id = NAF FQDN ‖ Ua security protocol identifier (TS 33.220 B.3, Annex H).
// The BSF derives Ks_NAF with the NAF_Id the NAF sends over Zn, so UE and NAF must agree on both
// parts octet for octet.
type NAFID struct {
	FQDN        string
	UaSecProtID [5]byte
}

// Bytes encodes NAF_Id as the KDF parameter P3: the FQDN (NFKC, UTF-8) followed by the five octets.
func (n NAFID) Bytes() []byte {
	f := norm.NFKC.String(n.FQDN)
	b := make([]byte, 0, len(f)+5)
	b = append(b, f...)
	return append(b, n.UaSecProtID[:]...)
}

// String shows the FQDN and the Ua security protocol identifier in hex.
func (n NAFID) String() string {
	const hexdig = "0123456789abcdef"
	b := make([]byte, 0, len(n.FQDN)+12)
	b = append(b, n.FQDN...)
	b = append(b, '|')
	for _, c := range n.UaSecProtID {
		b = append(b, hexdig[c>>4], hexdig[c&15])
	}
	return string(b)
}

// Ua security protocol identifiers, TS 33.220 Annex H.3 (first octet 0x01 = 3GPP).

// UaSecProtIDKMS is 01 00 00 00 06, "IMS UE to KMS HTTP based message exchanges" for IMS media
// plane security, TS 33.328.
func UaSecProtIDKMS() [5]byte { return [5]byte{0x01, 0x00, 0x00, 0x00, 0x06} }

// UaSecProtIDHTTPDigest is 01 00 00 00 02, HTTP Digest authentication per TS 24.109.
func UaSecProtIDHTTPDigest() [5]byte { return [5]byte{0x01, 0x00, 0x00, 0x00, 0x02} }

// UaSecProtIDTMPI is 01 00 00 01 00, TMPI generation (TS 33.220 B.4).
func UaSecProtIDTMPI() [5]byte { return [5]byte{0x01, 0x00, 0x00, 0x01, 0x00} }
