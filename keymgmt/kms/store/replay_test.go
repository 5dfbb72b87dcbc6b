package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms/store"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestReplayGuardWindowAndCache(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t0}
	const skew = time.Minute
	g, err := store.NewReplayGuard(ctx, store.NewMemory(), skew, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Epoch().Equal(t0) {
		t.Fatalf("epoch %v", g.Epoch())
	}
	// Right after a start with an empty cache every current timestamp is refused (RFC 3830
	// §5.4), including ones before the start.
	for _, ts := range []time.Time{t0.Add(-30 * time.Second), t0, t0.Add(59 * time.Second)} {
		if err := g.Check(ctx, "alice", []byte("m0"), ts); !errors.Is(err, store.ErrBeforeEpoch) {
			t.Fatalf("ts %v right after start: %v", ts.Sub(t0), err)
		}
	}
	clock.Advance(5 * time.Minute)
	now := clock.Now()
	for _, tc := range []struct {
		id   string
		ts   time.Time
		want error
	}{
		{"m1", now, nil},
		{"m1", now, store.ErrReplay},
		{"m2", now.Add(-skew), nil},
		{"m3", now.Add(skew), nil},
		{"m4", now.Add(-skew - time.Nanosecond), store.ErrTimestampWindow},
		{"m5", now.Add(skew + time.Nanosecond), store.ErrTimestampWindow},
		{"m6", t0.Add(skew - time.Nanosecond), store.ErrTimestampWindow},
	} {
		err := g.Check(ctx, "alice", []byte(tc.id), tc.ts)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Fatalf("%s at %v: %v, want %v", tc.id, tc.ts.Sub(now), err, tc.want)
		}
	}
	// A refused message was not recorded.
	if err := g.Check(ctx, "alice", []byte("m4"), now); err != nil {
		t.Fatalf("m4 retried with a good timestamp: %v", err)
	}
	// m1 stays refused while its timestamp passes the window; then the window refuses it
	// and the entry can go.
	clock.Advance(skew)
	if err := g.Check(ctx, "alice", []byte("m1"), now); !errors.Is(err, store.ErrReplay) {
		t.Fatalf("m1 at the window edge: %v", err)
	}
	clock.Advance(time.Nanosecond)
	if err := g.Check(ctx, "alice", []byte("m1"), now); !errors.Is(err, store.ErrTimestampWindow) {
		t.Fatalf("m1 after the window: %v", err)
	}
	n, err := g.Prune(ctx)
	if err != nil || n != 3 { // m1, m2 and m4 (ts = now) expired; m3 (ts = now+skew) not yet
		t.Fatalf("prune: %d, %v", n, err)
	}
	if _, err := store.NewReplayGuard(ctx, store.NewMemory(), 0, clock.Now); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("zero skew: %v", err)
	}
}

// A restart of a file-backed KMS keeps the cache and its epoch: nothing is refused that the
// cache can judge, and a replay across the restart is still caught.
func TestReplayGuardRestartPersistent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kms.db")
	clock := &fakeClock{t0}
	s, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := store.NewReplayGuard(ctx, s, time.Minute, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	ts := clock.Now()
	if err := g.Check(ctx, "alice", []byte("m1"), ts); err != nil {
		t.Fatal(err)
	}
	s.Close()

	clock.Advance(time.Second) // restart
	s, err = store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g, err = store.NewReplayGuard(ctx, s, time.Minute, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Epoch().Equal(t0) {
		t.Fatalf("epoch moved to %v", g.Epoch())
	}
	if err := g.Check(ctx, "alice", []byte("m1"), ts); !errors.Is(err, store.ErrReplay) {
		t.Fatalf("replay across restart: %v", err)
	}
	if err := g.Check(ctx, "alice", []byte("m2"), ts); err != nil {
		t.Fatalf("fresh message after restart: %v", err)
	}
}

// A restart with the memory backend loses the cache: a message admitted just before the
// restart, with a timestamp even ahead of the restart, is refused when replayed after it.
func TestReplayGuardRestartLostCache(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t0}
	g, err := store.NewReplayGuard(ctx, store.NewMemory(), time.Minute, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	ahead := clock.Now().Add(50 * time.Second) // the sender's clock runs 50 s ahead
	if err := g.Check(ctx, "alice", []byte("m1"), ahead); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second) // restart: new process, new memory store
	g, err = store.NewReplayGuard(ctx, store.NewMemory(), time.Minute, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Check(ctx, "alice", []byte("m1"), ahead); !errors.Is(err, store.ErrBeforeEpoch) {
		t.Fatalf("replay after losing the cache: %v", err)
	}
	clock.Advance(time.Minute)
	if err := g.Check(ctx, "alice", []byte("m2"), clock.Now()); err != nil {
		t.Fatalf("fresh message once the skew has passed: %v", err)
	}
}
