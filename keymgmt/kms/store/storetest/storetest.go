// Package storetest is the conformance suite for implementations of store.Store: every
// backend (memory, bbolt, and later etcd) must pass Run. It checks the semantics documented
// on the interface, including atomicity of CheckAndRecord under concurrency, expiry driven
// by explicit times, key rotation and pruning, and persistence across a reopen.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms/store"
)

// Reopen closes s and opens the same data again, as a restarted process would.
type Reopen func(t *testing.T, s store.Store) store.Store

// Option configures Run.
type Option func(*config)

type config struct{ reopen Reopen }

// WithReopen enables the persistence tests for backends that keep their data.
func WithReopen(r Reopen) Option { return func(c *config) { c.reopen = r } }

// Run runs the suite. open returns a new, empty store for each subtest; Run closes it.
func Run(t *testing.T, open func(t *testing.T) store.Store, opts ...Option) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"TicketKeyRotation", testTicketKeyRotation},
		{"TicketKeyValidation", testTicketKeyValidation},
		{"TicketKeyPrune", testTicketKeyPrune},
		{"TicketKeyPruneNoCurrent", testTicketKeyPruneNoCurrent},
		{"Users", testUsers},
		{"Replay", testReplay},
		{"ReplayExpiry", testReplayExpiry},
		{"ReplayConcurrent", testReplayConcurrent},
		{"TicketUses", testTicketUses},
		{"TicketUsesConcurrent", testTicketUsesConcurrent},
		{"StartedAt", testStartedAt},
		{"ContextCancelled", testContextCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			tc.fn(t, s)
		})
	}
	t.Run("Closed", func(t *testing.T) { testClosed(t, open(t)) })
	if c.reopen != nil {
		t.Run("Reopen", func(t *testing.T) { testReopen(t, open(t), c.reopen) })
	}
}

// t0 is the suite's clock origin; every time is derived from it, none from the wall clock.
var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func material(b byte) []byte { return bytes.Repeat([]byte{b}, store.TicketKeyLen) }

func key(id uint32, b byte) store.TicketKey {
	return store.TicketKey{ID: id, Material: material(b), Created: t0.Add(time.Duration(id) * time.Minute)}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sameKey(t *testing.T, got, want store.TicketKey) {
	t.Helper()
	if got.ID != want.ID || !bytes.Equal(got.Material, want.Material) || !got.Created.Equal(want.Created) || !got.Retire.Equal(want.Retire) {
		t.Fatalf("ticket key %v, want %v (material equal: %t)", got, want, bytes.Equal(got.Material, want.Material))
	}
}

func testTicketKeyRotation(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.CurrentTicketKey(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty store: current key error %v", err)
	}
	if ks, err := s.TicketKeys(ctx); err != nil || len(ks) != 0 {
		t.Fatalf("empty store: %d keys, %v", len(ks), err)
	}
	if _, err := s.TicketKey(ctx, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	k1, k2, k3 := key(1, 0x11), key(2, 0x22), key(3, 0x33)
	must(t, s.RotateTicketKey(ctx, k1, t0.Add(time.Hour))) // no previous key: retire time unused
	cur, err := s.CurrentTicketKey(ctx)
	must(t, err)
	sameKey(t, cur, k1)

	retire := t0.Add(25 * time.Hour)
	must(t, s.RotateTicketKey(ctx, k2, retire))
	cur, err = s.CurrentTicketKey(ctx)
	must(t, err)
	sameKey(t, cur, k2)
	old, err := s.TicketKey(ctx, 1)
	must(t, err)
	k1.Retire = retire
	sameKey(t, old, k1)

	// A rotation to a taken id changes nothing.
	if err := s.RotateTicketKey(ctx, key(1, 0x44), t0); !errors.Is(err, store.ErrExists) {
		t.Fatalf("rotate to a taken id: %v", err)
	}
	cur, err = s.CurrentTicketKey(ctx)
	must(t, err)
	sameKey(t, cur, k2)
	old, err = s.TicketKey(ctx, 1)
	must(t, err)
	sameKey(t, old, k1)

	// A key from another replica's set, not current.
	must(t, s.AddTicketKey(ctx, k3))
	if err := s.AddTicketKey(ctx, key(3, 0x55)); !errors.Is(err, store.ErrExists) {
		t.Fatalf("add a taken id: %v", err)
	}
	cur, err = s.CurrentTicketKey(ctx)
	must(t, err)
	sameKey(t, cur, k2)

	ks, err := s.TicketKeys(ctx)
	must(t, err)
	if len(ks) != 3 {
		t.Fatalf("%d keys, want 3", len(ks))
	}
	for i, want := range []store.TicketKey{k1, k2, k3} {
		sameKey(t, ks[i], want)
	}
	// Returned material is a copy.
	ks[1].Material[0] ^= 0xff
	cur, err = s.CurrentTicketKey(ctx)
	must(t, err)
	sameKey(t, cur, k2)

	// The material never shows in formatted output.
	for _, out := range []string{cur.String(), fmt.Sprintf("%v", cur), fmt.Sprintf("%+v", cur), fmt.Sprintf("%#v", cur)} {
		if bytes.Contains([]byte(out), []byte("2222")) || bytes.Contains([]byte(out), []byte("34 34")) || bytes.Contains([]byte(out), []byte(`"""`)) {
			t.Fatalf("key material in %q", out)
		}
	}
}

func testTicketKeyValidation(t *testing.T, s store.Store) {
	ctx := context.Background()
	short := store.TicketKey{ID: 9, Material: make([]byte, 16)}
	if err := s.AddTicketKey(ctx, short); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("16-octet key added: %v", err)
	}
	if err := s.RotateTicketKey(ctx, short, t0); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("16-octet key rotated in: %v", err)
	}
	retiring := key(10, 1)
	retiring.Retire = t0
	if err := s.RotateTicketKey(ctx, retiring, t0); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("current key with a retire time: %v", err)
	}
	if ks, err := s.TicketKeys(ctx); err != nil || len(ks) != 0 {
		t.Fatalf("rejected keys stored: %d, %v", len(ks), err)
	}
}

