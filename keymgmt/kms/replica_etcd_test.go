package kms_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/kms/store/etcd/etcdtest"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// replicaB starts a second KMS over its own etcd client on e's prefix (a replica on another
// host would do the same) and returns its URL and its audit records.
func replicaB(t *testing.T, e *env) (string, func() []kms.AuditEvent) {
	t.Helper()
	st := e.openEtcd()
	t.Cleanup(func() { st.Close() })
	var mu sync.Mutex
	var audits []kms.AuditEvent
	b, err := kms.New(context.Background(), kms.Config{FQDN: kmsFQDN, Skew: testSkew, IdentityRate: -1, SourceRate: -1},
		kms.Options{Store: st, Policy: e.pol, Zn: e.znResolver(), Now: e.clk.Now, Rand: newRand(61),
			OnAudit: func(ev kms.AuditEvent) { mu.Lock(); audits = append(audits, ev); mu.Unlock() }})
	must(t, err, "replica B")
	hb := httptest.NewServer(b)
	t.Cleanup(hb.Close)
	return hb.URL + kms.DefaultPath, func() []kms.AuditEvent {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(audits)
	}
}

// Two KMS replicas over one etcd: a ticket issued by one resolves at the other; REQUEST_INIT
// and RESOLVE_INIT messages admitted by one are refused as replays by the other.
func TestEtcdReplicasReplay(t *testing.T) {
	e := newEnv(t, envCfg{noRate: true, etcd: etcdtest.Start(t)})
	urlB, _ := replicaB(t, e)
	alice := e.ue("alice@home1.net")    // replica A
	bob := e.ue("bob1@home1.net", urlB) // replica B
	tk := requestTicket(t, alice, baseFlags|mikey.FlagJ, "sip:bob@home1.net")
	res, err := bob.kc.ResolveTicket(context.Background(), idr(mikey.IDRoleR, bob.impu), tk.Resp.Ticket)
	must(t, err, "resolve at B of a ticket A issued")
	for _, c := range []struct {
		name string
		url  string
		raw  []byte
	}{{"RESOLVE_INIT admitted by B, replayed at A", e.url, res.Request.Raw}, {"REQUEST_INIT admitted by A, replayed at B", urlB, tk.Request.Raw}} {
		st, body, _ := post(t, c.url, c.raw, kms.ContentType)
		if errs, _ := errorAnswer(t, body); st != 409 || errs[0] != mikey.ErrInvalidTS {
			t.Fatalf("%s: %d %v", c.name, st, errs)
		}
	}
	if ev := e.lastAudit(); ev.Status != 409 || !strings.Contains(ev.Reason, "replayed") {
		t.Fatalf("audit at A %+v", ev)
	}
}

// Concurrent resolves of one ticket spread over two replicas: a reusable (J) ticket's use counts
// are 1..n each once; a forking ticket without J serves exactly one session (Initiator Data)
// however many sessions race for it on both replicas.
func TestEtcdReplicasConcurrentResolves(t *testing.T) {
	e := newEnv(t, envCfg{noRate: true, etcd: etcdtest.Start(t)})
	urlB, auditsB := replicaB(t, e)
	alice := e.ue("alice@home1.net")
	bobs := []*ue{e.ue("bob1@home1.net"), e.ue("bob2@home1.net", urlB)} // one at A, one at B
	ctx := context.Background()
	// One resolve each first, so that each replica has its bob's Ks_NAF from Zn: concurrent
	// first lookups would leave unused connections that hold up the test BSF's shutdown by 5 s.
	warm := requestTicket(t, alice, baseFlags|mikey.FlagJ, "sip:bob@home1.net")
	for _, b := range bobs {
		_, err := b.kc.ResolveTicket(ctx, idr(mikey.IDRoleR, b.impu), warm.Resp.Ticket)
		must(t, err, "warm-up resolve by %s", b.impi)
	}

	e.mu.Lock()
	skipA, skipB := len(e.audits), len(auditsB())
	e.mu.Unlock()

	const n = 8
	tk := requestTicket(t, alice, baseFlags|mikey.FlagJ, "sip:bob@home1.net")
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := bobs[i%2]
			if _, err := b.kc.ResolveTicket(ctx, idr(mikey.IDRoleR, b.impu), tk.Resp.Ticket); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var uses []uint64
	e.mu.Lock()
	all := append(slices.Clone(e.audits[skipA:]), auditsB()[skipB:]...)
	e.mu.Unlock()
	for _, ev := range all {
		if ev.Action == "resolve" && ev.Granted {
			uses = append(uses, ev.Uses)
		}
	}
	slices.Sort(uses)
	var want []uint64
	for i := range n {
		want = append(want, uint64(i+1))
	}
	if !slices.Equal(uses, want) {
		t.Fatalf("use counts of %d resolves on two replicas: %v, want 1..%d each once", n, uses, n)
	}

	// A one-session forking ticket: sessions (distinct TRANSFER_INITs, so distinct Initiator
	// Data) race on both replicas; exactly one wins, the others are refused as a second session.
	one := requestTicket(t, alice, baseFlags|mikey.FlagI, "sip:bob@home1.net")
	if one.Resp.Ticket.Policy.Flags.Has(mikey.FlagJ) || !one.Resp.Ticket.Policy.Flags.Has(mikey.FlagI) {
		t.Fatalf("granted flags %v", one.Resp.Ticket.Policy.Flags)
	}
	const sessions = 6
	var offers []*offer
	for range sessions {
		offers = append(offers, transferInit(t, e, alice, one, "sip:bob@home1.net"))
	}
	var mu sync.Mutex
	won, refused := 0, 0
	var other []error
	for i, o := range offers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := bobs[i%2]
			rx, err := mikey.ParseMessage(o.trInit.Raw)
			if err == nil {
				_, err = b.kc.ResolveTicket(ctx, idr(mikey.IDRoleR, b.impu), rx.TICKET())
			}
			mu.Lock()
			defer mu.Unlock()
			var ke *kms.Error
			switch {
			case err == nil:
				won++
			case errors.As(err, &ke) && ke.Status == 403 && slices.Contains(ke.ErrNos, mikey.ErrInvalidTICKET):
				refused++
			default:
				other = append(other, err)
			}
		}()
	}
	wg.Wait()
	if len(other) > 0 || won != 1 || refused != sessions-1 {
		t.Fatalf("%d sessions on two replicas: %d resolved, %d refused as a second session, other errors %v; want 1 and %d",
			sessions, won, refused, other, sessions-1)
	}
}
