// Package storecache puts a short-lived read cache in front of a
// vigil.Store for the two reads every authenticated request makes: the
// session behind a token and the account it belongs to.
//
// Writes made through the cache invalidate what they touch at once, so on
// one instance a revoked session or a changed account is seen by the very
// next request. Writes made elsewhere (another instance on the same
// PostgreSQL, or an operator's command on the database) are seen once the
// entry's TTL has passed: that TTL (default one second) is the bound on
// cross-instance staleness.
package storecache

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/vigil-dev/vigil"
)

// DefaultTTL is how long an entry is trusted without asking the store.
const DefaultTTL = time.Second

// maxEntries bounds each cache; past it, expired entries are swept and, if
// that is not enough, the shard is emptied.
const maxEntries = 1 << 16

const shards = 32

// Store is a vigil.Store with a read cache. Create it with New.
type Store struct {
	vigil.Store
	ttl  time.Duration
	now  func() time.Time
	seed maphash.Seed
	// epoch counts invalidations. A value read from the store is cached
	// only if no invalidation happened while it was read, so a read racing
	// a revocation cannot put the pre-revocation row back.
	epoch atomic.Uint64
	// loads collapses concurrent misses of one key into one store read, so
	// an entry expiring under load costs one query, not one per request.
	// The read runs without the first caller's cancellation, which would
	// otherwise fail every caller waiting on it.
	loads singleflight.Group

	sessions [shards]shard[vigil.TokenHash, *vigil.Session]
	// sessionIDs finds a cached session's token hash from its id, so
	// invalidation by id costs one lookup.
	sessionIDs [shards]shard[string, vigil.TokenHash]
	accounts   [shards]shard[string, *vigil.Account]
	// byName maps usernames and emails to account ids; ids never change.
	byName [shards]shard[string, string]
}

type entry[V any] struct {
	v       V
	expires time.Time
}

type shard[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]entry[V]
	_  [40]byte // keep shards on separate cache lines
}

func (s *shard[K, V]) get(k K, now time.Time) (V, bool) {
	s.mu.Lock()
	e, ok := s.m[k]
	s.mu.Unlock()
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (s *shard[K, V]) put(k K, v V, expires, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[K]entry[V])
	}
	if len(s.m) >= maxEntries/shards {
		for k, e := range s.m {
			if !now.Before(e.expires) {
				delete(s.m, k)
			}
		}
		if len(s.m) >= maxEntries/shards {
			clear(s.m)
		}
	}
	s.m[k] = entry[V]{v: v, expires: expires}
}

func (s *shard[K, V]) clear() {
	s.mu.Lock()
	clear(s.m)
	s.mu.Unlock()
}

func (s *shard[K, V]) delKey(k K) {
	s.mu.Lock()
	delete(s.m, k)
	s.mu.Unlock()
}

// Option configures a Store.
type Option func(*Store)

// WithTTL sets how long entries are trusted.
func WithTTL(d time.Duration) Option { return func(s *Store) { s.ttl = d } }

// WithClock sets the clock used for expiry.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New wraps st.
func New(st vigil.Store, opts ...Option) *Store {
	s := &Store{Store: st, ttl: DefaultTTL, now: time.Now, seed: maphash.MakeSeed()}
	for _, o := range opts {
		o(s)
	}
	return s
}

func (s *Store) sessionShard(h vigil.TokenHash) *shard[vigil.TokenHash, *vigil.Session] {
	return &s.sessions[h[0]%shards]
}

func (s *Store) accountShard(id string) *shard[string, *vigil.Account] {
	return &s.accounts[maphash.String(s.seed, id)%shards]
}

func (s *Store) nameShard(n string) *shard[string, string] {
	return &s.byName[maphash.String(s.seed, n)%shards]
}

// SessionByTokenHash implements vigil.Store. The caller gets a copy it may
// keep.
func (s *Store) SessionByTokenHash(ctx context.Context, h vigil.TokenHash) (*vigil.Session, error) {
	now := s.now()
	if v, ok := s.sessionShard(h).get(h, now); ok {
		c := *v
		return &c, nil
	}
	r, err, _ := s.loads.Do("s:"+string(h[:]), func() (any, error) {
		epoch := s.epoch.Load()
		v, err := s.Store.SessionByTokenHash(context.WithoutCancel(ctx), h)
		if err != nil {
			return nil, err
		}
		if s.epoch.Load() == epoch {
			c := *v
			s.sessionIDShard(v.ID).put(v.ID, h, now.Add(s.ttl), now)
			s.sessionShard(h).put(h, &c, now.Add(s.ttl), now)
		}
		return v, nil
	})
	if err != nil {
		return nil, err
	}
	c := *r.(*vigil.Session)
	return &c, nil
}

