package keymgmt

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

// SDES keys stay off signalling without TLS unless the policy allows them (RFC 4568 §8.3).
func TestSDESWithoutTLS(t *testing.T) {
	ctx := context.Background()
	udp := Stream{Local: "sip:alice@a", Remote: "sip:bob@b"}
	withPolicy := func(p Policy) *Negotiator {
		t.Helper()
		n, err := New(Config{Policy: p, Rand: rand.Reader})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	sdesOffer, err := negotiator(t, ModeSDES, Mandatory).Offer(ctx, overTLS)
	if err != nil || !sdesOffer.Protected {
		t.Fatalf("offer over TLS: %v protected=%v", err, sdesOffer != nil && sdesOffer.Protected)
	}

	t.Run("mandatory offer fails", func(t *testing.T) {
		off, err := negotiator(t, ModeSDES, Mandatory).Offer(ctx, udp)
		if !errors.Is(err, ErrSDESWithoutTLS) || off != nil {
			t.Fatalf("offer = %v, %v; want ErrSDESWithoutTLS", off, err)
		}
	})
	t.Run("preferred offer is plain", func(t *testing.T) {
		off, err := negotiator(t, ModeSDES, Preferred).Offer(ctx, udp)
		if err != nil {
			t.Fatal(err)
		}
		if off.Protected || len(off.Lines().Media) != 0 || !strings.Contains(off.Fallback, "RFC 4568 §8.3") {
			t.Fatalf("offer protected=%v lines=%v fallback=%q", off.Protected, off.Lines(), off.Fallback)
		}
	})
	t.Run("allowed offer carries keys", func(t *testing.T) {
		off, err := withPolicy(Policy{Mode: ModeSDES, Requirement: Mandatory, AllowSDESWithoutTLS: true}).Offer(ctx, udp)
		if err != nil || !off.Protected || len(off.Lines().MediaValues(CryptoAttribute)) == 0 || off.Fallback != "" {
			t.Fatalf("offer: %v %+v", err, off)
		}
	})
	for _, req := range []Requirement{Mandatory, Preferred} {
		t.Run("answer refused/"+string(req), func(t *testing.T) {
			lines, k, err := negotiator(t, ModeSDES, req).Answer(ctx, true, sdesOffer.Lines(), udp)
			var ke *Error
			if !errors.As(err, &ke) || ke.Status != StatusNotAcceptableHere || !errors.Is(err, ErrSDESWithoutTLS) {
				t.Fatalf("answer err = %v, want 488 ErrSDESWithoutTLS", err)
			}
			if k != nil || len(lines.Media) != 0 {
				t.Fatal("refusal returned keys or lines")
			}
			if w := ke.Warning("127.0.0.1:5060"); !strings.HasPrefix(w, `399 127.0.0.1:5060 "a=crypto offer refused: SDES keys over signalling without TLS`) {
				t.Fatalf("Warning = %s", w)
			}
		})
	}
	t.Run("answer allowed", func(t *testing.T) {
		_, k, err := withPolicy(Policy{Mode: ModeSDES, Requirement: Mandatory, AllowSDESWithoutTLS: true}).Answer(ctx, true, sdesOffer.Lines(), udp)
		if err != nil || k == nil || k.Method != "sdes" {
			t.Fatalf("answer: %v %v", err, k)
		}
	})
	t.Run("plain offer unaffected", func(t *testing.T) {
		if _, k, err := negotiator(t, ModeSDES, Preferred).Answer(ctx, false, Lines{}, udp); err != nil || k != nil {
			t.Fatalf("plain answer: %v %v", err, k)
		}
	})
}
