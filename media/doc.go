// Package media runs RTP and SRTP audio streams over UDP for imsphone. It knows nothing of
// SIP, SDP or key management: it takes addresses, a codec, payload types, an SSRC and the
// SRTP parameters of each direction, and gives back audio, events and statistics.
//
// Security (RFC 3711, with pion/srtp/v2 Contexts, one per direction):
//   - SRTP packet processing, §3.3, with the rollover counter preset from key management and
//     carried across sequence-number wrap (§3.3.1); replay protection always on (§3.3.2) for
//     both SRTP and SRTCP.
//   - SRTCP, §3.4: every RTCP packet is authenticated, also when SRTCP encryption is off; a
//     packet that fails authentication, lacks its tag, carries an unknown MKI or arrives in
//     clear text on a protected stream is dropped and counted, and never parsed, so a forged
//     BYE or SR cannot end a call or skew statistics.
//   - Key derivation, §4.3, is pion's (key derivation rate 0); MKI (§3.1) lets Rekey install a
//     new master key beside the old one and RetireKey drop the old one later (§8.1).
//   - Suites: AES_CM_128_HMAC_SHA1_80/_32 (RFC 4568 §6.2), AES_256_CM_HMAC_SHA1_80/_32
//     (RFC 6188), AEAD_AES_128_GCM and AEAD_AES_256_GCM (RFC 7714).
//
// RTP and RTCP (RFC 3550): 20 ms packetisation paced from the start time (tick n at
// start + n·20 ms on a monotonic, injectable Clock); reception statistics per Appendix A.1
// and A.3, interarrival jitter per Appendix A.8; SR/RR with SDES CNAME at the §6.2/§6.3
// interval (Appendix A.7, with a configurable minimum for tests); RTT from LSR/DLSR (§6.4.1);
// BYE on Stop (§6.6). RTCP-mux demultiplexing per RFC 5761 §4; symmetric RTP (RFC 4961)
// latching to the first authenticated packet. DTMF as RFC 4733 telephone-events.
//
// Quality: an E-model estimate (ITU-T G.107, simplified; see EModel) of R and MOS from the
// measured loss and delay, with the G.711 values of ITU-T G.113 Appendix I.
//
// Codecs, audio sources and sinks and the adaptive jitter buffer come from the sibling
// packages media/codec, media/audio and media/jitter.
package media
