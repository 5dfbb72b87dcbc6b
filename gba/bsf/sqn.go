package bsf

import "fmt"

// Sequence numbers follow the TS 33.102 Annex C profile: SQN (48 bits) = SEQ (43 bits) ‖ IND
// (5 bits). The AuC keeps one counter per subscriber, SQN_HE, the last SQN it put into an AUTN.
//
// Each new authentication vector takes SEQ := SEQ_HE + 1 (Annex C.1.1, C.3.2: SEQ strictly
// increases, so the vector is fresh for a USIM that keeps one SEQ_MS per IND, and equally for one
// that keeps a single counter and accepts SQN > SQN_MS) and IND := IND_HE + 1 mod 32, a cyclic
// allocation of the array index (Annex C.1.2 leaves the allocation to the operator; cycling spreads
// consecutive vectors over the USIM's array entries, which is what lets vectors be used out of
// order).
//
// On resynchronisation (TS 33.102 §6.3.5) the AuC takes SQN_HE := SQN_MS, the highest SQN the USIM
// accepted, so the next vector has SEQ_MS + 1. The USIM's view is taken as authoritative whether
// SQN_MS is ahead of SQN_HE (the usual case: the USIM was used elsewhere) or behind it (the USIM
// rejected a SEQ too far ahead under its Δ limit).
const (
	indBits = 5
	indMask = 1<<indBits - 1
	maxSQN  = 1<<48 - 1
)

// nextSQN returns the SQN that follows sqnHE in the SEQ‖IND scheme.
func nextSQN(sqnHE uint64) (uint64, error) {
	seq := sqnHE>>indBits + 1
	if seq >= 1<<(48-indBits) {
		return 0, fmt.Errorf("SEQ exhausted at SQN_HE %012x (TS 33.102 C.1: wrap-around is not allowed)", sqnHE)
	}
	ind := (sqnHE + 1) & indMask
	return seq<<indBits | ind, nil
}
