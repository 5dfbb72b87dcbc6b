package jitter

import (
	"math/rand/v2"
	"testing"
	"time"
)

// Over random networks (transit 0..60 ms, 5% loss, 5% duplicates, sequence numbers crossing
// the wrap) playout is always in strictly increasing sequence order, a concealed frame never
// names a sequence number already played, every played payload is its own (checked by run), and
// most packets play.
func TestRandomNetworkProperties(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 99))
		seq0 := uint16(r.IntN(65536))
		var pk []pkt
		for _, p := range stream(500, seq0, r.Uint32(), func(int) time.Duration {
			return time.Duration(r.Float64() * float64(60*time.Millisecond))
		}) {
			if r.Float64() < 0.05 {
				continue
			}
			pk = append(pk, p)
			if r.Float64() < 0.05 {
				p.arrival += time.Duration(r.IntN(40)) * time.Millisecond
				pk = append(pk, p)
			}
		}
		b := New(Config{})
		res := run(t, b, pk, 11*time.Second)
		last := int64(-1)
		playedN := 0
		for _, o := range res {
			ext := int64(o.seq - seq0) // offset from the first sequence number, across the wrap
			if ext <= last {
				t.Fatalf("seed %d: seq %d (offset %d, missing %v) after offset %d played", seed, o.seq, ext, o.missing, last)
			}
			if !o.missing {
				playedN++
				last = ext
			}
		}
		if playedN < 420 {
			t.Errorf("seed %d: %d of ~475 played; %+v", seed, playedN, b.Stats())
		}
	}
}
