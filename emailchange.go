package vigil

import (
	"context"
	"time"
)

// EmailChange is a pending move of an account to a new address, waiting
// for the code mailed there.
type EmailChange struct {
	ID        string
	AccountID string
	NewEmail  string
	CodeHash  TokenHash
	Attempts  int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// EmailUndo lets the previous address (email, or phone number) take a
// change back for a while: its token went only to that address.
type EmailUndo struct {
	ID        string
	AccountID string
	Kind      string // "email" or "phone"
	OldEmail  string // the old address: an email, or a phone number for Kind "phone"
	TokenHash TokenHash
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// PhoneChange is a pending change of an account's phone number, waiting
// for the code sent there by SMS.
type PhoneChange struct {
	ID        string
	AccountID string
	NewPhone  string
	CodeHash  TokenHash
	Attempts  int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// EmailChangeStore keeps pending email and phone changes and the undo
// tokens of email changes.
type EmailChangeStore interface {
	// PutPhoneChange stores a pending phone change, replacing the
	// account's earlier one.
	PutPhoneChange(ctx context.Context, c *PhoneChange) error
	// PhoneChangeByAccount returns the account's pending phone change
	// (ENOTFOUND).
	PhoneChangeByAccount(ctx context.Context, accountID string) (*PhoneChange, error)
	// AddPhoneChangeAttempt counts a wrong code and returns the count.
	AddPhoneChangeAttempt(ctx context.Context, id string) (int, error)
	// CompletePhoneChange deletes the pending change, sets the account's
	// phone (verified) and writes fx, in one transaction. ENOTFOUND if the
	// change is gone.
	// With undo (may be nil), the undo token for the previous number is
	// stored too.
	CompletePhoneChange(ctx context.Context, changeID string, undo *EmailUndo, fx Effects) error

	// PutEmailChange stores a pending change, replacing the account's
	// earlier one.
	PutEmailChange(ctx context.Context, c *EmailChange) error
	// EmailChangeByAccount returns the account's pending change (ENOTFOUND).
	EmailChangeByAccount(ctx context.Context, accountID string) (*EmailChange, error)
	// AddEmailChangeAttempt counts a wrong code and returns the count.
	AddEmailChangeAttempt(ctx context.Context, id string) (int, error)
	// CompleteEmailChange deletes the pending change, moves the account to
	// its address (verified), stores undo, voids reset tokens and writes fx,
	// in one transaction. ECONFLICT if the address was taken meanwhile;
	// ENOTFOUND if the change is gone.
	CompleteEmailChange(ctx context.Context, changeID string, undo *EmailUndo, at time.Time, fx Effects) error
	// EmailUndoByHash returns an undo token by hash (ENOTFOUND).
	EmailUndoByHash(ctx context.Context, h TokenHash) (*EmailUndo, error)
	// UndoEmailChange marks the undo used, moves the account back to the
	// old address (email or phone, by the undo's kind), revokes every session, voids reset tokens and writes fx,
	// in one transaction. EINVALID if the undo was used meanwhile;
	// ECONFLICT if the old address was taken since.
	UndoEmailChange(ctx context.Context, undoID string, at time.Time, fx Effects) error
}
