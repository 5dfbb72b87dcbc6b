// Package etcd is the etcd backend of the KMS Store (keymgmt/kms/store), for several KMS
// replicas behind one name or several addresses that share ticket-protection keys, users, the
// replay cache and ticket use counts (TS 33.328 KMS-based e2e; RFC 6043 Appendix A: a MIKEY base
// ticket is self-protecting, so any replica holding the key set resolves any ticket).
//
// Specifications: RFC 3830 §5.4 and RFC 6043 §12.4 (replay cache and timestamp window, here shared
// by all replicas), RFC 6043 §5.3 and §6.10 (ticket reuse J and its use counts).
//
// Every atomic step of the Store interface is one etcd transaction (a compare on a key's
// create or mod revision, then the writes), so it holds across replicas, not only inside one
// process:
//   - CheckAndRecord: put the replay entry if its create revision is 0. A message admitted by
//     one replica is refused by every other.
//   - IncrementTicketUse: compare-and-swap on the count's mod revision, retried on conflict.
//     Concurrent resolves on several replicas each get a distinct count, so a one-session
//     ticket cannot serve two sessions however the resolves are spread.
//   - RotateTicketKey: guarded by the current-key pointer's mod revision and the new id's
//     absence; PruneTicketKeys deletes a key only if unchanged and not current.
//   - MarkStarted: set once for the cluster. etcd answers a write after a quorum has it in its
//     fsynced log, so the replay cache survives a replica's (or etcd's) restart and the epoch
//     stays where it was; a replica restart refuses nothing.
//
// Keys live under a prefix (DefaultPrefix): tk/<id, 8 hex digits>, meta/current_ticket_key,
// meta/started_at, user/<IMPI>, replay/<SHA-256 of identity and message id, hex>,
// uses/<SHA-256 of the ticket id, hex>. Ticket keys are secret: run etcd with TLS and
// authentication (Config.TLS, Username, Password) and restrict the prefix to the KMS role.
// Expiry is in the values, not in etcd leases, because the KMS's injected clock decides it;
// the KMS prunes once a minute like with the other backends.
//
// Tested with the etcd-server 3.4.23 binary of Debian 12 and go.etcd.io/etcd/client/v3 v3.6.16
// (the v3 gRPC KV and Txn API that both speak); package etcdtest starts a throw-away etcd.
package etcd
