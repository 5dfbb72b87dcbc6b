package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bolt is the single-file backend (go.etcd.io/bbolt). One process at a time holds the file
// (bbolt takes an exclusive lock); inside it every write is a serialised read-write
// transaction, which is what makes CheckAndRecord atomic. Values carry a version octet so
// the encoding can change without a migration tool guessing.
type Bolt struct {
	db    *bolt.DB
	batch bool
}

var _ Store = (*Bolt)(nil)

// BoltOptions configure OpenBolt.
type BoltOptions struct {
	// Timeout bounds the wait for the file lock held by another process; 0 means 1 s.
	Timeout time.Duration
	// Mode is the file mode for a new file; 0 means 0600 (the file holds key material).
	Mode os.FileMode
	// BatchDelay, when not 0, lets concurrent CheckAndRecord and IncrementTicketUse calls
	// share one transaction (and one fsync), each call waiting at most this long for
	// companions (bbolt DB.Batch). Each call still runs alone inside the transaction, so the
	// atomicity is unchanged; a lone caller pays up to BatchDelay of latency.
	BatchDelay time.Duration
}

// Buckets, one per concern.
var (
	bucketMeta       = []byte("meta")
	bucketTicketKeys = []byte("ticket_keys")
	bucketUsers      = []byte("users")
	bucketReplay     = []byte("replay")
	bucketTicketUses = []byte("ticket_uses")

	metaSchema    = []byte("schema")
	metaCurrent   = []byte("current_ticket_key")
	metaStartedAt = []byte("started_at")
)

const (
	schemaVersion = 1
	valueVersion  = 1
)

// OpenBolt opens or creates the store file at path.
func OpenBolt(path string, opts BoltOptions) (*Bolt, error) {
	if opts.Timeout == 0 {
		opts.Timeout = time.Second
	}
	if opts.Mode == 0 {
		opts.Mode = 0o600
	}
	db, err := bolt.Open(path, opts.Mode, &bolt.Options{Timeout: opts.Timeout})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketTicketKeys, bucketUsers, bucketReplay, bucketTicketUses} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(metaSchema); v != nil {
			if len(v) != 1 || v[0] != schemaVersion {
				return fmt.Errorf("schema version %v, this build reads %d", v, schemaVersion)
			}
			return nil
		}
		return meta.Put(metaSchema, []byte{schemaVersion})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if opts.BatchDelay > 0 {
		db.MaxBatchDelay = opts.BatchDelay
	}
	return &Bolt{db: db, batch: opts.BatchDelay > 0}, nil
}

// Path is the file the store lives in.
func (b *Bolt) Path() string { return b.db.Path() }

// Close closes the file and releases its lock.
func (b *Bolt) Close() error { return b.db.Close() }

func (b *Bolt) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return mapErr(b.db.Update(fn))
}

// hot runs the per-message writes, batched when configured. fn may run more than once
// (bbolt DB.Batch), so it must set its results afresh on every run.
func (b *Bolt) hot(ctx context.Context, fn func(*bolt.Tx) error) error {
	if !b.batch {
		return b.update(ctx, fn)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return mapErr(b.db.Batch(fn))
}

func (b *Bolt) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return mapErr(b.db.View(fn))
}

func mapErr(err error) error {
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return err
}

// Time encoding: Unix nanoseconds, 0 for the zero time.
func putTime(b []byte, t time.Time) []byte {
	var n int64
	if !t.IsZero() {
		n = t.UnixNano()
	}
	return binary.BigEndian.AppendUint64(b, uint64(n))
}

func getTime(b []byte) time.Time {
	n := int64(binary.BigEndian.Uint64(b))
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func corrupt(what string, k []byte) error {
	return fmt.Errorf("store: corrupt %s record %x", what, k)
}

// Ticket key record: version(1) created(8) retire(8) material(32); key: id, 4 octets BE.
func encodeTicketKey(k TicketKey) []byte {
	v := []byte{valueVersion}
	v = putTime(v, k.Created)
	v = putTime(v, k.Retire)
	return append(v, k.Material...)
}

func decodeTicketKey(key, v []byte) (TicketKey, error) {
	if len(key) != 4 || len(v) != 1+16+TicketKeyLen || v[0] != valueVersion {
		return TicketKey{}, corrupt("ticket key", key)
	}
	return TicketKey{
		ID:       binary.BigEndian.Uint32(key),
		Created:  getTime(v[1:]),
		Retire:   getTime(v[9:]),
		Material: append([]byte(nil), v[17:]...),
	}, nil
}

func keyID(id uint32) []byte { return binary.BigEndian.AppendUint32(nil, id) }

func (b *Bolt) AddTicketKey(ctx context.Context, k TicketKey) error {
	if err := k.validate(); err != nil {
		return err
	}
	return b.update(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketTicketKeys)
		if bk.Get(keyID(k.ID)) != nil {
			return fmt.Errorf("%w: ticket key %d", ErrExists, k.ID)
		}
		return bk.Put(keyID(k.ID), encodeTicketKey(k))
	})
}

