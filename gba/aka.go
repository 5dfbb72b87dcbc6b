package gba

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
)

// MaxSQN is the largest 48-bit sequence number.
const MaxSQN = 1<<48 - 1

// ErrMACS is returned by ResyncSQN when the MAC-S in AUTS does not verify.
var ErrMACS = errors.New("AUTS MAC-S mismatch")

// AuthVector is an authentication vector as the AuC/HSS generates it (TS 33.102 §6.3.2):
// RAND, AUTN = (SQN ⊕ AK) ‖ AMF ‖ MAC-A, XRES = f2, CK = f3, IK = f4.
type AuthVector struct {
	RAND, AUTN, XRES, CK, IK []byte
}

// String shows RAND and AUTN (sent in clear over the air) and redacts XRES, CK and IK.
func (v AuthVector) String() string {
	return fmt.Sprintf("AuthVector{RAND:%x, AUTN:%x, XRES:[redacted], CK:[redacted], IK:[redacted]}", v.RAND, v.AUTN)
}

// LogValue redacts XRES, CK and IK.
func (v AuthVector) LogValue() slog.Value { return slog.StringValue(v.String()) }

// Zero wipes XRES, CK and IK.
func (v AuthVector) Zero() {
	clear(v.XRES)
	clear(v.CK)
	clear(v.IK)
}

// GenerateAuthVector builds the vector for RAND, SQN and AMF (TS 33.102 §6.3.2, Figure 7).
func GenerateAuthVector(m *Milenage, rand []byte, sqn uint64, amf []byte) (AuthVector, error) {
	if sqn > MaxSQN {
		return AuthVector{}, fmt.Errorf("AKA: SQN %#x exceeds 48 bits", sqn)
	}
	sq := PutSQN(sqn)
	macA, _, err := m.F1(rand, sq, amf)
	if err != nil {
		return AuthVector{}, fmt.Errorf("AKA: f1: %w", err)
	}
	res, ck, ik, ak, err := m.F2345(rand)
	if err != nil {
		return AuthVector{}, fmt.Errorf("AKA: f2345: %w", err)
	}
	autn := make([]byte, 0, AUTNLen)
	for i := range SQNLen {
		autn = append(autn, sq[i]^ak[i])
	}
	autn = append(autn, amf...)
	autn = append(autn, macA...)
	return AuthVector{RAND: append([]byte(nil), rand...), AUTN: autn, XRES: res, CK: ck, IK: ik}, nil
}

// ResyncSQN is the AuC side of re-synchronisation (TS 33.102 §6.3.5): it recovers
// SQN_MS = AUTS[0:6] ⊕ f5*(RAND) and checks MAC-S = f1*(SQN_MS, RAND, AMF) with the dummy AMF
// 0000 (§6.3.3: "the dummy value of AMF ... all zeros"). RAND is that of the rejected challenge.
func ResyncSQN(m *Milenage, rand, auts []byte) (sqnMS uint64, err error) {
	if len(auts) != AUTSLen {
		return 0, fmt.Errorf("AKA resync: AUTS is %d octets, want %d", len(auts), AUTSLen)
	}
	akStar, err := m.F5Star(rand)
	if err != nil {
		return 0, fmt.Errorf("AKA resync: %w", err)
	}
	sq := make([]byte, SQNLen)
	xor(sq, auts[:SQNLen], akStar)
	_, macS, err := m.F1(rand, sq, []byte{0, 0})
	if err != nil {
		return 0, fmt.Errorf("AKA resync: %w", err)
	}
	if subtle.ConstantTimeCompare(macS, auts[SQNLen:]) != 1 {
		return 0, fmt.Errorf("AKA resync: %w", ErrMACS)
	}
	return GetSQN(sq), nil
}

// ComputeAUTS builds AUTS = (SQN_MS ⊕ AK*) ‖ MAC-S for a USIM reporting SQN_MS (TS 33.102 §6.3.3).
func ComputeAUTS(m *Milenage, rand []byte, sqnMS uint64) ([]byte, error) {
	if sqnMS > MaxSQN {
		return nil, fmt.Errorf("AKA resync: SQN_MS %#x exceeds 48 bits", sqnMS)
	}
	sq := PutSQN(sqnMS)
	akStar, err := m.F5Star(rand)
	if err != nil {
		return nil, fmt.Errorf("AKA resync: %w", err)
	}
	_, macS, err := m.F1(rand, sq, []byte{0, 0})
	if err != nil {
		return nil, fmt.Errorf("AKA resync: %w", err)
	}
	auts := make([]byte, AUTSLen)
	xor(auts[:SQNLen], sq, akStar)
	copy(auts[SQNLen:], macS)
	return auts, nil
}

// PutSQN encodes the low 48 bits of sqn big-endian in 6 octets.
func PutSQN(sqn uint64) []byte {
	b := make([]byte, SQNLen)
	for i := range SQNLen {
		b[i] = byte(sqn >> (8 * (SQNLen - 1 - i)))
	}
	return b
}

// GetSQN decodes a 6-octet big-endian SQN.
func GetSQN(b []byte) uint64 {
	var s uint64
	for _, c := range b[:SQNLen] {
		s = s<<8 | uint64(c)
	}
	return s
}
