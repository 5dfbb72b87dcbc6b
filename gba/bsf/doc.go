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
// Choices where the specifications leave room (TS 24.109 §4.3–4.4 failure handling was not read
// in full; see the report):
//   - The initial request must carry Authorization with the IMPI as username (400 otherwise); its
//     realm is not checked, since the UE learns the realm from the challenge.
//   - An answer to a known challenge with a wrong realm, username, opaque or response gets 403; a
//     challenge survives Config.MaxAuthFailures wrong answers (bounded retries), then it is
//     dropped. A malformed answer (qop other than auth-int, missing nc/cnonce, digest-uri not the
//     Request-URI, bad auts encoding) gets 400. The UE's answer to a MAC failure (an empty
//     response, no auts) therefore ends in 403.
//   - Nonces are single-use: a used, unknown or long-expired nonce gets a fresh 401. A correct
//     answer to a nonce older than Config.NonceLifetime gets a fresh 401 with stale=true
//     (RFC 2617 §3.2.1).
//   - Authentication-Info carries qop, rspauth, cnonce, nc, opaque and nonce, as in the TS 24.109
//     Annex A example; rspauth uses qop=auth-int over the exact body bytes.
//   - Each IMPI has at most one live bootstrapping session: a new bootstrap replaces the previous
//     B-TID. The key lifetime is truncated to whole seconds, the granularity of the XML lifetime.
//   - /healthz and /metrics are served on both listeners without Zn authentication.
//
// Not implemented: Zh towards a real HSS (Diameter), GBA_U, 2G GBA, GBA_Digest, GUSS/USS, TMPI
// handling on Ub. The Server takes its clock, randomness and logger from Options so tests are
// deterministic.
package bsf
