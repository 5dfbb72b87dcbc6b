package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/keymgmt"
)

// allow lists the methods we handle (RFC 3261 §20.5).
const allow = "INVITE, ACK, CANCEL, BYE, OPTIONS"

// Warning codes for media refusals (RFC 3261 §20.43).
const (
	warnMediaTypeNotAvailable = 304
	warnIncompatibleFormat    = 305
	warnMiscellaneous         = 399
)

// refusal is a final response to an INVITE we will not take.
type refusal struct {
	code    int
	reason  string
	warning string
}

func (r *refusal) Error() string { return fmt.Sprintf("%d %s (%s)", r.code, r.reason, r.warning) }

// warning formats a Warning header value (RFC 3261 §20.43) with warn-text quoted and escaped.
func warning(code int, agent, text string) string {
	var b strings.Builder
	for _, r := range text {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
		default:
			b.WriteRune(r)
		}
		if b.Len() > 200 {
			break
		}
	}
	return fmt.Sprintf("%d %s \"%s\"", code, agent, b.String())
}

func (p *Phone) handlers() {
	p.srv.OnInvite(p.onInvite)
	p.srv.OnAck(p.onAck)
	p.srv.OnBye(p.onBye)
	p.srv.OnOptions(p.onOptions)
	p.srv.OnCancel(func(req *sip.Request, tx sip.ServerTransaction) {
		// A CANCEL matching a pending INVITE is handled by sipgo's transaction layer (200, then
		// 487 to the INVITE); anything reaching here matches nothing (RFC 3261 §9.2).
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
	})
}

func (p *Phone) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", allow))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	tx.Respond(res)
}

// dialogCall finds the call of an in-dialog request, whichever side set the dialog up.
func (p *Phone) dialogCall(req *sip.Request) *Call {
	if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
		if c := p.lookup(p.uas, id); c != nil {
			return c
		}
	}
	if id, err := sip.DialogIDFromRequestUAC(req); err == nil {
		return p.lookup(p.uac, id)
	}
	return nil
}

func (p *Phone) onAck(req *sip.Request, tx sip.ServerTransaction) {
	c := p.dialogCall(req)
	if c == nil || req.CSeq() == nil {
		return
	}
	c.mu.Lock()
	if c.ackWait != nil && req.CSeq().SeqNo == c.ackCSeq {
		close(c.ackWait)
		c.ackWait = nil
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	if c.outgoing {
		return
	}
	c.mu.Lock()
	ss := c.ss
	c.mu.Unlock()
	if err := ss.ReadAck(req, tx); err != nil {
		c.log.Debug("ACK not for our 2xx", "error", err)
	}
}

func (p *Phone) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
		if c := p.lookup(p.uas, id); c != nil {
			c.mu.Lock()
			ss := c.ss
			c.remoteBye = true
			c.mu.Unlock()
			if err := ss.ReadBye(req, tx); err != nil {
				tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
				return
			}
			c.end(Remote, 0, "BYE", "")
			return
		}
	}
	if id, err := sip.DialogIDFromRequestUAC(req); err == nil {
		if c := p.lookup(p.uac, id); c != nil {
			c.mu.Lock()
			cs := c.cs
			c.remoteBye = true
			c.mu.Unlock()
			if err := cs.ReadBye(req, tx); err != nil {
				c.log.Debug("BYE response failed", "error", err)
			}
			c.end(Remote, 0, "BYE", "")
			return
		}
	}
	tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
}

