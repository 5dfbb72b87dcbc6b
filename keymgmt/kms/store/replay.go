package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Replay errors. Each maps to MIKEY Error no 1, "Invalid TS" (RFC 3830 §6.12); RFC 6043 §5.4
// says how the KMS reports it.
var (
	ErrTimestampWindow = errors.New("store: timestamp outside the allowed clock skew")
	ErrBeforeEpoch     = errors.New("store: timestamp not covered by the replay cache")
	ErrReplay          = errors.New("store: replayed message")
)

// ReplayGuard is the replay protection of RFC 3830 §5.4 as RFC 6043 §12.4 applies it to the
// KMS: a message is accepted only if its timestamp lies within Skew of the KMS clock, the
// replay cache can vouch for that timestamp, and the (identity, message id) pair is not in
// the cache. Call Check only for messages whose MAC verified: the cache holds authenticated
// messages only (RFC 3830 §5.4), so forged messages cannot fill it.
type ReplayGuard struct {
	store Store
	skew  time.Duration
	now   func() time.Time
	epoch time.Time
}

// NewReplayGuard marks the start of this process on s (Store.MarkStarted) and returns a
// guard with the given clock skew and clock.
func NewReplayGuard(ctx context.Context, s Store, skew time.Duration, now func() time.Time) (*ReplayGuard, error) {
	if skew <= 0 {
		return nil, fmt.Errorf("%w: clock skew %v", ErrInvalid, skew)
	}
	epoch, err := s.MarkStarted(ctx, now())
	if err != nil {
		return nil, fmt.Errorf("store: replay guard: %w", err)
	}
	return &ReplayGuard{store: s, skew: skew, now: now, epoch: epoch}, nil
}

// Epoch is the replay cache's epoch (Store.StartedAt).
func (g *ReplayGuard) Epoch() time.Time { return g.epoch }

// Check admits a message with timestamp ts (the T payload) from identity, identified by
// msgID (e.g. a hash of the message, or its RAND), and records it. It returns
// ErrTimestampWindow, ErrBeforeEpoch or ErrReplay (wrapped) when the message must be refused.
//
// The epoch rule: a message admitted before the cache began had ts < epoch + Skew (it arrived
// before the epoch with ts at most Skew ahead). Such a timestamp cannot be told from a replay
// once the cache is lost, so it is refused; this is RFC 3830 §5.4's "rejects all incoming
// requests until the clock skew interval has passed" for a cache that starts empty, and it
// also refuses every message timestamped before the start. A persistent cache keeps its old
// epoch, so a restart of a file-backed KMS refuses nothing.
func (g *ReplayGuard) Check(ctx context.Context, identity string, msgID []byte, ts time.Time) error {
	now := g.now()
	if ts.Before(now.Add(-g.skew)) || ts.After(now.Add(g.skew)) {
		return fmt.Errorf("%w: %s is %v from the KMS clock (skew %v)", ErrTimestampWindow, identity, ts.Sub(now).Round(time.Millisecond), g.skew)
	}
	if ts.Before(g.epoch.Add(g.skew)) {
		return fmt.Errorf("%w: %s: timestamp %v before epoch %v + skew %v", ErrBeforeEpoch, identity, ts.UTC().Format(time.RFC3339Nano), g.epoch.UTC().Format(time.RFC3339Nano), g.skew)
	}
	// A replay of this message passes the window check only until ts + skew.
	seen, err := g.store.CheckAndRecord(ctx, identity, msgID, ts.Add(g.skew))
	if err != nil {
		return fmt.Errorf("store: replay check for %s: %w", identity, err)
	}
	if seen {
		return fmt.Errorf("%w from %s", ErrReplay, identity)
	}
	return nil
}

// Prune drops cache entries that no longer matter (Store.PruneReplay at the guard's clock).
func (g *ReplayGuard) Prune(ctx context.Context) (int, error) {
	return g.store.PruneReplay(ctx, g.now())
}
