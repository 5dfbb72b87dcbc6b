package keymgmt

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
)

// The cases TestSDESWithoutTLS leaves out: a kms/preferred answerer, which would fall back to
// SDES for an a=crypto-only offer, refuses it without TLS as an sdes policy does; e2ae (SDES
// towards the P-CSCF, whose IPsec SAs imsphone does not set up) is SDES for the rule; and
// MIKEY-TICKET, whose keys MIKEY itself encrypts, needs no TLS.
func TestSDESWithoutTLSMore(t *testing.T) {
	ctx := context.Background()
	udp := Stream{Local: "sip:alice@a", Remote: "sip:bob@b"}
	with := func(p Policy) *Negotiator {
		t.Helper()
		n, err := New(Config{Policy: p, Rand: rand.Reader, KMS: &SDES{Rand: rand.Reader}})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	sdesOffer, err := negotiator(t, ModeSDES, Mandatory).Offer(ctx, overTLS)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("kms preferred answerer refuses SDES", func(t *testing.T) {
		kmsPref := with(Policy{Mode: ModeKMS, Requirement: Preferred})
		if _, k, err := kmsPref.Answer(ctx, true, sdesOffer.Lines(), overTLS); err != nil || k == nil || k.Method != "sdes" {
			t.Fatalf("over TLS the fallback to SDES works: %v %v", k, err)
		}
		_, k, err := kmsPref.Answer(ctx, true, sdesOffer.Lines(), udp)
		var ke *Error
		if !errors.As(err, &ke) || ke.Status != StatusNotAcceptableHere || !errors.Is(err, ErrSDESWithoutTLS) || k != nil {
			t.Fatalf("over UDP: %v %v; want 488 ErrSDESWithoutTLS", k, err)
		}
		allowed := with(Policy{Mode: ModeKMS, Requirement: Preferred, AllowSDESWithoutTLS: true})
		if _, k, err := allowed.Answer(ctx, true, sdesOffer.Lines(), udp); err != nil || k == nil || k.Method != "sdes" {
			t.Fatalf("allowed: %v %v", k, err)
		}
	})
	t.Run("e2ae is SDES", func(t *testing.T) {
		if _, err := with(Policy{Mode: ModeSDES, Requirement: Mandatory, E2AE: true}).Offer(ctx, udp); !errors.Is(err, ErrSDESWithoutTLS) {
			t.Fatalf("mandatory e2ae offer over UDP: %v", err)
		}
		off, err := with(Policy{Mode: ModeSDES, Requirement: Preferred, E2AE: true}).Offer(ctx, udp)
		if err != nil || off.Protected || len(off.Lines().MediaValues(E2AEAttribute)) != 0 || len(off.Lines().MediaValues(CryptoAttribute)) != 0 {
			t.Fatalf("preferred e2ae offer over UDP: %v %+v", err, off)
		}
		off, err = with(Policy{Mode: ModeSDES, Requirement: Mandatory, E2AE: true}).Offer(ctx, overTLS)
		if err != nil || len(off.Lines().MediaValues(E2AEAttribute)) != 1 {
			t.Fatalf("e2ae offer over TLS: %v %+v", err, off)
		}
	})
	t.Run("kms needs no TLS", func(t *testing.T) {
		// The stand-in MIKEY method is an SDES instance under the name kms: the rule looks at
		// the policy's method, not at what the lines hold.
		off, err := with(Policy{Mode: ModeKMS, Requirement: Mandatory}).Offer(ctx, udp)
		if err != nil || !off.Protected || off.Fallback != "" {
			t.Fatalf("kms offer over UDP: %v %+v", err, off)
		}
	})
}
