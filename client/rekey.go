package client

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/media"
)

// Rekey sends a re-INVITE offering new SRTP keys in the call's key-management method (RFC 4568
// §7.1.4 for SDES: fresh a=crypto lines; for MIKEY a new ticket from the KMS and a new
// TRANSFER_INIT, keymgmt.Negotiator.RekeyOffer), with the direction as negotiated. On a 2xx
// both directions switch to the new keys, each a new SRTP crypto context with ROC 0; on any
// failure (KMS unreachable, a non-2xx answer, an answer we refuse) the old keys stay and the
// media continues with them (RFC 3261 §14.1).
//
// Order, as offerer: our new send key is in our offer and the peer's new key only in its
// answer, so nothing can be installed before the answer. On the 2xx we send the ACK first and
// then switch both directions at once: the answerer has been receiving with our new key since
// it sent the answer (and keeps the old receive context for our packets in flight), and it
// keeps sending with its old key until our ACK, which the old receive context we keep covers.
// So the RFC 4568 §7.1.4 window ("the offerer will not be able to process packets secured via
// [the answerer's new] master key until the answer is received") is never entered.
func (c *Call) Rekey(ctx context.Context) error {
	c.mu.Lock()
	if c.neg == nil {
		c.mu.Unlock()
		return errors.New("client: rekey needs an established call with media")
	}
	dir := c.neg.Direction
	c.mu.Unlock()
	return c.reinviteKeys(ctx, dir, true)
}

// runningStream returns the running stream, whose ReplaceKeys switches to new crypto contexts (a
// nil direction keeps its context; the previous receive context stays for packets in flight).
func (c *Call) runningStream() (*media.Stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.media == nil || c.media.stream == nil {
		return nil, errors.New("client: rekey needs running media")
	}
	return c.media.stream, nil
}

// keyStream names the call for key management: our AoR and the peer's URI, our SSRC, which
// the stream keeps across a rekey (MIKEY's CS ID map binds the keys to it, RFC 3830 §6.1.1),
// and whether the SDP rides TLS (the SDES gate, RFC 4568 §8.3).
func (c *Call) keyStream(secure bool) keymgmt.Stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := keymgmt.Stream{Local: c.p.aor.String(), Remote: c.Remote, SecureSignalling: secure}
	if c.media != nil {
		s.SSRC = c.media.ssrc
	}
	return s
}

// installKeys switches the stream to k's send and/or receive parameters and writes the new
// key log lines (same format as at call start).
func (c *Call) installKeys(k *keymgmt.Keys, send, recv bool) error {
	r, err := c.runningStream()
	if err != nil {
		return err
	}
	var sp, rp *media.SRTPParams
	if send {
		sp = srtpParams(k.Send)
	}
	if recv {
		rp = srtpParams(k.Recv)
	}
	if err := r.ReplaceKeys(sp, rp); err != nil {
		return fmt.Errorf("client: install new SRTP keys: %w", err)
	}
	c.mu.Lock()
	ssrc, peer := c.media.ssrc, k.Recv.SSRC
	if peer == 0 {
		peer = c.media.stream.Stats().RemoteSSRC
	}
	c.mu.Unlock()
	if send {
		c.p.logKey(c.CallID, keyLogSend, ssrc, k.Suite, k.Send)
	}
	if recv {
		c.p.logKey(c.CallID, keyLogRecv, peer, k.Suite, k.Recv)
	}
	c.log.Info("SRTP keys replaced", "send", send, "recv", recv, "keys", k)
	return nil
}

// moveRemoteLocked points the stream at n's remote address (c.mu held).
func (c *Call) moveRemoteLocked(n *sdpoa.Negotiated) {
	if c.media == nil || c.media.stream == nil {
		return
	}
	var rtcp *net.UDPAddr
	if !n.RTCPMux {
		rtcp = net.UDPAddrFromAddrPort(n.RemoteRTCP)
	}
	if err := c.media.stream.SetRemote(net.UDPAddrFromAddrPort(n.Remote), rtcp); err != nil {
		c.log.Warn("media address not changed", "new", n.Remote, "error", err)
		return
	}
	c.log.Info("media moved to the peer's new address", "remote", n.Remote)
}
