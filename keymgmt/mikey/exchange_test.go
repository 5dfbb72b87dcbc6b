package mikey

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// flow holds one complete MIKEY-TICKET mode-1 run (RFC 6043 §4.1.1: Request, Transfer, Resolve)
// built with this package, message by message, as the three parties would see it.
type flow struct {
	name                  string
	cfg                   flowCfg
	pskI, pskR            []byte
	reqInit, reqResp      *Message
	reqInitKeys           MessageKeys
	rr                    *RequestResp
	trInit, trResp        *Message
	resInit, resResp      *Message
	ti                    *TransferInit
	rsr                   *ResolveResp
	tr                    *TransferResp
	mpk, mpki, mpkr, tpk  []byte
	tgk                   []byte
	respMPK               []byte // MPKi or MPKr' (Responder side)
	respInitKeys          MessageKeys
	errMsg, errMsgNoV     *Message
	pskInit, pskVerify    *Message
	pskInitKeys           MessageKeys
	verifiedTransferInits int
}

type flowCfg struct {
	prf     PRFFunc
	ma      MACAlg
	ea      EncrAlg
	flags   TicketFlags
	kemacTI bool // Initiator-supplied KEMAC in TRANSFER_INIT (needs L)
	kemacTR bool // Responder-supplied KEMAC in TRANSFER_RESP (needs M)
}

var flowCfgs = []flowCfg{
	// The digest's interop default (§10): D E F H, no forking; MIKEY-1 and AES-CM-128.
	{prf: PRFMIKEY1, ma: MACHMACSHA1160, ea: EncrAESCM128, flags: FlagD | FlagE | FlagF | FlagH | FlagJ},
	// Forking with RANDRr: D E F G H I, PRF-HMAC-SHA-256, AES-CM-256.
	{prf: PRFHMACSHA256, ma: MACHMACSHA256256, ea: EncrAESCM256, flags: FlagD | FlagE | FlagF | FlagG | FlagH | FlagI},
	// G without H, AES-KW-128, KEMACs in both transfer messages (L, M).
	{prf: PRFHMACSHA256, ma: MACHMACSHA1160, ea: EncrAESKW128, flags: FlagD | FlagE | FlagF | FlagG | FlagL | FlagM,
		kemacTI: true, kemacTR: true},
}

