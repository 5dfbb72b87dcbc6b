package zn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/imsphone/imsphone/gba"
)

// Resolver fetches Ks_(ext)_NAF for a B-TID and NAF_Id over Zn (TS 33.220 §4.5.3).
// An unknown or expired B-TID yields an error matching ErrUnknownBTID.
type Resolver interface {
	Resolve(ctx context.Context, btid string, nafID gba.NAFID) (*NAFKey, error)
}

// NAFKey is what the BSF returns over Zn: Ks_NAF (32 octets), its expiry and the subscriber's IMPI.
type NAFKey struct {
	Key    []byte
	Expiry time.Time
	IMPI   string
}

// String never shows the key.
func (k *NAFKey) String() string {
	if k == nil {
		return "NAFKey(nil)"
	}
	return fmt.Sprintf("NAFKey{Key:[redacted %d octets] Expiry:%s IMPI:%s}", len(k.Key),
		k.Expiry.UTC().Format(time.RFC3339), k.IMPI)
}

// LogValue keeps the key out of slog output.
func (k *NAFKey) LogValue() slog.Value {
	if k == nil {
		return slog.StringValue("nil")
	}
	return slog.GroupValue(slog.Int("key_len", len(k.Key)), slog.Time("expiry", k.Expiry), slog.String("impi", k.IMPI))
}

// Format makes %v, %+v, %#v and %s all go through String.
func (k *NAFKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

func (k *NAFKey) clone() *NAFKey {
	c := *k
	c.Key = append([]byte(nil), k.Key...)
	return &c
}

// ErrUnknownBTID means the BSF does not know the B-TID (never bootstrapped, or expired): the UE has
// to run Ub again (TS 24.109 §5.2.4; Diameter Zn result 5403).
var ErrUnknownBTID = errors.New("zn: B-TID unknown or expired at the BSF; bootstrap again")

// ProblemError is a non-200 Zn answer, with the ProblemDetails the BSF sent (if any).
type ProblemError struct {
	Status  int
	Problem ProblemDetails
}

func (e *ProblemError) Error() string {
	s := fmt.Sprintf("zn: BSF answered HTTP %d", e.Status)
	if e.Problem.Cause != "" {
		s += " cause " + e.Problem.Cause
	}
	if e.Problem.Detail != "" {
		s += ": " + e.Problem.Detail
	} else if e.Problem.Title != "" {
		s += ": " + e.Problem.Title
	}
	return s
}

// Is makes errors.Is(err, ErrUnknownBTID) true for a 404 answer.
func (e *ProblemError) Is(target error) bool {
	return target == ErrUnknownBTID && e.Status == 404
}
