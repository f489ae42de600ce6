package service

import (
	"context"

	"github.com/vigil-dev/vigil"
)

// auditEntry returns an audit entry for action on the account target (""
// if none), taken now by the caller in ctx: the signed-in actor, or an
// anonymous caller, from the client's address. Append it to the Effects of
// the change it records, so both commit together. detail must never hold
// a secret: no password, token, code or hash, and no identifier typed for
// an account that does not exist.
func (s *Service) auditEntry(ctx context.Context, action, target string, detail map[string]any) *vigil.AuditEntry {
	return vigil.NewAuditEntry(s.now(), action, vigil.ActorFromContext(ctx), vigil.ClientFromContext(ctx).IP, target, detail)
}

// audit appends entries on their own, for events that change nothing else
// (a sign-in attempt, a sign-out). A failure is logged: the event's
// outcome stands either way.
func (s *Service) audit(ctx context.Context, entries ...*vigil.AuditEntry) {
	if len(entries) == 0 {
		return
	}
	if err := s.store.AddEffects(context.WithoutCancel(ctx), vigil.Effects{Audit: entries}); err != nil {
		s.log.ErrorContext(ctx, "audit entry not written", "action", entries[0].Action, "err", err)
	}
}

// loginAuditAction is the audit action of a sign-in attempt's result.
func loginAuditAction(result string) string {
	switch result {
	case vigil.LoginSuccess:
		return vigil.AuditLoginSucceeded
	case vigil.LoginFailed:
		return vigil.AuditLoginFailed
	case vigil.LoginThrottled:
		return vigil.AuditLoginThrottled
	case vigil.LoginMFARequired:
		return vigil.AuditLoginMFARequired
	}
	return "login." + result
}

// loginAuditEntry records a sign-in attempt, by an anonymous caller. An
// attempt on no account says only "unknown identifier": what was typed
// may be a password in the wrong field.
func loginAuditEntry(a *vigil.LoginAttempt, action string) *vigil.AuditEntry {
	detail := map[string]any{"result": a.Result, "device": a.DeviceLabel, "attempt_id": a.ID}
	if a.AccountID == "" {
		detail["account"] = "unknown identifier"
	}
	return vigil.NewAuditEntry(a.At, action, nil, a.IP, a.AccountID, detail)
}
