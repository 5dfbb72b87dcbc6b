package mikey

import (
	"testing"
)

// Fuzz targets for every verifier path: parse + verify with the fixed keys of a test flow must
// never panic. Random bytes almost never carry a valid MAC, so the targets that matter most also
// re-seal the parsed message with the right key (reseal) and verify again: that drives the code
// after the MAC check (KEMAC decryption, key data, policy checks) with arbitrary contents.

// fuzzFlows are built once per target: the seeds are every message of every configuration.
func fuzzSeeds(f *testing.F) []*flow {
	var fl []*flow
	for _, cfg := range flowCfgs {
		fl = append(fl, newFlow(f, cfg))
	}
	for _, x := range fl {
		for _, v := range x.verifiers() {
			f.Add(v.wire)
		}
		f.Add(x.errMsgNoV.Raw)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 14, 0, 0, 0, 0, 0, 0, 0, 2})
	return fl
}

// reseal recomputes the final V MAC of a parsed message with key(m) over its MAC input and extra,
// and returns the re-encoded message; nil when the message has no V or cannot be re-encoded.
func resealV(m *Message, excl bool, key func(m *Message, ma MACAlg) []byte, extra ...[]byte) *Message {
	v, ok := lastPayload(m).(*V)
	if !ok || v.MACAlg == MACNULL {
		return nil
	}
	if _, err := MACTagLen(v.MACAlg); err != nil {
		return nil
	}
	k := key(m, v.MACAlg)
	if k == nil {
		return nil
	}
	m.Raw = nil
	if _, err := sealV(m, excl, v, k, extra...); err != nil {
		return nil
	}
	out, err := ParseMessage(m.Raw)
	if err != nil {
		return nil
	}
	return out
}

func msgKey(f PRFFunc, inkey []byte, label KeyLabel, err error, ma MACAlg) []byte {
	if err != nil {
		return nil
	}
	k, err := DeriveMessageKeys(f, inkey, label, EncrNULL, ma)
	if err != nil {
		return nil
	}
	return k.Auth
}

func FuzzVerifyRequestInitPSK(f *testing.F) {
	fl := fuzzSeeds(f)[1]
	key := func(m *Message, ma MACAlg) []byte {
		l, err := TicketMessageLabel(m.HDR.CSBID, DirInitial, randrData(m.RANDR(RANDRoleI)), nil)
		return msgKey(m.HDR.PRF, fl.pskI, l, err, ma)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		VerifyRequestInitPSK(m, fl.pskI)
		if m2 := resealV(m, false, key, idData(m.IDR(IDRoleI)), idData(m.IDR(IDRoleKMS))); m2 != nil {
			VerifyRequestInitPSK(m2, fl.pskI)
		}
	})
}

func FuzzVerifyRequestResp(f *testing.F) {
	fl := fuzzSeeds(f)[1]
	randRi := fl.reqInit.RANDR(RANDRoleI).Data
	key := func(m *Message, ma MACAlg) []byte {
		l, err := TicketMessageLabel(m.HDR.CSBID, DirResponse, randRi, nil)
		return msgKey(m.HDR.PRF, fl.pskI, l, err, ma)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		VerifyRequestResp(m, fl.reqInit, fl.pskI)
		if m2 := resealV(m, false, key, fl.reqInit.Raw); m2 != nil {
			VerifyRequestResp(m2, fl.reqInit, fl.pskI)
		}
	})
}

func FuzzVerifyTransferInit(f *testing.F) {
	fls := fuzzSeeds(f)
	fl := fls[0] // no forking
	key := func(m *Message, ma MACAlg) []byte {
		l, err := TicketMessageLabel(m.HDR.CSBID, DirInitial, randrData(m.RANDR(RANDRoleI)), nil)
		return msgKey(m.HDR.PRF, fl.mpki, l, err, ma)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		CheckTransferInit(m)
		if ti, err := VerifyTransferInit(m, fls[1].mpki); err == nil && ti.Ticket.Policy.Flags.Has(FlagI) {
			VerifyInitiatorData(ti.Ticket, fls[1].mpkr)
		}
		if m.TICKET() == nil {
			return
		}
		if m2 := resealV(m, true, key, idData(m.IDR(IDRoleI)), idData(m.IDR(IDRoleR))); m2 != nil {
			VerifyTransferInit(m2, fl.mpki)
		}
	})
}

