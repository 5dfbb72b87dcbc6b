// Package mikey implements MIKEY (RFC 3830) and MIKEY-TICKET (RFC 6043) as pure data and math: no
// I/O and no clocks.
//
// Wire format (message.go, payload.go and one file per payload):
//   - RFC 3830 §6: the Common Header HDR with the SRTP-ID map (§6.1, §6.1.1), KEMAC (§6.2) and its
//     Key data sub-payloads with key validity data (§6.13, §6.14), T (§6.6), ID and CERT (§6.7),
//     CHASH (§6.8), V (§6.9), SP with the SRTP policy parameters 0-12 (§6.10, §6.10.1), RAND (§6.11),
//     ERR (§6.12), General Extension (§6.15); PKE (§6.3), DH (§6.4) and SIGN (§6.5) are decoded as
//     opaque payloads so that PK messages parse.
//   - RFC 4563: the Empty CS ID map type (§5) and the Key ID General Extension (§4).
//   - RFC 4567 §4.1: the SDP IDs General Extension (bidding-down protection).
//   - RFC 6043 §6: the new HDR values and the GENERIC-ID map (§6.1, §6.1.1), AES-CM-256 and
//     HMAC-SHA-256-256 (§6.2), GTGK/MPK key data (§6.2.1), NTP-UTC-32 (§6.3) with the RFC 4330 era
//     rule (ntp.go), TR (§6.4), ID byte string (§6.5), IDR (§6.6), CHASH SHA-256 (§6.7), RANDR
//     (§6.8), the new error numbers (§6.9), TP and TICKET with the ticket flags D..O and their
//     implications (§6.10); the MAC input of Table 5.2 without the appended identities
//     (Message.MACInput).
//   - RFC 6309: the IANA registries these code points come from (constants.go).
//   - RFC 6509 §4.2: the SAKKE payload and ID Roles 6 and 7, decoded only.
//
// Every decoded message re-encodes to the same bytes, so MACs can be checked over Message.Raw.
//
// Tickets, replay and SRTP (freshness.go, replay.go, thdr.go, baseticket.go, srtp.go):
//   - RFC 3830 §5.4 (RFC 6043 §12.4): the timestamp window for NTP-UTC, NTP, NTP-UTC-32 and COUNTER
//     (Window, CheckCounter) and the replay cache of authenticated messages (ReplayCache,
//     MemoryReplayCache, CheckReplay).
//   - RFC 6043 Appendix A: the MIKEY base ticket (THDR A.3 with our TPK key id, Ticket Data A.1,
//     ticket keys from the TPK A.2.1, MPK split A.2.2): CreateBaseTicket, OpenBaseTicket.
//   - RFC 3830 §4.1.3 and RFC 6043 §5.1.3 (TEK and salt from a TGK per crypto session), §6.10.1
//     (SRTP policy with the RFC 3711 §8.2 defaults), RFC 3711 and RFC 6188 (pion/srtp profiles):
//     SRTPSessions, ParseSRTPPolicy, SRTPPolicyFor.
//
// Key derivation and crypto (prf.go, keyderiv.go, kemac_crypto.go, mac.go):
//   - RFC 3830 §4.1.2 PRF (MIKEY-1) and RFC 6043 §6.1 PRF-HMAC-SHA-256, inkeys of any length with full
//     256-bit last chunks; RFC 3830 §4.1.3 (keys from a TGK) and §4.1.4 (message keys); RFC 6043
//     §5.1.1 (forking MPKr' and TGK'), §5.1.2 (message-key labels, initial 0x01 / response 0x02),
//     §5.1.3 (TEK labels by the H and G flags), §6.10 (the Initiator Data Vr key), Appendix A.2.1
//     (keys from a TPK) and A.2.2 (MPKi/MPKr).
//   - KEMAC protection: NULL, AES-CM-128 and AES-CM-256 with the RFC 3830 §4.2.3 IV, AES-KW-128 (RFC
//     3394 wrap/unwrap, the salt as IV); MACs HMAC-SHA-1-160 and HMAC-SHA-256-256, checked in
//     constant time.
//
// Exchanges (exchange.go, request.go, transfer.go, resolve.go, errmsg.go, psk.go): builders and
// verifiers of REQUEST_INIT_PSK/REQUEST_RESP (RFC 6043 §4.2.1), TRANSFER_INIT/TRANSFER_RESP
// (§4.2.2, with key forking and the TICKET Initiator Data), RESOLVE_INIT_PSK/RESOLVE_RESP (§4.2.3),
// the Error message (§5.4, RFC 3830 §5.1.2) and the RFC 3830 §3.1 PSK init and verification
// messages; MAC coverage of RFC 6043 Table 5.2 and RFC 3830 §5.2. Verifiers answer failures with a
// *ProtocolError carrying the ErrNo; the PK variants (§4.2.1.3, §4.2.3.3) and CSB updates (§5.2) are
// not implemented.
package mikey
