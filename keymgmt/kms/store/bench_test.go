package store_test

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms/store"
)

func benchCheckAndRecord(b *testing.B, s store.Store) {
	ctx := context.Background()
	exp := time.Date(2026, 11, 26, 12, 1, 0, 0, time.UTC)
	id := make([]byte, 20) // RAND-sized message ids
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		binary.BigEndian.PutUint64(id, uint64(i))
		seen, err := s.CheckAndRecord(ctx, "alice@ims.example", id, exp)
		if err != nil || seen {
			b.Fatal(seen, err)
		}
	}
}

func BenchmarkCheckAndRecordMemory(b *testing.B) {
	s := store.NewMemory()
	defer s.Close()
	benchCheckAndRecord(b, s)
}

// Each call is one bbolt read-write transaction with an fsync: the figure is the disk's
// sync latency more than the code's.
func BenchmarkCheckAndRecordBolt(b *testing.B) {
	s, err := store.OpenBolt(filepath.Join(b.TempDir(), "kms.db"), store.BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	benchCheckAndRecord(b, s)
}

func BenchmarkCheckAndRecordBoltParallel(b *testing.B) {
	b.Run("Serial", func(b *testing.B) { benchParallel(b, store.BoltOptions{SerialCommit: true}) })
	b.Run("Batch2ms", func(b *testing.B) { benchParallel(b, store.BoltOptions{BatchDelay: 2 * time.Millisecond}) })
	b.Run("Group", func(b *testing.B) { benchParallel(b, store.BoltOptions{}) })
}

// benchParallel runs CheckAndRecord from 16 goroutines per CPU, as concurrent KMS requests
// would.
func benchParallel(b *testing.B, opts store.BoltOptions) {
	s, err := store.OpenBolt(filepath.Join(b.TempDir(), "kms.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(16)
	defer s.Close()
	ctx := context.Background()
	exp := time.Date(2026, 11, 26, 12, 1, 0, 0, time.UTC)
	var next atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		id := make([]byte, 20)
		for pb.Next() {
			binary.BigEndian.PutUint64(id, next.Add(1))
			if seen, err := s.CheckAndRecord(ctx, "alice@ims.example", id, exp); err != nil || seen {
				b.Fatal(seen, err)
			}
		}
	})
}
