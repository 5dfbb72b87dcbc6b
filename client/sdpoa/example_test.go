package sdpoa_test

import (
	"fmt"
	"net/netip"

	"github.com/imsphone/imsphone/client/sdpoa"
)

// An offer with PCMU, PCMA and telephone-event answered by a side that only speaks PCMA and
// receives only: the answer keeps the offerer's order and payload types, mirrors the
// direction, and each side learns where to send.
func Example() {
	origin := sdpoa.Origin{Username: "alice", SessionID: 1, SessionVersion: 1, Address: netip.MustParseAddr("192.0.2.1")}
	offer := sdpoa.NewOffer(origin, sdpoa.Local{Addr: netip.MustParseAddrPort("192.0.2.1:40000"), RTCPMux: true}, nil)

	bob := sdpoa.Origin{Username: "bob", SessionID: 2, SessionVersion: 2, Address: netip.MustParseAddr("192.0.2.2")}
	answer, n, err := sdpoa.Answer(offer, bob, sdpoa.Local{Addr: netip.MustParseAddrPort("192.0.2.2:50000"),
		Formats: []sdpoa.Format{sdpoa.PCMA, sdpoa.TelephoneEvent}, Direction: sdpoa.RecvOnly, RTCPMux: true})
	if err != nil {
		panic(err)
	}
	fmt.Println("bob sends to", n.Remote, "codec", n.Codec.Name, "direction", n.Direction, "rtcp-mux", n.RTCPMux)

	m, err := sdpoa.AcceptAnswer(offer, answer)
	if err != nil {
		panic(err)
	}
	fmt.Println("alice sends to", m.Remote, "codec", m.Codec.Name, "dtmf pt", m.TelephoneEvent, "direction", m.Direction)
	// Output:
	// bob sends to 192.0.2.1:40000 codec PCMA direction recvonly rtcp-mux true
	// alice sends to 192.0.2.2:50000 codec PCMA dtmf pt 101 direction sendonly
}
