package vigil

import (
	"context"
	"time"
)

// TOTP is an account's authenticator enrolment. The secret is sealed (see
// package seal) with the account id as associated data; it is opened only
// to check a code.
type TOTP struct {
	AccountID   string
	Sealed      []byte
	ConfirmedAt time.Time // zero while the enrolment waits for its first code
	LastStep    int64     // the last time step whose code was accepted: none at or before it is taken again
	CreatedAt   time.Time
}

// MFAChallenge is the second half of a sign-in with 2FA: the password was
// right, and a code must follow within a few minutes.
type MFAChallenge struct {
	ID        string
	AccountID string
	TokenHash TokenHash
	CreatedAt time.Time
	ExpiresAt time.Time
	Attempts  int
	UsedAt    time.Time
	IP        string
	UserAgent string
}

// MFAStore is the part of the store that keeps second factors.
type MFAStore interface {
	// PutTOTP stores an unconfirmed enrolment, replacing an earlier
	// unconfirmed one. ECONFLICT if 2FA is already on.
	PutTOTP(ctx context.Context, t *TOTP) error
	// TOTPByAccount returns the account's enrolment (ENOTFOUND if none).
	TOTPByAccount(ctx context.Context, accountID string) (*TOTP, error)
	// EnableTOTP confirms the enrolment at the given accepted step, replaces
	// the recovery codes with the given hashes, turns 2FA on and writes fx,
	// in one transaction. ENOTFOUND without an unconfirmed enrolment.
	EnableTOTP(ctx context.Context, accountID string, step int64, codes []TokenHash, at time.Time, fx Effects) error
	// UseTOTPStep records step as used if it is later than the last one
	// used, and reports whether it was (false: a replay).
	UseTOTPStep(ctx context.Context, accountID string, step int64) (bool, error)
	// UseRecoveryCode spends an unused recovery code and reports whether
	// there was one.
	UseRecoveryCode(ctx context.Context, accountID string, h TokenHash, at time.Time) (bool, error)
	// DisableTOTP removes the enrolment and recovery codes, turns 2FA off
	// and writes fx, in one transaction.
	DisableTOTP(ctx context.Context, accountID string, at time.Time, fx Effects) error

	// CreateMFAChallenge stores a challenge.
	CreateMFAChallenge(ctx context.Context, c *MFAChallenge) error
	// MFAChallengeByHash returns a challenge by its token's hash
	// (ENOTFOUND if none).
	MFAChallengeByHash(ctx context.Context, h TokenHash) (*MFAChallenge, error)
	// AddMFAChallengeAttempt counts a wrong code and returns the count.
	AddMFAChallengeAttempt(ctx context.Context, id string) (int, error)
	// CompleteMFAChallenge marks the challenge used and creates the session
	// (as CreateSession does), in one transaction. EINVALID if the
	// challenge was used meanwhile.
	CompleteMFAChallenge(ctx context.Context, id string, s *Session) error
}
