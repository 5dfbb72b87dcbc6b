// Package store is the state of the KMS (a GBA NAF serving MIKEY-TICKET, TS 33.328 KMS-based
// e2e media security; TS 33.328 text not verified, see the shared spec digest): everything
// a KMS must remember between requests, behind one [Store] interface so that a single
// process can keep it in a file and several replicas can share it (etcd).
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
// Backends: [OpenBolt], a single file (go.etcd.io/bbolt, one process holds the file lock),
// the default; [NewMemory], for tests and a no-persistence mode; and package store/etcd, for
// several KMS replicas sharing one etcd cluster. Package storetest holds the conformance suite
// every backend must pass.
//
// # Which writes are durable before the KMS answers, and why
//
// Every write of the file store is synced (bbolt commits with fdatasync) before the method
// returns, so before the KMS answers the message that caused it. Per message the KMS writes one
// replay-cache entry, and for a reusable (J) or forking-without-J ticket a use count; these are
// the hot writes. They are made cheap by group commit, not by skipping the sync:
//   - A ticket use count must be durable before the answer. A ticket is valid for up to the
//     maximum validity (hours), far longer than the clock skew, so the epoch rule below does not
//     cover it: a count lost in a crash would let a one-session ticket serve a second session.
//   - A replay-cache entry need not be, in principle: the epoch rule makes a lost cache safe if
//     the epoch moves to the restart. But by default this store keeps its epoch across
//     restarts, which is sound only because every admitted message is in the file; so by
//     default entries are synced before the answer and a restart refuses nothing.
//   - BoltOptions.ReplayWriteBehind is the other choice: entries are answered from the index and
//     reach the file with the next group commit, not waited for. The store is marked dirty
//     (synced) at open and clean at Close after the last entry is written; opened dirty, the
//     file may lack entries of the crashed process, so the epoch starts again at this start and
//     ReplayGuard refuses ts < restart + skew, which covers every message a lost entry could
//     have been (admitted before the crash, so ts < crash + skew). The rule of the issue holds;
//     the price is that after a crash (not after a clean stop) the KMS refuses every message for
//     one skew (5 min by default). Use counts are synced before the answer in both modes: a
//     ticket outlives the skew, so a lost count is not covered by the epoch rule.
//   - Group commit makes that affordable: callers queue their write, one committer runs all
//     queued writes in one transaction and one sync, then answers them; writes arriving during a
//     commit form the next group, so groups grow with the load. Commits start at least
//     BoltOptions.CommitInterval (2 ms) apart: a write after a quiet spell is committed at
//     once (one caller writing back to back waits up to 2 ms per write), while under load each
//     commit (two fdatasyncs and their system time,
//     whatever its size) serves more writes; measured, back-to-back commits of a few writes each
//     cost 60-100 us more CPU per REQUEST+RESOLVE pair. Each write still runs alone, in order,
//     inside the transaction, so test-and-set stays atomic; a failed group is retried one write
//     per transaction so that one bad write fails only its caller.
//   - The replay cache is an append-only log in the file (sequence-numbered records, so a group
//     of n entries dirties one or two pages instead of n random ones) with an index in memory
//     that answers "seen?" and is rebuilt from the log at open. A new entry enters the index
//     before its record is durable, so that a concurrent duplicate is refused; the caller is
//     told "not seen" only after the sync, and if the write fails the entry is removed and the
//     message refused, never admitted without its record.
//   - Ticket keys, users and the epoch are rare writes, each its own transaction.
//
// The freelist is not written by each commit (bbolt NoFreelistSync): bbolt rebuilds it by
// scanning the file at open. That saves pages per commit and costs nothing in durability.
//
// Time never comes from a hidden clock: methods that depend on it take the time as an
// argument, so that the KMS's injected clock rules everything.
package store
