package vigil

import (
	"context"
	"time"
)

// ResetToken is a password-reset credential. Only its hash is stored; the
// token itself exists only in the mail that carries it.
type ResetToken struct {
	ID        string
	AccountID string
	TokenHash TokenHash
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero until used
	VoidedAt  time.Time // zero unless a newer token or a password change voided it
}

// ResetStore is the part of the store that keeps reset tokens.
type ResetStore interface {
	// CreateResetToken voids the account's unused tokens, stores t and
	// writes fx, in one transaction.
	CreateResetToken(ctx context.Context, t *ResetToken, fx Effects) error
	// ResetTokenByHash returns the token whose hash is h (ENOTFOUND if
	// none), used and voided ones included; the caller judges.
	ResetTokenByHash(ctx context.Context, h TokenHash) (*ResetToken, error)
	// CountResetTokens counts the tokens issued to an account since t.
	CountResetTokens(ctx context.Context, accountID string, since time.Time) (int, error)
	// CompleteReset marks the token used, voids the account's other tokens,
	// stores the new password hash, revokes every session of the account
	// and writes fx, in one transaction. A token already used or voided
	// (by a concurrent call) is EINVALID and changes nothing.
	CompleteReset(ctx context.Context, tokenID, accountID string, h PasswordHash, at time.Time, fx Effects) error
}
