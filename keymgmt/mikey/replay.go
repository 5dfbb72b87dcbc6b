package mikey

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Replay cache of RFC 3830 §5.4 and RFC 6043 §12.4: every successfully authenticated message is
// remembered while its T lies inside the receiver's clock-skew window (Window.Check gives the
// expiry), and a message already remembered is a replay and is discarded. Only authenticated
// messages go in, so the cache cannot be filled by someone who holds no key.

// ErrReplay is the cause of a replayed message; the error is a *ProtocolError with ErrInvalidTS.
var ErrReplay = errors.New("mikey: replayed message")

// ErrReplayCacheFull is the cause when a bounded cache had to forget an unexpired message and so
// cannot tell whether an older message is a replay (RFC 3830 §5.4: a host that "loses track" rejects
// until the skew interval has passed). Also a *ProtocolError with ErrInvalidTS.
var ErrReplayCacheFull = errors.New("mikey: replay cache overflowed, message too old to be checked")

// ReplayKey names one message in a replay cache: a SHA-256 digest over the authenticated peer
// identity and the message identity (T, RAND/RANDRi/RANDRr). Its fixed size suits persistent
// stores; its inputs are not secret.
type ReplayKey [sha256.Size]byte

// NewReplayKey derives the key of a message from identity (the ID Data of the authenticated sender,
// e.g. IDRi, IDRr or the IDRpsk B-TID), its T and its RANDs in message order (RAND, RANDRi, RANDRr).
// Every field is length-prefixed, so different splits of the same bytes give different keys.
func NewReplayKey(identity []byte, t *T, rands ...[]byte) ReplayKey {
	h := sha256.New()
	var n [8]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint32(n[:4], uint32(len(b)))
		h.Write(n[:4])
		h.Write(b)
	}
	h.Write([]byte("imsphone mikey replay key v1"))
	put(identity)
	if t != nil {
		h.Write([]byte{1, byte(t.TSType)})
		binary.BigEndian.PutUint64(n[:], t.Value)
		h.Write(n[:])
	} else {
		h.Write([]byte{0})
	}
	binary.BigEndian.PutUint32(n[:4], uint32(len(rands)))
	h.Write(n[:4])
	for _, r := range rands {
		put(r)
	}
	var k ReplayKey
	h.Sum(k[:0])
	return k
}

// ReplayCache remembers authenticated messages until they leave the timestamp window. The KMS
// backs it with its persistent store; MemoryReplayCache is the in-process implementation.
// Implementations are safe for concurrent use.
type ReplayCache interface {
	// Remember records key until expires. If key is already recorded and not expired it returns a
	// *ProtocolError{ErrNo: ErrInvalidTS} wrapping ErrReplay (or ErrReplayCacheFull when the cache
	// cannot tell); any other error is a failure of the cache itself.
	Remember(ctx context.Context, key ReplayKey, expires time.Time) error
}

// CheckReplay is the receiver's step after MAC verification: it tests T against w at now and then
// records the message in c. A stale T or a replay is a *ProtocolError with ErrInvalidTS.
func CheckReplay(ctx context.Context, c ReplayCache, w Window, now time.Time, identity []byte, t *T, rands ...[]byte) error {
	exp, err := w.Check(t, now)
	if err != nil {
		return err
	}
	err = c.Remember(ctx, NewReplayKey(identity, t, rands...), exp)
	var pe *ProtocolError
	if err == nil || errors.As(err, &pe) {
		// A replay is returned as the cache gave it: a bare *ProtocolError for the Error reply.
		return err
	}
	return fmt.Errorf("mikey: replay cache: %w", err)
}

// Freshness returns the hook the exchange verifiers take (exchange.go): after a message's MAC has
// verified, its T is checked against w at now() and the message is recorded in c.
func (w Window) Freshness(ctx context.Context, c ReplayCache, now func() time.Time) Freshness {
	return func(t *T, identity []byte, rands ...[]byte) error {
		return CheckReplay(ctx, c, w, now(), identity, t, rands...)
	}
}

// MemoryReplayCache is a bounded in-memory ReplayCache. When it is full it first drops expired
// entries, then the entry that expires soonest; it then remembers that expiry as a floor and refuses
// every message that would expire at or before it (ErrReplayCacheFull): such a message is as old as
// a forgotten one and could be its replay. This is the RFC 3830 §5.4 rule ("rejects all incoming
// requests until the clock skew interval has passed") narrowed to the messages it can no longer
// judge, which in effect shrinks the window while the cache is under pressure.
type MemoryReplayCache struct {
	now func() time.Time
	max int

	mu    sync.Mutex
	byKey map[ReplayKey]*replayEntry
	exp   replayHeap // ordered by expiry
	floor time.Time  // latest expiry of an entry dropped before it expired
}

type replayEntry struct {
	key     ReplayKey
	expires time.Time
	idx     int
}

// NewMemoryReplayCache returns a cache for at most capacity messages, with now as its clock.
func NewMemoryReplayCache(capacity int, now func() time.Time) (*MemoryReplayCache, error) {
	if capacity < 1 {
		return nil, fmt.Errorf("mikey: replay cache capacity %d, want at least 1", capacity)
	}
	if now == nil {
		return nil, errors.New("mikey: replay cache needs a clock")
	}
	return &MemoryReplayCache{now: now, max: capacity, byKey: make(map[ReplayKey]*replayEntry)}, nil
}

// Remember implements ReplayCache.
func (c *MemoryReplayCache) Remember(ctx context.Context, key ReplayKey, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if e, ok := c.byKey[key]; ok {
		if expires.After(e.expires) {
			e.expires = expires
			heap.Fix(&c.exp, e.idx)
		}
		return &ProtocolError{ErrNo: ErrInvalidTS, Err: ErrReplay}
	}
	if !expires.After(now) {
		// Already out of the window: nothing to remember, and Window.Check refuses a replay of it.
		return nil
	}
	if !c.floor.IsZero() && !expires.After(c.floor) {
		return &ProtocolError{ErrNo: ErrInvalidTS, Err: ErrReplayCacheFull}
	}
	if len(c.exp) >= c.max {
		if !expires.After(c.exp[0].expires) {
			// Keeping this message would cost a longer-lived one. Refusing it unprocessed is safe: it
			// was never accepted, so no later copy can be a replay of an accepted message.
			return &ProtocolError{ErrNo: ErrInvalidTS, Err: ErrReplayCacheFull}
		}
		// The heap minimum is never below floor: floor is raised only to popped minima.
		old := heap.Pop(&c.exp).(*replayEntry)
		delete(c.byKey, old.key)
		c.floor = old.expires
	}
	e := &replayEntry{key: key, expires: expires}
	heap.Push(&c.exp, e)
	c.byKey[key] = e
	return nil
}

// Len returns the number of unexpired messages remembered.
func (c *MemoryReplayCache) Len() int {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	return len(c.exp)
}

// expire drops the entries whose expiry is not after now. Caller holds mu.
func (c *MemoryReplayCache) expire(now time.Time) {
	for len(c.exp) > 0 && !c.exp[0].expires.After(now) {
		e := heap.Pop(&c.exp).(*replayEntry)
		delete(c.byKey, e.key)
	}
	if !c.floor.IsZero() && !c.floor.After(now) {
		c.floor = time.Time{}
	}
}

type replayHeap []*replayEntry

func (h replayHeap) Len() int           { return len(h) }
func (h replayHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h replayHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *replayHeap) Push(x any) {
	e := x.(*replayEntry)
	e.idx = len(*h)
	*h = append(*h, e)
}
func (h *replayHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
