package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/keymgmt"
)

// Dial places a call to target (a SIP URI such as sip:bob@127.0.0.1:5060): the INVITE with our
// offer is sent before Dial returns; progress arrives on the Call's Events. Cancelling ctx
// before the answer cancels the call (CANCEL, RFC 3261 §9.1).
func (p *Phone) Dial(ctx context.Context, target string, opts CallOptions) (*Call, error) {
	var to sip.Uri
	if err := sip.ParseUri(target, &to); err != nil {
		return nil, fmt.Errorf("client: target %q: %w", target, err)
	}
	var idb [16]byte
	if _, err := io.ReadFull(p.cfg.Rand, idb[:]); err != nil {
		return nil, fmt.Errorf("client: Call-ID: %w", err)
	}
	callID := hex.EncodeToString(idb[:])
	c := p.newCall(true, callID, to.String())
	if err := p.track(c); err != nil {
		return nil, err
	}
	ms, err := p.openMedia()
	if err != nil {
		c.end(Local, 0, err.Error(), "")
		return nil, err
	}
	c.mu.Lock()
	c.media = ms
	c.mu.Unlock()
	// Transport tls carries every request of ours over TLS (RFC 3261 §26.2); udp and tcp carry
	// the SDP in the clear.
	stream := keymgmt.Stream{Local: p.aor.String(), Remote: to.String(), SecureSignalling: p.cfg.Transport == "tls"}
	off, err := p.keys.Offer(ctx, stream)
	if err != nil {
		c.end(Local, 0, "key management: "+err.Error(), "")
		return nil, fmt.Errorf("client: %w", err)
	}
	switch {
	case off.Fallback != "":
		c.log.Warn("offering plain RTP", "reason", off.Fallback)
	case off.Protected && p.keys.Policy().Mode == keymgmt.ModeSDES && !stream.SecureSignalling:
		c.log.Warn(sdesWithoutTLSWarning, "transport", p.cfg.Transport)
	}
	c.mu.Lock()
	c.origin, c.baseDir = p.origin(), opts.Direction
	c.mu.Unlock()
	d := &dialing{ctx: ctx, to: to, opts: opts, stream: stream, fromTag: sip.GenerateTagN(16),
		sessionAsk: p.cfg.SessionExpires, minSE: p.minSE}
	if t := p.cfg.NoAnswerTimeout; t > 0 {
		d.noAnswerAt = time.Now().Add(t)
	}
	if err := c.sendInvite(d, off); err != nil {
		c.end(Local, 0, err.Error(), "")
		return nil, err
	}
	return c, nil
}

// dialing is what an outgoing call needs to (re)send its INVITE.
type dialing struct {
	ctx     context.Context // the caller's: cancelling it cancels the call before the answer
	to      sip.Uri
	opts    CallOptions
	stream  keymgmt.Stream
	fromTag string
	cseq    uint32 // of the last INVITE sent
	// noAnswerAt ends the wait for an answer (Config.NoAnswerTimeout; zero: none). It counts
	// from the first INVITE, across a challenge or a second offer.
	noAnswerAt time.Time
	// sessionAsk and minSE are the Session-Expires and Min-SE we send (RFC 4028 §7.1), raised
	// once by a 422 (§7.4, retried422).
	sessionAsk, minSE time.Duration
	retried422        bool
}

// errNoAnswer cancels an INVITE at Config.NoAnswerTimeout.
var errNoAnswer = errors.New("no answer")

// sendInvite sends an INVITE with the offer of off and runs its transaction in the background.
func (c *Call) sendInvite(d *dialing, off *keymgmt.Offer) error {
	p := c.p
	c.mu.Lock()
	ms := c.media
	c.origin.SessionVersion++
	origin := c.origin
	c.mu.Unlock()
	lines := off.Lines()
	l := ms.local(!p.cfg.NoRTCPMux)
	l.Formats, l.Direction, l.Attributes, l.Proto = p.cfg.Formats, d.opts.Direction, lines.Media, sdpoa.ProtoAVP
	if off.Protected {
		l.Proto = sdpoa.ProtoSAVP
	}
	offer := sdpoa.NewOffer(origin, l, lines.Session)
	body, err := offer.Marshal()
	if err != nil {
		return err
	}
	to := d.to
	req := sip.NewRequest(sip.INVITE, to)
	aor := p.aor
	from := &sip.FromHeader{Address: sip.Uri{Scheme: aor.Scheme, User: aor.User, Host: aor.Host, Port: aor.Port}}
	from.Params = sip.NewParams()
	from.Params.Add("tag", d.fromTag)
	cid := sip.CallIDHeader(c.CallID)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: to.Scheme, User: to.User, Host: to.Host, Port: to.Port}})
	req.AppendHeader(&cid)
	if d.cseq != 0 {
		// A new INVITE of the same call after a refusal: same Call-ID, higher CSeq (§8.1.3.5).
		req.AppendHeader(&sip.CSeqHeader{SeqNo: d.cseq + 1, MethodName: sip.INVITE})
	}
	req.AppendHeader(sip.NewHeader("Allow", allow))
	if ppi := p.cfg.PreferredIdentity; ppi != "" {
		req.AppendHeader(sip.NewHeader("P-Preferred-Identity", ppi))
	}
	p.preloadRoute(req)
	c.sessionOffer(req, d.sessionAsk, d.minSE)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	p.outOfDialog(req)

	waitCtx, cancel := context.WithCancel(c.ctx)
	stop := context.AfterFunc(d.ctx, cancel)
	c.mu.Lock()
	if c.inviteSent.IsZero() {
		c.inviteSent = time.Now()
	}
	c.cancelInvite = cancel
	c.mu.Unlock()
	cs, err := p.dua.WriteInvite(waitCtx, req)
	if err != nil {
		stop()
		cancel()
		return fmt.Errorf("client: INVITE: %w", err)
	}
	d.cseq = req.CSeq().SeqNo
	c.mu.Lock()
	c.cs = cs
	c.mu.Unlock()
	c.log.Info("INVITE sent", "to", to.String(), "protected", off.Protected)
	go func() {
		defer stop()
		defer cancel()
		c.runOutgoing(waitCtx, d, off, offer)
	}()
	return nil
}

