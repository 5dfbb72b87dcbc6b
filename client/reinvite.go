package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/keymgmt"
)

// Hold puts the call on hold with a re-INVITE offering sendonly (RFC 3264 §8.4; inactive if we
// were only receiving). The SRTP keys stay (keymgmt.Negotiator.Reoffer), and so does the
// stream with its SSRC, sequence numbers and ROC.
func (c *Call) Hold(ctx context.Context) error {
	c.mu.Lock()
	dir := c.baseDir.Intersect(sdpoa.SendOnly)
	c.mu.Unlock()
	return c.reinvite(ctx, dir)
}

// Resume takes the call off hold with a re-INVITE offering the original direction.
func (c *Call) Resume(ctx context.Context) error {
	c.mu.Lock()
	dir := c.baseDir
	c.mu.Unlock()
	return c.reinvite(ctx, dir)
}

// sessionLocal is our m-line for a re-offer or re-answer: the same addresses, RTCP-mux and
// codec as agreed (the stream is not rebuilt), with this direction and key lines.
func (c *Call) sessionLocal(dir sdpoa.Direction, lines keymgmt.Lines) sdpoa.Local {
	ms, n := c.media, c.neg
	l := sdpoa.Local{Addr: addrOf(ms.rtp), RTCPMux: n.RTCPMux, Direction: dir, Attributes: lines.Media,
		Formats: []sdpoa.Format{n.Codec}, Proto: n.RemoteMedia.Proto}
	if !n.RTCPMux {
		l.RTCP = addrOf(ms.rtcp)
	}
	if n.TelephoneEvent != 0 {
		te := sdpoa.TelephoneEvent
		te.PT = n.TelephoneEvent
		l.Formats = append(l.Formats, te)
	}
	return l
}

// apply takes a re-negotiated direction and keys k into use; the stream itself continues.
// EventUpdated carries Suite and KeySource when the keys were replaced (a rekey), never keys.
func (c *Call) apply(n *sdpoa.Negotiated, k *keymgmt.Keys) {
	c.mu.Lock()
	old := c.neg
	rekeyed := k != c.keys
	if old != nil && n.Remote != old.Remote {
		if rekeyed {
			// RFC 4568 §7.1.4: the new address came with the new key; send there from now on
			// and latch again on the first packet authenticated under the new key.
			c.moveRemoteLocked(n)
		} else {
			c.log.Warn("peer changed its media address in a re-INVITE; the stream keeps the latched one", "new", n.Remote)
		}
	}
	c.neg, c.keys = n, k
	if c.media != nil && c.media.stream != nil {
		c.media.stream.SetSending(n.Direction.Sends())
	}
	c.mu.Unlock()
	ev := Event{Kind: EventUpdated, Direction: n.Direction}
	if rekeyed && k != nil {
		ev.Suite, ev.KeySource = k.Suite, k.Method
	}
	c.emit(ev)
}

// errRequestPending marks a re-INVITE answered 491 Request Pending.
var errRequestPending = errors.New("491 Request Pending")

// finalError is a non-2xx final response to an in-dialog request of ours.
type finalError struct {
	code            int
	reason, warning string
}

func (e *finalError) Error() string {
	return strings.TrimSpace(fmt.Sprintf("%d %s %s", e.code, e.reason, e.warning))
}

// Unwrap makes a 491 match errRequestPending.
func (e *finalError) Unwrap() error {
	if e.code == sip.StatusRequestPending {
		return errRequestPending
	}
	return nil
}

// reinvite sends a re-INVITE for dir that keeps the keys (hold, resume, session refresh).
func (c *Call) reinvite(ctx context.Context, dir sdpoa.Direction) error {
	return c.reinviteKeys(ctx, dir, false)
}

