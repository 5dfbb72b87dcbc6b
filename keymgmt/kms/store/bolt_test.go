package store

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestBoltLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kms.db")
	s, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// bbolt's flock is per open file description, so a second open in this process waits
	// for the lock like a second KMS process would.
	_, err = OpenBolt(path, BoltOptions{Timeout: 20 * time.Millisecond})
	if !errors.Is(err, bolt.ErrTimeout) {
		t.Fatalf("second open: %v", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error does not name the file: %v", err)
	}
}

func TestBoltFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kms.db")
	s, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("store file mode %v is readable by others", fi.Mode())
	}
}

// rawUpdate edits the file behind the store's back.
func rawUpdate(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestBoltSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kms.db")
	s, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(metaSchema, []byte{9}) })
	if _, err := OpenBolt(path, BoltOptions{}); err == nil || !strings.Contains(err.Error(), "schema version") {
		t.Fatalf("open with schema 9: %v", err)
	}
}

func TestBoltCorruptRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kms.db")
	s, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		for _, p := range []struct{ b, k, v []byte }{
			{bucketTicketKeys, []byte{0, 0, 0, 7}, []byte{1, 2, 3}},
			{bucketUsers, []byte("alice"), []byte("{not json")},
			{bucketTicketUses, []byte("tk"), []byte{1}},
			{bucketMeta, metaStartedAt, []byte{1}},
		} {
			if err := tx.Bucket(p.b).Put(p.k, p.v); err != nil {
				return err
			}
		}
		return nil
	})
	s, err = OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"TicketKey":          func() error { _, err := s.TicketKey(ctx, 7); return err },
		"TicketKeys":         func() error { _, err := s.TicketKeys(ctx); return err },
		"User":               func() error { _, err := s.User(ctx, "alice"); return err },
		"TicketUses":         func() error { _, err := s.TicketUses(ctx, []byte("tk")); return err },
		"IncrementTicketUse": func() error { _, err := s.IncrementTicketUse(ctx, []byte("tk"), time.Now()); return err },
		"StartedAt":          func() error { _, err := s.StartedAt(ctx); return err },
		"MarkStarted":        func() error { _, err := s.MarkStarted(ctx, time.Now()); return err },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "corrupt") {
			t.Errorf("%s on a corrupt record: %v", name, err)
		}
	}
}

// A corrupt record in the replay log fails the open: the cache could not vouch for the messages
// it would have held.
func TestBoltCorruptReplayLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kms.db")
	s, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReplayLog).Put([]byte{0, 0, 0, 0, 0, 0, 0, 9}, []byte{2, 0})
	})
	if _, err := OpenBolt(path, BoltOptions{}); err == nil || !strings.Contains(err.Error(), "corrupt replay record") {
		t.Fatalf("open with a corrupt replay record: %v", err)
	}
}

// A schema 1 file (replay cache keyed by identity and message id) opens as schema 2 with its
// replay entries in the log, and a corrupt schema 1 entry fails the open.
func TestBoltMigrateReplayV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kms.db")
	s, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	exp := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	v1 := func(identity, msgID string) []byte {
		return append(binary.AppendUvarint(nil, uint64(len(identity))), identity+msgID...)
	}
	schema1 := func(extra ...[2][]byte) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			if err := tx.DeleteBucket(bucketReplayLog); err != nil {
				return err
			}
			old, err := tx.CreateBucketIfNotExists(bucketReplayV1)
			if err != nil {
				return err
			}
			for _, kv := range append([][2][]byte{{v1("1:alice", "m1"), putTime([]byte{valueVersion}, exp)}}, extra...) {
				if err := old.Put(kv[0], kv[1]); err != nil {
					return err
				}
			}
			return tx.Bucket(bucketMeta).Put(metaSchema, []byte{1})
		}
	}
	rawUpdate(t, path, schema1())
	s, err = OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if seen, err := s.CheckAndRecord(ctx, "1:alice", []byte("m1"), exp); err != nil || !seen {
		t.Fatalf("migrated entry: seen %t, %v", seen, err)
	}
	if seen, err := s.CheckAndRecord(ctx, "1:alic", []byte("em1"), exp); err != nil || seen {
		t.Fatalf("other pair: seen %t, %v", seen, err)
	}
	if n, err := s.PruneReplay(ctx, exp); err != nil || n != 2 {
		t.Fatalf("prune after migration: %d, %v", n, err)
	}
	s.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(metaSchema); len(v) != 1 || v[0] != schemaVersion {
			t.Errorf("schema after migration %v", v)
		}
		if tx.Bucket(bucketReplayV1) != nil {
			t.Error("schema 1 replay bucket left behind")
		}
		return nil
	})

	rawUpdate(t, path, schema1([2][]byte{{0x05, 'a'}, {1}}))
	if _, err := OpenBolt(path, BoltOptions{}); err == nil || !strings.Contains(err.Error(), "corrupt schema 1 replay") {
		t.Fatalf("open with a corrupt schema 1 record: %v", err)
	}
}