func testTicketKeyPrune(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.RotateTicketKey(ctx, key(1, 1), time.Time{}))
	must(t, s.RotateTicketKey(ctx, key(2, 2), t0.Add(time.Hour)))   // key 1 retires at +1h
	must(t, s.RotateTicketKey(ctx, key(3, 3), t0.Add(2*time.Hour))) // key 2 retires at +2h
	unscheduled := key(4, 4)                                        // added, no retire time
	must(t, s.AddTicketKey(ctx, unscheduled))
	expired := key(5, 5)
	expired.Retire = t0.Add(-time.Minute)
	must(t, s.AddTicketKey(ctx, expired))

	ids := func() []uint32 {
		ks, err := s.TicketKeys(ctx)
		must(t, err)
		var out []uint32
		for _, k := range ks {
			out = append(out, k.ID)
		}
		return out
	}
	for _, step := range []struct {
		now  time.Time
		n    int
		left []uint32
	}{
		{t0, 1, []uint32{1, 2, 3, 4}},
		{t0.Add(time.Hour - time.Nanosecond), 0, []uint32{1, 2, 3, 4}},
		{t0.Add(time.Hour), 1, []uint32{2, 3, 4}},
		{t0.Add(100 * time.Hour), 1, []uint32{3, 4}},
		{t0.Add(1000 * time.Hour), 0, []uint32{3, 4}},
	} {
		n, err := s.PruneTicketKeys(ctx, step.now)
		must(t, err)
		if n != step.n || !slices.Equal(ids(), step.left) {
			t.Fatalf("prune at %v: pruned %d (want %d), left %v (want %v)", step.now.Sub(t0), n, step.n, ids(), step.left)
		}
	}
	cur, err := s.CurrentTicketKey(ctx)
	must(t, err)
	if cur.ID != 3 {
		t.Fatalf("current key %d after pruning", cur.ID)
	}
}

// Keys from another replica's set, none current: the retired one is pruned, the other kept.
func testTicketKeyPruneNoCurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	retired, kept := key(1, 1), key(2, 2)
	retired.Retire = t0
	must(t, s.AddTicketKey(ctx, retired))
	must(t, s.AddTicketKey(ctx, kept))
	n, err := s.PruneTicketKeys(ctx, t0)
	must(t, err)
	ks, err := s.TicketKeys(ctx)
	must(t, err)
	if n != 1 || len(ks) != 1 || ks[0].ID != 2 {
		t.Fatalf("pruned %d, left %v; want 1 pruned and key 2 left", n, ks)
	}
}

