// Package e2e holds the end-to-end tests of protected calls (issue 6's proof): two or three
// client.Phones register through the in-process lab (internal/lab: registrar/proxy with IMS AKA
// per RFC 3310 and TS 24.229, GBA BSF per TS 33.220, KMS per TS 33.328 / RFC 6043) over real
// loopback sockets, call each other with MIKEY-TICKET (RFC 6043 TRANSFER_INIT/TRANSFER_RESP in
// SDP a=key-mgmt, RFC 4567) and with SDES (RFC 4568), and exchange audio over SRTP with SRTCP
// integrity (RFC 3711).
//
// What the tests show: tones both ways (Goertzel detection), hold and resume by re-INVITE
// (RFC 3264 §8.4) with the same keys, hang-up from either side, a forked INVITE (RFC 3261
// §16.6) reaching two devices of one subscriber that resolve distinct keys (RFC 6043 §5.1.1),
// and the refusals: an offer without keys under a mandatory policy (488, RFC 4567 §3.1.1), a
// tampered TRANSFER_INIT (488, no media), an unreachable KMS (the call fails and says so).
// BenchmarkCallSetup measures call setup for none, sdes and kms in one run.
//
// The package has no code of its own besides this comment; it exists so the tests can import
// the lab and the client without a cycle.
package e2e
