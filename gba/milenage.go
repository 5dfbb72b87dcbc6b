package gba

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"log/slog"
)

// Sizes of the Milenage inputs and outputs (TS 35.206 §2.3, §3).
const (
	KeyLen  = 16 // K, OP, OPc, CK, IK
	RANDLen = 16
	SQNLen  = 6
	AMFLen  = 2
	MACLen  = 8 // MAC-A, MAC-S
	RESLen  = 8 // f2 output of Milenage (64 bits)
	AKLen   = 6 // AK, AK*
	AUTNLen = SQNLen + AMFLen + MACLen
	AUTSLen = SQNLen + MACLen
)

// Milenage constants c1..c5 (as the last octet of a 128-bit block) and rotations r1..r5 in octets
// (TS 35.206 §4.1: r1=64, r2=0, r3=32, r4=64, r5=96 bits).
var (
	milenageC = [5]byte{0x00, 0x01, 0x02, 0x04, 0x08}
	milenageR = [5]int{8, 0, 4, 8, 12}
)

// Milenage holds a subscriber key K and its OPc and computes the TS 35.206 functions. It is safe
// for concurrent use; Zero wipes K and OPc (the AES key schedule inside crypto/aes cannot be
// reached, so drop the value afterwards).
type Milenage struct {
	k, opc [KeyLen]byte
	block  cipher.Block
}

// ComputeOPc derives OPc = OP ⊕ E_K(OP) (TS 35.206 §4.1).
func ComputeOPc(k, op []byte) ([]byte, error) {
	if len(k) != KeyLen {
		return nil, fmt.Errorf("milenage: K is %d octets, want %d", len(k), KeyLen)
	}
	if len(op) != KeyLen {
		return nil, fmt.Errorf("milenage: OP is %d octets, want %d", len(op), KeyLen)
	}
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("milenage: %w", err)
	}
	opc := make([]byte, KeyLen)
	b.Encrypt(opc, op)
	xor(opc, opc, op)
	return opc, nil
}

// NewMilenage returns the Milenage functions for K and OPc. The slices are copied.
func NewMilenage(k, opc []byte) (*Milenage, error) {
	if len(k) != KeyLen {
		return nil, fmt.Errorf("milenage: K is %d octets, want %d", len(k), KeyLen)
	}
	if len(opc) != KeyLen {
		return nil, fmt.Errorf("milenage: OPc is %d octets, want %d", len(opc), KeyLen)
	}
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("milenage: %w", err)
	}
	m := &Milenage{block: b}
	copy(m.k[:], k)
	copy(m.opc[:], opc)
	return m, nil
}

// String redacts K and OPc.
func (m *Milenage) String() string { return "Milenage{K:[redacted], OPc:[redacted]}" }

// LogValue redacts K and OPc.
func (m *Milenage) LogValue() slog.Value { return slog.StringValue(m.String()) }

// Zero wipes K and OPc held by m.
func (m *Milenage) Zero() {
	clear(m.k[:])
	clear(m.opc[:])
}

// temp computes TEMP = E_K(RAND ⊕ OPc).
func (m *Milenage) temp(rand []byte) ([KeyLen]byte, error) {
	var t [KeyLen]byte
	if len(rand) != RANDLen {
		return t, fmt.Errorf("milenage: RAND is %d octets, want %d", len(rand), RANDLen)
	}
	xor(t[:], rand, m.opc[:])
	m.block.Encrypt(t[:], t[:])
	return t, nil
}

// F1 computes f1 (MAC-A) and f1* (MAC-S) over RAND, SQN and AMF (TS 35.206 §4.1).
func (m *Milenage) F1(rand, sqn, amf []byte) (macA, macS []byte, err error) {
	if len(sqn) != SQNLen {
		return nil, nil, fmt.Errorf("milenage: SQN is %d octets, want %d", len(sqn), SQNLen)
	}
	if len(amf) != AMFLen {
		return nil, nil, fmt.Errorf("milenage: AMF is %d octets, want %d", len(amf), AMFLen)
	}
	temp, err := m.temp(rand)
	if err != nil {
		return nil, nil, err
	}
	// IN1 = SQN ‖ AMF ‖ SQN ‖ AMF
	var in1, x [KeyLen]byte
	copy(in1[0:6], sqn)
	copy(in1[6:8], amf)
	copy(in1[8:14], sqn)
	copy(in1[14:16], amf)
	xor(in1[:], in1[:], m.opc[:])
	rotate(&x, &in1, milenageR[0])
	xor(x[:], x[:], temp[:])
	x[KeyLen-1] ^= milenageC[0]
	m.block.Encrypt(x[:], x[:])
	xor(x[:], x[:], m.opc[:])
	out := make([]byte, 2*MACLen)
	copy(out, x[:])
	return out[:MACLen:MACLen], out[MACLen:], nil
}

// out computes OUTi = E_K(rot(TEMP ⊕ OPc, ri) ⊕ ci) ⊕ OPc for i = 2..5 (index i-1).
func (m *Milenage) out(temp *[KeyLen]byte, i int, dst *[KeyLen]byte) {
	var t [KeyLen]byte
	xor(t[:], temp[:], m.opc[:])
	rotate(dst, &t, milenageR[i])
	dst[KeyLen-1] ^= milenageC[i]
	m.block.Encrypt(dst[:], dst[:])
	xor(dst[:], dst[:], m.opc[:])
}

// F2345 computes f2 (RES), f3 (CK), f4 (IK) and f5 (AK) for RAND (TS 35.206 §4.1).
func (m *Milenage) F2345(rand []byte) (res, ck, ik, ak []byte, err error) {
	temp, err := m.temp(rand)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var o [KeyLen]byte
	buf := make([]byte, RESLen+2*KeyLen+AKLen)
	res, ck, ik, ak = buf[0:8:8], buf[8:24:24], buf[24:40:40], buf[40:46:46]
	m.out(&temp, 1, &o)
	copy(ak, o[0:6])
	copy(res, o[8:16])
	m.out(&temp, 2, &o)
	copy(ck, o[:])
	m.out(&temp, 3, &o)
	copy(ik, o[:])
	return res, ck, ik, ak, nil
}

// F5Star computes f5* (AK*, the resynchronisation anonymity key) for RAND.
func (m *Milenage) F5Star(rand []byte) (akStar []byte, err error) {
	temp, err := m.temp(rand)
	if err != nil {
		return nil, err
	}
	var o [KeyLen]byte
	m.out(&temp, 4, &o)
	return append([]byte(nil), o[:AKLen]...), nil
}

// rotate sets dst to src rotated cyclically left by n octets.
func rotate(dst, src *[KeyLen]byte, n int) {
	for i := range dst {
		dst[i] = src[(i+n)%KeyLen]
	}
}

func xor(dst, a, b []byte) {
	for i := range dst {
		dst[i] = a[i] ^ b[i]
	}
}
