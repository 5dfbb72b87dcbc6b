package gba

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakeBootstrapper hands out bootstraps with RAND = n,n,…,n and Ks = 32×n for the n-th run.
type fakeBootstrapper struct {
	clock    *fakeClock
	lifetime time.Duration
	calls    atomic.Int32
	gate     chan struct{} // if non-nil, each run waits for a value
	err      error
	mu       sync.Mutex
	issued   []*Bootstrap
}

func (f *fakeBootstrapper) Bootstrap(ctx context.Context) (*Bootstrap, error) {
	n := byte(f.calls.Add(1))
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	rand := bytes.Repeat([]byte{n}, 16)
	b := &Bootstrap{BTID: BTID(rand, "bsf.home1.net"), RAND: rand, Ks: bytes.Repeat([]byte{n}, 32),
		Lifetime: f.clock.Now().Add(f.lifetime), IMPI: chainIMPI}
	f.mu.Lock()
	f.issued = append(f.issued, b)
	f.mu.Unlock()
	return b, nil
}

func newNAFKeysFixture(t *testing.T, margin time.Duration) (*NAFKeys, *fakeBootstrapper, *fakeClock) {
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	fb := &fakeBootstrapper{clock: clk, lifetime: time.Hour}
	n, err := NewNAFKeys(NAFKeysConfig{Bootstrapper: fb, Clock: clk.Now, Margin: margin})
	if err != nil {
		t.Fatal(err)
	}
	return n, fb, clk
}

func TestNAFKeysCacheAndExpiry(t *testing.T) {
	n, fb, clk := newNAFKeysFixture(t, time.Minute)
	ctx := context.Background()
	var provider func(context.Context, string) (string, []byte, error) = n.Key // the KMS client's key provider shape
	btid, key, err := provider(ctx, "kms.home1.net")
	if err != nil {
		t.Fatal(err)
	}
	rand1 := bytes.Repeat([]byte{1}, 16)
	want := DeriveKsNAF(bytes.Repeat([]byte{1}, 32), rand1, chainIMPI, NAFID{FQDN: "kms.home1.net", UaSecProtID: UaSecProtIDKMS()})
	if btid != BTID(rand1, "bsf.home1.net") || !bytes.Equal(key, want) {
		t.Fatalf("Key = %s %x", btid, key)
	}
	key[0] ^= 0xff // the caller's copy: the cache must not change
	btid2, key2, _ := n.Key(ctx, "kms.home1.net")
	if btid2 != btid || !bytes.Equal(key2, want) || fb.calls.Load() != 1 {
		t.Fatalf("second Key: %s %x, %d bootstraps", btid2, key2, fb.calls.Load())
	}
	// another NAF, same bootstrap
	k3, err := n.KeyFor(ctx, NAFID{FQDN: "xcap.home1.net", UaSecProtID: UaSecProtIDHTTPDigest()})
	if err != nil || k3.BTID != btid || bytes.Equal(k3.Key, want) || fb.calls.Load() != 1 {
		t.Fatalf("other NAF: %v %v", k3, err)
	}
	if s := fmt.Sprint(k3); strings.Contains(s, fmt.Sprintf("%x", k3.Key)) {
		t.Fatalf("NAFKey leaks: %s", s)
	}
	// within Margin of the lifetime: re-bootstrap; the old Ks is wiped
	clk.Add(59*time.Minute + time.Second)
	btid4, _, err := n.Key(ctx, "kms.home1.net")
	if err != nil || btid4 == btid || fb.calls.Load() != 2 {
		t.Fatalf("after expiry: %s %v, %d bootstraps", btid4, err, fb.calls.Load())
	}
	if !bytes.Equal(fb.issued[0].Ks, make([]byte, 32)) {
		t.Error("old Ks not wiped")
	}
	if b, lt, ok := n.Current(); !ok || b != btid4 || !lt.Equal(clk.Now().Add(time.Hour)) {
		t.Errorf("Current = %s %v %v", b, lt, ok)
	}
}

