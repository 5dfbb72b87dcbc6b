package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bolt is the single-file backend (go.etcd.io/bbolt). One process at a time holds the file
// (bbolt takes an exclusive lock); inside it every write is a serialised read-write
// transaction, which is what makes CheckAndRecord atomic. Values carry a version octet so
// the encoding can change without a migration tool guessing.
type Bolt struct {
	db     *bolt.DB
	serial bool
	linger time.Duration
	pace   time.Duration
	behind bool
	// behindErr is the first failure of a write-behind replay entry.
	behindMu  sync.Mutex
	behindErr error

	// The group commit of the per-message writes (CheckAndRecord, IncrementTicketUse): callers
	// queue their write and wait; one committer goroutine runs every queued write in one
	// read-write transaction, which bbolt makes durable (fsync) before Update returns, and only
	// then answers the callers. Writes that arrive during a commit form the next group, so
	// the group grows with the load without a timer.
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*hotOp
	closed  bool
	stopped chan struct{}
	closeMu sync.Once
	closeEr error

	// The replay cache's index (boltreplay.go): every entry of the durable replay log, by
	// digest of (identity, message id), with its expiry.
	rmu    sync.Mutex
	replay map[replayDigest]int64

	// Users read so far (User), kept current by PutUser and DeleteUser; ugen counts those
	// changes so that a read racing with one is not cached.
	umu   sync.Mutex
	users map[string]User
	ugen  uint64
}

// hotOp is one queued per-message write; fn may run more than once (see hot). done is nil for
// a write-behind replay entry, whose caller does not wait.
type hotOp struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// finish reports a write's outcome to its caller, or keeps a write-behind failure.
func (b *Bolt) finish(op *hotOp, err error) {
	if op.done != nil {
		op.done <- err
		return
	}
	if err != nil {
		b.behindMu.Lock()
		if b.behindErr == nil {
			b.behindErr = fmt.Errorf("store: replay entry written behind failed: %w", err)
		}
		b.behindMu.Unlock()
	}
}

// maxGroup bounds one group commit, so that one transaction stays short.
const maxGroup = 1024

var _ Store = (*Bolt)(nil)

// BoltOptions configure OpenBolt.
type BoltOptions struct {
	// Timeout bounds the wait for the file lock held by another process; 0 means 1 s.
	Timeout time.Duration
	// Mode is the file mode for a new file; 0 means 0600 (the file holds key material).
	Mode os.FileMode
	// BatchDelay, when not 0, makes the committer of the per-message writes wait this long
	// after the first write of a group for companions before it commits. Without it (the
	// default) a group is whatever queued while the previous commit was being synced, which
	// needs no delay to grow under load; a delay only adds latency, so it is kept for
	// measurements and for disks whose sync costs much more than a transaction.
	BatchDelay time.Duration
	// SerialCommit gives every per-message write its own transaction and fsync, as before
	// group commit: for comparison in benchmarks. The results are the same, only slower.
	SerialCommit bool
	// CommitInterval is the least time between the starts of two group commits
	// [DefaultCommitInterval]; negative: none (commit as soon as the previous one is done).
	// A write that finds the last commit started longer ago is committed at once; writes that
	// come one after another each wait up to the interval (measured: always pacing costs less
	// CPU under load than pacing only after commits of several writes). Under load the writes
	// of one interval share one commit. Each commit costs
	// two syncs and their system time whatever its size, so back-to-back commits of a few writes
	// each take the CPU the requests need.
	CommitInterval time.Duration
	// ReplayWriteBehind answers CheckAndRecord without waiting for the entry's sync: the entry
	// is in the index at once and reaches the file with the next group commit. Use counts are
	// still synced before they are answered. Safe by the epoch rule: the store is marked dirty
	// while open and clean by Close; opened dirty (after a crash), its replay epoch starts
	// again, so ReplayGuard refuses every message timestamped before the restart plus the skew,
	// which a lost entry could have been. The price: after a crash, one skew (5 min by default)
	// in which the KMS refuses all messages. A failed write-behind fails every later
	// CheckAndRecord, as a synced one would.
	ReplayWriteBehind bool
}

