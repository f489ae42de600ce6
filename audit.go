package vigil

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Audit actions: what an audit entry records. The part before the dot
// names the area; "admin." actions are taken through the admin API.
const (
	// AuditLoginSucceeded: a password sign-in issued a session.
	AuditLoginSucceeded = "login.succeeded"
	// AuditLoginFailed: a sign-in with a wrong password or an unknown
	// identifier.
	AuditLoginFailed = "login.failed"
	// AuditLoginThrottled: a sign-in refused by a throttle before the
	// password was checked.
	AuditLoginThrottled = "login.throttled"
	// AuditLoginMFARequired: the password was right and the account has
	// two-factor authentication: a challenge was issued, no session yet.
	AuditLoginMFARequired = "login.mfa_required"
	// AuditMFAChallengePassed: the second step of a sign-in passed and
	// issued a session.
	AuditMFAChallengePassed = "mfa.challenge_passed"
	// AuditMFAChallengeFailed: a wrong code for a sign-in challenge.
	AuditMFAChallengeFailed = "mfa.challenge_failed"
	// AuditLogout: the caller ended their current session.
	AuditLogout = "session.logout"
	// AuditSessionRevoked: the caller ended one of their sessions.
	AuditSessionRevoked = "session.revoked"
	// AuditSessionsRevokedAll: every session of the account was ended.
	AuditSessionsRevokedAll = "session.revoked_all"
	// AuditPasswordChanged: the owner changed the password.
	AuditPasswordChanged = "password.changed"
	// AuditResetRequested: a reset link was issued for the account (or
	// withheld by the hourly cap; see the detail).
	AuditResetRequested = "password.reset_requested"
	// AuditResetCompleted: the password was set with a reset link.
	AuditResetCompleted = "password.reset_completed"
	// AuditMFAEnabled and AuditMFADisabled: two-factor authentication was
	// turned on or off.
	AuditMFAEnabled  = "mfa.enabled"
	AuditMFADisabled = "mfa.disabled"
	// AuditEmailChanged and AuditPhoneChanged: a contact changed after its
	// new value was proven.
	AuditEmailChanged = "email.changed"
	AuditPhoneChanged = "phone.changed"
	// AuditEmailChangeUndone: an email or phone change was taken back with
	// the link sent to the previous contact (the detail says which).
	AuditEmailChangeUndone = "contact.change_undone"
	// AuditAccountCreated: a sign-up was verified and made an account.
	AuditAccountCreated = "account.created"
	// AuditAlertSettingsChanged: where the owner's security notices go
	// changed (a new webhook could divert them).
	AuditAlertSettingsChanged = "alerts.settings_changed"
	// AuditRoleGranted and AuditRoleRevoked: an operator changed an
	// account's roles.
	AuditRoleGranted = "role.granted"
	AuditRoleRevoked = "role.revoked"

	// AuditAdminRevocation: an administrator revoked credentials in bulk.
	AuditAdminRevocation = "admin.revocation"
	// AuditAdminIncidentOpened and AuditAdminIncidentUpdated: an incident
	// was opened or changed.
	AuditAdminIncidentOpened  = "admin.incident_opened"
	AuditAdminIncidentUpdated = "admin.incident_updated"
	// AuditAdminNotification: an administrator started notifying accounts.
	AuditAdminNotification = "admin.notification"
	// AuditAdminRead: an administrator read through the admin API
	// (security events, incidents, a postmortem with affected accounts).
	AuditAdminRead = "admin.read"
)

// Audit actor kinds: who took an audited action.
const (
	AuditActorAccount   = "account"   // a signed-in account (ActorID)
	AuditActorAnonymous = "anonymous" // a caller not signed in (sign-in, reset link)
	AuditActorCLI       = "cli"       // an operator's command on the server's database
	AuditActorSystem    = "system"    // vigil itself (a background job)
)

// AuditEntry is one entry of the tamper-evident audit log. The store
// assigns Seq, PrevHash and Hash when it appends the entry; everything
// else is set by whoever records the action. An entry never holds a
// secret: no password, token, code or hash of one, and no identifier typed
// at a sign-in that matched no account (it may be a mistyped password).
type AuditEntry struct {
	Seq       int64     `json:"seq"`
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	ActorID   string    `json:"actor_id"`   // account id; "" when anonymous, the CLI or the system
	ActorKind string    `json:"actor_kind"` // AuditActorAccount, ...
	Action    string    `json:"action"`     // AuditLoginSucceeded, ...
	TargetID  string    `json:"target_id"`  // the account acted on, or ""
	IP        string    `json:"ip"`
	// Detail is a JSON object as text, as AuditDetail encodes it. It is
	// kept and hashed byte for byte, so it is exported as a string.
	Detail   string `json:"detail"`
	PrevHash string `json:"prev_hash"` // Hash of the entry before; "" for the first
	Hash     string `json:"hash"`      // AuditChainHash of this entry
}

