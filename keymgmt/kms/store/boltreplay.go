package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The file store's replay cache (RFC 3830 §5.4) is an index in memory over a log in the file.
//
// Every admitted message is one record appended to the replay_log bucket, keyed by a sequence
// number, so that a group commit writes one or two leaf pages however many messages it holds.
// (Keyed by identity and message id, as schema 1 did, each message landed on a random leaf
// page: a group commit of n messages wrote about n pages, tens of megabytes per second at a few
// thousand messages per second, and the syncs of those pages were the KMS's bottleneck.) The
// index answers "seen?" without touching the file; OpenBolt rebuilds it from the log.
//
// A record is version(1) expires(8) digest(16); the digest is the first 128 bits of SHA-256 over
// uvarint(len(identity)) ‖ identity ‖ message id, so that the index holds fixed-size keys. Two
// different pairs would have to collide in 128 bits of SHA-256 to be confused.
type replayDigest [16]byte

const replayRecordLen = 1 + 8 + 16

func digestReplay(identity string, msgID []byte) replayDigest {
	h := sha256.New()
	var l [binary.MaxVarintLen64]byte
	h.Write(l[:binary.PutUvarint(l[:], uint64(len(identity)))])
	h.Write([]byte(identity))
	h.Write(msgID)
	var d replayDigest
	copy(d[:], h.Sum(nil))
	return d
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func encodeReplayRecord(expires int64, d replayDigest) []byte {
	v := binary.BigEndian.AppendUint64([]byte{valueVersion}, uint64(expires))
	return append(v, d[:]...)
}

func decodeReplayRecord(k, v []byte) (int64, replayDigest, error) {
	var d replayDigest
	if len(k) != 8 || len(v) != replayRecordLen || v[0] != valueVersion {
		return 0, d, corrupt("replay", k)
	}
	copy(d[:], v[9:])
	return int64(binary.BigEndian.Uint64(v[1:])), d, nil
}

// appendReplay writes one log record under the next sequence number.
func appendReplay(tx *bolt.Tx, expires int64, d replayDigest) error {
	bk := tx.Bucket(bucketReplayLog)
	seq, err := bk.NextSequence()
	if err != nil {
		return err
	}
	return bk.Put(binary.BigEndian.AppendUint64(nil, seq), encodeReplayRecord(expires, d))
}

// migrateReplayV1 moves schema 1's replay bucket (key uvarint(len(identity)) ‖ identity ‖ msgID,
// value version(1) expires(8)) into the log, in the transaction that raises the schema.
func migrateReplayV1(tx *bolt.Tx) error {
	old := tx.Bucket(bucketReplayV1)
	if old == nil {
		return nil
	}
	err := old.ForEach(func(k, v []byte) error {
		n, w := binary.Uvarint(k)
		if w <= 0 || uint64(len(k)-w) < n || len(v) != 9 || v[0] != valueVersion {
			return corrupt("schema 1 replay", k)
		}
		identity, msgID := string(k[w:w+int(n)]), k[w+int(n):]
		return appendReplay(tx, int64(binary.BigEndian.Uint64(v[1:])), digestReplay(identity, msgID))
	})
	if err != nil {
		return err
	}
	return tx.DeleteBucket(bucketReplayV1)
}

// loadReplay rebuilds the index from the log. A corrupt record fails the open: the cache could
// not vouch for the messages it would have held.
func (b *Bolt) loadReplay() error {
	b.replay = map[replayDigest]int64{}
	return b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReplayLog).ForEach(func(k, v []byte) error {
			exp, d, err := decodeReplayRecord(k, v)
			if err != nil {
				return err
			}
			if old, ok := b.replay[d]; !ok || exp > old {
				b.replay[d] = exp
			}
			return nil
		})
	})
}

// CheckAndRecord tests the index and, for a new pair, enters it at once (so that a concurrent
// call with the same pair sees it) and appends its record through the group commit; it answers
// false only after the record is durable. If the write fails the entry is taken out again and
// the error returned, so the message is refused, never admitted without its record.
func (b *Bolt) CheckAndRecord(ctx context.Context, identity string, msgID []byte, expires time.Time) (bool, error) {
	if err := checkReplayArgs(identity, msgID); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if b.isClosed() {
		return false, fmt.Errorf("%w: %v", ErrClosed, bolt.ErrDatabaseNotOpen)
	}
	if err := b.behindFailure(); err != nil {
		return false, err
	}
	d, exp := digestReplay(identity, msgID), unixNano(expires)
	b.rmu.Lock()
	if _, seen := b.replay[d]; seen {
		b.rmu.Unlock()
		return true, nil
	}
	b.replay[d] = exp
	b.rmu.Unlock()
	write := func(tx *bolt.Tx) error { return appendReplay(tx, exp, d) }
	if b.behind {
		return false, b.writeBehind(write)
	}
	err := b.hot(ctx, write)
	if err != nil {
		b.rmu.Lock()
		if b.replay[d] == exp {
			delete(b.replay, d)
		}
		b.rmu.Unlock()
		return false, err
	}
	return false, nil
}

// pruneChunk bounds the records one prune transaction walks, so that a prune of a large log
// holds up the group commits only briefly.
const pruneChunk = 20000

// PruneReplay drops the expired entries from the index and then their records from the log,
// a chunk per transaction. An entry recorded again meanwhile has a later expiry and stays.
func (b *Bolt) PruneReplay(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if b.isClosed() {
		return 0, fmt.Errorf("%w: %v", ErrClosed, bolt.ErrDatabaseNotOpen)
	}
	cut := now.UnixNano()
	n := 0
	b.rmu.Lock()
	for d, exp := range b.replay {
		if exp <= cut {
			delete(b.replay, d)
			n++
		}
	}
	b.rmu.Unlock()
	var from []byte
	for {
		var next []byte
		err := b.update(ctx, func(tx *bolt.Tx) error {
			next = nil
			c := tx.Bucket(bucketReplayLog).Cursor()
			k, v := c.First()
			if from != nil {
				k, v = c.Seek(from)
			}
			var doomed [][]byte
			for i := 0; k != nil; k, v = c.Next() {
				if i++; i > pruneChunk {
					next = bytes.Clone(k)
					break
				}
				exp, _, err := decodeReplayRecord(k, v)
				if err != nil {
					return err
				}
				if exp <= cut {
					doomed = append(doomed, bytes.Clone(k))
				}
			}
			// Deleting while iterating would skip records; delete after the walk.
			for _, k := range doomed {
				if err := tx.Bucket(bucketReplayLog).Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		if next == nil {
			return n, nil
		}
		from = next
	}
}

func (b *Bolt) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// writeBehind queues a replay entry for the next group commit without waiting for it; a
// failure is kept (finish) and fails every later CheckAndRecord, and leaves the store dirty.
func (b *Bolt) writeBehind(fn func(*bolt.Tx) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("%w: %v", ErrClosed, bolt.ErrDatabaseNotOpen)
	}
	b.queue = append(b.queue, &hotOp{fn: fn})
	b.cond.Signal()
	return nil
}

func (b *Bolt) behindFailure() error {
	b.behindMu.Lock()
	defer b.behindMu.Unlock()
	return b.behindErr
}
