package store_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms/store"
	"github.com/imsphone/imsphone/keymgmt/kms/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return store.NewMemory() })
}

func openBolt(t *testing.T, path string, opts store.BoltOptions) *store.Bolt {
	t.Helper()
	s, err := store.OpenBolt(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBoltConformance(t *testing.T) {
	for name, opts := range map[string]store.BoltOptions{
		"Group":       {},
		"Linger":      {BatchDelay: time.Millisecond},
		"Serial":      {SerialCommit: true},
		"WriteBehind": {ReplayWriteBehind: true},
	} {
		t.Run(name, func(t *testing.T) {
			storetest.Run(t,
				func(t *testing.T) store.Store { return openBolt(t, filepath.Join(t.TempDir(), "kms.db"), opts) },
				storetest.WithReopen(func(t *testing.T, s store.Store) store.Store {
					path := s.(*store.Bolt).Path()
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					return openBolt(t, path, opts)
				}))
		})
	}
}
