package jitter_test

import (
	"fmt"
	"time"

	"github.com/imsphone/imsphone/media/jitter"
)

// Packets 1 and 2 arrive swapped, 3 is lost: playout is in order with 3 marked Missing.
func ExampleBuffer() {
	b := jitter.New(jitter.Config{Initial: 40 * time.Millisecond})
	t0 := time.Unix(0, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	b.Push(0, 0, ms(0), []byte("a"))
	b.Push(2, 320, ms(40), []byte("c"))
	b.Push(1, 160, ms(41), []byte("b"))
	b.Push(4, 640, ms(80), []byte("e"))
	for tick := 40; tick <= 130; tick += 20 {
		if f, ok := b.Pop(ms(tick)); ok {
			fmt.Printf("%d ms: seq %d missing=%v %q\n", tick, f.Seq, f.Missing, f.Payload)
		}
	}
	// Output:
	// 40 ms: seq 0 missing=false "a"
	// 60 ms: seq 1 missing=false "b"
	// 80 ms: seq 2 missing=false "c"
	// 100 ms: seq 3 missing=true ""
	// 120 ms: seq 4 missing=false "e"
}
