package e2e

import (
	"context"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/internal/lab"
	"github.com/imsphone/imsphone/keymgmt"
)

// tamper changes one octet of the MIKEY message in every a=key-mgmt line our method offers,
// as an attacker on the signalling path would; at picks the octet from the message length.
type tamper struct {
	keymgmt.Method
	at func(n int) int
}

type tamperedOffer struct {
	keymgmt.PendingOffer
	at func(n int) int
}

func (t tamper) Offer(ctx context.Context, s keymgmt.Stream) (keymgmt.PendingOffer, error) {
	p, err := t.Method.Offer(ctx, s)
	if err != nil {
		return nil, err
	}
	return tamperedOffer{p, t.at}, nil
}

func (p tamperedOffer) Lines() keymgmt.Lines {
	l := p.PendingOffer.Lines()
	media := append(l.Media[:0:0], l.Media...)
	for i, a := range media {
		data, ok := strings.CutPrefix(a.Value, "mikey ")
		if a.Key != keymgmt.KeyMgmtAttribute || !ok {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(data)
		if err != nil || len(raw) < 40 {
			continue
		}
		raw[p.at(len(raw))] ^= 0x01
		media[i].Value = "mikey " + base64.StdEncoding.EncodeToString(raw)
	}
	l.Media = media
	return l
}

// The refusals: each call fails before any media, with the SIP code and a reason the user can
// read.
func TestRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadKMS := "http://" + closed.Addr().String() + "/kms/mikey"
	closed.Close() // nothing listens there any more

	t.Run("plain-offer-to-mandatory-kms/488", func(t *testing.T) {
		w := newWorld(t)
		a := w.party("alice@home1.net", partyOpts{policy: mandatory(keymgmt.ModeNone)})
		b := w.party("bob@home1.net", partyOpts{policy: mandatory(keymgmt.ModeKMS)})
		e := failedCall(t, a, b)
		if e.Code != 488 || e.Warning == "" {
			t.Fatalf("ended %v, want 488 with a Warning", e)
		}
	})
	// The last octet is in the V payload's MAC, which the callee can check only with the keys
	// the KMS resolved; the middle one lies in the ticket and breaks its structure.
	for name, at := range map[string]func(int) int{"MAC": func(n int) int { return n - 1 }, "ticket": func(n int) int { return n / 2 }} {
		t.Run("tampered-TRANSFER_INIT-"+name+"/488-no-media", func(t *testing.T) {
			w := newWorld(t)
			a := w.party("alice@home1.net", partyOpts{policy: mandatory(keymgmt.ModeKMS),
				method: func(u *lab.UE) keymgmt.Method { return tamper{u.MIKEY, at} }})
			b := w.party("bob@home1.net", partyOpts{policy: mandatory(keymgmt.ModeKMS)})
			e := failedCall(t, a, b)
			if e.Code != 488 || e.Warning == "" {
				t.Fatalf("ended %v, want 488 with a Warning", e)
			}
		})
	}
	t.Run("kms-unreachable-caller", func(t *testing.T) {
		w := newWorld(t)
		a := w.party("alice@home1.net", partyOpts{policy: mandatory(keymgmt.ModeKMS), ue: lab.UEOptions{KMSURLs: []string{deadKMS}}})
		w.party("bob@home1.net", partyOpts{policy: mandatory(keymgmt.ModeKMS)})
		_, err := a.phone.Dial(context.Background(), "sip:bob@home1.net", client.CallOptions{})
		if err == nil || !strings.Contains(err.Error(), "kms") || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("Dial with the KMS down: %v, want an error naming the KMS and the refused connection", err)
		}
		t.Logf("caller's error: %v", err)
	})
	t.Run("kms-unreachable-callee/488", func(t *testing.T) {
		w := newWorld(t)
		a := w.party("alice@home1.net", partyOpts{policy: mandatory(keymgmt.ModeKMS)})
		b := w.party("bob@home1.net", partyOpts{policy: mandatory(keymgmt.ModeKMS), ue: lab.UEOptions{KMSURLs: []string{deadKMS}}})
		e := failedCall(t, a, b)
		if e.Code != 488 || !strings.Contains(strings.ToLower(e.Warning), "kms") {
			t.Fatalf("ended %v, want 488 with a Warning naming the KMS", e)
		}
	})
	t.Run("kms-unreachable-callee/preferred-falls-back-to-plain", func(t *testing.T) {
		w := newWorld(t)
		preferred := keymgmt.Policy{Mode: keymgmt.ModeKMS, Requirement: keymgmt.Preferred}
		a := w.party("alice@home1.net", partyOpts{policy: preferred})
		w.party("bob@home1.net", partyOpts{policy: preferred, ue: lab.UEOptions{KMSURLs: []string{deadKMS}},
			autoAnswer: &client.CallOptions{}})
		ca, err := a.phone.Dial(context.Background(), "sip:bob@home1.net", client.CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		up := waitFor(t, ca, client.EventMediaUp, 10*time.Second)
		if up.KeySource != "none" || ca.Keys() != nil {
			t.Fatalf("media up %v, want plain RTP after the 488", up)
		}
		ca.Hangup(context.Background())
	})
}

// failedCall dials b from a and returns how the call ended; b must never ring (the offer is
// refused before) and no media packet may arrive at either side.
func failedCall(t *testing.T, a, b *party) client.Event {
	t.Helper()
	ca, err := a.phone.Dial(context.Background(), "sip:bob@home1.net", client.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := waitEnded(t, ca)
	select {
	case c := <-b.phone.Incoming():
		t.Fatalf("callee rang: %v", c.Remote)
	case <-time.After(100 * time.Millisecond):
	}
	if s, ok := ca.Stats(); ok && s.PacketsReceived != 0 {
		t.Fatalf("media arrived: %v", s)
	}
	if e.Stats != nil && e.Stats.PacketsReceived != 0 {
		t.Fatalf("media arrived: %v", e.Stats)
	}
	t.Logf("caller's call ended: %v", e)
	return e
}
