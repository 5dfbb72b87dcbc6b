package etcd

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/imsphone/imsphone/keymgmt/kms/store"
)

// DefaultPrefix is the key prefix the KMS state lives under when Config.Prefix is empty.
const DefaultPrefix = "/imsphone/kms/"

// Config connects to an etcd cluster.
type Config struct {
	// Endpoints are the cluster's client URLs (e.g. "http://127.0.0.1:2379"). Required.
	Endpoints []string
	// Prefix is prepended to every key [DefaultPrefix]; KMS deployments that share a cluster
	// but not their state use different prefixes.
	Prefix string
	// DialTimeout bounds the first connection [5 s].
	DialTimeout time.Duration
	// RequestTimeout bounds each etcd request when the caller's context has no deadline [5 s].
	RequestTimeout time.Duration
	// Username and Password for etcd authentication, when enabled on the cluster.
	Username, Password string
	// TLS for https endpoints (client certificate and CA).
	TLS *tls.Config
}

// Store is the etcd backend of store.Store.
type Store struct {
	c       *clientv3.Client
	owned   bool
	prefix  string
	timeout time.Duration
	closed  atomic.Bool
}

var _ store.Store = (*Store)(nil)

// Open connects to the cluster and waits until it answers (a read of the epoch), so that a
// wrong address fails here and not at the first message.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("%w: etcd: no endpoints", store.ErrInvalid)
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints: cfg.Endpoints, DialTimeout: cfg.DialTimeout, Username: cfg.Username, Password: cfg.Password,
		TLS: cfg.TLS, Context: ctx, Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("store: etcd %v: %w", cfg.Endpoints, err)
	}
	s := New(c, cfg.Prefix)
	s.owned = true
	if cfg.RequestTimeout > 0 {
		s.timeout = cfg.RequestTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if _, err := s.StartedAt(pctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("store: etcd %v: %w", cfg.Endpoints, err)
	}
	return s, nil
}

// New uses an existing client; Close then leaves the client open.
func New(c *clientv3.Client, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{c: c, prefix: prefix, timeout: 5 * time.Second}
}

// Close closes the client if Open made it. Later calls fail with store.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) || !s.owned {
		return nil
	}
	return s.c.Close()
}

// begin checks ctx and the closed state and bounds the request.
func (s *Store) begin(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if s.closed.Load() {
		return nil, nil, store.ErrClosed
	}
	if _, ok := ctx.Deadline(); ok {
		ctx, cancel := context.WithCancel(ctx)
		return ctx, cancel, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	return ctx, cancel, nil
}

func (s *Store) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if s.closed.Load() {
		return fmt.Errorf("%w: etcd %s: %v", store.ErrClosed, what, err)
	}
	return fmt.Errorf("store: etcd %s: %w", what, err)
}

// Keys. Ticket keys are named by their id in 8 hex digits so that the key order is the id order;
// replay entries and use counts by a hex digest, which bounds the key length.
func (s *Store) keyTicketKey(id uint32) string { return fmt.Sprintf("%stk/%08x", s.prefix, id) }
func (s *Store) keyTicketKeys() string         { return s.prefix + "tk/" }
func (s *Store) keyCurrent() string            { return s.prefix + "meta/current_ticket_key" }
func (s *Store) keyStarted() string            { return s.prefix + "meta/started_at" }
func (s *Store) keyUser(impi string) string    { return s.prefix + "user/" + impi }
func (s *Store) keyUsers() string              { return s.prefix + "user/" }
func (s *Store) keyReplays() string            { return s.prefix + "replay/" }
func (s *Store) keyUses() string               { return s.prefix + "uses/" }

func (s *Store) keyReplay(identity string, msgID []byte) string {
	h := sha256.New()
	var l [binary.MaxVarintLen64]byte
	h.Write(l[:binary.PutUvarint(l[:], uint64(len(identity)))])
	h.Write([]byte(identity))
	h.Write(msgID)
	return s.keyReplays() + hex.EncodeToString(h.Sum(nil))
}

func (s *Store) keyUse(ticketID []byte) string {
	h := sha256.Sum256(ticketID)
	return s.keyUses() + hex.EncodeToString(h[:])
}

// Values carry a version so the encoding can change. Times are Unix nanoseconds, 0 for the zero
// time, as in the file store.
const valueVersion = 1

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

type ticketKeyValue struct {
	V        int    `json:"v"`
	Material []byte `json:"material"`
	Created  int64  `json:"created"`
	Retire   int64  `json:"retire"`
}