func testT(sec int) *T {
	t, err := NewTNTPUTC(time.Date(2026, 11, 26, 19, 0, sec, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	return t
}

func spiKey(typ KeyDataType, key []byte, spi byte) KeyData {
	// A 3-byte MKI makes a 16-byte key's sub-payload 24 bytes: a multiple of 8 for AES-KW.
	return KeyData{Type: typ, KV: KVSPI, Key: key, SPI: []byte{0, 0, spi}}
}

func srtpSP(no uint8) *SP {
	return &SP{PolicyNo: no, ProtType: ProtSRTP, Params: []SPParam{
		{SPEncrAlg, []byte{1}}, {SPEncrKeyLen, []byte{16}}, {SPAuthAlg, []byte{1}}, {SPAuthKeyLen, []byte{20}},
		{SPSaltKeyLen, []byte{14}}, {SPSRTPEncr, []byte{1}}, {SPSRTCPEncr, []byte{1}}, {SPSRTPAuth, []byte{1}},
		{SPAuthTagLen, []byte{10}}}}
}

// newFlow runs the whole exchange for one configuration, failing the test on any error. Every
// message goes through Marshal (inside the builder) → ParseMessage → verify.
func newFlow(tb testing.TB, cfg flowCfg) *flow {
	tb.Helper()
	must := func(err error, what string) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("%s: %v", what, err)
		}
	}
	parse := func(m *Message) *Message {
		tb.Helper()
		pm, err := ParseMessage(m.Raw)
		must(err, "parse")
		return pm
	}
	rnd := rand.NewChaCha8([32]byte{byte(cfg.prf), byte(cfg.ea), byte(cfg.flags), byte(cfg.flags >> 8)})
	f := &flow{cfg: cfg, pskI: seq(0x11, 32), pskR: seq(0x22, 32), mpk: seq(0xc0, 16), tgk: seq(0, 16)}
	if cfg.ea == EncrAESKW128 {
		f.mpk = seq(0xc0, 20) // MPK sub-payload of 24 bytes (RFC 3394 wraps multiples of 64 bits)
	}
	f.name = fmt.Sprintf("PRF%d-MAC%d-EA%d-%v", cfg.prf, cfg.ma, cfg.ea, cfg.flags)
	var err error
	forking := cfg.flags.Has(FlagI)
	f.mpki, f.mpkr, err = SplitMPK(cfg.prf, f.mpk, seq(0xd0, 16))
	must(err, "SplitMPK")

	idrI := &IDR{Role: IDRoleI, Type: IDTypeURI, Data: []byte("sip:alice@example.com")}
	idrR := &IDR{Role: IDRoleR, Type: IDTypeURI, Data: []byte("sip:bob@example.com")}
	idrKMS := &IDR{Role: IDRoleKMS, Type: IDTypeURI, Data: []byte("kms.example.com")}
	idrPSKi := &IDR{Role: IDRolePSK, Type: IDTypeNAI, Data: []byte("YWxpY2U=@bsf.example.com")}
	idrPSKr := &IDR{Role: IDRolePSK, Type: IDTypeNAI, Data: []byte("Ym9i@bsf.example.com")}

	// REQUEST_INIT_PSK (Initiator → KMS).
	desired := &TP{TicketType: TicketMIKEYBase, Subtype: 1, TicketVersion: 1, PRF: cfg.prf, Flags: cfg.flags,
		Data: []Payload{idrI, &KEMAC{EncrAlg: EncrNULL, EncrData: mustKD(tb, []KeyData{spiKey(KeyTGK, make([]byte, 16), 0)})}, idrR}}
	f.reqInit, f.reqInitKeys, err = BuildRequestInitPSK(RequestInitParams{PRF: cfg.prf, T: testT(0), IDRi: idrI,
		IDRkms: idrKMS, IDRpsk: idrPSKi, TP: desired, MACAlg: cfg.ma, Rand: rnd}, f.pskI)
	must(err, "BuildRequestInitPSK")
	ri, err := VerifyRequestInitPSK(parse(f.reqInit), f.pskI)
	must(err, "VerifyRequestInitPSK")

	// REQUEST_RESP (KMS → Initiator).
	granted := TICKET{Policy: TP{TicketType: TicketMIKEYBase, Subtype: 1, TicketVersion: 1, PRF: cfg.prf,
		Flags: cfg.flags, Data: []Payload{idrKMS, idrI, idrR}}, TicketData: []byte("opaque base ticket data")}
	tk := TicketKeys{MPKi: f.mpki, Keys: []KeyData{spiKey(KeyTGK, f.tgk, 1)}}
	if forking {
		tk.MPKr = f.mpkr
	}
	f.reqResp, _, err = BuildRequestResp(RequestRespParams{Init: ri, T: testT(1), IDRkms: idrKMS, Ticket: &granted,
		Keys: tk, EncrAlg: cfg.ea}, f.pskI)
	must(err, "BuildRequestResp")
	f.rr, err = VerifyRequestResp(parse(f.reqResp), f.reqInit, f.pskI)
	must(err, "VerifyRequestResp")
	if !bytes.Equal(f.rr.Keys.MPKi, f.mpki) || !bytes.Equal(f.rr.Keys.Keys[0].Key, f.tgk) ||
		!bytes.Equal(f.rr.Keys.MPKr, tk.MPKr) {
		tb.Fatalf("REQUEST_RESP keys differ: %v", f.rr.Keys)
	}

	// TRANSFER_INIT (Initiator → Responder), two crypto sessions.
	cs := []GenericIDEntry{
		{CSID: 1, ProtType: ProtSRTP, PolicyNos: []uint8{1}, SessionData: SRTPSessionData(0x11223344, false, 0, 0), SPI: []byte{1}},
		{CSID: 2, ProtType: ProtSRTP, PolicyNos: []uint8{1}},
	}
	tip := TransferInitParams{PRF: cfg.prf, T: testT(2), IDRi: idrI, IDRr: idrR, CryptoSessions: cs,
		SPs: []*SP{srtpSP(1)}, Ticket: f.rr.Ticket, Keys: f.rr.Keys, MACAlg: cfg.ma, EncrAlg: cfg.ea, Rand: rnd}
	if cfg.kemacTI {
		tip.KEMACKeys = []KeyData{spiKey(KeyTEK, seq(0x60, 16), 2)}
	}
	f.trInit, _, err = BuildTransferInit(tip)
	must(err, "BuildTransferInit")
	trInitRx := parse(f.trInit)
	if _, err := CheckTransferInit(trInitRx); err != nil {
		tb.Fatalf("CheckTransferInit: %v", err)
	}

	// RESOLVE_INIT_PSK (Responder → KMS) with the ticket as received.
	f.resInit, _, err = BuildResolveInitPSK(ResolveInitParams{PRF: cfg.prf, T: testT(3), IDRr: idrR, IDRkms: idrKMS,
		IDRpsk: idrPSKr, Ticket: trInitRx.TICKET(), MACAlg: cfg.ma, Rand: rnd}, f.pskR)
	must(err, "BuildResolveInitPSK")
	rsi, err := VerifyResolveInitPSK(parse(f.resInit), f.pskR)
	must(err, "VerifyResolveInitPSK")
	if forking {
		vi, err := VerifyInitiatorData(rsi.Ticket, f.mpkr)
		must(err, "VerifyInitiatorData")
		if !bytes.Equal(vi.MAC, trInitRx.V().MAC) {
			tb.Fatal("Vi differs from the TRANSFER_INIT V")
		}
	}

	// RESOLVE_RESP (KMS → Responder): the KMS forks for the answering identity.
	f.resResp, _, err = BuildResolveResp(ResolveRespParams{Init: rsi, T: testT(4), IDRkms: idrKMS, Keys: tk,
		IDRr: idrR, EncrAlg: cfg.ea, Rand: rnd}, f.pskR)
	must(err, "BuildResolveResp")
	f.rsr, err = VerifyResolveResp(parse(f.resResp), f.resInit, f.pskR)
	must(err, "VerifyResolveResp")

	// The Responder verifies TRANSFER_INIT with MPKi.
	f.ti, err = VerifyTransferInit(trInitRx, f.rsr.Keys.MPKi)
	must(err, "VerifyTransferInit")
	if cfg.kemacTI && (len(f.ti.KEMACKeys) != 1 || !bytes.Equal(f.ti.KEMACKeys[0].Key, seq(0x60, 16))) {
		tb.Fatalf("TRANSFER_INIT KEMAC keys: %v", f.ti.KEMACKeys)
	}

	// TRANSFER_RESP (Responder → Initiator).
	f.respMPK = f.rsr.Keys.MPKi
	var randRkms []byte
	if forking {
		f.respMPK, randRkms = f.rsr.Keys.MPKr, f.rsr.RANDRkms
	}
	respCS := []GenericIDEntry{
		{CSID: 1, ProtType: ProtSRTP, PolicyNos: []uint8{1}, SessionData: SRTPSessionData(0x11223344, false, 0, 0), SPI: []byte{1}},
		{CSID: 2, ProtType: ProtSRTP, S: true, PolicyNos: []uint8{1}, SessionData: SRTPSessionData(0x55667788, true, 0, 1000), SPI: []byte{1}},
	}
	trp := TransferRespParams{Init: f.ti, T: testT(5), IDRr: f.rsr.IDRr, RANDRkms: randRkms, CryptoSessions: respCS,
		MPK: f.respMPK, MACAlg: cfg.ma, EncrAlg: cfg.ea, Rand: rnd}
	if !forking {
		trp.IDRr = idrR
	}
	if cfg.kemacTR {
		trp.KEMACKeys = []KeyData{spiKey(KeyTEK, seq(0x70, 16), 3)}
	}
	f.trResp, f.respInitKeys, err = BuildTransferResp(trp)
	must(err, "BuildTransferResp")
	f.tr, err = VerifyTransferResp(parse(f.trResp), f.trInit, f.rr.Keys)
	must(err, "VerifyTransferResp")
	// Both sides now hold the same (forked) keys.
	if !bytes.Equal(f.tr.Keys.MPKr, f.rsr.Keys.MPKr) || !bytes.Equal(f.tr.Keys.Keys[0].Key, f.rsr.Keys.Keys[0].Key) {
		tb.Fatalf("Initiator and Responder keys differ: %x/%x vs %x/%x", f.tr.Keys.MPKr, f.tr.Keys.Keys[0].Key,
			f.rsr.Keys.MPKr, f.rsr.Keys.Keys[0].Key)
	}
	if forking == bytes.Equal(f.tr.Keys.Keys[0].Key, f.tgk) {
		tb.Fatalf("forking %v but TGK' == TGK is %v", forking, !forking)
	}
	if cfg.kemacTR && (len(f.tr.KEMACKeys) != 1 || !bytes.Equal(f.tr.KEMACKeys[0].Key, seq(0x70, 16))) {
		tb.Fatalf("TRANSFER_RESP KEMAC keys: %v", f.tr.KEMACKeys)
	}

	// Error messages: one answering the TRANSFER_INIT, MAC'd with its auth key, with SPs; one
	// unauthenticated answer to a REQUEST_INIT.
	f.errMsg, err = BuildError(ErrorParams{InError: f.ti.HDR, T: testT(6), ErrNos: []ErrNo{ErrInvalidSPpar},
		SPs: []*SP{srtpSP(2)}, AuthKey: f.ti.MsgKeys.Auth, MACAlg: cfg.ma})
	must(err, "BuildError")
	f.errMsgNoV, err = BuildError(ErrorParams{InError: ri.HDR, T: testT(7), ErrNos: []ErrNo{ErrAuthFailure, ErrInvalidID}})
	must(err, "BuildError without V")

	// RFC 3830 PSK exchange between plain MIKEY peers.
	ea := cfg.ea
	pskKeys := []KeyData{{Type: KeyTGK, Key: f.tgk}}
	if ea == EncrAESKW128 {
		pskKeys[0].Key = seq(0, 20) // 4 + 20 bytes: a multiple of 8 for the key wrap
	}
	f.pskInit, f.pskInitKeys, err = BuildPSKInit(PSKInitParams{PRF: cfg.prf, T: testT(8), WantVerify: true,
		SRTPIDs: []SRTPIDEntry{{PolicyNo: 0, SSRC: 0x01020304}}, IDi: &ID{Type: IDTypeNAI, Data: []byte("donald@duck.com")},
		IDr: &ID{Type: IDTypeNAI, Data: []byte("mickey@mouse.com")}, SPs: []*SP{srtpSP(0)}, Keys: pskKeys,
		EncrAlg: ea, MACAlg: cfg.ma, Rand: rnd}, f.pskI)
	must(err, "BuildPSKInit")
	pi, err := VerifyPSKInit(parse(f.pskInit), f.pskI)
	must(err, "VerifyPSKInit")
	if !bytes.Equal(pi.Keys[0].Key, pskKeys[0].Key) {
		tb.Fatal("PSK init TGK differs")
	}
	f.pskVerify, err = BuildPSKVerify(pi, &ID{Type: IDTypeNAI, Data: []byte("mickey@mouse.com")})
	must(err, "BuildPSKVerify")
	_, err = VerifyPSKVerify(parse(f.pskVerify), f.pskInit, f.pskInitKeys)
	must(err, "VerifyPSKVerify")
	return f
}