// DefaultCommitInterval paces group commits under load (BoltOptions.CommitInterval).
const DefaultCommitInterval = 2 * time.Millisecond

// Buckets, one per concern.
var (
	bucketMeta       = []byte("meta")
	bucketTicketKeys = []byte("ticket_keys")
	bucketUsers      = []byte("users")
	bucketReplayLog  = []byte("replay_log")
	// bucketReplayV1 is schema 1's replay cache, keyed by identity and message id; OpenBolt
	// moves it into the replay log.
	bucketReplayV1   = []byte("replay")
	bucketTicketUses = []byte("ticket_uses")

	metaSchema    = []byte("schema")
	metaCurrent   = []byte("current_ticket_key")
	metaStartedAt = []byte("started_at")
	// metaReplayDirty is present while a store with ReplayWriteBehind is open: found at open,
	// the last process did not close the store, so its replay log may lack entries it admitted.
	metaReplayDirty = []byte("replay_dirty")
)

const (
	schemaVersion = 2 // 2: the replay cache is a log (replay_log), see boltreplay.go
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
	// The freelist is rebuilt from the file when it is opened instead of being written by
	// every commit (fewer pages to sync per commit; every commit is still fsynced).
	db, err := bolt.Open(path, opts.Mode, &bolt.Options{Timeout: opts.Timeout, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketTicketKeys, bucketUsers, bucketReplayLog, bucketTicketUses} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(metaSchema); v != nil {
			switch {
			case len(v) == 1 && v[0] == 1:
				if err := migrateReplayV1(tx); err != nil {
					return err
				}
			case len(v) != 1 || v[0] != schemaVersion:
				return fmt.Errorf("schema version %v, this build reads %d", v, schemaVersion)
			default:
				return nil
			}
		}
		return meta.Put(metaSchema, []byte{schemaVersion})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	b := &Bolt{db: db, serial: opts.SerialCommit, linger: opts.BatchDelay, pace: opts.CommitInterval, stopped: make(chan struct{})}
	b.users = map[string]User{}
	if b.pace == 0 {
		b.pace = DefaultCommitInterval
	}
	if err := b.loadReplay(); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	b.behind = opts.ReplayWriteBehind && !opts.SerialCommit // serial: nothing to write behind
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta.Get(metaReplayDirty) != nil {
			// The replay log may lack entries: the cache is as good as new, so is its epoch.
			if err := meta.Delete(metaStartedAt); err != nil {
				return err
			}
			if err := meta.Delete(metaReplayDirty); err != nil {
				return err
			}
		}
		if b.behind {
			return meta.Put(metaReplayDirty, []byte{valueVersion})
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	b.cond = sync.NewCond(&b.mu)
	if b.serial {
		close(b.stopped)
	} else {
		go b.committer()
	}
	return b, nil
}

// Path is the file the store lives in.
func (b *Bolt) Path() string { return b.db.Path() }

// Close commits the queued writes, then closes the file and releases its lock. Later calls
// fail with ErrClosed.
func (b *Bolt) Close() error {
	b.closeMu.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.cond.Broadcast()
		b.mu.Unlock()
		<-b.stopped
		if b.behind && b.behindFailure() == nil {
			// Every write-behind entry is in the file: the next open may keep the epoch.
			err := b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(metaReplayDirty) })
			if err != nil {
				b.db.Close()
				b.closeEr = fmt.Errorf("store: close: %w", err)
				return
			}
		}
		b.closeEr = b.db.Close()
	})
	return b.closeEr
}

func (b *Bolt) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return mapErr(b.db.Update(fn))
}