func encodeTicketKey(k store.TicketKey) string {
	b, _ := json.Marshal(ticketKeyValue{V: valueVersion, Material: k.Material, Created: nanos(k.Created), Retire: nanos(k.Retire)})
	return string(b)
}

func corrupt(what string, key []byte) error {
	return fmt.Errorf("store: etcd: corrupt %s record %q", what, key)
}

func decodeTicketKey(key, v []byte, id uint32) (store.TicketKey, error) {
	var r ticketKeyValue
	if err := json.Unmarshal(v, &r); err != nil || r.V != valueVersion || len(r.Material) != store.TicketKeyLen {
		return store.TicketKey{}, corrupt("ticket key", key)
	}
	return store.TicketKey{ID: id, Material: r.Material, Created: fromNanos(r.Created), Retire: fromNanos(r.Retire)}, nil
}

func (s *Store) idOf(key []byte) (uint32, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(string(key), s.keyTicketKeys()), 16, 32)
	if err != nil {
		return 0, corrupt("ticket key id", key)
	}
	return uint32(n), nil
}

func validKey(k store.TicketKey) error {
	if len(k.Material) != store.TicketKeyLen {
		return fmt.Errorf("%w: ticket key %d material is %d octets, want %d", store.ErrInvalid, k.ID, len(k.Material), store.TicketKeyLen)
	}
	return nil
}

func (s *Store) AddTicketKey(ctx context.Context, k store.TicketKey) error {
	if err := validKey(k); err != nil {
		return err
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	key := s.keyTicketKey(k.ID)
	r, err := s.c.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, encodeTicketKey(k))).Commit()
	if err != nil {
		return s.wrap("add ticket key", err)
	}
	if !r.Succeeded {
		return fmt.Errorf("%w: ticket key %d", store.ErrExists, k.ID)
	}
	return nil
}

// RotateTicketKey is one transaction guarded by the current-key pointer's revision: if another
// replica rotated meanwhile, it reads again and retries, so the previous key's retire time is
// always set on the key that really was current.
func (s *Store) RotateTicketKey(ctx context.Context, next store.TicketKey, retirePrevious time.Time) error {
	if err := validKey(next); err != nil {
		return err
	}
	if !next.Retire.IsZero() {
		return fmt.Errorf("%w: the current ticket key cannot have a retire time", store.ErrInvalid)
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	nextKey := s.keyTicketKey(next.ID)
	for {
		r, err := s.c.Txn(ctx).Then(clientv3.OpGet(s.keyCurrent()), clientv3.OpGet(nextKey, clientv3.WithCountOnly())).Commit()
		if err != nil {
			return s.wrap("rotate ticket key", err)
		}
		if r.Responses[1].GetResponseRange().Count > 0 {
			return fmt.Errorf("%w: ticket key %d", store.ErrExists, next.ID)
		}
		conds := []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(nextKey), "=", 0)}
		ops := []clientv3.Op{clientv3.OpPut(nextKey, encodeTicketKey(next)), clientv3.OpPut(s.keyCurrent(), strconv.FormatUint(uint64(next.ID), 10))}
		if kvs := r.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 {
			cur := kvs[0]
			conds = append(conds, clientv3.Compare(clientv3.ModRevision(s.keyCurrent()), "=", cur.ModRevision))
			id, err := strconv.ParseUint(string(cur.Value), 10, 32)
			if err != nil {
				return corrupt("current ticket key", cur.Key)
			}
			prevKey := s.keyTicketKey(uint32(id))
			g, err := s.c.Get(ctx, prevKey)
			if err != nil {
				return s.wrap("rotate ticket key", err)
			}
			if len(g.Kvs) != 1 {
				return corrupt("current ticket key (missing)", cur.Key)
			}
			prev, err := decodeTicketKey(g.Kvs[0].Key, g.Kvs[0].Value, uint32(id))
			if err != nil {
				return err
			}
			prev.Retire = retirePrevious
			conds = append(conds, clientv3.Compare(clientv3.ModRevision(prevKey), "=", g.Kvs[0].ModRevision))
			ops = append(ops, clientv3.OpPut(prevKey, encodeTicketKey(prev)))
		} else {
			conds = append(conds, clientv3.Compare(clientv3.CreateRevision(s.keyCurrent()), "=", 0))
		}
		t, err := s.c.Txn(ctx).If(conds...).Then(ops...).Commit()
		if err != nil {
			return s.wrap("rotate ticket key", err)
		}
		if t.Succeeded {
			return nil
		}
	}
}

