package keymgmt_test

import (
	"context"
	"testing"

	"github.com/imsphone/imsphone/keymgmt"
)

// BenchmarkMIKEYCall is one protected call's key management on loopback: Offer (REQUEST_INIT to
// the KMS over HTTP, TRANSFER_INIT), Answer (RESOLVE_INIT to the KMS, TRANSFER_RESP) and Accept.
// GBA bootstrapping happens once, before the timer.
func BenchmarkMIKEYCall(b *testing.B) {
	l := newLab(b, true)
	a := l.negotiator("alice@home1.net", keymgmt.MIKEYConfig{})
	c := l.negotiator("bob@home1.net", keymgmt.MIKEYConfig{})
	call(b, a, c, aliceStream, bobStream) // bootstrap both UEs
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		off, err := a.Offer(ctx, aliceStream)
		if err != nil {
			b.Fatal(err)
		}
		ans, _, err := c.Answer(ctx, true, off.Lines(), bobStream)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := off.Accept(ctx, true, ans, aliceStream); err != nil {
			b.Fatal(err)
		}
	}
}
