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
	// sipgo refuses to send a UDP datagram over UDPMTUSize-200 octets (RFC 3261 §18.1.1 wants
	// TCP then, which the UE does not speak yet). An INVITE carrying a MIKEY-TICKET offer passes
	// that once the lab's proxy adds its Via and Record-Route; imsphone talks over loopback
	// and LANs where IP fragments such a datagram, so the limit is lifted to UDP's maximum.
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
