package zn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imsphone/imsphone/gba"
)

type fakeResolver struct {
	calls  atomic.Int64
	expiry time.Time
	err    error
}

func (f *fakeResolver) Resolve(_ context.Context, btid string, naf gba.NAFID) (*NAFKey, error) {
	f.calls.Add(1)
	if f.err != nil {
		return nil, f.err
	}
	return &NAFKey{Key: bytes.Repeat([]byte{byte(len(btid) + int(naf.UaSecProtID[4]))}, 32), Expiry: f.expiry, IMPI: btid}, nil
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestCacheKeepsUntilExpiry(t *testing.T) {
	clk := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	f := &fakeResolver{expiry: clk.Now().Add(time.Hour)}
	c := NewCache(f, CacheConfig{Now: clk.Now, Margin: time.Minute})
	ctx := context.Background()
	k1, err := c.Resolve(ctx, "a@b", kmsNAF)
	if err != nil {
		t.Fatal(err)
	}
	k1.Key[0] ^= 0xff // the caller's copy; the cached key must not change
	k2, _ := c.Resolve(ctx, "a@b", kmsNAF)
	if f.calls.Load() != 1 || k2.Key[0] == k1.Key[0] {
		t.Fatalf("calls %d, cached key changed by the caller: %v", f.calls.Load(), k2.Key[0] == k1.Key[0])
	}
	other := kmsNAF
	other.UaSecProtID[4] = 2
	if _, err := c.Resolve(ctx, "a@b", other); err != nil || f.calls.Load() != 2 {
		t.Fatalf("another NAF_Id must not share the entry: calls %d", f.calls.Load())
	}
	clk.Add(58 * time.Minute)
	_, _ = c.Resolve(ctx, "a@b", kmsNAF)
	if f.calls.Load() != 2 {
		t.Fatalf("refetched before expiry-margin: calls %d", f.calls.Load())
	}
	clk.Add(time.Minute) // now inside the margin
	f.expiry = clk.Now().Add(time.Hour)
	_, _ = c.Resolve(ctx, "a@b", kmsNAF)
	if f.calls.Load() != 3 {
		t.Fatalf("not refetched inside the margin: calls %d", f.calls.Load())
	}
	c.Forget("a@b")
	if c.Len() != 0 {
		t.Fatalf("Forget left %d entries", c.Len())
	}
}

func TestCacheDoesNotKeepErrors(t *testing.T) {
	f := &fakeResolver{err: &ProblemError{Status: 404}}
	c := NewCache(f, CacheConfig{})
	for i := 0; i < 2; i++ {
		if _, err := c.Resolve(context.Background(), "a@b", kmsNAF); !errors.Is(err, ErrUnknownBTID) {
			t.Fatal(err)
		}
	}
	if f.calls.Load() != 2 || c.Len() != 0 {
		t.Fatalf("calls %d len %d", f.calls.Load(), c.Len())
	}
}

func TestCacheBounded(t *testing.T) {
	clk := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	f := &fakeResolver{expiry: clk.Now().Add(time.Hour)}
	c := NewCache(f, CacheConfig{Now: clk.Now, MaxEntries: 3})
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		_, _ = c.Resolve(ctx, fmt.Sprintf("b%d@b", i), kmsNAF)
	}
	if c.Len() != 3 {
		t.Fatalf("len %d", c.Len())
	}
	_, _ = c.Resolve(ctx, "b4@b", kmsNAF) // most recent: still cached
	if f.calls.Load() != 5 {
		t.Fatalf("calls %d", f.calls.Load())
	}
	_, _ = c.Resolve(ctx, "b0@b", kmsNAF) // evicted first
	if f.calls.Load() != 6 {
		t.Fatalf("calls %d", f.calls.Load())
	}
}

func TestCacheConcurrent(t *testing.T) {
	clk := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	f := &fakeResolver{expiry: clk.Now().Add(time.Hour)}
	c := NewCache(f, CacheConfig{Now: clk.Now, MaxEntries: 8})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				k, err := c.Resolve(context.Background(), fmt.Sprintf("b%d@b", i%12), kmsNAF)
				if err != nil || len(k.Key) != 32 {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					c.Forget("b1@b")
					clk.Add(time.Second)
				}
			}
		}()
	}
	wg.Wait()
	if c.Len() > 8 {
		t.Fatalf("len %d", c.Len())
	}
}
