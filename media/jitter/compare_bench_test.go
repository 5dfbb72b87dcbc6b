package jitter

import (
	"testing"
	"time"
)

// pushPopper is what the comparison benchmarks drive: the Buffer or the reference
// implementation it replaced (reference_test.go).
type pushPopper interface {
	Push(seq uint16, ts uint32, arrival time.Time, payload []byte)
	Pop(now time.Time) (Frame, bool)
}

// BenchmarkCompare measures one Push and one Pop per packet of a steady 20 ms stream, for the
// Buffer ("new") and the reference implementation ("ref"), in two states: "steady" (J stays 0)
// and "after-step" (one 900 ms step in transit time 20 000 packets earlier, so the reference's
// J has decayed into the subnormal range). Run both in one process to compare on a noisy box:
//
//	go test -run '^$' -bench Compare -benchmem -count 5 ./media/jitter/
func BenchmarkCompare(b *testing.B) {
	impls := []struct {
		name string
		mk   func() pushPopper
	}{
		{"new", func() pushPopper { return New(Config{}) }},
		{"ref", func() pushPopper { return newRef(Config{}) }},
	}
	for _, state := range []string{"steady", "after-step"} {
		for _, impl := range impls {
			b.Run(state+"/"+impl.name, func(b *testing.B) {
				jb := impl.mk()
				payload := make([]byte, 160)
				at := t0
				i := 0
				step := func() {
					jb.Push(uint16(i), uint32(i)*160, at, payload)
					jb.Pop(at)
					at = at.Add(20 * time.Millisecond)
					i++
				}
				for range 200 {
					step()
				}
				if state == "after-step" {
					at = at.Add(900 * time.Millisecond)
					for range 20000 {
						step()
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					step()
				}
			})
		}
	}
}
