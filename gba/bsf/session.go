package bsf

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// bootstrapSession is a bootstrapping session (TS 33.220 §4.5.2 step 6): what the BSF keeps for a B-TID
// so that it can answer Zn requests until the key lifetime ends.
type bootstrapSession struct {
	BTID    string
	IMPI    string
	RAND    []byte
	Ks      []byte // CK ‖ IK
	Created time.Time
	Expiry  time.Time
}

// String keeps Ks out of logs.
func (s bootstrapSession) String() string {
	return fmt.Sprintf("Session{B-TID:%s IMPI:%s Ks:[redacted] Created:%s Expiry:%s}", s.BTID, s.IMPI,
		s.Created.UTC().Format(time.RFC3339), s.Expiry.UTC().Format(time.RFC3339))
}

// LogValue keeps Ks out of slog output.
func (s bootstrapSession) LogValue() slog.Value {
	return slog.GroupValue(slog.String("btid", s.BTID), slog.String("impi", s.IMPI), slog.Time("expiry", s.Expiry))
}

// sessions holds one live session per IMPI: a new bootstrap replaces the subscriber's previous
// B-TID and Ks. This is the project's choice (the UE keeps only its newest Ks and B-TID, so an older
// B-TID has no user left), and it bounds the table by the number of subscribers.
type sessions struct {
	mu     sync.Mutex
	byBTID map[string]*bootstrapSession
	byIMPI map[string]string
}

func newSessions() *sessions {
	return &sessions{byBTID: make(map[string]*bootstrapSession), byIMPI: make(map[string]string)}
}

func (s *sessions) put(sess *bootstrapSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byIMPI[sess.IMPI]; ok {
		delete(s.byBTID, old)
	}
	if prev, ok := s.byBTID[sess.BTID]; ok && prev.IMPI != sess.IMPI {
		// Two RANDs collided (2^-128): the other subscriber loses the B-TID rather than share it.
		delete(s.byIMPI, prev.IMPI)
	}
	s.byBTID[sess.BTID] = sess
	s.byIMPI[sess.IMPI] = sess.BTID
}

// get returns the session of btid if it has not expired at now; an expired one is dropped.
func (s *sessions) get(btid string, now time.Time) (*bootstrapSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byBTID[btid]
	if !ok {
		return nil, false
	}
	if !now.Before(sess.Expiry) {
		delete(s.byBTID, btid)
		delete(s.byIMPI, sess.IMPI)
		return nil, false
	}
	return sess, true
}

func (s *sessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byBTID)
}
