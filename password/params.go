// Package password hashes and checks passwords for vigil.
//
// A Hasher turns a password into an argon2id hash in PHC string format and
// verifies a password against such a hash. Every parameter it reads back from
// a stored hash is held to the same bounds as its own configuration (see
// Params.Validate), and it runs at most a fixed number of argon2 computations
// at once, so neither a tampered row nor a flood of logins can make the
// server allocate memory without limit.
//
// A Policy decides which new passwords are acceptable, following NIST SP
// 800-63B revision 4: a minimum and a maximum length counted in code points
// after NFKC normalisation, no composition rules, and a refusal of passwords
// found on a bundled list of common and breached passwords or built from the
// account's own identifiers.
//
// Both halves must see the same form of the password: Policy.Check returns the
// normalised password that is then hashed, and a login passes the presented
// password through Normalize before Hasher.Verify.
package password

import (
	"errors"
	"fmt"
)

// Bounds on every argon2id parameter, applied by Params.Validate to the
// hasher's own configuration and to each parameter read back from a stored
// hash. The upper bounds keep one computation within 4 GiB of memory and a
// few seconds of CPU, whatever a stored hash claims.
const (
	MinMemory      = 8               // KiB; argon2 also needs at least 8 KiB per lane (8*Parallelism)
	MaxMemory      = 4 * 1024 * 1024 // KiB, i.e. 4 GiB
	MinIterations  = 1
	MaxIterations  = 64
	MinParallelism = 1
	MaxParallelism = 16
	MinSaltLen     = 8 // bytes; RFC 9106 recommends 16
	MaxSaltLen     = 64
	MinKeyLen      = 16 // bytes
	MaxKeyLen      = 64
)

// ErrInvalidParams is wrapped by every error of Params.Validate.
var ErrInvalidParams = errors.New("password: argon2id parameters out of bounds")

// Params are the argon2id cost parameters and lengths. The zero value is not
// valid; start from DefaultParams or TestParams.
type Params struct {
	Memory      uint32 // memory cost in KiB
	Iterations  uint32 // time cost: passes over the memory
	Parallelism uint8  // lanes (threads)
	SaltLen     uint32 // random salt length in bytes
	KeyLen      uint32 // derived key (hash) length in bytes
}

// DefaultParams returns the parameters for production: 64 MiB of memory, 2
// passes, 2 lanes, a 16-byte salt and a 32-byte key.
//
// Why these: RFC 9106 section 4 recommends argon2id with 64 MiB when 2 GiB per
// hash is not affordable (its "second recommended option"), and OWASP's
// Password Storage Cheat Sheet treats 19 MiB with t=2 as the floor; 64 MiB
// with t=2 is over three times that floor and costs in the order of 100 ms on
// one core of a current server. Two lanes let argon2 use both cores of a small
// machine for one login without raising the memory bill. A 16-byte salt and
// a 32-byte tag are what RFC 9106 recommends. With the default concurrency
// limit of GOMAXPROCS, the memory held by hashing never exceeds 64 MiB times
// the number of CPUs.
func DefaultParams() Params {
	return Params{Memory: 64 * 1024, Iterations: 2, Parallelism: 2, SaltLen: 16, KeyLen: 32}
}

// TestParams returns cheap parameters (64 KiB, 1 pass, 1 lane, 16-byte salt,
// 32-byte key) whose hashes take well under a millisecond, for tests in other
// packages. They must never be used to store real passwords.
func TestParams() Params {
	return Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}
}

// Validate returns nil if every field lies within its bounds (the Min* and
// Max* constants) and Memory is at least 8 KiB per lane, as argon2 requires;
// otherwise an error wrapping ErrInvalidParams that names the first field out
// of bounds. The same check is applied to parameters parsed from a stored
// hash before any computation.
func (p Params) Validate() error {
	switch {
	case p.Memory < MinMemory || p.Memory > MaxMemory:
		return fmt.Errorf("%w: memory %d KiB not in [%d, %d]", ErrInvalidParams, p.Memory, MinMemory, MaxMemory)
	case p.Iterations < MinIterations || p.Iterations > MaxIterations:
		return fmt.Errorf("%w: iterations %d not in [%d, %d]", ErrInvalidParams, p.Iterations, MinIterations, MaxIterations)
	case p.Parallelism < MinParallelism || p.Parallelism > MaxParallelism:
		return fmt.Errorf("%w: parallelism %d not in [%d, %d]", ErrInvalidParams, p.Parallelism, MinParallelism, MaxParallelism)
	case p.Memory < 8*uint32(p.Parallelism):
		return fmt.Errorf("%w: memory %d KiB below 8 KiB per lane for parallelism %d", ErrInvalidParams, p.Memory, p.Parallelism)
	case p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen:
		return fmt.Errorf("%w: salt length %d not in [%d, %d]", ErrInvalidParams, p.SaltLen, MinSaltLen, MaxSaltLen)
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return fmt.Errorf("%w: key length %d not in [%d, %d]", ErrInvalidParams, p.KeyLen, MinKeyLen, MaxKeyLen)
	}
	return nil
}
