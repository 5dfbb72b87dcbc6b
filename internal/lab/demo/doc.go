// Package demo runs imsphone's self-contained protected call (issue 7, `imsphone demo`): it
// starts the in-process lab (internal/lab: registrar/proxy, BSF, KMS on loopback), registers
// two UEs, alice and bob, with IMS AKA (RFC 3310, TS 24.229 §5.1.1), bootstraps GBA for both
// (TS 33.220 §4.5.2), and has alice call bob with the chosen media security: KMS e2e keys
// (TS 33.328 KMS-based: MIKEY-TICKET, RFC 6043, in SDP a=key-mgmt, RFC 4567), SDES (RFC 4568)
// or plain RTP. Both send audio (a tone each, at different frequencies, or a WAV file from
// alice) for a while over SRTP with SRTCP integrity (RFC 3711), then alice hangs up.
//
// Run returns a Report: each step with its duration, the negotiated suite and key source, per
// direction the packets, loss, jitter (RFC 3550 A.8), E-model MOS (ITU-T G.107), SRTP and SRTCP
// authentication failures, and whether the received audio matched what was sent (a Goertzel
// tone SNR, or the correlation with the WAV sent). The report holds no key material, and the
// subscribers' K and OPc are drawn at random for each run.
package demo
