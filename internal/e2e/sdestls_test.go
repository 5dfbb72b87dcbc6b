package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/imsphone/imsphone/client"
	"github.com/imsphone/imsphone/keymgmt"
)

// Through the lab's proxy over TCP, which is not TLS (RFC 4568 §8.3): an sdes caller without
// AllowSDESWithoutTLS fails before any INVITE, and an SDES offer from a caller that allows it
// reaches a callee that does not, whose 488 and Warning the proxy relays back.
func TestSDESOverTCPWithoutPermission(t *testing.T) {
	if testing.Short() {
		t.Skip("real time")
	}
	strict := keymgmt.Policy{Mode: keymgmt.ModeSDES, Requirement: keymgmt.Mandatory}
	t.Run("caller", func(t *testing.T) {
		w := newWorld(t)
		a := w.party("alice@home1.net", partyOpts{policy: strict})
		w.party("bob@home1.net", partyOpts{policy: mandatory(keymgmt.ModeSDES), autoAnswer: &client.CallOptions{}})
		if _, err := a.phone.Dial(context.Background(), "sip:bob@home1.net", client.CallOptions{}); !errors.Is(err, keymgmt.ErrSDESWithoutTLS) {
			t.Fatalf("Dial: %v, want ErrSDESWithoutTLS", err)
		}
	})
	t.Run("callee/488", func(t *testing.T) {
		w := newWorld(t)
		a := w.party("alice@home1.net", partyOpts{policy: mandatory(keymgmt.ModeSDES)})
		b := w.party("bob@home1.net", partyOpts{policy: strict})
		e := failedCall(t, a, b)
		if e.Code != 488 || !strings.HasPrefix(e.Warning, "399 ") || !strings.Contains(e.Warning, "SDES keys over signalling without TLS") ||
			!strings.Contains(e.Warning, "RFC 4568 §8.3") {
			t.Fatalf("ended %v", e)
		}
	})
}