// TouchSession implements vigil.Store.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	err := s.Store.TouchSession(ctx, id, at)
	s.forgetSession(id)
	return err
}

// RevokeSession implements vigil.Store.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	s.forgetSession(id)
	err := s.Store.RevokeSession(ctx, id, at)
	s.forgetSession(id)
	return err
}

func (s *Store) forgetSession(id string) {
	s.epoch.Add(1)
	ids := s.sessionIDShard(id)
	ids.mu.Lock()
	e, ok := ids.m[id]
	delete(ids.m, id)
	ids.mu.Unlock()
	if ok {
		s.sessionShard(e.v).delKey(e.v)
	}
}

func (s *Store) sessionIDShard(id string) *shard[string, vigil.TokenHash] {
	return &s.sessionIDs[maphash.String(s.seed, id)%shards]
}

// AccountByID implements vigil.Store.
func (s *Store) AccountByID(ctx context.Context, id string) (*vigil.Account, error) {
	now := s.now()
	if v, ok := s.accountShard(id).get(id, now); ok {
		return copyAccount(v), nil
	}
	r, err, _ := s.loads.Do("a:"+id, func() (any, error) {
		epoch := s.epoch.Load()
		v, err := s.Store.AccountByID(context.WithoutCancel(ctx), id)
		if err != nil {
			return nil, err
		}
		if s.epoch.Load() == epoch {
			s.accountShard(id).put(id, copyAccount(v), now.Add(s.ttl), now)
		}
		return v, nil
	})
	if err != nil {
		return nil, err
	}
	return copyAccount(r.(*vigil.Account)), nil
}

// AccountByUsername implements vigil.Store.
func (s *Store) AccountByUsername(ctx context.Context, username string) (*vigil.Account, error) {
	return s.byNameLookup(ctx, "u:"+username, func() (*vigil.Account, error) { return s.Store.AccountByUsername(ctx, username) })
}

// AccountByEmail implements vigil.Store.
func (s *Store) AccountByEmail(ctx context.Context, email string) (*vigil.Account, error) {
	return s.byNameLookup(ctx, "e:"+email, func() (*vigil.Account, error) { return s.Store.AccountByEmail(ctx, email) })
}

func (s *Store) byNameLookup(ctx context.Context, key string, load func() (*vigil.Account, error)) (*vigil.Account, error) {
	now := s.now()
	if id, ok := s.nameShard(key).get(key, now); ok {
		if v, ok := s.accountShard(id).get(id, now); ok {
			return copyAccount(v), nil
		}
	}
	epoch := s.epoch.Load()
	v, err := load()
	if err != nil {
		return nil, err
	}
	if s.epoch.Load() != epoch {
		return v, nil
	}
	s.nameShard(key).put(key, v.ID, now.Add(s.ttl), now)
	s.accountShard(v.ID).put(v.ID, copyAccount(v), now.Add(s.ttl), now)
	return v, nil
}

func copyAccount(a *vigil.Account) *vigil.Account {
	c := *a
	c.Roles = append([]string(nil), a.Roles...)
	return &c
}

func (s *Store) forgetAccount(id string) {
	s.epoch.Add(1)
	s.accountShard(id).delKey(id)
}

// CreateSession implements vigil.Store; it changes the account's last
// login time.
func (s *Store) CreateSession(ctx context.Context, sess *vigil.Session) error {
	err := s.Store.CreateSession(ctx, sess)
	s.forgetAccount(sess.AccountID)
	return err
}

// SetPasswordHash implements vigil.Store.
func (s *Store) SetPasswordHash(ctx context.Context, id string, h vigil.PasswordHash) error {
	err := s.Store.SetPasswordHash(ctx, id, h)
	s.forgetAccount(id)
	return err
}

// SetDisplayName implements vigil.Store.
func (s *Store) SetDisplayName(ctx context.Context, id, name string) error {
	err := s.Store.SetDisplayName(ctx, id, name)
	s.forgetAccount(id)
	return err
}

// SetRoles implements vigil.Store.
func (s *Store) SetRoles(ctx context.Context, id string, roles []string) error {
	err := s.Store.SetRoles(ctx, id, roles)
	s.forgetAccount(id)
	return err
}