func FuzzVerifyTransferResp(f *testing.F) {
	fls := fuzzSeeds(f)
	fl := fls[0] // no forking, no G: keys from MPKi and RANDRi only
	randRi := fl.trInit.RANDR(RANDRoleI).Data
	key := func(m *Message, ma MACAlg) []byte {
		l, err := TicketMessageLabel(m.HDR.CSBID, DirResponse, randRi, nil)
		return msgKey(m.HDR.PRF, fl.mpki, l, err, ma)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		VerifyTransferResp(m, fls[1].trInit, fls[1].rr.Keys)
		VerifyTransferResp(m, fl.trInit, fl.rr.Keys)
		if m2 := resealV(m, false, key, fl.trInit.Raw); m2 != nil {
			VerifyTransferResp(m2, fl.trInit, fl.rr.Keys)
		}
	})
}

func FuzzVerifyResolveInitPSK(f *testing.F) {
	fl := fuzzSeeds(f)[1]
	key := func(m *Message, ma MACAlg) []byte {
		l, err := TicketMessageLabel(m.HDR.CSBID, DirInitial, nil, randrData(m.RANDR(RANDRoleR)))
		return msgKey(m.HDR.PRF, fl.pskR, l, err, ma)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		if r, err := VerifyResolveInitPSK(m, fl.pskR); err == nil && r.Ticket.Policy.Flags.Has(FlagI) {
			VerifyInitiatorData(r.Ticket, fl.mpkr)
		}
		if m2 := resealV(m, false, key, idData(m.IDR(IDRoleR)), idData(m.IDR(IDRoleKMS))); m2 != nil {
			if r, err := VerifyResolveInitPSK(m2, fl.pskR); err == nil {
				VerifyInitiatorData(r.Ticket, fl.mpkr)
			}
		}
	})
}

func FuzzVerifyResolveResp(f *testing.F) {
	fl := fuzzSeeds(f)[1]
	randRr := fl.resInit.RANDR(RANDRoleR).Data
	key := func(m *Message, ma MACAlg) []byte {
		l, err := TicketMessageLabel(m.HDR.CSBID, DirResponse, nil, randRr)
		return msgKey(m.HDR.PRF, fl.pskR, l, err, ma)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		VerifyResolveResp(m, fl.resInit, fl.pskR)
		if m2 := resealV(m, false, key, fl.resInit.Raw); m2 != nil {
			VerifyResolveResp(m2, fl.resInit, fl.pskR)
		}
	})
}

func FuzzVerifyError(f *testing.F) {
	fl := fuzzSeeds(f)[1]
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		VerifyError(m, nil, nil)
		VerifyError(m, fl.trInit, fl.ti.MsgKeys.Auth)
		if m2 := resealV(m, false, func(*Message, MACAlg) []byte { return fl.ti.MsgKeys.Auth }); m2 != nil {
			if e, err := VerifyError(m2, nil, fl.ti.MsgKeys.Auth); err == nil && !e.Authenticated {
				t.Fatal("verified Error reported as unauthenticated")
			}
		}
	})
}

func FuzzVerifyPSKInit(f *testing.F) {
	fl := fuzzSeeds(f)[0]
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		VerifyPSKInit(m, fl.pskI)
		// Re-seal the KEMAC MAC with the right key to reach the decryption.
		k, ok := lastPayload(m).(*KEMAC)
		if !ok || m.RAND() == nil || k.MACAlg == MACNULL {
			return
		}
		keys, err := DeriveMessageKeys(m.HDR.PRF, fl.pskI, RFC3830MessageLabel(m.HDR.CSBID, m.RAND().Data), EncrNULL, k.MACAlg)
		if err != nil {
			return
		}
		m.Raw, k.MAC = nil, nil
		in, err := m.MACInput(false)
		if err != nil {
			return
		}
		if k.MAC, err = ComputeMAC(k.MACAlg, keys.Auth, in); err != nil {
			return
		}
		if _, err := m.Marshal(); err != nil {
			return
		}
		if m2, err := ParseMessage(m.Raw); err == nil {
			VerifyPSKInit(m2, fl.pskI)
		}
	})
}

func FuzzVerifyPSKVerify(f *testing.F) {
	fl := fuzzSeeds(f)[0]
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			return
		}
		VerifyPSKVerify(m, fl.pskInit, fl.pskInitKeys)
	})
}
