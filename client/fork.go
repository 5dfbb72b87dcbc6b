package client

import (
	"context"
	"reflect"
	"sync"
	"time"
	"unsafe"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// A forking proxy may deliver 2xx responses from several UASs to one INVITE, each with its own
// To-tag, i.e. its own dialog (RFC 3261 §13.2.2.4, §16.7 item 4 forwards every 2xx). We keep
// the first and, for each later one, ACK it and then BYE it, as §13.2.2.4 requires of a UAC
// that does not want the extra dialogs.
//
// sipgo v1.7.3 gives us no hook for this: its INVITE client transaction stays in the RFC 6026
// Accepted state, hands later 2xx responses (retransmissions and forks alike, since both match
// the INVITE's branch) to the transaction's OnRetransmission hook only, and
// DialogClientSession.WriteAck installs a hook there that answers any 200 with the ACK of the
// first dialog: the fork's UAS never gets its ACK nor a BYE. The transaction is an unexported
// field of DialogClientSession, read here once by reflection (inviteTxOf); should the field
// change, forked 2xx go unhandled again, and TestForked2xx fails.

// inviteTxOf returns the INVITE client transaction of cs, or nil.
func inviteTxOf(cs *sipgo.DialogClientSession) sip.ClientTransaction {
	f := reflect.ValueOf(cs).Elem().FieldByName("inviteTx")
	if !f.IsValid() || f.Type() != reflect.TypeFor[sip.ClientTransaction]() {
		return nil
	}
	tx, _ := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(sip.ClientTransaction)
	return tx
}

// watchForks hooks the INVITE transaction of cs so that 2xx responses from To-tags other than
// firstTag get ACK and BYE. Call it right after WaitAnswer, before the ACK of the first.
func (c *Call) watchForks(cs *sipgo.DialogClientSession, firstTag string) {
	tx := inviteTxOf(cs)
	if tx == nil {
		c.log.Warn("sipgo INVITE transaction not reachable; forked 2xx will not be released")
		return
	}
	invite := cs.InviteRequest
	var mu sync.Mutex
	seen := map[string]*sip.Request{} // To-tag -> its ACK, sent again for retransmitted 2xx
	tx.OnRetransmission(func(r *sip.Response) {
		if !r.IsSuccess() || r.To() == nil {
			return
		}
		tag, _ := r.To().Params.Get("tag")
		if tag == firstTag {
			return
		}
		mu.Lock()
		ack, again := seen[tag]
		if !again {
			ack = forkRequest(sip.ACK, invite, r, invite.CSeq().SeqNo)
			seen[tag] = ack
		}
		mu.Unlock()
		if err := c.p.cli.WriteRequest(ack.Clone()); err != nil {
			c.log.Warn("ACK of forked 2xx failed", "error", err)
			return
		}
		if again {
			return
		}
		c.log.Info("forked 2xx from a second UAS: ACK and BYE (RFC 3261 §13.2.2.4)")
		bye := forkRequest(sip.BYE, invite, r, invite.CSeq().SeqNo+1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
			defer cancel()
			if res, err := c.p.cli.Do(ctx, bye); err != nil {
				c.log.Warn("BYE of forked dialog failed", "error", err)
			} else if !res.IsSuccess() {
				c.log.Info("BYE of forked dialog answered", "code", res.StatusCode)
			}
		}()
	})
}

// forkRequest builds an ACK (cseq of the INVITE) or BYE (cseq + 1) in the dialog that the 2xx
// r set up (RFC 3261 §12.1.2: remote target from its Contact, route set from its Record-Route
// reversed; §13.2.2.4 for the ACK).
func forkRequest(method sip.RequestMethod, invite *sip.Request, r *sip.Response, cseq uint32) *sip.Request {
	target := invite.Recipient
	if ct := r.Contact(); ct != nil {
		target = ct.Address
	}
	req := sip.NewRequest(method, *target.Clone())
	req.AppendHeader(sip.HeaderClone(invite.From()))
	req.AppendHeader(sip.HeaderClone(r.To()))
	req.AppendHeader(sip.HeaderClone(invite.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	rr := r.GetHeaders("Record-Route")
	for i := len(rr) - 1; i >= 0; i-- {
		req.AppendHeader(sip.NewHeader("Route", rr[i].Value()))
	}
	if len(rr) > 0 {
		if rt := req.Route(); rt != nil && !rt.Address.UriParams.Has("lr") {
			req.Recipient = rt.Address // strict routing (§12.2.1.1)
		}
	}
	req.SetTransport(invite.Transport())
	req.SetBody(nil)
	return req
}