// hot runs a per-message write through the group commit and returns once it is durable. fn
// may run more than once (a failed group is retried one write per transaction), so it must set
// its results afresh on every run. A write once queued is waited for even if ctx ends, so
// that the caller never acts on a write whose fate it does not know.
func (b *Bolt) hot(ctx context.Context, fn func(*bolt.Tx) error) error {
	if b.serial {
		return b.update(ctx, fn)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	op := &hotOp{fn: fn, done: make(chan error, 1)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return fmt.Errorf("%w: %v", ErrClosed, bolt.ErrDatabaseNotOpen)
	}
	b.queue = append(b.queue, op)
	b.cond.Signal()
	b.mu.Unlock()
	return <-op.done
}

// committer runs the group commits until Close, then commits what is left and stops.
func (b *Bolt) committer() {
	defer close(b.stopped)
	var last time.Time // start of the previous commit
	for {
		b.mu.Lock()
		for len(b.queue) == 0 && !b.closed {
			b.cond.Wait()
		}
		if len(b.queue) == 0 {
			b.mu.Unlock()
			return
		}
		wait := b.linger
		if p := b.pace - time.Since(last); p > wait {
			wait = p
		}
		if wait > 0 && len(b.queue) < maxGroup && !b.closed {
			b.mu.Unlock()
			time.Sleep(wait)
			b.mu.Lock()
		}
		last = time.Now()
		n := min(len(b.queue), maxGroup)
		group := make([]*hotOp, n)
		copy(group, b.queue)
		b.queue = append(b.queue[:0], b.queue[n:]...)
		b.mu.Unlock()
		b.commit(group)
	}
}

// commit runs a group in one transaction, each write alone in turn (so each sees the ones
// before it, which keeps CheckAndRecord and IncrementTicketUse atomic), and answers every
// caller after the commit. If any write fails, nothing of the group was written: each write
// is then run in its own transaction, so one bad write fails only its own caller.
func (b *Bolt) commit(group []*hotOp) {
	err := b.db.Update(func(tx *bolt.Tx) error {
		for _, op := range group {
			if err := op.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(group) == 1 {
		for _, op := range group {
			b.finish(op, mapErr(err))
		}
		return
	}
	for _, op := range group {
		b.finish(op, mapErr(b.db.Update(op.fn)))
	}
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
	err = b.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).Put([]byte(u.IMPI), v)
	})
	if err == nil {
		b.cacheUser(u.IMPI, u.clone(), true)
	}
	return err
}

// cacheUser records a change of a user (set: u, else deleted) in the cache that saves User a
// transaction and a JSON decoding per message. One process holds the file, so the cache sees
// every change.
func (b *Bolt) cacheUser(impi string, u User, set bool) {
	b.umu.Lock()
	defer b.umu.Unlock()
	b.ugen++
	if set {
		b.users[impi] = u
	} else {
		delete(b.users, impi)
	}
}

func decodeUser(k, v []byte) (User, error) {
	var r userRecord
	if err := json.Unmarshal(v, &r); err != nil || r.V != valueVersion {
		return User{}, corrupt("user", k)
	}
	return User{IMPI: string(k), IMPUs: r.IMPUs, Groups: r.Groups}, nil
}

func (b *Bolt) User(ctx context.Context, impi string) (User, error) {
	if err := ctx.Err(); err != nil {
		return User{}, err
	}
	if b.isClosed() {
		return User{}, fmt.Errorf("%w: %v", ErrClosed, bolt.ErrDatabaseNotOpen)
	}
	b.umu.Lock()
	u, ok := b.users[impi]
	gen := b.ugen
	b.umu.Unlock()
	if ok {
		return u.clone(), nil
	}
	err := b.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketUsers).Get([]byte(impi))
		if v == nil {
			return fmt.Errorf("%w: user %q", ErrNotFound, impi)
		}
		var err error
		u, err = decodeUser([]byte(impi), v)
		return err
	})
	if err == nil {
		// Only if no PutUser or DeleteUser ran meanwhile: what we read may be older than it.
		b.umu.Lock()
		if b.ugen == gen {
			b.users[impi] = u.clone()
		}
		b.umu.Unlock()
	}
	return u, err
}

func (b *Bolt) DeleteUser(ctx context.Context, impi string) error {
	err := b.update(ctx, func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketUsers)
		if bk.Get([]byte(impi)) == nil {
			return fmt.Errorf("%w: user %q", ErrNotFound, impi)
		}
		return bk.Delete([]byte(impi))
	})
	if err == nil {
		b.cacheUser(impi, User{}, false)
	}
	return err
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
