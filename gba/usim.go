package gba

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
)

// USIM is the UE's authentication module: given RAND and AUTN it runs the USIM side of UMTS AKA
// (TS 33.102 §6.3.3). SoftUSIM implements it in software; a PC/SC smart-card reader issuing the
// AUTHENTICATE command of TS 31.102 §7.1 could implement it too.
//
// Authenticate returns the result, or an error that is a *SyncFailure (SQN not fresh; carries
// AUTS) or wraps ErrMACFailure (AUTN not made by the home network; no RES may be sent).
type USIM interface {
	IMPI() string
	Authenticate(ctx context.Context, rand, autn []byte) (*AKAResult, error)
}

// ErrMACFailure reports that MAC-A in AUTN did not verify: network authentication failed
// (TS 33.102 §6.3.3, "user authentication reject" towards the network).
var ErrMACFailure = errors.New("AKA network authentication failure: MAC in AUTN does not verify")

// ErrAMF reports an AUTN whose AMF is not the one the SoftUSIM is configured to require.
var ErrAMF = errors.New("AKA: AMF in AUTN not accepted")

// SyncFailure reports that AUTN was genuine but its SQN was not fresh (TS 33.102 §6.3.3, §6.3.5).
// AUTS = (SQN_MS ⊕ AK*) ‖ MAC-S lets the home network resynchronise.
type SyncFailure struct {
	AUTS   []byte
	Reason string // why the SQN was refused, for logs (no secrets)
}

func (e *SyncFailure) Error() string {
	return "AKA synchronisation failure: SQN not fresh (" + e.Reason + ")"
}

// AKAResult holds RES, CK and IK of a successful AKA run.
type AKAResult struct {
	RES, CK, IK []byte
}

// String redacts RES, CK and IK.
func (r *AKAResult) String() string { return "AKAResult{RES:[redacted], CK:[redacted], IK:[redacted]}" }

// LogValue redacts RES, CK and IK.
func (r *AKAResult) LogValue() slog.Value { return slog.StringValue(r.String()) }

// Zero wipes RES, CK and IK.
func (r *AKAResult) Zero() {
	clear(r.RES)
	clear(r.CK)
	clear(r.IK)
}

// SoftUSIMConfig configures a software USIM.
type SoftUSIMConfig struct {
	IMPI string // private user identity, the Digest username on Ub
	K    []byte // 16 octets
	// Exactly one of OP and OPc (16 octets each).
	OP, OPc []byte
	// AMF, if set (2 octets), must equal the AMF in every AUTN; nil accepts any AMF. TS 33.102
	// leaves AMF use to the operator; this is a test-profile check.
	AMF []byte
	// SQNFile keeps the SEQ_MS array between runs ("" keeps it in memory only), so that a
	// restarted UE still refuses replayed AUTNs and the BSF does not see spurious resyncs.
	SQNFile string
	// INDBits is the IND length (TS 33.102 C.1.2); 0 means DefaultINDBits. SingleCounter instead
	// uses one counter (IND length 0), which accepts only SQN > SQN_MS.
	INDBits       int
	SingleCounter bool
	Delta         uint64 // Δ of C.2.1; 0 means DefaultDelta
	L             uint64 // age limit L of C.2.2; 0 means none
}

// SoftUSIM is a USIM in software running Milenage. It is safe for concurrent use; runs are
// serialised so that SQN state and its file stay consistent.
type SoftUSIM struct {
	impi    string
	amf     []byte
	sqnFile string

	mu  sync.Mutex
	m   *Milenage
	sqn *SQNArray
}

