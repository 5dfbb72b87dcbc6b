package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Memory is the in-memory backend: for tests and a KMS without persistence. Its replay cache
// dies with the process, which is what the started-at rule is for.
type Memory struct {
	mu        sync.Mutex
	closed    bool
	keys      map[uint32]TicketKey
	current   uint32
	hasCur    bool
	users     map[string]User
	replay    map[replayKey]time.Time
	uses      map[string]ticketUse
	startedAt time.Time
}

type replayKey struct{ identity, msgID string }

type ticketUse struct {
	count   uint64
	expires time.Time
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		keys:   map[uint32]TicketKey{},
		users:  map[string]User{},
		replay: map[replayKey]time.Time{},
		uses:   map[string]ticketUse{},
	}
}

// lock takes the mutex after checking ctx and that the store is open; the caller unlocks.
func (m *Memory) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	return nil
}

func (m *Memory) AddTicketKey(ctx context.Context, k TicketKey) error {
	if err := k.validate(); err != nil {
		return err
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.keys[k.ID]; ok {
		return fmt.Errorf("%w: ticket key %d", ErrExists, k.ID)
	}
	m.keys[k.ID] = k.clone()
	return nil
}

func (m *Memory) RotateTicketKey(ctx context.Context, next TicketKey, retirePrevious time.Time) error {
	if err := next.validate(); err != nil {
		return err
	}
	if !next.Retire.IsZero() {
		return fmt.Errorf("%w: the current ticket key cannot have a retire time", ErrInvalid)
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.keys[next.ID]; ok {
		return fmt.Errorf("%w: ticket key %d", ErrExists, next.ID)
	}
	if m.hasCur {
		prev := m.keys[m.current]
		prev.Retire = retirePrevious
		m.keys[m.current] = prev
	}
	m.keys[next.ID] = next.clone()
	m.current, m.hasCur = next.ID, true
	return nil
}

func (m *Memory) CurrentTicketKey(ctx context.Context) (TicketKey, error) {
	if err := m.lock(ctx); err != nil {
		return TicketKey{}, err
	}
	defer m.mu.Unlock()
	if !m.hasCur {
		return TicketKey{}, fmt.Errorf("%w: no current ticket key", ErrNotFound)
	}
	return m.keys[m.current].clone(), nil
}

func (m *Memory) TicketKey(ctx context.Context, id uint32) (TicketKey, error) {
	if err := m.lock(ctx); err != nil {
		return TicketKey{}, err
	}
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return TicketKey{}, fmt.Errorf("%w: ticket key %d", ErrNotFound, id)
	}
	return k.clone(), nil
}

func (m *Memory) TicketKeys(ctx context.Context) ([]TicketKey, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := make([]TicketKey, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, k.clone())
	}
	slices.SortFunc(out, func(a, b TicketKey) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

func (m *Memory) PruneTicketKeys(ctx context.Context, now time.Time) (int, error) {
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	n := 0
	for id, k := range m.keys {
		if (m.hasCur && id == m.current) || k.Retire.IsZero() || k.Retire.After(now) {
			continue
		}
		delete(m.keys, id)
		n++
	}
	return n, nil
}

func (m *Memory) PutUser(ctx context.Context, u User) error {
	if err := u.validate(); err != nil {
		return err
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.users[u.IMPI] = u.clone()
	return nil
}

func (m *Memory) User(ctx context.Context, impi string) (User, error) {
	if err := m.lock(ctx); err != nil {
		return User{}, err
	}
	defer m.mu.Unlock()
	u, ok := m.users[impi]
	if !ok {
		return User{}, fmt.Errorf("%w: user %q", ErrNotFound, impi)
	}
	return u.clone(), nil
}

func (m *Memory) DeleteUser(ctx context.Context, impi string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.users[impi]; !ok {
		return fmt.Errorf("%w: user %q", ErrNotFound, impi)
	}
	delete(m.users, impi)
	return nil
}

func (m *Memory) Users(ctx context.Context) ([]User, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := make([]User, 0, len(m.users))
	for _, u := range m.users {
		out = append(out, u.clone())
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.IMPI, b.IMPI) })
	return out, nil
}

func (m *Memory) CheckAndRecord(ctx context.Context, identity string, msgID []byte, expires time.Time) (bool, error) {
	if err := checkReplayArgs(identity, msgID); err != nil {
		return false, err
	}
	if err := m.lock(ctx); err != nil {
		return false, err
	}
	defer m.mu.Unlock()
	k := replayKey{identity, string(msgID)}
	if _, ok := m.replay[k]; ok {
		return true, nil
	}
	m.replay[k] = expires
	return false, nil
}

func (m *Memory) PruneReplay(ctx context.Context, now time.Time) (int, error) {
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	n := 0
	for k, exp := range m.replay {
		if !exp.After(now) {
			delete(m.replay, k)
			n++
		}
	}
	return n, nil
}

func (m *Memory) IncrementTicketUse(ctx context.Context, ticketID []byte, expires time.Time) (uint64, error) {
	if err := checkTicketID(ticketID); err != nil {
		return 0, err
	}
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	u := m.uses[string(ticketID)]
	u.count++
	if expires.After(u.expires) {
		u.expires = expires
	}
	m.uses[string(ticketID)] = u
	return u.count, nil
}

func (m *Memory) TicketUses(ctx context.Context, ticketID []byte) (uint64, error) {
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	return m.uses[string(ticketID)].count, nil
}

func (m *Memory) PruneTicketUses(ctx context.Context, now time.Time) (int, error) {
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	n := 0
	for id, u := range m.uses {
		if !u.expires.After(now) {
			delete(m.uses, id)
			n++
		}
	}
	return n, nil
}

func (m *Memory) MarkStarted(ctx context.Context, now time.Time) (time.Time, error) {
	if err := m.lock(ctx); err != nil {
		return time.Time{}, err
	}
	defer m.mu.Unlock()
	if m.startedAt.IsZero() {
		m.startedAt = now
	}
	return m.startedAt, nil
}

func (m *Memory) StartedAt(ctx context.Context) (time.Time, error) {
	if err := m.lock(ctx); err != nil {
		return time.Time{}, err
	}
	defer m.mu.Unlock()
	return m.startedAt, nil
}

// Close releases the maps; later calls return ErrClosed. Key material is zeroed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	for _, k := range m.keys {
		clear(k.Material)
	}
	m.closed = true
	m.keys, m.users, m.replay, m.uses = nil, nil, nil, nil
	return nil
}