func mustKD(tb testing.TB, kd []KeyData) []byte {
	b, err := MarshalKeyDataList(kd)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// verifiers returns, per message of the flow, a function that parses wire bytes and verifies them
// as the receiver would (with I = 1 the TRANSFER_INIT check includes the KMS's Vr check, since the
// Responder alone cannot verify Vr).
func (f *flow) verifiers() []struct {
	name   string
	wire   []byte
	verify func([]byte) error
} {
	parse := func(b []byte, v func(*Message) error) error {
		m, err := ParseMessage(b)
		if err != nil {
			return err
		}
		return v(m)
	}
	return []struct {
		name   string
		wire   []byte
		verify func([]byte) error
	}{
		{"REQUEST_INIT_PSK", f.reqInit.Raw, func(b []byte) error {
			return parse(b, func(m *Message) error { _, err := VerifyRequestInitPSK(m, f.pskI); return err })
		}},
		{"REQUEST_RESP", f.reqResp.Raw, func(b []byte) error {
			return parse(b, func(m *Message) error { _, err := VerifyRequestResp(m, f.reqInit, f.pskI); return err })
		}},
		{"TRANSFER_INIT", f.trInit.Raw, func(b []byte) error {
			return parse(b, func(m *Message) error {
				ti, err := VerifyTransferInit(m, f.mpki)
				if err == nil && ti.Ticket.Policy.Flags.Has(FlagI) {
					_, err = VerifyInitiatorData(ti.Ticket, f.mpkr)
				}
				return err
			})
		}},
		{"TRANSFER_RESP", f.trResp.Raw, func(b []byte) error {
			return parse(b, func(m *Message) error { _, err := VerifyTransferResp(m, f.trInit, f.rr.Keys); return err })
		}},
		{"RESOLVE_INIT_PSK", f.resInit.Raw, func(b []byte) error {
			return parse(b, func(m *Message) error { _, err := VerifyResolveInitPSK(m, f.pskR); return err })
		}},
		{"RESOLVE_RESP", f.resResp.Raw, func(b []byte) error {
			return parse(b, func(m *Message) error { _, err := VerifyResolveResp(m, f.resInit, f.pskR); return err })
		}},
		{"Error with V", f.errMsg.Raw, func(b []byte) error {
			return parse(b, func(m *Message) error { _, err := VerifyError(m, f.trInit, f.ti.MsgKeys.Auth); return err })
		}},
		{"PSK init", f.pskInit.Raw, func(b []byte) error {
			return parse(b, func(m *Message) error { _, err := VerifyPSKInit(m, f.pskI); return err })
		}},
		{"PSK verification", f.pskVerify.Raw, func(b []byte) error {
			return parse(b, func(m *Message) error { _, err := VerifyPSKVerify(m, f.pskInit, f.pskInitKeys); return err })
		}},
	}
}

// TestExchangeRoundTrip runs the full Request/Transfer/Resolve flow, the Error messages and the
// RFC 3830 PSK exchange for each configuration: build → Marshal → ParseMessage → verify (newFlow),
// then checks that each parsed message re-encodes to the same bytes and carries the payload order
// of digest §3.1.
func TestExchangeRoundTrip(t *testing.T) {
	order := map[string][]PayloadType{
		"REQUEST_INIT_PSK": {PayloadT, PayloadRANDR, PayloadIDR, PayloadIDR, PayloadTP, PayloadIDR, PayloadV},
		"REQUEST_RESP":     {PayloadT, PayloadIDR, PayloadTICKET, PayloadKEMAC, PayloadV},
		"RESOLVE_INIT_PSK": {PayloadT, PayloadRANDR, PayloadIDR, PayloadIDR, PayloadTICKET, PayloadIDR, PayloadV},
		"Error with V":     {PayloadT, PayloadERR, PayloadSP, PayloadV},
		"PSK init":         {PayloadT, PayloadRAND, PayloadID, PayloadID, PayloadSP, PayloadKEMAC},
		"PSK verification": {PayloadT, PayloadID, PayloadV},
	}
	for _, cfg := range flowCfgs {
		f := newFlow(t, cfg)
		t.Run(f.name, func(t *testing.T) {
			for _, v := range f.verifiers() {
				if err := v.verify(v.wire); err != nil {
					t.Errorf("%s: %v", v.name, err)
				}
				m, err := ParseMessage(v.wire)
				if err != nil {
					t.Fatalf("%s: %v", v.name, err)
				}
				m.Raw = nil
				re, err := m.Marshal()
				if err != nil || !bytes.Equal(re, v.wire) {
					t.Errorf("%s: re-encoding differs (%v)", v.name, err)
				}
				if want, ok := order[v.name]; ok {
					var got []PayloadType
					for _, p := range m.Payloads {
						got = append(got, p.PayloadType())
					}
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("%s: payload order %v, want %v", v.name, got, want)
					}
				}
			}
			// Transfer messages: HDR rules of digest §3.2.
			if h := f.trInit; h.HDR.V != cfg.flags.Has(FlagF) || h.HDR.CSIDMapType != CSIDMapGenericID || h.HDR.NumCS != 2 {
				t.Errorf("TRANSFER_INIT HDR %+v", h.HDR)
			}
			if h := f.trResp.HDR; h.V || h.CSBID != f.trInit.HDR.CSBID || h.PRF != f.trInit.HDR.PRF {
				t.Errorf("TRANSFER_RESP HDR %+v", h)
			}
			for _, m := range []*Message{f.reqInit, f.resInit} {
				if h := m.HDR; !h.V || h.NumCS != 0 || h.CSIDMapType != CSIDMapEmpty {
					t.Errorf("initial HDR %+v", h)
				}
			}
			for _, m := range []*Message{f.reqResp, f.resResp, f.errMsg, f.errMsgNoV} {
				if m.HDR.V {
					t.Errorf("data type %d has V = 1", m.HDR.DataType)
				}
			}
			// The unauthenticated Error reads, but is reported as unauthenticated.
			m, _ := ParseMessage(f.errMsgNoV.Raw)
			e, err := VerifyError(m, f.reqInit, nil)
			if err != nil || e.Authenticated || len(e.ErrNos) != 2 || e.ErrNos[1] != ErrInvalidID {
				t.Errorf("Error without V: %+v, %v", e, err)
			}
			if _, err := VerifyError(m, f.reqInit, f.reqInitKeys.Auth); err == nil {
				t.Error("Error without V accepted although an auth key was given")
			}
			e, err = VerifyError(mustParse(t, f.errMsg.Raw), f.trInit, f.ti.MsgKeys.Auth)
			if err != nil || !e.Authenticated || len(e.SPs) != 1 || e.ErrNos[0] != ErrInvalidSPpar {
				t.Errorf("Error with V: %+v, %v", e, err)
			}
		})
	}
}

