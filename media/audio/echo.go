package audio

import (
	"io"
	"sync"
)

// Echo is a Sink and a Source at once: what is written comes back out of Read, in order, through
// a bounded queue. When the queue is full the oldest samples are dropped (counted in Dropped), so
// a stalled reader costs at most the queue's length of delay. When the queue is empty Read gives
// silence, as a live source must. After Close, Read drains the queue and then returns io.EOF.
// Echo is safe for one writer and one reader in different goroutines.
type Echo struct {
	mu      sync.Mutex
	buf     []int16
	head, n int
	closed  bool
	dropped uint64
}

// NewEcho returns an Echo holding at most capacity samples (at least 1).
func NewEcho(capacity int) *Echo { return &Echo{buf: make([]int16, max(capacity, 1))} }

// Write implements Sink.
func (e *Echo) Write(pcm []int16) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return io.ErrClosedPipe
	}
	c := len(e.buf)
	if len(pcm) > c {
		e.dropped += uint64(len(pcm) - c)
		pcm = pcm[len(pcm)-c:]
	}
	if over := e.n + len(pcm) - c; over > 0 {
		e.head = (e.head + over) % c
		e.n -= over
		e.dropped += uint64(over)
	}
	tail := (e.head + e.n) % c
	k := copy(e.buf[tail:], pcm)
	copy(e.buf, pcm[k:])
	e.n += len(pcm)
	return nil
}

// Read implements Source.
func (e *Echo) Read(pcm []int16) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := len(e.buf)
	m := min(len(pcm), e.n)
	k := copy(pcm[:m], e.buf[e.head:min(e.head+m, c)])
	copy(pcm[k:m], e.buf)
	e.head = (e.head + m) % c
	e.n -= m
	if e.closed {
		if m == 0 {
			return 0, io.EOF
		}
		return m, nil
	}
	clear(pcm[m:])
	return len(pcm), nil
}

// Close implements Sink: no more writes; Read returns io.EOF once drained.
func (e *Echo) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	return nil
}

// Dropped is how many samples were discarded because the queue was full.
func (e *Echo) Dropped() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dropped
}

// Len is how many samples wait in the queue.
func (e *Echo) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n
}
