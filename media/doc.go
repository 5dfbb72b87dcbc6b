// Package media runs RTP and SRTP audio streams over UDP for imsphone. It knows nothing of
// SIP, SDP or key management: it takes addresses, a codec, payload types, SSRCs and the SRTP
// parameters of each direction (SRTPParams), and gives back audio, events and statistics.
//
// Security, RFC 3711, with one pion/srtp/v2 Context per direction (not pion's sessions, so the
// ROC can be preset, two keys held during a rekey, and RTCP multiplexed):
//   - §3.3 SRTP packet processing, with the rollover counter preset from key management and
//     carried across the sequence-number wrap (§3.3.1).
//   - §3.3.2 replay protection, always on, for SRTP and SRTCP alike (replay windows of 512 and
//     128 packets; our own zero-allocation window, decision for decision the same as pion's).
//   - §3.4 SRTCP: every RTCP packet is authenticated, also when SRTCP encryption is off. A packet
//     that fails authentication, lacks its tag, carries an unknown MKI or arrives in clear text
//     on a protected stream is dropped and counted and never parsed, so a forged BYE or SR
//     cannot end a call or skew statistics.
//   - §4.3 key derivation is pion's (key derivation rate 0); §3.1 MKI lets Rekey install a new
//     master key beside the old one and RetireKey drop the old one later (§8.1: rekey without
//     a gap).
//   - RFC 4568 §7.1.4 new keys on a re-INVITE, usually without MKI: ReplaceKeys builds a new
//     crypto context per direction (new master key, possibly a new suite, ROC from the
//     signalling); the send side switches at once, the receive side tries the new context
//     first and the replaced one second until a grace after the first packet under the new
//     one (RetirePrevious drops it earlier). SetRemote moves the peer's address with them.
//   - Suites: AES_CM_128_HMAC_SHA1_80 and _32 (RFC 4568 §6.2), AES_256_CM_HMAC_SHA1_80 and _32
//     (RFC 6188), AEAD_AES_128_GCM and AEAD_AES_256_GCM (RFC 7714).
//   - Per-SSRC state in the receive Context is bounded (pion creates it before authenticating).
//
// RTP and RTCP, RFC 3550: 20 ms packetisation paced from the start time (tick n at
// start + n·20 ms on a monotonic, injectable Clock, so no drift); reception statistics per
// Appendix A.1 and A.3 and interarrival jitter per Appendix A.8; SR/RR with SDES CNAME (§6.4,
// §6.5.1) at the §6.2/§6.3 interval computed as in Appendix A.7, with a configurable minimum
// (RTCPMinInterval, ReducedMinInterval); RTT from LSR/DLSR (§6.4.1); BYE on Stop (§6.6).
// RTCP-mux demultiplexing per RFC 5761 §4; symmetric RTP (RFC 4961) latching to the first
// authenticated packet. DTMF as RFC 4733 telephone-events (media/codec's sender and receiver).
// Hold (RFC 3264 §5.1, §8.4): SetSending(false) stops RTP for recvonly/inactive while RTCP goes
// on; the sequence number resumes without a gap and the timestamp keeps the clock (§5.1).
//
// Quality: an E-model estimate (ITU-T G.107, simplified; see EModel.R and MOS) from the
// measured loss (including packets too late to play) and one-way delay, with the G.711 values
// of ITU-T G.113 Appendix I.
//
// Goroutines: a read goroutine per socket and a tick goroutine share the stream's mutex. The
// read goroutine takes it once per datagram (source checks, SRTP, statistics, jitter-buffer
// push); the tick takes it once per 20 ms for both of its hand-overs, protecting the packet it
// sends and taking the frame to play, which it decodes outside the lock (the jitter buffer lends
// the payload until the next pop). The clock is read once per datagram, monotonic reading only
// for RTP.
//
// Codecs, audio sources and sinks, the adaptive jitter buffer and packet loss concealment come
// from the sibling packages media/codec, media/audio and media/jitter; media/mediatest has an
// impairing UDP relay for tests.
package media
