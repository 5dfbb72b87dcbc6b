// Package policy is the KMS authorization policy: which users (IMPI with their IMPUs and
// groups) may request MIKEY-TICKET tickets towards which responders, who may resolve them,
// the longest ticket validity and which ticket features a rule grants.
//
// It implements the policy decisions RFC 6043 leaves to the KMS:
//   - REQUEST_INIT (RFC 6043 §4.2.1.4): the KMS checks that the Initiator may request a ticket
//     for the named responders, and sets the Ticket Policy (§6.10) it grants: validity
//     TRs..TRe, and the flags J (reuse), I (forking), L and M (who may supply session keys).
//     When it grants less than requested it sets K ("the KMS changed the desired policy").
//     [Policy.Decide] returns the granted values and whether they changed.
//   - RESOLVE_INIT (RFC 6043 §4.2.3.4): the KMS checks that the Responder is authorized to
//     resolve the ticket; a ticket naming its responders (IDRr in the Ticket Policy, §6.10)
//     is resolvable only by them. [Policy.DecideResolve].
//   - Ticket reuse (J, RFC 6043 §5.3) and forking (I, §5.1.1) are granted per rule; RFC 6043
//     §12.4 recommends forking.
//   - How a refusal is reported is the server's business (RFC 6043 §5.4; the nearest RFC 3830
//     §6.12 code is 7, "Invalid ID").
//
// TS 33.328 (KMS-based e2e, clause 7) requires the KMS to authorise both requests; its text
// was not available to us (unverified), so the rule model here is our own.
//
// The policy file is YAML (see [Parse] for the schema). [Engine] loads it and reloads it
// atomically: a file that fails to parse or validate leaves the running policy in place.
// Each decision yields an [AuditRecord] for log/slog; no key material passes through here.
package policy
