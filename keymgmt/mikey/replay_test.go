package mikey

import (
	"context"
	"errors"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is the injected clock of the replay tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newCache(t testing.TB, n int) (*MemoryReplayCache, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: freshNow}
	c, err := NewMemoryReplayCache(n, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

func key(i int) ReplayKey {
	return NewReplayKey([]byte("sip:alice@example.org"), &T{TSType: TSCOUNTER, Value: uint64(i)})
}

func TestReplayKeyFields(t *testing.T) {
	ts := &T{TSType: TSNTPUTC, Value: 1}
	base := NewReplayKey([]byte("ab"), ts, []byte("c"))
	for name, k := range map[string]ReplayKey{
		"identity/RAND split": NewReplayKey([]byte("a"), ts, []byte("bc")),
		"RAND split":          NewReplayKey([]byte("ab"), ts, []byte(""), []byte("c")),
		"TS type":             NewReplayKey([]byte("ab"), &T{TSType: TSNTP, Value: 1}, []byte("c")),
		"TS value":            NewReplayKey([]byte("ab"), &T{TSType: TSNTPUTC, Value: 2}, []byte("c")),
		"no T":                NewReplayKey([]byte("ab"), nil, []byte("c")),
		"identity":            NewReplayKey([]byte("aB"), ts, []byte("c")),
	} {
		if k == base {
			t.Errorf("%s: same key as the base message", name)
		}
	}
	if NewReplayKey([]byte("ab"), &T{TSType: TSNTPUTC, Value: 1}, []byte("c")) != base {
		t.Error("same fields gave a different key")
	}
}

func TestMemoryReplayCacheReplayAndExpiry(t *testing.T) {
	ctx := context.Background()
	c, clk := newCache(t, 10)
	if err := c.Remember(ctx, key(1), freshNow.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	err := c.Remember(ctx, key(1), freshNow.Add(time.Minute))
	wantErrNo(t, err, ErrInvalidTS)
	if !errors.Is(err, ErrReplay) {
		t.Fatalf("second Remember: %v, want ErrReplay", err)
	}
	if err := c.Remember(ctx, key(2), freshNow.Add(time.Minute)); err != nil {
		t.Fatalf("other key: %v", err)
	}
	clk.Advance(time.Minute - time.Nanosecond)
	if !errors.Is(c.Remember(ctx, key(1), freshNow.Add(time.Minute)), ErrReplay) {
		t.Fatal("entry forgotten before its expiry")
	}
	clk.Advance(time.Nanosecond)
	if c.Len() != 0 {
		t.Fatalf("Len after expiry = %d", c.Len())
	}
	// An expiry already in the past is not remembered (Window.Check refuses such a T anyway).
	if err := c.Remember(ctx, key(3), clk.Now()); err != nil || c.Len() != 0 {
		t.Fatalf("past expiry: %v, Len %d", err, c.Len())
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.Remember(cctx, key(4), clk.Now().Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestMemoryReplayCacheBound(t *testing.T) {
	ctx := context.Background()
	c, clk := newCache(t, 3)
	for i := 1; i <= 3; i++ {
		if err := c.Remember(ctx, key(i), freshNow.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	// Full, and the newcomer expires before every remembered message: refused, nothing dropped.
	err := c.Remember(ctx, key(9), freshNow.Add(30*time.Second))
	if !errors.Is(err, ErrReplayCacheFull) {
		t.Fatalf("short-lived newcomer: %v", err)
	}
	wantErrNo(t, err, ErrInvalidTS)
	// A longer-lived newcomer pushes out key 1 (expiry +1m), which becomes the floor.
	if err := c.Remember(ctx, key(4), freshNow.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
	// Key 1 is forgotten, but a message expiring by the floor cannot be judged: refused.
	if err := c.Remember(ctx, key(1), freshNow.Add(time.Minute)); !errors.Is(err, ErrReplayCacheFull) {
		t.Fatalf("replay of the dropped message: %v, want ErrReplayCacheFull", err)
	}
	if !errors.Is(c.Remember(ctx, key(2), freshNow.Add(2*time.Minute)), ErrReplay) {
		t.Fatal("key 2 not remembered")
	}
	// Once the floor has passed, the window alone protects: old messages leave it first.
	clk.Advance(time.Minute)
	if err := c.Remember(ctx, key(5), freshNow.Add(5*time.Minute)); err != nil {
		t.Fatalf("after the floor passed: %v", err)
	}
	if _, err := NewMemoryReplayCache(0, clk.Now); err == nil {
		t.Error("capacity 0 accepted")
	}
	if _, err := NewMemoryReplayCache(1, nil); err == nil {
		t.Error("nil clock accepted")
	}
}

// TestMemoryReplayCacheModel runs random operations against a simple model. A key has one expiry,
// as with clock timestamps, where the key includes T and the expiry is T+skew. Safety property: a
// key accepted and not yet expired is never accepted again; a refusal for a key the model does not
// hold is allowed only as ErrReplayCacheFull; without pressure (model size < capacity) no fresh
// key is refused.
func TestMemoryReplayCacheModel(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 20; round++ {
		capacity := 1 + rng.Intn(8)
		c, clk := newCache(t, capacity)
		model := map[int]time.Time{} // accepted key -> expiry
		expiry := make([]time.Time, 20)
		for k := range expiry {
			expiry[k] = freshNow.Add(time.Duration(rng.Intn(600)) * time.Second)
		}
		for op := 0; op < 500; op++ {
			now := clk.Now()
			for k, e := range model {
				if !e.After(now) {
					delete(model, k)
				}
			}
			k := rng.Intn(20)
			exp := expiry[k]
			err := c.Remember(ctx, key(k), exp)
			_, held := model[k]
			switch {
			case err == nil:
				if held {
					t.Fatalf("round %d op %d: key %d accepted twice within its window", round, op, k)
				}
				if exp.After(now) {
					model[k] = exp
				}
			case errors.Is(err, ErrReplay):
				if !held {
					t.Fatalf("round %d op %d: key %d called a replay but never accepted", round, op, k)
				}
			case errors.Is(err, ErrReplayCacheFull):
				if len(model) < capacity && !held {
					// Pressure in the past can leave a floor; only a key at or before it may be refused.
					if c.floor.IsZero() || exp.After(c.floor) {
						t.Fatalf("round %d op %d: key %d refused as full with %d/%d entries", round, op, k, len(model), capacity)
					}
				}
			default:
				t.Fatalf("round %d op %d: %v", round, op, err)
			}
			if c.Len() > capacity {
				t.Fatalf("Len %d exceeds capacity %d", c.Len(), capacity)
			}
			clk.Advance(time.Duration(rng.Intn(4)) * time.Second)
		}
	}
}

func TestMemoryReplayCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	c, _ := newCache(t, 1000)
	var accepted atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if c.Remember(ctx, key(i), freshNow.Add(time.Hour)) == nil {
					accepted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if accepted.Load() != 100 {
		t.Fatalf("%d first sightings accepted across 8 goroutines, want exactly 100", accepted.Load())
	}
}

func TestCheckReplay(t *testing.T) {
	ctx := context.Background()
	c, clk := newCache(t, 16)
	w := Window{Skew: time.Minute}
	ts := mustT(t, TSNTPUTC, freshNow)
	id, randRi := []byte("sip:alice@example.org"), []byte("0123456789abcdef")
	if err := CheckReplay(ctx, c, w, clk.Now(), id, ts, randRi); err != nil {
		t.Fatal(err)
	}
	err := CheckReplay(ctx, c, w, clk.Now(), id, ts, randRi)
	wantErrNo(t, err, ErrInvalidTS)
	if !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	// Same T and RAND from another identity is another message.
	if err := CheckReplay(ctx, c, w, clk.Now(), []byte("sip:bob@example.org"), ts, randRi); err != nil {
		t.Fatal(err)
	}
	// After the window: the cache forgot it, and the window refuses it.
	clk.Advance(time.Minute + time.Second)
	err = CheckReplay(ctx, c, w, clk.Now(), id, ts, randRi)
	wantErrNo(t, err, ErrInvalidTS)
	if errors.Is(err, ErrReplay) || c.Len() != 0 {
		t.Fatalf("stale message: %v (Len %d), want a window refusal", err, c.Len())
	}
}

func BenchmarkMemoryReplayCache(b *testing.B) {
	ctx := context.Background()
	c, _ := newCache(b, 4096)
	keys := make([]ReplayKey, 8192)
	for i := range keys {
		keys[i] = key(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = c.Remember(ctx, keys[i%len(keys)], freshNow.Add(time.Duration(i)*time.Millisecond+time.Hour))
	}
}

// failingCache stands in for a persistent store that is down.
type failingCache struct{ err error }

func (f failingCache) Remember(context.Context, ReplayKey, time.Time) error { return f.err }

func TestCheckReplayErrors(t *testing.T) {
	ctx := context.Background()
	ts := mustT(t, TSNTPUTC, freshNow)
	down := errors.New("store down")
	err := CheckReplay(ctx, failingCache{down}, Window{}, freshNow, nil, ts)
	var pe *ProtocolError
	if !errors.Is(err, down) || errors.As(err, &pe) {
		t.Fatalf("store failure: %v", err)
	}
	c, _ := newCache(t, 2)
	_ = CheckReplay(ctx, c, Window{}, freshNow, nil, ts)
	err = CheckReplay(ctx, c, Window{}, freshNow, nil, ts)
	if pe, ok := err.(*ProtocolError); !ok || pe.ErrNo != ErrInvalidTS {
		t.Fatalf("replay is not a bare *ProtocolError: %T %v", err, err)
	}
}

// A KMS verifying REQUEST_INIT_PSK with the Freshness hook: the first copy passes, the replay and a
// stale message are refused with Invalid TS.
func TestFreshnessHookWithRequestInit(t *testing.T) {
	ctx := context.Background()
	psk := seqBytes(0, 32)
	cache, clk := newCache(t, 64)
	hook := Window{Skew: time.Minute}.Freshness(ctx, cache, clk.Now)
	build := func(at time.Time) *Message {
		t.Helper()
		m, _, err := BuildRequestInitPSK(RequestInitParams{PRF: PRFHMACSHA256, CSBID: 1, T: mustT(t, TSNTPUTC, at),
			RANDRi: seqBytes(0x10, 16), IDRpsk: &IDR{Role: IDRolePSK, Type: IDTypeNAI, Data: []byte("btid@bsf.example.org")},
			TP: &TP{PRF: PRFHMACSHA256, Flags: FlagD | FlagE | FlagF | FlagG | FlagH,
				Data: []Payload{&IDR{Role: IDRoleR, Type: IDTypeURI, Data: []byte("sip:bob@example.org")}}},
			MACAlg: MACHMACSHA256256}, psk)
		if err != nil {
			t.Fatal(err)
		}
		pm, err := ParseMessage(m.Raw)
		if err != nil {
			t.Fatal(err)
		}
		return pm
	}
	m := build(clk.Now())
	if _, err := VerifyRequestInitPSK(m, psk, hook); err != nil {
		t.Fatal(err)
	}
	_, err := VerifyRequestInitPSK(m, psk, hook)
	wantErrNo(t, err, ErrInvalidTS)
	if !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	_, err = VerifyRequestInitPSK(build(clk.Now().Add(-2*time.Minute)), psk, hook)
	wantErrNo(t, err, ErrInvalidTS)
	if errors.Is(err, ErrReplay) {
		t.Fatalf("stale message refused as a replay, want a window refusal: %v", err)
	}
}
