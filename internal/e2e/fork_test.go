package e2e

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/internal/lab"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/mikey"
	"github.com/imsphone/imsphone/media"
)

// resolutions records the TGKs a device's KMS client resolved (RESOLVE_RESP KEMAC).
type resolutions struct {
	keymgmt.TicketClient
	mu   sync.Mutex
	tgks [][]byte
}

func (r *resolutions) ResolveTicket(ctx context.Context, responder *mikey.IDR, ticket *mikey.TICKET) (*kms.Resolution, error) {
	res, err := r.TicketClient.ResolveTicket(ctx, responder, ticket)
	if err == nil {
		r.mu.Lock()
		for _, k := range res.Resp.Keys.Keys {
			r.tgks = append(r.tgks, bytes.Clone(k.Key))
		}
		r.mu.Unlock()
	}
	return res, err
}

func (r *resolutions) keys() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tgks
}

// alice calls sip:bob@home1.net while bob has two devices registered (one IMPI, two contacts):
// the lab's proxy forks the INVITE to both (RFC 3261 §16.6), each device resolves the ticket at
// the KMS before ringing and, with key forking (RFC 6043 §5.1.1), gets its own TGK. The first
// device answers, the proxy cancels the other, and the call runs on the answering device's keys.
func TestForkedCallDistinctKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	w := newWorld(t)
	a := w.party("alice@home1.net", partyOpts{policy: mandatory(keymgmt.ModeKMS)})
	var rec [2]*resolutions
	var dev [2]*party
	for i := range dev {
		r := &resolutions{}
		rec[i] = r
		dev[i] = w.party("bob@home1.net", partyOpts{policy: mandatory(keymgmt.ModeKMS), ue: lab.UEOptions{
			Tickets: func(tc keymgmt.TicketClient) keymgmt.TicketClient { r.TicketClient = tc; return r }}})
	}
	if n := len(w.lab.Registrar.Location().Lookup("sip:bob@home1.net")); n != 2 {
		t.Fatalf("%d bindings for bob, want 2", n)
	}
	ctx := context.Background()
	ca, err := a.phone.Dial(ctx, "sip:bob@home1.net", client.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Both devices ring: each has resolved the ticket by then.
	var calls [2]*client.Call
	for i, d := range dev {
		select {
		case calls[i] = <-d.phone.Incoming():
		case <-time.After(10 * time.Second):
			t.Fatalf("device %d did not ring", i+1)
		}
	}
	k1, k2 := rec[0].keys(), rec[1].keys()
	if len(k1) != 1 || len(k2) != 1 || len(k1[0]) == 0 {
		t.Fatalf("resolved TGKs: %d and %d", len(k1), len(k2))
	}
	if bytes.Equal(k1[0], k2[0]) {
		t.Fatal("both devices resolved the same TGK")
	}
	if err := calls[1].Answer(ctx, client.CallOptions{}); err != nil {
		t.Fatal(err)
	}
	up := waitFor(t, ca, client.EventMediaUp, 10*time.Second)
	if up.KeySource != "mikey" {
		t.Fatalf("media up %v", up)
	}
	if e := waitEnded(t, calls[0]); e.By != client.Remote || e.Code != 487 {
		t.Fatalf("the other device's call ended with %v, want the proxy's CANCEL", e)
	}
	kc, kb := ca.Keys(), calls[1].Keys()
	if kc == nil || kb == nil || !bytes.Equal(kc.Send.MasterKey, kb.Recv.MasterKey) || !bytes.Equal(kc.Recv.MasterKey, kb.Send.MasterKey) {
		t.Fatal("caller and answering device disagree on the keys")
	}
	stats := waitMedia(t, ca, 25)
	if stats.SRTPAuthFailures != 0 {
		t.Fatalf("stats %v", stats)
	}
	if err := ca.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if e := waitEnded(t, calls[1]); e.By != client.Remote {
		t.Fatalf("answering device: %v", e)
	}
}

// waitMedia waits until c has received n authenticated packets.
func waitMedia(t testing.TB, c *client.Call, n uint64) media.Stats {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if s, ok := c.Stats(); ok && s.PacketsReceived >= n {
			return s
		}
	}
	t.Fatalf("fewer than %d packets", n)
	return media.Stats{}
}