func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.User(ctx, "alice@ims.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing user: %v", err)
	}
	if err := s.PutUser(ctx, store.User{}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("empty IMPI: %v", err)
	}
	alice := store.User{IMPI: "alice@ims.example", IMPUs: []string{"sip:alice@ims.example", "tel:+15551230001"}, Groups: []string{"staff"}}
	bob := store.User{IMPI: "bob@ims.example", IMPUs: []string{"sip:bob@ims.example"}}
	must(t, s.PutUser(ctx, bob))
	must(t, s.PutUser(ctx, alice))
	got, err := s.User(ctx, alice.IMPI)
	must(t, err)
	if got.IMPI != alice.IMPI || !slices.Equal(got.IMPUs, alice.IMPUs) || !slices.Equal(got.Groups, alice.Groups) {
		t.Fatalf("user %+v", got)
	}
	got.IMPUs[0] = "sip:mallory@ims.example"
	again, err := s.User(ctx, alice.IMPI)
	must(t, err)
	if again.IMPUs[0] != alice.IMPUs[0] {
		t.Fatal("returned user aliases the store")
	}
	alice.Groups = []string{"staff", "admins"}
	must(t, s.PutUser(ctx, alice))
	us, err := s.Users(ctx)
	must(t, err)
	if len(us) != 2 || us[0].IMPI != alice.IMPI || us[1].IMPI != bob.IMPI || !slices.Equal(us[0].Groups, alice.Groups) || len(us[1].Groups) != 0 {
		t.Fatalf("users %+v", us)
	}
	must(t, s.DeleteUser(ctx, bob.IMPI))
	if err := s.DeleteUser(ctx, bob.IMPI); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if us, _ := s.Users(ctx); len(us) != 1 {
		t.Fatalf("%d users after delete", len(us))
	}
}

func testReplay(t *testing.T, s store.Store) {
	ctx := context.Background()
	exp := t0.Add(time.Minute)
	check := func(identity, id string, want bool) {
		t.Helper()
		seen, err := s.CheckAndRecord(ctx, identity, []byte(id), exp)
		must(t, err)
		if seen != want {
			t.Fatalf("CheckAndRecord(%q, %q) = %t, want %t", identity, id, seen, want)
		}
	}
	check("alice", "msg-1", false)
	check("alice", "msg-1", true)
	check("alice", "msg-1", true)
	check("bob", "msg-1", false) // per identity
	check("alice", "msg-2", false)
	// The pair is not a plain concatenation.
	check("ab", "c", false)
	check("a", "bc", false)
	check("abc", "\x00", false)
	for _, bad := range []struct {
		identity string
		id       []byte
	}{{"", []byte("x")}, {"alice", nil}, {"alice", make([]byte, store.MaxMsgIDLen+1)}, {string(make([]byte, store.MaxIdentityLen+1)), []byte("x")}} {
		if _, err := s.CheckAndRecord(ctx, bad.identity, bad.id, exp); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("identity %d octets, id %d octets: %v", len(bad.identity), len(bad.id), err)
		}
	}
}

func testReplayExpiry(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.CheckAndRecord(ctx, "alice", []byte("m1"), t0.Add(time.Minute))
	must(t, err)
	_, err = s.CheckAndRecord(ctx, "alice", []byte("m2"), t0.Add(2*time.Minute))
	must(t, err)
	n, err := s.PruneReplay(ctx, t0.Add(time.Minute-time.Nanosecond))
	must(t, err)
	if n != 0 {
		t.Fatalf("pruned %d before any expiry", n)
	}
	if seen, _ := s.CheckAndRecord(ctx, "alice", []byte("m1"), t0.Add(time.Minute)); !seen {
		t.Fatal("unexpired entry forgotten")
	}
	n, err = s.PruneReplay(ctx, t0.Add(time.Minute))
	must(t, err)
	if n != 1 {
		t.Fatalf("pruned %d at the first expiry, want 1", n)
	}
	if seen, _ := s.CheckAndRecord(ctx, "alice", []byte("m2"), t0.Add(2*time.Minute)); !seen {
		t.Fatal("m2 pruned early")
	}
	seen, err := s.CheckAndRecord(ctx, "alice", []byte("m1"), t0.Add(3*time.Minute))
	must(t, err)
	if seen {
		t.Fatal("pruned entry still seen")
	}
	n, err = s.PruneReplay(ctx, t0.Add(10*time.Minute))
	must(t, err)
	if n != 2 {
		t.Fatalf("pruned %d at the end, want 2", n)
	}
}

func testReplayConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	const workers, ids = 16, 8
	var wins [ids]int
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, workers*ids)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range ids {
				id := (i + w) % ids // different goroutines race on each id in different orders
				seen, err := s.CheckAndRecord(ctx, "alice", []byte{byte(id)}, t0.Add(time.Minute))
				if err != nil {
					errs <- err
					return
				}
				if !seen {
					mu.Lock()
					wins[id]++
					mu.Unlock()
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for id, n := range wins {
		if n != 1 {
			t.Fatalf("message %d admitted %d times by %d racing goroutines, want exactly 1", id, n, workers)
		}
	}
}

func testTicketUses(t *testing.T, s store.Store) {
	ctx := context.Background()
	tk := []byte("ticket-1")
	if n, err := s.TicketUses(ctx, tk); err != nil || n != 0 {
		t.Fatalf("fresh ticket: %d, %v", n, err)
	}
	for want := uint64(1); want <= 3; want++ {
		// The second call passes an earlier expiry, which must not shorten the entry.
		exp := t0.Add(time.Hour)
		if want == 2 {
			exp = t0.Add(time.Minute)
		}
		n, err := s.IncrementTicketUse(ctx, tk, exp)
		must(t, err)
		if n != want {
			t.Fatalf("use %d counted as %d", want, n)
		}
	}
	other := []byte("ticket-2")
	_, err := s.IncrementTicketUse(ctx, other, t0.Add(time.Minute))
	must(t, err)
	if n, _ := s.TicketUses(ctx, tk); n != 3 {
		t.Fatalf("ticket-1 has %d uses", n)
	}
	n, err := s.PruneTicketUses(ctx, t0.Add(30*time.Minute))
	must(t, err)
	if n != 1 {
		t.Fatalf("pruned %d at +30m, want 1 (ticket-2)", n)
	}
	if c, _ := s.TicketUses(ctx, other); c != 0 {
		t.Fatalf("pruned ticket has %d uses", c)
	}
	if c, _ := s.TicketUses(ctx, tk); c != 3 {
		t.Fatalf("ticket-1 lost its count: %d", c)
	}
	n, err = s.PruneTicketUses(ctx, t0.Add(time.Hour))
	must(t, err)
	if c, _ := s.TicketUses(ctx, tk); n != 1 || c != 0 {
		t.Fatalf("prune at expiry: %d pruned, count %d", n, c)
	}
	if _, err := s.IncrementTicketUse(ctx, nil, t0); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("empty ticket id: %v", err)
	}
}

func testTicketUsesConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	const workers = 24
	got := make(chan uint64, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.IncrementTicketUse(ctx, []byte("shared"), t0.Add(time.Hour))
			if err != nil {
				t.Error(err)
			}
			got <- n
		}()
	}
	wg.Wait()
	close(got)
	var all []uint64
	for n := range got {
		all = append(all, n)
	}
	slices.Sort(all)
	for i, n := range all {
		if n != uint64(i+1) {
			t.Fatalf("counts %v, want 1..%d each once", all, workers)
		}
	}
}

func testStartedAt(t *testing.T, s store.Store) {
	ctx := context.Background()
	at, err := s.StartedAt(ctx)
	must(t, err)
	if !at.IsZero() {
		t.Fatalf("fresh store started at %v", at)
	}
	for _, step := range []struct{ now, want time.Time }{
		{t0, t0},
		{t0.Add(-time.Hour), t0}, // the clock stepped back: the epoch stays
		{t0.Add(time.Hour), t0},  // the cache is still complete since t0
	} {
		eff, err := s.MarkStarted(ctx, step.now)
		must(t, err)
		at, err := s.StartedAt(ctx)
		must(t, err)
		if !eff.Equal(step.want) || !at.Equal(step.want) {
			t.Fatalf("MarkStarted(%v) = %v, StartedAt %v, want %v", step.now, eff, at, step.want)
		}
	}
}

