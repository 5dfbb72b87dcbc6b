package client

import (
	"context"
	"testing"
	"time"

	"github.com/imsphone/imsphone/keymgmt"
)

// BenchmarkCallSetup measures a whole call on loopback: INVITE sent → first authenticated
// media packet at the caller (setup-ms), then BYE. ns/op covers the whole call including the
// hang-up and media teardown.
func BenchmarkCallSetup(b *testing.B) {
	for _, mode := range []keymgmt.Mode{keymgmt.ModeNone, keymgmt.ModeSDES} {
		b.Run(string(mode), func(b *testing.B) {
			a := newPhone(b, "alice", mode, keymgmt.Mandatory, nil)
			c := newPhone(b, "bob", mode, keymgmt.Mandatory, &CallOptions{})
			ctx := context.Background()
			b.ReportAllocs()
			var total time.Duration
			for b.Loop() {
				ca, err := a.Dial(ctx, target(c), CallOptions{})
				if err != nil {
					b.Fatal(err)
				}
				waitFor(b, ca, EventMediaUp, 3*time.Second)
				total += ca.SetupTime()
				if err := ca.Hangup(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "setup-ms")
		})
	}
}
