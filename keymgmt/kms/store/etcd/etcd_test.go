package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms/store"
	"github.com/imsphone/imsphone/keymgmt/kms/store/etcd"
	"github.com/imsphone/imsphone/keymgmt/kms/store/etcd/etcdtest"
	"github.com/imsphone/imsphone/keymgmt/kms/store/storetest"
)

func open(t testing.TB, url, prefix string) *etcd.Store {
	t.Helper()
	s, err := etcd.Open(context.Background(), etcd.Config{Endpoints: []string{url}, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The backend-independent conformance suite against a real etcd; each subtest gets its own
// prefix on one etcd process, and Reopen is a new client on the same prefix.
func TestConformance(t *testing.T) {
	url := etcdtest.Start(t)
	var n atomic.Int64
	storetest.Run(t,
		func(t *testing.T) store.Store { return open(t, url, fmt.Sprintf("/conformance/%d/", n.Add(1))) },
		storetest.WithReopen(func(t *testing.T, s store.Store) store.Store {
			prefix := s.(*etcd.Store).Prefix()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, url, prefix)
		}))
}

func TestOpenErrors(t *testing.T) {
	if _, err := etcd.Open(context.Background(), etcd.Config{}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("no endpoints: %v", err)
	}
	if testing.Short() {
		t.Skip("waits for a dial timeout")
	}
	// Nothing listens on port 1 of loopback: Open fails within its dial timeout.
	_, err := etcd.Open(context.Background(), etcd.Config{Endpoints: []string{"http://127.0.0.1:1"}, DialTimeout: 300 * time.Millisecond})
	if err == nil {
		t.Fatal("Open of a dead endpoint succeeded")
	}
}

// Two replicas, each with its own etcd client on the same cluster and prefix, race on the same
// replay entries and the same ticket use count: every message is admitted exactly once across
// both, and the counts are 1..n each once.
func TestTwoReplicas(t *testing.T) {
	url := etcdtest.Start(t)
	a, b := open(t, url, "/replicas/"), open(t, url, "/replicas/")
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	exp := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	replicas := []store.Store{a, b}

	const msgs, perReplica = 16, 4
	var mu sync.Mutex
	admitted := map[int]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 2*perReplica*(msgs+1))
	start := make(chan struct{})
	for r, s := range replicas {
		for w := range perReplica {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := range msgs {
					id := (i + w + r) % msgs
					seen, err := s.CheckAndRecord(ctx, "1:btid", []byte{byte(id)}, exp)
					if err != nil {
						errs <- err
						return
					}
					if !seen {
						mu.Lock()
						admitted[id]++
						mu.Unlock()
					}
				}
			}()
		}
	}
	counts := make(chan uint64, 2*perReplica)
	for _, s := range replicas {
		for range perReplica {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				n, err := s.IncrementTicketUse(ctx, []byte("ticket"), exp)
				if err != nil {
					errs <- err
					return
				}
				counts <- n
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	close(counts)
	for err := range errs {
		t.Fatal(err)
	}
	for id := range msgs {
		if admitted[id] != 1 {
			t.Fatalf("message %d admitted %d times across two replicas", id, admitted[id])
		}
	}
	var all []uint64
	for n := range counts {
		all = append(all, n)
	}
	slices.Sort(all)
	for i, n := range all {
		if n != uint64(i+1) {
			t.Fatalf("use counts %v across two replicas, want 1..%d each once", all, len(all))
		}
	}
	if n, err := b.TicketUses(ctx, []byte("ticket")); err != nil || n != 2*perReplica {
		t.Fatalf("uses seen by the other replica: %d, %v", n, err)
	}
	// One epoch for the cluster: the second replica's start keeps the first's.
	e1, err := a.MarkStarted(ctx, exp)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := b.MarkStarted(ctx, exp.Add(time.Hour))
	if err != nil || !e2.Equal(e1) {
		t.Fatalf("second replica's epoch %v (%v), want %v", e2, err, e1)
	}
}
