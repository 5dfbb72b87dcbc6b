// Package client is imsphone's SIP user agent: a Phone that places and receives calls over
// UDP, TCP or TLS (Config.Transport; RFC 3261 §18, §26.2) on github.com/emiago/sipgo,
// negotiates the audio stream (package client/sdpoa: RFC 4566 SDP, RFC 3264 offer/answer) and its SRTP keys
// (package keymgmt), and runs the media (package media).
//
// Layering, in sipgo's style: sipgo does the transaction layer (RFC 3261 §17) and dialog
// bookkeeping (§12: dialog ID, route set, CSeq; §13: INVITE, 2xx retransmission, ACK for 2xx to
// the Contact and reversed Record-Route of the 2xx, §13.2.2.4; CANCEL, §9). sip.go holds the SIP
// message handling (handlers, responses, Warning headers); outgoing.go the UAC side of a call,
// fork.go forked 2xx,
// reinvite.go hold and resume, register.go registration, auth.go Digest and AKA answers,
// ims.go the IMS routing headers; call.go the call state and events; media.go the media
// session built from the negotiated SDP; keylog.go the key log; transport.go the transport of
// each request.
//
// Transports (transport.go): a Phone listens on UDP and TCP at one address. With transport udp,
// a request larger than 1300 octets (RFC 3261 §18.1.1, path MTU unknown; in practice an INVITE
// carrying a MIKEY-TICKET TRANSFER_INIT) is sent over TCP to the same destination with its top
// Via changed to TCP; if the connection is refused (TCP reset, ICMP protocol unreachable) it is
// retried over UDP as §18.1.1 says, which sipgo sends only when the program raised
// sip.UDPMTUSize, and otherwise the error names both attempts. Contact stays UDP. ACK and
// in-dialog requests go by the same rule: sipgo would send them over the transport of their
// INVITE, so one whose next hop (top Route, else remote target) names no transport goes back
// to UDP unless it too is large (RFC 3263 §4.1). Responses follow the request's Via (§18.2.2
// has no size rule for them, and a UAS cannot change their transport): a response over 1300
// octets to a UDP request is refused by sipgo unless the program raised sip.UDPMTUSize. This
// bites one case: when the callee of a MIKEY call over UDP sends a re-INVITE (hold), the
// caller's 2xx repeats its TRANSFER_INIT with the ticket and does not fit.
// Transport tls (Config.TLS) runs TLS on the TCP port of our address instead of plain TCP,
// with sip: URIs and transport=tls rather than sips: (Config.Transport says why); certificates
// are always verified. SDES keys go into SDP only over TLS (our requests with transport tls, an
// offer that arrived over TLS) unless Security.AllowSDESWithoutTLS says otherwise (RFC 4568
// §8.3; keymgmt applies the rule, the client says which transport carries the SDP).
//
// What the UA does:
//   - Outgoing (§13.2): INVITE with an RFC 3264 offer, 1xx reported (180/183 as ringing), early
//     media (RFC 3960 §3, gateway model kept simple: the SDP of the first 180/183 carrying one
//     is taken as the answer and starts the media, EventRinging.EarlyMedia; the 2xx must bring
//     the same SDP or none, otherwise it is ACKed and BYEd; no 100rel), 2xx
//     answered and ACKed, 3xx–6xx reported with code, reason and Warning; CANCEL (§9.1) when
//     the caller hangs up before the answer. With an SRTP policy that is only preferred, a 488
//     to the RTP/SAVP offer is followed by a second INVITE offering RTP/AVP (same Call-ID,
//     higher CSeq), since one offer carries one proto without RFC 5939 capability negotiation.
//   - Incoming (§13.3): 100 Trying, the offer checked (SDP syntax, codecs, key management and the
//     account policy) before ringing; 488 with a Warning (§20.43: 304/305 for media, 399/306 for
//     key management, RFC 4567 §3.1.1, RFC 4568 §7.1.2) when it fails; then 180 Ringing and
//     answer (2xx with the answer), reject (486/603) or auto answer.
//   - A 401 or 407 to our INVITE (Kamailio challenges every INVITE with 407) is answered
//     with Config.Username/Password, else the password of a live registration (§22.2,
//     §22.3): sipgo ACKs the challenge in its transaction (§17.1.1.3) and the INVITE goes
//     again with credentials, a new branch and CSeq + 1.
//   - Forked INVITE (§13.2.2.4, fork.go): a 2xx from another To-tag after the one we took
//     gets its own ACK and then a BYE; the call stays on the first dialog. sipgo v1.7.3
//     would answer such a 2xx with the first dialog's ACK and never release it.
//   - BYE either way (§15); OPTIONS answered (§11).
//   - Config.NoAnswerTimeout: an outgoing call unanswered that long is CANCELled (§9.1) and
//     ends By Local, "no answer", 487; an incoming one neither answered nor rejected gets
//     480 (§21.4.18, the callee reached but not available, rather than 408, §21.4.9, a
//     server that could not respond in time) and ends By Local, "no answer", 480.
//   - Registration (§10, register.go; challenges in auth.go) with Digest authentication
//     (§22.4; RFC 2617 MD5 and RFC 8760 SHA-256 through icholy/digest, the first challenge
//     whose algorithm we support) or IMS AKA with a gba.USIM (RFC 3310 AKAv1-MD5, RFC 4169
//     AKAv2-MD5; password derivation and the answer from gba.DigestAKAClient): SQN
//     resynchronisation with auts (RFC 3310 §3.4); on a network authentication failure
//     (MAC-A wrong) the registrar is told by one answer over an empty password without auts
//     (no RES; gba.DigestAKAClient's choice, the RFC 3310 §3.3 / TS 24.229 §5.1.1.5.3 text
//     not retrieved) and Register fails with ErrNetworkAuth; rspauth is checked when the
//     registrar sends Authentication-Info (RFC 3310 §3.5). The initial IMS REGISTER names the
//     IMPI (TS 24.229 §5.1.1.2.1). The binding is refreshed before the granted lifetime ends
//     (TS 24.229 §5.1.1.4.1 [unverified]: 600 s before, or at half for grants up to 1200 s) with the same
//     Call-ID (§10.2.4); transient failures (5xx, 408, no response) are retried after
//     Retry-After (§20.33) or with doubling back-off; a 423 raises the lifetime asked for to
//     Min-Expires (§10.2.8); Phone.Close de-registers (Expires: 0,
//     §10.2.2). IMS headers (ims.go): P-Preferred-Identity (RFC 3325) when configured,
//     P-Associated-URI learned (RFC 3455), Service-Route preloaded as Route on later
//     dialog-initiating requests (RFC 3608 §6; never Path), an outbound proxy (the P-CSCF)
//     as the top Route of every out-of-dialog request (§8.1.2), rport in Via (RFC 3581) and
//     received/rport learned (Registration.ObservedAddr).
//   - Hold and resume by re-INVITE (§14, RFC 3264 §8.4) from either side, keeping the SRTP keys
//     (RFC 4568 §7.1.4 re-offer of the active a=crypto) and the running stream, so the SSRC,
//     sequence numbers and ROC carry on (RFC 3711 §3.3.1); a re-offer that changes the codec
//     is refused with 488; a 491 Request Pending is retried once after
//     §14.1's wait (2.1–4 s as owner of the Call-ID, else 0–2 s); a peer's re-INVITE that
//     arrives before the ACK for our 2xx to its previous one (that ACK by UDP, the large
//     re-INVITE by TCP, §18.1.1) is answered, not met by 491. While our direction does not send (recvonly, inactive),
//     no RTP goes out (media.Stream.SetSending); RTCP continues (RFC 3264 §5.1).
//   - Rekey by re-INVITE (rekey.go, RFC 4568 §7.1.4, RFC 6043 §4.2): Call.Rekey offers new keys
//     (fresh a=crypto lines, or a new KMS ticket and TRANSFER_INIT); a peer's re-offer with new
//     keys is answered like an initial offer, and a new media address is accepted only with a
//     new key. Each new key is a new SRTP context with ROC 0 (media.Stream.ReplaceKeys); the
//     answerer receives with the new key from its answer on and sends with it from the ACK on,
//     the offerer switches both on the 2xx, and a refused or failed rekey keeps the old keys.
//   - Session timers (sessiontimer.go; RFC 4028 §4–§10): Supported: timer always, and with
//     Config.SessionExpires Session-Expires and Min-SE on INVITE and re-INVITE, one retry
//     after a 422 with its Min-SE (§7.4); as UAS 422 below our Min-SE to a UAC that supports
//     timers (§9), Session-Expires in the 2xx with the refresher of §9's table; we refresh
//     with a peer that does not do timers (§7.2). The refresher re-INVITEs with the current
//     SDP at half the interval; a session not refreshed min(32 s, interval/3) before it
//     expires gets BYE with Reason: SIP;cause=408 (RFC 3326) and ends By Local.
//   - Media: media.Stream started from the negotiated SDP: the peer's address (latching to
//     the first authenticated packet, RFC 4961), RTCP-mux (RFC 5761) as negotiated, otherwise
//     RTCP on the port of a=rtcp (RFC 3605) or port + 1; SRTP keys per direction (RFC 3711,
//     RFC 4568 through keymgmt; RFC 4567 key-mgmt lines are the plug-in point for MIKEY-KMS).
//
// Config.KeyLog (keylog.go) receives, for decrypting captures, one line per SRTP stream
// direction with the master key and salt; this is the only place keys are written.
//
// SIP messages are never logged by this package; sipgo prints them only with sip.SIPDebug, which
// would expose a=crypto keys and must stay off outside a lab.
//
// Each Call reports Events: ringing, answered, media up (suite and key source), DTMF,
// statistics, ended (who, why, SIP code). EventAnswered comes once Call.Keys and
// Call.Negotiated are set, and EventMediaUp never before EventAnswered, on either side (the
// callee's media runs from its 2xx on, RFC 3264 §6, so the caller's first packet can beat
// the ACK; its EventMediaUp waits). Logs (log/slog) never carry SDP bodies or keys.
//
// Not yet: offerless INVITE (answered 488), 100rel/PRACK, UPDATE, sips: URIs,
// IPsec sec-agree (TS 33.203), registration-state subscription (RFC 3680).
package client