func (s *Store) CurrentTicketKey(ctx context.Context) (store.TicketKey, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.TicketKey{}, err
	}
	defer cancel()
	for {
		g, err := s.c.Get(ctx, s.keyCurrent())
		if err != nil {
			return store.TicketKey{}, s.wrap("current ticket key", err)
		}
		if len(g.Kvs) == 0 {
			return store.TicketKey{}, fmt.Errorf("%w: no current ticket key", store.ErrNotFound)
		}
		id, err := strconv.ParseUint(string(g.Kvs[0].Value), 10, 32)
		if err != nil {
			return store.TicketKey{}, corrupt("current ticket key", g.Kvs[0].Key)
		}
		// Read the key at the pointer's revision so that a rotation in between cannot pair
		// this pointer with a pruned key.
		k, err := s.c.Get(ctx, s.keyTicketKey(uint32(id)), clientv3.WithRev(g.Header.Revision))
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return store.TicketKey{}, s.wrap("current ticket key", err)
			}
			continue // compacted past that revision: read again
		}
		if len(k.Kvs) == 0 {
			return store.TicketKey{}, corrupt("current ticket key (missing)", g.Kvs[0].Key)
		}
		return decodeTicketKey(k.Kvs[0].Key, k.Kvs[0].Value, uint32(id))
	}
}

func (s *Store) TicketKey(ctx context.Context, id uint32) (store.TicketKey, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.TicketKey{}, err
	}
	defer cancel()
	g, err := s.c.Get(ctx, s.keyTicketKey(id))
	if err != nil {
		return store.TicketKey{}, s.wrap("ticket key", err)
	}
	if len(g.Kvs) == 0 {
		return store.TicketKey{}, fmt.Errorf("%w: ticket key %d", store.ErrNotFound, id)
	}
	return decodeTicketKey(g.Kvs[0].Key, g.Kvs[0].Value, id)
}