// RevokeAccountSessions implements vigil.Store. It forgets every cached
// session, not only the account's: the operation is rare and the cache
// keeps no index by account.
func (s *Store) RevokeAccountSessions(ctx context.Context, accountID, except string, at time.Time, fx vigil.Effects) (int64, error) {
	s.forgetAllSessions()
	n, err := s.Store.RevokeAccountSessions(ctx, accountID, except, at, fx)
	s.forgetAllSessions()
	return n, err
}

func (s *Store) forgetAllSessions() {
	s.epoch.Add(1)
	for i := range s.sessions {
		s.sessions[i].clear()
		s.sessionIDs[i].clear()
	}
}

// SetSessionReauth implements vigil.Store.
func (s *Store) SetSessionReauth(ctx context.Context, id string, at time.Time) error {
	err := s.Store.SetSessionReauth(ctx, id, at)
	s.forgetSession(id)
	return err
}

// ChangePassword implements vigil.Store; it revokes sessions, so every
// cached session is forgotten, and the account too.
func (s *Store) ChangePassword(ctx context.Context, accountID string, h vigil.PasswordHash, keep string, at time.Time, fx vigil.Effects) error {
	s.forgetAllSessions()
	err := s.Store.ChangePassword(ctx, accountID, h, keep, at, fx)
	s.forgetAllSessions()
	s.forgetAccount(accountID)
	return err
}

// CompleteReset implements vigil.Store; it revokes every session of the
// account and changes its password.
func (s *Store) CompleteReset(ctx context.Context, tokenID, accountID string, h vigil.PasswordHash, at time.Time, fx vigil.Effects) error {
	s.forgetAllSessions()
	err := s.Store.CompleteReset(ctx, tokenID, accountID, h, at, fx)
	s.forgetAllSessions()
	s.forgetAccount(accountID)
	return err
}

// EnableTOTP implements vigil.Store; it changes the account's 2FA flag.
func (s *Store) EnableTOTP(ctx context.Context, accountID string, step int64, codes []vigil.TokenHash, at time.Time, fx vigil.Effects) error {
	err := s.Store.EnableTOTP(ctx, accountID, step, codes, at, fx)
	s.forgetAccount(accountID)
	return err
}

// DisableTOTP implements vigil.Store; it changes the account's 2FA flag.
func (s *Store) DisableTOTP(ctx context.Context, accountID string, at time.Time, fx vigil.Effects) error {
	err := s.Store.DisableTOTP(ctx, accountID, at, fx)
	s.forgetAccount(accountID)
	return err
}

// CompleteMFAChallenge implements vigil.Store; it sets the last login time.
func (s *Store) CompleteMFAChallenge(ctx context.Context, id string, sess *vigil.Session) error {
	err := s.Store.CompleteMFAChallenge(ctx, id, sess)
	s.forgetAccount(sess.AccountID)
	return err
}

// CompleteEmailChange implements vigil.Store; it changes the account's
// address.
func (s *Store) CompleteEmailChange(ctx context.Context, changeID string, undo *vigil.EmailUndo, at time.Time, fx vigil.Effects) error {
	s.forgetAllAccounts()
	err := s.Store.CompleteEmailChange(ctx, changeID, undo, at, fx)
	s.forgetAllAccounts()
	return err
}

// UndoEmailChange implements vigil.Store; it changes the account's address
// and revokes its sessions.
func (s *Store) UndoEmailChange(ctx context.Context, undoID string, at time.Time, fx vigil.Effects) error {
	s.forgetAllSessions()
	s.forgetAllAccounts()
	err := s.Store.UndoEmailChange(ctx, undoID, at, fx)
	s.forgetAllSessions()
	s.forgetAllAccounts()
	return err
}

// forgetAllAccounts empties the account and name caches: an address moved,
// and the cache keeps no index from account to its names.
func (s *Store) forgetAllAccounts() {
	s.epoch.Add(1)
	for i := range s.accounts {
		s.accounts[i].clear()
		s.byName[i].clear()
	}
}

// CompletePhoneChange implements vigil.Store; it changes the account's
// phone.
func (s *Store) CompletePhoneChange(ctx context.Context, changeID string, undo *vigil.EmailUndo, fx vigil.Effects) error {
	s.forgetAllAccounts()
	err := s.Store.CompletePhoneChange(ctx, changeID, undo, fx)
	s.forgetAllAccounts()
	return err
}
