// Package store is the state of the KMS (a GBA NAF serving MIKEY-TICKET, TS 33.328 KMS-based
// e2e media security; TS 33.328 text not verified, see the shared spec digest): everything
// a KMS must remember between requests, behind one [Store] interface so that a single
// process can keep it in a file and several replicas can share it (etcd, later).
//
// What it holds and why:
//   - Ticket-protection keys. Tickets are self-protecting (MIKEY base ticket, RFC 6043
//     Appendix A: THDR, T, RAND, KEMAC, [IDRpsk], V, keyed by a Ticket Protection Key); the key
//     id travels in the implementation-specific THDR Data (RFC 6043 Appendix A.3). Keys rotate;
//     an old key is kept until the longest ticket it protects has expired (RFC 6043 §6.10:
//     the ticket validity TRs..TRe), so any replica holding the key set resolves any ticket.
//   - Users: IMPI to IMPUs and groups, the input of the KMS policy (who may request tickets
//     towards whom, who may resolve).
//   - The replay cache. RFC 3830 §5.4 and RFC 6043 §12.4: a message is accepted only if its
//     timestamp lies within the allowed clock skew and it has not been seen before; a cache of
//     authenticated messages (or their hashes) per identity covers the skew window. [Store.CheckAndRecord] is the
//     atomic test-and-set of that cache; [ReplayGuard] adds the window and epoch checks.
//   - The started-at epoch: since when the replay cache holds every message it admitted. A
//     cache that was lost (a restart with the in-memory store) cannot vouch for earlier
//     messages, so [ReplayGuard] refuses timestamps before the epoch plus the clock skew
//     (RFC 3830 §5.4: a host that lost track rejects requests until the skew has passed).
//     The bbolt file keeps cache and epoch together, so its restarts refuse nothing.
//   - Ticket use counts, for tickets with the reuse flag J (RFC 6043 §6.10, §5.3: "such
//     reuse cannot be detected by a stateless KMS"): how often a ticket was resolved, kept
//     until the ticket's TRe.
//
// Two backends: [OpenBolt], a single file (go.etcd.io/bbolt, one process holds the file lock),
// the default; and [NewMemory], for tests and a no-persistence mode. Package storetest holds
// the conformance suite every backend must pass.
//
// Time never comes from a hidden clock: methods that depend on it take the time as an
// argument, so that the KMS's injected clock rules everything.
package store
