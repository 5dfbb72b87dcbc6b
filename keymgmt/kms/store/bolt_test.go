package store

import (
	"context"
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
			{bucketReplay, []byte("x"), []byte{2, 0}},
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
		"PruneReplay":        func() error { _, err := s.PruneReplay(ctx, time.Now()); return err },
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
