package kms

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"

	"github.com/imsphone/imsphone/keymgmt/kms/store"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// storeFailure marks an error of the Store met while checking freshness, so that it is answered
// as a server failure (500), not as a replay.
type storeFailure struct{ err error }

func (e *storeFailure) Error() string { return "store: " + e.err.Error() }
func (e *storeFailure) Unwrap() error { return e.err }

// psk finds the PSK of a REQUEST_INIT_PSK or RESOLVE_INIT_PSK: IDRpsk carries the B-TID
// (TS 33.328, unverified: our choice), and Ks_NAF comes from the BSF over Zn for NAF_Id = FQDN ‖
// 01 00 00 00 06 (TS 33.220 §4.5.3). Only parsing has happened so far; the identity rate limit
// applies before the Zn lookup, the only work before the MAC check.
func (s *Server) psk(ctx context.Context, m *mikey.Message, ev *AuditEvent) (ZnKey, *reply) {
	idr := m.IDR(mikey.IDRolePSK)
	if idr == nil || len(idr.Data) == 0 {
		ev.Reason = "no IDRpsk (B-TID)"
		rp := s.fail(*ev, m, http.StatusBadRequest, mikey.ErrInvalidID, nil, 0)
		return ZnKey{}, &rp
	}
	ev.BTID = string(idr.Data)
	if ok, wait := s.idRate.allow(ev.BTID, s.now()); !ok {
		s.stats.limited.Add(1)
		ev.Reason = "identity rate limit"
		rp := s.fail(*ev, m, http.StatusTooManyRequests, mikey.ErrUnspecified, nil, 0)
		rp.retryAfter = wait
		return ZnKey{}, &rp
	}
	zk, err := s.zn.Resolve(ctx, ev.BTID, s.cfg.FQDN)
	if err == nil && !zk.Expiry.IsZero() && !s.now().Before(zk.Expiry) {
		err = fmt.Errorf("%w: Ks_NAF expired at %s", ErrUnknownBTID, zk.Expiry)
	}
	if err != nil {
		ev.Reason = "Zn: " + err.Error()
		if errors.Is(err, ErrUnknownBTID) {
			// TS 24.109 §5.2.4: a NAF that does not know the B-TID asks the UE to bootstrap again.
			rp := s.fail(*ev, m, http.StatusUnauthorized, mikey.ErrAuthFailure, nil, 0)
			rp.bootstrap = true
			return ZnKey{}, &rp
		}
		rp := s.fail(*ev, m, http.StatusBadGateway, mikey.ErrUnspecified, nil, 0)
		return ZnKey{}, &rp
	}
	if len(zk.Key) == 0 {
		ev.Reason = "Zn returned no key"
		rp := s.fail(*ev, m, http.StatusBadGateway, mikey.ErrUnspecified, nil, 0)
		return ZnKey{}, &rp
	}
	ev.IMPI = zk.IMPI
	return zk, nil
}

// freshness is the verifiers' Freshness hook: the timestamp window and the replay cache of RFC
// 3830 §5.4 (RFC 6043 §12.4) through store.ReplayGuard, per identity (the B-TID) and exchange.
// The message id hashes the data type, T and the RANDs and CSB ID the verifier passes.
func (s *Server) freshness(ctx context.Context, dt mikey.DataType) mikey.Freshness {
	return func(t *mikey.T, identity []byte, rands ...[]byte) error {
		ts, err := t.Time()
		if err != nil {
			return &mikey.ProtocolError{ErrNo: mikey.ErrInvalidTS, Err: fmt.Errorf("timestamp: %w", err)}
		}
		h := sha256.New()
		var b [9]byte
		b[0] = byte(t.TSType)
		binary.BigEndian.PutUint64(b[1:], t.Value)
		h.Write(b[:])
		for _, r := range rands {
			var l [2]byte
			binary.BigEndian.PutUint16(l[:], uint16(len(r)))
			h.Write(l[:])
			h.Write(r)
		}
		err = s.guard.Check(ctx, fmt.Sprintf("%d:%s", dt, identity), h.Sum(nil), ts)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, store.ErrTimestampWindow), errors.Is(err, store.ErrBeforeEpoch), errors.Is(err, store.ErrReplay):
			return &mikey.ProtocolError{ErrNo: mikey.ErrInvalidTS, Err: err}
		}
		return &storeFailure{err}
	}
}

// verifyFailed answers an error of a verifier. Before the MAC verified (authenticated == false)
// the answer is unauthenticated (RFC 3830 §5.1.2); after, it is MAC'd with the request's auth key
// (RFC 6043 §5.4).
func (s *Server) verifyFailed(ev AuditEvent, m *mikey.Message, err error, keys *mikey.MessageKeys) reply {
	ev.Reason = err.Error()
	var authKey []byte
	var ma mikey.MACAlg
	if keys != nil {
		authKey, ma = keys.Auth, keys.MACAlg
	}
	var sf *storeFailure
	if errors.As(err, &sf) {
		s.log.Error("replay cache", "err", sf.err)
		return s.fail(ev, m, http.StatusInternalServerError, mikey.ErrUnspecified, authKey, ma)
	}
	var pe *mikey.ProtocolError
	if !errors.As(err, &pe) {
		return s.fail(ev, m, http.StatusInternalServerError, mikey.ErrUnspecified, authKey, ma)
	}
	if keys == nil {
		if pe.ErrNo == mikey.ErrAuthFailure {
			return s.fail(ev, m, http.StatusForbidden, pe.ErrNo, nil, 0)
		}
		return s.fail(ev, m, http.StatusBadRequest, pe.ErrNo, nil, 0)
	}
	return s.fail(ev, m, statusFor(pe.ErrNo, false), pe.ErrNo, authKey, ma)
}