func TestNAFKeysInvalidate(t *testing.T) {
	n, fb, _ := newNAFKeysFixture(t, 0)
	ctx := context.Background()
	btid, _, _ := n.Key(ctx, "kms.home1.net")
	n.Invalidate("someone-else@bsf.home1.net")
	if b, _, _ := n.Key(ctx, "kms.home1.net"); b != btid || fb.calls.Load() != 1 {
		t.Fatal("Invalidate of another B-TID dropped the bootstrap")
	}
	n.Invalidate(btid)
	if _, _, ok := n.Current(); ok {
		t.Fatal("still current after Invalidate")
	}
	if b, _, _ := n.Key(ctx, "kms.home1.net"); b == btid || fb.calls.Load() != 2 {
		t.Fatal("no re-bootstrap after Invalidate")
	}
	if !bytes.Equal(fb.issued[0].Ks, make([]byte, 32)) {
		t.Error("invalidated Ks not wiped")
	}
}

func TestNAFKeysSingleFlight(t *testing.T) {
	n, fb, _ := newNAFKeysFixture(t, 0)
	fb.gate = make(chan struct{})
	const callers = 50
	var wg sync.WaitGroup
	btids := make(chan string, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, _, err := n.Key(context.Background(), "kms.home1.net")
			if err != nil {
				t.Error(err)
			}
			btids <- b
		}()
	}
	// a caller that gives up does not cancel the shared run
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := n.Key(ctx, "kms.home1.net"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	fb.gate <- struct{}{}
	wg.Wait()
	close(btids)
	for b := range btids {
		if b != BTID(bytes.Repeat([]byte{1}, 16), "bsf.home1.net") {
			t.Fatalf("B-TID %s", b)
		}
	}
	if c := fb.calls.Load(); c != 1 {
		t.Fatalf("%d bootstraps for %d concurrent callers", c, callers)
	}
}

func TestNAFKeysErrorsAndClose(t *testing.T) {
	n, fb, _ := newNAFKeysFixture(t, 0)
	fb.err = errors.New("BSF down")
	if _, _, err := n.Key(context.Background(), "kms.home1.net"); err == nil || !strings.Contains(err.Error(), "BSF down") {
		t.Fatalf("error: %v", err)
	}
	fb.err = nil
	if _, _, err := n.Key(context.Background(), "kms.home1.net"); err != nil || fb.calls.Load() != 2 {
		t.Fatalf("retry: %v, %d calls", err, fb.calls.Load())
	}
	n.Close()
	if !bytes.Equal(fb.issued[0].Ks, make([]byte, 32)) {
		t.Error("Close left Ks")
	}
	if _, _, err := n.Key(context.Background(), "kms.home1.net"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := NewNAFKeys(NAFKeysConfig{}); err == nil {
		t.Error("no Bootstrapper accepted")
	}
}

// A Margin longer than the lifetime must not loop: a bootstrap just made is used.
func TestNAFKeysMarginLongerThanLifetime(t *testing.T) {
	n, fb, _ := newNAFKeysFixture(t, 2*time.Hour)
	if _, _, err := n.Key(context.Background(), "kms.home1.net"); err != nil || fb.calls.Load() != 1 {
		t.Fatalf("%v, %d calls", err, fb.calls.Load())
	}
	fb.lifetime = 0 // already expired on arrival
	n.Close()
	n2, _ := NewNAFKeys(NAFKeysConfig{Bootstrapper: fb, Clock: fb.clock.Now})
	if _, _, err := n2.Key(context.Background(), "kms.home1.net"); err == nil || !strings.Contains(err.Error(), "already expired") {
		t.Fatalf("expired bootstrap: %v", err)
	}
}

// NAFKeys over the real Ub client and the loopback test BSF.
func TestNAFKeysOverUb(t *testing.T) {
	f := newUbFixture(t)
	n, _ := NewNAFKeys(NAFKeysConfig{Bootstrapper: f.client, Clock: f.bsf.now})
	btid, key, err := n.Key(context.Background(), "kms.home1.net")
	if err != nil {
		t.Fatal(err)
	}
	rand := bytes.Repeat([]byte{1}, 16)
	_, ck, ik, _, _ := f.bsf.m.F2345(rand)
	if btid != BTID(rand, "bsf.home1.net") || !bytes.Equal(key, DeriveKsNAF(append(ck, ik...), rand, chainIMPI, NAFID{"kms.home1.net", UaSecProtIDKMS()})) {
		t.Fatal("key differs from the BSF's Ks_NAF")
	}
	n.Invalidate(btid)
	btid2, _, err := n.Key(context.Background(), "kms.home1.net")
	if err != nil || btid2 == btid {
		t.Fatalf("after Invalidate: %s %v", btid2, err)
	}
}