// reinviteKeys sends a re-INVITE for dir, with new keys when rekey is set (Rekey). A 491 (the
// peer's own INVITE transaction is still open, RFC 3261 §14.1) is retried once after §14.1's
// wait: 2.1 to 4 s when we own the Call-ID (we placed the call), 0 to 2 s otherwise, in 10 ms
// steps.
func (c *Call) reinviteKeys(ctx context.Context, dir sdpoa.Direction, rekey bool) error {
	c.reinviteMu.Lock()
	defer c.reinviteMu.Unlock()
	c.setExchange(exchangeOffering)
	defer c.setExchange(exchangeNone)
	err := c.reinviteOnce(ctx, dir, rekey)
	if !errors.Is(err, errRequestPending) {
		return err
	}
	var b [2]byte
	if _, rerr := io.ReadFull(c.p.cfg.Rand, b[:]); rerr != nil {
		return fmt.Errorf("client: re-INVITE retry: %w", rerr)
	}
	wait := time.Duration(binary.BigEndian.Uint16(b[:])%201) * 10 * time.Millisecond
	if c.outgoing {
		wait = min(wait+2100*time.Millisecond, 4*time.Second)
	}
	c.log.Info("re-INVITE got 491 Request Pending; retrying (RFC 3261 §14.1)", "after", wait)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return fmt.Errorf("client: re-INVITE: %w", ctx.Err())
	case <-c.Done():
		return ErrCallEnded
	}
	return c.reinviteOnce(ctx, dir, rekey)
}

func (c *Call) reinviteOnce(ctx context.Context, dir sdpoa.Direction, rekey bool) error {
	c.mu.Lock()
	if !c.answered || c.media == nil || c.neg == nil {
		c.mu.Unlock()
		return errors.New("client: re-INVITE needs an established call with media")
	}
	keys := c.keys
	c.mu.Unlock()
	off := c.p.keys.Reoffer(keys)
	if rekey {
		// Checked before anything is sent, so that a 2xx is never left without the switch.
		if _, err := c.runningStream(); err != nil {
			return err
		}
		var err error
		if off, err = c.p.keys.RekeyOffer(ctx, keys, c.keyStream(c.p.cfg.Transport == "tls")); err != nil {
			return fmt.Errorf("client: rekey: %w", err)
		}
	}
	c.mu.Lock()
	l := c.sessionLocal(dir, off.Lines())
	c.origin.SessionVersion++
	offer := sdpoa.NewOffer(c.origin, l, off.Lines().Session)
	var target sip.Uri
	if c.outgoing {
		target = c.cs.InviteResponse.Contact().Address
	} else {
		target = c.ss.InviteRequest.Contact().Address
	}
	cs, ss := c.cs, c.ss
	c.mu.Unlock()
	body, err := offer.Marshal()
	if err != nil {
		return err
	}
	req := sip.NewRequest(sip.INVITE, *target.Clone())
	c.sessionOffer(req, c.p.cfg.SessionExpires, c.p.minSE)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	var res *sip.Response
	if cs != nil {
		res, err = cs.Do(ctx, req)
	} else {
		res, err = ss.Do(ctx, req)
	}
	if err != nil {
		return fmt.Errorf("client: re-INVITE: %w", err)
	}
	if !res.IsSuccess() {
		// RFC 3261 §14.1: a failed re-INVITE leaves the session as it was.
		return fmt.Errorf("client: re-INVITE refused: %w", &finalError{code: res.StatusCode, reason: res.Reason, warning: warningOf(res)})
	}
	ack := sip.NewRequest(sip.ACK, req.Recipient)
	ack.AppendHeader(sip.HeaderClone(req.CSeq()))
	ack.CSeq().MethodName = sip.ACK
	if cs != nil {
		err = cs.WriteRequest(ack)
	} else {
		err = ss.WriteRequest(ack)
	}
	if err != nil {
		return fmt.Errorf("client: ACK of re-INVITE: %w", err)
	}
	// A rekey's answer that we cannot take leaves the peer, which switches at our ACK, on keys
	// we do not have: the session cannot go on, so it ends with a BYE (as RFC 3261 §13.2.2.4
	// does for an unusable answer in a 2xx).
	failed := func(err error) error {
		if rekey {
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			c.log.Warn("rekey answer unusable; ending the call", "error", err)
			c.Hangup(hctx)
			return fmt.Errorf("%w (call ended: the peer switched to keys we cannot use)", err)
		}
		return err
	}
	ans, err := sdpoa.Parse(res.Body())
	if err != nil {
		return failed(fmt.Errorf("client: re-INVITE answer: %w", err))
	}
	n, err := sdpoa.AcceptAnswer(offer, ans)
	if err == nil && !n.Codec.Same(c.Negotiated().Codec) {
		err = fmt.Errorf("codec changed to %s", n.Codec)
	}
	var nk *keymgmt.Keys
	if err == nil {
		nk, err = off.Accept(ctx, n.RemoteMedia.Protected(), keymgmt.Lines{Session: ans.Attributes, Media: n.RemoteMedia.Attributes}, c.keyStream(c.p.cfg.Transport == "tls"))
	}
	if err != nil {
		return failed(fmt.Errorf("client: re-INVITE answer refused: %w", err))
	}
	if nk != keys {
		// After the ACK (above): both directions at once, see Rekey.
		if err := c.installKeys(nk, true, true); err != nil {
			return failed(err)
		}
	}
	c.apply(n, nk)
	c.sessionAnswered(req, res)
	return nil
}

