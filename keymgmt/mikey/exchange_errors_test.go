package mikey

import (
	"testing"
)

// TestVerifierRules changes one thing in a received message, re-seals its MAC with the right key
// (so that only the rule under test can fail) and checks the ErrNo the verifier answers with.
func TestVerifierRules(t *testing.T) {
	fk := newFlow(t, flowCfgs[1]) // forking, G
	f0 := newFlow(t, flowCfgs[0]) // no forking, no G, no KEMACs allowed
	sealed := func(wire []byte, excl bool, key []byte, mutate func(*Message), extra func(*Message) [][]byte) *Message {
		t.Helper()
		m := mustParse(t, wire)
		mutate(m)
		var ex [][]byte
		if extra != nil {
			ex = extra(m)
		}
		m.Raw = nil
		if _, err := sealV(m, excl, lastPayload(m).(*V), key, ex...); err != nil {
			t.Fatalf("reseal: %v", err)
		}
		return mustParse(t, m.Raw)
	}
	reqIDs := func(m *Message) [][]byte { return [][]byte{idData(m.IDR(IDRoleI)), idData(m.IDR(IDRoleKMS))} }
	reqInitKey := fk.reqInitKeys.Auth
	ri, err := VerifyRequestInitPSK(mustParse(t, fk.reqInit.Raw), fk.pskI)
	if err != nil {
		t.Fatal(err)
	}
	rrKey := fk.rr.MsgKeys.Auth
	tr0Key := f0.tr.MsgKeys.Auth
	rsrKey := fk.rsr.MsgKeys.Auth
	insertBeforeV := func(m *Message, p Payload) {
		n := len(m.Payloads)
		m.Payloads = append(m.Payloads[:n-1:n-1], p, m.Payloads[n-1])
	}
	removeType := func(m *Message, typ PayloadType) {
		var out []Payload
		for _, p := range m.Payloads {
			if p.PayloadType() != typ {
				out = append(out, p)
			}
		}
		m.Payloads = out
	}
	for _, c := range []struct {
		name   string
		verify func() error
		want   ErrNo
	}{
		{"REQUEST_INIT with an SP (Empty map)", func() error {
			m := sealed(fk.reqInit.Raw, false, reqInitKey, func(m *Message) { insertBeforeV(m, srtpSP(1)) }, reqIDs)
			_, err := VerifyRequestInitPSK(m, fk.pskI)
			return err
		}, ErrInvalidSP},
		{"REQUEST_INIT with a second T", func() error {
			m := sealed(fk.reqInit.Raw, false, reqInitKey, func(m *Message) { insertBeforeV(m, testT(9)) }, reqIDs)
			_, err := VerifyRequestInitPSK(m, fk.pskI)
			return err
		}, ErrUnspecified},
		{"REQUEST_INIT without T", func() error {
			m := sealed(fk.reqInit.Raw, false, reqInitKey, func(m *Message) { removeType(m, PayloadT) }, reqIDs)
			_, err := VerifyRequestInitPSK(m, fk.pskI)
			return err
		}, ErrInvalidTS},
		{"REQUEST_INIT with an unknown PRF", func() error {
			m := mustParse(t, fk.reqInit.Raw)
			m.HDR.PRF = 5
			_, err := VerifyRequestInitPSK(m, fk.pskI)
			return err
		}, ErrInvalidPRF},
		{"REQUEST_INIT with V not last", func() error {
			m := mustParse(t, fk.reqInit.Raw)
			n := len(m.Payloads)
			m.Payloads[n-1], m.Payloads[n-2] = m.Payloads[n-2], m.Payloads[n-1]
			_, err := VerifyRequestInitPSK(m, fk.pskI)
			return err
		}, ErrAuthFailure},
		{"REQUEST_INIT with a GeneralExt (ignored)", func() error {
			m := sealed(fk.reqInit.Raw, false, reqInitKey, func(m *Message) { insertBeforeV(m, NewSDPIDs("mikey")) }, reqIDs)
			_, err := VerifyRequestInitPSK(m, fk.pskI)
			return err
		}, 255},
		{"REQUEST_RESP granting a KEMAC in TP Data", func() error {
			m := sealed(fk.reqResp.Raw, false, rrKey, func(m *Message) {
				tk := m.TICKET()
				tk.Policy.Data = append(tk.Policy.Data, &KEMAC{})
			}, func(*Message) [][]byte { return [][]byte{fk.reqInit.Raw} })
			_, err := VerifyRequestResp(m, fk.reqInit, fk.pskI)
			return err
		}, ErrInvalidTPpar},
		{"REQUEST_RESP with a KEMAC MAC", func() error {
			m := sealed(fk.reqResp.Raw, false, rrKey, func(m *Message) {
				k := m.KEMAC()
				k.MACAlg, k.MAC = MACHMACSHA1160, make([]byte, 20)
			}, func(*Message) [][]byte { return [][]byte{fk.reqInit.Raw} })
			_, err := VerifyRequestResp(m, fk.reqInit, fk.pskI)
			return err
		}, ErrInvalidMAC},
		{"REQUEST_RESP with another CSB ID", func() error {
			m := mustParse(t, fk.reqResp.Raw)
			m.HDR.CSBID++
			_, err := VerifyRequestResp(m, fk.reqInit, fk.pskI)
			return err
		}, ErrUnspecified},
		{"REQUEST_RESP granting I without E", func() error {
			m := sealed(fk.reqResp.Raw, false, rrKey, func(m *Message) { m.TICKET().Policy.Flags &^= FlagE },
				func(*Message) [][]byte { return [][]byte{fk.reqInit.Raw} })
			_, err := VerifyRequestResp(m, fk.reqInit, fk.pskI)
			return err
		}, ErrInvalidTPpar},
		{"TRANSFER_INIT with the SRTP-ID map", func() error {
			m := mustParse(t, f0.trInit.Raw)
			m.HDR.CSIDMapType, m.HDR.GenericIDs, m.HDR.NumCS = CSIDMapSRTPID, nil, 0
			_, err := CheckTransferInit(m)
			return err
		}, ErrUnspecified},
		{"TRANSFER_INIT with a KEMAC and L = 0", func() error {
			m := mustParse(t, f0.trInit.Raw)
			insertBeforeV(m, &KEMAC{EncrAlg: EncrAESCM128, EncrData: make([]byte, 24)})
			_, err := CheckTransferInit(m)
			return err
		}, ErrInvalidTPpar},
		{"TRANSFER_INIT with Initiator Data but I = 0", func() error {
			m := mustParse(t, f0.trInit.Raw)
			m.TICKET().InitiatorData = []byte{0}
			_, err := CheckTransferInit(m)
			return err
		}, ErrInvalidTICKET},
		{"TRANSFER_RESP with two policies for a crypto session", func() error {
			m := mustParse(t, f0.trResp.Raw)
			m.HDR.GenericIDs[0].PolicyNos = []uint8{1, 2}
			_, err := VerifyTransferResp(m, f0.trInit, f0.rr.Keys)
			return err
		}, ErrInvalidSP},
		{"TRANSFER_RESP without Session Data the Initiator left empty", func() error {
			m := mustParse(t, f0.trResp.Raw)
			m.HDR.GenericIDs[1].SessionData, m.HDR.GenericIDs[1].S = nil, false
			_, err := VerifyTransferResp(m, f0.trInit, f0.rr.Keys)
			return err
		}, ErrInvalidSP},
		{"TRANSFER_RESP with a KEMAC and M = 0", func() error {
			m := sealed(f0.trResp.Raw, false, tr0Key, func(m *Message) {
				insertBeforeV(m, &KEMAC{EncrAlg: EncrAESCM128, EncrData: make([]byte, 24)})
			}, func(*Message) [][]byte { return [][]byte{f0.trInit.Raw} })
			_, err := VerifyTransferResp(m, f0.trInit, f0.rr.Keys)
			return err
		}, ErrInvalidTPpar},
		{"TRANSFER_RESP without RANDRr with G = 1", func() error {
			m := mustParse(t, fk.trResp.Raw)
			removeType(m, PayloadRANDR) // also drops RANDRkms; RANDRr is checked first
			_, err := VerifyTransferResp(m, fk.trInit, fk.rr.Keys)
			return err
		}, ErrUnspecified},
		{"TRANSFER_RESP without the forking modifier", func() error {
			m := mustParse(t, fk.trResp.Raw)
			removeType(m, PayloadIDR)
			_, err := VerifyTransferResp(m, fk.trInit, fk.rr.Keys)
			return err
		}, ErrInvalidID},
		{"RESOLVE_RESP without RANDRkms with I = 1", func() error {
			m := sealed(fk.resResp.Raw, false, rsrKey, func(m *Message) { removeType(m, PayloadRANDR) },
				func(*Message) [][]byte { return [][]byte{fk.resInit.Raw} })
			_, err := VerifyResolveResp(m, fk.resInit, fk.pskR)
			return err
		}, ErrInvalidID},
		{"PSK init with NULL encryption", func() error {
			m := mustParse(t, fk.pskInit.Raw)
			m.KEMAC().EncrAlg = EncrNULL
			_, err := VerifyPSKInit(m, fk.pskI)
			return err
		}, ErrInvalidEA},
		{"PSK init with the NULL MAC", func() error {
			m := mustParse(t, fk.pskInit.Raw)
			m.KEMAC().MACAlg, m.KEMAC().MAC = MACNULL, nil
			_, err := VerifyPSKInit(m, fk.pskI)
			return err
		}, ErrInvalidMAC},
		{"PSK verification with a fresh T (minisip) is accepted", func() error {
			pi, err := VerifyPSKInit(mustParse(t, fk.pskInit.Raw), fk.pskI)
			if err != nil {
				return err
			}
			m := mustParse(t, fk.pskVerify.Raw)
			m.T().Value += 1 << 32
			m.Raw = nil
			// The MAC appends the Initiator's T, not the one carried.
			v := m.V()
			if _, err := sealV(m, false, v, pi.MsgKeys.Auth, pskIDData(pi.IDi), []byte("mickey@mouse.com"), tsBytes(pi.T)); err != nil {
				return err
			}
			_, err = VerifyPSKVerify(mustParse(t, m.Raw), fk.pskInit, fk.pskInitKeys)
			return err
		}, 255},
	} {
		err := c.verify()
		if c.want == 255 {
			if err != nil {
				t.Errorf("%s: %v, want success", c.name, err)
			}
			continue
		}
		if n, ok := errNo(err); !ok || n != c.want {
			t.Errorf("%s: %v, want ErrNo %d", c.name, err, c.want)
		}
	}
	// Builders refuse what the verifiers would refuse.
	if _, err := BuildError(ErrorParams{InError: ri.HDR, T: testT(0), ErrNos: []ErrNo{ErrInvalidSP}, SPs: []*SP{srtpSP(1)}}); err == nil {
		t.Error("Error with SPs and the Empty map built")
	}
	if _, err := BuildError(ErrorParams{InError: ri.HDR, T: testT(0)}); err == nil {
		t.Error("Error without ERR built")
	}
	if _, _, err := BuildPSKInit(PSKInitParams{PRF: PRFMIKEY1, CSBID: 1, T: testT(0), RAND: seq(0, 16), EncrAlg: EncrNULL,
		MACAlg: MACHMACSHA1160, Keys: []KeyData{{Type: KeyTGK, Key: seq(0, 16)}}}, fk.pskI); err == nil {
		t.Error("PSK init with NULL encryption built")
	}
	if _, _, err := BuildTransferResp(TransferRespParams{Init: fk.ti, T: testT(0), MPK: fk.respMPK, MACAlg: MACHMACSHA256256}); err == nil {
		t.Error("TRANSFER_RESP without the forking modifier built")
	}
	if _, _, err := BuildResolveResp(ResolveRespParams{Init: mustResolveInit(t, fk), T: testT(0), Keys: fk.rr.Keys,
		EncrAlg: EncrAESCM128}, fk.pskR); err == nil {
		t.Error("RESOLVE_RESP with forking but no IDRr built")
	}
}

func mustResolveInit(t *testing.T, f *flow) *ResolveInit {
	t.Helper()
	r, err := VerifyResolveInitPSK(mustParse(t, f.resInit.Raw), f.pskR)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
