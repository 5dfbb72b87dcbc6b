package zn

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/imsphone/imsphone/gba"
)

// CacheConfig configures a Cache.
type CacheConfig struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MaxEntries bounds the cache; the least recently used entry goes first (default 4096).
	MaxEntries int
	// Margin drops a key this long before its expiry, so a NAF never hands out a key that expires
	// while the exchange it protects is still under way (default 0).
	Margin time.Duration
}

// Cache is a Resolver that keeps keys from another Resolver until they expire (TS 33.220 §4.5.3:
// the NAF may keep Ks_NAF for the key lifetime it received). It is safe for concurrent use. Errors,
// ErrUnknownBTID included, are not cached.
type Cache struct {
	next   Resolver
	now    func() time.Time
	max    int
	margin time.Duration

	mu    sync.Mutex
	lru   *list.List // of *cacheEntry, most recent first
	index map[string]*list.Element
}

type cacheEntry struct {
	id  string
	key *NAFKey
}

// NewCache wraps next.
func NewCache(next Resolver, cfg CacheConfig) *Cache {
	c := &Cache{next: next, now: cfg.Now, max: cfg.MaxEntries, margin: cfg.Margin,
		lru: list.New(), index: make(map[string]*list.Element)}
	if c.now == nil {
		c.now = time.Now
	}
	if c.max <= 0 {
		c.max = 4096
	}
	return c
}

// cacheID is the lookup key: the same B-TID gives a different Ks_NAF per NAF_Id.
func cacheID(btid string, naf gba.NAFID) string {
	return btid + "\x00" + string(naf.Bytes())
}

// Resolve returns a cached key that has not expired, or asks the wrapped Resolver.
func (c *Cache) Resolve(ctx context.Context, btid string, nafID gba.NAFID) (*NAFKey, error) {
	id := cacheID(btid, nafID)
	now := c.now()
	c.mu.Lock()
	if el, ok := c.index[id]; ok {
		e := el.Value.(*cacheEntry)
		if now.Before(e.key.Expiry.Add(-c.margin)) {
			c.lru.MoveToFront(el)
			k := e.key.clone()
			c.mu.Unlock()
			return k, nil
		}
		c.lru.Remove(el)
		delete(c.index, id)
	}
	c.mu.Unlock()

	k, err := c.next.Resolve(ctx, btid, nafID)
	if err != nil {
		return nil, err
	}
	if !c.now().Before(k.Expiry.Add(-c.margin)) {
		// Already (nearly) expired on arrival: usable once, not worth keeping.
		return k, nil
	}
	stored := k.clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.index[id]; ok {
		el.Value.(*cacheEntry).key = stored
		c.lru.MoveToFront(el)
		return k, nil
	}
	c.index[id] = c.lru.PushFront(&cacheEntry{id: id, key: stored})
	for c.lru.Len() > c.max {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.index, old.Value.(*cacheEntry).id)
	}
	return k, nil
}

// Forget drops every cached key of a B-TID, e.g. when the UE shows a new one or a peer reports the
// key as stale.
func (c *Cache) Forget(btid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prefix := btid + "\x00"
	for id, el := range c.index {
		if len(id) >= len(prefix) && id[:len(prefix)] == prefix {
			c.lru.Remove(el)
			delete(c.index, id)
		}
	}
}

// Len is the number of entries held, expired ones included until they are next looked up.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
