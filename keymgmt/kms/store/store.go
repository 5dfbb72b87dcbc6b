package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Store is the KMS state. Every method honours ctx (returns ctx.Err() when it is done before
// the work starts) and is safe for concurrent use. Slices passed in are not retained and
// slices returned are not shared with the store.
type Store interface {
	// AddTicketKey stores a key that is not current, e.g. one received from another replica's
	// key set. ErrExists if the id is taken.
	AddTicketKey(ctx context.Context, k TicketKey) error
	// RotateTicketKey atomically makes next the current ticket-protection key and sets the
	// Retire time of the previous current key (if any) to retirePrevious, which should be the
	// expiry of the longest ticket it can still protect. next.Retire must be zero: the current
	// key never retires. ErrExists if next.ID is taken.
	RotateTicketKey(ctx context.Context, next TicketKey, retirePrevious time.Time) error
	// CurrentTicketKey returns the key new tickets are protected with; ErrNotFound if none.
	CurrentTicketKey(ctx context.Context) (TicketKey, error)
	// TicketKey returns the key with the given id (from a ticket's THDR); ErrNotFound.
	TicketKey(ctx context.Context, id uint32) (TicketKey, error)
	// TicketKeys lists all keys, ordered by id.
	TicketKeys(ctx context.Context) ([]TicketKey, error)
	// PruneTicketKeys deletes the keys whose Retire time is set and not after now; never the
	// current key. It returns how many it deleted.
	PruneTicketKeys(ctx context.Context, now time.Time) (int, error)

	// PutUser inserts or replaces the user with u.IMPI.
	PutUser(ctx context.Context, u User) error
	// User returns the user with the IMPI; ErrNotFound.
	User(ctx context.Context, impi string) (User, error)
	// DeleteUser removes the user; ErrNotFound if absent.
	DeleteUser(ctx context.Context, impi string) error
	// Users lists all users, ordered by IMPI.
	Users(ctx context.Context) ([]User, error)

	// CheckAndRecord is the replay test of RFC 3830 §5.4: it reports seen = true if
	// (identity, msgID) is in the cache, and otherwise records it until expires and reports
	// false. The test and the record are one atomic step: of any number of concurrent calls
	// with the same pair exactly one sees false. An entry is kept at least until expires
	// (not after PruneReplay with a time before expires) and may be dropped any time after it,
	// so callers must refuse messages outside the timestamp window before asking.
	CheckAndRecord(ctx context.Context, identity string, msgID []byte, expires time.Time) (seen bool, err error)
	// PruneReplay deletes replay entries whose expiry is not after now; it returns how many.
	PruneReplay(ctx context.Context, now time.Time) (int, error)

	// IncrementTicketUse adds one to the use count of a ticket and returns the new count. The
	// entry lives until the later of its current expiry and expires. Atomic like
	// CheckAndRecord: n concurrent calls on a fresh ticket return 1..n, each once.
	IncrementTicketUse(ctx context.Context, ticketID []byte, expires time.Time) (uint64, error)
	// TicketUses returns the use count of a ticket, 0 if it has none.
	TicketUses(ctx context.Context, ticketID []byte) (uint64, error)
	// PruneTicketUses deletes use counts whose expiry is not after now; it returns how many.
	PruneTicketUses(ctx context.Context, now time.Time) (int, error)

	// MarkStarted records that the replay cache is in use from now on and returns its epoch:
	// the time since which the cache holds every message it admitted. The first call on a
	// store sets the epoch; later calls keep it, because the cache is still complete since
	// then (and a clock stepped back cannot move it). A store whose cache did not survive a
	// restart (the memory backend) is new, so its epoch is the restart. The epoch persists
	// with the cache.
	MarkStarted(ctx context.Context, now time.Time) (time.Time, error)
	// StartedAt returns the epoch; the zero time if MarkStarted was never called.
	StartedAt(ctx context.Context) (time.Time, error)

	io.Closer
}

// Errors of the Store methods; backends wrap them with context.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	ErrInvalid  = errors.New("store: invalid argument")
	ErrClosed   = errors.New("store: closed")
)

// TicketKeyLen is the length of a ticket-protection key: a 256-bit TPK master secret.
const TicketKeyLen = 32

// Limits that keep one request from filling the store.
const (
	MaxIdentityLen = 1024
	MaxMsgIDLen    = 1024
	MaxTicketIDLen = 1024
)

// TicketKey is one ticket-protection key. Material is secret: String and LogValue omit it.
type TicketKey struct {
	// ID is carried in the ticket's THDR Data (RFC 6043 Appendix A.3).
	ID       uint32
	Material []byte
	Created  time.Time
	// Retire is when the key may be deleted: the expiry of the last ticket it protects.
	// Zero while the key is current (or not yet scheduled).
	Retire time.Time
}

func (k TicketKey) String() string {
	return fmt.Sprintf("ticket key %d (created %s, retire %s, material redacted)", k.ID, fmtTime(k.Created), fmtTime(k.Retire))
}

// GoString redacts like String.
func (k TicketKey) GoString() string { return k.String() }

// LogValue logs the key without its material.
func (k TicketKey) LogValue() slog.Value {
	return slog.GroupValue(slog.Uint64("id", uint64(k.ID)), slog.Time("created", k.Created), slog.Time("retire", k.Retire))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func (k TicketKey) validate() error {
	if len(k.Material) != TicketKeyLen {
		return fmt.Errorf("%w: ticket key %d material is %d octets, want %d", ErrInvalid, k.ID, len(k.Material), TicketKeyLen)
	}
	return nil
}

func (k TicketKey) clone() TicketKey {
	k.Material = append([]byte(nil), k.Material...)
	return k
}

// User is an IMS subscriber as the KMS knows it: the private identity it authenticates (via
// the B-TID and Zn) and the public identities and groups it may act as.
type User struct {
	IMPI   string
	IMPUs  []string
	Groups []string
}

func (u User) validate() error {
	if u.IMPI == "" || len(u.IMPI) > MaxIdentityLen {
		return fmt.Errorf("%w: IMPI length %d", ErrInvalid, len(u.IMPI))
	}
	return nil
}

func (u User) clone() User {
	u.IMPUs = append([]string(nil), u.IMPUs...)
	u.Groups = append([]string(nil), u.Groups...)
	return u
}

func checkReplayArgs(identity string, msgID []byte) error {
	if identity == "" || len(identity) > MaxIdentityLen {
		return fmt.Errorf("%w: identity length %d", ErrInvalid, len(identity))
	}
	if len(msgID) == 0 || len(msgID) > MaxMsgIDLen {
		return fmt.Errorf("%w: message id length %d", ErrInvalid, len(msgID))
	}
	return nil
}

func checkTicketID(id []byte) error {
	if len(id) == 0 || len(id) > MaxTicketIDLen {
		return fmt.Errorf("%w: ticket id length %d", ErrInvalid, len(id))
	}
	return nil
}
