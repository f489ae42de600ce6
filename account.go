package vigil

import (
	"context"
	"time"
)

// Account is the stored form of an account. It is internal: it never goes
// into a response. What callers may see is PublicProfile (anyone signed in)
// or PrivateProfile (the owner).
type Account struct {
	ID            string
	Username      string // public, unique, lower case
	DisplayName   string
	Email         string // unique, lower case
	EmailVerified bool
	Phone         string // E.164 or empty
	PhoneVerified bool
	PasswordHash  PasswordHash
	Roles         []string
	MFAEnabled    bool
	CreatedAt     time.Time
	LastLoginAt   time.Time // zero if the account never signed in
	// PasswordChangedAt is when the password was last set by its owner
	// (sign-up, change or reset; not a rehash). Zero reads as CreatedAt.
	PasswordChangedAt time.Time
}

// PasswordSetAt returns when the password was last set by the owner.
func (a *Account) PasswordSetAt() time.Time {
	if a.PasswordChangedAt.IsZero() {
		return a.CreatedAt
	}
	return a.PasswordChangedAt
}

// PublicProfile is what any signed-in caller may learn of an account. It has
// no field that could identify or reach the person behind it.
type PublicProfile struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
}

// PrivateProfile is the owner's view of their own account.
type PrivateProfile struct {
	PublicProfile
	Email         string     `json:"email"`
	EmailVerified bool       `json:"email_verified"`
	Phone         string     `json:"phone"`
	PhoneVerified bool       `json:"phone_verified"`
	LastLoginAt   *time.Time `json:"last_login_at"`
	MFAEnabled    bool       `json:"mfa_enabled"`
}

// Public returns the public profile of a.
func (a *Account) Public() PublicProfile {
	return PublicProfile{ID: a.ID, Username: a.Username, DisplayName: a.DisplayName, CreatedAt: a.CreatedAt.UTC()}
}

// Private returns the owner's view of a.
func (a *Account) Private() PrivateProfile {
	p := PrivateProfile{
		PublicProfile: a.Public(),
		Email:         a.Email,
		EmailVerified: a.EmailVerified,
		Phone:         a.Phone,
		PhoneVerified: a.PhoneVerified,
		MFAEnabled:    a.MFAEnabled,
	}
	if !a.LastLoginAt.IsZero() {
		t := a.LastLoginAt.UTC()
		p.LastLoginAt = &t
	}
	return p
}

// Signup is a registration waiting for its email address to be proven. The
// account is created only when the code mailed to the address comes back.
type Signup struct {
	ID           string
	Username     string
	Email        string
	Phone        string
	PasswordHash PasswordHash
	CodeHash     TokenHash
	NoticeCode   string // printed in the verification mail; the account's first notice carries it
	Attempts     int    // wrong codes tried so far
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// Session is a signed-in session. The store keeps only the hash of its token.
type Session struct {
	ID          string
	AccountID   string
	TokenHash   TokenHash
	CreatedAt   time.Time
	LastSeenAt  time.Time
	ExpiresAt   time.Time // absolute expiry
	RevokedAt   time.Time // zero while valid
	ReauthAt    time.Time // when the holder last proved the password: sign-in or re-authentication
	MFAAt       time.Time // when the sign-in passed a second factor; zero if it did not
	IP          string
	UserAgent   string
	DeviceLabel string
}

// SessionView is what the owner sees of one of their sessions. It holds no
// credential.
type SessionView struct {
	ID          string    `json:"id"`
	DeviceLabel string    `json:"device_label"`
	UserAgent   string    `json:"user_agent"`
	IP          string    `json:"ip"`
	CreatedAt   time.Time `json:"created_at"`
	LastSeenAt  time.Time `json:"last_seen_at"`
	Current     bool      `json:"current"`
}

// Login attempt results.
const (
	LoginSuccess     = "success"
	LoginFailed      = "failed"    // wrong password or unknown account
	LoginThrottled   = "throttled" // refused before the password was checked
	LoginMFARequired = "mfa_required"
	// LoginResetRequired: the password was right, but a revocation
	// obliges the account to choose a new one first.
	LoginResetRequired = "password_reset_required"
)

// LoginAttempt records one sign-in attempt.
type LoginAttempt struct {
	ID          string    `json:"id"`
	AccountID   string    `json:"-"` // empty if the identifier matched no account
	At          time.Time `json:"at"`
	Result      string    `json:"result"`
	IP          string    `json:"ip"`
	UserAgent   string    `json:"user_agent"`
	DeviceLabel string    `json:"device_label"`
}

// Page asks for one page of a listing. Cursor is opaque: the NextCursor of
// the previous page, or empty for the first.
type Page struct {
	Cursor string
	Limit  int
}

// ThrottleRule is a backoff policy for failed attempts under one key: the
// first Free failures within Window cost nothing; from then on each failure
// blocks the key for Base, doubling per further failure up to Max. There is
// no permanent lockout: a blocked key always opens again within Max.
type ThrottleRule struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Window time.Duration // failures older than this are forgotten
}

// ThrottleState is the stored state of one throttle key.
type ThrottleState struct {
	Failures     int
	BlockedUntil time.Time
	UpdatedAt    time.Time
}

// Apply counts one more attempt at now against state s. It reports whether
// the attempt may go ahead and, if not, how long the caller must wait. Every
// attempt is counted, refused ones included, so the count stays exact however
// many arrive at once; the block only grows while attempts keep coming.
func (r ThrottleRule) Apply(s ThrottleState, now time.Time) (next ThrottleState, allowed bool, wait time.Duration) {
	if !s.UpdatedAt.IsZero() && now.Sub(s.UpdatedAt) > r.Window {
		s = ThrottleState{}
	}
	next = s
	next.Failures++
	next.UpdatedAt = now
	if now.Before(s.BlockedUntil) {
		return next, false, s.BlockedUntil.Sub(now)
	}
	if next.Failures >= r.Free {
		d := r.Base
		for i := r.Free; i < next.Failures && d < r.Max; i++ {
			d *= 2
		}
		if d > r.Max {
			d = r.Max
		}
		next.BlockedUntil = now.Add(d)
	}
	return next, true, 0
}

