package kms_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/kms/store"
	"github.com/imsphone/imsphone/keymgmt/kms/store/etcd/etcdtest"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// benchPairs drives REQUEST+RESOLVE pairs through HTTP on loopback with `workers` concurrent
// load-generator goroutines in the same process, and reports pairs per second and the p50 and
// p99 latency of one pair. The UEs bootstrap once; the KMS's Zn cache then holds both keys.
func benchPairs(b *testing.B, ec envCfg, workers int) {
	ec.noRate, ec.real, ec.bench = true, true, true
	ec.cfg.MaxConcurrent = 4 * workers
	e := newEnv(b, ec)
	alice, bob := e.ue("alice@home1.net"), e.ue("bob1@home1.net")
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	mk := func(u *ue) *kms.Client {
		c, err := kms.NewClient(kms.ClientConfig{URLs: []string{e.url}, FQDN: kmsFQDN, Keys: u.keys.Key, Now: e.clk.Now,
			PRF: mikey.PRFHMACSHA256, Skew: testSkew, HTTPClient: hc})
		must(b, err, "client")
		return c
	}
	ca, cb := mk(alice), mk(bob)
	ctx := context.Background()
	req := kms.TicketRequest{Initiator: idr(mikey.IDRoleI, alice.impu), Responders: []*mikey.IDR{idr(mikey.IDRoleR, "sip:bob@home1.net")}, Flags: baseFlags}
	bobR := idr(mikey.IDRoleR, bob.impu)
	pair := func() error {
		tk, err := ca.RequestTicket(ctx, req)
		if err != nil {
			return err
		}
		_, err = cb.ResolveTicket(ctx, bobR, tk.Resp.Ticket)
		return err
	}
	must(b, pair(), "warm-up pair")
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if err := pair(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/el.Seconds(), "pairs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	// The process's CPU time (user + system, KMS and load generator) per pair: unlike pairs/s it
	// hardly depends on what else the machine runs.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/pair")
}

// cpuTime is the CPU time this process has used (getrusage RUSAGE_SELF).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPairsHTTP: REQUEST+RESOLVE pairs over HTTP/1.1 on loopback, with the load generator
// in the same process. "bolt" is the embedded file store: "serial" gives each replay-cache or
// use-count write its own transaction and fsync (the store before group commit), "batch5ms"
// waits 5 ms after a group's first write for companions (like bbolt DB.Batch), "group" is the
// default group commit (all writes queued meanwhile share one commit, commits at least
// DefaultCommitInterval apart, a lone write at once), "group-nopace" the same with commits back
// to back, "behind" the group commit with ReplayWriteBehind (replay entries synced after the
// answer, the epoch restarted after a crash). "memory" is the in-memory store,
// "etcd" the etcd store on a throw-away local etcd (skipped under -short or without etcd).
// With the file store the pair rate grows with the requests in flight: more writes share a sync.
func BenchmarkPairsHTTP(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	for _, v := range []struct {
		name    string
		opt     store.BoltOptions
		workers int
	}{
		{"bolt-serial", store.BoltOptions{SerialCommit: true}, 8 * procs},
		{"bolt-batch5ms", store.BoltOptions{BatchDelay: 5 * time.Millisecond}, 8 * procs},
		{"bolt-batch5ms", store.BoltOptions{BatchDelay: 5 * time.Millisecond}, 128 * procs},
		{"bolt-group-nopace", store.BoltOptions{CommitInterval: -1}, 8 * procs},
		{"bolt-group-nopace", store.BoltOptions{CommitInterval: -1}, 64 * procs},
		{"bolt-group", store.BoltOptions{}, 8 * procs},
		{"bolt-group", store.BoltOptions{}, 32 * procs},
		{"bolt-group", store.BoltOptions{}, 64 * procs},
		{"bolt-group", store.BoltOptions{}, 128 * procs},
		{"bolt-behind", store.BoltOptions{ReplayWriteBehind: true}, 8 * procs},
		{"bolt-behind", store.BoltOptions{ReplayWriteBehind: true}, 64 * procs},
	} {
		b.Run(fmt.Sprintf("%s/workers=%d", v.name, v.workers), func(b *testing.B) {
			benchPairs(b, envCfg{bolt: true, boltOpt: v.opt}, v.workers)
		})
	}
	for _, w := range []int{8 * procs, 64 * procs} {
		b.Run(fmt.Sprintf("memory/workers=%d", w), func(b *testing.B) {
			benchPairs(b, envCfg{}, w)
		})
	}
	for _, w := range []int{8 * procs, 64 * procs} {
		b.Run(fmt.Sprintf("etcd/workers=%d", w), func(b *testing.B) {
			benchPairs(b, envCfg{etcd: etcdtest.Start(b)}, w)
		})
	}
}

// BenchmarkPairHandle is one REQUEST+RESOLVE pair through Server.Handle (parsing, MACs, tickets,
// replay cache in memory, policy, audit) without HTTP.
func BenchmarkPairHandle(b *testing.B) {
	e := newEnv(b, envCfg{noRate: true, bench: true})
	alice, bob := e.ue("alice@home1.net"), e.ue("bob1@home1.net")
	ctx := context.Background()
	abtid, akey, err := alice.keys.Key(ctx, kmsFQDN)
	must(b, err, "key")
	bbtid, bkey, err := bob.keys.Key(ctx, kmsFQDN)
	must(b, err, "key")
	rnd := newRand(40)
	b.ReportAllocs()
	for b.Loop() {
		e.clk.Add(time.Microsecond) // a new T per message pair
		t := tNow(e)
		m, _, err := mikey.BuildRequestInitPSK(mikey.RequestInitParams{PRF: mikey.PRFHMACSHA256, T: t, IDRi: idr(mikey.IDRoleI, alice.impu),
			IDRpsk: &mikey.IDR{Role: mikey.IDRolePSK, Data: []byte(abtid)}, MACAlg: mikey.MACHMACSHA256256, Rand: rnd,
			TP: desiredTP(baseFlags, alice.impu, "sip:bob@home1.net")}, akey)
		must(b, err, "build")
		st, body, _ := e.srv.Handle(ctx, m.Raw, "bench")
		if st != http.StatusOK {
			b.Fatalf("request: %d", st)
		}
		pm, _ := mikey.ParseMessage(body)
		rr, err := mikey.VerifyRequestResp(pm, m, akey)
		must(b, err, "verify")
		rm, _, err := mikey.BuildResolveInitPSK(mikey.ResolveInitParams{PRF: mikey.PRFHMACSHA256, T: t, IDRr: idr(mikey.IDRoleR, bob.impu),
			IDRpsk: &mikey.IDR{Role: mikey.IDRolePSK, Data: []byte(bbtid)}, Ticket: rr.Ticket, MACAlg: mikey.MACHMACSHA256256, Rand: rnd}, bkey)
		must(b, err, "build")
		if st, _, _ := e.srv.Handle(ctx, rm.Raw, "bench"); st != http.StatusOK {
			b.Fatalf("resolve: %d", st)
		}
	}
}

// BenchmarkPairCrypto is the cryptography of one pair alone (package mikey, no store, policy or
// HTTP): both sides of REQUEST_INIT/REQUEST_RESP and RESOLVE_INIT/RESOLVE_RESP with ticket creation
// and opening, for comparison with the figures above.
func BenchmarkPairCrypto(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		cryptoPair(b)
	}
}