func testContextCancelled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"AddTicketKey":       func() error { return s.AddTicketKey(ctx, key(1, 1)) },
		"RotateTicketKey":    func() error { return s.RotateTicketKey(ctx, key(1, 1), t0) },
		"CurrentTicketKey":   func() error { _, err := s.CurrentTicketKey(ctx); return err },
		"TicketKey":          func() error { _, err := s.TicketKey(ctx, 1); return err },
		"TicketKeys":         func() error { _, err := s.TicketKeys(ctx); return err },
		"PruneTicketKeys":    func() error { _, err := s.PruneTicketKeys(ctx, t0); return err },
		"PutUser":            func() error { return s.PutUser(ctx, store.User{IMPI: "a"}) },
		"User":               func() error { _, err := s.User(ctx, "a"); return err },
		"DeleteUser":         func() error { return s.DeleteUser(ctx, "a") },
		"Users":              func() error { _, err := s.Users(ctx); return err },
		"CheckAndRecord":     func() error { _, err := s.CheckAndRecord(ctx, "a", []byte("m"), t0); return err },
		"PruneReplay":        func() error { _, err := s.PruneReplay(ctx, t0); return err },
		"IncrementTicketUse": func() error { _, err := s.IncrementTicketUse(ctx, []byte("t"), t0); return err },
		"TicketUses":         func() error { _, err := s.TicketUses(ctx, []byte("t")); return err },
		"PruneTicketUses":    func() error { _, err := s.PruneTicketUses(ctx, t0); return err },
		"MarkStarted":        func() error { _, err := s.MarkStarted(ctx, t0); return err },
		"StartedAt":          func() error { _, err := s.StartedAt(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v", name, err)
		}
	}
	// Nothing was written.
	live := context.Background()
	if seen, err := s.CheckAndRecord(live, "a", []byte("m"), t0); err != nil || seen {
		t.Fatalf("cancelled CheckAndRecord recorded: %t, %v", seen, err)
	}
	if _, err := s.CurrentTicketKey(live); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancelled rotation stored a key: %v", err)
	}
}

func testClosed(t *testing.T, s store.Store) {
	must(t, s.Close())
	ctx := context.Background()
	if _, err := s.CheckAndRecord(ctx, "a", []byte("m"), t0); !errors.Is(err, store.ErrClosed) {
		t.Errorf("CheckAndRecord after Close: %v", err)
	}
	if _, err := s.CurrentTicketKey(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("CurrentTicketKey after Close: %v", err)
	}
	if err := s.PutUser(ctx, store.User{IMPI: "a"}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("PutUser after Close: %v", err)
	}
}

func testReopen(t *testing.T, s store.Store, reopen Reopen) {
	ctx := context.Background()
	must(t, s.RotateTicketKey(ctx, key(1, 1), time.Time{}))
	must(t, s.RotateTicketKey(ctx, key(2, 2), t0.Add(time.Hour)))
	must(t, s.PutUser(ctx, store.User{IMPI: "alice", IMPUs: []string{"sip:alice@ims.example"}, Groups: []string{"g"}}))
	_, err := s.CheckAndRecord(ctx, "alice", []byte("m1"), t0.Add(time.Minute))
	must(t, err)
	_, err = s.IncrementTicketUse(ctx, []byte("tk"), t0.Add(time.Hour))
	must(t, err)
	_, err = s.IncrementTicketUse(ctx, []byte("tk"), t0.Add(time.Hour))
	must(t, err)
	started := t0.Add(123456789 * time.Nanosecond)
	_, err = s.MarkStarted(ctx, started)
	must(t, err)

	s = reopen(t, s)
	defer s.Close()
	cur, err := s.CurrentTicketKey(ctx)
	must(t, err)
	sameKey(t, cur, key(2, 2))
	old, err := s.TicketKey(ctx, 1)
	must(t, err)
	want := key(1, 1)
	want.Retire = t0.Add(time.Hour)
	sameKey(t, old, want)
	u, err := s.User(ctx, "alice")
	must(t, err)
	if !slices.Equal(u.IMPUs, []string{"sip:alice@ims.example"}) || !slices.Equal(u.Groups, []string{"g"}) {
		t.Fatalf("user after reopen %+v", u)
	}
	if seen, err := s.CheckAndRecord(ctx, "alice", []byte("m1"), t0.Add(time.Minute)); err != nil || !seen {
		t.Fatalf("replay cache lost on reopen: %t, %v", seen, err)
	}
	if n, err := s.TicketUses(ctx, []byte("tk")); err != nil || n != 2 {
		t.Fatalf("ticket uses after reopen: %d, %v", n, err)
	}
	at, err := s.StartedAt(ctx)
	must(t, err)
	if !at.Equal(started) {
		t.Fatalf("started at %v after reopen, want %v", at, started)
	}
	// A restarted process marks its start; the persisted cache keeps its epoch.
	at, err = s.MarkStarted(ctx, t0.Add(time.Hour))
	must(t, err)
	if !at.Equal(started) {
		t.Fatalf("MarkStarted after reopen moved the epoch to %v, want %v", at, started)
	}
	// Expiry still works on reopened data.
	if n, err := s.PruneReplay(ctx, t0.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("prune after reopen: %d, %v", n, err)
	}
}
