// Package vigil holds the domain of the vigil account-security service: its
// types, the contracts of its services and stores, and its one error type.
// It imports no adapter; sqlstore, httpapi, mail and the rest implement or use
// what is declared here, and cmd/vigil wires them together.
package vigil

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each maps to one HTTP status in httpapi and to one stable
// problem type. The set is small on purpose: callers branch on the code, and
// people read the message.
const (
	EINVALID         = "invalid"         // the input is malformed or breaks a rule
	ETOOLARGE        = "too-large"       // the input is larger than accepted
	EUNAUTHENTICATED = "unauthenticated" // no valid credential (every cause collapses here)
	EFORBIDDEN       = "forbidden"       // authenticated, but not allowed
	ENOTFOUND        = "not-found"       // absent, or not visible to the caller
	ECONFLICT        = "conflict"        // clashes with existing state (a taken username)
	ERATELIMITED     = "rate-limited"    // too many requests; RetryAfter says when to come back
	EUNSUPPORTED     = "unsupported"     // media type or method the endpoint does not take
	EINTERNAL        = "internal"        // a fault of ours; the cause is logged, never shown
	EUNAVAILABLE     = "unavailable"     // a dependency is down; try again later
)

// Error is vigil's one error type. Message is safe to show to the caller;
// Err is the cause, for logs only, and never reaches a response.
type Error struct {
	Code       string
	Message    string
	Type       string        // optional finer problem type than Code, e.g. "mfa-required"
	RetryAfter time.Duration // with ERATELIMITED: when the caller may try again
	// Challenge is handed to the caller with an mfa-required answer: the
	// token that completes that sign-in with a second factor. It belongs to
	// the caller who just proved the password, like a session token.
	Challenge string
	Err       error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("vigil %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("vigil %s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted public message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps a cause as an EINTERNAL error with a generic public message.
func Internal(err error) *Error {
	return &Error{Code: EINTERNAL, Message: "internal error", Err: err}
}

// RateLimited returns an ERATELIMITED error that asks the caller to come back
// after d.
func RateLimited(d time.Duration) *Error {
	if d < time.Second {
		d = time.Second
	}
	return &Error{Code: ERATELIMITED, Message: "too many requests; try again later", RetryAfter: d}
}

// ErrUnauthenticated is the one answer to every kind of authentication
// failure: missing, malformed, unknown, expired and revoked credentials and
// wrong passwords alike. Telling them apart would tell an attacker which
// guesses were close.
var ErrUnauthenticated = &Error{Code: EUNAUTHENTICATED, Message: "authentication required"}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the public message of err: that of its *Error, or
// "internal error" for anything else. It never returns a cause's text.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
