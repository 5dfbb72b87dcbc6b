package gba

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// USIM-side sequence number management, TS 33.102 Annex C.2 (verified against the Annex C.2.1/C.2.2
// text): SQN (48 bits) = SEQ ‖ IND, IND the low INDBits bits.
//   - The USIM keeps an array SEQ_MS(0) … SEQ_MS(a−1), a = 2^INDBits; every element starts at zero.
//   - SQN is fresh if SEQ > SEQ_MS(IND); the USIM then sets SEQ_MS(IND) := SEQ.
//   - Before that, SEQ − SEQ_MS ≤ Δ must hold, where SEQ_MS is the highest SEQ in the array
//     (C.2.1: the USIM does not accept arbitrary jumps); and, if a limit L is configured,
//     SEQ_MS − SEQ < L (C.2.2, the optional age limit).
//   - On any failure the USIM reports SQN_MS, the highest previously accepted sequence number
//     anywhere in the array: SEQ_MS(i) ‖ i for the i with the largest SEQ_MS(i).
//
// INDBits = 0 gives a single counter that accepts only SQN > SQN_MS.
const (
	DefaultINDBits = 5
	DefaultDelta   = 1 << 28
	maxINDBits     = 10
)

// SQNPolicy configures the freshness check.
type SQNPolicy struct {
	INDBits int    // length of IND in bits, 0..10
	Delta   uint64 // Δ; 0 means DefaultDelta
	L       uint64 // age limit L; 0 means no limit
}

// SQNArray is the USIM's SEQ_MS array. It is not safe for concurrent use.
type SQNArray struct {
	policy SQNPolicy
	seqMS  []uint64
}

// NewSQNArray returns a fresh array (all SEQ_MS zero).
func NewSQNArray(p SQNPolicy) (*SQNArray, error) {
	if p.INDBits < 0 || p.INDBits > maxINDBits {
		return nil, fmt.Errorf("SQN: IND length %d bits is outside 0..%d", p.INDBits, maxINDBits)
	}
	if p.Delta == 0 {
		p.Delta = DefaultDelta
	}
	return &SQNArray{policy: p, seqMS: make([]uint64, 1<<p.INDBits)}, nil
}

func (a *SQNArray) split(sqn uint64) (seq uint64, ind int) {
	return sqn >> a.policy.INDBits, int(sqn & (1<<a.policy.INDBits - 1))
}

// SQNMS returns SQN_MS, the highest accepted SQN (0 if none).
func (a *SQNArray) SQNMS() uint64 {
	best := 0
	for i, s := range a.seqMS {
		if s > a.seqMS[best] {
			best = i
		}
	}
	if a.seqMS[best] == 0 {
		return 0
	}
	return a.seqMS[best]<<a.policy.INDBits | uint64(best)
}

// Fresh reports whether sqn would be accepted, and if not, why.
func (a *SQNArray) Fresh(sqn uint64) error {
	if sqn > MaxSQN {
		return fmt.Errorf("SQN %#x exceeds 48 bits", sqn)
	}
	seq, ind := a.split(sqn)
	seqMS := a.SQNMS() >> a.policy.INDBits
	if seq > seqMS && seq-seqMS > a.policy.Delta {
		return fmt.Errorf("SEQ %d is more than Δ=%d ahead of SEQ_MS %d", seq, a.policy.Delta, seqMS)
	}
	if a.policy.L != 0 && seqMS > seq && seqMS-seq >= a.policy.L {
		return fmt.Errorf("SEQ %d is L=%d or more behind SEQ_MS %d", seq, a.policy.L, seqMS)
	}
	if seq <= a.seqMS[ind] {
		return fmt.Errorf("SEQ %d is not above SEQ_MS(%d) = %d (replay or out of order)", seq, ind, a.seqMS[ind])
	}
	return nil
}

// Accept records sqn as used; call it only after Fresh(sqn) returned nil.
func (a *SQNArray) Accept(sqn uint64) {
	seq, ind := a.split(sqn)
	a.seqMS[ind] = seq
}

// sqnFile is the on-disk form of the array.
type sqnFile struct {
	Comment string   `json:"comment,omitempty"`
	INDBits int      `json:"ind_bits"`
	SEQMS   []uint64 `json:"seq_ms"`
}

// LoadSQNArray reads the array from path; a missing file gives a fresh array. A file written with
// another IND length is an error, not silently reset, since resetting would let old AUTNs replay.
func LoadSQNArray(path string, p SQNPolicy) (*SQNArray, error) {
	a, err := NewSQNArray(p)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return a, nil
	}
	if err != nil {
		return nil, fmt.Errorf("SQN state: %w", err)
	}
	var f sqnFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("SQN state %s: %w", path, err)
	}
	if f.INDBits != p.INDBits || len(f.SEQMS) != len(a.seqMS) {
		return nil, fmt.Errorf("SQN state %s: IND length %d bits with %d entries, configured %d bits", path, f.INDBits, len(f.SEQMS), p.INDBits)
	}
	for i, s := range f.SEQMS {
		if s > MaxSQN>>p.INDBits {
			return nil, fmt.Errorf("SQN state %s: SEQ_MS(%d) = %d exceeds %d bits", path, i, s, 48-p.INDBits)
		}
	}
	copy(a.seqMS, f.SEQMS)
	return a, nil
}

// Save writes the array to path atomically: a temporary file in the same directory, fsync, then
// rename over path, so that a crash leaves either the old or the new state, never a torn file.
func (a *SQNArray) Save(path string) error {
	b, err := json.MarshalIndent(sqnFile{Comment: "USIM SEQ_MS array, TS 33.102 Annex C", INDBits: a.policy.INDBits, SEQMS: a.seqMS}, "", " ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("SQN state: %w", err)
	}
	name := tmp.Name()
	_, werr := tmp.Write(append(b, '\n'))
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(name, path)
	}
	if werr != nil {
		os.Remove(name)
		return fmt.Errorf("SQN state %s: %w", path, werr)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: make the rename durable
		d.Close()
	}
	return nil
}
