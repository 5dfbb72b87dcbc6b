package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
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

// apply takes a re-negotiated direction into use; the stream itself continues.
func (c *Call) apply(n *sdpoa.Negotiated) {
	c.mu.Lock()
	old := c.neg
	if old != nil && n.Remote != old.Remote {
		c.log.Warn("peer changed its media address in a re-INVITE; the stream keeps the latched one", "new", n.Remote)
	}
	c.neg = n
	if c.media != nil && c.media.stream != nil {
		c.media.stream.SetSending(n.Direction.Sends())
	}
	c.mu.Unlock()
	c.emit(Event{Kind: EventUpdated, Direction: n.Direction})
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

// reinvite sends a re-INVITE for dir. A 491 (the peer's own INVITE transaction is still open,
// RFC 3261 §14.1) is retried once after §14.1's wait: 2.1 to 4 s when we own the Call-ID
// (we placed the call), 0 to 2 s otherwise, in 10 ms steps.
func (c *Call) reinvite(ctx context.Context, dir sdpoa.Direction) error {
	c.reinviteMu.Lock()
	defer c.reinviteMu.Unlock()
	err := c.reinviteOnce(ctx, dir)
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
	return c.reinviteOnce(ctx, dir)
}

func (c *Call) reinviteOnce(ctx context.Context, dir sdpoa.Direction) error {
	c.mu.Lock()
	if !c.answered || c.media == nil || c.neg == nil {
		c.mu.Unlock()
		return errors.New("client: re-INVITE needs an established call with media")
	}
	off := c.p.keys.Reoffer(c.keys)
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
	ans, err := sdpoa.Parse(res.Body())
	if err != nil {
		return fmt.Errorf("client: re-INVITE answer: %w", err)
	}
	n, err := sdpoa.AcceptAnswer(offer, ans)
	if err == nil && !n.Codec.Same(c.Negotiated().Codec) {
		err = fmt.Errorf("codec changed to %s", n.Codec)
	}
	if err == nil {
		_, err = off.Accept(ctx, n.RemoteMedia.Protected(), keymgmt.Lines{Session: ans.Attributes, Media: n.RemoteMedia.Attributes}, keymgmt.Stream{})
	}
	if err != nil {
		return fmt.Errorf("client: re-INVITE answer refused: %w", err)
	}
	c.apply(n)
	c.sessionAnswered(req, res)
	return nil
}

// onReinvite answers a re-INVITE (RFC 3261 §14.2) on an established call: the offer must keep
// the stream's keys and codec; its direction is mirrored (hold/resume by the peer).
func (c *Call) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	agent := c.p.addr.String()
	refuse := func(code int, reason, text string) {
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		if text != "" {
			res.AppendHeader(sip.NewHeader("Warning", warning(warnMiscellaneous, agent, text)))
		}
		tx.Respond(res)
	}
	if !c.reinviteMu.TryLock() {
		refuse(sip.StatusRequestPending, "Request Pending", "") // RFC 3261 §14.2 glare
		return
	}
	defer c.reinviteMu.Unlock()
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
		tx.Respond(tooSmall) // RFC 4028 §9: 422 with our Min-SE
		return
	}
	offer, err := sdpoa.Parse(req.Body())
	if err != nil {
		refuse(sip.StatusNotAcceptableHere, "Not Acceptable Here", err.Error())
		return
	}
	c.mu.Lock()
	cur := c.neg
	idx, err := sdpoa.SelectAudio(offer, sdpoa.Local{Formats: []sdpoa.Format{cur.Codec}})
	if err != nil || idx != cur.Index {
		c.mu.Unlock()
		refuse(sip.StatusNotAcceptableHere, "Not Acceptable Here", "re-offer must keep the audio stream and codec")
		return
	}
	om := &offer.Media[idx]
	if c.keys != nil && om.Addr != cur.Remote {
		c.mu.Unlock()
		// RFC 4568 §7.1.4: a new address or port must come with a new master key.
		refuse(sip.StatusNotAcceptableHere, "Not Acceptable Here", "media address changed without a new master key (RFC 4568 §7.1.4)")
		return
	}
	lines, err := c.p.keys.Reanswer(c.keys, om.Protected(), keymgmt.Lines{Session: offer.Attributes, Media: om.Attributes})
	if err != nil {
		c.mu.Unlock()
		var ke *keymgmt.Error
		if errors.As(err, &ke) {
			res := sip.NewResponseFromRequest(req, ke.Status, "Not Acceptable Here", nil)
			res.AppendHeader(sip.NewHeader("Warning", ke.Warning(agent)))
			tx.Respond(res)
			return
		}
		refuse(sip.StatusNotAcceptableHere, "Not Acceptable Here", "key management failed")
		return
	}
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
	res := sip.NewSDPResponseFromRequest(req, body)
	res.AppendHeader(&c.p.dua.ContactHDR)
	c.sessionAnswer(req, res)
	wait := make(chan struct{})
	c.mu.Lock()
	c.ackCSeq, c.ackWait = req.CSeq().SeqNo, wait
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
			c.apply(n)
			return
		case <-time.After(interval):
			interval = min(2*interval, sip.T2)
		case <-giveUp:
			c.log.Warn("no ACK for the re-INVITE 2xx")
			return
		case <-c.done:
			return
		}
	}
}
