package bsf

import (
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/imsphone/imsphone/gba"
)

// ErrUnknownIMPI means the HSS has no subscriber with the IMPI (the Zh MAA would carry
// DIAMETER_ERROR_USER_UNKNOWN).
var ErrUnknownIMPI = errors.New("IMPI unknown to the HSS")

// AuC simulates the HSS/AuC behind the BSF's Zh reference point (TS 33.220 §4.5.2 step 2): it
// generates authentication vectors with Milenage (TS 35.206) and handles AUTS resynchronisation
// (TS 33.102 §6.3.5). Sequence numbers follow the SEQ‖IND scheme described in sqn.go, and SQN_HE
// is persisted to the state file before a vector is handed out. It is safe for concurrent use.
type AuC struct {
	statePath string
	subs      map[string]aucRecord // read-only after NewAuC

	mu  sync.Mutex
	sqn map[string]uint64 // SQN_HE per IMPI
}

type aucRecord struct {
	m   *gba.Milenage
	amf []byte
}

// NewAuC loads the subscribers, taking SQN_HE from the state file where it has an entry. An empty
// statePath keeps SQN_HE in memory only.
func NewAuC(subs []Subscriber, statePath string) (*AuC, error) {
	saved, err := loadState(statePath)
	if err != nil {
		return nil, err
	}
	// Entries of subscribers no longer configured stay in the state, so removing a subscriber from
	// the configuration for a while does not reset its SQN_HE.
	a := &AuC{statePath: statePath, subs: make(map[string]aucRecord, len(subs)), sqn: saved}
	for i, s := range subs {
		if err := s.validate(); err != nil {
			return nil, fmt.Errorf("subscriber %d: %w", i, err)
		}
		if _, dup := a.subs[s.IMPI]; dup {
			return nil, fmt.Errorf("subscriber %d: IMPI %s listed twice", i, s.IMPI)
		}
		m, err := gba.NewMilenage(s.K, s.OPc)
		if err != nil {
			return nil, fmt.Errorf("subscriber %s: %w", s.IMPI, err)
		}
		a.subs[s.IMPI] = aucRecord{m: m, amf: []byte{s.AMF[0], s.AMF[1]}}
		if _, ok := saved[s.IMPI]; !ok {
			a.sqn[s.IMPI] = s.SQN
		}
	}
	return a, nil
}

// Vector returns a fresh authentication vector for impi with the given RAND (TS 33.102 §6.3.2),
// after SQN_HE has been advanced and saved.
func (a *AuC) Vector(impi string, rand []byte) (gba.AuthVector, error) {
	rec, ok := a.subs[impi]
	if !ok {
		return gba.AuthVector{}, ErrUnknownIMPI
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	sqn, err := nextSQN(a.sqn[impi])
	if err != nil {
		return gba.AuthVector{}, fmt.Errorf("AuC %s: %w", impi, err)
	}
	if err := a.commit(impi, sqn); err != nil {
		return gba.AuthVector{}, err
	}
	av, err := gba.GenerateAuthVector(rec.m, rand, sqn, rec.amf)
	if err != nil {
		return gba.AuthVector{}, fmt.Errorf("AuC %s: %w", impi, err)
	}
	return av, nil
}

// Resync checks AUTS against the RAND of the challenge the USIM rejected (MAC-S, TS 33.102
// §6.3.5) and, if it verifies, sets SQN_HE := SQN_MS. It returns SQN_MS.
func (a *AuC) Resync(impi string, rand, auts []byte) (uint64, error) {
	rec, ok := a.subs[impi]
	if !ok {
		return 0, ErrUnknownIMPI
	}
	sqnMS, err := gba.ResyncSQN(rec.m, rand, auts)
	if err != nil {
		return 0, fmt.Errorf("AuC %s: resynchronisation: %w", impi, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.commit(impi, sqnMS); err != nil {
		return 0, err
	}
	return sqnMS, nil
}

// SQN returns SQN_HE of impi.
func (a *AuC) SQN(impi string) (uint64, bool) {
	if _, ok := a.subs[impi]; !ok {
		return 0, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sqn[impi], true
}

// commit sets SQN_HE and saves the state; on a failed save the old value stays. Callers hold mu.
func (a *AuC) commit(impi string, sqn uint64) error {
	old := a.sqn[impi]
	a.sqn[impi] = sqn
	if a.statePath == "" {
		return nil
	}
	if err := saveState(a.statePath, maps.Clone(a.sqn)); err != nil {
		a.sqn[impi] = old
		return fmt.Errorf("AuC %s: %w", impi, err)
	}
	return nil
}