// NewSoftUSIM builds a SoftUSIM and loads its SQN state.
func NewSoftUSIM(cfg SoftUSIMConfig) (*SoftUSIM, error) {
	if cfg.IMPI == "" {
		return nil, errors.New("USIM: IMPI is empty")
	}
	opc := cfg.OPc
	switch {
	case cfg.OP != nil && cfg.OPc != nil:
		return nil, errors.New("USIM: both OP and OPc configured; give one")
	case cfg.OP != nil:
		var err error
		if opc, err = ComputeOPc(cfg.K, cfg.OP); err != nil {
			return nil, fmt.Errorf("USIM: %w", err)
		}
	case cfg.OPc == nil:
		return nil, errors.New("USIM: neither OP nor OPc configured")
	}
	m, err := NewMilenage(cfg.K, opc)
	if cfg.OP != nil {
		clear(opc)
	}
	if err != nil {
		return nil, fmt.Errorf("USIM: %w", err)
	}
	if cfg.AMF != nil && len(cfg.AMF) != AMFLen {
		return nil, fmt.Errorf("USIM: AMF is %d octets, want %d", len(cfg.AMF), AMFLen)
	}
	p := SQNPolicy{INDBits: cfg.INDBits, Delta: cfg.Delta, L: cfg.L}
	if cfg.SingleCounter {
		p.INDBits = 0
	} else if p.INDBits == 0 {
		p.INDBits = DefaultINDBits
	}
	var arr *SQNArray
	if cfg.SQNFile != "" {
		arr, err = LoadSQNArray(cfg.SQNFile, p)
	} else {
		arr, err = NewSQNArray(p)
	}
	if err != nil {
		return nil, fmt.Errorf("USIM: %w", err)
	}
	u := &SoftUSIM{impi: cfg.IMPI, amf: append([]byte(nil), cfg.AMF...), sqnFile: cfg.SQNFile, m: m, sqn: arr}
	if cfg.AMF == nil {
		u.amf = nil
	}
	// K and OPc live in m, a separate allocation: wipe them once u is unreachable.
	runtime.AddCleanup(u, func(m *Milenage) { m.Zero() }, m)
	return u, nil
}

// IMPI returns the private user identity.
func (u *SoftUSIM) IMPI() string { return u.impi }

// String redacts K and OPc.
func (u *SoftUSIM) String() string {
	return "SoftUSIM{IMPI:" + u.impi + ", K:[redacted], OPc:[redacted]}"
}

// LogValue redacts K and OPc.
func (u *SoftUSIM) LogValue() slog.Value { return slog.StringValue(u.String()) }

// Close wipes K and OPc; the SoftUSIM cannot be used afterwards.
func (u *SoftUSIM) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m != nil {
		u.m.Zero()
		u.m = nil
	}
	return nil
}

// SQNMS returns the highest SQN accepted so far.
func (u *SoftUSIM) SQNMS() uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.sqn.SQNMS()
}

// Authenticate runs the USIM procedure of TS 33.102 §6.3.3 (digest §8.4):
// AK = f5(RAND), SQN = AUTN[0:6] ⊕ AK, XMAC = f1(SQN, RAND, AMF), compared with MAC in constant time;
// then the Annex C freshness check; on success RES = f2, CK = f3, IK = f4, and the new SEQ_MS is
// saved before RES is released, so a crash cannot let the same AUTN be accepted twice.
func (u *SoftUSIM) Authenticate(ctx context.Context, rand, autn []byte) (*AKAResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(rand) != RANDLen {
		return nil, fmt.Errorf("USIM: RAND is %d octets, want %d", len(rand), RANDLen)
	}
	if len(autn) != AUTNLen {
		return nil, fmt.Errorf("USIM: AUTN is %d octets, want %d", len(autn), AUTNLen)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		return nil, errors.New("USIM: closed")
	}
	res, ck, ik, ak, err := u.m.F2345(rand)
	if err != nil {
		return nil, fmt.Errorf("USIM: %w", err)
	}
	r := &AKAResult{RES: res, CK: ck, IK: ik}
	sq := make([]byte, SQNLen)
	xor(sq, autn[:SQNLen], ak)
	amf := autn[SQNLen : SQNLen+AMFLen]
	xmac, _, err := u.m.F1(rand, sq, amf)
	if err != nil {
		r.Zero()
		return nil, fmt.Errorf("USIM: %w", err)
	}
	if subtle.ConstantTimeCompare(xmac, autn[SQNLen+AMFLen:]) != 1 {
		r.Zero()
		return nil, ErrMACFailure
	}
	if u.amf != nil && subtle.ConstantTimeCompare(u.amf, amf) != 1 {
		r.Zero()
		return nil, fmt.Errorf("%w: got %x, configured %x", ErrAMF, amf, u.amf)
	}
	sqn := GetSQN(sq)
	if ferr := u.sqn.Fresh(sqn); ferr != nil {
		r.Zero()
		auts, err := ComputeAUTS(u.m, rand, u.sqn.SQNMS())
		if err != nil {
			return nil, fmt.Errorf("USIM: %w", err)
		}
		return nil, &SyncFailure{AUTS: auts, Reason: ferr.Error()}
	}
	prev := append([]uint64(nil), u.sqn.seqMS...)
	u.sqn.Accept(sqn)
	if u.sqnFile != "" {
		if err := u.sqn.Save(u.sqnFile); err != nil {
			copy(u.sqn.seqMS, prev)
			r.Zero()
			return nil, fmt.Errorf("USIM: SQN accepted but not saved, refusing: %w", err)
		}
	}
	return r, nil
}
