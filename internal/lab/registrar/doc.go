// Package registrar is the SIP core of the imsphone lab: an S-CSCF-like registrar and stateful
// proxy on sipgo, small but exact enough that the UE can be tested against it before it meets
// Kamailio or a real IMS core.
//
// Registrar (register.go, location.go, auth.go, digest.go):
//   - RFC 3261 §10.3 steps 1-8: Request-URI check, authentication, To/AOR check, Contact
//     processing with "*" (step 6), Expires / expires handling with 423 Interval Too Brief and
//     Min-Expires (§20.23), Call-ID/CSeq ordering (step 7), and a 200 listing every binding with
//     its remaining expires. Several contacts per AOR; expiry on an injected clock.
//   - Digest: RFC 3261 §22 with MD5 (RFC 2617) and SHA-256 (RFC 7616 §3.4.1, RFC 8760 §2.4 for
//     SIP: one WWW-Authenticate per algorithm, preferred first); IMS AKA with AKAv1-MD5 (RFC 3310:
//     nonce = base64(RAND‖AUTN), password = RES octets, AUTS resynchronisation §3.4) and AKAv2-MD5
//     (RFC 4169 §3: password = base64(HMAC-MD5(RES‖IK‖CK, "http-digest-akav2-password"))).
//     Nonces are single-use and expire (stale=true for a correct late answer, RFC 7616 §3.3).
//     Authentication-Info carries rspauth (RFC 7616 §3.5).
//   - TS 24.229 §5.4.1.2 (S-CSCF registration; clause numbers and the exact failure codes are
//     from memory, unverified): challenge with qop="auth,auth-int" for AKA, 403 for a wrong
//     response or a MAC failure (the UE's empty-password answer), re-challenge after a
//     successful resynchronisation; the IMPUs of an account form one implicit registration set.
//   - RFC 3455 §4.1 P-Associated-URI (the registered IMPU first, then the rest of the set) and
//     RFC 3608 §5 Service-Route (this node's URI with ;lr; the "orig" user part is a lab
//     convention).
//
// Proxy (proxy.go), RFC 3261 §16: request validation with Max-Forwards as loop detection
// (§16.3, 483), Route pre-processing for loose routing (§16.4), location lookup for the home
// domain with 404 for unknown users and 480 when none is registered (§16.5), parallel forking
// to every binding (§16.6), Record-Route on dialog-creating INVITEs (doubled across a transport
// change, RFC 5658), the response context (§16.7: 1xx but 100 and every 2xx forwarded at once,
// best final response otherwise, 503 turned into 500), CANCEL of the other branches after the
// first 2xx and on an upstream CANCEL (§16.10, only after a provisional response, §9.1), Timer C
// (§16.8), stateless forwarding of 2xx ACKs (§16.11), and Via received/rport (RFC 3581 §4).
// A forwarded request that would go over UDP but is larger than 1300 octets goes over TCP to
// the same address instead, with our Via saying TCP (§18.1.1; imsphone UEs listen on TCP at
// their UDP port); a UE on UDP (its Contact names no transport) that sent a request over TCP is
// record-routed as UDP, so its later small requests go over UDP again. Options.Received lets
// tests see the method, transport and size of every request received.
// Out-of-dialog requests from unregistered senders are refused with 403, or challenged with 407
// (§22.3) under SenderDigest.
//
// What was checked against sources, and what was not: the RFC 3261, RFC 3310, RFC 4169 and
// RFC 7616 rules above follow the project's spec digests (/work/shared/specs/gba.md §2.3, §10);
// the S-CSCF failure handling (403 for a MAC-failure answer with an empty password and no auts;
// a new 401 after a successful resynchronisation) agrees with Oracle's S-CSCF documentation, but
// the TS 24.229 text itself was not read. The "one WWW-Authenticate per algorithm, most
// preferred first" ordering of RFC 8760 is from memory and from OpenSIPS's interop handling of
// SHA-512-256, SHA-256, MD5 challenges, not from the RFC text. The response code for an
// out-of-order CSeq (RFC 3261 §10.3 step 7 leaves it open) is 400 here.
//
// Not implemented: Path (RFC 3327), outbound flows (RFC 5626), GRUU, IPsec sec-agree (TS 33.203),
// third-party registration, reg-event, 401/407 aggregation of forked branches (§16.7 step 7),
// the §16.3 step 4 Via loop check, sips: URIs (TLS is served by ServeTLS and used towards
// Contacts and Routes with transport=tls; Options.TLS says how to verify them).
package registrar