// cryptoPair is one pair's cryptography: both sides of the four messages, a ticket created and
// opened twice. Everything is made afresh, so goroutines can run it in parallel.
func cryptoPair(b *testing.B) {
	psk := make([]byte, 32)
	tpk := make([]byte, 32)
	rnd := newRand(41)
	t, _ := mikey.NewTNTPUTC(time.Date(2026, 11, 26, 19, 0, 0, 0, time.UTC))
	alice, bob := idr(mikey.IDRoleI, "sip:alice@home1.net"), idr(mikey.IDRoleR, "sip:bob@home1.net")
	btid := &mikey.IDR{Role: mikey.IDRolePSK, Data: []byte("YWxpY2U=@bsf.home1.net")}
	lookup := func(context.Context, uint32) ([]byte, error) { return tpk, nil }
	ctx := context.Background()
	m, _, err := mikey.BuildRequestInitPSK(mikey.RequestInitParams{PRF: mikey.PRFHMACSHA256, T: t, IDRi: alice, IDRpsk: btid,
		MACAlg: mikey.MACHMACSHA256256, Rand: rnd, TP: desiredTP(baseFlags, "sip:alice@home1.net", "sip:bob@home1.net")}, psk)
	must(b, err, "build")
	pm, _ := mikey.ParseMessage(m.Raw)
	ri, err := mikey.VerifyRequestInitPSK(pm, psk)
	must(b, err, "verify init")
	tk, err := mikey.CreateBaseTicket(mikey.BaseTicketParams{Policy: *desiredTP(baseFlags, "sip:alice@home1.net", "sip:bob@home1.net"),
		KeyID: 1, TPK: tpk, T: t, Rand: rnd, Keys: []mikey.KeyData{{Type: mikey.KeyTGK, KV: mikey.KVSPI, Key: make([]byte, 16), SPI: []byte{1, 2, 3, 4}}}})
	must(b, err, "ticket")
	c, err := mikey.OpenBaseTicket(ctx, tk, lookup)
	must(b, err, "open")
	resp, _, err := mikey.BuildRequestResp(mikey.RequestRespParams{Init: ri, T: t, Ticket: tk, Keys: c.TicketKeys(), EncrAlg: mikey.EncrAESCM128}, psk)
	must(b, err, "resp")
	pr, _ := mikey.ParseMessage(resp.Raw)
	rr, err := mikey.VerifyRequestResp(pr, m, psk)
	must(b, err, "verify resp")
	rm, _, err := mikey.BuildResolveInitPSK(mikey.ResolveInitParams{PRF: mikey.PRFHMACSHA256, T: t, IDRr: bob, IDRpsk: btid,
		Ticket: rr.Ticket, MACAlg: mikey.MACHMACSHA256256, Rand: rnd}, psk)
	must(b, err, "resolve init")
	prm, _ := mikey.ParseMessage(rm.Raw)
	rsi, err := mikey.VerifyResolveInitPSK(prm, psk)
	must(b, err, "verify resolve")
	c2, err := mikey.OpenBaseTicket(ctx, rsi.Ticket, lookup)
	must(b, err, "open")
	rr2, _, err := mikey.BuildResolveResp(mikey.ResolveRespParams{Init: rsi, T: t, Keys: c2.TicketKeys(), EncrAlg: mikey.EncrAESCM128, Rand: rnd}, psk)
	must(b, err, "resolve resp")
	prr, _ := mikey.ParseMessage(rr2.Raw)
	_, err = mikey.VerifyResolveResp(prr, rm, psk)
	must(b, err, "verify resolve resp")
}

// BenchmarkPairCryptoParallel is BenchmarkPairCrypto on every CPU at once: the pair rate the
// cryptography alone allows on this machine, the ceiling for BenchmarkPairsHTTP (whose load
// generator does the UE half of this work in the same process).
func BenchmarkPairCryptoParallel(b *testing.B) {
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			cryptoPair(b)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pairs/s")
}
