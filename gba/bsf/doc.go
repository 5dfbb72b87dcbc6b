// Package bsf is a test Bootstrapping Server Function (BSF) for GBA_ME, with an embedded HSS/AuC
// simulator, so that a UE (this project's or a real operator UE) can bootstrap and a NAF (the KMS
// of TS 33.328) can fetch Ks_NAF.
//
// What it implements:
//   - Ub, TS 24.109 clause 4 and Annex A, TS 33.220 §4.5.2, RFC 3310: HTTP Digest AKA
//     (AKAv1-MD5, qop=auth-int), nonce = base64(RAND‖AUTN), AUTS resynchronisation, Ks = CK‖IK,
//     B-TID = base64(RAND)@<BSF domain>, and the 200 answer with the TS 24.109 Annex C
//     BootstrappingInfo body (application/vnd.3gpp.bsf+xml), Authentication-Info rspauth and Expires.
//   - Zn, TS 33.220 §4.5.3: Ks_(ext)_NAF = KDF(Ks, "gba-me", RAND, IMPI, NAF_Id) (TS 33.220
//     Annex B) with the NAF_Id the NAF sends, over HTTP/JSON modelled on TS 29.309 Nbsp_GBA
//     (BootstrappingInfoRetrieval; see package zn for the wire types), TS 29.571 ProblemDetails
//     errors, bearer-token or mutual-TLS caller authentication.
//   - The AuC: Milenage vectors (TS 35.206, via package gba) with the TS 33.102 Annex C SEQ‖IND
//     sequence-number scheme (sqn.go), resynchronisation per TS 33.102 §6.3.5, and SQN_HE
//     persisted atomically to a state file.
//
// Not implemented: Zh towards a real HSS (Diameter), GBA_U, 2G GBA, GBA_Digest, GUSS/USS, TMPI
// handling on Ub. The Server takes its clock, randomness and logger from Options so tests are
// deterministic.
package bsf