func mustParse(tb testing.TB, b []byte) *Message {
	tb.Helper()
	m, err := ParseMessage(b)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestExchangeBitFlips flips every bit of every message of every configuration: parsing or
// verification must fail. (The unauthenticated Error message is left out: without V nothing can
// detect a change, which VerifyError reports as Authenticated = false.)
func TestExchangeBitFlips(t *testing.T) {
	for _, cfg := range flowCfgs {
		f := newFlow(t, cfg)
		for _, v := range f.verifiers() {
			if err := v.verify(v.wire); err != nil {
				t.Fatalf("%s %s: unmodified message fails: %v", f.name, v.name, err)
			}
			b := bytes.Clone(v.wire)
			for i := range b {
				for bit := 0; bit < 8; bit++ {
					b[i] ^= 1 << bit
					if err := v.verify(b); err == nil {
						t.Errorf("%s %s: flipping bit %d of byte %d/%d went unnoticed", f.name, v.name, bit, i, len(b))
					}
					b[i] ^= 1 << bit
				}
			}
		}
	}
}

func errNo(err error) (ErrNo, bool) {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.ErrNo, true
	}
	return 0, false
}

// TestExchangeErrNos checks the ErrNo each kind of failure is answered with.
func TestExchangeErrNos(t *testing.T) {
	f := newFlow(t, flowCfgs[1])
	check := func(what string, err error, want ErrNo) {
		t.Helper()
		if n, ok := errNo(err); !ok || n != want {
			t.Errorf("%s: %v, want ErrNo %d", what, err, want)
		}
	}
	_, err := VerifyRequestInitPSK(mustParse(t, f.reqInit.Raw), f.pskR)
	check("wrong PSK", err, ErrAuthFailure)
	_, err = VerifyRequestInitPSK(mustParse(t, f.resInit.Raw), f.pskI)
	check("wrong data type", err, ErrInvalidDT)
	_, err = VerifyResolveResp(mustParse(t, f.resResp.Raw), f.resInit, f.pskI)
	check("RESOLVE_RESP wrong PSK", err, ErrAuthFailure)
	_, err = VerifyTransferInit(mustParse(t, f.trInit.Raw), f.mpkr)
	check("TRANSFER_INIT wrong MPK", err, ErrAuthFailure)
	_, err = VerifyTransferResp(mustParse(t, f.trResp.Raw), f.trInit, TicketKeys{MPKi: f.mpki, MPKr: f.mpki})
	check("TRANSFER_RESP wrong MPKr", err, ErrAuthFailure)

	// PK variants: Message type not supported.
	for _, dt := range []DataType{DataTypeRequestInitPK, DataTypeResolveInitPK} {
		m := mustParse(t, f.reqInit.Raw)
		m.HDR.DataType = dt
		_, err := VerifyRequestInitPSK(m, f.pskI)
		check(fmt.Sprintf("data type %d", dt), err, ErrMsgTypeNotSupp)
		_, err = VerifyResolveInitPSK(m, f.pskI)
		check(fmt.Sprintf("data type %d at resolve", dt), err, ErrMsgTypeNotSupp)
	}

	// A TRANSFER_INIT whose ticket breaks the flag rules (G without F) is refused before the MAC.
	bad := *f.rr.Ticket
	bad.Policy.Flags = FlagD | FlagG | FlagH
	_, _, err = BuildTransferInit(TransferInitParams{PRF: PRFHMACSHA256, CSBID: 1, T: testT(0), RANDRi: seq(1, 16),
		Ticket: &bad, Keys: f.rr.Keys, MACAlg: MACHMACSHA256256})
	if err == nil {
		t.Error("BuildTransferInit accepted G without F")
	}
	m := mustParse(t, f.trInit.Raw)
	m.TICKET().Policy.Flags = FlagD | FlagG | FlagH
	_, err = CheckTransferInit(m)
	check("TRANSFER_INIT G without F", err, ErrInvalidTPpar)

	// Desired TP with K = 1 is refused when building.
	bobTP := []Payload{&IDR{Role: IDRoleR, Type: IDTypeURI, Data: []byte("sip:bob@example.com")}}
	_, _, err = BuildRequestInitPSK(RequestInitParams{PRF: PRFHMACSHA256, CSBID: 1, T: testT(0), RANDRi: seq(1, 16),
		TP: &TP{Flags: FlagD | FlagE | FlagF | FlagH | FlagK, Data: bobTP}, MACAlg: MACHMACSHA256256}, f.pskI)
	if err == nil {
		t.Error("desired TP with K = 1 accepted")
	}
	// NULL MAC is refused for V.
	_, _, err = BuildRequestInitPSK(RequestInitParams{PRF: PRFHMACSHA256, CSBID: 1, T: testT(0), RANDRi: seq(1, 16),
		TP: &TP{Flags: FlagD | FlagH, Data: bobTP}, MACAlg: MACNULL}, f.pskI)
	if err == nil {
		t.Error("NULL V MAC accepted")
	}
	// A desired TP without IDRr is refused (§6.10); with one the same call succeeds.
	p := RequestInitParams{PRF: PRFHMACSHA256, CSBID: 1, T: testT(0), RANDRi: seq(1, 16),
		TP: &TP{Flags: FlagD | FlagH}, MACAlg: MACHMACSHA256256}
	if _, _, err = BuildRequestInitPSK(p, f.pskI); err == nil {
		t.Error("desired TP without IDRr accepted")
	}
	p.TP.Data = bobTP
	if _, _, err = BuildRequestInitPSK(p, f.pskI); err != nil {
		t.Errorf("desired TP with IDRr: %v", err)
	}
	// A Responder KEMAC without M is refused when building.
	_, _, err = BuildTransferResp(TransferRespParams{Init: f.ti, T: testT(9), RANDRr: seq(1, 16), IDRr: f.rsr.IDRr,
		RANDRkms: f.rsr.RANDRkms, MPK: f.respMPK, MACAlg: MACHMACSHA256256, EncrAlg: EncrAESCM128,
		KEMACKeys: []KeyData{spiKey(KeyTEK, seq(1, 16), 1)}})
	if err == nil {
		t.Error("TRANSFER_RESP KEMAC with M = 0 accepted")
	}
	// I = 1 with a TGK but F = 0 is refused in REQUEST_RESP (§6.10).
	ri, _ := VerifyRequestInitPSK(mustParse(t, f.reqInit.Raw), f.pskI)
	noF := TICKET{Policy: TP{PRF: PRFHMACSHA256, Flags: FlagD | FlagE | FlagH | FlagI, Data: bobTP}}
	_, _, err = BuildRequestResp(RequestRespParams{Init: ri, T: testT(1), Ticket: &noF, EncrAlg: EncrAESCM128,
		Keys: TicketKeys{MPKi: f.mpki, MPKr: f.mpkr, Keys: []KeyData{spiKey(KeyTGK, f.tgk, 1)}}}, f.pskI)
	if err == nil || !strings.Contains(err.Error(), "requires F = 1") {
		t.Errorf("I = 1 with a TGK and F = 0: %v", err)
	}
	// Session keys need an SPI (RFC 6043 §6.2.1).
	_, _, err = BuildRequestResp(RequestRespParams{Init: ri, T: testT(1), Ticket: f.rr.Ticket, EncrAlg: EncrAESCM128,
		Keys: TicketKeys{MPKi: f.mpki, MPKr: f.mpkr, Keys: []KeyData{{Type: KeyTGK, Key: f.tgk}}}}, f.pskI)
	if err == nil || !strings.Contains(err.Error(), "SPI") {
		t.Errorf("TGK without SPI: %v", err)
	}
}

