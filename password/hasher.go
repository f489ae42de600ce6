package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"runtime"

	"github.com/vigil-dev/vigil"
	"golang.org/x/crypto/argon2"
)

// Hasher hashes and verifies passwords with argon2id. Create one with
// NewHasher; the zero value is not usable. A Hasher is safe for concurrent
// use, and at most its concurrency limit of argon2 computations run at once:
// the others wait their turn, or give up when their context ends. That bounds
// the memory spent on hashing to Params().Memory times the limit (or, for
// stored hashes with other parameters, MaxMemory times the limit), however
// many logins arrive together.
type Hasher struct {
	params Params
	sem    chan struct{}
	dummy  vigil.PasswordHash // current params, random salt and key; matches no password
}

// Option configures a Hasher in NewHasher.
type Option func(*Hasher)

// WithConcurrency sets how many argon2 computations may run at once. A value
// below 1 selects the default, runtime.GOMAXPROCS(0) at the time NewHasher
// runs: more than one computation per CPU would only queue inside the
// scheduler while holding its memory.
func WithConcurrency(n int) Option {
	return func(h *Hasher) {
		if n >= 1 {
			h.sem = make(chan struct{}, n)
		}
	}
}

// NewHasher returns a Hasher that writes new hashes with p. It returns an
// error wrapping ErrInvalidParams if p fails Validate.
func NewHasher(p Params, opts ...Option) (*Hasher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	h := &Hasher{params: p}
	for _, opt := range opts {
		opt(h)
	}
	if h.sem == nil {
		h.sem = make(chan struct{}, runtime.GOMAXPROCS(0))
	}
	// A hash that no password matches (its key is random, not derived), with
	// the current parameters, for VerifyDummy to spend a Verify's work on.
	h.dummy = vigil.PasswordHash(encodePHC(p, randomBytes(p.SaltLen), randomBytes(p.KeyLen)))
	return h, nil
}

// Params returns the parameters the hasher writes new hashes with.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the argon2id hash of pw, with a fresh random salt and the
// hasher's parameters, as a PHC string. Hash does not normalise pw: pass it
// the password returned by Policy.Check. It returns ctx.Err() if ctx ends
// before a computation slot is free (or has ended already), and no other
// error.
func (h *Hasher) Hash(ctx context.Context, pw vigil.Password) (vigil.PasswordHash, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	salt := randomBytes(h.params.SaltLen)
	key := argon2.IDKey([]byte(pw), salt, h.params.Iterations, h.params.Memory, h.params.Parallelism, h.params.KeyLen)
	return vigil.PasswordHash(encodePHC(h.params, salt, key)), nil
}

// Verify reports whether pw matches the stored hash. The hash is parsed with
// ParsePHC before any computation, so parameters out of bounds cost nothing;
// the key is then recomputed with the stored parameters and compared in
// constant time. needsRehash is true when pw matches and the stored
// parameters differ from Params(): the caller should then store a fresh Hash
// of pw. Callers pass the password through Normalize first, as Policy.Check
// did when it was set.
//
// A wrong password is ok == false with a nil error. Errors are ctx.Err() if
// ctx ends before a computation slot is free, or an error wrapping
// ErrMalformedHash if the stored hash cannot be read (a fault of the store,
// to be reported as internal; never tell the client).
func (h *Hasher) Verify(ctx context.Context, pw vigil.Password, hash vigil.PasswordHash) (ok, needsRehash bool, err error) {
	p, salt, want, err := ParsePHC(string(hash))
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(pw), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// VerifyDummy spends the work of a Verify with the current parameters and
// then reports nothing: call it when a login names an account that does not
// exist (or has no password), so that the answer takes as long as a wrong
// password for a real account and does not reveal which accounts exist. It
// returns ctx.Err() if ctx ends before a computation slot is free, and nil
// otherwise.
func (h *Hasher) VerifyDummy(ctx context.Context, pw vigil.Password) error {
	_, _, err := h.Verify(ctx, pw, h.dummy)
	return err
}

// acquire takes a computation slot, or returns ctx.Err() if ctx is done first.
// A context that has ended already never gets a slot, even a free one: the
// caller has gone, and the work would be wasted.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error on supported platforms (Go 1.24+).
	_, _ = rand.Read(b)
	return b
}
