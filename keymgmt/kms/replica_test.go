package kms_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// Two KMS replicas over one shared Store (the memory store stands in for a shared backend): a
// ticket one issues, the other resolves, also after the first rotated its key; and a replay sent
// to the other replica is refused through the shared replay cache.
func TestReplicasShareKeys(t *testing.T) {
	e := newEnv(t, envCfg{noRate: true, cfg: kms.Config{TicketKeyRotation: time.Hour, IdentityRate: -1, SourceRate: -1}})
	b, err := kms.New(context.Background(), kms.Config{FQDN: kmsFQDN, Skew: testSkew, TicketKeyRotation: time.Hour},
		kms.Options{Store: e.st, Policy: e.pol, Zn: e.znResolver(), Now: e.clk.Now, Rand: newRand(60)})
	must(t, err, "replica B")
	hb := httptest.NewServer(b)
	defer hb.Close()
	urlB := hb.URL + kms.DefaultPath

	alice := e.ue("alice@home1.net")    // talks to replica A
	bob := e.ue("bob1@home1.net", urlB) // talks to replica B
	tk := requestTicket(t, alice, baseFlags|mikey.FlagJ, "sip:bob@home1.net")
	res, err := bob.kc.ResolveTicket(context.Background(), idr(mikey.IDRoleR, bob.impu), tk.Resp.Ticket)
	must(t, err, "resolve at B")
	// The RESOLVE_INIT B answered, replayed at A within the timestamp window: the shared cache
	// knows it.
	st, body, _ := post(t, e.url, res.Request.Raw, kms.ContentType)
	if errs, _ := errorAnswer(t, body); st != 409 || errs[0] != mikey.ErrInvalidTS {
		t.Fatalf("replay at the other replica: %d %v", st, errs)
	}
	if ev := e.lastAudit(); ev.Status != 409 || !strings.Contains(ev.Reason, "replayed") {
		t.Fatalf("audit %+v", ev)
	}

	e.clk.Add(61 * time.Minute) // A rotates on its next ticket
	k0 := e.lastAudit().KeyID
	tk2 := requestTicket(t, alice, baseFlags, "sip:bob@home1.net")
	if e.lastAudit().KeyID == k0 {
		t.Fatal("A did not rotate")
	}
	_, err = bob.kc.ResolveTicket(context.Background(), idr(mikey.IDRoleR, bob.impu), tk2.Resp.Ticket)
	must(t, err, "resolve at B under A's new key")

}
