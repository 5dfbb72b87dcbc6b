package kms

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms/store"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// ticketKeys manages the ticket-protection keys (TPK master secrets, RFC 6043 Appendix A.2.1)
// kept in the Store. New tickets are protected with the current key, whose id travels in THDR
// (A.3); the current key is replaced every rotate interval, and the previous one is kept until the
// longest ticket it can protect has expired (retire = rotation time + longest validity + skew),
// so every replica holding the key set resolves every ticket. Keys are cached in memory; a key id
// the cache does not know (rotated by another replica) is read from the store.
type ticketKeys struct {
	st      store.Store
	rnd     io.Reader
	rotate  time.Duration
	longest time.Duration // longest ticket validity + clock skew

	mu      sync.RWMutex
	current store.TicketKey
	byID    map[uint32][]byte
}

func newTicketKeys(ctx context.Context, st store.Store, rnd io.Reader, rotate, longest time.Duration, now time.Time) (*ticketKeys, error) {
	tk := &ticketKeys{st: st, rnd: rnd, rotate: rotate, longest: longest, byID: make(map[uint32][]byte)}
	cur, err := st.CurrentTicketKey(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if cur, err = tk.rotateLocked(ctx, now); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("kms: current ticket key: %w", err)
	}
	tk.current = cur
	tk.byID[cur.ID] = cur.Material
	return tk, nil
}

// rotateLocked makes a fresh key current in the store.
func (tk *ticketKeys) rotateLocked(ctx context.Context, now time.Time) (store.TicketKey, error) {
	for range 4 {
		var b [4 + store.TicketKeyLen]byte
		if _, err := io.ReadFull(tk.rnd, b[:]); err != nil {
			return store.TicketKey{}, fmt.Errorf("kms: ticket key: %w", err)
		}
		k := store.TicketKey{ID: binary.BigEndian.Uint32(b[:4]), Material: append([]byte(nil), b[4:]...), Created: now}
		if k.ID == 0 {
			continue
		}
		err := tk.st.RotateTicketKey(ctx, k, now.Add(tk.longest))
		if errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return store.TicketKey{}, fmt.Errorf("kms: rotate ticket key: %w", err)
		}
		return k, nil
	}
	return store.TicketKey{}, errors.New("kms: rotate ticket key: no free key id")
}

// forIssue returns the key to protect a new ticket with, rotating first when it is due.
func (tk *ticketKeys) forIssue(ctx context.Context, now time.Time) (uint32, []byte, error) {
	tk.mu.RLock()
	cur := tk.current
	tk.mu.RUnlock()
	if tk.rotate <= 0 || now.Sub(cur.Created) < tk.rotate {
		return cur.ID, cur.Material, nil
	}
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if now.Sub(tk.current.Created) >= tk.rotate {
		// Another replica may have rotated already: take its key if it is fresh.
		if sc, err := tk.st.CurrentTicketKey(ctx); err == nil && now.Sub(sc.Created) < tk.rotate {
			tk.current = sc
		} else {
			k, err := tk.rotateLocked(ctx, now)
			if err != nil {
				return 0, nil, err
			}
			tk.current = k
		}
		tk.byID[tk.current.ID] = tk.current.Material
	}
	return tk.current.ID, tk.current.Material, nil
}

// lookup is the mikey.TPKLookup of OpenBaseTicket.
func (tk *ticketKeys) lookup(ctx context.Context, id uint32) ([]byte, error) {
	tk.mu.RLock()
	m, ok := tk.byID[id]
	tk.mu.RUnlock()
	if ok {
		return m, nil
	}
	k, err := tk.st.TicketKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, mikey.ErrUnknownTPK
	}
	if err != nil {
		return nil, err
	}
	tk.mu.Lock()
	tk.byID[id] = k.Material
	tk.mu.Unlock()
	return k.Material, nil
}

// prune deletes retired keys from the store and the cache.
func (tk *ticketKeys) prune(ctx context.Context, now time.Time) error {
	if _, err := tk.st.PruneTicketKeys(ctx, now); err != nil {
		return err
	}
	ks, err := tk.st.TicketKeys(ctx)
	if err != nil {
		return err
	}
	keep := make(map[uint32][]byte, len(ks))
	for _, k := range ks {
		keep[k.ID] = k.Material
	}
	tk.mu.Lock()
	tk.byID = keep
	tk.mu.Unlock()
	return nil
}

// lockedReader makes an injected io.Reader safe for concurrent requests.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

func randReader(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return &lockedReader{r: r}
}
