// Package sdpoa is the SDP offer/answer model of imsphone's user agent for one audio stream.
//
// It builds and parses SDP (RFC 4566, with github.com/pion/sdp/v3 for the syntax) and applies the
// offer/answer rules of RFC 3264:
//   - §5 offer generation: an audio m-line with PCMU (0), PCMA (8) and telephone-event (RFC 4733,
//     a=rtpmap and a=fmtp:0-15), a=ptime:20 (RFC 4566 §6), the direction attribute
//     (sendrecv/sendonly/recvonly/inactive, RFC 3264 §5.1), a=rtcp-mux (RFC 5761 §5.1.1) and
//     a=rtcp (RFC 3605) so that the RTCP port is known when multiplexing is refused;
//     RTP/AVP (RFC 3551) for plain streams and RTP/SAVP (RFC 3711 §7) for protected ones;
//     connection address and port per m-line (RFC 4566 §5.7, §5.14).
//   - §6 answer generation: one m-line per offered m-line, in order; m-lines we cannot use
//     are rejected with port 0 (§6); the audio formats are the offered ones we support, in
//     the offerer's order, with the offerer's payload type numbers (§6.1); the direction is
//     mirrored (§6.1: sendonly↔recvonly); a=rtcp-mux only when offered (RFC 5761 §5.1.1).
//   - §7 offerer processing of the answer (AcceptAnswer).
//
// Key management lines (a=crypto of RFC 4568, a=key-mgmt of RFC 4567, a=3ge2ae) are carried
// through Session.Attributes and Media.Attributes untouched; package keymgmt interprets them.
//
// Parse never panics on malformed input and says what is wrong and where (line or m-line
// index); FuzzParse checks that.
package sdpoa
