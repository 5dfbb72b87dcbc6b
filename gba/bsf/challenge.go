package bsf

import (
	"sync"
	"time"

	"github.com/imsphone/imsphone/gba"
)

// challenge is an outstanding Ub challenge (TS 33.220 §4.5.2 step 3, TS 24.109 §4.4), keyed by its nonce
// base64(RAND‖AUTN). A nonce is good for one successful answer; it expires, and after
// maxFailures wrong answers it is dropped.
type challenge struct {
	impi     string
	av       gba.AuthVector
	opaque   string
	expires  time.Time
	failures int
}

// challenges holds outstanding challenges, bounded in number so a flood of initial requests
// cannot exhaust memory. Expired entries stay for one more nonce lifetime, so that a late but
// correct answer can be told "stale" (RFC 2617 §3.2.1) rather than refused.
type challenges struct {
	mu       sync.Mutex
	m        map[string]*challenge
	max      int
	lifetime time.Duration
}

func newChallenges(max int, lifetime time.Duration) *challenges {
	return &challenges{m: make(map[string]*challenge), max: max, lifetime: lifetime}
}

// put stores a new challenge; it reports false if the table is full even after dropping
// entries past their grace period.
func (c *challenges) put(nonce string, ch *challenge, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for n, old := range c.m {
			if now.After(old.expires.Add(c.lifetime)) {
				delete(c.m, n)
			}
		}
		if len(c.m) >= c.max {
			return false
		}
	}
	c.m[nonce] = ch
	return true
}

// get returns a copy of the challenge for nonce, if held.
func (c *challenges) get(nonce string) (challenge, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.m[nonce]
	if !ok {
		return challenge{}, false
	}
	return *ch, true
}

// consume removes the challenge; only the caller that removed it may act on it, so a nonce is
// single-use even under concurrent answers.
func (c *challenges) consume(nonce string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[nonce]; !ok {
		return false
	}
	delete(c.m, nonce)
	return true
}

// fail counts a wrong answer and drops the challenge at maxFailures. It reports whether the
// challenge is gone.
func (c *challenges) fail(nonce string, maxFailures int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.m[nonce]
	if !ok {
		return true
	}
	ch.failures++
	if ch.failures >= maxFailures {
		delete(c.m, nonce)
		return true
	}
	return false
}

func (c *challenges) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
