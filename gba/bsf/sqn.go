package bsf

import "fmt"

// Sequence numbers follow TS 33.102 Annex C: SQN (48 bits) = SEQ (43 bits) ‖ IND (5 bits), with one
// counter per user in the AuC, SQN_HE = SEQ_HE ‖ IND_HE (C.1.1.1). The USIM keeps an array
// SEQ_MS(0..31) and accepts SQN when SEQ > SEQ_MS(IND), then sets SEQ_MS(IND) := SEQ; it may also
// refuse SEQ − SEQ_MS > Δ (C.2.1, C.2.2).
//
// This AuC uses the non-time-based variant: each new vector takes SEQ := SEQ_HE + 1, so SEQ
// strictly increases and every vector is fresh both for a USIM with the IND array and for one that
// keeps a single counter and accepts only SQN > SQN_MS; and IND := IND_HE + 1 mod 32, a cyclic
// allocation of the array index (how IND is allocated is left to the operator), which spreads
// consecutive vectors over the USIM's array entries.
//
// On resynchronisation (TS 33.102 §6.3.5) the AuC takes SQN_HE := SQN_MS, the highest SQN the USIM
// accepted, so the next vector has SEQ_MS + 1. The USIM's value is taken as authoritative whether
// SQN_MS is ahead of SQN_HE (the usual case: the USIM was used with another AuC copy) or behind it
// (the USIM refused a SEQ more than Δ ahead).
const (
	indBits = 5
	indMask = 1<<indBits - 1
	maxSQN  = 1<<48 - 1
)

// nextSQN returns the SQN that follows sqnHE in the SEQ‖IND scheme.
func nextSQN(sqnHE uint64) (uint64, error) {
	seq := sqnHE>>indBits + 1
	if seq >= 1<<(48-indBits) {
		return 0, fmt.Errorf("SEQ exhausted at SQN_HE %012x: a wrap-around would make every later vector stale to the USIM", sqnHE)
	}
	ind := (sqnHE + 1) & indMask
	return seq<<indBits | ind, nil
}