func (b *Bolt) RotateTicketKey(ctx context.Context, next TicketKey, retirePrevious time.Time) error {
	if err := next.validate(); err != nil {
		return err
	}
	if !next.Retire.IsZero() {
		return fmt.Errorf("%w: the current ticket key cannot have a retire time", ErrInvalid)
	}
	return b.update(ctx, func(tx *bolt.Tx) error {
		bk, meta := tx.Bucket(bucketTicketKeys), tx.Bucket(bucketMeta)
		if bk.Get(keyID(next.ID)) != nil {
			return fmt.Errorf("%w: ticket key %d", ErrExists, next.ID)
		}
		if cur := meta.Get(metaCurrent); cur != nil {
			prev, err := decodeTicketKey(cur, bk.Get(cur))
			if err != nil {
				return err
			}
			prev.Retire = retirePrevious
			if err := bk.Put(cur, encodeTicketKey(prev)); err != nil {
				return err
			}
		}
		if err := bk.Put(keyID(next.ID), encodeTicketKey(next)); err != nil {
			return err
		}
		return meta.Put(metaCurrent, keyID(next.ID))
	})
}

func (b *Bolt) CurrentTicketKey(ctx context.Context) (TicketKey, error) {
	var k TicketKey
	err := b.view(ctx, func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketMeta).Get(metaCurrent)
		if cur == nil {
			return fmt.Errorf("%w: no current ticket key", ErrNotFound)
		}
		var err error
		k, err = decodeTicketKey(cur, tx.Bucket(bucketTicketKeys).Get(cur))
		return err
	})
	return k, err
}

func (b *Bolt) TicketKey(ctx context.Context, id uint32) (TicketKey, error) {
	var k TicketKey
	err := b.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketTicketKeys).Get(keyID(id))
		if v == nil {
			return fmt.Errorf("%w: ticket key %d", ErrNotFound, id)
		}
		var err error
		k, err = decodeTicketKey(keyID(id), v)
		return err
	})
	return k, err
}

func (b *Bolt) TicketKeys(ctx context.Context) ([]TicketKey, error) {
	var out []TicketKey
	err := b.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTicketKeys).ForEach(func(k, v []byte) error {
			tk, err := decodeTicketKey(k, v)
			out = append(out, tk)
			return err
		})
	})
	return out, err
}

func (b *Bolt) PruneTicketKeys(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := b.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		cur := tx.Bucket(bucketMeta).Get(metaCurrent)
		bk := tx.Bucket(bucketTicketKeys)
		var doomed [][]byte
		err := bk.ForEach(func(k, v []byte) error {
			tk, err := decodeTicketKey(k, v)
			if err != nil {
				return err
			}
			if !bytes.Equal(k, cur) && !tk.Retire.IsZero() && !tk.Retire.After(now) {
				doomed = append(doomed, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Deleting while iterating would skip records; delete after the walk.
		for _, k := range doomed {
			if err := bk.Delete(k); err != nil {
				return err
			}
		}
		n = len(doomed)
		return nil
	})
	return n, err
}

// User record: JSON with a version field (users are few and edited by operators).
type userRecord struct {
	V      int      `json:"v"`
	IMPUs  []string `json:"impus,omitempty"`
	Groups []string `json:"groups,omitempty"`
}

func (b *Bolt) PutUser(ctx context.Context, u User) error {
	if err := u.validate(); err != nil {
		return err
	}
	v, err := json.Marshal(userRecord{V: valueVersion, IMPUs: u.IMPUs, Groups: u.Groups})
	if err != nil {
		return err
	}
	return b.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).Put([]byte(u.IMPI), v)
	})
}

func decodeUser(k, v []byte) (User, error) {
	var r userRecord
	if err := json.Unmarshal(v, &r); err != nil || r.V != valueVersion {
		return User{}, corrupt("user", k)
	}
	return User{IMPI: string(k), IMPUs: r.IMPUs, Groups: r.Groups}, nil
}

func (b *Bolt) User(ctx context.Context, impi string) (User, error) {
	var u User
	err := b.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketUsers).Get([]byte(impi))
		if v == nil {
			return fmt.Errorf("%w: user %q", ErrNotFound, impi)
		}
		var err error
		u, err = decodeUser([]byte(impi), v)
		return err
	})
	return u, err
}