func warningOf(r *sip.Response) string {
	if r == nil {
		return ""
	}
	if h := r.GetHeader("Warning"); h != nil {
		return h.Value()
	}
	return ""
}

// runOutgoing waits for the final response (RFC 3261 §13.2.2) and sets the call up.
func (c *Call) runOutgoing(waitCtx context.Context, d *dialing, off *keymgmt.Offer, offer *sdpoa.Session) {
	c.mu.Lock()
	cs, ms := c.cs, c.media
	c.mu.Unlock()
	opts, stream := d.opts, d.stream
	defer cs.Close()
	// A 401 or 407 is answered once more with credentials (RFC 3261 §22.2, §22.3): sipgo's
	// transaction layer has ACKed the challenge in its own transaction (§17.1.1.3), and the new
	// INVITE gets a new branch and CSeq + 1 (§8.1.3.5). Kamailio challenges every INVITE so.
	user, pass := c.p.inviteCredentials()
	// inviteCtx ends the wait for the answer only: cancelling it sends CANCEL (§9.1).
	inviteCtx, stopInvite := context.WithCancelCause(waitCtx)
	defer stopInvite(nil)
	var noAnswer *time.Timer
	if !d.noAnswerAt.IsZero() {
		noAnswer = time.AfterFunc(time.Until(d.noAnswerAt), func() { stopInvite(errNoAnswer) })
	}
	// Early media (RFC 3960 §3, gateway model, kept simple): the SDP of the first 18x that
	// carries one is taken as the answer and the media starts at once; the 2xx must then
	// carry the same SDP (or none).
	var early struct {
		body []byte
		n    *sdpoa.Negotiated
		keys *keymgmt.Keys
	}
	err := cs.WaitAnswer(inviteCtx, sipgo.AnswerOptions{Username: user, Password: pass, OnResponse: func(r *sip.Response) error {
		if r.StatusCode != sip.StatusRinging && r.StatusCode != sip.StatusSessionInProgress {
			return nil
		}
		ev := Event{Kind: EventRinging, Code: r.StatusCode, Reason: r.Reason}
		if body := r.Body(); len(body) > 0 && early.body == nil {
			n, keys, err := c.processAnswer(waitCtx, off, offer, body, stream)
			if err == nil {
				err = c.startMedia(ms, n, keys, opts)
			}
			if err != nil {
				// Not fatal: the 2xx may still bring a usable answer.
				c.log.Warn("early media SDP refused", "code", r.StatusCode, "error", err)
			} else {
				early.body, early.n, early.keys = bytes.Clone(body), n, keys
				ev.EarlyMedia = true
			}
		}
		c.emit(ev)
		return nil
	}})
	if noAnswer != nil {
		noAnswer.Stop()
	}
	if h := cs.InviteRequest.CSeq(); h != nil {
		d.cseq = max(d.cseq, h.SeqNo)
	}
	if err != nil {
		var de *sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &de) && de.Res.StatusCode == sip.StatusNotAcceptableHere && off.Protected &&
			c.p.keys.Policy().Requirement == keymgmt.Preferred && inviteCtx.Err() == nil && early.body == nil:
			// SRTP is preferred, not required: offer plain RTP instead (RFC 3264 §5: without
			// capability negotiation an offer has one proto, so this takes a second INVITE).
			c.log.Info("protected offer refused; offering RTP/AVP", "warning", warningOf(de.Res))
			if err := c.sendInvite(d, &keymgmt.Offer{}); err != nil {
				c.end(Local, 0, err.Error(), "")
			}
		case errors.As(err, &de) && de.Res.StatusCode == 422 && !d.retried422 && inviteCtx.Err() == nil && early.body == nil:
			// RFC 4028 §7.4: retry once with the Min-SE the 422 demands, as interval and
			// Min-SE both; a fresh offer, since a MIKEY ticket is for one use.
			minSE, merr := minSEOf(de.Res)
			if merr != nil || de.Res.GetHeader("Min-SE") == nil || minSE <= d.sessionAsk {
				c.end(Remote, de.Res.StatusCode, de.Res.Reason, warningOf(de.Res))
				return
			}
			c.log.Info("session interval too small; retrying (RFC 4028 §7.4)", "min_se", minSE)
			d.retried422, d.sessionAsk, d.minSE = true, minSE, max(d.minSE, minSE)
			off2, oerr := c.p.keys.Offer(d.ctx, d.stream)
			if oerr == nil {
				oerr = c.sendInvite(d, off2)
			}
			if oerr != nil {
				c.end(Local, 0, oerr.Error(), "")
			}
		case errors.As(err, &de):
			c.end(Remote, de.Res.StatusCode, de.Res.Reason, warningOf(de.Res))
		case inviteCtx.Err() != nil:
			// We cancelled (hang-up, the caller's context, or no answer). A 2xx that crossed
			// the CANCEL still needs ACK and BYE (§9.1, §15).
			timedOut := errors.Is(context.Cause(inviteCtx), errNoAnswer) && waitCtx.Err() == nil
			if r := cs.InviteResponse; r != nil && r.IsSuccess() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				if cs.Ack(ctx) == nil {
					cs.Bye(ctx)
				}
				c.end(Local, 0, "cancelled (answer crossed CANCEL)", "")
				return
			}
			code, reason := sip.StatusRequestTerminated, "Request Terminated"
			if r := cs.InviteResponse; r != nil && r.StatusCode >= 300 {
				code, reason = r.StatusCode, r.Reason
			}
			if timedOut {
				c.log.Info("no answer; INVITE cancelled", "timeout", c.p.cfg.NoAnswerTimeout)
				reason = "no answer (" + reason + ")"
			}
			c.end(Local, code, reason, "")
		default:
			c.end(Local, 0, err.Error(), "")
		}
		return
	}
	res := cs.InviteResponse
	if to := res.To(); to != nil {
		firstTag, _ := to.Params.Get("tag")
		c.watchForks(cs, firstTag)
	}
	var n *sdpoa.Negotiated
	var keys *keymgmt.Keys
	var aerr error
	if early.body != nil {
		n, keys = early.n, early.keys
		if b := res.Body(); len(b) > 0 && !bytes.Equal(bytes.TrimSpace(b), bytes.TrimSpace(early.body)) {
			aerr = errors.New("2xx SDP differs from the early media answer (RFC 3960 §3)")
		}
	} else {
		n, keys, aerr = c.processAnswer(waitCtx, off, offer, res.Body(), stream)
	}
	c.p.register(c.p.uac, cs.ID, c)
	if err := cs.Ack(c.ctx); err != nil {
		c.end(Local, 0, "ACK: "+err.Error(), "")
		return
	}
	if aerr != nil {
		// An unacceptable answer: ACK, then BYE (RFC 3261 §13.2.2.4, RFC 3264 §7).
		c.log.Warn("answer refused", "error", aerr)
		ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
		defer cancel()
		cs.Bye(ctx)
		warn := ""
		var ke *keymgmt.Error
		if errors.As(aerr, &ke) {
			warn = ke.Warning(c.p.addr.String())
		}
		c.end(Local, 0, "answer refused: "+aerr.Error(), warn)
		return
	}
	c.markAnswered()
	c.sessionAnswered(cs.InviteRequest, res)
	// startMedia sets Keys and Negotiated; EventAnswered follows it, so that a reader of the
	// event finds them set.
	if early.body != nil {
		// Media already runs since the 18x.
	} else if err := c.startMedia(ms, n, keys, opts); errors.Is(err, ErrCallEnded) {
		return
	} else if err != nil {
		ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
		defer cancel()
		cs.Bye(ctx)
		c.end(Local, 0, err.Error(), "")
		return
	}
	c.emitAnswered(res.StatusCode, res.Reason)
}

func (c *Call) processAnswer(ctx context.Context, off *keymgmt.Offer, offer *sdpoa.Session, body []byte, stream keymgmt.Stream) (*sdpoa.Negotiated, *keymgmt.Keys, error) {
	if len(body) == 0 {
		return nil, nil, errors.New("2xx without SDP answer")
	}
	ans, err := sdpoa.Parse(body)
	if err != nil {
		return nil, nil, err
	}
	n, err := sdpoa.AcceptAnswer(offer, ans)
	if err != nil {
		return nil, nil, err
	}
	keys, err := off.Accept(ctx, n.RemoteMedia.Protected(),
		keymgmt.Lines{Session: ans.Attributes, Media: n.RemoteMedia.Attributes}, stream)
	if err != nil {
		return nil, nil, err
	}
	return n, keys, nil
}
