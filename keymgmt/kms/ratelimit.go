package kms

import (
	"sync"
	"time"
)

// limiter is a token bucket per key (an identity or a source address), for the abuse resistance
// of issue 5 §7. The number of buckets is bounded: when full, buckets that have refilled
// completely (they carry no information) are dropped, and if none has, the request is refused,
// so a flood of fresh keys cannot grow memory without bound.
type limiter struct {
	rate  float64 // tokens per second
	burst float64
	max   int
	mu    sync.Mutex
	b     map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst, max int) *limiter {
	if rate <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return &limiter{rate: rate, burst: float64(burst), max: max, b: make(map[string]*bucket)}
}

// allow takes one token for key at now; it returns false and the wait until the next token when
// the bucket is empty. A nil limiter allows everything.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	bk, ok := l.b[key]
	if !ok {
		if len(l.b) >= l.max {
			l.sweep(now)
			if len(l.b) >= l.max {
				return false, time.Second
			}
		}
		bk = &bucket{tokens: l.burst, last: now}
		l.b[key] = bk
	}
	if d := now.Sub(bk.last); d > 0 {
		bk.tokens = min(l.burst, bk.tokens+d.Seconds()*l.rate)
		bk.last = now
	}
	if bk.tokens < 1 {
		return false, time.Duration((1 - bk.tokens) / l.rate * float64(time.Second))
	}
	bk.tokens--
	return true, 0
}

func (l *limiter) sweep(now time.Time) {
	for k, bk := range l.b {
		if bk.tokens+now.Sub(bk.last).Seconds()*l.rate >= l.burst {
			delete(l.b, k)
		}
	}
}
