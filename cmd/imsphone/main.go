// Command imsphone is the IMS softphone and its tester tools; the commands live in internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/emiago/sipgo/sip"

	"github.com/imsphone/imsphone/internal/cli"
)

// version is set at link time: go build -ldflags "-X main.version=v1.2.3". Empty means the
// module version from the build info.
var version string

func main() {
	// sipgo refuses to send a UDP datagram over UDPMTUSize-200 octets. Requests no longer
	// need more: the client sends any request over 1300 octets by TCP (RFC 3261 §18.1.1,
	// client/transport.go). A response cannot change transport (§18.2.2: it follows the Via),
	// and one of ours can exceed the limit: the 2xx to a callee's re-INVITE in a MIKEY call over
	// UDP repeats the TRANSFER_INIT. The limit is raised so that response still goes out
	// (fragmented by IP) instead of the re-INVITE failing with 408.
	sip.UDPMTUSize = cli.UDPMaxDatagram
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	terminal := false
	if st, err := os.Stdin.Stat(); err == nil {
		terminal = st.Mode()&os.ModeCharDevice != 0
	}
	code := cli.Execute(ctx, cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Version: version, Terminal: terminal,
		SetSIPLogger: sip.SetDefaultLogger},
		os.Args[1:])
	stop()
	os.Exit(code)
}