// exchangeState is what holds a Call's reinviteMu: the offer/answer exchange of one re-INVITE.
type exchangeState int

const (
	exchangeNone      exchangeState = iota // free, or being released
	exchangeOffering                       // our re-INVITE (reinviteKeys)
	exchangeAnswering                      // a peer's re-INVITE we have not answered yet
	exchangeAnswered                       // our 2xx to a peer's re-INVITE is out; its ACK awaited
)

func (c *Call) setExchange(e exchangeState) {
	c.mu.Lock()
	c.exchange = e
	c.mu.Unlock()
}

// waitExchange decides for req, a re-INVITE that found reinviteMu held, whether to wait for it
// rather than answer 491. It waits when the holder is the handler of a previous re-INVITE of
// the peer whose 2xx is out (or a holder on its way out): that offer/answer exchange was
// complete when our answer went out (RFC 3264 §4), so RFC 3261 §14.2's 491 (our own INVITE
// pending) does not apply; and a UAC sends the ACK for a 2xx before any later INVITE in the
// dialog (§13.2.2.4), so req stands for that ACK, which may come by another path and later:
// after a large re-INVITE went by TCP, its ACK goes by UDP (§18.1.1) and can arrive, or be
// handled, after the next re-INVITE. The ACK itself is then ignored when it comes.
func (c *Call) waitExchange(req *sip.Request) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.exchange {
	case exchangeNone:
		return true
	case exchangeAnswered:
		if req.CSeq() == nil || req.CSeq().SeqNo <= c.ackCSeq {
			return false
		}
		if c.ackWait != nil {
			close(c.ackWait)
			c.ackWait = nil
		}
		return true
	}
	return false // our own re-INVITE (glare), or the peer's previous one not answered yet
}

