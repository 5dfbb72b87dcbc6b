package mikey

import (
	"syscall"
	"testing"
	"time"
)

// processCPU is the CPU time of the process (user + system). On this shared 2-core machine the
// wall-clock ns/op of a benchmark swings with the other jobs; CPU time per operation ("cpu-ns/op")
// is the steadier figure of the work done, GC included.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchTransfer returns TransferInitParams for a TRANSFER_INIT with two crypto sessions and one SRTP
// policy, as in a call with audio and video, with fixed CSB ID and RANDRi (no randomness in the
// loop), PRF-HMAC-SHA-256 and HMAC-SHA-256-256 (the 3GPP-style profile), with or without forking.
func benchTransfer(b *testing.B, forking bool) (TransferInitParams, *flow) {
	cfg := flowCfg{prf: PRFHMACSHA256, ma: MACHMACSHA256256, ea: EncrAESCM128, flags: FlagD | FlagE | FlagF | FlagH | FlagJ}
	if forking {
		cfg.flags |= FlagG | FlagI
	}
	f := newFlow(b, cfg)
	cs := []GenericIDEntry{
		{CSID: 1, ProtType: ProtSRTP, PolicyNos: []uint8{1}, SessionData: SRTPSessionData(0x11223344, false, 0, 0), SPI: []byte{1}},
		{CSID: 2, ProtType: ProtSRTP, PolicyNos: []uint8{1}, SessionData: SRTPSessionData(0x55667788, false, 0, 0), SPI: []byte{1}},
	}
	return TransferInitParams{PRF: cfg.prf, CSBID: 0x12345678, T: testT(2), RANDRi: seq(0xa0, 16),
		IDRi:           &IDR{Role: IDRoleI, Type: IDTypeURI, Data: []byte("sip:alice@example.com")},
		IDRr:           &IDR{Role: IDRoleR, Type: IDTypeURI, Data: []byte("sip:bob@example.com")},
		CryptoSessions: cs, SPs: []*SP{srtpSP(1)}, Ticket: f.rr.Ticket, Keys: f.rr.Keys, MACAlg: cfg.ma}, f
}

// BenchmarkTransferInitBuild measures build + protect (key derivation, encoding, MAC, and with
// forking the Initiator Data) of a TRANSFER_INIT with two crypto sessions.
func BenchmarkTransferInitBuild(b *testing.B) {
	for _, forking := range []bool{false, true} {
		name := map[bool]string{false: "noFork", true: "fork"}[forking]
		b.Run(name, func(b *testing.B) {
			p, _ := benchTransfer(b, forking)
			b.ReportAllocs()
			cpu := processCPU(b)
			for b.Loop() {
				m, _, err := BuildTransferInit(p)
				if err != nil || len(m.Raw) == 0 {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkTransferInitVerify measures parse + verify of the same TRANSFER_INIT with MPKi.
func BenchmarkTransferInitVerify(b *testing.B) {
	for _, forking := range []bool{false, true} {
		name := map[bool]string{false: "noFork", true: "fork"}[forking]
		b.Run(name, func(b *testing.B) {
			p, f := benchTransfer(b, forking)
			m, _, err := BuildTransferInit(p)
			if err != nil {
				b.Fatal(err)
			}
			wire := m.Raw
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			cpu := processCPU(b)
			for b.Loop() {
				pm, err := ParseMessage(wire)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := VerifyTransferInit(pm, f.mpki); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// TestTransferInitForkingVr: with I = 1 the Initiator Data is First Payload, Vi, Vr; Vi equals V,
// Vr verifies with MPKr only, and changing Vi breaks both the Responder's Vi check and Vr.
func TestTransferInitForkingVr(t *testing.T) {
	f := newFlow(t, flowCfgs[1])
	m := mustParse(t, f.trInit.Raw)
	ps, err := ParsePayloadData(m.TICKET().InitiatorData)
	if err != nil || len(ps) != 2 {
		t.Fatalf("Initiator Data: %v, %d payloads", err, len(ps))
	}
	if _, err := VerifyInitiatorData(m.TICKET(), f.mpki); err == nil {
		t.Error("Vr verified with MPKi")
	}
	if _, err := VerifyInitiatorData(m.TICKET(), f.mpkr); err != nil {
		t.Errorf("Vr with MPKr: %v", err)
	}
	// The V MAC does not cover the Initiator Data (Table 5.2): replacing it keeps V valid, but the
	// Vi check of §4.2.3.6 catches a Vi that differs.
	vi := ps[0].(*V)
	other := &V{MACAlg: vi.MACAlg, MAC: make([]byte, len(vi.MAC))}
	id, err := BuildInitiatorData(other, PRFHMACSHA256, f.mpkr)
	if err != nil {
		t.Fatal(err)
	}
	m.TICKET().InitiatorData = id
	m.Raw = nil
	if _, err := m.Marshal(); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyTransferInit(mustParse(t, m.Raw), f.mpki); err == nil {
		t.Error("TRANSFER_INIT with a foreign Vi accepted")
	} else if n, _ := errNo(err); n != ErrAuthFailure {
		t.Errorf("foreign Vi: %v, want Auth failure", err)
	}
}

// TestTransferRespKeyChoice: without forking TRANSFER_RESP is keyed from MPKi, with forking from
// MPKr' (RFC 6043 §4.2.2.3), and RANDRr enters the label only with G (§5.1.2).
func TestTransferRespKeyChoice(t *testing.T) {
	for _, cfg := range flowCfgs {
		f := newFlow(t, cfg)
		m := mustParse(t, f.trResp.Raw)
		var randRr []byte
		if cfg.flags.Has(FlagG) {
			randRr = m.RANDR(RANDRoleR).Data
		} else if m.RANDR(RANDRoleR) != nil {
			t.Errorf("%s: RANDRr sent with G = 0", f.name)
		}
		mpk := f.mpki
		if cfg.flags.Has(FlagI) {
			forked, err := ForkMPKr(cfg.prf, f.mpkr, m.IDR(IDRoleR).Data, m.RANDR(RANDRoleKMS).Data)
			if err != nil {
				t.Fatal(err)
			}
			mpk = forked
		}
		l, err := TicketMessageLabel(m.HDR.CSBID, DirResponse, f.trInit.RANDR(RANDRoleI).Data, randRr)
		if err != nil {
			t.Fatal(err)
		}
		k, err := DeriveMessageKeys(cfg.prf, mpk, l, EncrNULL, cfg.ma)
		if err != nil {
			t.Fatal(err)
		}
		in, _ := m.MACInput(false)
		if err := VerifyMAC(cfg.ma, k.Auth, m.V().MAC, in, f.trInit.Raw); err != nil {
			t.Errorf("%s: TRANSFER_RESP V does not verify with the independently chosen key: %v", f.name, err)
		}
	}
}