func (s *Store) TicketKeys(ctx context.Context) ([]store.TicketKey, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	g, err := s.c.Get(ctx, s.keyTicketKeys(), clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, s.wrap("ticket keys", err)
	}
	var out []store.TicketKey
	for _, kv := range g.Kvs {
		id, err := s.idOf(kv.Key)
		if err != nil {
			return nil, err
		}
		k, err := decodeTicketKey(kv.Key, kv.Value, id)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// PruneTicketKeys deletes each retired key in its own transaction that also checks the key is
// unchanged and not current, so a concurrent rotation on another replica is never undone.
func (s *Store) PruneTicketKeys(ctx context.Context, now time.Time) (int, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer cancel()
	t, err := s.c.Txn(ctx).Then(clientv3.OpGet(s.keyTicketKeys(), clientv3.WithPrefix()),
		clientv3.OpGet(s.keyCurrent(), clientv3.WithCountOnly())).Commit()
	if err != nil {
		return 0, s.wrap("prune ticket keys", err)
	}
	g, hasCurrent := t.Responses[0].GetResponseRange(), t.Responses[1].GetResponseRange().Count > 0
	n := 0
	for _, kv := range g.Kvs {
		id, err := s.idOf(kv.Key)
		if err != nil {
			return n, err
		}
		k, err := decodeTicketKey(kv.Key, kv.Value, id)
		if err != nil {
			return n, err
		}
		if k.Retire.IsZero() || k.Retire.After(now) {
			continue
		}
		// etcd fails a value comparison on a missing key, so "not current" needs its own form
		// when there is no current key.
		notCurrent := clientv3.Compare(clientv3.Value(s.keyCurrent()), "!=", strconv.FormatUint(uint64(id), 10))
		if !hasCurrent {
			notCurrent = clientv3.Compare(clientv3.CreateRevision(s.keyCurrent()), "=", 0)
		}
		r, err := s.c.Txn(ctx).If(
			clientv3.Compare(clientv3.ModRevision(string(kv.Key)), "=", kv.ModRevision), notCurrent,
		).Then(clientv3.OpDelete(string(kv.Key))).Commit()
		if err != nil {
			return n, s.wrap("prune ticket keys", err)
		}
		if r.Succeeded {
			n++
		}
	}
	return n, nil
}

type userValue struct {
	V      int      `json:"v"`
	IMPUs  []string `json:"impus,omitempty"`
	Groups []string `json:"groups,omitempty"`
}

func (s *Store) PutUser(ctx context.Context, u store.User) error {
	if u.IMPI == "" || len(u.IMPI) > store.MaxIdentityLen {
		return fmt.Errorf("%w: IMPI length %d", store.ErrInvalid, len(u.IMPI))
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	b, err := json.Marshal(userValue{V: valueVersion, IMPUs: u.IMPUs, Groups: u.Groups})
	if err != nil {
		return err
	}
	_, err = s.c.Put(ctx, s.keyUser(u.IMPI), string(b))
	return s.wrap("put user", err)
}

func (s *Store) decodeUser(key, v []byte) (store.User, error) {
	var r userValue
	if err := json.Unmarshal(v, &r); err != nil || r.V != valueVersion {
		return store.User{}, corrupt("user", key)
	}
	return store.User{IMPI: strings.TrimPrefix(string(key), s.keyUsers()), IMPUs: r.IMPUs, Groups: r.Groups}, nil
}

func (s *Store) User(ctx context.Context, impi string) (store.User, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return store.User{}, err
	}
	defer cancel()
	// A serializable read (served by the member the client talks to, without a quorum round):
	// users change only when an operator reloads the policy, which replicas pick up at different
	// times anyway, and every request and resolve reads its user.
	g, err := s.c.Get(ctx, s.keyUser(impi), clientv3.WithSerializable())
	if err != nil {
		return store.User{}, s.wrap("user", err)
	}
	if len(g.Kvs) == 0 {
		return store.User{}, fmt.Errorf("%w: user %q", store.ErrNotFound, impi)
	}
	return s.decodeUser(g.Kvs[0].Key, g.Kvs[0].Value)
}

func (s *Store) DeleteUser(ctx context.Context, impi string) error {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	d, err := s.c.Delete(ctx, s.keyUser(impi))
	if err != nil {
		return s.wrap("delete user", err)
	}
	if d.Deleted == 0 {
		return fmt.Errorf("%w: user %q", store.ErrNotFound, impi)
	}
	return nil
}

func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	g, err := s.c.Get(ctx, s.keyUsers(), clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, s.wrap("users", err)
	}
	var out []store.User
	for _, kv := range g.Kvs {
		u, err := s.decodeUser(kv.Key, kv.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// Expiry values (replay entries and use counts): version(1) expires(8) [count(8)], binary.
func encodeExpiry(expires int64, count ...uint64) string {
	b := binary.BigEndian.AppendUint64([]byte{valueVersion}, uint64(expires))
	for _, c := range count {
		b = binary.BigEndian.AppendUint64(b, c)
	}
	return string(b)
}

func decodeExpiry(key, v []byte, withCount bool) (int64, uint64, error) {
	want := 9
	if withCount {
		want = 17
	}
	if len(v) != want || v[0] != valueVersion {
		return 0, 0, corrupt("expiry", key)
	}
	var c uint64
	if withCount {
		c = binary.BigEndian.Uint64(v[9:])
	}
	return int64(binary.BigEndian.Uint64(v[1:])), c, nil
}

// CheckAndRecord is one transaction: put the entry if it has never been created. Of any number
// of concurrent calls on any number of replicas, exactly one succeeds. etcd answers after the
// entry is committed to a quorum's log (fsynced), so the entry is durable before the KMS answers.
func (s *Store) CheckAndRecord(ctx context.Context, identity string, msgID []byte, expires time.Time) (bool, error) {
	if identity == "" || len(identity) > store.MaxIdentityLen {
		return false, fmt.Errorf("%w: identity length %d", store.ErrInvalid, len(identity))
	}
	if len(msgID) == 0 || len(msgID) > store.MaxMsgIDLen {
		return false, fmt.Errorf("%w: message id length %d", store.ErrInvalid, len(msgID))
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return false, err
	}
	defer cancel()
	key := s.keyReplay(identity, msgID)
	r, err := s.c.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, encodeExpiry(nanos(expires)))).Commit()
	if err != nil {
		return false, s.wrap("replay check", err)
	}
	return !r.Succeeded, nil
}

// pruneExpiring deletes the expired records under prefix, each only if it is unchanged since it
// was read (a use count incremented meanwhile may have a later expiry). Records are read a page
// at a time.
func (s *Store) pruneExpiring(ctx context.Context, prefix, what string, withCount bool, now time.Time) (int, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer cancel()
	cut := now.UnixNano()
	n := 0
	end := clientv3.GetPrefixRangeEnd(prefix)
	from := prefix
	for {
		g, err := s.c.Get(ctx, from, clientv3.WithRange(end), clientv3.WithLimit(pageSize), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
		if err != nil {
			return n, s.wrap("prune "+what, err)
		}
		var cmps []clientv3.Cmp
		var dels []clientv3.Op
		for _, kv := range g.Kvs {
			exp, _, err := decodeExpiry(kv.Key, kv.Value, withCount)
			if err != nil {
				return n, err
			}
			if exp <= cut {
				cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(string(kv.Key)), "=", kv.ModRevision))
				dels = append(dels, clientv3.OpDelete(string(kv.Key)))
			}
		}
		for i := range dels {
			// One small transaction per record keeps each under etcd's --max-txn-ops and lets
			// one concurrent change fail only its own record.
			r, err := s.c.Txn(ctx).If(cmps[i]).Then(dels[i]).Commit()
			if err != nil {
				return n, s.wrap("prune "+what, err)
			}
			if r.Succeeded {
				n++
			}
		}
		if !g.More || len(g.Kvs) == 0 {
			return n, nil
		}
		from = string(g.Kvs[len(g.Kvs)-1].Key) + "\x00"
	}
}

const pageSize = 1000

func (s *Store) PruneReplay(ctx context.Context, now time.Time) (int, error) {
	return s.pruneExpiring(ctx, s.keyReplays(), "replay", false, now)
}

// IncrementTicketUse is a compare-and-swap loop on the count's revision: concurrent increments on
// any number of replicas each see a distinct count.
func (s *Store) IncrementTicketUse(ctx context.Context, ticketID []byte, expires time.Time) (uint64, error) {
	if len(ticketID) == 0 || len(ticketID) > store.MaxTicketIDLen {
		return 0, fmt.Errorf("%w: ticket id length %d", store.ErrInvalid, len(ticketID))
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer cancel()
	key := s.keyUse(ticketID)
	exp := nanos(expires)
	for {
		// As a fresh ticket; otherwise the Else branch reads the record for the CAS below.
		r, err := s.c.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, encodeExpiry(exp, 1))).Else(clientv3.OpGet(key)).Commit()
		if err != nil {
			return 0, s.wrap("ticket use", err)
		}
		if r.Succeeded {
			return 1, nil
		}
		kvs := r.Responses[0].GetResponseRange().Kvs
		for len(kvs) == 1 {
			old, count, err := decodeExpiry(kvs[0].Key, kvs[0].Value, true)
			if err != nil {
				return 0, err
			}
			t, err := s.c.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", kvs[0].ModRevision)).
				Then(clientv3.OpPut(key, encodeExpiry(max(old, exp), count+1))).Else(clientv3.OpGet(key)).Commit()
			if err != nil {
				return 0, s.wrap("ticket use", err)
			}
			if t.Succeeded {
				return count + 1, nil
			}
			// Another increment won: try again on the record as it is now.
			kvs = t.Responses[0].GetResponseRange().Kvs
		}
		// Pruned in between: start again as a fresh ticket.
	}
}

