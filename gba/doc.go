// Package gba is the UE side of the Generic Bootstrapping Architecture (GBA_ME) and the AKA
// primitives a test BSF needs.
//
// It implements:
//   - Milenage f1, f1*, f2, f3, f4, f5, f5* and OPc (3GPP TS 35.206), checked against the
//     TS 35.208 test sets (milenage.go);
//   - the network side of UMTS AKA, authentication vectors and AUTS resynchronisation
//     (TS 33.102 §6.3, §6.3.5; aka.go), and a software USIM with the Annex C SQN scheme
//     SEQ‖IND (TS 33.102 §6.3.3, Annex C; usim.go, sqn.go);
//   - HTTP Digest (RFC 2617) with the AKA algorithms AKAv1-MD5 (RFC 3310) and AKAv2-MD5
//     (RFC 4169): WWW-Authenticate / Authorization / Authentication-Info parsing and formatting,
//     request-digest and rspauth (digest.go), and the client that answers a challenge through a
//     USIM (digestaka.go);
//   - the Ub bootstrapping client (TS 24.109 clause 4 and Annex A, TS 33.220 §4.5.2; ub.go) and the
//     BootstrappingInfo document it receives (TS 24.109 Annex C; bootstrapinfo.go);
//   - the TS 33.220 Annex B key derivation function, Ks_(ext)_NAF (B.3) and TMPI (B.4) (kdf.go),
//     NAF_Id with the Ua security protocol identifiers of Annex H (nafid.go);
//   - a NAF key cache that re-bootstraps on expiry or when a NAF reports an unknown B-TID
//     (nafkeys.go), the key provider for the KMS client (TS 33.328).
//
// Key-holding types (Milenage, AuthVector, AKAResult, Bootstrap, SoftUSIM) redact their secrets in
// String and LogValue, and MACs are compared in constant time.
package gba
