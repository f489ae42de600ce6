package vigil

import (
	"context"
	"time"
)

// Notice kinds: the security events an account owner is told about.
const (
	NoticeNewDeviceLogin       = "new_device_login"
	NoticeFailedLoginBurst     = "failed_login_burst"
	NoticePasswordChanged      = "password_changed"
	NoticeEmailChanged         = "email_changed"
	NoticePhoneChanged         = "phone_changed"
	NoticeMFAEnabled           = "mfa_enabled"
	NoticeMFADisabled          = "mfa_disabled"
	NoticeResetRequested       = "reset_requested"
	NoticeResetCompleted       = "reset_completed"
	NoticeSessionsRevoked      = "sessions_revoked"
	NoticeSignupAttempt        = "signup_attempt"
	NoticeAccountCreated       = "account_created"
	NoticeAddressClaimAttempt  = "address_claim_attempt"
	NoticeEmailChangeRequested = "email_change_requested"
	NoticeSecurityIncident     = "security_incident"
)

// Notice is a security notice as its owner sees it in the app. Every mail,
// SMS or webhook about it carries the same Code, so a person who doubts a
// message can open the app and compare, without clicking anything in it.
// A notice never holds a secret.
type Notice struct {
	ID        string    `json:"id"`
	AccountID string    `json:"-"`
	Kind      string    `json:"kind"`
	Code      string    `json:"code"`
	Title     string    `json:"title"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}

// Effects are what a change must write together with itself, in its own
// transaction: the notices it raises, the outbox items that deliver them,
// and the audit entries that record it (the store appends those to the
// chain, setting their Seq, PrevHash and Hash).
type Effects struct {
	Notices []*Notice
	Outbox  []*OutboxItem
	Audit   []*AuditEntry
	// Timeline entries record the change in an incident's timeline.
	Timeline []*TimelineEntry
}

// NoticeStore is the part of the store that keeps notices.
type NoticeStore interface {
	// AddEffects writes notices and outbox items on their own, for events
	// that change nothing else (a sign-in from a new device).
	AddEffects(ctx context.Context, fx Effects) error
	// Notices returns an account's notices, newest first, paged like
	// LoginAttempts.
	Notices(ctx context.Context, accountID string, p Page) ([]*Notice, string, error)
	// ChangePassword stores a new password hash, revokes every session of
	// the account but keepSession (may be ""), and writes fx, in one
	// transaction.
	ChangePassword(ctx context.Context, accountID string, h PasswordHash, keepSession string, at time.Time, fx Effects) error
}
