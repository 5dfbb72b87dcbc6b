package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms/store"
)

// A KMS rotates its ticket-protection key daily; the old key stays resolvable until the
// longest ticket it protects (here 8 h) has expired, then pruning removes it.
func ExampleStore_rotation() {
	ctx := context.Background()
	s := store.NewMemory()
	defer s.Close()
	day1 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	const maxTicket = 8 * time.Hour

	_ = s.RotateTicketKey(ctx, store.TicketKey{ID: 1, Material: bytes.Repeat([]byte{1}, 32), Created: day1}, time.Time{})
	day2 := day1.Add(24 * time.Hour)
	_ = s.RotateTicketKey(ctx, store.TicketKey{ID: 2, Material: bytes.Repeat([]byte{2}, 32), Created: day2}, day2.Add(maxTicket))

	cur, _ := s.CurrentTicketKey(ctx)
	old, _ := s.TicketKey(ctx, 1)
	fmt.Println(cur.ID, old)
	n, _ := s.PruneTicketKeys(ctx, day2.Add(maxTicket))
	_, err := s.TicketKey(ctx, 1)
	fmt.Println(n, errors.Is(err, store.ErrNotFound))
	// Output:
	// 2 ticket key 1 (created 2026-11-26T00:00:00Z, retire 2026-11-27T08:00:00Z, material redacted)
	// 1 true
}

// The replay guard admits a message once, inside the clock-skew window.
func ExampleReplayGuard() {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	g, err := store.NewReplayGuard(ctx, store.NewMemory(), time.Minute, clock)
	if err != nil {
		panic(err)
	}
	now = now.Add(time.Hour) // an hour after the start the cache covers all timestamps
	ts := now.Add(-5 * time.Second)
	fmt.Println(g.Check(ctx, "alice@ims.example", []byte("rand-1"), ts))
	fmt.Println(errors.Is(g.Check(ctx, "alice@ims.example", []byte("rand-1"), ts), store.ErrReplay))
	fmt.Println(errors.Is(g.Check(ctx, "alice@ims.example", []byte("rand-2"), now.Add(-2*time.Minute)), store.ErrTimestampWindow))
	// Output:
	// <nil>
	// true
	// true
}