// One bad write in a group commit fails only its caller: the group is rolled back and each write
// retried alone. The 50 ms linger puts the concurrent calls into one group; if the scheduler
// splits them the outcome must be the same.
func TestBoltGroupCommitIsolatesFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kms.db")
	s, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bucketTicketUses).Put([]byte("bad"), []byte{1}) })
	s, err = OpenBolt(path, BoltOptions{BatchDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	exp := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	const good = 8
	errs := make(chan error, good+1)
	for i := range good {
		go func() {
			seen, err := s.CheckAndRecord(ctx, "alice", []byte{byte(i)}, exp)
			if err == nil && seen {
				err = errors.New("fresh message seen")
			}
			errs <- err
		}()
	}
	badErr := make(chan error, 1)
	go func() { _, err := s.IncrementTicketUse(ctx, []byte("bad"), exp); badErr <- err }()
	for range good {
		if err := <-errs; err != nil {
			t.Fatalf("good write in the group: %v", err)
		}
	}
	if err := <-badErr; err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("bad write: %v", err)
	}
	for i := range good {
		if seen, err := s.CheckAndRecord(ctx, "alice", []byte{byte(i)}, exp); err != nil || !seen {
			t.Fatalf("message %d not recorded: %t, %v", i, seen, err)
		}
	}
}

// A message reported "not seen" is in the file when CheckAndRecord returns: a copy of the file
// taken then, as a crash would leave it, still knows it.
func TestBoltReplayOnFileBeforeAnswer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kms.db")
	s, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	exp := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	if seen, err := s.CheckAndRecord(ctx, "alice", []byte("m1"), exp); err != nil || seen {
		t.Fatalf("first: %t, %v", seen, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(dir, "crashed.db")
	if err := os.WriteFile(crashed, b, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := OpenBolt(crashed, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if seen, err := c.CheckAndRecord(ctx, "alice", []byte("m1"), exp); err != nil || !seen {
		t.Fatalf("copy of the file forgot the message: %t, %v", seen, err)
	}
}

// ReplayWriteBehind: a store closed cleanly keeps its replay entries and epoch; a copy of the file
// taken while it was open (as a crash leaves it) opens with the epoch started again, so the
// replay guard refuses every message the lost entries could have been.
func TestBoltWriteBehindCrash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kms.db")
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	s, err := OpenBolt(path, BoltOptions{ReplayWriteBehind: true})
	if err != nil {
		t.Fatal(err)
	}
	if at, err := s.MarkStarted(ctx, t0); err != nil || !at.Equal(t0) {
		t.Fatalf("epoch %v, %v", at, err)
	}
	for i := range 3 {
		if seen, err := s.CheckAndRecord(ctx, "alice", []byte{byte(i)}, t0.Add(time.Minute)); err != nil || seen {
			t.Fatalf("message %d: %t, %v", i, seen, err)
		}
	}
	if seen, _ := s.CheckAndRecord(ctx, "alice", []byte{0}, t0.Add(time.Minute)); !seen {
		t.Fatal("replay admitted while open")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(dir, "crashed.db")
	if err := os.WriteFile(crashed, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	c, err := OpenBolt(crashed, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if at, err := c.StartedAt(ctx); err != nil || !at.IsZero() {
		t.Fatalf("crashed store kept its epoch %v (%v)", at, err)
	}
	restart := t0.Add(time.Hour)
	if at, err := c.MarkStarted(ctx, restart); err != nil || !at.Equal(restart) {
		t.Fatalf("epoch after the crash %v (%v), want the restart %v", at, err, restart)
	}
	c.Close()
	if c, err = OpenBolt(crashed, BoltOptions{}); err != nil {
		t.Fatal(err)
	}
	if at, _ := c.StartedAt(ctx); !at.Equal(restart) {
		t.Fatalf("a clean reopen after the recovery moved the epoch to %v", at)
	}
	c.Close()

	s, err = OpenBolt(path, BoltOptions{ReplayWriteBehind: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if at, err := s.StartedAt(ctx); err != nil || !at.Equal(t0) {
		t.Fatalf("cleanly closed store: epoch %v (%v), want %v", at, err, t0)
	}
	for i := range 3 {
		if seen, err := s.CheckAndRecord(ctx, "alice", []byte{byte(i)}, t0.Add(time.Minute)); err != nil || !seen {
			t.Fatalf("message %d lost over a clean close: %t, %v", i, seen, err)
		}
	}
}
