package cli

import (
	"strings"
	"testing"
)

// Help examples that run SDES over the CLI's SIP (udp or tcp, never TLS) without an account file
// must ask for the permission, or they fail as soon as they are tried (RFC 4568 §8.3); each
// such example's flags parse. The demo is exempt: its sdes mode signals over TLS.
func TestSDESExamplesAskForPermission(t *testing.T) {
	root := NewRootCommand(Env{})
	seen := 0
	for _, c := range allCommands(root) {
		if c.Name() == "demo" {
			continue
		}
		for _, line := range strings.Split(c.Example, "\n") {
			f := strings.Fields(line)
			if len(f) < 2 || f[0] != "imsphone" || !strings.Contains(line, "--security sdes") || strings.Contains(line, " -c ") {
				continue
			}
			seen++
			if !strings.Contains(line, "--allow-sdes-without-tls") {
				t.Errorf("%s example without --allow-sdes-without-tls: %s", c.CommandPath(), line)
			}
			if err := c.ParseFlags(f[2:]); err != nil {
				t.Errorf("%s example: %v", c.CommandPath(), err)
			}
		}
	}
	if seen < 2 {
		t.Fatalf("%d SDES examples checked, want the call and answer ones", seen)
	}
}
