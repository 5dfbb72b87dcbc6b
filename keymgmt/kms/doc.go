// Package kms is the Key Management Service of TS 33.328 KMS-based e2e media security and the
// UE's client for it: the KMS issues MIKEY-TICKET tickets to callers (Ticket Request exchange,
// RFC 6043 §4.2.1, §5.1) and resolves them for callees (Ticket Resolve exchange, §4.2.3, §5.3),
// and decides who may protect a call with whom (keymgmt/kms/policy).
//
// Specifications: RFC 6043 §4 (the Ticket Request and Ticket Resolve exchanges), §5 (key
// derivation and forking §5.1, ticket reuse §5.3, errors §5.4), §6 (payloads, the Ticket Policy
// and its flags §6.10), Appendix A (the MIKEY base ticket); RFC 3830 §5 (error handling §5.1.2,
// MAC/signature verification §5.2–§5.3, replay protection §5.4); TS 33.220 §4.5.3 and Annex H.3
// (the KMS as a GBA NAF); TS 33.328 (KMS-based e2e, clause 7: text unverified, choices below).
//
// What it implements, and where:
//   - server.go: the HTTP interface (POST of a binary MIKEY message, Content-Type
//     application/mikey, RFC 3830 §10.1), limits (body size, bounded concurrency, per-identity and
//     per-source rate limits, read/write timeouts) and Serve with HTTP/1.1 and HTTP/2 (h2 by ALPN
//     over TLS, prior-knowledge h2c without), GET /healthz and GET /metrics.
//   - auth.go: authentication. The KMS is a GBA NAF (TS 33.220 §4.5.3): IDRpsk carries the
//     B-TID, the PSK is Ks_NAF for NAF_Id = KMS FQDN ‖ 01 00 00 00 06 (TS 33.220 Annex H.3),
//     fetched over Zn through the ZnResolver (zn.go; cmd/kms adapts gba/zn, which caches keys
//     until their expiry). Only parsing, the rate limits and the Zn lookup happen before the MAC
//     (RFC 6043 Table 5.2) is checked. Timestamp window and replay cache: RFC 3830 §5.4, RFC 6043
//     §12.4, through store.ReplayGuard; after a restart with a lost cache, messages timestamped
//     before the start (plus the skew) are refused.
//   - request.go: REQUEST_INIT_PSK → REQUEST_RESP (RFC 6043 §4.2.1.4, §4.2.1.5): IDRi bound to the
//     subscriber (IMPI from Zn → IMPUs from the Store), the policy decision, the granted Ticket
//     Policy (§6.10 flags; K when it differs from the desired one), validity TRs/TRe, session keys
//     (one TGK by default, §4.2.1.4), and the MIKEY base ticket (RFC 6043 Appendix A).
//   - resolve.go: RESOLVE_INIT_PSK → RESOLVE_RESP (§4.2.3.4, §4.2.3.5): IDRr bound to the
//     subscriber, the base ticket opened with the ticket-protection key its THDR names (A.3),
//     validity, IDRr among the ticket's responders, the policy, the Initiator Data Vr when I = 1,
//     reuse (J, §5.3), and key forking for IDRr with a fresh RANDRkms (§5.1.1).
//   - ticketkeys.go: rotating ticket-protection keys in the Store; a retired key is kept until the
//     longest ticket it protects has expired, so any replica holding the key set resolves any
//     ticket.
//   - The Store (keymgmt/kms/store): a bbolt file for one KMS process (its per-message writes are
//     synced before the answer, with group commit; store's doc says why each must be), memory,
//     or etcd (keymgmt/kms/store/etcd) for replicas that share the replay cache and use counts
//     atomically.
//   - status.go: Error messages (RFC 6043 §5.4, RFC 3830 §5.1.2, §6.12) and their HTTP statuses.
//   - audit.go: one structured audit record per decision, no key material.
//   - client.go: the UE's client: key provider for (B-TID, Ks_NAF), one re-bootstrap when the KMS
//     answers 401 (unknown B-TID), failover between KMS addresses, context throughout.
//
// TS 33.328's own text was not available (see /work/shared/specs/mikey-ticket.md §1, marked [G]);
// where it would decide, this package follows RFC 6043 and makes these choices:
//   - URL path DefaultPath ("/kms/mikey"), configurable; method POST; Content-Type
//     application/mikey both ways; HTTPS when certificates are configured.
//   - HTTP statuses: see statusFor in status.go (200, 400, 401, 403, 409, 413, 415, 429, 500, 502,
//     503). An unknown or expired B-TID is 401 with an unauthenticated ERR 0 ("Auth failure") and
//     WWW-Authenticate: 3GPP-bootstrapping realm="3GPP-bootstrapping@<FQDN>", the way a NAF asks
//     for a new bootstrap (TS 24.109 §5.2.4); a MAC that does not verify is 403 with ERR 0.
//   - ID types: IDRpsk carries the B-TID as ID Type 0 (NAI: base64(RAND)@BSF domain); IDRi, IDRr
//     carry IMPUs and IDRkms the KMS FQDN as ID Type 1 (URI). The KMS matches ID Data only.
//   - Ticket type 1 (MIKEY base ticket, RFC 6043 Appendix A) instead of 3GPP's type 2, whose
//     format is not public; in mode 1 only the KMS reads Ticket Data (digest §1 design note).
//   - Granted flags: D, E, F, H always (mode 1), G as requested, I, J, L, M as the policy grants,
//     never N, O. Expired ticket: ERR 15 (TP parameters), as mikey.BaseTicketContents.Valid says.
//     A ticket without J serves one session: with I the Initiator Data names the session (all
//     devices of a forked call share it, a reuse brings new Initiator Data); without I the KMS
//     cannot tell a reuse from a second device (RFC 6043 §5.3: "such reuse cannot be detected by
//     a stateless KMS") and lets both through. Tickets with J have their resolves counted (Store
//     use counts, kept until TRe), reported in the audit record.
//   - Replay identity: the B-TID of IDRpsk per exchange; the message id hashes T, the RANDs and
//     the CSB ID. Responses carry the KMS's current time in T (RFC 6043 §4.2.1.5), which also
//     feeds the KEMAC IV.
package kms
