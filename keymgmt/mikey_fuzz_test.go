package keymgmt_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// refusingKMS stands in for the KMS in the fuzz targets: it refuses every resolve, so no input
// can yield keys, and the target stays in-process and fast.
type refusingKMS struct{}

var errFuzzKMS = errors.New("fuzz KMS refuses")

func (refusingKMS) RequestTicket(context.Context, kms.TicketRequest) (*kms.Ticket, error) {
	return nil, errFuzzKMS
}

func (refusingKMS) ResolveTicket(context.Context, *mikey.IDR, *mikey.TICKET) (*kms.Resolution, error) {
	return nil, errFuzzKMS
}

// fuzzSeeds are a real offer and answer from the loopback lab, plus malformed values.
func fuzzSeeds(f *testing.F) (offer, answer string, pending *keymgmt.Offer) {
	l := newLab(f, false)
	a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{})
	b := l.negotiator("bob@home1.net", keymgmt.MIKEYConfig{})
	off, err := a.Offer(context.Background(), aliceStream)
	must(f, err, "Offer")
	ans, _, err := b.Answer(context.Background(), true, off.Lines(), bobStream)
	must(f, err, "Answer")
	for _, s := range []string{"", "mikey", "mikey ", "mikey AQ==", "mikey AQ4AAQ==", "sdes abc", " mikey AQ4A",
		"mikey " + string(make([]byte, 64))} {
		f.Add(s)
	}
	return off.Lines().Media[0].Value, ans.Media[0].Value, off
}

// FuzzMIKEYAnswer feeds a=key-mgmt values to the callee's Answer (base64, MIKEY parsing, the early
// checks): every value is refused with a 488 *keymgmt.Error, none panics.
func FuzzMIKEYAnswer(f *testing.F) {
	offer, answer, _ := fuzzSeeds(f)
	f.Add(offer)
	f.Add(answer)
	m, err := keymgmt.NewMIKEY(keymgmt.MIKEYConfig{KMS: refusingKMS{}, Rand: newRand(7)})
	must(f, err, "NewMIKEY")
	f.Fuzz(func(t *testing.T, v string) {
		_, k, err := m.Answer(context.Background(), mediaLine(v), bobStream)
		var ke *keymgmt.Error
		if k != nil || !errors.As(err, &ke) || ke.Status != keymgmt.StatusNotAcceptableHere {
			t.Fatalf("value %q: keys %v, error %v", v, k, err)
		}
		_ = ke.Warning("ue")
	})
}

// FuzzMIKEYAccept feeds a=key-mgmt values to the caller's Accept of a real pending offer: only the
// callee's real TRANSFER_RESP (once: then it is a replay) gives keys.
func FuzzMIKEYAccept(f *testing.F) {
	offer, answer, pending := fuzzSeeds(f)
	f.Add(offer)
	f.Add(answer)
	f.Fuzz(func(t *testing.T, v string) {
		k, err := pending.Accept(context.Background(), true, mediaLine(v), aliceStream)
		if err == nil {
			_, data, _ := strings.Cut(strings.TrimLeft(v, " "), " ")
			_, want, _ := strings.Cut(answer, " ")
			if data != want || k == nil || k.Method != "mikey" {
				t.Fatalf("value %q accepted: %v", v, k)
			}
			return
		}
		var ke *keymgmt.Error
		if k != nil || !errors.As(err, &ke) || ke.Status != keymgmt.StatusNotAcceptableHere {
			t.Fatalf("value %q: keys %v, error %v", v, k, err)
		}
	})
}
