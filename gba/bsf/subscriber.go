package bsf

import (
	"fmt"
	"log/slog"
)

// Subscriber is one HSS/AuC record: the USIM's long-term secrets and the AuC's sequence number.
type Subscriber struct {
	// IMPI is the private user identity, the Digest username on Ub (TS 24.109 §4.4).
	IMPI string
	// K and OPc are the Milenage subscriber key and operator variant (TS 35.206), 16 octets each.
	K, OPc []byte
	// AMF is the authentication management field put into AUTN (TS 33.102 §6.3.2).
	AMF [2]byte
	// SQN is the initial SQN_HE (48 bits), used when the state file has no entry for the IMPI.
	SQN uint64
}

// String keeps K and OPc out of logs.
func (s Subscriber) String() string {
	return fmt.Sprintf("Subscriber{IMPI:%s K:[redacted] OPc:[redacted] AMF:%x SQN:%012x}", s.IMPI, s.AMF, s.SQN)
}

// LogValue keeps K and OPc out of slog output.
func (s Subscriber) LogValue() slog.Value {
	return slog.GroupValue(slog.String("impi", s.IMPI), slog.String("amf", fmt.Sprintf("%x", s.AMF)))
}

// GoString keeps K and OPc out of %#v.
func (s Subscriber) GoString() string { return s.String() }

func (s Subscriber) validate() error {
	if s.IMPI == "" {
		return fmt.Errorf("subscriber: empty IMPI")
	}
	if len(s.K) != 16 {
		return fmt.Errorf("subscriber %s: K has %d octets, want 16", s.IMPI, len(s.K))
	}
	if len(s.OPc) != 16 {
		return fmt.Errorf("subscriber %s: OPc has %d octets, want 16", s.IMPI, len(s.OPc))
	}
	if s.SQN > maxSQN {
		return fmt.Errorf("subscriber %s: SQN %x longer than 48 bits", s.IMPI, s.SQN)
	}
	return nil
}