// Store is the persistence contract every backend (SQLite, PostgreSQL)
// implements, and storetest checks. Lookups of absent rows return ENOTFOUND;
// uniqueness violations return ECONFLICT. Methods that change several rows do
// so in one transaction.
type Store interface {
	NoticeStore
	ResetStore
	MFAStore
	AlertStore
	EmailChangeStore
	AuditStore
	RevocationStore
	IncidentStore

	// PutSignup stores a pending signup, replacing any earlier one for the
	// same email address.
	PutSignup(ctx context.Context, s *Signup) error
	// SignupByEmail returns the pending signup for email.
	SignupByEmail(ctx context.Context, email string) (*Signup, error)
	// AddSignupAttempt counts one wrong code against the signup and returns
	// the new count.
	AddSignupAttempt(ctx context.Context, id string) (int, error)
	// CompleteSignup deletes the signup, creates the account from it and
	// writes fx, in one transaction. ECONFLICT if the username or email was
	// taken since; ENOTFOUND if the signup is gone (used by a concurrent
	// call).
	CompleteSignup(ctx context.Context, signupID string, a *Account, fx Effects) error
	// DeleteExpiredSignups removes signups that expired before now.
	DeleteExpiredSignups(ctx context.Context, now time.Time) (int64, error)

	// AccountByID, AccountByUsername and AccountByEmail return ENOTFOUND if
	// there is no such account.
	AccountByID(ctx context.Context, id string) (*Account, error)
	AccountByUsername(ctx context.Context, username string) (*Account, error)
	AccountByEmail(ctx context.Context, email string) (*Account, error)
	// SetPasswordHash replaces an account's password hash.
	SetPasswordHash(ctx context.Context, accountID string, h PasswordHash) error
	// SetDisplayName changes an account's display name.
	SetDisplayName(ctx context.Context, accountID, name string) error
	// SetRoles replaces an account's roles.
	SetRoles(ctx context.Context, accountID string, roles []string) error

	// CreateSession stores a new session and sets the account's last login
	// time to the session's creation time.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByTokenHash returns the session whose token hashes to h, revoked
	// or expired ones included; the caller judges validity.
	SessionByTokenHash(ctx context.Context, h TokenHash) (*Session, error)
	// TouchSession sets a session's last-seen time.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// RevokeSession marks a session revoked at the given time. Revoking a
	// revoked session changes nothing.
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// SessionsByAccount returns the account's sessions that are not
	// revoked and not past their absolute expiry at now, newest first.
	SessionsByAccount(ctx context.Context, accountID string, now time.Time) ([]*Session, error)
	// RevokeAccountSessions revokes every session of the account that is
	// not revoked yet, except the one with id except (may be ""), and
	// reports how many it revoked; fx is written in the same transaction.
	RevokeAccountSessions(ctx context.Context, accountID, except string, at time.Time, fx Effects) (int64, error)
	// HasSignedInFrom reports whether the account ever signed in
	// successfully with this device label from this address, and whether
	// it ever signed in at all.
	HasSignedInFrom(ctx context.Context, accountID, deviceLabel, ip string) (device, any bool, err error)
	// SetSessionReauth records that the session's holder re-authenticated
	// at the given time.
	SetSessionReauth(ctx context.Context, id string, at time.Time) error

	// AddLoginAttempt records a sign-in attempt.
	AddLoginAttempt(ctx context.Context, a *LoginAttempt) error
	// LoginAttempts returns an account's attempts, newest first, and the
	// cursor of the next page ("" on the last).
	LoginAttempts(ctx context.Context, accountID string, p Page) ([]*LoginAttempt, string, error)

	// Throttle counts an attempt under key by rule.Apply, atomically, and
	// reports whether it may go ahead.
	Throttle(ctx context.Context, key string, rule ThrottleRule, now time.Time) (allowed bool, wait time.Duration, err error)
	// ThrottleState returns the stored state of key (zero if none).
	ThrottleState(ctx context.Context, key string) (ThrottleState, error)
	// ResetThrottle forgets the failures counted under key.
	ResetThrottle(ctx context.Context, key string) error
	// RefundThrottle takes back one attempt counted under key (never below
	// zero), for an attempt that turned out to succeed. A block already set
	// stays.
	RefundThrottle(ctx context.Context, key string) error

	// EnqueueOutbox stores items for delivery.
	EnqueueOutbox(ctx context.Context, items ...*OutboxItem) error
	// ClaimOutbox takes up to limit undelivered, live items due at now,
	// oldest first, counts a delivery attempt on each and hides it from
	// other claims until now+lease, all atomically: two workers never claim
	// one item at once, and an item whose worker died is claimed again
	// once its lease runs out.
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*OutboxItem, error)
	// CompleteOutbox marks an item delivered.
	CompleteOutbox(ctx context.Context, id string, at time.Time) error
	// FailOutbox records a failed delivery: the item is due again at next,
	// or never again if dead.
	FailOutbox(ctx context.Context, id string, next time.Time, reason string, dead bool) error
	// PurgeOutbox deletes items delivered or given up before t (their
	// payloads hold addresses), and throttle rows untouched since t.
	PurgeOutbox(ctx context.Context, t time.Time) (int64, error)
	// OutboxItemByID returns one item (ENOTFOUND if none).
	OutboxItemByID(ctx context.Context, id string) (*OutboxItem, error)

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}