// onInvite runs one incoming INVITE server transaction (RFC 3261 §13.3): sipgo terminates the
// transaction when this returns, so it stays until the final response.
func (p *Phone) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		// A re-INVITE within a dialog (RFC 3261 §14.2).
		if c := p.dialogCall(req); c != nil {
			c.onReinvite(req, tx)
			return
		}
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	arrived := time.Now()
	ds, err := p.dua.ReadInvite(req, tx)
	if err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
		return
	}
	defer ds.Close()
	if err := ds.Respond(sip.StatusTrying, "Trying", nil); err != nil {
		return
	}
	from := ""
	if f := req.From(); f != nil {
		from = f.Address.String()
	}
	callID := ""
	if h := req.CallID(); h != nil {
		callID = h.Value()
	}
	c := p.newCall(false, callID, from)
	if err := p.track(c); err != nil {
		ds.Respond(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil)
		return
	}
	refuse := func(r *refusal) {
		var hdrs []sip.Header
		if r.warning != "" {
			hdrs = append(hdrs, sip.NewHeader("Warning", r.warning))
		}
		c.log.Info("INVITE refused", "code", r.code, "warning", r.warning)
		ds.Respond(r.code, r.reason, nil, hdrs...)
		c.end(Local, r.code, r.reason, r.warning)
	}
	if tooSmall, err := p.sessionTooSmall(req); err != nil || tooSmall != nil {
		// RFC 4028 §9: 422 with our Min-SE before anything else (no ringing, no KMS).
		code, reason := 422, "Session Interval Too Small"
		if err != nil {
			code, reason = sip.StatusBadRequest, "Bad Request"
			c.log.Info("INVITE refused", "code", code, "error", err)
			ds.Respond(code, reason, nil, sip.NewHeader("Warning", warning(warnMiscellaneous, p.addr.String(), err.Error())))
		} else {
			c.log.Info("INVITE refused", "code", code, "min_se", p.minSE)
			ds.Respond(code, reason, nil, tooSmall.GetHeader("Min-SE"))
		}
		c.end(Local, code, reason, "")
		return
	}
	// The offer's SDP came over req's transport; our answer goes back the same way.
	stream := keymgmt.Stream{Local: p.aor.String(), Remote: from, SecureSignalling: strings.EqualFold(req.Transport(), "TLS")}
	offer, idx, lines, keys, rf := p.processOffer(c.ctx, req.Body(), stream)
	if rf != nil {
		refuse(rf)
		return
	}
	if keys != nil && keys.Method == "sdes" && !stream.SecureSignalling {
		c.log.Warn(sdesWithoutTLSWarning, "transport", strings.ToLower(req.Transport()))
	}
	ms, err := p.openMedia()
	if err != nil {
		refuse(&refusal{code: sip.StatusInternalServerError, reason: "Server Internal Error"})
		return
	}
	c.mu.Lock()
	c.ss, c.media = ds, ms
	c.mu.Unlock()
	p.register(p.uas, ds.ID, c)
	if err := ds.Respond(sip.StatusRinging, "Ringing", nil); err != nil {
		c.end(Local, 0, err.Error(), "")
		return
	}
	c.emit(Event{Kind: EventRinging, Code: sip.StatusRinging, Reason: "Ringing"})

	var d decision
	if p.cfg.AutoAnswer != nil {
		d = decision{code: sip.StatusOK, opts: *p.cfg.AutoAnswer}
	} else {
		var noAnswer <-chan time.Time
		if t := p.cfg.NoAnswerTimeout; t > 0 {
			timer := time.NewTimer(time.Until(arrived.Add(t)))
			defer timer.Stop()
			noAnswer = timer.C
		}
		select {
		case p.incoming <- c:
		default:
			refuse(&refusal{code: sip.StatusBusyHere, reason: "Busy Here"})
			return
		}
		select {
		case d = <-c.decide:
		case <-ds.Context().Done():
			// CANCEL: sipgo has answered it and sent 487 (RFC 3261 §9.2).
			if errors.Is(context.Cause(ds.Context()), sip.ErrTransactionCanceled) {
				c.end(Remote, sip.StatusRequestTerminated, "Request Terminated", "")
			} else {
				c.end(Remote, 0, "INVITE transaction ended", "")
			}
			return
		case <-c.ctx.Done():
			ds.Respond(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil)
			c.end(Local, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", "")
			return
		case <-noAnswer:
			// RFC 3261 §21.4.18: reached, but the callee is not available; the reason
			// phrase says why.
			c.log.Info("no answer; INVITE refused", "timeout", p.cfg.NoAnswerTimeout)
			ds.Respond(sip.StatusTemporarilyUnavailable, "No Answer", nil)
			c.end(Local, sip.StatusTemporarilyUnavailable, "no answer", "")
			return
		}
	}
	result := func(err error) {
		if d.result != nil {
			d.result <- err
		}
	}
	if d.code != sip.StatusOK {
		err := ds.Respond(d.code, d.reason, nil)
		c.end(Local, d.code, d.reason, "")
		result(err)
		return
	}
	l := ms.local(!p.cfg.NoRTCPMux)
	l.Formats, l.Direction, l.Attributes = p.cfg.Formats, d.opts.Direction, lines.Media
	c.mu.Lock()
	c.origin, c.baseDir = p.origin(), d.opts.Direction
	origin := c.origin
	c.mu.Unlock()
	ans, n, err := sdpoa.Answer(offer, origin, l)
	if err == nil && n.Index != idx {
		err = fmt.Errorf("m-line %d chosen, %d checked", n.Index, idx)
	}
	var body []byte
	if err == nil {
		body, err = ans.Marshal()
	}
	if err == nil {
		// The answerer may send media as soon as the answer is out (RFC 3264 §6).
		err = c.startMedia(ms, n, keys, d.opts)
	}
	if err != nil {
		ds.Respond(sip.StatusInternalServerError, "Server Internal Error", nil)
		c.end(Local, sip.StatusInternalServerError, err.Error(), "")
		result(err)
		return
	}
	// From the dialog's copy of the INVITE, which carries our To tag.
	res := sip.NewSDPResponseFromRequest(ds.InviteRequest, body)
	c.sessionAnswer(req, res)
	if err := ds.WriteResponse(res); err != nil {
		c.end(Local, 0, "2xx not acknowledged: "+err.Error(), "")
		result(err)
		return
	}
	c.markAnswered()
	c.emitAnswered(sip.StatusOK, "OK")
	c.log.Info("call answered")
	result(nil)
}

