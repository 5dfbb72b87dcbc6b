package e2e

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/internal/lab"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/media/audio"
)

// failingTickets makes ticket requests fail while fail is set (the KMS out of reach).
type failingTickets struct {
	keymgmt.TicketClient
	fail atomic.Bool
}

func (f *failingTickets) RequestTicket(ctx context.Context, r kms.TicketRequest) (*kms.Ticket, error) {
	if f.fail.Load() {
		return nil, errors.New("KMS unreachable (test)")
	}
	return f.TicketClient.RequestTicket(ctx, r)
}

// A call keyed by the KMS through the lab is rekeyed by re-INVITE, by the caller and by the
// callee: the rekeying side asks the KMS for a new ticket and sends a new TRANSFER_INIT, the
// other side resolves that ticket at the KMS (one more RESOLVE, a TGK it had not seen) and
// answers with TRANSFER_RESP; both directions run on new keys, the tones continue both ways,
// and no SRTP or SRTCP packet fails authentication across the switch. A later rekey with the
// KMS out of reach fails cleanly and leaves the keys and the media as they are.
func TestMIKEYRekeyThroughLab(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	for _, calleeRekeys := range []bool{false, true} {
		name := "caller-rekeys"
		if calleeRekeys {
			name = "callee-rekeys"
		}
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			var rec [2]*resolutions
			var kmsDown [2]*failingTickets
			var pty [2]*party
			for i, impi := range []string{"alice@home1.net", "bob@home1.net"} {
				r := &resolutions{}
				rec[i] = r
				kmsDown[i] = &failingTickets{TicketClient: r}
				pty[i] = w.party(impi, partyOpts{policy: mandatory(keymgmt.ModeKMS), ue: lab.UEOptions{
					Tickets: func(tc keymgmt.TicketClient) keymgmt.TicketClient { r.TicketClient = tc; return kmsDown[i] }}})
			}
			sinkA, sinkB := &sink{}, &sink{}
			ctx := context.Background()
			incoming := answerNext(t, pty[1], client.CallOptions{Source: audio.Tone(440, 0.5, 8000), Sink: sinkB})
			ca, err := pty[0].phone.Dial(ctx, "sip:bob@home1.net", client.CallOptions{Source: audio.Tone(1000, 0.5, 8000), Sink: sinkA})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, ca, client.EventMediaUp, 10*time.Second)
			cb := got(t, incoming)
			waitFor(t, cb, client.EventMediaUp, 10*time.Second)
			sinks := []*sink{sinkA, sinkB}
			waitPlayed(t, 8000, sinks, []int{0, 0})
			keysA, keysB := ca.Keys(), cb.Keys()

			x, y, resolver, down := ca, cb, rec[1], kmsDown[0]
			if calleeRekeys {
				x, y, resolver, down = cb, ca, rec[0], kmsDown[1]
			}
			resolvedBefore := len(resolver.keys())
			if err := x.Rekey(ctx); err != nil {
				t.Fatal(err)
			}
			for _, c := range []*client.Call{x, y} {
				if e := waitFor(t, c, client.EventUpdated, 10*time.Second); e.KeySource != "mikey" || e.Suite != "AES_CM_128_HMAC_SHA1_80" {
					t.Fatalf("EventUpdated after rekey: %q (%q)", e.Suite, e.KeySource)
				}
			}
			tgks := resolver.keys()
			if len(tgks) <= resolvedBefore {
				t.Fatal("the peer did not resolve the new ticket at the KMS")
			}
			for _, old := range tgks[:resolvedBefore] {
				for _, k := range tgks[resolvedBefore:] {
					if bytes.Equal(old, k) {
						t.Fatal("the new ticket carries a TGK resolved before")
					}
				}
			}
			nA, nB := ca.Keys(), cb.Keys()
			for _, k := range []struct {
				before, now *keymgmt.Keys
			}{{keysA, nA}, {keysB, nB}} {
				if k.now == k.before || bytes.Equal(k.now.Send.MasterKey, k.before.Send.MasterKey) ||
					bytes.Equal(k.now.Recv.MasterKey, k.before.Recv.MasterKey) || k.now.Method != "mikey" {
					t.Fatal("keys not replaced by the rekey")
				}
			}
			if !bytes.Equal(nA.Send.MasterKey, nB.Recv.MasterKey) || !bytes.Equal(nB.Send.MasterKey, nA.Recv.MasterKey) {
				t.Fatal("the new keys do not pair up")
			}
			if nA.Send.SSRC != keysA.Send.SSRC || nB.Send.SSRC != keysB.Send.SSRC {
				t.Fatalf("SSRCs changed: %#x→%#x, %#x→%#x", keysA.Send.SSRC, nA.Send.SSRC, keysB.Send.SSRC, nB.Send.SSRC)
			}

			// With the KMS out of reach a rekey fails before any re-INVITE, and the keys stay.
			down.fail.Store(true)
			if err := x.Rekey(ctx); err == nil || !strings.Contains(err.Error(), "KMS") {
				t.Fatalf("rekey without the KMS: %v", err)
			} else {
				t.Logf("rekey without the KMS: %v", err)
			}
			if ca.Keys() != nA || cb.Keys() != nB {
				t.Fatal("a failed rekey changed the keys")
			}
			la, lb := sinkA.len(), sinkB.len()
			waitPlayed(t, 8000, sinks, []int{la, lb})
			after := func(s *sink, from int) []int16 { return s.samples()[from+3200:] }
			if snr := bestBlock(after(sinkA, la), 440); snr < 20 {
				t.Errorf("caller hears 440 Hz at %.1f dB after the rekey", snr)
			}
			if snr := bestBlock(after(sinkB, lb), 1000); snr < 20 {
				t.Errorf("callee hears 1 kHz at %.1f dB after the rekey", snr)
			}
			if err := ca.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			for _, c := range []*client.Call{ca, cb} {
				e := waitEnded(t, c)
				if e.Stats == nil || e.Stats.SRTPAuthFailures != 0 || e.Stats.SRTCPAuthFailures != 0 || e.Stats.SRTPReplayDrops != 0 {
					t.Fatalf("final stats %v", e.Stats)
				}
			}
		})
	}
}
