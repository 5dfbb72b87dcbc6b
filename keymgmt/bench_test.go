package keymgmt

import (
	"context"
	"testing"
)

// BenchmarkSDESExchange runs one SDES offer, answer and accept (three keys drawn from
// crypto/rand for the default two-suite offer plus the answer).
func BenchmarkSDESExchange(b *testing.B) {
	ctx := context.Background()
	a, c := negotiator(b, ModeSDES, Mandatory), negotiator(b, ModeSDES, Mandatory)
	b.ReportAllocs()
	for b.Loop() {
		off, err := a.Offer(ctx, overTLS)
		if err != nil {
			b.Fatal(err)
		}
		lines, _, err := c.Answer(ctx, true, off.Lines(), overTLS)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := off.Accept(ctx, true, lines, overTLS); err != nil {
			b.Fatal(err)
		}
	}
}