// onReinvite answers a re-INVITE (RFC 3261 §14.2) on an established call: the offer must keep
// the codec; its direction is mirrored (hold/resume by the peer). It may keep the keys, or
// carry new ones (a rekey, keymgmt.Negotiator.AnswerReoffer), which a new media address
// requires (RFC 4568 §7.1.4).
func (c *Call) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	agent := c.p.addr.String()
	// A refusal ends the offer/answer exchange: the lock goes before the response does, so
	// that the peer's next re-INVITE, sent as soon as it has the response, is not met by 491.
	unlock := func() {}
	refuse := func(code int, reason, text string) {
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		if text != "" {
			res.AppendHeader(sip.NewHeader("Warning", warning(warnMiscellaneous, agent, text)))
		}
		unlock()
		tx.Respond(res)
	}
	if !c.reinviteMu.TryLock() {
		if !c.waitExchange(req) {
			refuse(sip.StatusRequestPending, "Request Pending", "") // RFC 3261 §14.2 glare
			return
		}
		c.reinviteMu.Lock() // the previous exchange's handler is ending
	}
	c.setExchange(exchangeAnswering)
	unlock = sync.OnceFunc(func() {
		c.setExchange(exchangeNone)
		c.reinviteMu.Unlock()
	})
	defer unlock()
	// Ready once our answer is out and media runs: a re-INVITE may overtake the processing of
	// the ACK for our 2xx (it follows the ACK on the wire, but handlers run concurrently).
	c.mu.Lock()
	ready := c.media != nil && c.media.stream != nil && c.neg != nil
	c.mu.Unlock()
	if !ready {
		refuse(sip.StatusRequestPending, "Request Pending", "")
		return
	}
	if tooSmall, err := c.p.sessionTooSmall(req); err != nil {
		refuse(sip.StatusBadRequest, "Bad Request", err.Error())
		return
	} else if tooSmall != nil {
		unlock()
		tx.Respond(tooSmall) // RFC 4028 §9: 422 with our Min-SE
		return
	}
	offer, err := sdpoa.Parse(req.Body())
	if err != nil {
		refuse(sip.StatusNotAcceptableHere, "Not Acceptable Here", err.Error())
		return
	}
	c.mu.Lock()
	cur, keys := c.neg, c.keys
	c.mu.Unlock()
	idx, err := sdpoa.SelectAudio(offer, sdpoa.Local{Formats: []sdpoa.Format{cur.Codec}})
	if err != nil || idx != cur.Index {
		refuse(sip.StatusNotAcceptableHere, "Not Acceptable Here", "re-offer must keep the audio stream and codec")
		return
	}
	om := &offer.Media[idx]
	// Active keys repeated: kept (hold, resume). New keys: answered like an initial offer,
	// with a KMS round trip for a new TRANSFER_INIT, outside the call's lock.
	lines, nk, err := c.p.keys.AnswerReoffer(c.ctx, keys, om.Protected(), keymgmt.Lines{Session: offer.Attributes, Media: om.Attributes}, c.keyStream(strings.EqualFold(req.Transport(), "TLS")))
	rekeyed := err == nil && nk != keys
	if err == nil && keys != nil && !rekeyed && om.Addr != cur.Remote {
		// RFC 4568 §7.1.4: a new address or port must come with a new master key.
		refuse(sip.StatusNotAcceptableHere, "Not Acceptable Here", "media address changed without a new master key (RFC 4568 §7.1.4)")
		return
	}
	if err != nil {
		var ke *keymgmt.Error
		if errors.As(err, &ke) {
			res := sip.NewResponseFromRequest(req, ke.Status, "Not Acceptable Here", nil)
			res.AppendHeader(sip.NewHeader("Warning", ke.Warning(agent)))
			unlock()
			tx.Respond(res)
			return
		}
		refuse(sip.StatusNotAcceptableHere, "Not Acceptable Here", "key management failed")
		return
	}
	c.mu.Lock()
	l := c.sessionLocal(c.baseDir, lines)
	c.origin.SessionVersion++
	ans, n, err := sdpoa.Answer(offer, c.origin, l)
	c.mu.Unlock()
	var body []byte
	if err == nil {
		body, err = ans.Marshal()
	}
	if err != nil {
		refuse(sip.StatusNotAcceptableHere, "Not Acceptable Here", err.Error())
		return
	}
	if rekeyed {
		// The answerer's order (RFC 3264 §8, RFC 4568 §7.1.4): receive with the offerer's new
		// key from the moment the answer goes out (the offerer may switch as soon as it has
		// it; our old receive context stays for its packets in flight), but send with our new
		// key only once the ACK shows that the offerer has our answer and so our new key.
		if err := c.installKeys(nk, false, true); err != nil {
			refuse(sip.StatusNotAcceptableHere, "Not Acceptable Here", "new SRTP keys could not be installed")
			return
		}
	}
	// switchSend completes the offer/answer: after the ACK, or when none comes (the answer was
	// sent, so per RFC 3264 the offerer holds it; the new receive key is in place either way).
	switchSend := func() {
		if rekeyed {
			if err := c.installKeys(nk, true, false); err != nil {
				c.log.Warn("rekey: send key not switched", "error", err)
			}
		}
		c.apply(n, nk)
	}
	res := sip.NewSDPResponseFromRequest(req, body)
	res.AppendHeader(&c.p.dua.ContactHDR)
	c.sessionAnswer(req, res)
	wait := make(chan struct{})
	c.mu.Lock()
	c.ackCSeq, c.ackWait = req.CSeq().SeqNo, wait
	c.exchange = exchangeAnswered
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.ackWait == wait {
			c.ackWait = nil
		}
		c.mu.Unlock()
	}()
	// The TU retransmits a 2xx until the ACK (RFC 3261 §13.3.1.4, RFC 6026).
	interval, giveUp := sip.T1, time.After(64*sip.T1)
	for {
		if err := tx.Respond(res); err != nil {
			c.log.Debug("re-INVITE 2xx not sent", "error", err)
		}
		select {
		case <-wait:
			switchSend()
			return
		case <-time.After(interval):
			interval = min(2*interval, sip.T2)
		case <-giveUp:
			c.log.Warn("no ACK for the re-INVITE 2xx")
			if rekeyed {
				switchSend()
			}
			return
		case <-c.done:
			return
		}
	}
}