func (b *Bolt) DeleteUser(ctx context.Context, impi string) error {
	return b.update(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketUsers)
		if bk.Get([]byte(impi)) == nil {
			return fmt.Errorf("%w: user %q", ErrNotFound, impi)
		}
		return bk.Delete([]byte(impi))
	})
}

func (b *Bolt) Users(ctx context.Context) ([]User, error) {
	var out []User
	err := b.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(k, v []byte) error {
			u, err := decodeUser(k, v)
			out = append(out, u)
			return err
		})
	})
	return out, err
}

// replayKey: uvarint(len(identity)) identity msgID — unambiguous for any identity.
func boltReplayKey(identity string, msgID []byte) []byte {
	k := binary.AppendUvarint(make([]byte, 0, 2+len(identity)+len(msgID)), uint64(len(identity)))
	k = append(k, identity...)
	return append(k, msgID...)
}

// Expiry record (replay and ticket uses): version(1) expires(8) [count(8)].
func (b *Bolt) CheckAndRecord(ctx context.Context, identity string, msgID []byte, expires time.Time) (bool, error) {
	if err := checkReplayArgs(identity, msgID); err != nil {
		return false, err
	}
	k := boltReplayKey(identity, msgID)
	var seen bool
	err := b.hot(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketReplay)
		if seen = bk.Get(k) != nil; seen {
			return nil
		}
		return bk.Put(k, putTime([]byte{valueVersion}, expires))
	})
	return seen, err
}

// pruneExpiring deletes the records of bucket whose expiry (octets 1..8) is not after now.
func (b *Bolt) pruneExpiring(ctx context.Context, bucket []byte, what string, now time.Time) (int, error) {
	n := 0
	err := b.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		bk := tx.Bucket(bucket)
		var doomed [][]byte
		err := bk.ForEach(func(k, v []byte) error {
			if len(v) < 9 || v[0] != valueVersion {
				return corrupt(what, k)
			}
			if !getTime(v[1:]).After(now) {
				doomed = append(doomed, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range doomed {
			if err := bk.Delete(k); err != nil {
				return err
			}
		}
		n = len(doomed)
		return nil
	})
	return n, err
}

func (b *Bolt) PruneReplay(ctx context.Context, now time.Time) (int, error) {
	return b.pruneExpiring(ctx, bucketReplay, "replay", now)
}

func (b *Bolt) IncrementTicketUse(ctx context.Context, ticketID []byte, expires time.Time) (uint64, error) {
	if err := checkTicketID(ticketID); err != nil {
		return 0, err
	}
	ticketID = bytes.Clone(ticketID)
	var count uint64
	err := b.hot(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketTicketUses)
		count = 0
		exp := expires
		if v := bk.Get(ticketID); v != nil {
			if len(v) != 17 || v[0] != valueVersion {
				return corrupt("ticket use", ticketID)
			}
			if old := getTime(v[1:]); old.After(exp) {
				exp = old
			}
			count = binary.BigEndian.Uint64(v[9:])
		}
		count++
		return bk.Put(ticketID, binary.BigEndian.AppendUint64(putTime([]byte{valueVersion}, exp), count))
	})
	return count, err
}

func (b *Bolt) TicketUses(ctx context.Context, ticketID []byte) (uint64, error) {
	var count uint64
	err := b.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketTicketUses).Get(ticketID)
		if v == nil {
			return nil
		}
		if len(v) != 17 || v[0] != valueVersion {
			return corrupt("ticket use", ticketID)
		}
		count = binary.BigEndian.Uint64(v[9:])
		return nil
	})
	return count, err
}

func (b *Bolt) PruneTicketUses(ctx context.Context, now time.Time) (int, error) {
	return b.pruneExpiring(ctx, bucketTicketUses, "ticket use", now)
}

func (b *Bolt) MarkStarted(ctx context.Context, now time.Time) (time.Time, error) {
	var eff time.Time
	err := b.update(ctx, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(metaStartedAt); v != nil {
			if len(v) != 9 || v[0] != valueVersion {
				return corrupt("started-at", metaStartedAt)
			}
			eff = getTime(v[1:])
			return nil
		}
		eff = now
		return meta.Put(metaStartedAt, putTime([]byte{valueVersion}, eff))
	})
	return eff, err
}

func (b *Bolt) StartedAt(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := b.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(metaStartedAt)
		if v == nil {
			return nil
		}
		if len(v) != 9 || v[0] != valueVersion {
			return corrupt("started-at", metaStartedAt)
		}
		t = getTime(v[1:])
		return nil
	})
	return t, err
}
