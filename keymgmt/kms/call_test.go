package kms_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"

	"github.com/pion/srtp/v2"

	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// seedCounter gives each TRANSFER_INIT its own deterministic random source (new CSB ID and RANDRi).
var seedCounter atomic.Uint32

// offer is the caller's side of one call: the ticket keys and the TRANSFER_INIT sent.
type offer struct {
	tk     *kms.Ticket
	trInit *mikey.Message
	sp     *mikey.SP
}

// answer is one callee device's side: its resolved keys and SRTP sessions, and the TRANSFER_RESP.
type answer struct {
	res    *kms.Resolution
	trResp *mikey.Message
	srtp   []mikey.SRTPCryptoSession
}

func requestTicket(t *testing.T, caller *ue, flags mikey.TicketFlags, to ...string) *kms.Ticket {
	t.Helper()
	var rs []*mikey.IDR
	for _, x := range to {
		rs = append(rs, idr(mikey.IDRoleR, x))
	}
	tk, err := caller.kc.RequestTicket(context.Background(), kms.TicketRequest{Initiator: idr(mikey.IDRoleI, caller.impu),
		Responders: rs, Flags: flags})
	must(t, err, "RequestTicket")
	return tk
}

// transferInit builds the caller's TRANSFER_INIT (RFC 6043 §4.2.2.1) for one SRTP crypto session.
func transferInit(t *testing.T, e *env, caller *ue, tk *kms.Ticket, callee string) *offer {
	t.Helper()
	sp, err := mikey.SRTPPolicyFor(1, srtp.ProtectionProfileAes128CmHmacSha1_80)
	must(t, err, "SRTPPolicyFor")
	now, err := mikey.NewTNTPUTC(e.clk.Now())
	must(t, err, "T")
	spi := tk.Resp.Keys.Keys[0].SPI
	m, _, err := mikey.BuildTransferInit(mikey.TransferInitParams{PRF: mikey.PRFHMACSHA256, T: now,
		IDRi: idr(mikey.IDRoleI, caller.impu), IDRr: idr(mikey.IDRoleR, callee),
		CryptoSessions: []mikey.GenericIDEntry{{CSID: 1, ProtType: mikey.ProtSRTP, PolicyNos: []uint8{1},
			SessionData: mikey.SRTPSessionData(0x11223344, false, 0, 0), SPI: spi}},
		SPs: []*mikey.SP{sp}, Ticket: tk.Resp.Ticket, Keys: tk.Resp.Keys, MACAlg: mikey.MACHMACSHA256256, Rand: newRand(byte(seedCounter.Add(1)))})
	must(t, err, "BuildTransferInit")
	return &offer{tk: tk, trInit: m, sp: sp}
}

// answerCall is the callee: early checks, resolve at the KMS, verify TRANSFER_INIT, answer.
func answerCall(t *testing.T, e *env, callee *ue, o *offer) (*answer, error) {
	t.Helper()
	rx, err := mikey.ParseMessage(o.trInit.Raw)
	must(t, err, "parse TRANSFER_INIT")
	if _, err := mikey.CheckTransferInit(rx); err != nil {
		t.Fatalf("CheckTransferInit: %v", err)
	}
	res, err := callee.kc.ResolveTicket(context.Background(), idr(mikey.IDRoleR, callee.impu), rx.TICKET())
	if err != nil {
		return nil, err
	}
	ti, err := mikey.VerifyTransferInit(rx, res.Resp.Keys.MPKi)
	must(t, err, "VerifyTransferInit")
	mpk, idrr, randRkms := res.Resp.Keys.MPKi, idr(mikey.IDRoleR, callee.impu), []byte(nil)
	if rx.TICKET().Policy.Flags.Has(mikey.FlagI) {
		mpk, idrr, randRkms = res.Resp.Keys.MPKr, res.Resp.IDRr, res.Resp.RANDRkms
	}
	now, _ := mikey.NewTNTPUTC(e.clk.Now())
	cs := ti.HDR.GenericIDs
	resp, _, err := mikey.BuildTransferResp(mikey.TransferRespParams{Init: ti, T: now, IDRr: idrr, RANDRkms: randRkms,
		CryptoSessions: cs, MPK: mpk, MACAlg: mikey.MACHMACSHA256256, Rand: newRand(10)})
	must(t, err, "BuildTransferResp")
	ss, err := mikey.SRTPSessions(mikey.SRTPKeying{HDR: resp.HDR, SPs: ti.SPs, Keys: res.Resp.Keys.Keys, Ticket: true,
		Flags: rx.TICKET().Policy.Flags, RANDRi: ti.RANDRi})
	must(t, err, "callee SRTPSessions")
	return &answer{res: res, trResp: resp, srtp: ss}, nil
}

// callerKeys is the caller on TRANSFER_RESP: verify with the ticket keys (forking them with the
// echoed modifier) and derive the SRTP sessions.
func callerKeys(t *testing.T, o *offer, a *answer) []mikey.SRTPCryptoSession {
	t.Helper()
	m, err := mikey.ParseMessage(a.trResp.Raw)
	must(t, err, "parse TRANSFER_RESP")
	tr, err := mikey.VerifyTransferResp(m, o.trInit, o.tk.Resp.Keys)
	must(t, err, "VerifyTransferResp")
	ti, _ := mikey.CheckTransferInit(o.trInit)
	ss, err := mikey.SRTPSessions(mikey.SRTPKeying{HDR: m.HDR, SPs: ti.SPs, Keys: tr.Keys.Keys, Ticket: true,
		Flags: o.tk.Resp.Ticket.Policy.Flags, RANDRi: ti.RANDRi, RANDRr: tr.RANDRr})
	must(t, err, "caller SRTPSessions")
	return ss
}

func sameSRTP(a, b []mikey.SRTPCryptoSession) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].MasterKey, b[i].MasterKey) || !bytes.Equal(a[i].MasterSalt, b[i].MasterSalt) ||
			!bytes.Equal(a[i].MKI, b[i].MKI) || a[i].Profile != b[i].Profile {
			return false
		}
	}
	return true
}

// srtpRoundTrip protects one RTP packet with the caller's keys and unprotects it with the callee's.
func srtpRoundTrip(t *testing.T, tx, rx mikey.SRTPCryptoSession) {
	t.Helper()
	ctx := func(s mikey.SRTPCryptoSession) *srtp.Context {
		c, err := srtp.CreateContext(s.MasterKey, s.MasterSalt, s.Profile, srtp.MasterKeyIndicator(s.MKI))
		must(t, err, "srtp context")
		return c
	}
	pkt := []byte{0x80, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 'h', 'e', 'l', 'l', 'o'}
	enc, err := ctx(tx).EncryptRTP(nil, pkt, nil)
	must(t, err, "EncryptRTP")
	dec, err := ctx(rx).DecryptRTP(nil, enc, nil)
	must(t, err, "DecryptRTP")
	if !bytes.Equal(dec, pkt) {
		t.Fatal("SRTP round trip changed the packet")
	}
}
