package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/emiago/sipgo/sip"
)

// udpRequestLimit is RFC 3261 §18.1.1's bound for a request over UDP when the path MTU is
// unknown: "if it is larger than 1300 bytes and the path MTU is unknown, the request MUST be
// sent using an RFC 2914 congestion controlled transport protocol, such as TCP".
const udpRequestLimit = 1300

// viaPortSlack is what the transport layer can still add to a request after we measure it: the
// sent-by port of our Via (":65535").
const viaPortSlack = 6

// udpLimit is the largest request we send over UDP: udpRequestLimit, or less when the program
// lowered sipgo's sip.UDPMTUSize (sipgo refuses datagrams above UDPMTUSize - 200).
func udpLimit() int { return min(udpRequestLimit, sip.UDPMTUSize-200) }

// transportChooser is the Phone's sipgo ClientTransactionRequester: every request the Phone
// sends (REGISTER, INVITE and its credentialed retry, ACK, BYE, re-INVITE; CANCEL follows its
// INVITE's connection in sipgo's transaction layer) passes here fully built, and one bound for
// UDP that is larger than udpLimit leaves over TCP to the same destination instead, with its top
// Via naming TCP (§18.1.1: "If this causes a change in the transport protocol from the one
// indicated in the top Via, the value in the top Via MUST be changed"). Our Contact keeps
// naming UDP: the Phone also listens on TCP at its UDP port, so a peer can do the same to us.
//
// When the TCP connection is refused (a TCP reset, or ICMP protocol unreachable), §18.1.1 says
// the request SHOULD be retried over UDP; sipgo then sends it only if the program raised
// sip.UDPMTUSize, and otherwise the error names both attempts.
type transportChooser struct{ p *Phone }

func (tc transportChooser) Request(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error) {
	txl := tc.p.ua.TransactionLayer()
	send := func() (sip.ClientTransaction, error) {
		if !strings.EqualFold(req.Transport(), "UDP") {
			// Over a connection: tcpConns learns which one, and what keeps it open.
			tc.p.conns.begin()
			tx, err := sendNow(ctx, txl, req)
			tc.p.conns.sent(req, tx, err)
			return tx, err
		}
		return sendNow(ctx, txl, req)
	}
	via := req.Via()
	if via == nil {
		return send()
	}
	if tc.p.cfg.Transport == "udp" && strings.EqualFold(req.Transport(), "TCP") && inDialog(req) && nextHopTransport(req) == "UDP" {
		// sipgo gives an ACK or an in-dialog request the transport its INVITE went (or came)
		// over, which is TCP when that INVITE was large. The dialog's next hop names UDP
		// (RFC 3263 §4.1: no transport parameter in a sip: URI), so this request goes by the
		// size rule below on its own.
		req.SetTransport("UDP")
		via.Transport = "UDP"
		via.Port = 0
		req.Laddr = sip.Addr{IP: tc.p.addr.Addr().AsSlice(), Port: int(tc.p.addr.Port())}
	}
	if !strings.EqualFold(req.Transport(), "UDP") {
		if tc.p.cfg.Transport == "udp" {
			// A next hop naming TCP (RFC 3263 §4.1 transport parameter) gets a connection of
			// our own from an ephemeral port, as below: sipgo would bind it to our UDP
			// address, whose port our TCP listener holds ("bind: address already in use").
			req.Laddr = sip.Addr{}
			via.Transport = strings.ToUpper(req.Transport())
			via.Port = 0
		}
		return send()
	}
	size := requestSize(req)
	if size <= udpLimit() {
		return send()
	}
	laddr, viaHost, viaPort := req.Laddr, via.Host, via.Port
	req.SetTransport("TCP")
	via.Transport = "TCP"
	// The TCP connection is our own, from an ephemeral port: binding it to the UDP port would
	// collide with our TCP listener there. The transport layer fills in the sent-by port.
	req.Laddr = sip.Addr{}
	via.Port = 0
	tc.p.log.Debug("request over TCP (RFC 3261 §18.1.1)", "method", req.Method.String(), "octets", size, "to", req.Destination())
	tx, err := send()
	if err == nil {
		return tx, nil
	}
	if !connectionRefused(err) {
		return nil, fmt.Errorf("client: %s of %d octets sent over TCP to %s (RFC 3261 §18.1.1: above %d octets not over UDP): %w",
			req.Method, size, req.Destination(), udpLimit(), err)
	}
	// §18.1.1: a refused connection is retried over UDP.
	req.SetTransport("UDP")
	via.Transport, via.Host, via.Port = "UDP", viaHost, viaPort
	req.Laddr = laddr
	tx, uerr := send()
	if uerr != nil {
		return nil, fmt.Errorf("client: %s of %d octets: TCP to %s refused (%v); over UDP: %w (RFC 3261 §18.1.1; sip.UDPMTUSize is %d)",
			req.Method, size, req.Destination(), err, uerr, sip.UDPMTUSize)
	}
	tc.p.log.Warn("TCP refused; large request sent over UDP (RFC 3261 §18.1.1)", "method", req.Method.String(), "octets", size, "to", req.Destination())
	return tx, nil
}

// sendNow hands req to sipgo: a client transaction, or for an ACK a single write.
func sendNow(ctx context.Context, txl *sip.TransactionLayer, req *sip.Request) (sip.ClientTransaction, error) {
	if req.IsAck() {
		// The ACK for a 2xx is its own transaction-less request (RFC 3261 §13.2.2.4).
		return nil, txl.Transport().WriteMsg(req)
	}
	tx, err := txl.Request(ctx, req)
	if err != nil {
		// A nil *ClientTx in the interface would not compare equal to nil.
		return nil, err
	}
	return tx, nil
}

// connectionRefused says whether a failed TCP connection is one of §18.1.1's cases for retrying
// over UDP: a TCP reset (ECONNREFUSED, ECONNRESET) or ICMP Protocol Unreachable (ENOPROTOOPT on
// Linux).
func connectionRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ENOPROTOOPT)
}

// inDialog says whether req is sent within a dialog (RFC 3261 §12.2: a To tag), or is the ACK
// of a 2xx.
func inDialog(req *sip.Request) bool {
	if req.IsAck() {
		return true
	}
	to := req.To()
	return to != nil && to.Params.Has("tag")
}

// nextHopTransport is the transport RFC 3263 §4.1 picks for req's next hop, the top Route
// (loose routing, RFC 3261 §16.12) or else the Request-URI: its transport parameter; TLS for a
// sips URI; else UDP.
func nextHopTransport(req *sip.Request) string {
	u := req.Recipient
	if r := req.Route(); r != nil {
		u = r.Address
	}
	if t, ok := u.UriParams.Get("transport"); ok && t != "" {
		return strings.ToUpper(t)
	}
	if strings.EqualFold(u.Scheme, "sips") {
		return "TLS"
	}
	return "UDP"
}

// requestSize is the size of req on the wire, counting the sent-by port the transport layer
// still adds to a Via without one.
func requestSize(req *sip.Request) int {
	n := len(req.String())
	if via := req.Via(); via != nil && via.Port == 0 {
		n += viaPortSlack
	}
	return n
}
