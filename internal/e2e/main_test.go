package e2e

import (
	"os"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestMain lifts sipgo's UDP size guard for these loopback tests. An INVITE with a MIKEY
// TRANSFER_INIT (ticket included) exceeds the 1300 octets after which RFC 3261 §18.1.1 wants a
// congestion-controlled transport, and client.Phone speaks UDP only so far; loopback's MTU is
// 64 KiB, so nothing fragments here. A real deployment needs SIP over TCP for KMS-keyed calls.
func TestMain(m *testing.M) {
	sip.UDPMTUSize = 65000
	os.Exit(m.Run())
}