// sdesWithoutTLSWarning is logged once per call whose SDES keys cross signalling without TLS
// because the policy allows it (keymgmt.Policy.AllowSDESWithoutTLS).
const sdesWithoutTLSWarning = "SDES keys in SDP over signalling without TLS: anyone on the path can read them and decrypt the call (RFC 4568 §8.3)"

// processOffer checks an offer before we ring (RFC 4567 §3.1.1: key management failure aborts
// the setup with 488): SDP syntax, a usable audio m-line, and key management under the policy.
func (p *Phone) processOffer(ctx context.Context, body []byte, s keymgmt.Stream) (*sdpoa.Session, int, keymgmt.Lines, *keymgmt.Keys, *refusal) {
	agent := p.addr.String()
	na := func(code int, text string) *refusal {
		return &refusal{code: sip.StatusNotAcceptableHere, reason: "Not Acceptable Here", warning: warning(code, agent, text)}
	}
	if len(body) == 0 {
		return nil, 0, keymgmt.Lines{}, nil, na(warnMiscellaneous, "INVITE without SDP offer not supported")
	}
	offer, err := sdpoa.Parse(body)
	if err != nil {
		return nil, 0, keymgmt.Lines{}, nil, na(warnMiscellaneous, err.Error())
	}
	idx, err := sdpoa.SelectAudio(offer, sdpoa.Local{Formats: p.cfg.Formats})
	switch {
	case errors.Is(err, sdpoa.ErrNoAudio):
		return nil, 0, keymgmt.Lines{}, nil, na(warnMediaTypeNotAvailable, err.Error())
	case err != nil:
		return nil, 0, keymgmt.Lines{}, nil, na(warnIncompatibleFormat, err.Error())
	}
	om := &offer.Media[idx]
	lines, keys, err := p.keys.Answer(ctx, om.Protected(), keymgmt.Lines{Session: offer.Attributes, Media: om.Attributes}, s)
	if err != nil {
		var ke *keymgmt.Error
		if errors.As(err, &ke) {
			return nil, 0, keymgmt.Lines{}, nil, &refusal{code: ke.Status, reason: "Not Acceptable Here", warning: ke.Warning(agent)}
		}
		return nil, 0, keymgmt.Lines{}, nil, na(warnMiscellaneous, "key management failed")
	}
	return offer, idx, lines, keys, nil
}
