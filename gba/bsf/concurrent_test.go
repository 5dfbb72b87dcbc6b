package bsf

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/zn"
)

// TestConcurrentUEs runs several UEs (gba.UbClient + SoftUSIM, one IMPI each) bootstrapping and a
// KMS resolving their keys at the same time, with a persisted state file, under -race.
func TestConcurrentUEs(t *testing.T) {
	const ues, rounds = 4, 3
	var subs []Subscriber
	for i := 0; i < ues; i++ {
		subs = append(subs, set1Subscriber(fmt.Sprintf("ue%d@home1.net", i), 0x20))
	}
	e := startBSF(t, envOpts{subs: subs, statePath: t.TempDir() + "/state.json"})
	cache := zn.NewCache(e.resolver(testToken), zn.CacheConfig{Now: e.clk.Now, MaxEntries: 2})
	var wg sync.WaitGroup
	for i := 0; i < ues; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := gba.NewSoftUSIM(gba.SoftUSIMConfig{IMPI: subs[i].IMPI, K: subs[i].K, OPc: subs[i].OPc})
			if err != nil {
				t.Error(err)
				return
			}
			c := &gba.UbClient{BSFURL: e.ubURL + "/", USIM: u, HTTPClient: e.ubHTTP, Clock: e.clk.Now}
			for r := 0; r < rounds; r++ {
				b, err := c.Bootstrap(context.Background())
				if err != nil {
					t.Errorf("%s round %d: %v", subs[i].IMPI, r, err)
					return
				}
				k, err := cache.Resolve(context.Background(), b.BTID, kmsNAF)
				if err != nil || !bytes.Equal(k.Key, b.KsNAF(kmsNAF)) || k.IMPI != subs[i].IMPI {
					t.Errorf("%s round %d: Zn %v %v", subs[i].IMPI, r, k, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := e.metric("bsf_bootstraps_ok_total"); got != fmt.Sprint(ues*rounds) {
		t.Errorf("bootstraps %s, want %d", got, ues*rounds)
	}
	if got := e.metric("bsf_sessions"); got != fmt.Sprint(ues) {
		t.Errorf("sessions %s, want one per IMPI (%d)", got, ues)
	}
	if e.metric("bsf_resyncs_total") != "0" {
		t.Error("resyncs under concurrency")
	}
}
