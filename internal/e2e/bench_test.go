package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/keymgmt"
)

// BenchmarkCallSetup measures call setup through the lab for none, sdes and kms in one run:
// setup = Dial called → first authenticated media packet at the caller (for kms this includes
// the ticket request before the INVITE and the callee's resolve before its answer);
// invite = INVITE sent → the same packet (client.Call.SetupTime). Both registered with IMS AKA,
// both bootstrapped before the first iteration. p50 and p99 over b.N calls; ns/op covers the
// whole call including hang-up.
func BenchmarkCallSetup(b *testing.B) {
	for _, mode := range []keymgmt.Mode{keymgmt.ModeNone, keymgmt.ModeSDES, keymgmt.ModeKMS} {
		b.Run(string(mode), func(b *testing.B) {
			w := newWorld(b)
			a := w.party("alice@home1.net", partyOpts{policy: mandatory(mode)})
			w.party("bob@home1.net", partyOpts{policy: mandatory(mode), autoAnswer: &client.CallOptions{}})
			ctx := context.Background()
			call := func() (setup, invite time.Duration) {
				start := time.Now()
				ca, err := a.phone.Dial(ctx, "sip:bob@home1.net", client.CallOptions{})
				if err != nil {
					b.Fatal(err)
				}
				waitFor(b, ca, client.EventMediaUp, 10*time.Second)
				setup, invite = time.Since(start), ca.SetupTime()
				if err := ca.Hangup(ctx); err != nil {
					b.Fatal(err)
				}
				return setup, invite
			}
			call() // bootstraps both UEs (GBA), warms the KMS's Zn cache
			var setups, invites []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				s, i := call()
				setups, invites = append(setups, s), append(invites, i)
			}
			b.ReportMetric(quantileMS(setups, 0.50), "setup-p50-ms")
			b.ReportMetric(quantileMS(setups, 0.99), "setup-p99-ms")
			b.ReportMetric(quantileMS(invites, 0.50), "invite-p50-ms")
			b.ReportMetric(quantileMS(invites, 0.99), "invite-p99-ms")
		})
	}
}

// quantileMS is the q-quantile of ds (nearest rank) in milliseconds.
func quantileMS(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s)) + 0.5)
	i = min(max(i-1, 0), len(s)-1)
	return float64(s[i]) / float64(time.Millisecond)
}