// TestResultsRedactKeys checks that results holding keys print no key bytes.
func TestResultsRedactKeys(t *testing.T) {
	f := newFlow(t, flowCfgs[1])
	for _, v := range []any{f.rr, f.rsr, f.tr, f.ti, f.rr.Keys, f.reqInitKeys} {
		s := fmt.Sprintf("%v %+v %s", v, v, v)
		for _, k := range [][]byte{f.mpki, f.mpkr, f.tgk, f.rsr.Keys.MPKr, f.rsr.Keys.Keys[0].Key, f.reqInitKeys.Auth} {
			if bytes.Contains([]byte(s), []byte(fmt.Sprintf("%x", k))) || bytes.Contains([]byte(s), []byte(fmt.Sprint(k))) {
				t.Errorf("%T prints key material: %s", v, s)
			}
		}
	}
}

// TestExchangeFreshness: every verifier calls its optional Freshness once the MAC has verified,
// with the sender identity and the message's RANDs and CSB ID; a replay it refuses is returned,
// and a message failing its MAC never reaches it (RFC 3830 §5.3: only authenticated messages enter
// the replay cache).
func TestExchangeFreshness(t *testing.T) {
	f := newFlow(t, flowCfgs[1])
	seen := map[string]bool{}
	var calls []string
	fresh := func(ts *T, identity []byte, rands ...[]byte) error {
		k := fmt.Sprintf("%x|%x|%x", ts.Value, identity, rands)
		calls = append(calls, string(identity))
		if seen[k] {
			return protoErr(ErrInvalidTS, "replay")
		}
		seen[k] = true
		return nil
	}
	run := []struct {
		name, identity string
		verify         func() error
	}{
		{"REQUEST_INIT_PSK", "YWxpY2U=@bsf.example.com", func() error {
			_, err := VerifyRequestInitPSK(mustParse(t, f.reqInit.Raw), f.pskI, fresh)
			return err
		}},
		{"REQUEST_RESP", "kms.example.com", func() error {
			_, err := VerifyRequestResp(mustParse(t, f.reqResp.Raw), f.reqInit, f.pskI, fresh)
			return err
		}},
		{"TRANSFER_INIT", "sip:alice@example.com", func() error {
			_, err := VerifyTransferInit(mustParse(t, f.trInit.Raw), f.mpki, fresh)
			return err
		}},
		{"TRANSFER_RESP", "sip:bob@example.com", func() error {
			_, err := VerifyTransferResp(mustParse(t, f.trResp.Raw), f.trInit, f.rr.Keys, fresh)
			return err
		}},
		{"RESOLVE_INIT_PSK", "Ym9i@bsf.example.com", func() error {
			_, err := VerifyResolveInitPSK(mustParse(t, f.resInit.Raw), f.pskR, fresh)
			return err
		}},
		{"RESOLVE_RESP", "kms.example.com", func() error {
			_, err := VerifyResolveResp(mustParse(t, f.resResp.Raw), f.resInit, f.pskR, fresh)
			return err
		}},
		{"PSK init", "donald@duck.com", func() error {
			_, err := VerifyPSKInit(mustParse(t, f.pskInit.Raw), f.pskI, fresh)
			return err
		}},
	}
	for _, r := range run {
		calls = nil
		if err := r.verify(); err != nil {
			t.Fatalf("%s: first delivery: %v", r.name, err)
		}
		if len(calls) != 1 || calls[0] != r.identity {
			t.Errorf("%s: Freshness called with %q, want once with %q", r.name, calls, r.identity)
		}
		if n, _ := errNo(r.verify()); n != ErrInvalidTS {
			t.Errorf("%s: replay not refused", r.name)
		}
	}
	calls = nil
	if _, err := VerifyRequestInitPSK(mustParse(t, f.reqInit.Raw), f.pskR, fresh); err == nil || len(calls) != 0 {
		t.Errorf("unauthenticated message reached Freshness (%v, %d calls)", err, len(calls))
	}
}