// AuditDetail encodes detail canonically: a JSON object with sorted keys,
// "{}" for none. A detail that cannot be encoded (it holds a channel or a
// function) is recorded as {"detail":"unencodable"} rather than lost.
func AuditDetail(detail map[string]any) string {
	if len(detail) == 0 {
		return "{}"
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return `{"detail":"unencodable"}`
	}
	return string(b)
}

// NewAuditEntry returns an entry for action taken at at by actor (nil: an
// anonymous caller) from address ip, on the account target (may be ""),
// with a new id. Set ActorKind afterwards for the CLI or the system.
func NewAuditEntry(at time.Time, action string, actor *Actor, ip, target string, detail map[string]any) *AuditEntry {
	e := &AuditEntry{ID: NewID(), At: at.UTC().Truncate(time.Microsecond), ActorKind: AuditActorAnonymous,
		Action: action, TargetID: target, IP: ip, Detail: AuditDetail(detail)}
	switch {
	case actor == nil:
	case actor.CLI:
		e.ActorKind = AuditActorCLI
	default:
		e.ActorKind, e.ActorID = AuditActorAccount, actor.AccountID
	}
	return e
}

// auditHashDomain separates audit hashes from every other use of the key.
const auditHashDomain = "vigil audit entry v1"

// AuditChainHash returns the hash that chains e to the entry before it,
// whose hash is prev ("" for the first entry): hex HMAC-SHA256 under key
// of an unambiguous encoding of prev and every field of e but Hash and
// PrevHash (Seq, ID, At in UTC microseconds, ActorID, ActorKind, Action,
// TargetID, IP, Detail). Strings are prefixed with their length and
// integers are fixed-width, so no two different entries encode alike.
//
// What the chain proves, and what it does not:
//
//   - Someone who can write to the database but does not hold the key
//     cannot compute a hash, so any edited, inserted, removed (from the
//     middle) or reordered entry breaks the chain at that entry, which a
//     verifier holding the key names. Sequence numbers are assigned by the
//     store without reuse, so a removed entry also leaves a visible gap.
//   - Removing entries from the end (or the whole log) leaves a shorter
//     chain that is still valid. Only a head recorded elsewhere (a
//     sequence number and its hash, kept by an operator or another system)
//     shows it: the verifier checks that the recorded entry is still there
//     with the same hash.
//   - Whoever holds the key (anyone controlling the server, which holds
//     the secret key it is derived from) can rewrite the whole chain
//     consistently; again only heads recorded elsewhere show that.
//   - The log proves the integrity of what was recorded, not that every
//     action was: a change made directly in the database, bypassing vigil,
//     leaves no entry at all.
func AuditChainHash(key []byte, prev string, e *AuditEntry) string {
	m := hmac.New(sha256.New, key)
	var n [8]byte
	num := func(v int64) {
		binary.BigEndian.PutUint64(n[:], uint64(v))
		m.Write(n[:])
	}
	str := func(s string) {
		num(int64(len(s)))
		m.Write([]byte(s))
	}
	at := int64(0)
	if !e.At.IsZero() {
		at = e.At.UnixMicro()
	}
	str(auditHashDomain)
	str(prev)
	num(e.Seq)
	str(e.ID)
	num(at)
	str(e.ActorID)
	str(e.ActorKind)
	str(e.Action)
	str(e.TargetID)
	str(e.IP)
	str(e.Detail)
	return hex.EncodeToString(m.Sum(nil))
}

// AuditStore is the part of the store that keeps the audit log. Entries
// are appended with Effects.Audit, in the transaction of the change they
// record (or on their own with AddEffects); the store serializes appends,
// so the log is one chain however many instances write to it.
type AuditStore interface {
	// AuditEntries returns up to limit entries with Seq greater than
	// afterSeq, ascending by Seq, exactly as stored: it checks nothing, so
	// a verifier sees what is there. limit must be positive.
	AuditEntries(ctx context.Context, afterSeq int64, limit int) ([]*AuditEntry, error)
}
