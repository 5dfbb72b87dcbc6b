package bsf

import (
	"context"
	"net/http"
	"testing"

	"github.com/imsphone/imsphone/gba/zn"
)

// BenchmarkBootstrap is one full Ub run over loopback HTTP: initial GET, 401, Digest answer, 200
// (AuC vector and the fsynced state-file write included).
func BenchmarkBootstrap(b *testing.B) { benchBootstrap(b, true) }

// BenchmarkBootstrapNoState is the same with SQN_HE in memory only (no fsync per vector).
func BenchmarkBootstrapNoState(b *testing.B) { benchBootstrap(b, false) }

func benchBootstrap(b *testing.B, persist bool) {
	sub := set1Subscriber(testIMPI, 0x20)
	e := startBSFBench(b, sub, persist)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.bootstrapManual(sub)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bootstraps/s")
}

func benchZn(b *testing.B, cached bool) {
	sub := set1Subscriber(testIMPI, 0x20)
	e := startBSFBench(b, sub, false)
	btid, _ := e.bootstrapManual(sub)
	var r zn.Resolver = e.resolver(testToken)
	if cached {
		r = zn.NewCache(r, zn.CacheConfig{Now: e.clk.Now})
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Resolve(ctx, btid, kmsNAF); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

func BenchmarkZnLookup(b *testing.B)       { benchZn(b, false) }
func BenchmarkZnLookupCached(b *testing.B) { benchZn(b, true) }

func startBSFBench(b *testing.B, sub Subscriber, persist bool) *testEnv {
	b.Helper()
	o := envOpts{subs: []Subscriber{sub}}
	if persist {
		o.statePath = b.TempDir() + "/state.json"
	}
	e := startBSF(b, o)
	e.ubHTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	return e
}