// TestMACCoverageIndependent recomputes the V MAC of every MIKEY-TICKET message from scratch, as
// RFC 6043 Table 5.2 and §5.1.2 describe it: key from refPRF (prf_test.go) over a label written
// out byte by byte, HMAC from crypto/hmac over the raw bytes cut by hand (the TRANSFER_INIT
// Initiator Data length and Initiator Data located from the end of the message) followed by the
// identities or the initial message; likewise the RFC 3830 PSK init and verification MACs (§5.2).
// It shares no code with the builders and verifiers.
func TestMACCoverageIndependent(t *testing.T) {
	for _, cfg := range flowCfgs[:2] { // the configurations without a KEMAC after TICKET
		f := newFlow(t, cfg)
		sha256PRF := cfg.prf == PRFHMACSHA256
		macLen := 20
		h := sha1.New
		if cfg.ma == MACHMACSHA256256 {
			macLen, h = 32, sha256.New
		}
		label := func(c string, csb uint32, dir byte, ri, rr []byte) []byte {
			l := mustHex(t, c)
			l = append(l, 0xff, byte(csb>>24), byte(csb>>16), byte(csb>>8), byte(csb), dir, byte(len(ri)))
			l = append(l, ri...)
			l = append(l, byte(len(rr)))
			return append(l, rr...)
		}
		check := func(name string, m *Message, inkey []byte, dir byte, ri, rr []byte, body []byte, extra ...[]byte) {
			t.Helper()
			key := refPRF(sha256PRF, inkey, label("2d22ac75", m.HDR.CSBID, dir, ri, rr), macLen)
			mac := hmac.New(h, key)
			mac.Write(body)
			for _, e := range extra {
				mac.Write(e)
			}
			if got := m.Raw[len(m.Raw)-macLen:]; !bytes.Equal(got, mac.Sum(nil)) {
				t.Errorf("%s %s: V MAC %x, independent %x", f.name, name, got, mac.Sum(nil))
			}
		}
		body := func(m *Message) []byte { return m.Raw[:len(m.Raw)-macLen] }
		alice, bob, kms := []byte("sip:alice@example.com"), []byte("sip:bob@example.com"), []byte("kms.example.com")
		randRi := f.reqInit.RANDR(RANDRoleI).Data
		check("REQUEST_INIT_PSK", f.reqInit, f.pskI, 1, randRi, nil, body(f.reqInit), alice, kms)
		check("REQUEST_RESP", f.reqResp, f.pskI, 2, randRi, nil, body(f.reqResp), f.reqInit.Raw)

		// TRANSFER_INIT: cut InitiatorDataLen || InitiatorData, which end where V begins.
		ti := f.trInit.Raw
		vStart := len(ti) - 2 - macLen
		idLen := 0
		if cfg.flags.Has(FlagI) {
			idLen = 1 + 2*(2+macLen) // First Payload, Vi, Vr
		}
		if got := int(ti[vStart-idLen-2])<<8 | int(ti[vStart-idLen-1]); got != idLen {
			t.Fatalf("%s: Initiator Data length %d, want %d", f.name, got, idLen)
		}
		tiBody := append(bytes.Clone(ti[:vStart-idLen-2]), ti[vStart:len(ti)-macLen]...)
		tRi := f.trInit.RANDR(RANDRoleI).Data
		check("TRANSFER_INIT", f.trInit, f.mpki, 1, tRi, nil, tiBody, alice, bob)

		mpk := f.mpki
		var rr []byte
		if cfg.flags.Has(FlagG) {
			rr = f.trResp.RANDR(RANDRoleR).Data
		}
		if cfg.flags.Has(FlagI) {
			// MPKr' independently: label 2b288856 ff ffffffff 00 len16(IDRr) IDRr len8 RANDRkms RANDRkms.
			rk := f.trResp.RANDR(RANDRoleKMS).Data
			l := append(mustHex(t, "2b288856ffffffffff00"), 0, byte(len(bob)))
			l = append(append(append(l, bob...), byte(len(rk))), rk...)
			mpk = refPRF(sha256PRF, f.mpkr, l, len(f.mpkr))
		}
		check("TRANSFER_RESP", f.trResp, mpk, 2, tRi, rr, body(f.trResp), f.trInit.Raw)

		randRr := f.resInit.RANDR(RANDRoleR).Data
		check("RESOLVE_INIT_PSK", f.resInit, f.pskR, 1, nil, randRr, body(f.resInit), bob, kms)
		check("RESOLVE_RESP", f.resResp, f.pskR, 2, nil, randRr, body(f.resResp), f.resInit.Raw)
		// Error: the message alone, with the auth key of the message in error (the TRANSFER_INIT).
		check("Error", f.errMsg, f.mpki, 1, tRi, nil, body(f.errMsg))

		// RFC 3830 PSK: label 2d22ac75 || 0xFF || CSB ID || RAND (§4.1.4); the I_MESSAGE MAC covers
		// the message up to its KEMAC MAC (§5.2); the verification MAC appends Identity_i,
		// Identity_r and the Initiator's 64-bit timestamp.
		rand := f.pskInit.RAND().Data
		csb := f.pskInit.HDR.CSBID
		l := append(mustHex(t, "2d22ac75ff"), byte(csb>>24), byte(csb>>16), byte(csb>>8), byte(csb))
		key := refPRF(sha256PRF, f.pskI, append(l, rand...), macLen)
		for _, c := range []struct {
			name  string
			raw   []byte
			extra []byte
		}{
			{"PSK init", f.pskInit.Raw, nil},
			{"PSK verification", f.pskVerify.Raw, cat([]byte("donald@duck.com"), []byte("mickey@mouse.com"),
				mustHex(t, fmt.Sprintf("%016x", f.pskInit.T().Value)))},
		} {
			mac := hmac.New(h, key)
			mac.Write(c.raw[:len(c.raw)-macLen])
			mac.Write(c.extra)
			if got := c.raw[len(c.raw)-macLen:]; !bytes.Equal(got, mac.Sum(nil)) {
				t.Errorf("%s %s: MAC %x, independent %x", f.name, c.name, got, mac.Sum(nil))
			}
		}
	}
}