func (s *Store) TicketUses(ctx context.Context, ticketID []byte) (uint64, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer cancel()
	g, err := s.c.Get(ctx, s.keyUse(ticketID))
	if err != nil {
		return 0, s.wrap("ticket uses", err)
	}
	if len(g.Kvs) == 0 {
		return 0, nil
	}
	_, c, err := decodeExpiry(g.Kvs[0].Key, g.Kvs[0].Value, true)
	return c, err
}

func (s *Store) PruneTicketUses(ctx context.Context, now time.Time) (int, error) {
	return s.pruneExpiring(ctx, s.keyUses(), "ticket uses", true, now)
}

// MarkStarted sets the epoch once for the whole cluster: the replay cache in etcd survives any
// replica's restart (and etcd's own, being persistent), so the first start is its epoch.
func (s *Store) MarkStarted(ctx context.Context, now time.Time) (time.Time, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return time.Time{}, err
	}
	defer cancel()
	key := s.keyStarted()
	r, err := s.c.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, encodeExpiry(nanos(now)))).Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return time.Time{}, s.wrap("mark started", err)
	}
	if r.Succeeded {
		return fromNanos(nanos(now)), nil
	}
	kvs := r.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return time.Time{}, corrupt("started-at (missing)", []byte(key))
	}
	t, _, err := decodeExpiry(kvs[0].Key, kvs[0].Value, false)
	if err != nil {
		return time.Time{}, corrupt("started-at", kvs[0].Key)
	}
	return fromNanos(t), nil
}

func (s *Store) StartedAt(ctx context.Context) (time.Time, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return time.Time{}, err
	}
	defer cancel()
	g, err := s.c.Get(ctx, s.keyStarted())
	if err != nil {
		return time.Time{}, s.wrap("started at", err)
	}
	if len(g.Kvs) == 0 {
		return time.Time{}, nil
	}
	t, _, err := decodeExpiry(g.Kvs[0].Key, g.Kvs[0].Value, false)
	if err != nil {
		return time.Time{}, corrupt("started-at", g.Kvs[0].Key)
	}
	return fromNanos(t), nil
}

// Prefix is the key prefix of this store.
func (s *Store) Prefix() string { return s.prefix }
